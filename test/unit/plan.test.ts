import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  buildSchema,
  type ExecutionResult,
  execute,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  getOperationAST,
  parse,
  responsePathAsArray,
  validate,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { executePlan, planOperation } from '../../src/graphql/plan.js';
import { schema as apiSchema } from '../../src/graphql/schema.js';

// The planned executor (src/graphql/plan.ts) against graphql-js's execute, on one schema whose
// resolvers do everything a resolver can: values, promises, thrown and returned errors, rejected
// promises, null for a non-null field, a list that is not one, a scalar that cannot serialize. Each
// document runs through both on fresh state; the answers (data, errors with their messages,
// locations and paths) and the resolvers' calls (in order, with their args and info) must be equal.

const SDL = `
  enum Color { RED GREEN }
  input Filter { prefix: String, limit: Int = 2 }
  type Item {
    id: ID!
    name: String
    fails: String!
    failsAsync: String!
    maybe: String
    lateFail: String
    child: Item
    children(first: Int = 2): [Item!]
    loose: [Item]
    color: Color
  }
  type Query {
    ok: String
    count: Int!
    thrown: String
    returned: String
    rejected: String
    nullForNonNull: String!
    later: String
    item(id: ID!): Item
    items: [Item]
    strictItems: [Item!]!
    notAList: [Int]
    mixed: [Int]
    badInt: Int
    badColor: Color
    echo(text: String, times: Int = 3, filter: Filter, colors: [Color!]): String
    shout(text: String = "hey", times: Int): String
    deep: Item!
  }
  type Mutation {
    bump: Int!
    bumpLater: Int!
    fail: Int
    failHard: Int!
  }
`;

interface State {
  calls: string[];
  counter: number;
}

function makeSchema(): GraphQLSchema {
  const schema = buildSchema(SDL);
  const log =
    (resolve: GraphQLFieldResolver<unknown, State>): GraphQLFieldResolver<unknown, State> =>
    (source, args, context, info: GraphQLResolveInfo) => {
      context.calls.push(
        JSON.stringify([
          responsePathAsArray(info.path),
          info.path.typename,
          info.fieldName,
          String(info.returnType),
          info.parentType.name,
          info.fieldNodes.length,
          Object.keys(info.fragments),
          info.operation.name?.value ?? null,
          info.variableValues,
          info.rootValue ?? null,
          args,
        ]),
      );
      return resolve(source, args, context, info);
    };
  const item = (id: number, depth = 0): Record<string, unknown> => ({
    id,
    name: id % 3 === 0 ? null : `item ${id}`,
    fails: id % 2 === 0 ? `ok ${id}` : null,
    failsAsync: () => (id % 2 === 0 ? Promise.resolve(`ok ${id}`) : Promise.reject(new Error(`no ${id}`))),
    lateFail: () => new Promise((_, reject) => setTimeout(() => reject(new Error(`late ${id}`)), 5)),
    maybe: () => (id === 2 ? new Error('returned from maybe') : Promise.resolve(`maybe ${id}`)),
    child: depth < 3 ? () => item(id * 10 + 1, depth + 1) : null,
    children: ({ first }: { first: number }) => Array.from({ length: first }, (_, i) => item(id * 10 + i, depth + 1)),
    loose: () => [item(id + 100, 3), null, Promise.resolve(item(id + 200, 3)), Promise.reject(new Error('lost item'))],
    color: id % 2 ? 'RED' : 'GREEN',
  });
  const query: Record<string, GraphQLFieldResolver<unknown, State>> = {
    ok: () => 'ok',
    count: (_s, _a, context) => context.calls.length,
    thrown: () => {
      throw new Error('thrown here');
    },
    returned: () => new Error('returned here'),
    rejected: () => Promise.reject(new Error('rejected here')),
    nullForNonNull: () => null,
    later: () => new Promise((resolve) => setTimeout(() => resolve('later'), 1)),
    item: (_s, args) => (args.id === 'none' ? null : item(Number(args.id) || 1)),
    items: () => [item(1), null, item(2), item(3)],
    strictItems: () => [item(2), item(4), item(5)],
    notAList: () => 5,
    mixed: () => [1, Promise.resolve(2), Promise.reject(new Error('third')), 'x', 5],
    badInt: () => 'not a number',
    badColor: () => 'BLUE',
    echo: (_s, args) => JSON.stringify(args),
    // A resolver that changes its args: the next execution must not see it.
    shout: (_s, args) => {
      args.text = `${args.text}!`;
      args.times = 1 + (args.times ?? 0);
      return `${args.text} ${args.times}`;
    },
    deep: () => item(7),
  };
  const mutation: Record<string, GraphQLFieldResolver<unknown, State>> = {
    bump: (_s, _a, context) => ++context.counter,
    bumpLater: (_s, _a, context) => new Promise((resolve) => setTimeout(() => resolve(++context.counter), 1)),
    fail: () => {
      throw new Error('mutation failed');
    },
    failHard: () => null,
  };
  for (const [type, resolvers] of [
    ['Query', query],
    ['Mutation', mutation],
  ] as const) {
    const fields = schema.getType(type) as unknown as { getFields(): Record<string, { resolve?: unknown }> };
    for (const [name, field] of Object.entries(fields.getFields()))
      field.resolve = log(resolvers[name] as GraphQLFieldResolver<unknown, State>);
  }
  const itemType = schema.getType('Item') as unknown as { getFields(): Record<string, { resolve?: unknown }> };
  for (const field of Object.values(itemType.getFields())) {
    field.resolve = log((source, args, context, info) => {
      const value = (source as Record<string, unknown>)[info.fieldName];
      return typeof value === 'function' ? value(args, context, info) : value;
    });
  }
  return schema;
}

const DOCUMENTS: [string, string, Record<string, unknown>?][] = [
  ['plain values', '{ ok count __typename }'],
  ['aliases and a repeated field', '{ a: ok b: ok ok count c: count }'],
  ['errors thrown, returned and rejected', '{ thrown returned rejected ok later }'],
  ['null for a non-null root field nulls data', '{ ok nullForNonNull rejected }'],
  ['a nullable list with failing non-null fields', '{ items { id name fails maybe __typename } }'],
  ['a non-null list of non-null items: the error goes to the root', '{ ok strictItems { id fails } }'],
  ['async failures inside a non-null list', '{ strictItems { id failsAsync } later }'],
  ['not a list, and a list of promises, errors and a bad value', '{ notAList mixed }'],
  ['scalars and enums that cannot serialize', '{ badInt badColor deep { color } }'],
  [
    'arguments: literals, defaults, input objects, enum lists',
    '{ echo(text: "hi", filter: { prefix: "p" }, colors: [RED, GREEN]) e2: echo }',
  ],
  [
    'arguments from variables, with defaults',
    'query Q($t: String, $n: Int, $f: Filter, $id: ID!) { echo(text: $t, times: $n, filter: $f) item(id: $id) { id name } }',
    { t: 'x', f: { prefix: 'q', limit: 9 }, id: '4' },
  ],
  ['a variable that does not coerce: only errors', 'query Q($n: Int) { echo(times: $n) }', { n: 'many' }],
  ['a missing required variable', 'query Q($id: ID!) { item(id: $id) { id } }', {}],
  [
    'fragments, inline fragments and merged selections',
    `query Frags { item(id: "2") { ...A ... on Item { child { id } } child { name ...B } } deep { ...A } }
     fragment A on Item { id name children(first: 3) { id ...B } }
     fragment B on Item { color child { id } }`,
  ],
  ['the same fragment spread twice', '{ item(id: "4") { ...A ...A id } } fragment A on Item { id name }'],
  [
    '@skip and @include with literals',
    '{ ok @skip(if: true) count @include(if: false) a: ok @include(if: true) b: ok @skip(if: false) item(id: "3") { ... @skip(if: true) { id } name } }',
  ],
  ['deep nesting with a nulled child', '{ deep { child { child { child { id fails child { id } } } } } }'],
  ['a list with items, null, promises and a rejection', '{ item(id: "6") { loose { id name } } }'],
  [
    'errors after their position was nulled are dropped (a list fails at its first rejection)',
    '{ item(id: "1") { children(first: 3) { failsAsync lateFail } } ok }',
  ],
  ['null for a nullable object', '{ item(id: "none") { id } }'],
  ['a mutation runs its fields one after another', 'mutation M { a: bump b: bumpLater c: bump fail d: bump }'],
  ['a mutation whose non-null field fails nulls data', 'mutation { a: bump failHard b: bump }'],
];

// Documents for the property below: every kind of selection the plan handles (fields with and without
// aliases, merged repeats, arguments, inline fragments with and without a type, one named fragment,
// literal @skip/@include, nested objects and lists) over the schema above, plus mutations and variables.
const directive = fc.constantFrom('', '', '', ' @skip(if: true)', ' @skip(if: false)', ' @include(if: true)', ' @include(if: false)');
const alias = fc.constantFrom('', '', '', 'a: ', 'b: ');
const ITEM_LEAVES = ['id', 'name', 'fails', 'failsAsync', 'maybe', 'lateFail', 'color', '__typename'];
const ROOT_LEAVES = [
  'ok',
  'count',
  'thrown',
  'returned',
  'rejected',
  'nullForNonNull',
  'later',
  'badInt',
  'badColor',
  'notAList',
  'mixed',
  '__typename',
];
const { itemSelection } = fc.letrec<{ itemSelection: string }>((tie) => ({
  itemSelection: fc
    .array(
      fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.tuple(alias, fc.constantFrom(...ITEM_LEAVES), directive).map(([a, f, d]) => `${a}${f}${d}`),
        fc
          .tuple(
            alias,
            fc.constantFrom('child', 'loose', 'children(first: 0)', 'children(first: 2)', 'children'),
            directive,
            tie('itemSelection'),
          )
          .map(([a, f, d, sel]) => `${a}${f}${d} { ${sel} }`),
        fc.tuple(fc.constantFrom('... on Item', '...'), directive, tie('itemSelection')).map(([on, d, sel]) => `${on}${d} { ${sel} }`),
        directive.map((d) => `...F${d}`),
      ),
      { minLength: 1, maxLength: 4 },
    )
    .map((parts) => parts.join(' ')),
}));
const rootField = fc.oneof(
  fc.tuple(alias, fc.constantFrom(...ROOT_LEAVES), directive).map(([a, f, d]) => `${a}${f}${d}`),
  fc
    .tuple(
      alias,
      fc.constantFrom('echo', 'echo(text: "x", times: 1)', 'echo(filter: { prefix: "p" }, colors: [GREEN])', 'shout', 'shout(times: 2)'),
    )
    .map(([a, f]) => `${a}${f}`),
  fc
    .tuple(
      alias,
      fc.constantFrom('item(id: "2")', 'item(id: "3")', 'item(id: "none")', 'items', 'strictItems', 'deep'),
      directive,
      itemSelection,
    )
    .map(([a, f, d, sel]) => `${a}${f}${d} { ${sel} }`),
);
const fragmentBody = fc.array(fc.constantFrom(...ITEM_LEAVES, 'child { id name }', 'loose { id }'), { minLength: 1, maxLength: 3 });
const generatedDocument = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.tuple(fc.array(rootField, { minLength: 1, maxLength: 5 }), fragmentBody).map(([fields, fragment]) => {
      const operation = `{ ${fields.join(' ')} }`;
      return {
        source: operation.includes('...F') ? `${operation} fragment F on Item { ${fragment.join(' ')} }` : operation,
        variables: undefined,
      };
    }),
  },
  {
    weight: 1,
    arbitrary: fc.array(fc.constantFrom('bump', 'bumpLater', 'fail', 'failHard'), { minLength: 1, maxLength: 5 }).map((fields) => ({
      source: `mutation { ${fields.map((f, i) => `m${i}: ${f}`).join(' ')} }`,
      variables: undefined,
    })),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constantFrom('x', null, 5), n: fc.constantFrom(2, null, 'many', 2 ** 40) }).map((variables) => ({
      source: 'query Q($t: String, $n: Int) { echo(text: $t, times: $n) shout(text: $t) }',
      variables,
    })),
  },
);

async function run(schema: GraphQLSchema, source: string, variables: Record<string, unknown> | undefined, planned: boolean) {
  const document = parse(source);
  expect(validate(schema, document)).toEqual([]);
  const operation = getOperationAST(document);
  if (!operation) throw new Error('no operation');
  const state: State = { calls: [], counter: 0 };
  let result: ExecutionResult;
  if (planned) {
    const plan = planOperation(schema, document, operation);
    expect(plan, 'planned').not.toBeNull();
    result = await executePlan(plan as NonNullable<typeof plan>, state, variables);
  } else {
    result = await execute({ schema, document, contextValue: state, variableValues: variables });
  }
  // Resolvers still running after the answer may add errors to it, as in graphql-js: wait for them.
  await new Promise((resolve) => setTimeout(resolve, /later|lateFail/i.test(source) ? 10 : 1));
  return {
    answer: JSON.parse(JSON.stringify(result)),
    errors: result.errors?.map((e) => [e.message, e.path, e.locations]),
    calls: state.calls,
  };
}

describe('planned execution', () => {
  const schema = makeSchema();

  it.each(DOCUMENTS)('answers as graphql-js: %s', async (_name, source, variables) => {
    const expected = await run(schema, source, variables, false);
    const actual = await run(schema, source, variables, true);
    expect(expected.answer.errors ?? []).not.toContainEqual(expect.objectContaining({ message: 'Maximum call stack size exceeded' }));
    expect(actual).toEqual(expected);
  });

  it('answers as graphql-js on generated documents (fast-check; SESSIONQL_PLAN_SEED replays one)', async () => {
    const seed = process.env.SESSIONQL_PLAN_SEED ? Number(process.env.SESSIONQL_PLAN_SEED) : undefined;
    let ran = 0;
    await fc.assert(
      fc.asyncProperty(generatedDocument, async ({ source, variables }) => {
        fc.pre(validate(schema, parse(source)).length === 0);
        ran++;
        const expected = await run(schema, source, variables, false);
        expect(await run(schema, source, variables, true), source).toEqual(expected);
      }),
      { numRuns: 250, seed, maxSkipsPerRun: 10 },
    );
    expect(ran).toBeGreaterThanOrEqual(250);
  }, 60_000);

  it('gives each execution its own args, as graphql-js', async () => {
    for (const source of ['{ shout }', '{ shout(text: "ho", times: 2) }', '{ a: shout(times: 1) b: shout(times: 1) }']) {
      const document = parse(source);
      const plan = planOperation(schema, document, getOperationAST(document) as NonNullable<ReturnType<typeof getOperationAST>>);
      const once = await execute({ schema, document, contextValue: { calls: [], counter: 0 } });
      for (let i = 0; i < 3; i++) {
        expect(await executePlan(plan as NonNullable<typeof plan>, { calls: [], counter: 0 }, undefined)).toEqual(once);
      }
    }
  });

  it('plans a document whose fragments add no fields beyond its text', () => {
    const document = parse(`{ deep { ...F1 } } fragment F1 on Item { child { ...F2 } } fragment F2 on Item { child { id name } }`);
    expect(planOperation(schema, document, getOperationAST(document) as NonNullable<ReturnType<typeof getOperationAST>>)).not.toBeNull();
  });

  it('is synchronous when every resolver is, as graphql-js', () => {
    const document = parse('{ ok items { id name } }');
    const plan = planOperation(schema, document, getOperationAST(document) as NonNullable<ReturnType<typeof getOperationAST>>);
    const result = executePlan(plan as NonNullable<typeof plan>, { calls: [], counter: 0 }, undefined);
    expect(result).not.toBeInstanceOf(Promise);
  });

  it.each([
    ['introspection', '{ __schema { queryType { name } } }'],
    ['a type lookup', '{ __type(name: "Item") { name } }'],
    ['@skip on a variable', 'query Q($s: Boolean!) { ok @skip(if: $s) }'],
    ['@include on a variable in a fragment', 'query Q($s: Boolean!) { item(id: "1") { ... @include(if: $s) { id } } }'],
    ['a response named __proto__', '{ __proto__: ok }'],
    ['a subscription', 'subscription { ok }'],
    [
      'fragments that plan more fields than the document has tokens',
      `{ deep { ...F1 } }
       fragment F1 on Item { child { ...F2 } loose { ...F2 } }
       fragment F2 on Item { child { ...F3 } loose { ...F3 } }
       fragment F3 on Item { child { ...F4 } loose { ...F4 } }
       fragment F4 on Item { child { ...F5 } loose { ...F5 } }
       fragment F5 on Item { child { ...F6 } loose { ...F6 } }
       fragment F6 on Item { child { id name } loose { id name } }`,
    ],
  ])('leaves %s to graphql-js', (_name, source) => {
    const document = parse(source);
    const operation = getOperationAST(document);
    expect(operation).not.toBeNull();
    expect(planOperation(schema, document, operation as NonNullable<typeof operation>)).toBeNull();
  });

  it('plans every document real clients send to the API (Apollo Client and urql as captured, and the bench)', () => {
    type Request = { body?: { query?: string }; path?: string };
    const profiles = JSON.parse(readFileSync(new URL('../../bench/profiles.json', import.meta.url), 'utf8')) as Record<
      string,
      { init: Request[]; read: Request; write: Request; lostUpdates: Record<string, Request> }
    >;
    // The loadgen's own graphql profile (../shared/peers/loadgen), as the bench sends it.
    const sources = new Set<string>([
      '{ session { value(key:"username") } cart { items { sku quantity } } }',
      'mutation { addToCart(sku:"A") { totalQuantity } }',
    ]);
    for (const profile of Object.values(profiles)) {
      for (const request of [...profile.init, profile.read, profile.write, ...Object.values(profile.lostUpdates)]) {
        const query = request.body?.query ?? (request.path ? new URL(request.path, 'http://x').searchParams.get('query') : null);
        if (query) sources.add(query.replaceAll('{i}', '1'));
      }
    }
    expect(sources.size).toBeGreaterThanOrEqual(7);
    for (const source of sources) {
      const document = parse(source);
      expect(validate(apiSchema, document), source).toEqual([]);
      const operation = getOperationAST(document);
      expect(planOperation(apiSchema, document, operation as NonNullable<typeof operation>), source).not.toBeNull();
    }
  });
});
