-- Budgets per API key and calendar month (UTC). A key's spend is spent_usd (folded from closed leases) plus the
-- charged_usd of its open leases; what is still leased out is the sum of each open lease's outstanding part.
-- Grants happen under this row's lock, so spend + outstanding never exceeds limit_usd by a grant.
CREATE TABLE budget_periods (
    key_namespace text NOT NULL,
    key_name      text NOT NULL,
    period        text NOT NULL,
    limit_usd     numeric(24, 12) NOT NULL,
    spent_usd     numeric(24, 12) NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key_namespace, key_name, period)
);

-- One open lease per replica (holder), key and period. Outstanding = granted - released - charged (never below
-- zero); a lease whose expires_at has passed belongs to a replica that stopped renewing and may be reclaimed.
CREATE TABLE budget_leases (
    key_namespace text NOT NULL,
    key_name      text NOT NULL,
    period        text NOT NULL,
    holder        text NOT NULL,
    granted_usd   numeric(24, 12) NOT NULL DEFAULT 0,
    released_usd  numeric(24, 12) NOT NULL DEFAULT 0,
    charged_usd   numeric(24, 12) NOT NULL DEFAULT 0,
    expires_at    timestamptz NOT NULL,
    PRIMARY KEY (key_namespace, key_name, period, holder)
);
CREATE INDEX budget_leases_holder ON budget_leases (holder);
CREATE INDEX budget_leases_expiry ON budget_leases (expires_at);

-- The journal of settled charges, one row per admitted request, keyed by its reservation id: replaying a batch
-- inserts nothing twice and so never charges twice.
CREATE TABLE budget_charges (
    reservation_id text PRIMARY KEY,
    key_namespace  text NOT NULL,
    key_name       text NOT NULL,
    period         text NOT NULL,
    holder         text NOT NULL,
    request_id     text,
    cost_usd       numeric(24, 12) NOT NULL,
    charged_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX budget_charges_key ON budget_charges (key_namespace, key_name, period);

-- Requests and tokens granted per key and UTC minute (window = minutes since the epoch). Grants are never
-- returned: what a replica leaves unused lapses with the minute. last_* hold the latest grant for RETURNING.
CREATE TABLE rate_windows (
    key_namespace    text NOT NULL,
    key_name         text NOT NULL,
    window_minute    bigint NOT NULL,
    requests_granted bigint NOT NULL DEFAULT 0,
    tokens_granted   bigint NOT NULL DEFAULT 0,
    last_requests    bigint NOT NULL DEFAULT 0,
    last_tokens      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (key_namespace, key_name, window_minute)
);
