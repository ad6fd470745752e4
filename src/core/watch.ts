import type { NoticeListener, SessionEngine, StoredSession } from './engine.js';
import { SubscriptionLimit } from './errors.js';

/** Limits on live subscriptions (sessionChanged), counted by this instance. */
export interface WatchLimits {
  /** Per session (its tabs) on this instance. @default 16 */
  perSession?: number;
  /** On this instance, all sessions together. @default 10000 */
  perInstance?: number;
}

/** Counts live subscriptions against {@link WatchLimits}. */
export class WatchCounter {
  private readonly perSession: number;
  private readonly perInstance: number;
  private readonly bySession = new Map<string, number>();
  private total = 0;

  constructor(limits: WatchLimits = {}) {
    this.perSession = limits.perSession ?? 16;
    this.perInstance = limits.perInstance ?? 10_000;
  }

  /** Counts one in; the returned function counts it out (once). @throws SubscriptionLimit */
  acquire(hash: string): () => void {
    const mine = this.bySession.get(hash) ?? 0;
    if (mine >= this.perSession) throw new SubscriptionLimit('session', this.perSession);
    if (this.total >= this.perInstance) throw new SubscriptionLimit('instance', this.perInstance);
    this.bySession.set(hash, mine + 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.bySession.get(hash) ?? 1) - 1;
      if (left > 0) this.bySession.set(hash, left);
      else this.bySession.delete(hash);
    };
  }

  /** Live subscriptions on this instance. */
  get size(): number {
    return this.total;
  }
}

/** setTimeout's longest delay (about 24.8 days): later deadlines are checked again then. */
const MAX_DELAY = 2 ** 31 - 1;

/**
 * Watches the stored session under `hash`: listens to the engine's notices,
 * then reads the current state (a write after the read is noticed, one
 * before it is in the read), both before it resolves, so that a refusal or an
 * unavailable store fails the subscription itself. The generator yields that
 * state first, then a state for each notice newer than the last one sent (a
 * burst of writes may arrive as its newest state; a state older than one
 * already sent is never sent). It ends with `null` (gone) after a flush or at
 * expiry, and without it when the key moved (cycleKey) or `signal` aborts. A
 * failed read later on is retried (with backoff) rather than breaking the stream.
 */
export async function watchStored(
  engine: SessionEngine,
  hash: string,
  now: () => number,
  signal: AbortSignal,
): Promise<AsyncGenerator<StoredSession | null, void, undefined>> {
  const feed = engine.feed;
  if (!feed) throw new Error('this session engine sends no change notices');
  // What happened since the last step, as flags, not a queue: a subscriber
  // that stops reading holds a few booleans, however many writes it misses.
  let sent = -1;
  let stale = false;
  let gone: 'flushed' | 'moved' | null = null;
  let aborted = false;
  /** Released: listening stopped, no timer left. */
  let cleaned = false;
  let wake: (() => void) | null = null;
  const poke = () => {
    wake?.();
    wake = null;
  };
  const onNotice: NoticeListener = (notice) => {
    if ('gone' in notice) gone ??= notice.gone;
    else if (!('version' in notice) || notice.version > sent) stale = true;
    poke();
  };
  // Released at once, not when the stream is next read: a stream whose response was never sent is never read.
  const onAbort = () => {
    aborted = true;
    cleanup();
    poke();
  };
  let timer: NodeJS.Timeout | undefined;
  /** Reads again after `ms` (the deadline passed, a read failed). */
  const later = (ms: number) => {
    clearTimeout(timer);
    if (cleaned) return;
    timer = setTimeout(
      () => {
        stale = true;
        poke();
      },
      Math.min(Math.max(ms, 0), MAX_DELAY),
    );
    timer.unref?.();
  };
  // A little after the deadline, so that the read finds it passed.
  const atExpiry = (row: StoredSession) => later(row.expiresAt * 1000 - now() + 5);
  const unsubscribe = await feed.subscribe(hash, onNotice);
  let first: StoredSession | null;
  try {
    first = await engine.load(hash, now());
  } catch (error) {
    unsubscribe();
    throw error;
  }
  function cleanup() {
    if (cleaned) return;
    cleaned = true;
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    unsubscribe();
  }
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });

  async function* stream(): AsyncGenerator<StoredSession | null, void, undefined> {
    try {
      if (signal.aborted) return;
      yield first;
      if (!first) return;
      sent = first.version;
      atExpiry(first);
      let failures = 0;
      for (;;) {
        while (!aborted && !gone && !stale) await new Promise<void>((resolve) => (wake = resolve));
        if (aborted) return;
        if (gone) {
          if (gone === 'flushed') yield null;
          return;
        }
        stale = false;
        let row: StoredSession | null;
        try {
          row = await engine.load(hash, now());
          failures = 0;
        } catch {
          // The store is unavailable: the stream stays, and reads again soon.
          later(Math.min(100 * 2 ** failures++, 5000));
          continue;
        }
        if (!row) {
          yield null;
          return;
        }
        if (row.version > sent) {
          sent = row.version;
          yield row;
        }
        atExpiry(row);
      }
    } finally {
      cleanup();
    }
  }
  return withCleanup(stream(), cleanup);
}

/**
 * `generator`, with `cleanup` run when it is returned or thrown into, also
 * before its first next() (a generator then skips its own finally).
 */
export function withCleanup<T>(generator: AsyncGenerator<T, void, undefined>, cleanup: () => void): AsyncGenerator<T, void, undefined> {
  const wrapped: AsyncGenerator<T, void, undefined> = {
    next: () => generator.next(),
    return: (value) => {
      cleanup();
      return generator.return(value);
    },
    throw: (error) => {
      cleanup();
      return generator.throw(error);
    },
    [Symbol.asyncIterator]: () => wrapped,
  };
  return wrapped;
}
