/** The media types a GraphQL response over HTTP is sent as (GraphQL over HTTP, §Body). */
export type GraphQLMediaType = 'application/graphql-response+json' | 'application/json';

const RESPONSE = 'application/graphql-response+json';
const JSON_TYPE = 'application/json';

interface Range {
  type: string;
  subtype: string;
  q: number;
  /** Its position in the header: an earlier range wins a tie. */
  index: number;
}

/**
 * The media ranges of an Accept header, as RFC 9110 §12.5.1 writes them:
 * `type/subtype;param=value;q=0.5`, comma separated. A range with another
 * charset than UTF-8 is dropped (a GraphQL response is UTF-8), and so is a
 * malformed one.
 */
function ranges(accept: string): Range[] {
  const out: Range[] = [];
  const parts = accept.split(',');
  for (let index = 0; index < parts.length; index++) {
    const [range = '', ...params] = (parts[index] as string).split(';');
    const slash = range.indexOf('/');
    if (slash < 1) continue;
    const type = range.slice(0, slash).trim().toLowerCase();
    const subtype = range
      .slice(slash + 1)
      .trim()
      .toLowerCase();
    if (!type || !subtype || (type === '*' && subtype !== '*')) continue;
    let q = 1;
    let usable = true;
    for (const param of params) {
      const eq = param.indexOf('=');
      const name = param.slice(0, eq).trim().toLowerCase();
      const value = param
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1')
        .toLowerCase();
      if (name === 'q') {
        q = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value) ? Number(value) : Number.NaN;
        break; // parameters after q are accept-extensions
      }
      if (name === 'charset' && value !== 'utf-8' && value !== 'utf8') usable = false;
    }
    if (usable && !Number.isNaN(q)) out.push({ type, subtype, q, index });
  }
  return out;
}

/** The quality the header gives `mediaType` (RFC 9110: the most specific matching range decides), and where. */
function quality(list: Range[], mediaType: string): { q: number; index: number; exact: boolean } {
  const [type, subtype] = mediaType.split('/') as [string, string];
  let best: { q: number; index: number; specificity: number } | undefined;
  for (const r of list) {
    const specificity = r.type === type && r.subtype === subtype ? 2 : r.type === type && r.subtype === '*' ? 1 : r.type === '*' ? 0 : -1;
    if (specificity < 0) continue;
    if (!best || specificity > best.specificity) best = { q: r.q, index: r.index, specificity };
  }
  return best ? { q: best.q, index: best.index, exact: best.specificity === 2 } : { q: 0, index: Number.POSITIVE_INFINITY, exact: false };
}

/**
 * The media type to answer a GraphQL request with, or null when the client
 * accepts neither JSON type (it may want an event stream: Yoga's part).
 * - No Accept header, or only wildcards: `application/json`, as the spec asks
 *   for legacy clients.
 * - Otherwise the higher quality wins; at equal quality, the type the client
 *   named itself over one it reached by a wildcard, then the one it listed
 *   first. So Apollo Client's `application/graphql-response+json,
 *   application/json;q=0.9` and urql's list both get
 *   `application/graphql-response+json`.
 */
export function negotiate(accept: string | null | undefined): GraphQLMediaType | null {
  if (accept === undefined || accept === null || accept.trim() === '') return JSON_TYPE;
  // The common headers, answered without parsing.
  if (accept === JSON_TYPE || accept === '*/*') return JSON_TYPE;
  if (accept === RESPONSE) return RESPONSE;
  // Each client library sends one header, always the same: remember a few.
  const known = verdicts.get(accept);
  if (known !== undefined) return known;
  const verdict = decide(accept);
  if (accept.length <= 512) {
    if (verdicts.size >= 64) verdicts.clear();
    verdicts.set(accept, verdict);
  }
  return verdict;
}

const verdicts = new Map<string, GraphQLMediaType | null>();

/** What Yoga streams to clients that ask for it: subscriptions and incremental delivery. */
const STREAMS = ['text/event-stream', 'multipart/mixed'];

/**
 * Whether any response of a GraphQL endpoint can satisfy the header: one of
 * the JSON types ({@link negotiate}) or a stream Yoga sends. When none can,
 * the request is refused with 406 before it runs: a mutation must not
 * commit and then fail for want of a media type.
 */
export function acceptable(accept: string | null | undefined): boolean {
  if (negotiate(accept) !== null) return true;
  const list = ranges(accept as string);
  return STREAMS.some((type) => quality(list, type).q > 0);
}

/**
 * Whether the header allows an event stream (`text/event-stream`), which is
 * how a subscription is answered (GraphQL over SSE): no header, a wildcard,
 * or the type itself.
 */
export function acceptsEventStream(accept: string | null | undefined): boolean {
  if (accept === undefined || accept === null || accept.trim() === '') return true;
  return quality(ranges(accept), 'text/event-stream').q > 0;
}

function decide(accept: string): GraphQLMediaType | null {
  const list = ranges(accept);
  const response = quality(list, RESPONSE);
  const json = quality(list, JSON_TYPE);
  if (response.q === 0 && json.q === 0) return null;
  if (response.q !== json.q) return response.q > json.q ? RESPONSE : JSON_TYPE;
  if (response.exact !== json.exact) return response.exact ? RESPONSE : JSON_TYPE;
  if (!response.exact) return JSON_TYPE;
  return response.index < json.index ? RESPONSE : JSON_TYPE;
}
