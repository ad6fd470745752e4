import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { RequestLog } from '../../src/server/logger.js';
import { setup } from '../helpers/app.js';

const TOKEN = 'metrics-token-0123456789abcdef';

function counter(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('/metrics', () => {
  it('answers 404 when METRICS_TOKEN is unset', async () => {
    const { app } = await setup();
    expect((await app.fetch('http://localhost/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
  });

  it('answers 401 without the bearer token or with a wrong one', async () => {
    const { app } = await setup({ METRICS_TOKEN: TOKEN });
    expect((await app.fetch('http://localhost/metrics')).status).toBe(401);
    const wrong = await app.fetch('http://localhost/metrics', { headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('counts operations and session events in Prometheus text format', async () => {
    const { app, client } = await setup({ METRICS_TOKEN: TOKEN, SESSION_MAX_BYTES: '1024' });
    const c = client();
    await c.data('mutation AddBook { addToCart(sku: "book") { totalQuantity } }');
    await c.data('mutation AddBook { addToCart(sku: "book") { totalQuantity } }');
    await c.data('query Cart { cart { totalQuantity } }');
    await c.data('mutation { cycleSessionKey { exists } }');
    await c.error('mutation($v: JSON) { setSessionValue(key: "big", value: $v) { exists } }', { v: 'x'.repeat(2000) });
    await c.data('mutation { flushSession { exists } }');
    const forged = client();
    forged.jar.set('sessionid', 'forged.value');
    await forged.data('{ session { exists } }');

    const r = await app.fetch('http://localhost/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await r.text();
    expect(counter(text, 'sessionql_sessions_created_total')).toBe(1);
    expect(counter(text, 'sessionql_sessions_written_total')).toBe(1);
    expect(counter(text, 'sessionql_sessions_loaded_total')).toBe(1);
    expect(counter(text, 'sessionql_sessions_cycled_total')).toBe(1);
    expect(counter(text, 'sessionql_sessions_flushed_total')).toBe(1);
    expect(counter(text, 'sessionql_cookies_rejected_total')).toBe(1);
    expect(counter(text, 'sessionql_session_too_large_total')).toBe(1);
    expect(counter(text, 'sessionql_graphql_operations_total', 'type="mutation",name="AddBook",outcome="ok"')).toBe(2);
    expect(counter(text, 'sessionql_graphql_operations_total', 'type="query",name="Cart",outcome="ok"')).toBe(1);
    expect(counter(text, 'sessionql_graphql_operations_total', 'type="mutation",name="anonymous",outcome="SESSION_TOO_LARGE"')).toBe(1);
    expect(text).toMatch(/sessionql_graphql_operation_duration_seconds_bucket\{le="0.1",type="mutation"\} \d+/);
  });
});

describe('request logs', () => {
  it('one entry per request with id, operation, status and duration, and never the cookie', async () => {
    const entries: RequestLog[] = [];
    const { createApp } = await import('../../src/server/app.js');
    const { loadConfig } = await import('../../src/server/config.js');
    const { serve, TEST_SECRET } = await import('../helpers/app.js');
    const { testDatabase } = await import('../helpers/database.js');
    const { CookieClient } = await import('../helpers/client.js');
    const logger = { debug() {}, info() {}, warn() {}, error() {}, request: (e: RequestLog) => void entries.push(e) };
    const app = await serve(
      createApp({ config: loadConfig({ NODE_ENV: 'test', SESSION_SECRET: TEST_SECRET }), database: await testDatabase(), logger }),
    );
    const c = new CookieClient(app);
    await c.data('mutation Add { addToCart(sku: "A") { totalQuantity } }');
    const r = await c.fetch('/graphql?query=%7B__typename%7D', { headers: { 'x-request-id': 'req-42' } });
    expect(r.headers.get('x-request-id')).toBe('req-42');
    await c.gql('{ cart { isEmpty } }', undefined, { accept: 'application/json, text/plain;q=0.1' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(entries.map((e) => [e.method, e.path, e.operation, e.status])).toEqual([
      ['POST', '/graphql', 'mutation Add', 200],
      ['GET', '/graphql', 'query', 200],
      ['POST', '/graphql', 'query', 200],
    ]);
    expect(entries[1]?.requestId).toBe('req-42');
    expect(entries.some((e) => e.aborted)).toBe(false);
    // An event stream ends when its client goes away: logged then, as aborted, with the status it was sent with.
    const gone = new AbortController();
    const stream = await c.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription Live { sessionChanged { exists } }' }),
      signal: gone.signal,
    });
    await stream.body!.getReader().read();
    gone.abort();
    await expect.poll(() => entries.length).toBe(4);
    expect(entries[3]).toMatchObject({ method: 'POST', path: '/graphql', operation: 'subscription Live', status: 200, aborted: true });
    // A client gone in the middle of its body (a slow or hostile one): no status went out, so 499.
    const socket = connect(Number(new URL(app.baseUrl).port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write('POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"query":');
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    await expect.poll(() => entries.length).toBe(5);
    expect(entries[4]).toMatchObject({ method: 'POST', path: '/graphql', status: 499, aborted: true });
    expect(entries[0]?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(entries.every((e) => e.durationMs >= 0)).toBe(true);
    expect(JSON.stringify(entries)).not.toContain(c.sessionCookie!.split('.')[0]);
  });
});
