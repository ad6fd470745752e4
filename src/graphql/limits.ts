import {
  type ASTVisitor,
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  type OperationDefinitionNode,
  type ParseOptions,
  parse,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

/** What one GraphQL request may cost (README, "Limits"). */
export interface QueryLimits {
  /** GRAPHQL_MAX_DEPTH: nesting of selection sets. @default 10 */
  maxDepth: number;
  /** GRAPHQL_MAX_ALIASES: aliased fields in a document. @default 15 */
  maxAliases: number;
  /** GRAPHQL_MAX_ROOT_FIELDS: fields at the top of an operation. @default 10 */
  maxRootFields: number;
  /** GRAPHQL_MAX_TOKENS: lexical tokens in a document (checked while parsing). @default 1000 */
  maxTokens: number;
  /** GRAPHQL_INTROSPECTION: allow __schema / __type. */
  introspection: boolean;
}

/** What the limits measure in a document, and `work`: the selections visited to measure it. */
export interface DocumentMeasure {
  /** Nesting of selection sets of the deepest operation (an operation alone is 1). */
  depth: number;
  /** Fields at the top of the widest operation, through root fragment spreads and inline fragments. */
  rootFields: number;
  /** Aliased field nodes in the document text. */
  aliases: number;
  /** Selection nodes visited; at most twice the selection nodes of the document. */
  work: number;
}

interface SetMeasure {
  /** Nesting below this selection set (a set of leaves is 0). */
  depth: number;
  /** Fields at this set's own level, through fragment spreads and inline fragments. */
  fields: number;
}

const NOTHING: SetMeasure = { depth: 0, fields: 0 };

/**
 * Measures a document with each fragment walked once (memoized), so the cost
 * is linear in the document: walking a fragment again at every spread made
 * `fragment F0 { ...F1 ...F1 } fragment F1 { ...F2 ...F2 } …` cost 2^n.
 * Validation runs this rule in the same pass as NoFragmentCyclesRule and
 * KnownFragmentNamesRule, so a cycle or an unknown fragment can be present:
 * a fragment met again while it is being measured, and an unknown one, count
 * as empty (the document is refused by those rules anyway).
 */
class DocumentMeter {
  work = 0;
  private readonly fragments = new Map<string, FragmentDefinitionNode>();
  private readonly measured = new Map<string, SetMeasure>();
  private aliasCount: number | undefined;

  constructor(private readonly document: DocumentNode) {
    for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) this.fragments.set(d.name.value, d);
  }

  operation(node: OperationDefinitionNode): { depth: number; rootFields: number } {
    const root = this.selectionSet(node.selectionSet);
    return { depth: 1 + root.depth, rootFields: root.fields };
  }

  /**
   * Aliased fields are counted in the text, each field node once, not once per
   * spread of its fragment: the limit is "aliased fields in a document" (the
   * `a1: … a10000: …` batch that execution cannot merge), the text is bounded
   * by GRAPHQL_MAX_TOKENS, and a fragment spread twice at one level runs once
   * (graphql-js's collectFields skips a fragment it has already visited).
   * Reuse under different parents is bounded by the depth limit and by a
   * schema whose types do not nest (Session → Cart → CartItem).
   */
  aliases(): number {
    if (this.aliasCount === undefined) {
      let count = 0;
      const walk = (set: SelectionSetNode | undefined): void => {
        if (!set) return;
        for (const selection of set.selections) {
          this.work++;
          if (selection.kind === Kind.FIELD && selection.alias) count++;
          if (selection.kind !== Kind.FRAGMENT_SPREAD) walk(selection.selectionSet);
        }
      };
      for (const d of this.document.definitions) {
        if (d.kind === Kind.OPERATION_DEFINITION || d.kind === Kind.FRAGMENT_DEFINITION) walk(d.selectionSet);
      }
      this.aliasCount = count;
    }
    return this.aliasCount;
  }

  /**
   * Root fields add up through every spread, a repeated one too: an upper
   * bound of what runs (collectFields would merge a repeated spread), which
   * can be memoized per fragment; clients do not repeat a spread at the root.
   */
  private selectionSet(set: SelectionSetNode): SetMeasure {
    let depth = 0;
    let fields = 0;
    for (const selection of set.selections) {
      this.work++;
      if (selection.kind === Kind.FIELD) {
        fields++;
        // Introspection is bounded by the schema (and can be switched off): GraphiQL's own query nests ofType deeply.
        if (selection.selectionSet && !selection.name.value.startsWith('__')) {
          depth = Math.max(depth, 1 + this.selectionSet(selection.selectionSet).depth);
        }
        continue;
      }
      // Inline fragments and spreads are transparent: their fields sit at this level.
      const inner =
        selection.kind === Kind.INLINE_FRAGMENT ? this.selectionSet(selection.selectionSet) : this.fragment(selection.name.value);
      depth = Math.max(depth, inner.depth);
      fields += inner.fields;
    }
    return { depth, fields };
  }

  private fragment(name: string): SetMeasure {
    const known = this.measured.get(name);
    if (known) return known;
    const fragment = this.fragments.get(name);
    if (!fragment) return NOTHING;
    this.measured.set(name, NOTHING); // in progress: a cycle back here counts as empty
    const measure = this.selectionSet(fragment.selectionSet);
    this.measured.set(name, measure);
    return measure;
  }
}

/**
 * Measures what the limits check: depth and root fields of `operation` (by
 * name; the deepest and widest of all operations when omitted) and the
 * document's aliases. The validation rule uses the same meter.
 */
export function measureDocument(document: DocumentNode, operation?: string): DocumentMeasure {
  const meter = new DocumentMeter(document);
  let depth = 0;
  let rootFields = 0;
  for (const d of document.definitions) {
    if (d.kind !== Kind.OPERATION_DEFINITION || (operation !== undefined && d.name?.value !== operation)) continue;
    const measure = meter.operation(d);
    depth = Math.max(depth, measure.depth);
    rootFields = Math.max(rootFields, measure.rootFields);
  }
  const aliases = meter.aliases();
  return { depth, rootFields, aliases, work: meter.work };
}

/**
 * Parses with GRAPHQL_MAX_TOKENS: the parser stops at the limit, so 10,000
 * aliased fields cost microseconds, not a parse of megabytes. The limit's
 * error is a request error (status per media type, like a parse error).
 */
export function parseDocument(source: string, maxTokens: number, options?: ParseOptions): DocumentNode {
  try {
    return parse(source, { ...options, maxTokens });
  } catch (error) {
    if (error instanceof GraphQLError && /contains more th(?:an|at) \d+ tokens/.test(error.message)) {
      throw new GraphQLError(`The document exceeds GRAPHQL_MAX_TOKENS (${maxTokens} tokens); parsing stopped.`, {
        extensions: { code: 'QUERY_TOO_COMPLEX', limit: 'GRAPHQL_MAX_TOKENS', http: { status: 400 } },
      });
    }
    throw error;
  }
}

function limitError(name: string, limit: number, found: number, what: string): GraphQLError {
  return new GraphQLError(`${what} exceeds ${name} (${found} > ${limit}).`, {
    extensions: { code: 'QUERY_TOO_COMPLEX', limit: name },
  });
}

/** Validation rules that refuse an expensive document before anything runs. */
export function limitRules(limits: QueryLimits): ValidationRule[] {
  const costRule = (context: ValidationContext): ASTVisitor => {
    // One meter per validation: fragments are measured once for all operations.
    const meter = new DocumentMeter(context.getDocument());
    return {
      OperationDefinition(node) {
        const { depth, rootFields } = meter.operation(node);
        if (depth > limits.maxDepth) context.reportError(limitError('GRAPHQL_MAX_DEPTH', limits.maxDepth, depth, 'Query depth'));
        if (rootFields > limits.maxRootFields) {
          context.reportError(limitError('GRAPHQL_MAX_ROOT_FIELDS', limits.maxRootFields, rootFields, 'Root fields'));
        }
      },
      Document: {
        leave() {
          const aliases = meter.aliases();
          if (aliases > limits.maxAliases) context.reportError(limitError('GRAPHQL_MAX_ALIASES', limits.maxAliases, aliases, 'Aliases'));
        },
      },
    };
  };
  return limits.introspection ? [costRule] : [costRule, NoSchemaIntrospectionCustomRule];
}
