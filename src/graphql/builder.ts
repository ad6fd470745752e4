import SchemaBuilder from '@pothos/core';
import type { RequestSession } from '../core/session.js';
import type { Config } from '../server/config.js';

export interface Context {
  readonly session: RequestSession;
  readonly config: Config;
}

/** The Pothos builder; it defines no types itself (see graphql/types/). */
export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
  Scalars: {
    JSON: { Input: unknown; Output: unknown };
    DateTime: { Input: Date; Output: Date };
  };
}>({ defaultFieldNullability: false });

builder.queryType({});
builder.mutationType({});
