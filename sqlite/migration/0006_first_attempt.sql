-- A delivery's first attempt is kept in its row instead of a row of
-- attempts: most deliveries succeed on the first try, and the attempts
-- row with its primary key's index cost the writer 2-3 µs of the 19-23
-- µs a delivery took (BenchmarkWriterLayout, "first_attempt_as_row"
-- against "schema"). Later attempts still go to attempts, and so does a
-- first one with a long answer (see maxInlineAttempt). Attempts recorded
-- before this migration stay where they are: first_started_at is NULL in
-- their deliveries' rows, and the first attempt is read from attempts.
--
-- A connection that ran 0005 keeps the deliveries' definition as it parsed
-- it before 0005 edited it, and ADD COLUMN would splice the new column
-- into the edited text at the old text's offset: parse it again first.
PRAGMA writable_schema = RESET;
ALTER TABLE deliveries ADD COLUMN first_started_at INTEGER;
ALTER TABLE deliveries ADD COLUMN first_status_code INTEGER;
ALTER TABLE deliveries ADD COLUMN first_latency_us INTEGER;
ALTER TABLE deliveries ADD COLUMN first_response_body TEXT;
ALTER TABLE deliveries ADD COLUMN first_error TEXT;
