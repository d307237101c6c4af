-- Idempotency.PostgreSql: the tables of the conditional-write stores (compare-and-set records and append-if-last
-- streams, services.AddPostgreSqlConditionalWrites(...)).
--
-- Idempotent: safe to run on every deployment. It is the same script the stores run at start-up when
-- PostgreSqlConditionalWriteOptions.CreateSchemaOnStartup is true.
--
-- To use another schema or other table names, replace "public", every "conditional_records" and every
-- "conditional_stream_entries" below, and set Schema, RecordsTableName and StreamEntriesTableName in the options to
-- match. Create the schema first when it is not "public". The application's database user needs SELECT, INSERT and
-- UPDATE on both tables.
--
-- Put the tables in the database that holds the rest of your data: then a conditional write can take part in your
-- own transaction, or in the transaction of the PostgreSQL transactional idempotency mode.

-- Versioned records: a write names the version it read and applies only if that is still the version.
--   id       the record's id, compared byte for byte.
--   version  1 when created, one more after each update: the record's entity tag.
--   value    the record's value, as written.
CREATE TABLE IF NOT EXISTS "public"."conditional_records" (
    id       text   COLLATE "C" NOT NULL,
    version  bigint NOT NULL,
    value    bytea  NOT NULL,
    PRIMARY KEY (id),
    CHECK (version >= 1)
);

-- Append-only streams: entry N + 1 is inserted only when the last entry is N. The primary key is the unique index on
-- (stream, sequence) that refuses a second entry N + 1, whatever the timing.
--   stream    the stream's id, compared byte for byte.
--   sequence  the entry's position: 1, 2, 3, ... without gaps; the last one is the stream's entity tag.
--   payload   the entry's payload, as appended.
CREATE TABLE IF NOT EXISTS "public"."conditional_stream_entries" (
    stream    text   COLLATE "C" NOT NULL,
    sequence  bigint NOT NULL,
    payload   bytea  NOT NULL,
    PRIMARY KEY (stream, sequence),
    CHECK (sequence >= 1)
);
