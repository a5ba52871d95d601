"""Testing an app built on the kit: fixtures and stubs, never mocks of AWS.

The pytest plugin (`localdev.testing.plugin`, registered when the package is installed) gives
every test run one PostgreSQL (embedded, or `TEST_DATABASE_URL`), a database of its own, and
runs each test that uses `database_url` twice: straight to PostgreSQL and through a real
PgBouncer in transaction mode, as Neon's pooled endpoint does. Fixtures: `admin_url`,
`direct_url`, `pgbouncer`, `database_kind`, `database_url`, `settings`, `db`, `raw`,
`migrated`.

Helpers for tests:

    from localdev.testing import LambdaContext, load_event, load_handler

    handler = load_handler("ApiFunction")           # as Lambda imports it
    response = handler(load_event("todos_list"), LambdaContext())
"""

from ._handlers import Handler, global_environment, load_handler, template_document
from ._lambda import LambdaContext, load_event
from ._pgbouncer import PgBouncer, PgBouncerError, pgbouncer_binary, require_pgbouncer
from ._postgres import (
    enforces_passwords,
    password_role,
    postgres_server,
    require_passwords_for_group,
    scratch_database,
)
from ._project import project_root

__all__ = [
    "Handler",
    "LambdaContext",
    "PgBouncer",
    "PgBouncerError",
    "enforces_passwords",
    "global_environment",
    "load_event",
    "load_handler",
    "password_role",
    "pgbouncer_binary",
    "postgres_server",
    "project_root",
    "require_passwords_for_group",
    "require_pgbouncer",
    "scratch_database",
    "template_document",
]
