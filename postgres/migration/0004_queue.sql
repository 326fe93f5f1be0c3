-- The queue moves out of deliveries into a table of its own, kept small:
-- delivery_queue holds one narrow row per pending delivery and nothing else.
-- A publish inserts the row with its delivery, a claim leases it (its
-- next_attempt_at becomes the lease end), a retry moves its next_attempt_at,
-- and the delivery's end (success or failure) deletes it; redelivery and
-- recovery insert it again. deliveries becomes the history: a row is
-- written at publish and updated once per attempt, and since none of the
-- columns an attempt changes is indexed any more, that update is a HOT
-- update (no index entries) whenever its page has room, which the lower
-- fillfactor leaves.
--
-- A pending delivery's next attempt (or lease end) is its queue row's
-- next_attempt_at; the column leaves deliveries. The queue row has no
-- foreign key: a key check would lock the delivery row at every insert.
-- Deleting a webhook deletes its queue rows explicitly (DeleteWebhook).
--
-- The queue churns: every row is updated about twice and then deleted
-- within seconds. Autovacuum visits it after a fixed number of dead rows
-- instead of a share of a table that is mostly dead, and without cost
-- delays, so that its indexes stay about as small as the work left.

CREATE TABLE delivery_queue (
	delivery_id     text COLLATE "C" PRIMARY KEY,
	tenant_id       text COLLATE "C" NOT NULL,
	webhook_id      text COLLATE "C" NOT NULL,
	next_attempt_at timestamptz NOT NULL
) WITH (
	fillfactor = 70,
	autovacuum_vacuum_scale_factor = 0,
	autovacuum_vacuum_threshold = 5000,
	autovacuum_vacuum_insert_scale_factor = 0,
	autovacuum_vacuum_insert_threshold = 5000,
	autovacuum_analyze_scale_factor = 0,
	autovacuum_analyze_threshold = 5000,
	autovacuum_vacuum_cost_delay = 0
);

INSERT INTO delivery_queue (delivery_id, tenant_id, webhook_id, next_attempt_at)
SELECT id, tenant_id, webhook_id, coalesce(next_attempt_at, created_at)
FROM deliveries WHERE status = 'pending';

-- Claims take the oldest due rows first; the webhook deletion and the fair
-- claims' lane walk (tenants in turn, then each tenant's webhooks) seek the
-- second.
CREATE INDEX delivery_queue_next_attempt_at ON delivery_queue (next_attempt_at);
CREATE INDEX delivery_queue_lane ON delivery_queue (tenant_id, webhook_id, next_attempt_at);

DROP INDEX deliveries_pending;
DROP INDEX deliveries_pending_lane;
ALTER TABLE deliveries DROP COLUMN next_attempt_at;
ALTER TABLE deliveries SET (fillfactor = 75);
