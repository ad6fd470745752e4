import type { SessionChange, SessionData } from './engine.js';
import { InputError } from './errors.js';
import { validateText } from './text.js';

/**
 * A session key a caller may write: 1 to 256 characters, not starting with
 * `_` (reserved for built-in areas, as Django reserves `_auth_user_id`,
 * `_messages` and friends).
 */
export function validateKey(key: string): string {
  const length = [...key].length;
  if (length < 1 || length > 256) throw new InputError('key', `must be 1 to 256 characters (got ${length})`);
  if (key.startsWith('_')) throw new InputError('key', 'must not start with "_" (reserved)');
  return validateText('key', key);
}

const without = (data: SessionData, key: string): SessionData => {
  if (!Object.hasOwn(data, key)) return data;
  const { [key]: _, ...rest } = data;
  return rest;
};

// Django's dict-like writes, as changes for the engine.

/** `session[key] = value` */
export const setValue = (key: string, value: unknown): SessionChange => ({
  name: 'session.set',
  args: { key },
  next: (data) => ({ ...data, [key]: value }),
});

/** `del session[key]`, with no error when absent. */
export const deleteValue = (key: string): SessionChange => ({
  name: 'session.delete',
  args: { key },
  next: (data) => without(data, key),
});

/** `session.clear()` */
export const clearValues: SessionChange = { name: 'session.clear', args: {}, next: () => ({}) };

/** `session.pop(key)`: the caller reads the removed value from the previous data. */
export const popValue = (key: string): SessionChange => ({
  name: 'session.pop',
  args: { key },
  next: (data) => without(data, key),
});

/** `session.setdefault(key, value)`: sets only when absent. */
export const setDefaultValue = (key: string, value: unknown): SessionChange => ({
  name: 'session.setdefault',
  args: { key },
  next: (data) => (Object.hasOwn(data, key) ? data : { ...data, [key]: value }),
});

/** `session.update(key, fn)`: one key read, changed by `fn` and written, atomically; `undefined` removes it. */
export const updateValue = (key: string, fn: (value: unknown) => unknown): SessionChange => ({
  name: 'session.update',
  args: { key },
  next: (data) => {
    const value = fn(Object.hasOwn(data, key) ? structuredClone(data[key]) : undefined);
    return value === undefined ? without(data, key) : { ...data, [key]: value };
  },
});
