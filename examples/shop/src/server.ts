/**
 * The shop's server: its own Yoga with its own schema, and sessionql's
 * plugin giving every resolver `ctx.session`.
 *
 *   npx tsx examples/shop/src/server.ts       # http://localhost:4001/graphql
 *
 * Environment: PORT (4001), SESSION_SECRET (a dev secret outside production),
 * DATABASE_URL (PostgreSQL for sessions and products; else PGlite),
 * SESSIONS_DIR (PGlite's folder for the sessions, ./.data/shop-sessions).
 */
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { createYoga } from 'graphql-yoga';
import { cart } from 'sessionql';
import { createFastHandler, useSessions } from 'sessionql/yoga';
import { recent } from './areas/recent.js';
import { wishlist } from './areas/wishlist.js';
import { openShopDatabase } from './db.js';
import { schema } from './schema.js';

/** For trying the example only: a real deployment sets SESSION_SECRET (32+ characters). */
const DEV_SECRET = 'shop-example-dev-secret-do-not-use-in-production';

export interface ShopOptions {
  /** Signs the session cookie. @default a dev secret (refused when NODE_ENV=production) */
  secret?: string;
  /** PostgreSQL for sessions and products; without it, PGlite. */
  databaseUrl?: string;
  /** PGlite's folder for the sessions (`memory://` for tests). @default './.data/shop-sessions' */
  sessionsDir?: string;
}

/** Opens the catalogue and the session store, and builds the Yoga server and the node:http handler. */
export async function createShop(options: ShopOptions = {}) {
  const secret = options.secret ?? (process.env.NODE_ENV === 'production' ? undefined : DEV_SECRET);
  if (!secret) throw new Error('SESSION_SECRET must be set in production');
  const catalogue = await openShopDatabase(options.databaseUrl);
  const context = () => ({ db: catalogue.db });

  // Listing the areas makes their keys writable only through their operations
  // (ctx.session.set('wishlist', …) is refused).
  const sessions = useSessions({
    secret,
    databaseUrl: options.databaseUrl,
    dataDir: options.sessionsDir ?? './.data/shop-sessions',
    areas: [wishlist, recent, cart],
  });
  const yoga = createYoga({ schema, context, plugins: [sessions] });
  try {
    await sessions.engine; // a database that cannot be opened fails start-up, not the first request
  } catch (error) {
    await catalogue.close().catch(() => {});
    throw error;
  }

  // Queries and mutations on sessionql's fast path; everything else (GraphiQL, …) goes to Yoga.
  // The fast path does not run Yoga's context, so it gets the same `db` here.
  const handler = createFastHandler(yoga, sessions, { schema, context });

  return {
    yoga,
    sessions,
    handler,
    catalogue,
    /** Closes the session store (through Yoga's dispose) and the catalogue. */
    async close() {
      await yoga.dispose();
      await catalogue.close();
    },
  };
}

export type Shop = Awaited<ReturnType<typeof createShop>>;

async function main(): Promise<void> {
  const shop = await createShop({
    secret: process.env.SESSION_SECRET,
    databaseUrl: process.env.DATABASE_URL || undefined,
    sessionsDir: process.env.SESSIONS_DIR,
  });
  const port = Number(process.env.PORT ?? 4001);
  const server = createServer(shop.handler);
  server.listen(port, () => console.log(`shop: http://localhost:${port}/graphql`));
  const stop = () => {
    server.close();
    server.closeAllConnections();
    void shop.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
