"""README's "Public names" lists exactly neonkit's public modules and the names of their
`__all__`: what an upgrade keeps."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import neonkit

README = Path(__file__).resolve().parents[3] / "README.md"


def listed() -> dict[str, list[str]]:
    """The README table's rows: module -> names, in the order written."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Public names\n") :]
    section = section[: section.index("\n## ")]
    rows = re.findall(r"^\| `([\w.]+)` \| (.+) \|$", section, re.M)
    return {module: re.findall(r"`(\w+)`", names) for module, names in rows}


def public_modules() -> list[str]:
    names = [m.name for m in pkgutil.iter_modules(neonkit.__path__) if not m.name.startswith("_")]
    return ["neonkit", *(f"neonkit.{name}" for name in sorted(names))]


def test_every_public_module_declares_its_names() -> None:
    for name in public_modules():
        module = importlib.import_module(name)
        exported = getattr(module, "__all__", None)
        assert exported is not None, f"{name} has no __all__"
        missing = [n for n in exported if not hasattr(module, n)]
        assert missing == [], f"{name}.__all__ names what it does not have: {missing}"


def test_the_readme_lists_exactly_the_public_names() -> None:
    expected = {name: sorted(importlib.import_module(name).__all__) for name in public_modules()}
    assert {module: sorted(names) for module, names in listed().items()} == expected
