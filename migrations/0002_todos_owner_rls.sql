-- Each todo belongs to a user, and PostgreSQL keeps users' rows apart (row-level security):
-- every statement of a request runs with the caller's identity in `neonkit.user_id` (set by
-- neonkit with set_config(..., true), so it ends with the transaction), and a statement that
-- forgets `WHERE owner = ...` still sees only the caller's rows.

-- The role the functions log in as (or a member of it): it cannot bypass row-level security
-- (no BYPASSRLS, not a superuser, not a member of Neon's neon_superuser), and may only read
-- and write the app's rows. Migrations run as the tables' owner. See the README, "Deploy".
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_runtime') THEN
        CREATE ROLE app_runtime NOLOGIN;
    END IF;
END
$$;

-- Rows from before belong to the anonymous caller (the API's identity when no issuer is set).
ALTER TABLE todos ADD COLUMN owner text NOT NULL DEFAULT 'anonymous';
ALTER TABLE todos
    ALTER COLUMN owner SET DEFAULT current_setting('neonkit.user_id', true),
    -- '' is what current_setting() answers once a connection has seen the setting outside a
    -- transaction that set it: never an owner.
    ADD CONSTRAINT todos_owner_not_empty CHECK (owner <> '');

-- Idempotency keys are per user, and namespaced by where they come from: a client's
-- Idempotency-Key is stored as 'http:<key>', the importer's as 'sqs:<messageId>', so no
-- client input can ever match an internal key.
UPDATE todos SET idempotency_key = 'http:' || idempotency_key
WHERE idempotency_key IS NOT NULL AND idempotency_key NOT LIKE 'sqs:%';
ALTER TABLE todos
    DROP CONSTRAINT todos_idempotency_key_key,
    ADD CONSTRAINT todos_owner_idempotency_key UNIQUE (owner, idempotency_key);

-- Every query now filters on owner first.
DROP INDEX todos_done_id;
CREATE INDEX todos_owner_done_id ON todos (owner, done, id);
CREATE INDEX todos_owner_id ON todos (owner, id);

ALTER TABLE todos ENABLE ROW LEVEL SECURITY;
ALTER TABLE todos FORCE ROW LEVEL SECURITY; -- the table's owner obeys the policies too
CREATE POLICY todos_owner ON todos
    USING (owner = current_setting('neonkit.user_id', true))
    WITH CHECK (owner = current_setting('neonkit.user_id', true));
-- The scheduled purge (todos.purge) is a system job, not a user: in a transaction that sets
-- `todos.purge` it may see, lock and delete completed todos of every user, and write nothing.
CREATE POLICY todos_purge ON todos
    USING (done AND current_setting('todos.purge', true) = 'on')
    WITH CHECK (false);

GRANT SELECT, INSERT, UPDATE, DELETE ON todos TO app_runtime;
