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

What localdev itself is made of, for an app's own checks: `Template` (template.yaml as
localdev reads it: functions, routes, authorizers, parameters), `Sandbox` with
`lambda_environment` (a function in a warm process of its own, as `localdev invoke` runs it),
the events' conventions (`function_for_event`, `in_running_order`, `is_http_event`) and the
local JWT issuer (`issue_token`, `local_key`, `key_id`, `LOCAL_ISSUER`, `LOCAL_AUDIENCE`). These
names are public: a kit upgrade keeps them, or says so in the changelog.
"""

from .._environment import lambda_environment
from .._events import function_for_event, in_running_order, is_http_event
from .._jwt import LOCAL_AUDIENCE, LOCAL_ISSUER, JwtAuthorizer, key_id, local_key
from .._jwt import issue as issue_token
from .._sandbox import Sandbox
from .._template import Template
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
    "LOCAL_AUDIENCE",
    "LOCAL_ISSUER",
    "Handler",
    "JwtAuthorizer",
    "LambdaContext",
    "PgBouncer",
    "PgBouncerError",
    "Sandbox",
    "Template",
    "enforces_passwords",
    "function_for_event",
    "global_environment",
    "in_running_order",
    "is_http_event",
    "issue_token",
    "key_id",
    "lambda_environment",
    "load_event",
    "load_handler",
    "local_key",
    "password_role",
    "pgbouncer_binary",
    "postgres_server",
    "project_root",
    "require_passwords_for_group",
    "require_pgbouncer",
    "scratch_database",
    "template_document",
]
