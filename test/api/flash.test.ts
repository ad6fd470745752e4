import { describe, expect, it } from 'vitest';
import { setup } from '../helpers/app.js';

// Django's messages framework on the session (SessionStorage, key `_messages`).
describe('flash messages', async () => {
  const { client } = await setup();
  const peek = '{ session { flashMessages { level text } keys } }';

  it('a message added by one request is shown by a later one, once; peeking removes nothing', async () => {
    const c = client();
    const added = await c.data('mutation { addFlashMessage(text: "Saved.") { level text } }');
    expect(added.addFlashMessage).toEqual([{ level: 'INFO', text: 'Saved.' }]);
    await c.data('mutation { addFlashMessage(level: ERROR, text: "But the card was declined.") { text } }');
    const twice = [await c.data(peek), await c.data(peek)];
    for (const d of twice) {
      expect(d.session.flashMessages).toEqual([
        { level: 'INFO', text: 'Saved.' },
        { level: 'ERROR', text: 'But the card was declined.' },
      ]);
      expect(d.session.keys).toEqual(['_messages']);
    }
    const consumed = await c.data('mutation { consumeFlashMessages { level text } }');
    expect(consumed.consumeFlashMessages).toHaveLength(2);
    expect((await c.data('mutation { consumeFlashMessages { text } }')).consumeFlashMessages).toEqual([]);
    expect((await c.data(peek)).session).toEqual({ flashMessages: [], keys: [] });
  });

  it('consuming with no session stores nothing and sets no cookie', async () => {
    const r = await client().gql('mutation { consumeFlashMessages { text } }');
    expect(r.body.data).toEqual({ consumeFlashMessages: [] });
    expect(r.setCookie).toBeNull();
  });

  it('every level of Django', async () => {
    const c = client();
    for (const level of ['DEBUG', 'INFO', 'SUCCESS', 'WARNING', 'ERROR']) {
      await c.data(`mutation { addFlashMessage(level: ${level}, text: "${level}") { text } }`);
    }
    expect((await c.data('{ session { flashMessages { level } } }')).session.flashMessages.map((m: { level: string }) => m.level)).toEqual([
      'DEBUG',
      'INFO',
      'SUCCESS',
      'WARNING',
      'ERROR',
    ]);
  });

  it.each([
    ['', /^text: must be 1 to 1000 characters/],
    ['x'.repeat(1001), /^text: must be 1 to 1000 characters \(got 1001\)/],
    ['a\u0000b', /^text: must not contain U\+0000/],
  ])('text %#: BAD_USER_INPUT, nothing written', async (text, message) => {
    const c = client();
    await c.data('mutation { addFlashMessage(text: "first") { text } }');
    const e = await c.error('mutation($t: String!) { addFlashMessage(text: $t) { text } }', { t: text });
    expect(e.code).toBe('BAD_USER_INPUT');
    expect(e.extensions?.argument).toBe('text');
    expect(e.message).toMatch(message);
    expect((await c.data(peek)).session.flashMessages).toEqual([{ level: 'INFO', text: 'first' }]);
  });

  it('1000 characters (code points) are allowed', async () => {
    const c = client();
    const text = '😀'.repeat(1000);
    expect((await c.data('mutation($t: String!) { addFlashMessage(text: $t) { text } }', { t: text })).addFlashMessage[0].text).toBe(text);
  });

  it('at most 50 pending: the 51st is BAD_USER_INPUT and changes nothing', async () => {
    const c = client();
    for (let i = 0; i < 50; i++) await c.data(`mutation { addFlashMessage(text: "m${i}") { text } }`);
    const e = await c.error('mutation { addFlashMessage(text: "one too many") { text } }');
    expect(e.code).toBe('BAD_USER_INPUT');
    expect(e.message).toMatch(/at most 50 messages/);
    expect(e.extensions?.reason).toBe('FLASH_PENDING');
    const pending = (await c.data(peek)).session.flashMessages;
    expect(pending).toHaveLength(50);
    expect(pending.at(-1).text).toBe('m49');
  });

  it('two tabs consuming at the same moment: each message is delivered exactly once', async () => {
    const c = client();
    for (let i = 0; i < 10; i++) await c.data(`mutation { addFlashMessage(text: "m${i}") { text } }`);
    const tabs = await Promise.all(Array.from({ length: 8 }, () => c.data('mutation { consumeFlashMessages { text } }')));
    const delivered = tabs.flatMap((t) => t.consumeFlashMessages.map((m: { text: string }) => m.text));
    expect(delivered.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`).sort());
  });

  it('concurrent adds all land (none lost)', async () => {
    const c = client();
    await c.data('mutation { addFlashMessage(text: "start") { text } }');
    await Promise.all(Array.from({ length: 30 }, (_, i) => c.data(`mutation { addFlashMessage(text: "c${i}") { text } }`)));
    expect((await c.data(peek)).session.flashMessages).toHaveLength(31);
  });

  it('`_messages` is reserved: setSessionValue refuses it', async () => {
    const e = await client().error('mutation { setSessionValue(key: "_messages", value: []) { exists } }');
    expect(e.code).toBe('BAD_USER_INPUT');
  });
});
