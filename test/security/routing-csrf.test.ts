import { describe, expect, it } from 'vitest';
import { ENTRY_POINTS, type EntryPoint, openEntry } from './entry-points.js';

// Spellings of the endpoint an attacker (or a proxy) may produce. Only
// `/graphql`, with or without a query string, is the endpoint; on a socket
// every other spelling is 404. Through yoga.fetch the URL is normalised
// first (`/./graphql` is `/graphql`), and the policies see the same path.
const PATHS = [
  '/graphql',
  '/graphql?',
  '/graphql?x=1',
  '/graphql?query=%7B__typename%7D',
  '/graphql/',
  '/graphql/?x=1',
  '//graphql',
  '///graphql',
  '/GraphQL',
  '/GRAPHQL',
  '/./graphql',
  '/x/../graphql',
  '/graphql/.',
  '/graphql%2F',
  '/graphql%2f',
  '/%67raphql',
  '/graphql;',
  '/graphql;x=1',
  '/graphql%3B',
  '/graphql%00',
  '/graphql#x',
  '/x/graphql',
  '/health/../graphql',
  '/graphql.json',
];

const mutation = (key: string) => `mutation { setSessionValue(key: "${key}", value: 1) { exists } }`;

// What browsers and attackers post: forms, text/plain (no preflight), multipart, raw GraphQL, JSON.
const BODIES: Record<string, (query: string) => string> = {
  'application/json': (query) => JSON.stringify({ query }),
  'application/json; charset=utf-8': (query) => JSON.stringify({ query }),
  'APPLICATION/JSON': (query) => JSON.stringify({ query }),
  'text/plain': (query) => JSON.stringify({ query }),
  'text/plain;charset=UTF-8': (query) => JSON.stringify({ query }),
  'application/x-www-form-urlencoded': (query) => `query=${encodeURIComponent(query)}`,
  'multipart/form-data; boundary=X': (query) =>
    `--X\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${JSON.stringify({ query })}\r\n--X--\r\n`,
  'application/graphql': (query) => query,
  'application/graphql-response+json': (query) => JSON.stringify({ query }),
};

type OriginKind = 'none' | 'same' | 'allowed' | 'foreign' | 'opaque' | 'lookalike';
const ORIGIN_KINDS: OriginKind[] = ['none', 'same', 'allowed', 'foreign', 'opaque', 'lookalike'];

function originHeader(kind: OriginKind, host: string): Record<string, string> {
  const value = {
    none: undefined,
    same: `http://${host}`,
    allowed: 'https://shop.example',
    foreign: 'https://evil.example',
    opaque: 'null',
    lookalike: `http://${host}.evil.example`,
  }[kind];
  return value === undefined ? {} : { origin: value };
}

/** Where `target` lands: the endpoint or not, as this entry point resolves paths. */
function isEndpoint(entry: EntryPoint, target: string): boolean {
  if (entry === 'yoga.fetch') return new URL(target, 'http://localhost').pathname === '/graphql';
  return target.split('?')[0] === '/graphql';
}

describe.each(ENTRY_POINTS)('routing and CSRF through %s', (entry) => {
  it('no write happens without the CSRF conditions, on any spelling of the endpoint', async () => {
    const e = await openEntry(entry, { CORS_ORIGINS: 'https://shop.example' });
    const victim = e.client();
    await victim.data(mutation('victim'));
    const cookie = `sessionid=${victim.sessionCookie}`;

    // May write: the CSRF conditions hold. Must write: they hold, in the form every client sends.
    const mayWrite = new Set<string>();
    const mustWrite: string[] = [];
    const wrongStatus: string[] = [];
    let n = 0;
    for (const target of PATHS) {
      for (const [type, body] of Object.entries(BODIES)) {
        for (const kind of ORIGIN_KINDS) {
          const key = `k${n++}`;
          const answer = await e.send({
            method: 'POST',
            target,
            headers: { cookie, 'content-type': type, ...originHeader(kind, e.host) },
            body: body(mutation(key)),
          });
          // The CSRF conditions: the endpoint, a JSON body, no foreign or opaque Origin.
          const json = type.split(';')[0]!.toLowerCase() === 'application/json';
          if (isEndpoint(entry, target) && json && ['none', 'same', 'allowed'].includes(kind)) {
            mayWrite.add(key);
            if (type === 'application/json') mustWrite.push(key);
          } else if (answer.status < 400 || answer.status >= 500) wrongStatus.push(`${answer.status} POST ${target} ${type} ${kind}`);
          if (entry !== 'yoga.fetch' && !isEndpoint(entry, target) && answer.status !== 404) {
            wrongStatus.push(`${answer.status} (not 404) POST ${target}`);
          }
        }
      }
      // GET never writes, whatever the Origin.
      for (const kind of ORIGIN_KINDS) {
        const key = `k${n++}`;
        const query = `${target.includes('?') ? '&' : '?'}query=${encodeURIComponent(mutation(key))}`;
        const answer = await e.send({
          method: 'GET',
          target: target.replace(/#.*/, '') + query,
          headers: { cookie, ...originHeader(kind, e.host) },
        });
        // (where the target already has a query, that one runs: no write either way)
        if (!target.includes('query=') && (answer.status < 400 || answer.status >= 500))
          wrongStatus.push(`${answer.status} GET ${target} ${kind}`);
      }
    }
    const { session } = await victim.data<{ session: { keys: string[] } }>('{ session { keys } }');
    const written = session.keys.filter((k) => k !== 'victim');
    expect(written.filter((k) => !mayWrite.has(k))).toEqual([]);
    expect(mustWrite.filter((k) => !written.includes(k))).toEqual([]);
    expect(wrongStatus).toEqual([]);
    expect(mustWrite.length).toBeGreaterThan(0);
  });

  it("a trailing slash is not a way around the CSRF guard (the review's probe)", async () => {
    const e = await openEntry(entry);
    const victim = e.client();
    await victim.data(mutation('victim'));
    for (const target of ['/graphql/', '/graphql/?x=1']) {
      const answer = await e.send({
        method: 'POST',
        target,
        headers: {
          cookie: `sessionid=${victim.sessionCookie}`,
          origin: 'https://evil.example',
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: `query=${encodeURIComponent(mutation('pwned'))}`,
      });
      expect(answer.status).toBeGreaterThanOrEqual(400);
    }
    const { session } = await victim.data<{ session: { has: boolean } }>('{ session { has(key: "pwned") } }');
    expect(session.has).toBe(false);
  });
});
