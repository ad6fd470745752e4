import SchemaBuilder from '@pothos/core';
import type { Config } from '../config.js';
import type { RequestSession } from '../session/request-session.js';

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
