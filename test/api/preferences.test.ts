import { describe, expect, it } from 'vitest';
import { setup } from '../helpers/app.js';

const PREFS = 'theme language pageSize filters { field values }';
const DEFAULTS = { theme: 'SYSTEM', language: 'en', pageSize: 20, filters: [] };

describe('preferences', async () => {
  const { client } = await setup();

  it('defaults when unset, without storing anything', async () => {
    const r = await client().gql(`{ preferences { ${PREFS} } session { preferences { theme } } }`);
    expect(r.body.data).toEqual({ preferences: DEFAULTS, session: { preferences: { theme: 'SYSTEM' } } });
    expect(r.setCookie).toBeNull();
  });

  it('updatePreferences is a partial update: fields left out (or null) keep their value', async () => {
    const c = client();
    await c.data('mutation { updatePreferences(input: { theme: DARK, pageSize: 50 }) { theme } }');
    const r = await c.data(`mutation { updatePreferences(input: { language: "pt-br", theme: null }) { ${PREFS} } }`);
    expect(r.updatePreferences).toEqual({ theme: 'DARK', language: 'pt-BR', pageSize: 50, filters: [] });
    expect((await c.data(`{ preferences { ${PREFS} } }`)).preferences).toEqual(r.updatePreferences);
  });

  it('filters, when given, replace the whole list', async () => {
    const c = client();
    await c.data(
      'mutation { updatePreferences(input: { filters: [{ field: "color", values: ["red", "blue"] }, { field: "size", values: [] }] }) { theme } }',
    );
    const r = await c.data(
      'mutation { updatePreferences(input: { filters: [{ field: "brand", values: ["acme"] }] }) { filters { field values } } }',
    );
    expect(r.updatePreferences.filters).toEqual([{ field: 'brand', values: ['acme'] }]);
    const cleared = await c.data('mutation { updatePreferences(input: { filters: [] }) { filters { field } pageSize } }');
    expect(cleared.updatePreferences).toEqual({ filters: [], pageSize: 20 });
  });

  it('resetPreferences removes the stored preferences (defaults again)', async () => {
    const c = client();
    await c.data('mutation { updatePreferences(input: { theme: LIGHT }) { theme } }');
    expect((await c.data(`mutation { resetPreferences { ${PREFS} } }`)).resetPreferences).toEqual(DEFAULTS);
    expect((await c.data('{ session { has(key: "preferences") exists } }')).session).toEqual({ has: false, exists: true });
  });

  it.each([
    ['{ language: "english please" }', /^input\.language: must be a well-formed BCP 47/],
    ['{ language: "" }', /^input\.language: /],
    ['{ pageSize: 0 }', /^input\.pageSize: must be 1 to 100/],
    ['{ pageSize: 101 }', /^input\.pageSize: must be 1 to 100/],
    [
      `{ filters: [${Array.from({ length: 21 }, (_, i) => `{ field: "f${i}", values: [] }`).join(', ')}] }`,
      /^input\.filters: must hold at most 20/,
    ],
    ['{ filters: [{ field: "", values: [] }] }', /^input\.filters\[0\]\.field: must be 1 to 64/],
    [`{ filters: [{ field: "${'f'.repeat(65)}", values: [] }] }`, /^input\.filters\[0\]\.field: must be 1 to 64/],
    [
      `{ filters: [{ field: "f", values: [${Array.from({ length: 51 }, () => '"v"').join(', ')}] }] }`,
      /^input\.filters\[0\]\.values: must hold at most 50/,
    ],
  ])('updatePreferences(input: %s) is BAD_USER_INPUT naming the field and the rule, and nothing is written', async (input, message) => {
    const c = client();
    await c.data('mutation { updatePreferences(input: { theme: DARK, language: "fr" }) { theme } }');
    const e = await c.error(`mutation { updatePreferences(input: ${input}) { theme } }`);
    expect(e.code).toBe('BAD_USER_INPUT');
    expect(e.message).toMatch(message);
    expect((await c.data(`{ preferences { ${PREFS} } }`)).preferences).toEqual({ ...DEFAULTS, theme: 'DARK', language: 'fr' });
  });

  it('an unknown theme is refused by GraphQL validation', async () => {
    const r = await client().gql('mutation { updatePreferences(input: { theme: PURPLE }) { theme } }');
    expect(r.body.errors?.[0]?.message).toMatch(/PURPLE/);
    expect(r.setCookie).toBeNull();
  });
});
