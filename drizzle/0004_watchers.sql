-- How many instances have a live sessionChanged subscriber to the session:
-- writes send a NOTIFY only when it is above zero (a NOTIFY takes a
-- database-wide lock at commit). A constant default: no table rewrite.
ALTER TABLE "sessionql_session" ADD COLUMN "watchers" integer DEFAULT 0 NOT NULL;
