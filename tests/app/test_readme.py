"""Every Python example in the README runs, in order, against a migrated database."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest
from neonkit import Database

README = Path(__file__).resolve().parents[2] / "README.md"


def examples() -> list[str]:
    """The README's Python examples; a block whose first line names a file (`# path/x.py`)
    is that file's content, written where it says by tests/app/test_make_it_yours.py."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    return [code for code in blocks if not re.match(r"# [\w/.-]+\.py\n", code)]


def test_the_readme_has_examples() -> None:
    assert len(examples()) >= 3


def test_every_example_runs(
    todos_db: Database, app_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In a module of its own, as in a file of yours (declarations read its annotations there),
    # as the functions' role, for one user, as a request of the API would run them
    module = types.ModuleType("readme_examples")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    with app_db.as_user("readme"):
        for code in examples():
            exec(compile(code, str(README), "exec"), module.__dict__)
    assert todos_db.value("SELECT count(*) FROM todos WHERE owner = 'readme'") == 3
