import type { ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { parseDocument, type QueryLimits } from '../graphql/limits.js';

/**
 * Hostile documents are refused before anything runs, on Yoga's side as on
 * the fast path: the parser stops at GRAPHQL_MAX_TOKENS, and validation
 * applies the depth, alias and root-field limits and, when off, hides
 * introspection.
 */
export function useQueryLimits(limits: QueryLimits, rules: readonly ValidationRule[]): Plugin {
  return {
    onParse({ setParseFn }) {
      setParseFn((source, options) => parseDocument(typeof source === 'string' ? source : source.body, limits.maxTokens, options));
    },
    onValidate({ addValidationRule }) {
      for (const rule of rules) addValidationRule(rule);
    },
  };
}
