-- Parked deliveries (hookd.DeliveryParker): while the worker has a webhook
-- parked (its endpoint is down), a publish lists the webhook in the
-- event's parked column instead of inserting a pending delivery (a row and
-- five index entries), so a dead endpoint adds a few bytes to each event
-- row and nothing else. They count as pending, are never claimed, and
-- become pending deliveries when the webhook is unparked, when their
-- tenant's deliveries are read, or after a restart (sqlite/park.go).
ALTER TABLE events ADD COLUMN parked TEXT; -- JSON array of webhook IDs, or NULL

CREATE INDEX events_parked ON events (created_at, id) WHERE parked IS NOT NULL;
