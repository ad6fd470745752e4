import { describe, expect, it } from 'vitest';
import { setup } from '../helpers/app.js';
import { rawHttp, statusOf } from '../security/entry-points.js';

const mutation = 'mutation { setSessionValue(key: "csrf", value: "pwned") { exists } }';

describe('HTTP: methods, content types, CSRF and CORS', async () => {
  const { app, client } = await setup({ CORS_ORIGINS: 'https://shop.example, https://admin.example' });
  const post = (headers: Record<string, string>, body: BodyInit) =>
    app.fetch('http://localhost/graphql', { method: 'POST', headers, body });

  it('GET runs queries but refuses mutations (405)', async () => {
    const q = await app.fetch(`http://localhost/graphql?query=${encodeURIComponent('{ session { exists } }')}`, {
      headers: { accept: 'application/json' },
    });
    expect(q.status).toBe(200);
    expect((await q.json()).data.session.exists).toBe(false);
    const m = await app.fetch(`http://localhost/graphql?query=${encodeURIComponent(mutation)}`, {
      headers: { accept: 'application/json' },
    });
    expect(m.status).toBe(405);
    expect(m.headers.get('set-cookie')).toBeNull();
  });

  it.each([
    ['application/x-www-form-urlencoded', `query=${encodeURIComponent(mutation)}`],
    ['text/plain', JSON.stringify({ query: mutation })],
    ['text/plain;charset=UTF-8', JSON.stringify({ query: mutation })],
    [
      'multipart/form-data; boundary=X',
      `--X\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${JSON.stringify({ query: mutation })}\r\n--X--\r\n`,
    ],
  ])('a cross-site simple request (%s) runs no mutation', async (type, body) => {
    const r = await post({ 'content-type': type, origin: 'https://evil.example' }, body);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.headers.get('set-cookie')).toBeNull();
    const sameSite = await post({ 'content-type': type }, body);
    expect(sameSite.status).toBe(415);
    expect(sameSite.headers.get('set-cookie')).toBeNull();
  });

  it('a plain JSON POST from a frontend works without special headers', async () => {
    const r = await post({ 'content-type': 'application/json' }, JSON.stringify({ query: mutation }));
    expect(r.status).toBe(200);
    expect(r.headers.get('set-cookie')).toMatch(/^sessionid=/);
  });

  it('an allowed origin gets CORS with credentials, its own origin echoed, never *', async () => {
    const preflight = await app.fetch('http://localhost/graphql', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    const r = await post({ 'content-type': 'application/json', origin: 'https://admin.example' }, JSON.stringify({ query: mutation }));
    expect(r.status).toBe(200);
    expect(r.headers.get('access-control-allow-origin')).toBe('https://admin.example');
    expect(r.headers.get('access-control-allow-credentials')).toBe('true');
    expect(r.headers.get('vary')).toMatch(/Origin/);
  });

  it('an unknown origin gets no CORS headers and its mutations are refused', async () => {
    const preflight = await app.fetch('http://localhost/graphql', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
    const r = await post({ 'content-type': 'application/json', origin: 'https://evil.example' }, JSON.stringify({ query: mutation }));
    expect(r.status).toBe(403);
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    expect(r.headers.get('set-cookie')).toBeNull();
  });

  it('same-origin requests with an Origin header (GraphiQL, the demo page) work', async () => {
    const r = await post({ 'content-type': 'application/json', origin: app.baseUrl }, JSON.stringify({ query: mutation }));
    expect(r.status).toBe(200);
    // the same origin also when the request is not one the fast path answers
    const form = await post(
      { 'content-type': 'application/json', origin: app.baseUrl, accept: 'application/graphql-response+json' },
      JSON.stringify({ query: mutation }),
    );
    expect(form.status).toBe(200);
  });

  it.each([
    ['bad JSON', { 'content-type': 'application/json' }, '{"query": ', 400],
    ['no query', { 'content-type': 'application/json' }, '{"variables": {}}', 400],
    ['query not a string', { 'content-type': 'application/json' }, '{"query": 42}', 400],
    ['a syntax error', { 'content-type': 'application/json' }, '{"query": "{ session { "}', 400],
  ])('malformed: %s gets %d, not 500', async (_name, headers, body, status) => {
    const r = await post({ ...headers, accept: 'application/graphql-response+json' }, body);
    expect(r.status).toBe(status);
    expect(r.headers.get('set-cookie')).toBeNull();
  });

  it('an unknown field or a wrong argument type is a validation error, never a 500', async () => {
    const c = client();
    for (const query of [
      '{ session { nope } }',
      'mutation { addToCart(sku: 5) { isEmpty } }',
      'mutation { addToCart(sku: "a", quantity: 99999999999) { isEmpty } }',
    ]) {
      const r = await c.gql(query, undefined, { accept: 'application/graphql-response+json' });
      expect(r.status).toBe(400);
      expect(r.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    }
  });

  it('PUT and DELETE get 405', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const r = await app.fetch('http://localhost/graphql', { method, headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(r.status).toBe(405);
    }
  });

  it('GraphiQL is served to browsers at GET /graphql, from this server (no CDN)', async () => {
    const r = await app.fetch('http://localhost/graphql', { headers: { accept: 'text/html' } });
    expect(r.status).toBe(200);
    const html = await r.text();
    expect(html).toMatch(/graphiql/i);
    expect(html).not.toMatch(/<script[^>]+src="https?:\/\//);
    expect(html).not.toMatch(/<link[^>]+href="https?:\/\//);
  });

  it('/health answers 200 and /ready 200 once migrations are applied', async () => {
    expect((await app.fetch('http://localhost/health')).status).toBe(200);
    expect((await app.fetch('http://localhost/ready')).status).toBe(200);
  });
});

// Every kind of answer carries the request's id (the fast path writes it in its head, the others before theirs).
describe('x-request-id on every answer', async () => {
  const { app } = await setup({ REQUEST_MAX_BYTES: '2048' });
  const query = JSON.stringify({ query: '{ session { exists } }' });
  const json = { 'content-type': 'application/json', accept: 'application/json' };
  const requests: [string, string, RequestInit, number][] = [
    ['a query (POST)', '/graphql', { method: 'POST', headers: json, body: query }, 200],
    ['a query (GET)', `/graphql?query=${encodeURIComponent('{ __typename }')}`, { headers: { accept: 'application/json' } }, 200],
    [
      "Apollo Client's query (its Accept, operationName, __typename)",
      '/graphql',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json,application/json;q=0.9' },
        body: JSON.stringify({ operationName: 'S', variables: {}, query: 'query S { session { exists __typename } }' }),
      },
      200,
    ],
    [
      "urql's GET (its Accept lists text/event-stream)",
      `/graphql?query=${encodeURIComponent('query S { session { exists __typename } }')}&operationName=S`,
      {
        headers: {
          accept: 'application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed',
        },
      },
      200,
    ],
    [
      'the path with a trailing slash',
      `/graphql/?query=${encodeURIComponent('{ __typename }')}`,
      { headers: { accept: 'application/json' } },
      404,
    ],
    [
      'a syntax error',
      '/graphql',
      {
        method: 'POST',
        headers: { ...json, accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query: '{ session {' }),
      },
      400,
    ],
    ['a body that is not JSON', '/graphql', { method: 'POST', headers: json, body: '{"query":' }, 400],
    ['GraphiQL', '/graphql', { headers: { accept: 'text/html' } }, 200],
    [
      'a subscription without an event stream (handed to Yoga)',
      '/graphql',
      { method: 'POST', headers: json, body: JSON.stringify({ query: 'subscription { sessionChanged { exists } }' }) },
      406,
    ],
    [
      'a cross-origin preflight',
      '/graphql',
      { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } },
      403,
    ],
    ['an unknown path', '/nope', {}, 404],
    [
      'a cross-site form post',
      '/graphql',
      { method: 'POST', headers: { 'content-type': 'text/plain', origin: 'https://evil.example' }, body: query },
      403,
    ],
    [
      'a body over REQUEST_MAX_BYTES',
      '/graphql',
      { method: 'POST', headers: json, body: JSON.stringify({ query: `{ __typename }${' '.repeat(4096)}` }) },
      413,
    ],
    ['/ready', '/ready', {}, 200],
  ];

  it.each(requests)('%s: a fresh UUID, or the one the client gave', async (_, path, init, status) => {
    const fresh = await app.fetch(`http://localhost${path}`, init);
    expect(fresh.status).toBe(status);
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const given = await app.fetch(`http://localhost${path}`, { ...init, headers: { ...init.headers, 'x-request-id': 'trace-7.a:b' } });
    expect(given.headers.get('x-request-id')).toBe('trace-7.a:b');
    // Not an id: a fresh one instead of the client's bytes.
    const odd = await app.fetch(`http://localhost${path}`, { ...init, headers: { ...init.headers, 'x-request-id': 'a b<script>' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('OPTIONS * (the server itself, which fetch cannot ask) too', async () => {
    const raw = await rawHttp(
      Number(new URL(app.baseUrl).port),
      'OPTIONS * HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: star-1\r\nConnection: close\r\n\r\n',
    );
    expect(statusOf(raw)).toBe(204);
    expect(raw).toMatch(/\r\nx-request-id: star-1\r\n/i);
  });
});
