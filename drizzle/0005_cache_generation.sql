-- The cached_db engine's cache generation (one row): raised, with a NOTIFY, by a
-- write whose copy in Redis did not happen; cache entries of older generations
-- are then misses (docs/decisions/0015). No row reads as generation 0.
CREATE TABLE "sessionql_cache_generation" (
	"id" smallint PRIMARY KEY NOT NULL,
	"generation" bigint NOT NULL,
	CONSTRAINT "sessionql_cache_generation_one_row" CHECK ("sessionql_cache_generation"."id" = 1)
);
