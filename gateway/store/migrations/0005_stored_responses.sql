-- Responses API objects kept for previous_response_id and GET/DELETE /v1/responses/{id}, owned by one ApiKey.
-- ``conversation`` holds the input items the response answered (the whole chain before it included) and
-- ``response`` the Response object as the client received it, both as JSON bytes: a continuation reads one row.
CREATE TABLE stored_responses (
    id             text NOT NULL PRIMARY KEY,
    key_namespace  text NOT NULL,
    key_name       text NOT NULL,
    provider       text NOT NULL,   -- namespace/name of the Provider that produced it
    native         boolean NOT NULL, -- produced by a native Responses upstream, which keeps its own copy
    conversation   bytea NOT NULL,
    response       bytea NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL
);
CREATE INDEX stored_responses_expiry ON stored_responses (expires_at);
