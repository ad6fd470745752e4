import fc from 'fast-check';
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  Kind,
  type OperationDefinitionNode,
  parse,
  type SelectionSetNode,
  specifiedRules,
  validate,
  visit,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { limitRules, measureDocument, type QueryLimits } from '../../src/graphql/limits.js';
import { schema } from '../../src/graphql/schema.js';

const limits: QueryLimits = { maxDepth: 10, maxAliases: 15, maxRootFields: 10, maxTokens: 1000, introspection: true };

/** Fields, inline fragments and fragment spreads: what a linear measure may visit (a small constant times). */
function selectionNodes(document: DocumentNode): number {
  let count = 0;
  const one = () => {
    count++;
  };
  visit(document, { Field: one, InlineFragment: one, FragmentSpread: one });
  return count;
}

/** `fragment F0 on T { ...F1 ...F1 } … fragment F{n-1} on T { last }`: 2^(n-1) paths from F0. */
function doublingChain(n: number, body: (next: string) => string, last = '__typename', on = 'Query'): string {
  return Array.from({ length: n }, (_, i) => `fragment F${i} on ${on} { ${i === n - 1 ? last : body(`F${i + 1}`)} }`).join('\n');
}

const chain = doublingChain(35, (next) => `...${next} ...${next}`);

/** The old, exponential walk: the reference for depth (fragments on the current path count 0). */
function naiveDepth(set: SelectionSetNode | undefined, fragments: Map<string, FragmentDefinitionNode>, path: string[] = []): number {
  let deepest = 0;
  for (const s of set?.selections ?? []) {
    let depth = 0;
    if (s.kind === Kind.FIELD)
      depth = s.selectionSet && !s.name.value.startsWith('__') ? 1 + naiveDepth(s.selectionSet, fragments, path) : 0;
    else if (s.kind === Kind.INLINE_FRAGMENT) depth = naiveDepth(s.selectionSet, fragments, path);
    else if (!path.includes(s.name.value))
      depth = naiveDepth(fragments.get(s.name.value)?.selectionSet, fragments, [...path, s.name.value]);
    deepest = Math.max(deepest, depth);
  }
  return deepest;
}

/** Root fields by expanding every spread and inline fragment at the top, every time. */
function naiveRootFields(set: SelectionSetNode | undefined, fragments: Map<string, FragmentDefinitionNode>): number {
  let count = 0;
  for (const s of set?.selections ?? []) {
    if (s.kind === Kind.FIELD) count++;
    else if (s.kind === Kind.INLINE_FRAGMENT) count += naiveRootFields(s.selectionSet, fragments);
    else count += naiveRootFields(fragments.get(s.name.value)?.selectionSet, fragments);
  }
  return count;
}

function naiveAliases(document: DocumentNode): number {
  let count = 0;
  visit(document, {
    Field(node) {
      if (node.alias) count++;
    },
  });
  return count;
}

function naive(document: DocumentNode, operation?: string) {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && (operation === undefined || d.name?.value === operation),
  );
  return {
    depth: Math.max(0, ...operations.map((o) => 1 + naiveDepth(o.selectionSet, fragments))),
    rootFields: Math.max(0, ...operations.map((o) => naiveRootFields(o.selectionSet, fragments))),
    aliases: naiveAliases(document),
  };
}

describe('measuring a document is linear in its size', () => {
  it.each([
    ['a doubling chain of 35 fragments at the root', `query { ...F0 }\n${chain}`, { depth: 1, rootFields: 2 ** 34, aliases: 0 }],
    [
      'a tripling chain of 23 fragments',
      `query { ...F0 }\n${doublingChain(23, (n) => `...${n} ...${n} ...${n}`)}`,
      { depth: 1, rootFields: 3 ** 22, aliases: 0 },
    ],
    [
      'spreads inside nested fields',
      `query { ...F0 }\n${doublingChain(35, (n) => `a { ...${n} ...${n} } b { ...${n} } ...${n}`)}`,
      { depth: 35, rootFields: 2 * 34 + 1, aliases: 0 },
    ],
    [
      'spreads inside inline fragments',
      `query { ...F0 }\n${doublingChain(35, (n) => `... on Query { ...${n} } ... { ...${n} }`)}`,
      { depth: 1, rootFields: 2 ** 34, aliases: 0 },
    ],
    [
      'fifty operations sharing the chain',
      `${Array.from({ length: 50 }, (_, i) => `query Q${i} { x${i}: __typename ...F0 }`).join('\n')}\n${chain}`,
      { depth: 1, rootFields: 1 + 2 ** 34, aliases: 50 },
    ],
    [
      'an unknown fragment',
      `query { session { ...Missing } ...F0 }\n${chain.replace('fragment F1 on Query { ...F2 ...F2 }', 'fragment F1 on Query { ...F2 ...Nowhere }')}`,
      { depth: 2, rootFields: 1 + 2 ** 33, aliases: 0 },
    ],
  ])('%s', (_, query, expected) => {
    const document = parse(query);
    const measure = measureDocument(document);
    expect({ depth: measure.depth, rootFields: measure.rootFields, aliases: measure.aliases }).toEqual(expected);
    expect(measure.work).toBeLessThanOrEqual(2 * selectionNodes(document));
  });

  it('a fragment cycle (refused by NoFragmentCyclesRule) terminates, counting the fragment met again as empty', () => {
    const cyclic = doublingChain(35, (n) => `...${n} ...${n} a { ...${n} }`, '...F0 ...F0 b { ...F0 }');
    const document = parse(`query { ...F0 }\nquery Self { ...Self }\nfragment Self on Query { ...Self x { ...Self } }\n${cyclic}`);
    const measure = measureDocument(document);
    expect(measure.work).toBeLessThanOrEqual(2 * selectionNodes(document));
    expect(measure.depth).toBe(36);
    expect(measureDocument(document, 'Self')).toMatchObject({ depth: 2, rootFields: 1 });
  });

  it('agrees with the exponential walk on random fragment graphs, with work at most twice the selections (fast-check)', () => {
    fc.assert(
      fc.property(documentArbitrary, (query) => {
        const document = parse(query);
        const measure = measureDocument(document);
        expect(measure.work).toBeLessThanOrEqual(2 * selectionNodes(document));
        expect({ depth: measure.depth, rootFields: measure.rootFields, aliases: measure.aliases }).toEqual(naive(document));
        const one = measureDocument(document, 'Q0');
        expect({ depth: one.depth, rootFields: one.rootFields }).toEqual({
          depth: naive(document, 'Q0').depth,
          rootFields: naive(document, 'Q0').rootFields,
        });
      }),
      { numRuns: 300 },
    );
  });
});

describe('the limit rules under graphql validate', () => {
  /**
   * Counts reads of `selections` while validating and stops past a budget, so an exponential walk fails the
   * test instead of freezing it (graphql's own rules and the limit rule read about 4 per selection).
   */
  function validateWithBudget(query: string, budgetPerSelection: number, ruleLimits = limits) {
    const document = parse(query);
    const budget = budgetPerSelection * selectionNodes(document);
    let reads = 0;
    visit(document, {
      SelectionSet(node) {
        const selections = node.selections;
        Object.defineProperty(node, 'selections', {
          enumerable: true,
          get() {
            if (++reads > budget) throw new Error(`more than ${budget} reads of selections`);
            return selections;
          },
        });
      },
    });
    return { errors: validate(schema, document, [...specifiedRules, ...limitRules(ruleLimits)]) };
  }

  it('the doubling chain at the root is refused for its root fields, with a bounded walk', () => {
    const { errors } = validateWithBudget(`query { ...F0 }\n${chain}`, 50);
    expect(errors.map((e) => e.message)).toEqual([`Root fields exceeds GRAPHQL_MAX_ROOT_FIELDS (${2 ** 34} > 10).`]);
    expect(errors[0]?.extensions).toEqual({ code: 'QUERY_TOO_COMPLEX', limit: 'GRAPHQL_MAX_ROOT_FIELDS' });
  });

  it('a doubling chain inside session passes every rule, with a bounded walk', () => {
    const session = doublingChain(35, (n) => `cart { isEmpty } ...${n} ...${n}`, 'exists', 'Session');
    expect(validateWithBudget(`query { session { ...F0 } }\n${session}`, 50).errors).toEqual([]);
  });

  it('a doubling chain nested past the depth limit is refused naming GRAPHQL_MAX_DEPTH', () => {
    const cart = doublingChain(35, (n) => `...${n} ...${n}`, 'items { sku }', 'Cart');
    const { errors } = validateWithBudget(`query { session { cart { ...F0 } } }\n${cart}`, 50, { ...limits, maxDepth: 3 });
    expect(errors.map((e) => e.message)).toEqual(['Query depth exceeds GRAPHQL_MAX_DEPTH (4 > 3).']);
    expect(errors[0]?.extensions).toEqual({ code: 'QUERY_TOO_COMPLEX', limit: 'GRAPHQL_MAX_DEPTH' });
    expect(validateWithBudget(`query { session { cart { ...F0 } } }\n${cart}`, 50).errors).toEqual([]);
  });

  it('a fragment cycle is reported by NoFragmentCyclesRule; the limit rule terminates', () => {
    const cyclic = doublingChain(35, (n) => `...${n} ...${n}`, '...F0 ...F0');
    const { errors } = validateWithBudget(`query { ...F0 }\n${cyclic}`, 50);
    expect(errors.some((e) => /Cannot spread fragment "F0" within itself/.test(e.message))).toBe(true);
  });
});

// Random fragment DAGs: fragments F0..Fn-1 spread only higher-numbered ones (repeats allowed), so the naive walk ends.
type Item =
  | { kind: 'field'; name: string; alias: boolean; children: readonly Item[] }
  | { kind: 'inline'; children: readonly Item[] }
  | { kind: 'spread'; target: number };

function itemArbitrary(depth: number): fc.Arbitrary<Item> {
  const leaf = fc.record({
    kind: fc.constant('field' as const),
    name: fc.constantFrom('a', 'b', '__typename'),
    alias: fc.boolean(),
    children: fc.constant([]),
  });
  const spread = fc.record({ kind: fc.constant('spread' as const), target: fc.nat(20) });
  if (depth === 0) return fc.oneof(leaf, spread);
  const children = fc.array(itemArbitrary(depth - 1), { minLength: 1, maxLength: 3 });
  return fc.oneof(
    leaf,
    spread,
    spread,
    fc.record({ kind: fc.constant('field' as const), name: fc.constantFrom('a', 'b', '__type'), alias: fc.boolean(), children }),
    fc.record({ kind: fc.constant('inline' as const), children }),
  );
}

/** Prints items of fragment `from` (-1: an operation) with spreads to fragments after it, of `count`. */
function print(items: readonly Item[], from: number, count: number): string {
  return items
    .map((item): string => {
      if (item.kind === 'spread') {
        const after = count - from - 1;
        return after > 0 ? `...F${from + 1 + (item.target % after)}` : '__typename';
      }
      if (item.kind === 'inline') return `... { ${print(item.children, from, count)} }`;
      const name = item.alias ? `x: ${item.name}` : item.name;
      return item.children.length ? `${name} { ${print(item.children, from, count)} }` : name;
    })
    .join(' ');
}

const selectionArbitrary = fc.array(itemArbitrary(2), { minLength: 1, maxLength: 4 });
const documentArbitrary = fc
  .record({
    operations: fc.array(selectionArbitrary, { minLength: 1, maxLength: 3 }),
    fragments: fc.array(selectionArbitrary, { maxLength: 7 }),
  })
  .map(({ operations, fragments }) =>
    [
      ...operations.map((items, i) => `query Q${i} { ${print(items, -1, fragments.length)} }`),
      ...fragments.map((items, i) => `fragment F${i} on Query { ${print(items, i, fragments.length)} }`),
    ].join('\n'),
  );
