"""What the command line changes in a template: `--parameter-overrides` and `--env-vars`.

Both take SAM CLI's formats, so the same values work with `sam local` and `sam deploy`:

    --parameter-overrides LogLevel=DEBUG 'DatabaseUrl="postgresql://..."'
    --parameter-overrides ParameterKey=LogLevel,ParameterValue=DEBUG
    --env-vars env.json   {"Parameters": {"VAR": "all functions"},
                           "ApiFunction": {"VAR": "this function"}}
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import TemplateError

__all__ = ["EnvVars", "parameter_values", "parse_parameter_overrides"]

_LONG_FORM = "ParameterKey="
_LONG_VALUE = ",ParameterValue="


def parse_parameter_overrides(values: Iterable[str]) -> dict[str, str]:
    """`Key=Value` and `ParameterKey=Key,ParameterValue=Value` items, quoted like a shell."""
    overrides: dict[str, str] = {}
    for value in values:
        try:
            tokens = shlex.split(value)
        except ValueError as exc:
            raise TemplateError(f"--parameter-overrides {value!r}: {exc}") from None
        for token in tokens:
            if token.startswith(_LONG_FORM):
                key, separator, item = token[len(_LONG_FORM) :].partition(_LONG_VALUE)
            else:
                key, separator, item = token.partition("=")
            if not separator or not key:
                raise TemplateError(
                    f"--parameter-overrides: {token!r} is not Key=Value "
                    "nor ParameterKey=Key,ParameterValue=Value"
                )
            overrides[key] = item
    return overrides


def parameter_values(
    declared: Mapping[str, Any], overrides: Mapping[str, str]
) -> dict[str, str | list[str]]:
    """Each parameter's value: the override, else its Default, checked like CloudFormation.

    A parameter with neither is left out: referring to it is then an error naming it.
    """
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        known = ", ".join(declared) or "none"
        raise TemplateError(
            f"--parameter-overrides: no parameter {', '.join(unknown)} in the template "
            f"(it has: {known})"
        )
    values: dict[str, str | list[str]] = {}
    for name, spec in declared.items():
        spec = spec if isinstance(spec, Mapping) else {}
        if name in overrides:
            raw = overrides[name]
        elif "Default" in spec:
            raw = _text(spec["Default"])
        else:
            continue
        allowed = [_text(v) for v in spec.get("AllowedValues") or []]
        if allowed and raw not in allowed:
            raise TemplateError(
                f"parameter {name}={raw!r} is not one of its AllowedValues: {', '.join(allowed)}"
            )
        pattern = spec.get("AllowedPattern")
        if isinstance(pattern, str) and not re.fullmatch(pattern, raw):
            raise TemplateError(f"parameter {name}={raw!r} does not match its AllowedPattern")
        kind = str(spec.get("Type", "String"))
        is_list = kind == "CommaDelimitedList" or kind.startswith("List<")
        values[name] = raw.split(",") if is_list else raw
    return values


@dataclass(frozen=True)
class EnvVars:
    """An `--env-vars` file: variables for all functions, and per function logical id."""

    all_functions: dict[str, str] = field(default_factory=dict)
    by_function: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> EnvVars:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise TemplateError(f"--env-vars {path}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise TemplateError(f"--env-vars {path}: not JSON ({exc})") from None
        return cls.parse(data, source=str(path))

    @classmethod
    def parse(cls, data: Any, source: str = "--env-vars") -> EnvVars:
        if not isinstance(data, dict):
            raise TemplateError(
                f'{source}: expected {{"FunctionLogicalId": {{"VAR": "value"}}}}, got {data!r}'
            )
        by_function: dict[str, dict[str, str]] = {}
        for key, variables in data.items():
            if not isinstance(variables, dict):
                raise TemplateError(f"{source}: {key} must map variable names to values")
            by_function[key] = {
                name: _text(value, f"{source}: {key}.{name}") for name, value in variables.items()
            }
        return cls(by_function.pop("Parameters", {}), by_function)

    def for_function(self, logical_id: str) -> dict[str, str]:
        """The function's own variables win over those for all functions."""
        return {**self.all_functions, **self.by_function.get(logical_id, {})}


def _text(value: Any, where: str = "") -> str:
    """An environment variable's or parameter's text, as CloudFormation would write it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if value is None:
        return ""
    raise TemplateError(f"{where or 'value'}: expected a string, got {value!r}")
