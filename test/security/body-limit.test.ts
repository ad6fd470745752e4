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
