"""Load a function's handler the way Lambda does: its CodeUri on the path, imported by name."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._template import Template
from ._project import project_root

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def _template_path(template: str | Path | None) -> Path:
    return Path(template) if template is not None else project_root() / "template.yaml"


def template_document(template: str | Path | None = None) -> dict[str, Any]:
    """template.yaml as parsed (intrinsics unresolved), for tests about its resources."""
    return dict(Template.load(_template_path(template)).document)


def global_environment(template: str | Path | None = None) -> dict[str, str]:
    """The plain-string variables of Globals.Function (intrinsics are left to the tests)."""
    document = template_document(template)
    variables = document.get("Globals", {}).get("Function", {}).get("Environment", {})
    return {k: v for k, v in variables.get("Variables", {}).items() if isinstance(v, str)}


def load_handler(logical_id: str, *, template: str | Path | None = None) -> Handler:
    """Import the function's module fresh (a new sandbox) and return its handler."""
    function = Template.load(_template_path(template)).function(logical_id)
    module_name, function_name = function.handler.rsplit(".", 1)
    path = function.code_dir / f"{module_name}.py"
    code_dir = str(function.code_dir)
    if code_dir not in sys.path:  # Lambda runs with the function's folder on the path
        sys.path.insert(0, code_dir)
    for layer in function.layer_paths:  # and its layers' python folders (/opt/python)
        if str(layer) not in sys.path:
            sys.path.append(str(layer))
    spec = importlib.util.spec_from_file_location(f"{logical_id}_{module_name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return getattr(module, function_name)  # type: ignore[no-any-return]
