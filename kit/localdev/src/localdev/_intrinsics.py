"""CloudFormation's intrinsic functions and conditions, evaluated the way a local run needs them.

Parameters resolve to their values, pseudo parameters to local stand-ins (account
123456789012, stack `local`, the region from AWS_REGION), `AWS::NoValue` removes the key or
list item that holds it, and what only exists once deployed (`Ref` or `Fn::GetAtt` to a
resource, `Fn::ImportValue`) becomes a readable placeholder such as `HttpApi` or
`ApiFunction.Arn`. Errors name where in the template the bad value is.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from ._errors import TemplateError

__all__ = ["ACCOUNT_ID", "NO_VALUE", "STACK_NAME", "Resolver"]

ACCOUNT_ID = "123456789012"
STACK_NAME = "local"


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()  # what `!Ref AWS::NoValue` resolves to, before its key is dropped

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Resolver:
    """Evaluates intrinsic functions and conditions against one template's parameters."""

    def __init__(
        self, template: Mapping[str, Any], parameters: Mapping[str, Any], region: str
    ) -> None:
        self.resources: Mapping[str, Any] = template.get("Resources") or {}
        self.mappings: Mapping[str, Any] = template.get("Mappings") or {}
        self.parameters = parameters  # name -> value (str or list[str])
        self._conditions: Mapping[str, Any] = template.get("Conditions") or {}
        self._condition_values: dict[str, bool] = {}
        self._evaluating: set[str] = set()
        self.pseudo: dict[str, Any] = {
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": region,
            "AWS::StackName": STACK_NAME,
            "AWS::StackId": (
                f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{STACK_NAME}/"
                "00000000-0000-0000-0000-000000000000"
            ),
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        self._functions: dict[str, Callable[[Any, str], Any]] = {
            "Ref": self._ref,
            "Condition": lambda name, where: self.condition(name, where),
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::If": self._if,
            "Fn::Equals": self._equals,
            "Fn::Not": self._not,
            "Fn::And": lambda args, where: all(self._conditions_of(args, where)),
            "Fn::Or": lambda args, where: any(self._conditions_of(args, where)),
            "Fn::FindInMap": self._find_in_map,
            "Fn::Base64": lambda arg, where: base64.b64encode(
                self._string(arg, where).encode()
            ).decode(),
            "Fn::GetAZs": lambda arg, where: [f"{self.pseudo['AWS::Region']}{z}" for z in "abc"],
            "Fn::ImportValue": lambda arg, where: f"ImportValue:{self._string(arg, where)}",
            "Fn::Length": lambda arg, where: len(self._list(arg, where)),
            "Fn::ToJsonString": lambda arg, where: json.dumps(
                self.resolve(arg, where), separators=(",", ":")
            ),
        }

    def resolve(self, value: Any, where: str) -> Any:
        """`value` with every intrinsic evaluated; NO_VALUE if it is `AWS::NoValue` itself."""
        if isinstance(value, Mapping):
            if len(value) == 1:
                (key, arg), *_ = value.items()
                # {"Condition": "Name"} inside a condition; IAM's Condition blocks are maps
                condition = key == "Condition" and isinstance(arg, str)
                if key == "Ref" or key.startswith("Fn::") or condition:
                    function = self._functions.get(key)
                    if function is None:
                        raise TemplateError(f"{where}: {key} is not supported by local runs")
                    return function(arg, f"{where}.{key}")
            resolved = {}
            for key, item in value.items():
                item = self.resolve(item, f"{where}.{key}")
                if item is not NO_VALUE:
                    resolved[key] = item
            return resolved
        if isinstance(value, list):
            items = [self.resolve(item, f"{where}[{i}]") for i, item in enumerate(value)]
            return [item for item in items if item is not NO_VALUE]
        if isinstance(value, datetime.date):  # YAML reads an unquoted 2024-01-01 as a date
            return value.isoformat()
        return value

    def condition(self, name: Any, where: str) -> bool:
        """The value of a named condition from the Conditions section."""
        if not isinstance(name, str) or name not in self._conditions:
            known = ", ".join(self._conditions) or "none"
            raise TemplateError(f"{where}: unknown condition {name!r} (the template has: {known})")
        if name not in self._condition_values:
            if name in self._evaluating:
                raise TemplateError(f"{where}: condition {name!r} refers to itself")
            self._evaluating.add(name)
            try:
                value = self.resolve(self._conditions[name], f"Conditions.{name}")
            finally:
                self._evaluating.discard(name)
            if not isinstance(value, bool):
                raise TemplateError(f"Conditions.{name}: expected a condition, got {value!r}")
            self._condition_values[name] = value
            return value
        return self._condition_values[name]

    def _ref(self, name: Any, where: str) -> Any:
        if not isinstance(name, str):
            raise TemplateError(f"{where}: expected a name, got {name!r}")
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return name
        resource, _, suffix = name.partition(".")
        if suffix in ("Version", "Alias") and resource in self.resources:
            return name  # SAM's refs to a function's AutoPublishAlias version and alias
        raise TemplateError(f"{where}: Ref to {name!r}, which is no parameter or resource")

    def _get_att(self, arg: Any, where: str) -> str:
        if isinstance(arg, str):
            resource, _, attribute = arg.partition(".")
        elif isinstance(arg, list) and len(arg) == 2:
            resource, attribute = arg[0], self._string(arg[1], where)
        else:
            raise TemplateError(f"{where}: expected [Resource, Attribute], got {arg!r}")
        if resource not in self.resources:
            raise TemplateError(f"{where}: Fn::GetAtt of {resource!r}, which is no resource")
        return f"{resource}.{attribute}"

    def _sub(self, arg: Any, where: str) -> str:
        if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], Mapping):
            text, variables = arg[0], self.resolve(arg[1], where)
        else:
            text, variables = arg, {}
        if not isinstance(text, str):
            raise TemplateError(f"{where}: expected a string, got {text!r}")

        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):  # ${!Literal} is written out as ${Literal}
                return "${" + name[1:] + "}"
            if name in variables:
                return self._string(variables[name], where)
            if "." in name and name.split(".")[0] in self.resources:
                return self._get_att(name, where)
            return self._string(self._ref(name, where), where)

        return _SUB_VARIABLE.sub(replace, text)

    def _join(self, arg: Any, where: str) -> str:
        if not (isinstance(arg, list) and len(arg) == 2):
            raise TemplateError(f"{where}: expected [delimiter, [values]], got {arg!r}")
        delimiter = self._string(arg[0], where)
        return delimiter.join(self._string(item, where) for item in self._list(arg[1], where))

    def _select(self, arg: Any, where: str) -> Any:
        if not (isinstance(arg, list) and len(arg) == 2):
            raise TemplateError(f"{where}: expected [index, [values]], got {arg!r}")
        index, items = self.resolve(arg[0], where), self._list(arg[1], where)
        try:
            return items[int(index)]
        except (ValueError, IndexError):
            raise TemplateError(f"{where}: no item {index!r} in {items!r}") from None

    def _split(self, arg: Any, where: str) -> list[str]:
        if not (isinstance(arg, list) and len(arg) == 2):
            raise TemplateError(f"{where}: expected [delimiter, string], got {arg!r}")
        return self._string(arg[1], where).split(self._string(arg[0], where))

    def _if(self, arg: Any, where: str) -> Any:
        if not (isinstance(arg, list) and len(arg) == 3):
            raise TemplateError(f"{where}: expected [condition, if true, if false], got {arg!r}")
        chosen = arg[1] if self.condition(arg[0], where) else arg[2]
        return self.resolve(chosen, where)

    def _equals(self, arg: Any, where: str) -> bool:
        if not (isinstance(arg, list) and len(arg) == 2):
            raise TemplateError(f"{where}: expected [value, value], got {arg!r}")
        left, right = (_comparable(self.resolve(item, where)) for item in arg)
        return bool(left == right)

    def _not(self, arg: Any, where: str) -> bool:
        values = self._conditions_of(arg, where)
        if len(values) != 1:
            raise TemplateError(f"{where}: expected one condition, got {arg!r}")
        return not values[0]

    def _conditions_of(self, arg: Any, where: str) -> list[bool]:
        if not isinstance(arg, list):
            raise TemplateError(f"{where}: expected a list of conditions, got {arg!r}")
        values = [self.resolve(item, where) for item in arg]
        for value in values:
            if not isinstance(value, bool):
                raise TemplateError(f"{where}: expected a condition, got {value!r}")
        return values

    def _find_in_map(self, arg: Any, where: str) -> Any:
        if not (isinstance(arg, list) and len(arg) in (3, 4)):
            raise TemplateError(f"{where}: expected [map, key, key], got {arg!r}")
        names = [self._string(item, where) for item in arg[:3]]
        found: Any = self.mappings
        for name in names:
            if not isinstance(found, Mapping) or name not in found:
                if len(arg) == 4 and isinstance(arg[3], Mapping) and "DefaultValue" in arg[3]:
                    return self.resolve(arg[3]["DefaultValue"], where)
                raise TemplateError(f"{where}: Mappings has no {'.'.join(names)}")
            found = found[name]
        return self.resolve(found, where)

    def _string(self, value: Any, where: str) -> str:
        value = self.resolve(value, where)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        if isinstance(value, list):  # a CommaDelimitedList parameter inside a string
            return ",".join(self._string(item, where) for item in value)
        raise TemplateError(f"{where}: expected a string, got {value!r}")

    def _list(self, value: Any, where: str) -> list[Any]:
        value = self.resolve(value, where)
        if not isinstance(value, list):
            raise TemplateError(f"{where}: expected a list, got {value!r}")
        return value


def _comparable(value: Any) -> Any:
    """Fn::Equals compares what CloudFormation would: `1` and `"1"` are the same string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    return value
