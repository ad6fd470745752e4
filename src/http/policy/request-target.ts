/**
 * The request line and Host header, checked before anything else reads them
 * (RFC 9112 §3.2). Node's parser lets through Host values such as `[` or
 * `a b` and targets such as `*` or `http://host/path`; handed on, they made
 * `new URL()` throw inside the Fetch adapter (a 500 with a stack). Here they
 * become a 400 the caller logs, or a well-formed origin-form target.
 */
export type Target =
  | { ok: true; path: string; search: string; host: string; rewritten: boolean }
  | { ok: false; status: 400; reason: string };

// reg-name (letters, digits, - . _ ~ and sub-delims are allowed by RFC 3986; we take
// what DNS names and IPv4 use) or an IPv6 literal, then an optional port.
const HOST = /^(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
// Visible ASCII only: browsers leave `{ } | ^` raw in a query string (WHATWG
// URL's query percent-encode set), but never controls, spaces or 8-bit bytes.
const ORIGIN_FORM = /^\/[\x21-\x7e]*$/;

let lastValidHost = '';

/** host[:port] that WHATWG URL parsing accepts as it is (port ≤ 65535, a real IPv6 literal); the last one is remembered. */
function validHost(host: string): boolean {
  if (host === lastValidHost) return true;
  if (!HOST.test(host) || !URL.canParse(`http://${host}/`)) return false;
  lastValidHost = host;
  return true;
}

function bad(reason: string): Target {
  return { ok: false, status: 400, reason };
}

/**
 * Checks a request's target and Host. The absolute-form
 * (`GET http://host/path`), which a server must accept (RFC 9112 §3.2.2),
 * becomes origin-form with its authority as the host. A missing Host
 * (HTTP/1.0) reads as `localhost`.
 */
export function parseTarget(url: string | undefined, hostHeader: string | undefined): Target {
  let target = url ?? '';
  let host = hostHeader;
  let rewritten = false;
  if (!target.startsWith('/')) {
    const absolute = /^https?:\/\/([^/?#]+)(\/[^#]*)?$/i.exec(target);
    if (!absolute) return bad('request target is neither origin-form nor absolute-form');
    host = absolute[1];
    target = absolute[2] ?? '/';
    rewritten = true;
  }
  if (!ORIGIN_FORM.test(target)) return bad('request target has control, space or non-ASCII characters');
  if (host === undefined || host === '') host = 'localhost';
  else if (!validHost(host)) return bad('Host is not host[:port]');
  const q = target.indexOf('?');
  return {
    ok: true,
    path: q < 0 ? target : target.slice(0, q),
    search: q < 0 ? '' : target.slice(q),
    host,
    rewritten,
  };
}
