import { parse, type ValidationRule } from 'graphql';
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
      setParseFn((source, options) => parse(source, { ...options, maxTokens: limits.maxTokens }));
    },
    onValidate({ addValidationRule }) {
      for (const rule of rules) addValidationRule(rule);
    },
  };
}
