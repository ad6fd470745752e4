import { DatabaseUnavailable } from './unavailable.js';

/** One compare-and-set: write `json` to `hash` if it is alive (by `nowMs`) at `version`, before `deadline` (real time). */
export interface SwapWrite {
  hash: string;
  version: number;
  json: string;
  nowMs: number;
  deadline: number;
}

type Row = Record<string, unknown> | undefined;

export interface SwapStatements {
  /** One write, one statement: its row (undefined when nothing was written and nothing was said). */
  one(write: SwapWrite): Promise<Row>;
  /** Several writes (distinct sessions), one statement: each one's row by its hash. */
  many(writes: readonly SwapWrite[]): Promise<Map<string, Row>>;
}

interface Waiting extends SwapWrite {
  resolve(row: Row): void;
  reject(error: unknown): void;
}

/** Rows per statement, and the JSON bytes of one statement's data. */
const MAX_ROWS = 64;
const MAX_BYTES = 1024 * 1024;
/**
 * A statement in flight longer than this no longer holds the next group
 * back: one slow statement (a row lock held elsewhere, a stalled connection)
 * delays the writes behind it by this much at most, not by its own time.
 */
export const HOLD_MS = 20;
/**
 * Only a group of at least this many writes holds the next one back. A
 * smaller one says there are few writers: the next write would wait for
 * a statement's round trip to share it with hardly anyone (at 4
 * connections, holding behind every group cost 23 % of the writes per
 * second; docs/decisions/0028).
 */
export const HOLD_FROM = 8;

/**
 * Group commit. The compare-and-set writes asked for during one turn of the
 * event loop go to PostgreSQL as one statement (one round trip, one commit,
 * one WAL flush) instead of one each: under load many requests reach their
 * write in the same turn. Each write keeps its own checks (version, expiry,
 * deadline, size), so the outcome of each is what its own statement would
 * have given; a write alone in its turn is its own statement, as before. A
 * batch holds one write per session (this process's writes to one session
 * take turns anyway). A batch that fails for any reason but an outage is
 * retried one write per statement, so one write's error is its own.
 *
 * Under load, one group at a time: while a group of HOLD_FROM writes or
 * more is in flight, the writes of the turns that follow wait and go
 * together when it returns (or after HOLD_MS, should it be slow; a group
 * that fills up meanwhile goes at once, as any full group does). Fewer,
 * larger groups cost PostgreSQL and this process less per write. Behind a
 * smaller group, or none, a write goes at the end of its turn, as before
 * (docs/decisions/0028).
 */
export class SwapBatch {
  private waiting: Waiting[] = [];
  private hashes = new Set<string>();
  private bytes = 0;
  /** Groups of HOLD_FROM writes or more in flight for less than HOLD_MS: while there is one, the next group waits. */
  private holding = 0;
  /** A send at the end of this turn is due (setImmediate). */
  private due = false;

  constructor(
    private readonly onError: ((error: unknown, writes: number) => void) | undefined,
    private readonly statements: SwapStatements,
  ) {}

  add(hash: string, version: number, json: string, nowMs: number, deadline: number): Promise<Row> {
    return new Promise<Row>((resolve, reject) => {
      if (this.hashes.has(hash) || this.waiting.length >= MAX_ROWS || this.bytes + json.length > MAX_BYTES) this.send();
      if (this.waiting.length === 0 && !this.due) {
        this.due = true;
        setImmediate(() => {
          this.due = false;
          if (this.holding === 0) this.send();
        });
      }
      this.waiting.push({ hash, version, json, nowMs, deadline, resolve, reject });
      this.hashes.add(hash);
      this.bytes += json.length;
    });
  }

  private send(): void {
    const writes = this.waiting;
    if (writes.length === 0) return;
    this.waiting = [];
    this.hashes = new Set();
    this.bytes = 0;
    if (writes.length === 1) {
      this.alone(writes[0]!);
      return;
    }
    const release = writes.length >= HOLD_FROM ? this.hold() : undefined;
    this.statements.many(writes).then(
      (rows) => {
        release?.();
        for (const w of writes) w.resolve(rows.get(w.hash));
      },
      (error) => {
        release?.();
        if (error instanceof DatabaseUnavailable) for (const w of writes) w.reject(error);
        else {
          this.onError?.(error, writes.length);
          for (const w of writes) this.alone(w);
        }
      },
    );
  }

  /**
   * Holds the next group back until the group just sent returns, or for
   * HOLD_MS at most. Returns the release, to call when it returns; the group
   * that gathered meanwhile is then sent.
   */
  private hold(): () => void {
    this.holding++;
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      clearTimeout(timer);
      if (--this.holding === 0 && !this.due) this.send();
    };
    // Not a reason to keep the process alive: the statement's socket is.
    const timer = setTimeout(release, HOLD_MS).unref();
    return release;
  }

  private alone(write: Waiting): void {
    this.statements.one(write).then(write.resolve, write.reject);
  }
}
