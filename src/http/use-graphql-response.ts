import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { negotiate } from './policy/negotiate.js';
import { graphqlResponse } from './policy/response.js';

/**
 * Yoga's side of the response policy (src/http/policy/): the same media
 * type negotiation, status codes and serialisation as the fast path, for
 * every single JSON result. Event streams and batches stay Yoga's.
 */
export function useGraphQLResponse(): Plugin {
  return {
    onResultProcess({ request, result, setResultProcessor }) {
      if (Array.isArray(result) || isAsyncIterable(result)) return;
      const mediaType = negotiate(request.headers.get('accept'));
      if (!mediaType) return;
      setResultProcessor((single, fetchAPI) => {
        const { status, headers, body } = graphqlResponse(single as Parameters<typeof graphqlResponse>[0], mediaType);
        return new fetchAPI.Response(body, { status, headers });
      }, mediaType);
    },
  };
}
