import { Cluster, Redis } from 'ioredis';
import type { SessionChange, SessionData } from '../../src/core/engine.js';
import type { CachedDbEngine } from '../../src/engines/cached-db/engine.js';
import { testCacheTarget } from '../helpers/app.js';

/** n += 1: a pure change, as an area's operation is. */
export const increment: SessionChange = {
  name: 'test.increment',
  args: {},
  next: (data: SessionData) => ({ ...data, n: ((data.n as number | undefined) ?? 0) + 1 }),
};

/** A client of the test's own to look at the cache (REDIS_URL or REDIS_CLUSTER_NODES, or `url`). */
export function inspector(url?: string): Redis | Cluster {
  const target = url ? { url } : testCacheTarget();
  const client =
    'url' in target
      ? new Redis(target.url, { maxRetriesPerRequest: 1 })
      : new Cluster(target.clusterNodes.map((node) => ({ host: node.split(':')[0]!, port: Number(node.split(':')[1]) })));
  client.on('error', () => {});
  return client;
}

/** Every key under `pattern`: SCAN on each master of a cluster. */
export async function keysMatching(client: Redis | Cluster, pattern: string): Promise<string[]> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  const keys: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
  }
  return keys;
}

/** The raw cache entry of `hash`: version, generation, tombstone. */
export async function entryOf(client: Redis | Cluster, engine: CachedDbEngine, hash: string) {
  const [v, g, x] = await client.hmget(engine.key(hash), 'v', 'g', 'x');
  return { version: v == null ? null : Number(v), generation: g == null ? null : Number(g), dead: x === '1' };
}

/**
 * Holds `engine`'s next reads from PostgreSQL after they have read, until
 * released: a fill racing a write, made to lose deterministically.
 */
export function holdStoreReads(engine: CachedDbEngine) {
  const load = engine.store.load;
  let read!: () => void;
  let release!: () => void;
  const didRead = new Promise<void>((resolve) => (read = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  engine.store.load = async (hash, nowMs) => {
    const row = await load.call(engine.store, hash, nowMs);
    read();
    await released;
    return row;
  };
  return {
    didRead,
    release: () => {
      engine.store.load = load;
      release();
    },
  };
}

/** Median, p99 and max of `samples` (ms), rounded to 0.01. */
export function spread(samples: number[]): { median: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 100) / 100;
  return { median: at(0.5), p99: at(0.99), max: at(1) };
}
