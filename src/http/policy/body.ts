import type { IncomingMessage } from 'node:http';

/**
 * How much of a refused body is read and dropped before the connection
 * closes, and for how long at most (nginx's lingering close reads for up to
 * 30 s; a client that sends faster than 4 MiB in 2 s gets its answer, one
 * that sends more or slower is cut off and may see a reset instead).
 */
export const LINGER_BYTES = 4 * 1024 * 1024;
export const LINGER_MS = 2000;

/**
 * A body of unknown length (chunked), read up to `limit` bytes; null when it
 * is longer. The stream is left open (not destroyed), so that the caller can
 * still drain it before answering.
 */
export function readLimited(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: Buffer | null) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', reject);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) finish(null);
      else chunks.push(chunk);
    };
    const onEnd = () => finish(Buffer.concat(chunks));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', reject);
  });
}

/**
 * Reads and drops what is left of a request body, up to `maxBytes` or
 * `maxMs`, whichever comes first; resolves when the body has ended or a
 * bound is reached (the caller then closes the connection).
 */
export function drainBody(req: IncomingMessage, maxBytes = LINGER_BYTES, maxMs = LINGER_MS): Promise<void> {
  if (req.readableEnded || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let read = 0;
    const done = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', done);
      req.off('error', done);
      req.off('close', done);
      req.pause();
      resolve();
    };
    const onData = (chunk: Buffer) => {
      read += chunk.length;
      if (read > maxBytes) done();
    };
    const timer = setTimeout(done, maxMs);
    req.on('data', onData);
    req.once('end', done);
    req.once('error', done);
    req.once('close', done);
  });
}
