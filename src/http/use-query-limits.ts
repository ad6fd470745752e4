import { GraphQLError, parse, type ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { QueryLimits } from '../graphql/limits.js';

/**
 * Hostile documents are refused before anything runs: the parser stops at
 * GRAPHQL_MAX_TOKENS (so 10,000 aliased fields cost microseconds, not a
 * parse of megabytes), and validation applies the depth, alias and
 * root-field limits and, when off, hides introspection.
 */
export function useQueryLimits(limits: QueryLimits, rules: readonly ValidationRule[]): Plugin {
  return {
    onParse({ setParseFn }) {
      setParseFn((source, options) => {
        try {
          return parse(source, { ...options, maxTokens: limits.maxTokens });
        } catch (error) {
          if (error instanceof GraphQLError && /contains more th(?:an|at) \d+ tokens/.test(error.message)) {
            throw new GraphQLError(`The document exceeds GRAPHQL_MAX_TOKENS (${limits.maxTokens} tokens); parsing stopped.`, {
              extensions: { code: 'QUERY_TOO_COMPLEX', limit: 'GRAPHQL_MAX_TOKENS', http: { status: 400 } },
            });
          }
          throw error;
        }
      });
    },
    onValidate({ addValidationRule }) {
      for (const rule of rules) addValidationRule(rule);
    },
  };
}
