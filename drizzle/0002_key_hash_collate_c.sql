-- key_hash is a hex SHA-256: compare it byte by byte. Under the database's
-- default collation (en_US.utf8 in the postgres Docker image, for example)
-- every comparison in a primary-key lookup goes through the locale's rules
-- instead. Rebuilds the primary-key index.
ALTER TABLE "sessionql_session" ALTER COLUMN "key_hash" SET DATA TYPE text COLLATE "C";
