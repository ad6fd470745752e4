import type { Applied, SessionChange, SessionData, StoredSession } from '../core/engine.js';
import { WriteRefused } from '../core/errors.js';
import { storedJson } from '../core/json.js';

/** A swap that found the session at another version: here is what it holds now (so no read is needed to retry). */
export class Stale {
  constructor(readonly current: StoredSession) {}
}

/** What an engine supplies to {@link CompareAndSet}: a read and a versioned write of one session. */
export interface CasSteps {
  /** The unexpired session, or null. */
  load(): Promise<StoredSession | null>;
  /**
   * Writes `data` (`json` is its JSON text) if the session is alive and still
   * at `current.version`; the stored result, or null on a conflict or when
   * the session is gone (or Stale with the session as it is, when the engine
   * can tell in the same round trip). Throws WriteRefused (size limit) having
   * written nothing.
   */
  swap(current: StoredSession, data: SessionData, json: string): Promise<StoredSession | Stale | null>;
  /** The error for "no write within the timeout" (a StoreUnavailable). */
  unavailable(message: string): Error;
}

export interface CompareAndSetOptions {
  /** How long a write may keep retrying conflicts. */
  timeoutMs: number;
  /** The JSON bytes of recently written sessions kept to start the next write from. @default 8 MiB */
  recentBytes?: number;
}

/**
 * Compare-and-set of a pure change, shared by the engines (docs/decisions/0011):
 * writes to one session from this process take turns (each starts from the
 * session the previous one wrote, so it succeeds at once); a conflict with
 * another process reads again and retries, after a short random pause,
 * until `timeoutMs`.
 *
 * A write that was given nothing read starts from the session as this
 * process last wrote it, if it is among the recent ones (bounded by their
 * JSON bytes), instead of reading it first: a visitor's next write is then
 * one round trip. The version check makes that safe: had anything written
 * the session since, the swap fails and the write starts again from what is
 * stored (docs/decisions/0017).
 */
export class CompareAndSet {
  /** Compare-and-set writes in flight per session. */
  private readonly turns = new Map<string, { tail: Promise<void>; waiting: number }>();
  /**
   * The last row this process wrote per session, oldest first, its data as
   * JSON text: parsed again for each use, so nothing a caller does to a
   * returned object can change what the next write starts from.
   */
  private readonly recent = new Map<string, { row: StoredSession; json: string }>();
  private recentTotal = 0;
  private readonly timeoutMs: number;
  private readonly recentBytes: number;

  constructor(options: CompareAndSetOptions) {
    this.timeoutMs = options.timeoutMs;
    this.recentBytes = options.recentBytes ?? 8 * 1024 * 1024;
  }

  /**
   * Applies `change` to the session `hash`, starting from `known` (what the
   * request read; with `guess`, a copy that may be stale, such as a cache's)
   * or what this process last wrote, whichever is newer, else a read.
   */
  apply(hash: string, change: SessionChange, known: StoredSession | null, steps: CasSteps, guess = false): Promise<Applied | null> {
    let turn = this.turns.get(hash);
    if (!turn) {
      turn = { tail: Promise.resolve(), waiting: 0 };
      this.turns.set(hash, turn);
    }
    const mine = turn;
    mine.waiting++;
    // The newer of what the caller read and what this process last wrote (the write before in turn, say).
    const start = () => {
      const remembered = this.recalled(hash);
      return remembered && (!known || remembered.version > known.version) ? { row: remembered, guess: true } : { row: known, guess };
    };
    const result = mine.tail.then(() => this.loop(hash, change, start(), steps));
    mine.tail = result
      .then(
        () => {},
        () => {},
      )
      .finally(() => {
        if (--mine.waiting === 0) this.turns.delete(hash);
      });
    return result;
  }

  /** Forgets what this process last wrote to `hash` (it was flushed, moved or expired here). */
  forget(hash: string): void {
    const entry = this.recent.get(hash);
    if (!entry) return;
    this.recent.delete(hash);
    this.recentTotal -= entry.json.length;
  }

  /** Whether this process remembers what it last wrote to `hash` (a write will start from that). */
  remembers(hash: string): boolean {
    return this.recent.has(hash);
  }

  /** The session as this process last wrote it, if remembered: a guess the swap verifies. */
  private recalled(hash: string): StoredSession | null {
    const entry = this.recent.get(hash);
    return entry ? { ...entry.row, data: JSON.parse(entry.json) as SessionData } : null;
  }

  private remember(hash: string, row: StoredSession, json: string): void {
    this.forget(hash);
    if (json.length > this.recentBytes / 8) return;
    // The text only: the parsed data stays the caller's (and is not kept twice).
    this.recent.set(hash, { row: { ...row, data: {} }, json });
    this.recentTotal += json.length;
    for (const [oldest, entry] of this.recent) {
      if (this.recentTotal <= this.recentBytes) break;
      this.recent.delete(oldest);
      this.recentTotal -= entry.json.length;
    }
  }

  /**
   * Applies `change` from `start` until a swap succeeds. A start remembered
   * from an earlier request is a guess: a refusal computed from it (a rule,
   * the size limit) is checked against the stored session before it is
   * reported, since the session may have changed, expired or gone since.
   */
  private async loop(
    hash: string,
    change: SessionChange,
    start: { row: StoredSession | null; guess: boolean },
    steps: CasSteps,
  ): Promise<Applied | null> {
    const deadline = Date.now() + this.timeoutMs;
    let guess = start.guess;
    let current = start.row ?? (await steps.load());
    for (let attempt = 1; current; attempt++) {
      let stored: StoredSession | Stale | null;
      let json: string;
      try {
        const next = change.next(current.data);
        if (next instanceof WriteRefused) throw next;
        json = storedJson(next);
        stored = await steps.swap(current, next, json);
      } catch (error) {
        if (!(guess && error instanceof WriteRefused)) throw error;
        stored = null;
        json = '';
      }
      if (stored && !(stored instanceof Stale)) {
        this.remember(hash, stored, json);
        return { row: stored, previous: current.data, json };
      }
      if (Date.now() > deadline) throw steps.unavailable(`no write of session data after ${attempt} conflicting attempts`);
      // Another process wrote meanwhile: a random pause spreads the retries of several.
      if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 50)));
      guess = false;
      current = stored instanceof Stale ? stored.current : await steps.load();
    }
    this.forget(hash);
    return null;
  }
}
