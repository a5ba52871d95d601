"""Where the project under test is: the folder holding its `template.yaml`."""

from __future__ import annotations

from pathlib import Path

_root: Path | None = None


def set_project_root(path: str | Path) -> None:
    """Set by the pytest plugin to the run's root folder."""
    global _root
    _root = Path(path).resolve()


def project_root() -> Path:
    """The configured root, else the nearest folder up from here that has a template.yaml."""
    if _root is not None:
        return _root
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "template.yaml").is_file():
            return folder
    return here
