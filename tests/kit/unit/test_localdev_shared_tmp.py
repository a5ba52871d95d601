"""Lambda Managed Instances run several processes of a function on one /tmp: nothing in the
kit (neonkit, localdev) may name a fixed path there, where two processes would collide."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parents[3] / "kit"
SOURCES = sorted(KIT.glob("*/src/**/*.py"))


def fixed_tmp_paths(source: str) -> list[str]:
    return [
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.startswith(("/tmp", "/var/tmp", "/dev/shm"))
    ]


def test_the_check_finds_a_fixed_path() -> None:
    assert fixed_tmp_paths('open("/tmp/neonkit.lock", "w")') == ["/tmp/neonkit.lock"]
    assert fixed_tmp_paths("tempfile.mkdtemp(prefix='neonkit-')") == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(KIT)))
def test_no_fixed_path_under_tmp(path: Path) -> None:
    assert fixed_tmp_paths(path.read_text(encoding="utf-8")) == []
