-- The fixture app's one table. An Idempotency-Key makes a create safe to replay: the key is
-- unique, so a replay finds the row its first delivery made (in the same statement).
CREATE TABLE notes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body text NOT NULL DEFAULT '' CHECK (length(body) <= 10000),
    idempotency_key text UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
