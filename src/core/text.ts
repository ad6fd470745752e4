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

/** How deeply a JSON value may nest: deeper ones are refused before PostgreSQL's stack limit is near. */
export const MAX_JSON_DEPTH = 1000;

/**
 * The same rule for every string (keys included) of a JSON value, and a
 * bound on its nesting. Iterative, so a hostile depth cannot overflow the stack.
 */
export function validateJsonValue(argument: string, value: unknown): void {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v === 'string') validateText(argument, v);
    else if (typeof v === 'number' && !Number.isFinite(v))
      throw new InputError(argument, 'numbers must be finite (JSON has no Infinity or NaN; 1e400 is out of range)');
    else if (typeof v === 'bigint' || typeof v === 'function' || typeof v === 'symbol')
      throw new TypeError(`${argument}: session values must be JSON; a ${typeof v} is not`);
    else if (v !== null && typeof v === 'object') {
      // A Date, a Map or a class instance would be stored as what JSON.stringify makes of it ("…", {}): refused, as Django's JSON serializer does.
      const prototype = Object.getPrototypeOf(v);
      if (!Array.isArray(v) && prototype !== Object.prototype && prototype !== null)
        throw new TypeError(
          `${argument}: session values must be JSON; a ${prototype?.constructor?.name ?? 'non-plain object'} is not (convert it first)`,
        );
      if (depth >= MAX_JSON_DEPTH) throw new InputError(argument, `must be nested at most ${MAX_JSON_DEPTH} levels deep`);
      if (Array.isArray(v)) for (const item of v) stack.push([item, depth + 1]);
      else {
        for (const [key, item] of Object.entries(v)) {
          validateText(argument, key);
          stack.push([item, depth + 1]);
        }
      }
    }
  }
}
