import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { withoutSuggestions } from '../graphql/suggestions.js';

/**
 * No "Did you mean …?" (src/graphql/suggestions.ts) in Yoga's validation
 * errors, which no maskError sees. Every error in a result, on both paths,
 * passes the app's maskError, which does the same.
 */
export function useHiddenSuggestions(): Plugin {
  return {
    onValidate() {
      return ({ result, setResult }) => {
        if (result.length) setResult(result.map((error) => withoutSuggestions(error as GraphQLError)));
      };
    },
  };
}
