-- Health and bandit statistics shared by the gateway replicas. Each replica owns its rows and overwrites them
-- with its own evidence (so a retried write never counts twice); readers combine the other replicas' rows.
-- Times are Unix seconds as float8: monotonic clocks differ between processes, and decay needs plain arithmetic.

-- One replica's latest view of one provider ("namespace/name"), from its own traffic and probes.
CREATE TABLE provider_health (
    provider            text NOT NULL,
    replica             text NOT NULL,
    retry_after_until   double precision NOT NULL DEFAULT 0,
    down_until          double precision NOT NULL DEFAULT 0,  -- 0 unless the replica's circuit is open
    trips               integer NOT NULL DEFAULT 0,
    error_rate          double precision NOT NULL DEFAULT 0,
    latency_ms          double precision,
    observed_at         double precision,                     -- the replica's latest traffic to the provider
    probe_ok            boolean,
    probe_latency_ms    double precision,
    probe_at            double precision,
    probe_failures      integer NOT NULL DEFAULT 0,
    probe_failing_since double precision,
    updated_at          double precision NOT NULL,
    PRIMARY KEY (provider, replica)
);

-- One replica's own decayed Beta evidence per bandit arm; the fleet's view is the decayed sum over replicas.
CREATE TABLE bandit_stats (
    namespace   text NOT NULL,
    model       text NOT NULL,
    bucket      text NOT NULL,
    replica     text NOT NULL,
    alpha       double precision NOT NULL CHECK (alpha >= 0),
    beta        double precision NOT NULL CHECK (beta >= 0),
    at          double precision NOT NULL,
    half_life_s double precision NOT NULL CHECK (half_life_s > 0),
    PRIMARY KEY (namespace, model, bucket, replica)
);
