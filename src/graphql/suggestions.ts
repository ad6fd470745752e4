import { GraphQLError } from 'graphql';

// graphql-js ends a message with its suggestions: `Cannot query field "x" on
// type "Session". Did you mean "keys"?`, `… Did you mean the enum value "DARK"?`.
const SUGGESTION = / Did you mean .*\?$/s;

/**
 * The error without graphql-js's "Did you mean …?" suggestions. With
 * introspection off they would reveal the schema a field name at a time
 * (graphql 16 has no switch for them; 17's `hideSuggestions` does this).
 */
export function withoutSuggestions(error: GraphQLError): GraphQLError {
  if (!SUGGESTION.test(error.message)) return error;
  return new GraphQLError(error.message.replace(SUGGESTION, ''), {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}
