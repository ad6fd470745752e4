-- Leave room on each page so that session updates can stay on the same page
-- as heap-only tuples (HOT): no index writes for a change of data alone.
ALTER TABLE "sessionql_session" SET (fillfactor = 80);
