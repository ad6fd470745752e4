import { describe, expect, it } from 'vitest';
import {
  canonicalLanguage,
  PREFERENCE_DEFAULTS,
  type PreferenceFilter,
  type PreferencesInput,
  preferences as preferencesArea,
  validatePreferences,
} from '../../src/areas/preferences.js';
import { inputError } from '../helpers/input-error.js';

const filter = (field: string, n = 1): PreferenceFilter => ({ field, values: Array.from({ length: n }, (_, i) => `v${i}`) });

describe('language must be a well-formed BCP 47 tag', () => {
  it('en, en-GB, pt-BR and zh-Hant-TW are well-formed', () => {
    for (const tag of ['en', 'en-GB', 'pt-BR', 'zh-Hant-TW', 'es-419', 'sr-Latn-RS', 'de-CH-1996']) {
      expect(canonicalLanguage(tag)).toBe(tag);
    }
  });

  it('tags are returned in their canonical case (en-gb → en-GB)', () => {
    expect(canonicalLanguage('en-gb')).toBe('en-GB');
    expect(canonicalLanguage('EN')).toBe('en');
    expect(canonicalLanguage('PT-br')).toBe('pt-BR');
    expect(canonicalLanguage('zh-hant-tw')).toBe('zh-Hant-TW');
    expect(canonicalLanguage('ZH-HANT-TW')).toBe('zh-Hant-TW');
  });

  it("'', 'english language', 'en_GB', '123' and very long strings are refused", () => {
    for (const bad of [
      '',
      'english language',
      'en_GB',
      '123',
      'en-',
      '-en',
      'en--GB',
      ' en',
      'en ',
      'e',
      'en-GB;',
      'x'.repeat(1000),
      `en-${'a'.repeat(10_000)}`,
    ]) {
      expect(canonicalLanguage(bad), JSON.stringify(bad.slice(0, 30))).toBeNull();
    }
  });

  it('a well-formed tag longer than 64 characters is refused as very long', () => {
    const long = `en-x-${'abcdefgh-'.repeat(10)}a`;
    expect(long.length).toBeGreaterThan(64);
    expect(canonicalLanguage(long)).toBeNull();
    expect(canonicalLanguage('en-x-abcdefgh')).toBe('en-x-abcdefgh');
  });

  it('validatePreferences stores the canonical tag', () => {
    expect(validatePreferences({ language: 'en-gb' })).toEqual({ language: 'en-GB' });
    expect(validatePreferences({ language: 'pt-BR' })).toEqual({ language: 'pt-BR' });
  });

  it('an ill-formed language is BAD_USER_INPUT naming input.language and the rule', () => {
    for (const bad of ['', 'english language', 'en_GB', '123', 'x'.repeat(500)]) {
      const e = inputError(() => validatePreferences({ language: bad }));
      expect(e.argument).toBe('input.language');
      expect(e.rule).toMatch(/BCP 47/);
      expect(e.message.length).toBeLessThan(300);
    }
  });
});

describe('updatePreferences: partial update, fields left out keep their value', () => {
  it('an empty input changes nothing', () => {
    expect(validatePreferences({})).toEqual({});
  });

  it('nulls mean "keep"', () => {
    expect(validatePreferences({ theme: null, language: null, pageSize: null, filters: null })).toEqual({});
    expect(validatePreferences({ theme: 'DARK', language: null })).toEqual({ theme: 'DARK' });
  });

  it('every given field is in the patch', () => {
    const input: PreferencesInput = {
      theme: 'LIGHT',
      language: 'fr',
      pageSize: 50,
      filters: [{ field: 'color', values: ['red', 'blue'] }],
    };
    expect(validatePreferences(input)).toEqual({
      theme: 'LIGHT',
      language: 'fr',
      pageSize: 50,
      filters: [{ field: 'color', values: ['red', 'blue'] }],
    });
  });

  it('an unknown theme is refused', () => {
    const e = inputError(() => validatePreferences({ theme: 'PINK' as never }));
    expect(e.argument).toBe('input.theme');
  });

  it('pageSize: 1 to 100', () => {
    for (const ok of [1, 20, 100]) expect(validatePreferences({ pageSize: ok })).toEqual({ pageSize: ok });
    for (const bad of [0, -1, 101, 1000, 2.5]) {
      const e = inputError(() => validatePreferences({ pageSize: bad }));
      expect(e.argument).toBe('input.pageSize');
      expect(e.rule).toMatch(/1 to 100/);
    }
  });

  it('filters, when given, replace the whole list (an empty list clears it)', () => {
    expect(validatePreferences({ filters: [] })).toEqual({ filters: [] });
  });

  it('at most 20 filters', () => {
    const twenty = Array.from({ length: 20 }, (_, i) => filter(`f${i}`));
    expect(validatePreferences({ filters: twenty }).filters).toHaveLength(20);
    const e = inputError(() => validatePreferences({ filters: [...twenty, filter('f20')] }));
    expect(e.argument).toBe('input.filters');
    expect(e.rule).toMatch(/at most 20/);
  });

  it('filter field: 1 to 64 characters', () => {
    expect(validatePreferences({ filters: [filter('x'.repeat(64))] }).filters?.[0]?.field).toBe('x'.repeat(64));
    expect(validatePreferences({ filters: [filter('😀'.repeat(64))] }).filters?.[0]?.field).toBe('😀'.repeat(64));
    for (const bad of ['', 'x'.repeat(65), '😀'.repeat(65)]) {
      const e = inputError(() => validatePreferences({ filters: [filter('ok'), filter(bad)] }));
      expect(e.argument).toBe('input.filters[1].field');
      expect(e.rule).toMatch(/1 to 64 characters/);
    }
  });

  it('at most 50 values per filter', () => {
    expect(validatePreferences({ filters: [filter('a', 50)] }).filters?.[0]?.values).toHaveLength(50);
    const e = inputError(() => validatePreferences({ filters: [filter('a', 51)] }));
    expect(e.argument).toBe('input.filters[0].values');
    expect(e.rule).toMatch(/at most 50/);
  });

  it('the patch does not share arrays with the input', () => {
    const values = ['a'];
    const input = { filters: [{ field: 'f', values }] };
    const patch = validatePreferences(input);
    values.push('b');
    expect(patch.filters).toEqual([{ field: 'f', values: ['a'] }]);
  });
});

describe('preferences stored under the session key `preferences`', () => {
  it('defaults when unset: theme SYSTEM, language "en", pageSize 20, filters []', () => {
    expect(PREFERENCE_DEFAULTS).toEqual({ theme: 'SYSTEM', language: 'en', pageSize: 20, filters: [] });
    expect(preferencesArea.read({})).toEqual({ theme: 'SYSTEM', language: 'en', pageSize: 20, filters: [] });
  });

  it('stored fields override the defaults one by one', () => {
    expect(preferencesArea.read({ preferences: { theme: 'DARK' } })).toEqual({ theme: 'DARK', language: 'en', pageSize: 20, filters: [] });
    expect(preferencesArea.read({ preferences: { language: 'pt-BR', pageSize: 50 } })).toEqual({
      theme: 'SYSTEM',
      language: 'pt-BR',
      pageSize: 50,
      filters: [],
    });
    expect(preferencesArea.read({ preferences: { filters: [{ field: 'c', values: ['x', 'y'] }] } }).filters).toEqual([
      { field: 'c', values: ['x', 'y'] },
    ]);
  });

  it('a stored value that is not an object reads as the defaults', () => {
    for (const preferences of [null, 'DARK', 3, [], [{ theme: 'DARK' }]]) {
      expect(preferencesArea.read({ preferences })).toEqual({ theme: 'SYSTEM', language: 'en', pageSize: 20, filters: [] });
    }
  });

  it('malformed stored fields fall back to the defaults and malformed filters are skipped', () => {
    const p = preferencesArea.read({
      preferences: {
        theme: 'PINK',
        language: 42,
        pageSize: '10',
        filters: [null, 'x', { field: 1, values: [] }, { field: 'f' }, { field: 'ok', values: ['a', 2, 'b'] }],
      },
    });
    expect(p).toEqual({ theme: 'SYSTEM', language: 'en', pageSize: 20, filters: [{ field: 'ok', values: ['a', 'b'] }] });
  });

  it('a stored pageSize that is not a whole number from 1 to 100 reads as the default', () => {
    // Preferences.pageSize is "Items per page, 1 to 100" (an Int!): 2.5 or 10 ** 12 would fail the request.
    for (const pageSize of [0, -1, 101, 2.5, 10 ** 12, Number.NaN]) {
      expect(preferencesArea.read({ preferences: { pageSize } }).pageSize, String(pageSize)).toBe(20);
    }
  });

  it('the defaults are not shared: changing one result does not change the next', () => {
    const first = preferencesArea.read({});
    first.filters.push({ field: 'x', values: [] });
    expect(preferencesArea.read({}).filters).toEqual([]);
    expect(PREFERENCE_DEFAULTS.filters).toEqual([]);
  });
});
