"""`--parameter-overrides` and `--env-vars` in SAM CLI's formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from localdev._errors import TemplateError
from localdev._parameters import EnvVars, parameter_values, parse_parameter_overrides


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["Stage=prod"], {"Stage": "prod"}),
        (["Stage=prod LogLevel=DEBUG"], {"Stage": "prod", "LogLevel": "DEBUG"}),
        (["Stage=prod", "LogLevel=DEBUG"], {"Stage": "prod", "LogLevel": "DEBUG"}),
        (
            ["Url=postgresql://u@h/db?sslmode=require"],
            {"Url": "postgresql://u@h/db?sslmode=require"},
        ),
        (['Title="two words" Empty='], {"Title": "two words", "Empty": ""}),
        (
            ["ParameterKey=Stage,ParameterValue=prod ParameterKey=Names,ParameterValue=a,b"],
            {"Stage": "prod", "Names": "a,b"},
        ),
        (["ParameterKey=Expr,ParameterValue=a=b"], {"Expr": "a=b"}),
    ],
)
def test_parameter_overrides_formats(given: list[str], expected: dict[str, str]) -> None:
    assert parse_parameter_overrides(given) == expected


@pytest.mark.parametrize("bad", ["Stage", "=value", "ParameterKey=Stage", 'Title="unclosed'])
def test_bad_parameter_overrides(bad: str) -> None:
    with pytest.raises(TemplateError, match="--parameter-overrides"):
        parse_parameter_overrides([bad])


def test_parameter_values_take_defaults_types_and_allowed_values() -> None:
    declared = {
        "Stage": {"Type": "String", "Default": "dev", "AllowedValues": ["dev", "prod"]},
        "Size": {"Type": "Number", "Default": 3},
        "Names": {"Type": "CommaDelimitedList", "Default": "a,b"},
        "Ids": {"Type": "List<Number>"},
        "Required": {"Type": "String"},
    }
    values = parameter_values(declared, {"Ids": "1,2"})
    assert values == {"Stage": "dev", "Size": "3", "Names": ["a", "b"], "Ids": ["1", "2"]}


def test_allowed_pattern_is_checked() -> None:
    declared = {"Name": {"Type": "String", "Default": "", "AllowedPattern": "^$|^[a-z/]+$"}}
    assert parameter_values(declared, {}) == {"Name": ""}
    assert parameter_values(declared, {"Name": "a/b"}) == {"Name": "a/b"}
    with pytest.raises(TemplateError, match="Name='A B' does not match its AllowedPattern"):
        parameter_values(declared, {"Name": "A B"})


def test_env_vars_file(tmp_path: Path) -> None:
    path = tmp_path / "env.json"
    path.write_text(
        json.dumps(
            {
                "Parameters": {"SHARED": "all", "LEVEL": "INFO"},
                "Fn": {"LEVEL": "DEBUG", "PORT": 5432, "ON": True},
            }
        )
    )
    env_vars = EnvVars.load(path)
    assert env_vars.for_function("Fn") == {
        "SHARED": "all",
        "LEVEL": "DEBUG",
        "PORT": "5432",
        "ON": "true",
    }
    assert env_vars.for_function("Other") == {"SHARED": "all", "LEVEL": "INFO"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "expected"),
        ('{"Fn": "VALUE"}', "Fn must map variable names to values"),
        ('{"Fn": {"A": [1]}}', r"Fn\.A: expected a string"),
    ],
)
def test_bad_env_vars_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "env.json"
    path.write_text(content)
    with pytest.raises(TemplateError, match=message):
        EnvVars.load(path)


def test_missing_env_vars_file(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"--env-vars .*absent\.json"):
        EnvVars.load(tmp_path / "absent.json")
