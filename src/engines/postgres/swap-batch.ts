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
 * Group commit. The compare-and-set writes asked for during one turn of the
 * event loop go to PostgreSQL as one statement (one round trip, one commit,
 * one WAL flush) instead of one each: under load many requests reach their
 * write in the same turn. Each write keeps its own checks (version, expiry,
 * deadline, size), so the outcome of each is what its own statement would
 * have given; a write alone in its turn is its own statement, as before. A
 * batch holds one write per session (this process's writes to one session
 * take turns anyway). A batch that fails for any reason but an outage is
 * retried one write per statement, so one write's error is its own.
 */
export class SwapBatch {
  private waiting: Waiting[] = [];
  private hashes = new Set<string>();
  private bytes = 0;

  constructor(
    private readonly onError: ((error: unknown, writes: number) => void) | undefined,
    private readonly statements: SwapStatements,
  ) {}

  add(hash: string, version: number, json: string, nowMs: number, deadline: number): Promise<Row> {
    return new Promise<Row>((resolve, reject) => {
      if (this.hashes.has(hash) || this.waiting.length >= MAX_ROWS || this.bytes + json.length > MAX_BYTES) this.send();
      if (this.waiting.length === 0) setImmediate(() => this.send());
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
    this.statements.many(writes).then(
      (rows) => {
        for (const w of writes) w.resolve(rows.get(w.hash));
      },
      (error) => {
        if (error instanceof DatabaseUnavailable) for (const w of writes) w.reject(error);
        else {
          this.onError?.(error, writes.length);
          for (const w of writes) this.alone(w);
        }
      },
    );
  }

  private alone(write: Waiting): void {
    this.statements.one(write).then(write.resolve, write.reject);
  }
}
