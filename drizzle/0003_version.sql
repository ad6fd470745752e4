-- Counts the writes to a session: a change computed outside the database (an
-- area's pure function) is written only while the version is the one it read
-- (compare-and-set). A constant default: no table rewrite (PostgreSQL 11+).
ALTER TABLE "sessionql_session" ADD COLUMN "version" bigint DEFAULT 0 NOT NULL;