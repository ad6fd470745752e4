CREATE TABLE "sessionql_session" (
	"key_hash" text PRIMARY KEY NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"browser_close" boolean DEFAULT false NOT NULL,
	"max_age" integer,
	"fixed_expiry" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "sessionql_session_expires_at_idx" ON "sessionql_session" USING btree ("expires_at");