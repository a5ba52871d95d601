"""The SAM template as a local run needs it: each function's code, handler, settings and routes.

    template = Template.load("template.yaml", parameter_overrides={"LogLevel": "DEBUG"})
    function = template.function("ApiFunction")
    function.code_dir, function.handler, function.environment, function.routes

The YAML is read with cfn-flip's loader (it knows `!Ref`, `!Sub`, `!If`...), `Globals.Function`
is merged into each function the way SAM merges it, then intrinsics are evaluated
(`intrinsics.py`). A function is only resolved when asked for, so a problem in one function
does not stop another from being invoked.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import TemplateError
from ._intrinsics import Resolver
from ._jwt import JwtAuthorizer
from ._parameters import parameter_values
from ._routes import DEFAULT_ROUTE, Route

__all__ = ["Function", "Template", "default_region"]

FUNCTION = "AWS::Serverless::Function"
LAYER = "AWS::Serverless::LayerVersion"
HTTP_API = "AWS::Serverless::HttpApi"
DEFAULT_TIMEOUT = 3  # seconds, SAM's and Lambda's default
DEFAULT_MEMORY = 128  # MB


def default_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


@dataclass(frozen=True)
class Function:
    """One AWS::Serverless::Function, resolved."""

    logical_id: str
    code_dir: Path
    handler: str  # module.function
    runtime: str
    timeout: float  # seconds
    memory_size: int  # MB
    environment: dict[str, str]
    layer_paths: tuple[Path, ...] = ()  # go on sys.path after the code, like /opt/python
    routes: tuple[Route, ...] = ()
    events: tuple[tuple[str, str], ...] = ()  # (event name, type) for every event
    log_format: str = "Text"
    log_level: str | None = None
    warnings: tuple[str, ...] = field(default=(), compare=False)


class Template:
    """A loaded template and its parameters; functions are resolved on demand."""

    def __init__(
        self,
        path: Path,
        document: Mapping[str, Any],
        parameter_overrides: Mapping[str, str] | None = None,
        region: str | None = None,
    ) -> None:
        self.path = path
        self.root = path.parent  # CodeUri and ContentUri are relative to it, like in SAM
        self.document = document
        self.region = region or default_region()
        declared = document.get("Parameters") or {}
        self.parameters = parameter_values(declared, parameter_overrides or {})
        self.resolver = Resolver(document, self.parameters, self.region)
        self.resources: Mapping[str, Any] = document.get("Resources") or {}

    @classmethod
    def load(
        cls,
        path: str | Path,
        parameter_overrides: Mapping[str, str] | None = None,
        region: str | None = None,
    ) -> Template:
        from cfn_tools import load_yaml

        path = Path(path).resolve()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TemplateError(f"cannot read the template {path.name}: {exc.strerror}") from None
        try:
            document = load_yaml(text)
        except Exception as exc:  # the YAML library's own error types
            raise TemplateError(f"{path.name} is not valid YAML: {exc}") from None
        if not isinstance(document, Mapping) or not isinstance(document.get("Resources"), Mapping):
            raise TemplateError(f"{path.name} has no Resources section")
        return cls(path, document, parameter_overrides, region)

    def function_ids(self) -> list[str]:
        """Every function the stack would create (its Condition, if any, holds)."""
        return [
            logical_id
            for logical_id, resource in self.resources.items()
            if _type(resource) == FUNCTION and self._exists(logical_id, resource)
        ]

    def functions(self) -> list[Function]:
        return [self.function(logical_id) for logical_id in self.function_ids()]

    def function(self, logical_id: str) -> Function:
        resource = self.resources.get(logical_id)
        if not isinstance(resource, Mapping) or _type(resource) != FUNCTION:
            known = ", ".join(self.function_ids()) or "none"
            raise TemplateError(
                f"no function {logical_id!r} in {self.path.name} (its functions: {known})"
            )
        if not self._exists(logical_id, resource):
            raise TemplateError(
                f"{logical_id} is not created: its Condition {resource['Condition']} is false"
            )
        where = f"Resources.{logical_id}.Properties"
        globals_ = (self.document.get("Globals") or {}).get("Function") or {}
        raw = merge_globals(globals_, resource.get("Properties") or {})
        events = raw.pop("Events", None) or {}  # resolved one by one below
        props = self.resolver.resolve(raw, where)
        return self._function(logical_id, props, events, where)

    def _function(
        self, logical_id: str, props: Mapping[str, Any], events: Mapping[str, Any], where: str
    ) -> Function:
        if props.get("PackageType") == "Image":
            raise TemplateError(f"{logical_id}: container image functions are not supported")
        if "InlineCode" in props:
            raise TemplateError(f"{logical_id}: InlineCode is not supported; use CodeUri")
        code_uri = props.get("CodeUri")
        if not isinstance(code_uri, str):
            raise TemplateError(f"{where}.CodeUri: expected a local folder, got {code_uri!r}")
        code_dir = (self.root / code_uri).resolve()
        if not code_dir.is_dir():
            raise TemplateError(
                f"{logical_id}: CodeUri {code_uri} is not a folder next to the template"
            )
        handler = props.get("Handler")
        if not isinstance(handler, str) or "." not in handler:
            raise TemplateError(f"{where}.Handler: expected module.function, got {handler!r}")
        runtime = str(props.get("Runtime", ""))
        if not runtime.startswith("python"):
            raise TemplateError(
                f"{logical_id}: Runtime {runtime or '(none)'} cannot run here; python3.x only"
            )
        environment = (props.get("Environment") or {}).get("Variables") or {}
        logging_config = props.get("LoggingConfig") or {}
        warnings: list[str] = []
        return Function(
            logical_id=logical_id,
            code_dir=code_dir,
            handler=handler,
            runtime=runtime,
            timeout=_number(props.get("Timeout", DEFAULT_TIMEOUT), f"{where}.Timeout"),
            memory_size=int(
                _number(props.get("MemorySize", DEFAULT_MEMORY), f"{where}.MemorySize")
            ),
            environment={name: _text(value) for name, value in environment.items()},
            layer_paths=self._layer_paths(logical_id, props.get("Layers") or [], runtime, warnings),
            routes=tuple(self._routes(logical_id, events)),
            events=tuple((name, str(event.get("Type", "?"))) for name, event in events.items()),
            log_format=str(logging_config.get("LogFormat", "Text")),
            log_level=logging_config.get("ApplicationLogLevel"),
            warnings=tuple(warnings),
        )

    def _layer_paths(
        self, logical_id: str, layers: list[Any], runtime: str, warnings: list[str]
    ) -> tuple[Path, ...]:
        """Each layer's `python/` (and `python/lib/pythonX.Y/site-packages`), as under /opt."""
        paths: list[Path] = []
        for layer in layers:
            resource = self.resources.get(layer) if isinstance(layer, str) else None
            if _type(resource) != LAYER:
                warnings.append(f"{logical_id}: layer {layer} is not in this template; skipped")
                continue
            assert resource is not None
            where = f"Resources.{layer}.Properties.ContentUri"
            content = self.resolver.resolve(
                (resource.get("Properties") or {}).get("ContentUri"), where
            )
            if not isinstance(content, str):
                raise TemplateError(f"{where}: expected a local folder, got {content!r}")
            folder = (self.root / content).resolve()
            if not folder.is_dir():
                raise TemplateError(
                    f"{layer}: ContentUri {content} is not a folder next to the template"
                )
            python = folder / "python"
            site = python / "lib" / runtime / "site-packages"
            paths += [p for p in (site, python) if p.is_dir()]
        return tuple(paths)

    def _routes(self, logical_id: str, events: Mapping[str, Any]) -> list[Route]:
        routes = []
        for name, event in events.items():
            where = f"Resources.{logical_id}.Properties.Events.{name}"
            if not isinstance(event, Mapping) or event.get("Type") != "HttpApi":
                continue
            props = self.resolver.resolve(event.get("Properties") or {}, where)
            path = props.get("Path", DEFAULT_ROUTE)
            method = str(props.get("Method", "ANY")).upper()
            if method == "X-AMAZON-APIGATEWAY-ANY-METHOD":
                method = "ANY"
            if not isinstance(path, str) or not (path.startswith("/") or path == DEFAULT_ROUTE):
                raise TemplateError(f"{where}.Properties.Path: expected /a/path, got {path!r}")
            timeout_ms = props.get("TimeoutInMillis", 30000)
            try:
                routes.append(
                    Route(
                        method,
                        path,
                        logical_id,
                        name,
                        payload_format=str(props.get("PayloadFormatVersion", "2.0")),
                        integration_timeout=_number(timeout_ms, where) / 1000,
                        authorizer=self._authorizer(props, path, method, where),
                    )
                )
            except ValueError as exc:
                raise TemplateError(f"{where}: {exc}") from None
        return routes

    def _authorizer(
        self, props: Mapping[str, Any], path: str, method: str, where: str
    ) -> JwtAuthorizer | None:
        """The JWT authorizer guarding a route: the event's `Auth.Authorizer`, else the
        security its HttpApi's `DefinitionBody` gives that path and method, else the API's
        `Auth.DefaultAuthorizer`; None for `NONE` or none at all. Another kind than JWT
        (Lambda, IAM) is refused: localdev does not check those."""
        api_id = props.get("ApiId")
        resource = self.resources.get(api_id) if isinstance(api_id, str) else None
        if _type(resource) != HTTP_API:
            return None
        assert resource is not None
        api_where = f"Resources.{api_id}.Properties"
        api = self.resolver.resolve(resource.get("Properties") or {}, api_where)
        auth = api.get("Auth") or {}
        body = api.get("DefinitionBody") or {}
        methods = (body.get("paths") or {}).get(path) or {}
        key = "x-amazon-apigateway-any-method" if method == "ANY" else method.lower()
        operation = methods.get(key) or {}
        security = operation.get("security") if isinstance(operation, Mapping) else None
        chosen = (props.get("Auth") or {}).get("Authorizer")
        if chosen is None and isinstance(security, list) and security:
            chosen = next(iter(security[0]), None)
        if chosen is None:
            chosen = auth.get("DefaultAuthorizer")
        if chosen is None or chosen == "NONE":
            return None
        schemes = ((body.get("components") or {}).get("securitySchemes")) or {}
        scheme = (schemes.get(chosen) or {}).get("x-amazon-apigateway-authorizer")
        if isinstance(scheme, Mapping) and scheme.get("type") == "jwt":
            config = scheme.get("jwtConfiguration") or {}
            source = scheme.get("identitySource") or "$request.header.Authorization"
        else:
            declared = (auth.get("Authorizers") or {}).get(chosen) or {}
            config = declared.get("JwtConfiguration") or {}
            source = declared.get("IdentitySource") or "$request.header.Authorization"
        issuer, audience = config.get("issuer"), config.get("audience") or []
        if not isinstance(issuer, str) or not issuer:
            raise TemplateError(
                f"{where}: the route's authorizer {chosen} is not a JWT authorizer with an "
                "issuer; localdev checks JWT authorizers only"
            )
        audiences = tuple(str(a) for a in (audience if isinstance(audience, list) else [audience]))
        return JwtAuthorizer(str(chosen), issuer, audiences, str(source))

    def _exists(self, logical_id: str, resource: Mapping[str, Any]) -> bool:
        condition = resource.get("Condition")
        if condition is None:
            return True
        return self.resolver.condition(condition, f"Resources.{logical_id}.Condition")


def merge_globals(global_value: Any, local_value: Any) -> Any:
    """SAM's rule: maps merge key by key, lists are the globals then the function's own,
    anything else (an intrinsic included) is the function's value."""
    if _is_plain_map(global_value) and _is_plain_map(local_value):
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = merge_globals(global_value[key], value) if key in merged else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return [*global_value, *local_value]
    return local_value


def _is_plain_map(value: Any) -> bool:
    if not isinstance(value, Mapping):
        return False
    keys = list(value)
    return not (len(keys) == 1 and (keys[0] == "Ref" or str(keys[0]).startswith("Fn::")))


def _type(resource: Any) -> str | None:
    return resource.get("Type") if isinstance(resource, Mapping) else None


def _number(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TemplateError(f"{where}: expected a number, got {value!r}") from None
    if number <= 0:
        raise TemplateError(f"{where}: expected a positive number, got {value!r}")
    return number


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
