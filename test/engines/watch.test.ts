import { afterAll, describe, expect, it } from 'vitest';
import type { SessionChange, SessionData } from '../../src/core/engine.js';
import { watchStored } from '../../src/core/watch.js';
import type { LocalFeed } from '../../src/engines/feed.js';
import { openDbEngine } from '../../src/engines/index.js';

// watchStored on a real engine (PGlite in memory: the same store, the in-process feed).
const engine = await openDbEngine({ dataDir: 'memory://' });
afterAll(() => engine.close());

const bump: SessionChange = {
  name: 'test.bump',
  args: {},
  next: (data: SessionData) => ({ ...data, n: ((data.n as number) ?? 0) + 1 }),
};
let sessions = 0;
async function stored() {
  const hash = `${++sessions}`.padStart(64, '0');
  await engine.create(hash, { n: 0 }, null, Date.now());
  return hash;
}

describe('watchStored', () => {
  it('a subscriber that stops reading holds no backlog: 500 writes later it gets one state, the newest', async () => {
    const hash = await stored();
    const controller = new AbortController();
    const watch = await watchStored(engine, hash, Date.now, controller.signal);
    expect((await watch.next()).value).toMatchObject({ data: { n: 0 } });
    for (let i = 0; i < 500; i++) await engine.change(hash, bump, Date.now());
    const next = await watch.next();
    expect(next.value).toMatchObject({ data: { n: 500 }, version: 500 });
    // Nothing else is pending.
    const pending = watch.next();
    const raced = await Promise.race([pending, new Promise((r) => setTimeout(() => r('nothing'), 200))]);
    expect(raced).toBe('nothing');
    controller.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
  });

  it('a flush yields null and ends; a cycle ends without a state; an abort ends', async () => {
    const flushed = await stored();
    const a = await watchStored(engine, flushed, Date.now, new AbortController().signal);
    await a.next();
    await engine.flush(flushed);
    expect(await a.next()).toEqual({ done: false, value: null });
    expect((await a.next()).done).toBe(true);

    const moved = await stored();
    const b = await watchStored(engine, moved, Date.now, new AbortController().signal);
    await b.next();
    await engine.cycle(moved, 'f'.repeat(64), Date.now());
    expect((await b.next()).done).toBe(true);
  });

  it('returned before its first read, it still stops listening', async () => {
    const hash = await stored();
    const watch = await watchStored(engine, hash, Date.now, new AbortController().signal);
    const feed = engine.feed as LocalFeed;
    expect(feed.size).toBe(1);
    await watch.return(undefined);
    expect(feed.size).toBe(0);
    // A later subscriber and writes work as usual.
    const again = await watchStored(engine, hash, Date.now, new AbortController().signal);
    await again.next();
    await engine.change(hash, bump, Date.now());
    expect((await again.next()).value).toMatchObject({ data: { n: 1 } });
    await again.return(undefined);
    expect(feed.size).toBe(0);
  });
});
