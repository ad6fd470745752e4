import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { withoutSuggestions } from '../graphql/suggestions.js';

/**
 * No "Did you mean …?" (src/graphql/suggestions.ts) in validation errors or
 * in execution results (variable coercion names input fields and enum
 * values). Errors thrown by resolvers also pass the app's maskError, which
 * does the same.
 */
export function useHiddenSuggestions(): Plugin {
  return {
    onValidate() {
      return ({ result, setResult }) => {
        if (result.length) setResult(result.map((error) => withoutSuggestions(error as GraphQLError)));
      };
    },
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          if ('errors' in result && result.errors?.length) {
            setResult({ ...result, errors: result.errors.map((error) => withoutSuggestions(error as GraphQLError)) });
          }
        },
      };
    },
  };
}
