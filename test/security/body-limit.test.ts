import { execFileSync, spawn } from 'node:child_process';
import { request } from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { HTTP_ENTRY_POINTS, openEntry } from './entry-points.js';

interface Outcome {
  status: number | string;
  body: string;
  continued?: boolean;
}

/** http.request with a body written in `pieces` chunks (chunked when `chunked`), as Node clients send. */
function post(
  port: number,
  body: Buffer,
  options: { chunked?: boolean; pieces?: number; headers?: Record<string, string> } = {},
): Promise<Outcome> {
  return new Promise((resolve) => {
    let continued = false;
    const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
    if (!options.chunked) headers['content-length'] = String(body.length);
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/graphql', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, continued }));
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ status: error.code ?? 'error', body: text, continued }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ status: error.code ?? 'error', body: '', continued }));
    if (options.headers?.expect) {
      req.on('continue', () => {
        continued = true;
        req.end(body);
      });
      req.flushHeaders();
      return;
    }
    const pieces = options.pieces ?? 1;
    const size = Math.ceil(body.length / pieces);
    for (let i = 0; i < pieces; i++) req.write(body.subarray(i * size, (i + 1) * size));
    req.end();
  });
}

const oversized = (bytes: number) =>
  Buffer.from(
    JSON.stringify({
      query: 'mutation($v: JSON) { setSessionValue(key: "big", value: $v) { exists } }',
      variables: { v: 'x'.repeat(bytes) },
    }),
  );

/**
 * A client in another process. In this process the client shares the
 * server's event loop, which paces it so that the server never closes while
 * it is still sending: tests here passed even when the server closed right
 * after the headers and clients in other processes mostly got EPIPE.
 */
function inChild(command: string, args: string[], stdin?: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill(), 20_000);
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve(JSON.stringify({ code, signal, out, err: err.slice(0, 500) }));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(stdin);
  });
}

/**
 * Node's fetch in a child process: `tries` POSTs of oversized(sizes[i % n]),
 * `concurrency` at a time; prints each outcome (413, or the error code).
 */
const FETCH_CLIENT = `
const [url, tries, concurrency, ...sizes] = process.argv.slice(1);
const bodies = sizes.map((n) => JSON.stringify({
  query: 'mutation($v: JSON) { setSessionValue(key: "big", value: $v) { exists } }',
  variables: { v: 'x'.repeat(Number(n)) },
}));
const outcomes = [];
let next = 0;
async function worker() {
  while (next < Number(tries)) {
    const body = bodies[next++ % bodies.length];
    try {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const text = await r.text();
      outcomes.push(/PAYLOAD_TOO_LARGE/.test(text) ? r.status : r.status + ' ' + text.slice(0, 100));
    } catch (error) {
      outcomes.push(String(error?.cause?.code ?? error?.code ?? error));
    }
  }
}
Promise.all(Array.from({ length: Number(concurrency) }, worker)).then(() => console.log(JSON.stringify(outcomes)));
`;

async function fetchInChild(url: string, tries: number, concurrency: number, sizes: number[]): Promise<(number | string)[]> {
  const run = JSON.parse(
    await inChild(process.execPath, ['-e', FETCH_CLIENT, url, String(tries), String(concurrency), ...sizes.map(String)]),
  );
  if (run.code !== 0) throw new Error(`fetch client: ${JSON.stringify(run)}`);
  return JSON.parse(run.out);
}

const hasCurl = (() => {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** One curl POST of `body` (from stdin); its status, or `exit N` when curl failed (55: could not send). */
async function curlPost(url: string, body: Buffer, extra: string[] = []): Promise<number | string> {
  const args = [
    '-sS',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '-H',
    'content-type: application/json',
    ...extra,
    '--data-binary',
    '@-',
    url,
  ];
  const run = JSON.parse(await inChild('curl', args, body));
  return run.code === 0 ? Number(run.out) : `exit ${run.code ?? run.signal} ${run.err.trim()}`;
}

describe.each(HTTP_ENTRY_POINTS)('oversized bodies through %s', (entry) => {
  let e: Awaited<ReturnType<typeof openEntry>>;
  beforeAll(async () => {
    e = await openEntry(entry);
  });

  it.each([300_000, 1_000_000, 3_000_000])('fetch reads the 413 for a %d-byte body, every time', async (bytes) => {
    const body = oversized(bytes);
    const outcomes: (number | string)[] = [];
    for (let i = 0; i < 10; i++) {
      try {
        const r = await fetch(`${e.app.baseUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const json = await r.json();
        outcomes.push(json.errors?.[0]?.extensions?.code === 'PAYLOAD_TOO_LARGE' ? r.status : `${r.status} ${JSON.stringify(json)}`);
      } catch (error) {
        outcomes.push(String((error as { cause?: { code?: string } }).cause?.code ?? error));
      }
    }
    expect(outcomes).toEqual(Array(10).fill(413));
  });

  // Issue 9. When the server closed right after the headers, a client in
  // another process got EPIPE (fetch) or exit 55 (curl) instead of the 413,
  // least often at 3 MB and most at 4 MB, more than its socket buffers hold,
  // so that it is still writing when the connection closes: about half the
  // 4 MB tries even on a busy machine, where 3 MB mostly got through. The
  // bodies stay under the 4 MiB drainBody reads (LINGER_BYTES).
  it('fetch in another process reads the 413 for 3.5 and 4 MB bodies, 24 tries of 24', async () => {
    const outcomes = await fetchInChild(`${e.app.baseUrl}/graphql`, 24, 2, [3_500_000, 4_000_000]);
    expect(outcomes).toEqual(Array(24).fill(413));
  });

  it.skipIf(!hasCurl)('curl in another process reads the 413 for a 4 MB body, with and without Expect: 100-continue', async () => {
    const body = oversized(4_000_000);
    const url = `${e.app.baseUrl}/graphql`;
    const outcomes: (number | string)[] = [];
    // curl sends Expect: 100-continue for a body this large; `Expect:` turns it off.
    for (const extra of [[], ['-H', 'Expect:']]) {
      await Promise.all(
        [0, 1].map(async () => {
          for (let i = 0; i < 2; i++) outcomes.push(await curlPost(url, body, extra));
        }),
      );
    }
    expect(outcomes).toEqual(Array(8).fill(413));
  });

  it.each([
    ['Content-Length, one write', {}],
    ['Content-Length, 64 writes', { pieces: 64 }],
    ['chunked, 64 writes', { chunked: true, pieces: 64 }],
  ] as const)('http.request reads the 413 (%s)', async (_name, options) => {
    const outcomes: (number | string)[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await post(e.port, oversized(1_000_000), options);
      outcomes.push(/PAYLOAD_TOO_LARGE/.test(r.body) ? r.status : `${r.status} ${r.body.slice(0, 100)}`);
    }
    expect(outcomes).toEqual(Array(10).fill(413));
  });

  it('Expect: 100-continue over the limit gets the 413 without being asked for the body', async () => {
    const r = await post(e.port, oversized(1_000_000), { headers: { expect: '100-continue' } });
    expect(r.status).toBe(413);
    expect(r.continued).toBe(false);
    const ok = await post(e.port, Buffer.from(JSON.stringify({ query: '{ __typename }' })), { headers: { expect: '100-continue' } });
    expect(ok.status).toBe(200);
    expect(ok.continued).toBe(true);
  });

  it('nothing is written and the server keeps serving', async () => {
    const c = e.client();
    expect((await c.data('{ session { exists } }')).session.exists).toBe(false);
    expect(e.statements.filter((s) => /insert|update/i.test(s) && /big/.test(s))).toEqual([]);
  });
});

// A library user may mount Yoga's fetch handler without our node:http
// handler in front: REQUEST_MAX_BYTES holds there too (Yoga's default is 25 MB).
describe('oversized bodies through yoga.fetch', () => {
  it('a body over REQUEST_MAX_BYTES is refused with 413 and nothing runs', async () => {
    const e = await openEntry('yoga.fetch', { REQUEST_MAX_BYTES: '1024' });
    const r = await e.postQuery(`mutation { setSessionValue(key: "big", value: 1) { exists } } #${'x'.repeat(2000)}`);
    expect(r.status).toBe(413);
    expect(r.headers['set-cookie']).toBeUndefined();
  });
});
