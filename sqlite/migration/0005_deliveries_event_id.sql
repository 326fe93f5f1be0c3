-- An event's deliveries share its tenant_id and created_at, so the tenant
-- index (deliveries_tenant_created_at) finds them, and deliveries_event_id,
-- which every delivery insert paid for, goes. So does the deliveries'
-- foreign key to events: without an index on event_id, deleting an event
-- would scan every delivery to check it. Deliveries are inserted only in
-- the transaction that inserts their event (a publish) or reads it
-- (unparking), and retention deletes an event only once it has none.
--
-- Dropping a foreign key changes nothing stored, so the table's
-- definition is edited in place (https://sqlite.org/lang_altertable.html,
-- "Making Other Kinds Of Table Schema Changes") instead of the table
-- copied. The connection that runs this keeps the definition it parsed
-- before; DB.Open migrates on a connection of its own and closes it.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
	SET sql = replace(sql, 'event_id        TEXT NOT NULL REFERENCES events (id),', 'event_id        TEXT NOT NULL,')
	WHERE type = 'table' AND name = 'deliveries';
PRAGMA writable_schema = OFF;

-- Fail, rolling back, if the definition did not read as expected.
CREATE TEMP TABLE migration_check (
	ok INTEGER NOT NULL
		CONSTRAINT "the deliveries table's definition is not the one migration 0001 wrote" CHECK (ok)
);
INSERT INTO migration_check
	SELECT sql NOT LIKE '%REFERENCES events%' FROM sqlite_schema WHERE type = 'table' AND name = 'deliveries';
DROP TABLE migration_check;

DROP INDEX deliveries_event_id;
