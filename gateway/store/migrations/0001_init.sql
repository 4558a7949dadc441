-- Configuration: one row per resource, the canonical spec as JSON; config_revision counts every change.
CREATE TABLE config_revision (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    revision   bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO config_revision (singleton, revision) VALUES (true, 0);

CREATE TABLE config_objects (
    kind       text NOT NULL,
    namespace  text NOT NULL,
    name       text NOT NULL,
    spec       jsonb NOT NULL,
    spec_hash  text NOT NULL,
    owner      text NOT NULL,
    generation bigint,
    revision   bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, namespace, name)
);

-- The vault header: salt, KDF parameters and the wrapped data key. Never the password or the data key.
CREATE TABLE vault (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    header     bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Provider credentials sealed with AES-256-GCM under the vault's data key, bound to the owning resource.
CREATE TABLE credentials (
    kind       text NOT NULL,
    namespace  text NOT NULL,
    name       text NOT NULL,
    sealed     bytea NOT NULL,
    revision   bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, namespace, name)
);

-- Issued client keys: the public id and SHA-256 of the secret, never the key itself.
CREATE TABLE api_keys (
    key_id        text PRIMARY KEY,
    secret_hash   bytea NOT NULL,
    namespace     text NOT NULL,
    name          text NOT NULL,
    key_prefix    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    valid_until   timestamptz,
    disabled      boolean NOT NULL DEFAULT false,
    revision      bigint NOT NULL
);
CREATE INDEX api_keys_owner ON api_keys (namespace, name);

-- One row per request, written in batches; log_id (made by the gateway) is unique so a replayed spool never
-- doubles a row. request_id may repeat: a client may send its own X-Request-Id more than once.
CREATE TABLE request_logs (
    log_id          text PRIMARY KEY,
    request_id      text NOT NULL,
    created_at      timestamptz NOT NULL,
    endpoint        text NOT NULL,
    key_id          text,
    key_namespace   text,
    key_name        text,
    model           text,
    provider        text,
    upstream_model  text,
    mode            text,
    stream          boolean NOT NULL DEFAULT false,
    status          integer NOT NULL,
    error_class     text,
    error_message   text,
    input_tokens    integer NOT NULL DEFAULT 0,
    output_tokens   integer NOT NULL DEFAULT 0,
    usage_estimated boolean NOT NULL DEFAULT false,
    cost_usd        numeric(24, 12) NOT NULL DEFAULT 0,
    latency_ms      double precision NOT NULL,
    ttft_ms         double precision,
    overhead_ms     double precision,
    decision        text,
    attempts        jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX request_logs_created ON request_logs (created_at DESC);
CREATE INDEX request_logs_key ON request_logs (key_id, created_at);
CREATE INDEX request_logs_request ON request_logs (request_id);
