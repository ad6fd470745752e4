import type { SQL } from 'drizzle-orm';
import type { WriteRefused } from '../../../core/errors.js';

/**
 * A change's compiled form: its pure function (an area operation, or one of
 * Django's dict writes) written as SQL over the stored data `d`, so that the
 * engine applies it in one statement under the row lock, with no read first
 * and no retry. Kept only for the hot operations, where the bench shows that
 * it matters (docs/decisions/0006), and property-tested against the pure
 * function (test/postgres/compiled-forms.test.ts): it is never the rule, only
 * a faster way to run it.
 */
export interface CompiledForm {
  /** The change's name (`cart.add`). */
  readonly name: string;
  /** The new data, given the current data. */
  readonly next: (d: SQL) => SQL;
  /** A text expression: a refusal's code, or NULL when the change is allowed. */
  readonly violation?: (d: SQL) => SQL;
  /** The statement's parameters, from the change's arguments. */
  readonly params: (args: Readonly<Record<string, unknown>>) => Record<string, unknown>;
  /** The refusal a code stands for (the area's). */
  readonly refusal: (code: string) => WriteRefused;
}

export const sameParams = (args: Readonly<Record<string, unknown>>) => ({ ...args });
export const noRefusal = (code: string): WriteRefused => {
  throw new Error(`unexpected refusal code ${code}`);
};
