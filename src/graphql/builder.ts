import SchemaBuilder from '@pothos/core';
import type { SessionContext } from '../pothos.js';

export type Context = SessionContext;

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
builder.subscriptionType({});
