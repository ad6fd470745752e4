import { type PreferenceFilter, type Preferences, preferencesFromData, THEMES, validatePreferences } from '../../areas/preferences.js';
import type { SessionSnapshot } from '../../core/session.js';
import { resetPreferences, updatePreferences } from '../../engines/postgres/compiled/preferences.js';
import { builder } from '../builder.js';

export const PreferencesRef = builder.objectRef<Preferences>('Preferences');
const FilterRef = builder.objectRef<PreferenceFilter>('PreferenceFilter');
const ThemeEnum = builder.enumType('Theme', { values: THEMES });

export const preferencesOf = (s: SessionSnapshot): Preferences => preferencesFromData(s.data);

FilterRef.implement({
  fields: (t) => ({
    field: t.exposeString('field'),
    values: t.exposeStringList('values'),
  }),
});

PreferencesRef.implement({
  fields: (t) => ({
    theme: t.field({ type: ThemeEnum, resolve: (p) => p.theme }),
    language: t.exposeString('language', { description: 'A BCP 47 language tag, e.g. en, en-GB, pt-BR.' }),
    pageSize: t.exposeInt('pageSize', { description: 'Items per page, 1 to 100.' }),
    filters: t.field({ type: [FilterRef], resolve: (p) => p.filters }),
  }),
});

const FilterInput = builder.inputType('PreferenceFilterInput', {
  fields: (t) => ({
    field: t.string({ required: true }),
    values: t.stringList({ required: true }),
  }),
});

const PreferencesInput = builder.inputType('PreferencesInput', {
  fields: (t) => ({
    theme: t.field({ type: ThemeEnum }),
    language: t.string(),
    pageSize: t.int(),
    filters: t.field({ type: [FilterInput], description: 'Replaces the whole filter list when given.' }),
  }),
});

builder.queryField('preferences', (t) =>
  t.field({
    type: PreferencesRef,
    description: 'Shortcut for session.preferences.',
    resolve: async (_root, _args, ctx) => preferencesOf(await ctx.session.load()),
  }),
);

builder.mutationFields((t) => ({
  updatePreferences: t.field({
    type: PreferencesRef,
    description: 'Partial update: fields left out keep their value.',
    args: { input: t.arg({ type: PreferencesInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const patch = validatePreferences(input);
      return preferencesOf(await ctx.session.change(updatePreferences, { patch: JSON.stringify(patch) }));
    },
  }),
  resetPreferences: t.field({
    type: PreferencesRef,
    resolve: async (_root, _args, ctx) => preferencesOf(await ctx.session.change(resetPreferences, {})),
  }),
}));
