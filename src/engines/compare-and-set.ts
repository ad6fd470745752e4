import type { Applied, SessionChange, SessionData, StoredSession } from '../core/engine.js';
import { WriteRefused } from '../core/errors.js';

/** What an engine supplies to {@link CompareAndSet}: a read and a versioned write of one session. */
export interface CasSteps {
  /** The unexpired session, or null. */
  load(): Promise<StoredSession | null>;
  /**
   * Writes `data` if the session is alive and still at `current.version`; the
   * stored result, or null on a conflict or when the session is gone. Throws
   * WriteRefused (size limit) having written nothing.
   */
  swap(current: StoredSession, data: SessionData): Promise<StoredSession | null>;
  /** The error for "no write within the timeout" (a StoreUnavailable). */
  unavailable(message: string): Error;
}

/**
 * Compare-and-set of a pure change, shared by the engines (docs/decisions/0011):
 * writes to one session from this process take turns (each starts from the
 * session the previous one wrote, so it succeeds at once); a conflict with
 * another process reads again and retries, after a short random pause,
 * until `timeoutMs`.
 */
export class CompareAndSet {
  /** Compare-and-set writes in flight per session. */
  private readonly turns = new Map<string, { tail: Promise<void>; row: StoredSession | null; waiting: number }>();

  constructor(private readonly timeoutMs: number) {}

  apply(hash: string, change: SessionChange, known: StoredSession | null, steps: CasSteps): Promise<Applied | null> {
    let turn = this.turns.get(hash);
    if (!turn) {
      turn = { tail: Promise.resolve(), row: null, waiting: 0 };
      this.turns.set(hash, turn);
    }
    const mine = turn;
    mine.waiting++;
    const result = mine.tail.then(() => this.loop(change, mine.row ?? known, steps));
    mine.tail = result
      .then(
        (applied) => {
          mine.row = applied?.row ?? null;
        },
        () => {
          mine.row = null;
        },
      )
      .finally(() => {
        if (--mine.waiting === 0) this.turns.delete(hash);
      });
    return result;
  }

  private async loop(change: SessionChange, known: StoredSession | null, steps: CasSteps): Promise<Applied | null> {
    const deadline = Date.now() + this.timeoutMs;
    let current = known ?? (await steps.load());
    for (let attempt = 1; current; attempt++) {
      const next = change.next(current.data);
      if (next instanceof WriteRefused) throw next;
      const stored = await steps.swap(current, next);
      if (stored) return { row: stored, previous: current.data };
      if (Date.now() > deadline) throw steps.unavailable(`no write of session data after ${attempt} conflicting attempts`);
      // Another process wrote meanwhile: a random pause spreads the retries of several.
      if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 50)));
      current = await steps.load();
    }
    return null;
  }
}
