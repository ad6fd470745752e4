import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import type { NoticeListener } from '../../src/core/engine.js';
import { setup } from '../helpers/app.js';
import type { CookieClient } from '../helpers/client.js';
import { EventStream } from '../helpers/sse.js';

/** sessionChanged over GraphQL over SSE, through the server's real HTTP handler. */
describe('sessionChanged', async () => {
  const { client, clock, built } = await setup({ SESSION_SUBSCRIPTIONS_PER_SESSION: '3', CORS_ORIGINS: 'https://app.example' });
  /** Live subscriptions this instance holds (their slots). */
  const live = () => built.sessions.subscriptions.size;
  const open: EventStream[] = [];
  afterEach(() => {
    for (const stream of open.splice(0)) stream.close();
  });
  const subscribe = async (c: CookieClient, options: Parameters<typeof EventStream.open>[1] = {}) => {
    const stream = await EventStream.open(c, options);
    open.push(stream);
    return stream;
  };
  async function stored() {
    const c = client();
    await c.data('mutation { addToCart(sku: "A", quantity: 1) { totalQuantity } }');
    return c;
  }
  /** Another tab: the same cookie. */
  function tabOf(c: CookieClient) {
    const tab = client();
    for (const [name, value] of c.jar) tab.jar.set(name, value);
    return tab;
  }

  it('sends the current state first, then the new state after each write, from any tab', async () => {
    const c = await stored();
    const stream = await subscribe(c);
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.response.headers.get('x-accel-buffering')).toBe('no');
    expect(stream.response.headers.get('cache-control')).toMatch(/no-store|no-cache/);
    expect(await stream.session()).toMatchObject({ exists: true, keys: ['cart'], cart: { totalQuantity: 1 } });
    const tab = tabOf(c);
    await tab.data('mutation { addToCart(sku: "B", quantity: 2) { totalQuantity } }');
    expect(await stream.session()).toMatchObject({ cart: { totalQuantity: 3 } });
    await tab.data('mutation { setSessionValue(key: "step", value: 2) { exists } }');
    expect(await stream.session()).toMatchObject({ keys: ['cart', 'step'] });
    await tab.data('mutation { setSessionExpiry(seconds: 600) { expiryAge } }');
    const after = await stream.session();
    expect(Date.parse(after.expiresAt)).toBe(Math.ceil(clock.now() / 1000) * 1000 + 600_000);
    // One event per write: nothing more.
    await stream.quiet(300);
  });

  it('works over GET too (EventSource), and with Apollo- and urql-style requests', async () => {
    const c = await stored();
    const get = await subscribe(c, { method: 'GET' });
    expect(await get.session()).toMatchObject({ exists: true });
    const urql = await subscribe(c, {
      headers: { accept: 'text/event-stream' },
      query: 'subscription OnSession { sessionChanged { __typename exists cart { __typename totalQuantity } } }',
    });
    expect(await urql.session()).toMatchObject({ __typename: 'Session', cart: { __typename: 'Cart', totalQuantity: 1 } });
    await c.data('mutation { addToCart(sku: "A") { totalQuantity } }');
    expect(await get.session()).toMatchObject({ cart: { totalQuantity: 2 } });
    expect((await urql.session()).cart.totalQuantity).toBe(2);
  });

  it('a flush sends exists: false and completes the stream', async () => {
    const c = await stored();
    const stream = await subscribe(c);
    await stream.session();
    await tabOf(c).data('mutation { flushSession { exists } }');
    expect(await stream.session()).toMatchObject({ exists: false, keys: [] });
    await stream.completes();
  });

  it('cycleSessionKey completes the stream; a new subscription with the new cookie follows the session', async () => {
    const c = await stored();
    const stream = await subscribe(c);
    await stream.session();
    await c.data('mutation { cycleSessionKey { exists } }');
    await stream.completes();
    const again = await subscribe(c);
    expect(await again.session()).toMatchObject({ exists: true, cart: { totalQuantity: 1 } });
    await c.data('mutation { addToCart(sku: "A") { totalQuantity } }');
    expect((await again.session()).cart.totalQuantity).toBe(2);
  });

  it('expiry sends exists: false and completes the stream', async () => {
    const c = await stored();
    await c.data('mutation { setSessionExpiry(seconds: 1) { exists } }');
    const stream = await subscribe(c);
    expect(await stream.session()).toMatchObject({ exists: true });
    clock.advance(2);
    expect(await stream.session(4000)).toMatchObject({ exists: false });
    await stream.completes();
  });

  it('without a stored session: one state (exists: false), then complete', async () => {
    const stream = await subscribe(client());
    expect(await stream.session()).toMatchObject({ exists: false, keys: [] });
    await stream.completes();
    const forged = client();
    forged.jar.set('sessionid', 'forged.value');
    const second = await subscribe(forged);
    expect(await second.session()).toMatchObject({ exists: false });
    await second.completes();
  });

  it("a subscriber never sees another session's changes", async () => {
    const mine = await stored();
    const other = await stored();
    const stream = await subscribe(mine);
    await stream.session();
    for (let i = 0; i < 5; i++) await other.data('mutation { addToCart(sku: "X") { totalQuantity } }');
    await other.data('mutation { flushSession { exists } }');
    await stream.quiet(300);
    await mine.data('mutation { setSessionValue(key: "mine", value: true) { exists } }');
    expect(await stream.session()).toMatchObject({ keys: ['cart', 'mine'], cart: { totalQuantity: 1 } });
  });

  it('sends heartbeats (SSE comments) so that proxies keep the stream open', async () => {
    const c = await stored();
    const stream = await subscribe(c);
    await stream.session();
    // Yoga pings every 12 s (300 ms under NODE_ENV=test).
    await stream.quiet(1000);
    expect(stream.heartbeats).toBeGreaterThanOrEqual(2);
  });

  it('a foreign Origin gets nothing: no stream, no state', async () => {
    const c = await stored();
    const response = await c.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', origin: 'https://evil.example' },
      body: JSON.stringify({ query: 'subscription { sessionChanged { keys cart { totalQuantity } } }' }),
    });
    expect(response.status).toBe(403);
    expect(await response.text()).not.toMatch(/totalQuantity|cart/);
    const get = await c.fetch(`/graphql?query=${encodeURIComponent('subscription { sessionChanged { keys } }')}`, {
      headers: { accept: 'text/event-stream', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(get.status).toBe(403);
  });

  it('simple cross-site requests (a form post, text/plain, no Origin) never open a stream', async () => {
    const c = await stored();
    const query = 'subscription { sessionChanged { keys cart { totalQuantity } } }';
    for (const [type, body] of [
      ['application/x-www-form-urlencoded', `query=${encodeURIComponent(query)}`],
      ['text/plain', JSON.stringify({ query })],
    ] as const) {
      const r = await c.fetch('/graphql', { method: 'POST', headers: { 'content-type': type, accept: 'text/event-stream' }, body });
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.headers.get('content-type') ?? '').not.toMatch(/event-stream/);
      expect(await r.text()).not.toMatch(/totalQuantity|cart/);
    }
  });

  it('a frontend on an allowed origin (CORS_ORIGINS) subscribes with credentials', async () => {
    const c = await stored();
    const stream = await subscribe(c, { headers: { accept: 'text/event-stream', origin: 'https://app.example' } });
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(stream.response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(await stream.session()).toMatchObject({ exists: true, cart: { totalQuantity: 1 } });
  });

  it('refuses a subscription over the per-session limit with SUBSCRIPTION_LIMIT; one ends, another may start', async () => {
    const c = await stored();
    const streams = [await subscribe(c), await subscribe(c), await subscribe(c)];
    for (const s of streams) await s.session();
    const refused = await subscribe(c);
    const r = await refused.result();
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'SUBSCRIPTION_LIMIT', scope: 'session', limit: 3 });
    expect(r.errors?.[0]?.message).toMatch(/3 live subscriptions/);
    await refused.completes();
    // Another session is not limited by this one.
    const other = await subscribe(await stored());
    expect(await other.session()).toMatchObject({ exists: true });
    streams[0]!.close();
    await expect
      .poll(async () => {
        const s = await subscribe(c);
        const first = await s.result();
        s.close();
        return first.errors?.[0]?.extensions?.code ?? 'ok';
      })
      .toBe('ok');
  });

  // What clients send that cannot take an event stream: JSON only, and Apollo Client's multipart subscriptions.
  it.each([
    ['POST', 'application/json'],
    ['POST', 'application/graphql-response+json'],
    ['POST', 'multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json'],
    ['GET', 'application/json'],
  ] as const)('a subscription asked for by %s as %s is refused (406, NOT_ACCEPTABLE) and holds nothing', async (method, accept) => {
    const c = await stored();
    const query = 'subscription { sessionChanged { exists keys } }';
    const before = live();
    // More than the per-session limit (3): none of them may keep a slot.
    for (let i = 0; i < 5; i++) {
      const r =
        method === 'GET'
          ? await c.fetch(`/graphql?query=${encodeURIComponent(query)}`, { headers: { accept } })
          : await c.fetch('/graphql', { method, headers: { 'content-type': 'application/json', accept }, body: JSON.stringify({ query }) });
      expect(r.status).toBe(406);
      const body = await r.json();
      expect(body.errors[0].extensions.code).toBe('NOT_ACCEPTABLE');
      expect(body.errors[0].message).toMatch(/text\/event-stream/);
      expect(body.data).toBeUndefined();
    }
    expect(live()).toBe(before);
    const streams = [await subscribe(c), await subscribe(c), await subscribe(c)];
    for (const s of streams) expect(await s.session()).toMatchObject({ exists: true });
  });

  // A sandboxed frame (or a file: page) sends Origin: null: with a SameSite=None cookie, EventSource there would
  // hold the session's slots, and nothing there could read the events (no CORS answer names an opaque origin).
  it('a subscription from an opaque origin (Origin: null) is refused (403) and holds nothing', async () => {
    const c = await stored();
    const query = 'subscription { sessionChanged { exists keys } }';
    const before = live();
    for (let i = 0; i < 5; i++) {
      const r = await c.fetch(`/graphql?query=${encodeURIComponent(query)}`, {
        headers: { accept: 'text/event-stream', origin: 'null' },
      });
      expect(r.status).toBe(403);
      const text = await r.text();
      expect(text).toMatch(/opaque origin/);
      expect(text).not.toMatch(/"exists"/);
    }
    expect(live()).toBe(before);
    const streams = [await subscribe(c), await subscribe(c), await subscribe(c)];
    for (const s of streams) expect(await s.session()).toMatchObject({ exists: true });
  });

  // curl and fetch send */* by default; some clients send no Accept at all, or a chunked body.
  it.each([
    ['*/*', false],
    ['text/event-stream, application/json', false],
    ['text/event-stream', true],
  ] as const)(
    'Accept %s (chunked body: %s): events stream as they come, and its slot is freed when the client goes away',
    async (accept, chunked) => {
      const c = await stored();
      const before = live();
      const controller = new AbortController();
      const body = JSON.stringify({ query: 'subscription { sessionChanged { exists cart { totalQuantity } } }' });
      const response = await c.fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept },
        body: chunked ? new Blob([body]).stream() : body,
        signal: controller.signal,
        ...(chunked ? { duplex: 'half' } : {}),
      } as RequestInit);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      const until = async (needle: string) => {
        while (!text.includes(needle)) {
          const { done, value } = await reader.read();
          if (done) throw new Error(`the stream ended before ${needle}: ${text}`);
          text += decoder.decode(value, { stream: true });
        }
      };
      await until('"totalQuantity":1');
      await c.data('mutation { addToCart(sku: "A") { totalQuantity } }');
      await until('"totalQuantity":2');
      expect(live()).toBe(before + 1);
      controller.abort();
      await expect.poll(live).toBe(before);
    },
  );

  // A page reload or a navigation while the subscription is being set up: nothing ever reads its stream.
  it.each(['text/event-stream', '*/*'])(
    'Accept %s: a client gone while its subscription was being set up leaves no slot and no listening behind',
    async (accept) => {
      const c = await stored();
      const before = live();
      const feed = built.store.feed!;
      const subscribeFeed = feed.subscribe.bind(feed);
      let listening = 0;
      let reached!: () => void;
      const reachedFeed = new Promise<void>((resolve) => (reached = resolve));
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      feed.subscribe = async (hash: string, listener: NoticeListener) => {
        reached();
        await gate;
        const off = await subscribeFeed(hash, listener);
        listening++;
        return () => {
          listening--;
          off();
        };
      };
      onTestFinished(() => {
        feed.subscribe = subscribeFeed;
      });
      const controller = new AbortController();
      const request = c
        .fetch('/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept },
          body: JSON.stringify({ query: 'subscription { sessionChanged { exists } }' }),
          signal: controller.signal,
        })
        .catch(() => null);
      await reachedFeed;
      controller.abort();
      await request;
      // Let the server see the connection close, then let the set-up finish.
      await new Promise((resolve) => setTimeout(resolve, 100));
      open();
      await expect.poll(() => ({ slots: live(), listening })).toEqual({ slots: before, listening: 0 });
    },
  );
});
