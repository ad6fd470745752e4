import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { SessionChange, SessionData, StoredSession } from '../../src/core/engine.js';
import { openDbEngine } from '../../src/engines/index.js';
import { openDatabase } from '../../src/engines/postgres/client.js';
import { migrate } from '../../src/engines/postgres/migrate.js';
import { SessionStore } from '../../src/engines/postgres/store.js';
import { HOLD_FROM, HOLD_MS } from '../../src/engines/postgres/swap-batch.js';
import { emptyDatabaseUrl, engine, testDatabase, testDatabaseUrl } from '../helpers/database.js';
import { recordingDatabase } from '../helpers/queries.js';

// Group commit (docs/decisions/0019): the compare-and-set writes of one turn
// of the event loop go to the database as one statement. Each write must
// still get what its own statement would have given it. On this worker's
// database (PGlite, or PostgreSQL with DATABASE_URL).

const MAX_BYTES = 400;
/** Groups that failed together (then retried one by one): none is expected. */
const failedGroups: unknown[] = [];
const settings = { ageSeconds: 3600, maxBytes: MAX_BYTES, timeoutMs: 5000, onBatchError: (error: unknown) => failedGroups.push(error) };
const recording = recordingDatabase(await testDatabase());
const store = new SessionStore(recording.database, settings);

const bump: SessionChange = {
  name: 'test.bump',
  args: {},
  next: (data: SessionData) => ({ ...data, n: ((data.n as number) ?? 0) + 1 }),
};
const grow: SessionChange = { name: 'test.grow', args: {}, next: (data) => ({ ...data, big: 'x'.repeat(MAX_BYTES) }) };
/** Exactly MAX_BYTES of compact JSON, with separators jsonb's text would print with spaces (a longer text): it fits. */
const fill: SessionChange = {
  name: 'test.fill',
  args: {},
  next: (data) => {
    const next = { ...data, m: { a: [1, 2, 3], b: { c: null, d: 'é' } }, pad: '' };
    next.pad = 'x'.repeat(MAX_BYTES - Buffer.byteLength(JSON.stringify(next)));
    return next;
  },
};

let made = 0;
async function sessions(count: number, nowMs: number, ageMs = 3_600_000): Promise<{ hash: string; row: StoredSession }[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const hash = `gc-${process.pid}-${++made}-`.padEnd(64, '0');
      const expiry = { expiresAt: (nowMs + ageMs) / 1000, browserClose: false, maxAge: null, fixedExpiry: true };
      return { hash, row: await store.create(hash, { n: 0 }, expiry, nowMs) };
    }),
  );
}
const batches = () => recording.statements.filter((s) => s.includes('json_to_recordset')).length;
const singles = () => recording.statements.filter((s) => s.startsWith('WITH chk AS') && s.includes('UPDATE')).length;

describe(`group commit (${engine})`, () => {
  it('writes of one turn share a statement, and each gets its own outcome: written, too large, expired, flushed, or retried after a conflict', async () => {
    const now = Date.now();
    const plain = await sessions(6, now);
    const [tooLarge] = await sessions(1, now);
    const [expiring] = await sessions(1, now, 1000);
    const [stale] = await sessions(1, now);
    const [flushed] = await sessions(1, now);
    const [exact] = await sessions(1, now);
    await store.flush(flushed!.hash);
    // Another instance writes `stale` first: the write below starts from version 0 and must conflict, read, retry.
    await new SessionStore(recording.database, settings).change(stale!.hash, bump, now, stale!.row);
    const [batchesBefore, singlesBefore] = [batches(), singles()];

    const later = now + 2000; // `expiring` is past its deadline by then
    const outcomes = await Promise.allSettled([
      ...plain.map(({ hash, row }) => store.change(hash, bump, later, row)),
      store.change(tooLarge!.hash, grow, later, tooLarge!.row),
      store.change(expiring!.hash, bump, later, expiring!.row),
      store.change(stale!.hash, bump, later, stale!.row),
      store.change(flushed!.hash, bump, later, flushed!.row),
      store.change(exact!.hash, fill, later, exact!.row),
    ]);

    for (const outcome of outcomes.slice(0, 6)) {
      expect(outcome.status).toBe('fulfilled');
      expect((outcome as PromiseFulfilledResult<{ row: StoredSession }>).value.row).toMatchObject({ data: { n: 1 }, version: 1 });
    }
    expect(outcomes[6]).toMatchObject({ status: 'rejected', reason: { code: 'SESSION_TOO_LARGE' } });
    expect(outcomes[7]).toEqual({ status: 'fulfilled', value: null });
    expect(outcomes[8]).toMatchObject({ status: 'fulfilled', value: { row: { data: { n: 2 }, version: 2 } } });
    expect(outcomes[9]).toEqual({ status: 'fulfilled', value: null });
    expect(outcomes[10]).toMatchObject({ status: 'fulfilled', value: { row: { version: 1 } } });
    const written = (outcomes[10] as PromiseFulfilledResult<{ row: StoredSession }>).value.row.data;
    expect(Buffer.byteLength(JSON.stringify(written))).toBe(MAX_BYTES);
    // One statement for the eleven (then the conflict's read and a write of its own).
    expect(batches() - batchesBefore).toBe(1);
    expect(singles() - singlesBefore).toBe(1);

    expect(failedGroups).toEqual([]);
    for (const { hash } of plain) expect(await store.load(hash, later)).toMatchObject({ data: { n: 1 }, version: 1 });
    expect(await store.load(tooLarge!.hash, later)).toMatchObject({ data: { n: 0 }, version: 0 });
    expect(await store.load(expiring!.hash, now)).toMatchObject({ data: { n: 0 }, version: 0 });
    // Not resurrected.
    expect(await store.load(flushed!.hash, later)).toBeNull();
  });

  it('a write alone in its turn is the single statement it always was', async () => {
    const now = Date.now();
    const [one] = await sessions(1, now);
    const [batchesBefore, singlesBefore] = [batches(), singles()];
    expect(await store.change(one!.hash, bump, now, one!.row)).toMatchObject({ row: { data: { n: 1 }, version: 1 } });
    expect([batches() - batchesBefore, singles() - singlesBefore]).toEqual([0, 1]);
  });

  it('writes to one session in one turn take turns: every one lands', async () => {
    const now = Date.now();
    const [one] = await sessions(1, now);
    await Promise.all(Array.from({ length: 20 }, () => store.change(one!.hash, bump, now)));
    expect(await store.load(one!.hash, now)).toMatchObject({ data: { n: 20 }, version: 20 });
  });
});

// One group statement in flight at a time (docs/decisions/0028). PGlite
// answers a statement within the turn that sent it, so there the next turn
// finds nothing in flight: PostgreSQL only.
describe.runIf(engine === 'postgres')('one group in flight (PostgreSQL)', () => {
  /**
   * Another connection locks `hash`'s row in an open transaction (a write to it waits for the lock).
   * Returns the unlock, which resolves once the transaction has ended; it also runs when the test
   * ends, should an expectation fail, so that the writes behind the lock land before the next test.
   */
  async function lockRow(hash: string): Promise<() => Promise<void>> {
    const other = postgres(testDatabaseUrl()!, { max: 1, onnotice: () => {} });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const transaction = other.begin(async (tx) => {
      await tx`SELECT 1 FROM sessionql_session WHERE key_hash = ${hash} FOR UPDATE`;
      locked();
      await released;
    });
    const unlock = async () => {
      release();
      await transaction;
    };
    onTestFinished(async () => {
      await unlock().catch(() => {});
      await other.end();
    });
    await lockTaken;
    return unlock;
  }

  /** Writes `first` writes in one turn, then 2 in each of the next three turns: how many statements they took. */
  async function turns(first: number): Promise<number> {
    const now = Date.now();
    const all = await sessions(first + 6, now);
    const [batchesBefore, singlesBefore] = [batches(), singles()];
    const sizes = [first, 2, 2, 2];
    const writes: Promise<unknown>[] = [];
    let next = 0;
    for (const [turn, size] of sizes.entries()) {
      // Two immediates: the first may run before the group's own, which would then take this turn's writes too.
      if (turn > 0) await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
      for (const { hash, row } of all.slice(next, next + size)) writes.push(store.change(hash, bump, now, row));
      next += size;
    }
    await Promise.all(writes);
    for (const { hash } of all) expect(await store.load(hash, now)).toMatchObject({ data: { n: 1 }, version: 1 });
    return batches() - batchesBefore + singles() - singlesBefore;
  }

  it(`while a group of ${HOLD_FROM} or more is in flight, the writes of the turns that follow wait for it and go as one`, async () => {
    expect(await turns(HOLD_FROM)).toBe(2);
  });

  it("behind a smaller group (few writers), each turn's writes go at the end of that turn, as before", async () => {
    expect(await turns(2)).toBe(4);
  });

  it(`a group held up elsewhere holds the next one back ${HOLD_MS} ms at most, not until it returns`, async () => {
    const now = Date.now();
    const [held, free, ...others] = await sessions(HOLD_FROM + 1, now);
    const unlock = await lockRow(held!.hash);

    // A group of HOLD_FROM writes, one of them on the locked row: the whole statement waits.
    let heldDone = false;
    const heldWrite = Promise.all([held!, ...others].map(({ hash, row }) => store.change(hash, bump, now, row))).finally(() => {
      heldDone = true;
    });
    await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
    const started = performance.now();
    const freeWrite = await Promise.race([
      store.change(free!.hash, bump, now, free!.row),
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), 2000)),
    ]);
    const waited = performance.now() - started;
    expect(freeWrite).toMatchObject({ row: { data: { n: 1 }, version: 1 } });
    expect(heldDone).toBe(false);
    expect(waited).toBeGreaterThanOrEqual(HOLD_MS - 5);

    await unlock();
    for (const written of await heldWrite) expect(written).toMatchObject({ row: { data: { n: 1 }, version: 1 } });
  });

  it('a group that fills up (64 writes) while another is held goes at once, not at the end of the hold', async () => {
    const now = Date.now();
    const [held, ...rest] = await sessions(HOLD_FROM + 65, now);
    const group = rest.slice(0, HOLD_FROM - 1);
    const full = rest.slice(HOLD_FROM - 1);
    const unlock = await lockRow(held!.hash);

    // A group of HOLD_FROM writes waits on the lock and holds the next group back (for HOLD_MS).
    const heldWrite = Promise.all([held!, ...group].map(({ hash, row }) => store.change(hash, bump, now, row)));
    await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
    const before = batches();
    // 65 writes in one turn: the 65th finds a full group of 64, which goes then; the 65th waits for the hold.
    const fullWrites = full.map(({ hash, row }) => store.change(hash, bump, now, row));
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches() - before).toBe(1);

    await unlock();
    for (const written of [...(await heldWrite), ...(await Promise.all(fullWrites))])
      expect(written).toMatchObject({ row: { data: { n: 1 }, version: 1 } });
  });
});

// Two instances (two pools) batching the same sessions in opposite orders at
// once: rows are locked in key order, so neither waits on the other in a
// cycle (a deadlock fails a whole group after deadlock_timeout). On a table
// of a few rows PostgreSQL would scan it in one order for both; with 50,000
// rows it looks each given key up by the index, so rows are met in the order
// given, as in production.
describe.runIf(engine === 'postgres')('group commit across instances (PostgreSQL)', () => {
  it('two instances writing the same 30 sessions in opposite orders, 15 rounds: no deadlock, every write lands', async () => {
    const url = await emptyDatabaseUrl('group_commit');
    const admin = await openDatabase({ url, pgliteDir: '', poolSize: 1 });
    await migrate(admin);
    await admin.rows(sql`INSERT INTO sessionql_session (key_hash, expires_at)
      SELECT 'other-' || i, now() + interval '1 hour' FROM generate_series(1, 50000) AS i`);
    await admin.rows(sql`ANALYZE sessionql_session`);
    await admin.close();
    const [a, b] = await Promise.all([1, 2].map(() => openDatabase({ url, pgliteDir: '', poolSize: 20 })));
    onTestFinished(async () => {
      await Promise.all([a!.close(), b!.close()]);
    });
    const first = new SessionStore(a!, settings);
    const second = new SessionStore(b!, settings);
    const now = Date.now();
    const expiry = { expiresAt: now / 1000 + 3600, browserClose: false, maxAge: null, fixedExpiry: true };
    const hashes = Array.from({ length: 30 }, (_, i) => `shared-${i}-`.padEnd(64, '0'));
    for (const hash of hashes) await first.create(hash, { n: 0 }, expiry, now);
    const rounds = 15;
    for (let round = 0; round < rounds; round++) {
      // Both start from what is stored, so both groups lock rows (a stale version would skip them).
      const read = async (store: SessionStore) => Promise.all(hashes.map(async (hash) => [hash, await store.load(hash, now)] as const));
      const [fromFirst, fromSecond] = await Promise.all([read(first), read(second)]);
      await Promise.all([
        ...fromFirst.map(([hash, row]) => first.change(hash, bump, now, row)),
        ...fromSecond.reverse().map(([hash, row]) => second.change(hash, bump, now, row)),
      ]);
    }
    for (const hash of hashes) expect(await first.load(hash, now)).toMatchObject({ data: { n: 2 * rounds } });
    expect(failedGroups.map(String)).toEqual([]);
  });
});

// A group that fails for another reason than an outage: each write is run
// again alone, so only the write that caused it fails. The cause here is a
// real one of PostgreSQL's (a trigger refusing one row), on a database of
// this test's own.
describe.runIf(engine === 'postgres')('a group that fails (PostgreSQL)', () => {
  it("is told once (the library's onBatchError), and each write is retried alone: the others land, the one at fault gets its own error", async () => {
    const url = await emptyDatabaseUrl('group_commit_fault');
    const database = await openDatabase({ url, pgliteDir: '', poolSize: 5 });
    onTestFinished(() => database.close());
    await migrate(database);
    await database.rows(sql`CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.key_hash LIKE 'poison-%' THEN RAISE EXCEPTION 'this row is refused'; END IF; RETURN NEW; END $$`);
    await database.rows(sql`CREATE TRIGGER refuse_poison BEFORE UPDATE ON sessionql_session
      FOR EACH ROW EXECUTE FUNCTION refuse_poison()`);
    const told: { error: unknown; writes: number }[] = [];
    // Opened as a library user opens it: the hook is the library's option.
    const faulty = await openDbEngine({
      databaseUrl: url,
      poolSize: 5,
      ageSeconds: settings.ageSeconds,
      maxBytes: MAX_BYTES,
      notices: false,
      onBatchError: (error, writes) => told.push({ error, writes }),
    });
    onTestFinished(() => faulty.close());
    const now = Date.now();
    const expiry = { expiresAt: now / 1000 + 3600, browserClose: false, maxAge: null, fixedExpiry: true };
    const hashes = ['poison-', ...Array.from({ length: 5 }, (_, i) => `fine-${i}-`)].map((h) => h.padEnd(64, '0'));
    const rows = await Promise.all(hashes.map((hash) => faulty.create(hash, { n: 0 }, expiry, now)));

    const outcomes = await Promise.allSettled(hashes.map((hash, i) => faulty.change(hash, bump, now, rows[i])));

    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({ writes: 6, error: { message: 'this row is refused' } });
    expect(outcomes[0]).toMatchObject({ status: 'rejected', reason: { message: 'this row is refused' } });
    for (const outcome of outcomes.slice(1)) expect(outcome).toMatchObject({ status: 'fulfilled', value: { row: { data: { n: 1 } } } });
    expect(await faulty.load(hashes[0]!, now)).toMatchObject({ data: { n: 0 }, version: 0 });
  });
});
