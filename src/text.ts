import { InputError } from './errors.js';

/**
 * PostgreSQL text and jsonb cannot hold U+0000, and a lone UTF-16 surrogate
 * has no UTF-8 form (it would be stored as U+FFFD, not as given): both are
 * refused up front as BAD_USER_INPUT rather than failing in the database.
 */
export function validateText(argument: string, value: string): string {
  if (value.includes('\u0000')) throw new InputError(argument, 'must not contain U+0000 (NUL)');
  if (!value.isWellFormed()) throw new InputError(argument, 'must be well-formed Unicode (no lone surrogates)');
  return value;
}

/** The same rule for every string in a JSON value, checked on its JSON.stringify text. */
export function validateJsonText(argument: string, json: string): string {
  // JSON.stringify escapes NUL as \u0000 and lone surrogates as \udXXX; paired surrogates stay raw.
  if (/\\u0000/.test(json)) throw new InputError(argument, 'must not contain U+0000 (NUL) in any string');
  if (/\\ud[89a-f][0-9a-f]{2}/i.test(json)) throw new InputError(argument, 'must be well-formed Unicode (no lone surrogates)');
  return json;
}
