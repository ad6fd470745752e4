import { cart } from './cart.js';
import { flash } from './flash.js';
import { preferences } from './preferences.js';

/**
 * The server's session areas. Adding one is a new file in this folder and a
 * line here; its GraphQL fields, if any, go in src/graphql/types/ with the
 * helpers of sessionql/pothos.
 */
export const builtInAreas = [cart, preferences, flash] as const;
