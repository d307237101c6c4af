-- Idempotency.PostgreSql: the table that holds idempotency records.
--
-- Idempotent: safe to run on every deployment. It is the same script the store runs at start-up when
-- PostgreSqlIdempotencyStoreOptions.CreateSchemaOnStartup is true.
--
-- To use another schema or table name, replace "public" and every "idempotency_records" below, keep the
-- "_expires_at_idx" suffix of the index name, and set Schema and TableName in the options to match.
-- Create the schema first when it is not "public". The application's database user needs SELECT, INSERT,
-- UPDATE and DELETE on the table.
--
-- Columns:
--   key             the scoped storage key: the client's scope and its Idempotency-Key, compared byte for byte.
--   state           1 = in flight (claimed under a lease), 2 = completed.
--   owner_token     the claim's owner while in flight (only it may complete or release the claim); NULL once completed.
--   fingerprint     SHA-256 of the request: a reuse of the key with another request is refused.
--   payload         the stored outcome (the library's own versioned binary format), NULL while in flight.
--   format_version  the layout version of this row, 1 today.
--   expires_at      while in flight, when the lease ends; once completed, when the retention ends.
--                   The row counts as absent from then on: any request may claim the key again. Until one does, the
--                   owner of an in-flight row may still complete or release it for LeaseGracePeriod (1 minute by
--                   default) after its lease. The cleanup service deletes a completed row at once, an in-flight row
--                   once its lease ended more than LeaseGracePeriod ago.
--   created_at      when the current claim was taken.

CREATE TABLE IF NOT EXISTS "public"."idempotency_records" (
    key             text        COLLATE "C" NOT NULL,
    state           smallint    NOT NULL,
    owner_token     text,
    fingerprint     bytea       NOT NULL,
    payload         bytea,
    format_version  smallint    NOT NULL,
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (key),
    CHECK (state IN (1, 2))
) WITH (fillfactor = 90); -- room on each page for the in-place (HOT) updates that claims make

-- The cleanup service deletes the oldest expired rows first, in small batches.
CREATE INDEX IF NOT EXISTS "idempotency_records_expires_at_idx" ON "public"."idempotency_records" (expires_at);
