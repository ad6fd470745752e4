import { defineConfig } from 'drizzle-kit';

// Migrations are generated from src/engines/postgres/schema.ts (`npm run db:generate`) and
// committed; the server applies them at start-up (src/engines/postgres/migrate.ts).
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/engines/postgres/schema.ts',
  out: './drizzle',
});
