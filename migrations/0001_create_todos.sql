-- The sample API's table. Idempotency keys live on the row they created, so claiming a key
-- and inserting the row are one statement: a replay can never insert twice.
CREATE TABLE todos (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title           text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 500),
    done            boolean NOT NULL DEFAULT false,
    due             date,
    tags            text[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    idempotency_key text UNIQUE,
    request_hash    text,
    CHECK (cardinality(tags) <= 20)
);

CREATE INDEX todos_done_id ON todos (done, id);
CREATE INDEX todos_tags ON todos USING gin (tags);
CREATE INDEX todos_completed_at ON todos (completed_at) WHERE done;
