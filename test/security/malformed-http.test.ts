import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_ENTRY_POINTS, openEntry, rawHttp, statusOf } from './entry-points.js';

/** What must never reach a client: a stack trace, a file name, an exception's name. */
const INTERNALS = /\bat .+:\d+:\d+|TypeError|RangeError|node_modules|\/work\/|\.ts:\d+|Invalid URL/;

const mutation = JSON.stringify({ query: 'mutation { setSessionValue(key: "raw", value: 1) { exists } }' });

describe.each(HTTP_ENTRY_POINTS)('malformed HTTP through %s', (entry) => {
  let e: Awaited<ReturnType<typeof openEntry>>;
  beforeAll(async () => {
    e = await openEntry(entry);
  });
  afterAll(() => {
    e.logger.lines.length = 0;
  });

  const cases: [name: string, request: (host: string) => string, statuses: number[], logged: boolean][] = [
    ['Host: [', () => 'GET /graphql HTTP/1.1\r\nHost: [\r\n\r\n', [400], true],
    ['Host: a b', () => 'GET /health HTTP/1.1\r\nHost: a b\r\n\r\n', [400], true],
    ['Host with a port over 65535', () => 'GET /health HTTP/1.1\r\nHost: localhost:99999\r\n\r\n', [400], true],
    ['Host with userinfo', () => 'GET /health HTTP/1.1\r\nHost: user@evil.example\r\n\r\n', [400], true],
    ['Host with a path', () => 'GET /health HTTP/1.1\r\nHost: evil.example/graphql\r\n\r\n', [400], true],
    ['Host: [::::]', () => 'GET /health HTTP/1.1\r\nHost: [::::]\r\n\r\n', [400], true],
    ['OPTIONS *', (h) => `OPTIONS * HTTP/1.1\r\nHost: ${h}\r\n\r\n`, [204], false],
    ['GET * ', (h) => `GET * HTTP/1.1\r\nHost: ${h}\r\n\r\n`, [400], true],
    ['a target without a slash', (h) => `GET graphql HTTP/1.1\r\nHost: ${h}\r\n\r\n`, [400], true],
    ['an absolute-form target', (h) => `GET http://${h}/health HTTP/1.1\r\nHost: ${h}\r\n\r\n`, [200], false],
    ['an absolute-form target naming another host', () => 'GET http://other.example/health HTTP/1.1\r\nHost: x\r\n\r\n', [200], false],
    ['an absolute-form target with a bad authority', (h) => `GET http://[/graphql HTTP/1.1\r\nHost: ${h}\r\n\r\n`, [400], true],
    ['an absolute-form trailing slash', (h) => `GET http://${h}/graphql/ HTTP/1.1\r\nHost: ${h}\r\n\r\n`, [404], false],
    ['an authority-form target (CONNECT)', (h) => `CONNECT ${h} HTTP/1.1\r\nHost: ${h}\r\n\r\n`, [405], false],
    ['HTTP/1.0 without Host', () => 'GET /health HTTP/1.0\r\n\r\n', [200], false],
    ['an 8-bit byte in the target', (h) => `GET /gr\xe4phql HTTP/1.1\r\nHost: ${h}\r\n\r\n`, [400], true],
    ['a NUL in a header', (h) => `GET /health HTTP/1.1\r\nHost: ${h}\r\nX-A: a\x00b\r\n\r\n`, [400], true],
    ['a header without a colon', (h) => `GET /health HTTP/1.1\r\nHost: ${h}\r\nnonsense\r\n\r\n`, [400], true],
    ['Content-Length: abc', (h) => `POST /graphql HTTP/1.1\r\nHost: ${h}\r\nContent-Length: abc\r\n\r\n`, [400], true],
    [
      'Content-Length and Transfer-Encoding together (smuggling)',
      (h) =>
        `POST /graphql HTTP/1.1\r\nHost: ${h}\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      [400],
      true,
    ],
    [
      'a broken chunk size',
      (h) =>
        `POST /graphql HTTP/1.1\r\nHost: ${h}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n${mutation}\r\n0\r\n\r\n`,
      [400],
      true,
    ],
    ['a 20 KB header', (h) => `GET /health HTTP/1.1\r\nHost: ${h}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, [431], true],
    ['an unknown method', (h) => `BREW /graphql HTTP/1.1\r\nHost: ${h}\r\n\r\n`, [400, 405], false],
    // a request error: 200 under application/json, 400 under application/graphql-response+json (GraphQL over HTTP)
    [
      'a bad percent escape in the query',
      (h) => `GET /graphql?query=%E0%A4%A HTTP/1.1\r\nHost: ${h}\r\nAccept: application/json\r\n\r\n`,
      [200],
      false,
    ],
    [
      'a bad percent escape in the query (graphql-response+json)',
      (h) => `GET /graphql?query=%E0%A4%A HTTP/1.1\r\nHost: ${h}\r\nAccept: application/graphql-response+json\r\n\r\n`,
      [400],
      false,
    ],
  ];

  it.each(cases)('%s: no 500, no internals', async (_name, build, statuses, logged) => {
    e.logger.lines.length = 0;
    const raw = await rawHttp(e.port, build(e.host));
    expect(statuses).toContain(statusOf(raw));
    expect(raw).not.toMatch(INTERNALS);
    if (logged) expect(e.logger.lines.some((l) => l.level === 'warn')).toBe(true);
    expect(e.logger.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('a malformed request writes nothing', async () => {
    const c = e.client();
    await c.data('{ session { exists } }');
    await c.data('mutation { setSessionValue(key: "victim", value: 1) { exists } }');
    const cookie = `sessionid=${c.sessionCookie}`;
    for (const host of ['[', 'a b', 'localhost:99999']) {
      const raw = await rawHttp(
        e.port,
        `POST /graphql HTTP/1.1\r\nHost: ${host}\r\nCookie: ${cookie}\r\nContent-Type: application/json\r\nContent-Length: ${mutation.length}\r\n\r\n${mutation}`,
      );
      expect(statusOf(raw)).toBe(400);
    }
    const { session } = await c.data<{ session: { has: boolean } }>('{ session { has(key: "raw") } }');
    expect(session.has).toBe(false);
  });

  it('random request targets and Host values never get a 5xx or internals (fuzz)', async () => {
    const bytes = fc.constantFrom(...'/?#%[]:@!$&\'()*+,;= \t\\"<>{}|^`~.-_aZ9\x00\x7f\xe4'.split(''));
    const text = fc.array(bytes, { maxLength: 24 }).map((a) => a.join(''));
    await fc.assert(
      fc.asyncProperty(text, text, fc.constantFrom('GET', 'POST', 'OPTIONS', 'HEAD'), async (target, host, method) => {
        const body = method === 'POST' ? mutation : '';
        const raw = await rawHttp(
          e.port,
          `${method} ${target} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        );
        const status = statusOf(raw);
        expect(status === 0 || status < 500, `${status} for ${JSON.stringify([method, target, host])}`).toBe(true);
        expect(raw).not.toMatch(INTERNALS);
      }),
      { numRuns: 300 },
    );
    expect(e.logger.lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});
