import { type Preferences, preferences, THEMES } from '../../index.js';
import { areaField, areaMutation } from '../../pothos.js';
import { builder } from '../builder.js';

export const PreferencesRef = builder.objectRef<Preferences>('Preferences');
const FilterRef = builder.objectRef<Preferences['filters'][number]>('PreferenceFilter');
const ThemeEnum = builder.enumType('Theme', { values: THEMES });

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
  areaField(t, preferences, { type: PreferencesRef, description: 'Shortcut for session.preferences.' }),
);

builder.mutationFields((t) => ({
  updatePreferences: areaMutation(t, preferences, 'update', {
    type: PreferencesRef,
    description: 'Partial update: fields left out keep their value.',
    args: { input: t.arg({ type: PreferencesInput, required: true }) },
    input: (args) => args.input,
  }),
  resetPreferences: areaMutation(t, preferences, 'reset', { type: PreferencesRef }),
}));
