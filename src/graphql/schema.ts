import { builder } from './builder.js';
import './scalars.js';
import './types/cart.js';
import './types/flash.js';
import './types/preferences.js';
import './types/session.js';

/** The whole API; its printed form is schema.graphql. */
export const schema = builder.toSchema({ sortSchema: false });
