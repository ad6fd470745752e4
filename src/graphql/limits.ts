import {
  type ASTVisitor,
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
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

function limitError(name: string, limit: number, found: number, what: string): GraphQLError {
  return new GraphQLError(`${what} exceeds ${name} (${found} > ${limit}).`, {
    extensions: { code: 'QUERY_TOO_COMPLEX', limit: name },
  });
}

function depthOf(set: SelectionSetNode | undefined, fragments: Map<string, FragmentDefinitionNode>, seen: Set<string>): number {
  if (!set) return 0;
  let deepest = 0;
  for (const selection of set.selections) {
    let depth = 0;
    // Introspection is bounded by the schema (and can be switched off): GraphiQL's own query nests ofType deeply.
    if (selection.kind === Kind.FIELD && selection.name.value.startsWith('__')) depth = 0;
    else if (selection.kind === Kind.FIELD) depth = selection.selectionSet ? 1 + depthOf(selection.selectionSet, fragments, seen) : 0;
    else if (selection.kind === Kind.INLINE_FRAGMENT) depth = depthOf(selection.selectionSet, fragments, seen);
    else if (!seen.has(selection.name.value)) {
      const fragment = fragments.get(selection.name.value);
      seen.add(selection.name.value);
      depth = depthOf(fragment?.selectionSet, fragments, seen);
      seen.delete(selection.name.value);
    }
    deepest = Math.max(deepest, depth);
  }
  return deepest;
}

/** Validation rules that refuse an expensive document before anything runs. */
export function limitRules(limits: QueryLimits): ValidationRule[] {
  const costRule = (context: ValidationContext): ASTVisitor => {
    const document = context.getDocument();
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    let aliases = 0;
    return {
      Field(node) {
        if (node.alias) aliases++;
      },
      OperationDefinition(node) {
        const depth = 1 + depthOf(node.selectionSet, fragments, new Set());
        if (depth > limits.maxDepth) context.reportError(limitError('GRAPHQL_MAX_DEPTH', limits.maxDepth, depth, 'Query depth'));
        const roots = node.selectionSet.selections.length;
        if (roots > limits.maxRootFields) {
          context.reportError(limitError('GRAPHQL_MAX_ROOT_FIELDS', limits.maxRootFields, roots, 'Root fields'));
        }
      },
      Document: {
        leave() {
          if (aliases > limits.maxAliases) context.reportError(limitError('GRAPHQL_MAX_ALIASES', limits.maxAliases, aliases, 'Aliases'));
        },
      },
    };
  };
  return limits.introspection ? [costRule] : [costRule, NoSchemaIntrospectionCustomRule];
}
