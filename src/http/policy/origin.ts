/**
 * Who may call with the session cookie (CSRF): a request without Origin
 * (same-origin GET, curl, server-side clients), one from this host, or one
 * from CORS_ORIGINS. An opaque origin (`Origin: null`: sandboxed frames,
 * some redirects, file:) is its own case: it may read with GET, never POST,
 * and never open a subscription (useSessions refuses it: nothing there could
 * read the events, and the stream would hold the session's slots).
 */
export type OriginVerdict = 'absent' | 'same' | 'allowed' | 'opaque' | 'foreign';

export function originVerdict(
  origin: string | null | undefined,
  host: string | null | undefined,
  allowed: ReadonlySet<string>,
): OriginVerdict {
  if (origin === undefined || origin === null) return 'absent';
  if (origin === 'null') return 'opaque';
  if (allowed.has(origin)) return 'allowed';
  if (host) {
    try {
      if (new URL(origin).host === host) return 'same';
    } catch {}
  }
  return 'foreign';
}

/**
 * The CSRF rule for one request, the same at every entry point: null when it
 * may proceed, else the status and message to refuse it with. A browser sends
 * a cross-site "simple" request (form post, text/plain, multipart) without a
 * preflight, cookie included; a JSON body makes it preflight, and only
 * CORS_ORIGINS pass that. So a POST must carry JSON (415 otherwise) and a
 * foreign origin is refused outright (403), for browsers that skip the rules.
 */
export function csrfRefusal(
  method: string,
  contentType: string | null | undefined,
  origin: string | null | undefined,
  verdict: OriginVerdict,
): { status: 403 | 415; message: string } | null {
  if (verdict === 'foreign')
    return { status: 403, message: `Origin ${origin} is not allowed (CORS_ORIGINS; allowedOrigins in the library).` };
  if (method !== 'POST') return null;
  if (verdict === 'opaque') return { status: 403, message: 'Requests from an opaque origin are not allowed.' };
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') return { status: 415, message: 'POST /graphql takes a JSON body (Content-Type: application/json).' };
  return null;
}
