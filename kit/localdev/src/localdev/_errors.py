"""What can go wrong before a function runs; the command line prints these without a traceback.

LocalDevError
├── TemplateError      the template, a parameter or an override is wrong
└── SetupError         the local database, a port or a file is not usable
"""

from __future__ import annotations

__all__ = ["LocalDevError", "SetupError", "TemplateError"]


class LocalDevError(Exception):
    """A problem the user can fix; the message says how."""


class TemplateError(LocalDevError):
    """The template (or what the command line adds to it) cannot be used locally."""


class SetupError(LocalDevError):
    """Something the local run needs is missing or busy."""
