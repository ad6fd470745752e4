import { z } from 'zod';
import { defineArea } from '../core/area.js';
import { InputError } from '../core/errors.js';
import { validateText } from '../core/text.js';

export const THEMES = ['SYSTEM', 'LIGHT', 'DARK'] as const;
export type Theme = (typeof THEMES)[number];

export interface PreferenceFilter {
  field: string;
  values: string[];
}

export interface Preferences {
  theme: Theme;
  language: string;
  pageSize: number;
  filters: PreferenceFilter[];
}

/** Stored under the session key `preferences`; only the fields set are stored. */
export type PreferencesPatch = Partial<Preferences>;

export const PREFERENCE_DEFAULTS: Readonly<Preferences> = Object.freeze({
  theme: 'SYSTEM',
  language: 'en',
  pageSize: 20,
  filters: [],
});

export const PREFERENCE_LIMITS = { pageSizeMin: 1, pageSizeMax: 100, filters: 20, fieldLength: 64, values: 50 } as const;

/**
 * A well-formed BCP 47 language tag, in its canonical case (`en-gb` → `en-GB`).
 * Intl implements the Unicode BCP 47 locale identifier grammar (UTS #35).
 */
export function canonicalLanguage(tag: string): string | null {
  if (tag.length === 0 || tag.length > 64 || !/^[A-Za-z0-9-]+$/.test(tag)) return null;
  try {
    const [canonical] = Intl.getCanonicalLocales(tag);
    return canonical ?? null;
  } catch {
    return null;
  }
}

export interface PreferencesInput {
  theme?: Theme | null;
  language?: string | null;
  pageSize?: number | null;
  filters?: readonly PreferenceFilter[] | null;
}

/**
 * Checks a partial update and returns what to store. A field left out (or
 * given as null) keeps its value; `filters`, when given, replaces the list.
 */
export function validatePreferences(input: PreferencesInput): PreferencesPatch {
  const patch: PreferencesPatch = {};
  if (input.theme != null) {
    if (!THEMES.includes(input.theme)) throw new InputError('input.theme', `must be one of ${THEMES.join(', ')}`);
    patch.theme = input.theme;
  }
  if (input.language != null) {
    const language = canonicalLanguage(input.language);
    if (!language)
      throw new InputError(
        'input.language',
        `must be a well-formed BCP 47 language tag such as en, en-GB or pt-BR (got ${JSON.stringify(input.language.slice(0, 70))})`,
      );
    patch.language = language;
  }
  if (input.pageSize != null) {
    const { pageSizeMin: min, pageSizeMax: max } = PREFERENCE_LIMITS;
    if (!Number.isInteger(input.pageSize) || input.pageSize < min || input.pageSize > max) {
      throw new InputError('input.pageSize', `must be ${min} to ${max} (got ${input.pageSize})`);
    }
    patch.pageSize = input.pageSize;
  }
  if (input.filters != null) {
    if (input.filters.length > PREFERENCE_LIMITS.filters) {
      throw new InputError('input.filters', `must hold at most ${PREFERENCE_LIMITS.filters} filters (got ${input.filters.length})`);
    }
    patch.filters = input.filters.map((filter, i) => {
      const n = [...filter.field].length;
      if (n < 1 || n > PREFERENCE_LIMITS.fieldLength) {
        throw new InputError(`input.filters[${i}].field`, `must be 1 to ${PREFERENCE_LIMITS.fieldLength} characters (got ${n})`);
      }
      if (filter.values.length > PREFERENCE_LIMITS.values) {
        throw new InputError(
          `input.filters[${i}].values`,
          `must hold at most ${PREFERENCE_LIMITS.values} values (got ${filter.values.length})`,
        );
      }
      validateText(`input.filters[${i}].field`, filter.field);
      for (const value of filter.values) validateText(`input.filters[${i}].values`, value);
      return { field: filter.field, values: [...filter.values] };
    });
  }
  return patch;
}

/** Each stored field on its own: one that does not parse (a hand-edited row) reads as unset. */
const lenient = <T extends z.ZodType>(schema: T) => schema.optional().catch(undefined);
const filter = z.object({ field: z.string(), values: z.array(z.unknown()) });
const stored = z
  .object({
    theme: lenient(z.enum(THEMES)),
    language: lenient(z.string()),
    pageSize: lenient(z.number().int().min(PREFERENCE_LIMITS.pageSizeMin).max(PREFERENCE_LIMITS.pageSizeMax)),
    filters: lenient(
      z.array(z.unknown()).transform((raw) =>
        raw.flatMap((f) => {
          const parsed = filter.safeParse(f);
          return parsed.success
            ? [{ field: parsed.data.field, values: parsed.data.values.filter((v): v is string => typeof v === 'string') }]
            : [];
        }),
      ),
    ),
  })
  .catch({});

/** The preferences a reader sees: the stored fields over the defaults. */
export function withDefaults(patch: PreferencesPatch): Preferences {
  const set = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  return { ...PREFERENCE_DEFAULTS, filters: [], ...set };
}

/** Preferences: only the fields a visitor set are stored; readers get defaults for the rest. */
export const preferences = defineArea({
  key: 'preferences',
  schema: stored as z.ZodType<PreferencesPatch>,
  default: {} as PreferencesPatch,
  view: withDefaults,
})
  .operation('update', {
    /** Partial update: fields left out keep their value. */
    input: validatePreferences,
    apply: (current, patch) => ({ ...current, ...patch }),
  })
  .operation('reset', {
    /** The stored preferences removed: defaults again. */
    input: (_input: Record<string, never>) => ({}),
    apply: () => undefined,
  });
