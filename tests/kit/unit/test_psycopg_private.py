"""Pins what neonkit/_psycopg_private.py relies on in psycopg: when an upgrade changes it, these
fail and say what to check there (the bounded wait on every statement)."""

from __future__ import annotations

import inspect

import psycopg
from neonkit._psycopg_private import CHECKED_WITH, KitConnection

RECHECK = "re-check kit/neonkit/src/neonkit/_psycopg_private.py against this psycopg"


def test_psycopg_is_the_minor_version_it_was_checked_with() -> None:
    minor = ".".join(psycopg.__version__.split(".")[:2])
    assert minor == CHECKED_WITH, (
        f"psycopg {psycopg.__version__}: {RECHECK}, then update CHECKED_WITH"
    )


def test_connection_wait_still_takes_a_generator_an_interval_and_a_timeout() -> None:
    parameters = list(inspect.signature(psycopg.Connection.wait).parameters)
    assert parameters == ["self", "gen", "interval", "timeout"], RECHECK


def test_its_private_timeout_is_still_an_operational_error() -> None:
    private = getattr(psycopg.errors, "_WaitTimeout", None)
    assert private is not None, f"psycopg.errors._WaitTimeout is gone: {RECHECK}"
    assert issubclass(private, psycopg.OperationalError), RECHECK


def test_the_override_is_the_connections_wait() -> None:
    assert KitConnection.wait is not psycopg.Connection.wait
    assert issubclass(KitConnection, psycopg.Connection)


def test_a_pipeline_still_ends_through_the_generators_the_override_replaces() -> None:
    # _SyncEndedPipeline re-implements Pipeline._exit_gen with these three steps.
    for name in ("_exit_gen", "_enqueue_sync", "_communicate_gen", "_fetch_gen"):
        assert callable(getattr(psycopg.Pipeline, name, None)), f"Pipeline.{name}: {RECHECK}"
    assert "flush" in inspect.signature(psycopg.Pipeline._fetch_gen).parameters, RECHECK
    source = inspect.getsource(psycopg.Pipeline._exit_gen)
    assert "_fetch_gen(flush=True)" in source, f"psycopg changed how a pipeline ends: {RECHECK}"


def test_connection_pipeline_still_keeps_its_pipeline_where_the_override_does() -> None:
    # KitConnection.pipeline() repeats psycopg's Connection.pipeline() with its own class.
    source = inspect.getsource(psycopg.Connection.pipeline)
    for line in ("self._check_connection_ok()", "self._pipeline = Pipeline(self)"):
        assert line in source, f"Connection.pipeline() changed ({line!r}): {RECHECK}"
    assert KitConnection.pipeline is not psycopg.Connection.pipeline
