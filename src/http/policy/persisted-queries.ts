import { createHash } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { DocumentCache, stringBytes } from '../../graphql/document-cache.js';
import type { GraphQLParams } from './params.js';

/**
 * Apollo's automatic persisted queries: the texts clients registered, by
 * their SHA-256, least recently used first out, bounded in bytes.
 */
export function createPersistedQueryStore(options: { maxBytes?: number } = {}) {
  const maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
  return new DocumentCache<string>({
    maxBytes,
    maxEntryBytes: maxBytes,
    weigh: (hash, query) => hash.length + stringBytes(query) + 64,
    maxKeyLength: 64,
  });
}
export type PersistedQueryStore = ReturnType<typeof createPersistedQueryStore>;

const requestError = (message: string, code: string, status: number) =>
  new GraphQLError(message, { extensions: { code, http: { status } } });

/**
 * Resolves `extensions.persistedQuery` (version 1, `sha256Hash`) in place:
 * - a hash alone: the registered text, or PersistedQueryNotFound (the client
 *   then sends the text with the hash; 404 with graphql-response+json, as
 *   Apollo's router answers, 200 with application/json);
 * - a hash and a text: the text is registered if it hashes to that value.
 * Returns the error to answer with, or null. Without the extension: null.
 */
export function resolvePersistedQuery(params: GraphQLParams, store: PersistedQueryStore): GraphQLError | null {
  const extensions = params.extensions as { persistedQuery?: unknown } | null | undefined;
  const persisted = extensions?.persistedQuery as { version?: unknown; sha256Hash?: unknown } | undefined;
  if (persisted === undefined || persisted === null) return null;
  if (typeof persisted !== 'object' || persisted.version !== 1)
    return requestError('Unsupported persisted query version: only version 1 is.', 'BAD_REQUEST', 400);
  const hash = persisted.sha256Hash;
  if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/i.test(hash))
    return requestError('extensions.persistedQuery.sha256Hash must be a SHA-256 in hex.', 'BAD_REQUEST', 400);
  const key = hash.toLowerCase();
  if (params.query === undefined || params.query === null || params.query === '') {
    const query = store.get(key);
    if (query === undefined) return requestError('PersistedQueryNotFound', 'PERSISTED_QUERY_NOT_FOUND', 404);
    params.query = query;
    return null;
  }
  if (typeof params.query !== 'string') return null; // the parameter check reports it
  if (store.get(key) === params.query) return null;
  if (createHash('sha256').update(params.query).digest('hex') !== key)
    return requestError('The query does not match extensions.persistedQuery.sha256Hash.', 'BAD_REQUEST', 400);
  store.set(key, params.query);
  return null;
}
