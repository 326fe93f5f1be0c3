-- The initial hookd schema for PostgreSQL, the same model as SQLite's
-- 0001_init.sql. Timestamps are timestamptz (microseconds, as hookd.Truncate
-- keeps them). Identifiers and other keys use the "C" collation so that they
-- sort byte-wise, as Go strings (and SQLite) do. Event payloads are json, not
-- jsonb: json keeps the exact bytes, so key order survives.

CREATE TABLE tenants (
	id         text COLLATE "C" PRIMARY KEY,
	name       text NOT NULL UNIQUE,
	created_at timestamptz NOT NULL
);

CREATE TABLE api_keys (
	id          text COLLATE "C" PRIMARY KEY,
	tenant_id   text COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	secret_hash bytea NOT NULL,
	created_at  timestamptz NOT NULL,
	revoked_at  timestamptz
);

CREATE INDEX api_keys_tenant_id ON api_keys (tenant_id);

CREATE TABLE webhooks (
	id                         text COLLATE "C" PRIMARY KEY,
	tenant_id                  text COLLATE "C" NOT NULL,
	name                       text NOT NULL,
	events                     text[] NOT NULL, -- in the order given, or {*}
	url                        text NOT NULL,
	config                     jsonb NOT NULL,  -- {} when unset
	secret                     text NOT NULL DEFAULT '',
	previous_secret            text NOT NULL DEFAULT '',
	previous_secret_expires_at timestamptz,
	status                     text NOT NULL,
	disabled_reason            text NOT NULL DEFAULT '',
	failing_since              timestamptz,
	last_sent_at               timestamptz,
	created_at                 timestamptz NOT NULL,
	updated_at                 timestamptz NOT NULL
);

-- Lists: ordered by created_at (either way) or by id, always within a tenant.
-- The first also finds a tenant's subscribers when an event is published.
CREATE INDEX webhooks_tenant_created_at ON webhooks (tenant_id, created_at, id);
CREATE INDEX webhooks_tenant_id ON webhooks (tenant_id, id);

CREATE TABLE events (
	id              text COLLATE "C" PRIMARY KEY,
	tenant_id       text COLLATE "C" NOT NULL,
	type            text NOT NULL,
	data            json NOT NULL,
	resource        json,
	idempotency_key text,
	webhooks        json,             -- array narrowing fan-out, or NULL
	deliveries      integer NOT NULL, -- fan-out count, answered again to a repeated idempotency key
	created_at      timestamptz NOT NULL
);

CREATE UNIQUE INDEX events_tenant_idempotency_key ON events (tenant_id, idempotency_key)
	WHERE idempotency_key IS NOT NULL;
CREATE INDEX events_created_at ON events (created_at, id);

-- deliveries is the queue and the hot table: every attempt updates a row. Its
-- finished rows are deleted by retention, and autovacuum visits it after 2 %
-- of its rows changed (instead of 20 %) so that dead rows do not pile up in
-- the pending index between visits.
CREATE TABLE deliveries (
	id              text COLLATE "C" PRIMARY KEY,
	tenant_id       text COLLATE "C" NOT NULL,
	webhook_id      text COLLATE "C" NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
	event_id        text COLLATE "C" NOT NULL REFERENCES events (id),
	event_type      text NOT NULL,
	status          text NOT NULL,
	attempt_count   integer NOT NULL DEFAULT 0,
	retry_base      integer NOT NULL DEFAULT 0,
	next_attempt_at timestamptz,
	created_at      timestamptz NOT NULL, -- the event's created_at
	last_attempt_at timestamptz
) WITH (
	autovacuum_vacuum_scale_factor = 0.02,
	autovacuum_analyze_scale_factor = 0.02,
	autovacuum_vacuum_insert_scale_factor = 0.05
);

-- The queue: only pending deliveries are in this index, so claims and queue
-- stats scan the work left, not the history.
CREATE INDEX deliveries_pending ON deliveries (next_attempt_at) WHERE status = 'pending';
-- The delivery log, newest first, per tenant or per webhook (which also
-- serves the cascade when a webhook is deleted).
CREATE INDEX deliveries_tenant_created_at ON deliveries (tenant_id, created_at, id);
CREATE INDEX deliveries_webhook_created_at ON deliveries (webhook_id, created_at, id);
-- Filtering by event, and retention finding an event's deliveries.
CREATE INDEX deliveries_event_id ON deliveries (event_id);

-- response_body is bytea: a receiver may answer bytes that are not UTF-8
-- (or hold NUL), which text refuses; bytea keeps them exactly.
CREATE TABLE attempts (
	delivery_id   text COLLATE "C" NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
	number        integer NOT NULL,
	started_at    timestamptz NOT NULL,
	status_code   integer NOT NULL,
	latency_us    bigint NOT NULL,
	response_body bytea NOT NULL,
	error         text NOT NULL,
	PRIMARY KEY (delivery_id, number)
);
