-- Idempotency-Key records, shared by every replica: the first request's response is kept for the TTL.
CREATE TABLE idempotency_keys (
    key_id        text NOT NULL,
    idem_key      text NOT NULL,
    request_hash  bytea NOT NULL,
    state         text NOT NULL CHECK (state IN ('in_progress', 'done')),
    status        integer,
    headers       jsonb,
    body          bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    PRIMARY KEY (key_id, idem_key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
