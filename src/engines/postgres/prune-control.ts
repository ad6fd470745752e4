import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { YogaLogger } from 'graphql-yoga';

/** sun_path holds 108 bytes on Linux, 104 on macOS and the BSDs, with the final NUL. */
export const SOCKET_PATH_MAX_BYTES = process.platform === 'linux' ? 107 : 103;

/** The socket beside the PGlite folder of SESSIONQL_DATA_DIR. */
export function pruneSocketPath(dataDir: string): string {
  return path.resolve(dataDir, 'pglite.sock');
}

export interface PruneControlOptions {
  socketPath: string;
  /** Deletes expired sessions, `batchSize` rows per statement: how many it deleted (SessionStore.prune). */
  prune(batchSize: number): Promise<number>;
  logger: Pick<YogaLogger, 'warn' | 'error'>;
}

/** The batch when a request names none, as `npm run sessions:clear`. */
const DEFAULT_BATCH = 10_000;

/**
 * The local control endpoint of a server on PGlite. Only one process may open
 * a PGlite folder (src/engines/postgres/folder-lock.ts), so `npm run sessions:clear` asks
 * the running server to prune instead of opening the folder a second time.
 * Protocol: HTTP on the Unix socket `<dataDir>/pglite.sock` (mode 0600, so
 * only the server's user can connect): `POST /prune?batch=N` answers 200
 * `{"deleted": n, "pid": p}`; anything else 404.
 */
export function createPruneControl(options: PruneControlOptions) {
  const { socketPath, logger } = options;
  let server: http.Server | null = null;
  const inFlight = new Set<Promise<void>>();

  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume();
    const url = new URL(req.url ?? '/', 'http://control');
    if (req.method !== 'POST' || url.pathname !== '/prune') return send(res, 404, { error: 'not found' });
    const batch = url.searchParams.get('batch') ?? String(DEFAULT_BATCH);
    if (!/^\d{1,10}$/.test(batch) || Number(batch) < 1 || Number(batch) > 2 ** 31 - 1) {
      return send(res, 400, { error: 'batch must be a whole number from 1 to 2147483647' });
    }
    const work = options.prune(Number(batch)).then(
      (deleted) => send(res, 200, { deleted, pid: process.pid }),
      (error) => {
        logger.error(error);
        send(res, 500, { error: 'pruning failed: see the server log' });
      },
    );
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };

  return {
    /** Starts listening; false (with a warning) when it cannot, which leaves the server running without it. */
    async listen(): Promise<boolean> {
      if (Buffer.byteLength(socketPath) > SOCKET_PATH_MAX_BYTES) {
        logger.warn(
          `${socketPath} is longer than a Unix socket path may be (${SOCKET_PATH_MAX_BYTES} bytes): npm run sessions:clear cannot reach this server; use a shorter SESSIONQL_DATA_DIR`,
        );
        return false;
      }
      try {
        // We hold the folder lock, so a socket file here is a previous run's.
        if (lstatSync(socketPath).isSocket()) unlinkSync(socketPath);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      const candidate = http.createServer(handle);
      try {
        await new Promise<void>((resolve, reject) => {
          candidate.once('error', reject);
          // The socket is created with mode 0600 (bind(2) applies the umask); listening is synchronous for a path.
          const umask = process.umask(0o177);
          try {
            candidate.listen(socketPath, resolve);
          } finally {
            process.umask(umask);
          }
        });
        chmodSync(socketPath, 0o600);
      } catch (error) {
        candidate.close();
        logger.warn(`cannot listen on ${socketPath} (${(error as Error).message}): npm run sessions:clear cannot reach this server`);
        return false;
      }
      server = candidate;
      return true;
    },
    /** Stops listening (the socket file goes with it), lets a prune in progress answer, then closes. */
    async close(): Promise<void> {
      const closing = server;
      server = null;
      if (!closing) return;
      const closed = new Promise<void>((resolve) => closing.close(() => resolve()));
      closing.closeIdleConnections();
      await Promise.all(inFlight);
      closing.closeAllConnections();
      await closed;
    },
  };
}

function send(res: http.ServerResponse, status: number, body: Record<string, unknown>): void {
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify(body));
}

/** What the server answered to a prune request. */
export interface PruneAnswer {
  deleted: number;
  pid: number;
}

/**
 * Asks the server listening on `socketPath` to prune (sessions:clear). While
 * no one listens there yet (a server still migrating), it tries again for
 * `waitMs` (default 5000).
 */
export async function requestPrune(socketPath: string, batchSize: number, waitMs = 5000): Promise<PruneAnswer> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await postPrune(socketPath, batchSize);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ECONNREFUSED') || Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function postPrune(socketPath: string, batchSize: number): Promise<PruneAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method: 'POST', path: `/prune?batch=${batchSize}`, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('error', reject);
      res.on('end', () => {
        let body: Partial<PruneAnswer> & { error?: string };
        try {
          body = JSON.parse(text);
        } catch {
          return reject(new Error(`the server answered ${res.statusCode} with no JSON`));
        }
        if (res.statusCode !== 200 || typeof body.deleted !== 'number') {
          return reject(new Error(`the server answered ${res.statusCode}: ${body.error ?? text}`));
        }
        resolve({ deleted: body.deleted, pid: Number(body.pid) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}
