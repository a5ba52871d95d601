"""Reading a SAM template for local runs: intrinsics, conditions, Globals, layers, routes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from localdev._errors import TemplateError
from localdev._intrinsics import NO_VALUE, Resolver
from localdev._routes import Route
from localdev._template import Template, merge_globals

ROOT = Path(__file__).resolve().parents[3]


def load(tmp_path: Path, body: str, overrides: dict[str, str] | None = None) -> Template:
    """A template written next to a `src/` code folder and a `layer/python/` layer folder."""
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "layer" / "python").mkdir(parents=True, exist_ok=True)
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(body))
    return Template.load(path, overrides, region="eu-west-1")


def resolver(document: dict[str, object] | None = None, **parameters: object) -> Resolver:
    return Resolver(document or {"Resources": {"Api": {}, "Fn": {}}}, parameters, "eu-west-1")


# --- intrinsic functions ----------------------------------------------------------------


def test_ref_resolves_parameters_pseudo_parameters_and_resources() -> None:
    r = resolver(Stage="dev")
    assert r.resolve({"Ref": "Stage"}, "x") == "dev"
    assert r.resolve({"Ref": "AWS::Region"}, "x") == "eu-west-1"
    assert r.resolve({"Ref": "AWS::AccountId"}, "x") == "123456789012"
    assert r.resolve({"Ref": "AWS::StackName"}, "x") == "local"
    assert r.resolve({"Ref": "AWS::URLSuffix"}, "x") == "amazonaws.com"
    assert r.resolve({"Ref": "AWS::Partition"}, "x") == "aws"
    assert r.resolve({"Ref": "Api"}, "x") == "Api"  # a resource: a readable placeholder
    assert r.resolve({"Ref": "Fn.Version"}, "x") == "Fn.Version"  # SAM's AutoPublishAlias refs


def test_ref_to_an_unknown_name_says_where() -> None:
    with pytest.raises(TemplateError, match=r"Resources\.Fn\.Properties\.Ref: Ref to 'Nope'"):
        resolver().resolve({"Ref": "Nope"}, "Resources.Fn.Properties")


def test_no_value_removes_the_key_or_list_item_holding_it() -> None:
    value = {"Keep": 1, "Drop": {"Ref": "AWS::NoValue"}, "List": [1, {"Ref": "AWS::NoValue"}]}
    assert resolver().resolve(value, "x") == {"Keep": 1, "List": [1]}
    assert resolver().resolve({"Ref": "AWS::NoValue"}, "x") is NO_VALUE


def test_get_att_is_a_readable_placeholder() -> None:
    r = resolver()
    assert r.resolve({"Fn::GetAtt": ["Fn", "Arn"]}, "x") == "Fn.Arn"
    assert r.resolve({"Fn::GetAtt": "Api.ApiEndpoint"}, "x") == "Api.ApiEndpoint"
    with pytest.raises(TemplateError, match="Fn::GetAtt of 'Missing'"):
        r.resolve({"Fn::GetAtt": ["Missing", "Arn"]}, "x")


def test_sub_in_string_and_list_forms() -> None:
    r = resolver(Stage="dev")
    text = "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}/${Fn.Arn}"
    assert (
        r.resolve({"Fn::Sub": text}, "x")
        == "https://Api.execute-api.eu-west-1.amazonaws.com/dev/Fn.Arn"
    )
    assert r.resolve({"Fn::Sub": ["${Name}-${Stage}", {"Name": {"Ref": "Api"}}]}, "x") == "Api-dev"
    assert r.resolve({"Fn::Sub": "${!Literal} stays"}, "x") == "${Literal} stays"


def test_join_select_split() -> None:
    r = resolver(Names=["a", "b", "c"])
    assert r.resolve({"Fn::Join": ["-", ["x", {"Ref": "AWS::Region"}]]}, "x") == "x-eu-west-1"
    assert r.resolve({"Fn::Join": [",", {"Ref": "Names"}]}, "x") == "a,b,c"
    assert r.resolve({"Fn::Select": [1, {"Ref": "Names"}]}, "x") == "b"
    assert r.resolve({"Fn::Select": ["0", {"Fn::Split": ["/", "p/q"]}]}, "x") == "p"
    with pytest.raises(TemplateError, match="no item 5"):
        r.resolve({"Fn::Select": [5, {"Ref": "Names"}]}, "x")


def test_find_in_map_and_base64() -> None:
    r = resolver({"Resources": {}, "Mappings": {"Sizes": {"dev": {"Memory": 256}}}}, Stage="dev")
    assert r.resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]}, "x") == 256
    assert r.resolve({"Fn::Base64": "hi"}, "x") == "aGk="


def test_unsupported_function_is_named() -> None:
    with pytest.raises(TemplateError, match=r"Resources\.X: Fn::Cidr is not supported"):
        resolver().resolve({"Fn::Cidr": ["10.0.0.0/16", 2, 8]}, "Resources.X")


def test_yaml_dates_stay_text(tmp_path: Path) -> None:
    template = load(
        tmp_path,
        """
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: src/
              Handler: app.handler
              Runtime: python3.13
              Environment:
                Variables: {SINCE: 2024-01-31, ENABLED: true, COUNT: 3}
        """,
    )
    assert template.function("Fn").environment == {
        "SINCE": "2024-01-31",
        "ENABLED": "true",
        "COUNT": "3",
    }


# --- conditions ---------------------------------------------------------------------------


CONDITIONS = {
    "Resources": {},
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
        "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
        "ProdInEurope": {
            "Fn::And": [
                {"Condition": "IsProd"},
                {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]},
            ]
        },
        "ProdOrBig": {"Fn::Or": [{"Condition": "IsProd"}, {"Fn::Equals": [{"Ref": "Size"}, 10]}]},
        "Loop": {"Fn::Not": [{"Condition": "Loop"}]},
    },
}


@pytest.mark.parametrize(
    ("stage", "size", "expected"),
    [
        ("prod", "1", {"IsProd": True, "NotProd": False, "ProdInEurope": True, "ProdOrBig": True}),
        ("dev", "10", {"IsProd": False, "NotProd": True, "ProdInEurope": False, "ProdOrBig": True}),
        ("dev", "1", {"IsProd": False, "NotProd": True, "ProdInEurope": False, "ProdOrBig": False}),
    ],
)
def test_conditions(stage: str, size: str, expected: dict[str, bool]) -> None:
    r = Resolver(CONDITIONS, {"Stage": stage, "Size": size}, "eu-west-1")
    assert {name: r.condition(name, "x") for name in expected} == expected


def test_if_picks_a_branch_and_no_value_drops_it() -> None:
    r = Resolver(CONDITIONS, {"Stage": "dev", "Size": "1"}, "eu-west-1")
    value = {
        "A": {"Fn::If": ["IsProd", "big", "small"]},
        "B": {"Fn::If": ["IsProd", "only-prod", {"Ref": "AWS::NoValue"}]},
    }
    assert r.resolve(value, "x") == {"A": "small"}


def test_condition_errors_name_the_condition() -> None:
    r = Resolver(CONDITIONS, {"Stage": "dev", "Size": "1"}, "eu-west-1")
    with pytest.raises(TemplateError, match="refers to itself"):
        r.condition("Loop", "x")
    with pytest.raises(TemplateError, match="unknown condition 'Nope'"):
        r.resolve({"Fn::If": ["Nope", 1, 2]}, "x")


def test_iam_condition_blocks_are_not_conditions() -> None:
    statement = {"Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}
    assert resolver().resolve(statement, "x") == statement


# --- Globals ------------------------------------------------------------------------------


def test_globals_merge_like_sam() -> None:
    merged = merge_globals(
        {
            "Timeout": 25,
            "Layers": ["Global"],
            "Environment": {"Variables": {"A": "global", "B": "global"}},
            "Tracing": {"Fn::If": ["C", "Active", "PassThrough"]},
        },
        {
            "Timeout": 5,
            "Layers": ["Own"],
            "Environment": {"Variables": {"B": "function", "C": "function"}},
            "Tracing": "Active",
        },
    )
    assert merged == {
        "Timeout": 5,  # the function's scalar wins
        "Layers": ["Global", "Own"],  # lists: the globals, then the function's
        "Environment": {"Variables": {"A": "global", "B": "function", "C": "function"}},
        "Tracing": "Active",  # an intrinsic counts as a scalar
    }


TEMPLATE = """
Parameters:
  Stage: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Url: {Type: String, Default: ""}
  Names: {Type: CommaDelimitedList, Default: "a,b"}
Conditions:
  NoUrl: !Equals [!Ref Url, ""]
  IsProd: !Equals [!Ref Stage, prod]
Globals:
  Function:
    Runtime: python3.13
    Timeout: 25
    MemorySize: 512
    Layers: [!Ref Shared]
    LoggingConfig: {LogFormat: JSON, ApplicationLogLevel: DEBUG}
    Environment:
      Variables:
        STAGE: !Ref Stage
        SHARED: global
        DATABASE_URL: !If [NoUrl, !Ref AWS::NoValue, !Ref Url]
        FIRST_NAME: !Select [0, !Ref Names]
Resources:
  Shared:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layer/}
  Api:
    Type: AWS::Serverless::HttpApi
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Timeout: 3
      Layers: ["arn:aws:lambda:eu-west-1:123456789012:layer:other:1"]
      Environment:
        Variables:
          SHARED: own
          URL: !Sub "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/"
      Events:
        Get: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: "/items/{id}", Method: get}}
        Any: {Type: HttpApi, Properties: {Path: "/{proxy+}", Method: ANY, TimeoutInMillis: 5000}}
        Default: {Type: HttpApi}
        Queue: {Type: SQS, Properties: {Queue: !GetAtt Queue.Arn}}
  Queue:
    Type: AWS::SQS::Queue
  ProdOnly:
    Type: AWS::Serverless::Function
    Condition: IsProd
    Properties: {CodeUri: src/, Handler: app.handler}
"""


def test_function_is_resolved_with_globals(tmp_path: Path) -> None:
    # GIVEN a template with Globals, a layer, conditions and events
    template = load(tmp_path, TEMPLATE)
    # WHEN the function is resolved
    fn = template.function("Fn")
    # THEN it has what a local run needs
    assert fn.code_dir == (tmp_path / "src").resolve()
    assert (fn.handler, fn.runtime, fn.timeout, fn.memory_size) == (
        "app.handler",
        "python3.13",
        3,
        512,
    )
    assert fn.environment == {
        "STAGE": "dev",
        "SHARED": "own",
        "FIRST_NAME": "a",
        "URL": "https://Api.execute-api.eu-west-1.amazonaws.com/",
    }
    assert fn.layer_paths == ((tmp_path / "layer" / "python").resolve(),)
    assert any("arn:aws:lambda" in w and "skipped" in w for w in fn.warnings)
    assert (fn.log_format, fn.log_level) == ("JSON", "DEBUG")
    assert fn.events == (
        ("Get", "HttpApi"),
        ("Any", "HttpApi"),
        ("Default", "HttpApi"),
        ("Queue", "SQS"),
    )


def test_routes_from_httpapi_events(tmp_path: Path) -> None:
    routes = load(tmp_path, TEMPLATE).function("Fn").routes
    assert [(r.method, r.path, r.event_id) for r in routes] == [
        ("GET", "/items/{id}", "Get"),
        ("ANY", "/{proxy+}", "Any"),
        ("ANY", "$default", "Default"),  # no Path and Method: the catch-all route
    ]
    assert routes[1].integration_timeout == 5.0
    assert routes[0].key == "GET /items/{id}"
    assert routes[2].key == "$default"


def test_parameter_overrides_reach_conditions_and_variables(tmp_path: Path) -> None:
    template = load(
        tmp_path, TEMPLATE, {"Stage": "prod", "Url": "postgresql://h/db", "Names": "x,y"}
    )
    fn = template.function("Fn")
    assert fn.environment["STAGE"] == "prod"
    assert fn.environment["DATABASE_URL"] == "postgresql://h/db"
    assert fn.environment["FIRST_NAME"] == "x"
    assert template.function_ids() == ["Fn", "ProdOnly"]


def test_a_function_whose_condition_is_false_does_not_exist(tmp_path: Path) -> None:
    template = load(tmp_path, TEMPLATE)
    assert template.function_ids() == ["Fn"]
    with pytest.raises(TemplateError, match="ProdOnly is not created: its Condition IsProd"):
        template.function("ProdOnly")


def test_bad_override_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="Stage='qa' is not one of its AllowedValues"):
        load(tmp_path, TEMPLATE, {"Stage": "qa"})
    with pytest.raises(TemplateError, match="no parameter Nope"):
        load(tmp_path, TEMPLATE, {"Nope": "1"})


def test_unknown_function_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(
        TemplateError, match=r"no function 'Fun' in template.yaml \(its functions: Fn\)"
    ):
        load(tmp_path, TEMPLATE).function("Fun")


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ("CodeUri: missing/\n      Handler: app.handler", "Fn: CodeUri missing/ is not a folder"),
        ("CodeUri: src/\n      Handler: app", r"Handler: expected module.function"),
        ("CodeUri: src/\n      Handler: a.b\n      Runtime: nodejs20.x", "Runtime nodejs20.x"),
        ("CodeUri: {Bucket: b, Key: k}\n      Handler: a.b", "CodeUri: expected a local folder"),
        ("CodeUri: src/\n      Handler: a.b\n      Timeout: soon", r"Timeout: expected a number"),
        ("InlineCode: x\n      Handler: a.b", "InlineCode is not supported"),
    ],
)
def test_function_errors_name_the_function(tmp_path: Path, properties: str, message: str) -> None:
    body = f"""
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      {properties}
"""
    template = load(tmp_path, body)
    with pytest.raises(TemplateError, match=message):
        template.function("Fn")


def test_missing_layer_folder_is_named(tmp_path: Path) -> None:
    body = """
Resources:
  Lib: {Type: AWS::Serverless::LayerVersion, Properties: {ContentUri: nowhere/}}
  Fn:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: src/, Handler: a.b, Runtime: python3.13, Layers: [!Ref Lib]}
"""
    with pytest.raises(TemplateError, match="Lib: ContentUri nowhere/ is not a folder"):
        load(tmp_path, body).function("Fn")


def test_unreadable_or_invalid_template(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="cannot read the template"):
        Template.load(tmp_path / "absent.yaml")
    (tmp_path / "bad.yaml").write_text("Resources: [unclosed")
    with pytest.raises(TemplateError, match="not valid YAML"):
        Template.load(tmp_path / "bad.yaml")
    (tmp_path / "empty.yaml").write_text("Description: nothing\n")
    with pytest.raises(TemplateError, match="no Resources section"):
        Template.load(tmp_path / "empty.yaml")


# --- the kit's own template -------------------------------------------------------------


def test_the_kit_template_resolves() -> None:
    template = Template.load(ROOT / "template.yaml", region="us-east-1")
    fn = template.function("ApiFunction")
    assert fn.code_dir == ROOT / "functions" / "api"
    assert ROOT / "layer" / "python" in fn.layer_paths
    assert "DATABASE_URL" not in fn.environment  # empty DatabaseUrl: AWS::NoValue
    assert Route("ANY", "/{proxy+}", "ApiFunction", "Api") in fn.routes  # the catch-all


def test_the_kit_template_takes_a_database_url() -> None:
    template = Template.load(
        ROOT / "template.yaml", {"DatabaseUrl": "postgresql://u@h-pooler/db"}, region="us-east-1"
    )
    environment = template.function("ApiFunction").environment
    assert environment["DATABASE_URL"] == "postgresql://u@h-pooler/db"
    assert "DATABASE_SECRET" not in environment
