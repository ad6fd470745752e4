import type { Plugin } from 'graphql-yoga';
import { checkParams } from './policy/params.js';
import { type PersistedQueryStore, resolvePersistedQuery } from './policy/persisted-queries.js';

/**
 * Apollo's automatic persisted queries on Yoga's side, with the fast path's
 * rule and store, then the fast path's parameter checks.
 */
export function usePersistedQueries(store: PersistedQueryStore): Plugin {
  return {
    onParams({ params, setParams }) {
      const resolved = { ...params };
      const error = resolvePersistedQuery(resolved, store) ?? checkParams(resolved);
      if (error) throw error;
      if (resolved.query !== params.query) setParams(resolved as typeof params);
    },
  };
}
