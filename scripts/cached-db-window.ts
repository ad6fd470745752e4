// The cached_db engine's residual window (docs/decisions/0015): how long after
// one instance raises the cache generation (a write whose copy to Redis
// failed) another instance, a process of its own, still uses the old one.
//
//   DATABASE_URL=$(scripts/pg.sh start | tail -n 1) REDIS_URL=$(scripts/redis.sh start | tail -n 1) \
//     npx tsx scripts/cached-db-window.ts [raises]
//
// A (this process) raises the generation `raises` times (default 300), B (a
// child) reports when it adopts each by NOTIFY; prints how long after A's raise
// statement returned (negative: before). Migrates DATABASE_URL; raises its
// generation (every instance on it then refills its cache once).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { withCache } from '../src/engines/cached-db/engine.js';
import { openDatabase } from '../src/engines/postgres/client.js';
import { migrate } from '../src/engines/postgres/migrate.js';
import { createDbStore } from '../src/server/app.js';
import { loadConfig } from '../src/server/config.js';
import { createLogger } from '../src/server/logger.js';

const config = loadConfig({ ...process.env, NODE_ENV: 'test', SESSION_ENGINE: 'cached_db' }, { needsSecret: false });
if (!config.databaseUrl || !config.redisUrl) throw new Error('DATABASE_URL and REDIS_URL are required');
const now = () => performance.timeOrigin + performance.now();

async function open() {
  const database = await openDatabase({ url: config.databaseUrl, pgliteDir: 'memory://', poolSize: 4 });
  await migrate(database);
  // No poll: only the NOTIFY is measured.
  const store = createDbStore(config, database, createLogger({ json: false, level: 'silent' }));
  return withCache(store, database, { url: config.redisUrl, generationPollMs: 0 });
}

if (process.argv[2] === 'listener') {
  const engine = await open();
  const adopt = engine.generation.adopt.bind(engine.generation);
  engine.generation.adopt = (generation: number) => {
    const before = engine.generation.current;
    adopt(generation);
    if (engine.generation.current > before) process.send!({ generation: engine.generation.current, at: now() });
  };
  process.send!({ ready: true });
} else {
  const raises = Number(process.argv[2] ?? 300);
  const child = fork(fileURLToPath(import.meta.url), ['listener'], { execArgv: ['--import', 'tsx'] });
  const heard = new Map<number, number>();
  const ready = new Promise<void>((resolve) =>
    child.on('message', (m: { ready?: true; generation?: number; at?: number }) => {
      if (m.ready) resolve();
      else heard.set(m.generation!, m.at!);
    }),
  );
  await ready;
  const engine = await open();
  const delays: number[] = [];
  for (let i = 0; i < raises; i++) {
    await engine.generation.raise();
    const returned = now();
    const generation = engine.generation.current;
    for (let j = 0; j < 1000 && !heard.has(generation); j++) await new Promise((resolve) => setTimeout(resolve, 1));
    if (heard.has(generation)) delays.push(heard.get(generation)! - returned);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  delays.sort((a, b) => a - b);
  const at = (q: number) => delays[Math.min(delays.length - 1, Math.floor(q * delays.length))]!.toFixed(2);
  console.log(
    `B adopted A's raise, ms after A's raise returned: median ${at(0.5)}, p90 ${at(0.9)}, p99 ${at(0.99)}, max ${at(1)}, min ${at(0)}; ` +
      `${delays.length} of ${raises} heard within 1 s`,
  );
  child.kill();
  await engine.close();
}
