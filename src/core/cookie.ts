/**
 * What a cookie setting may hold, for the server's variables and the
 * library's options alike: a value outside them would be dropped by
 * browsers, or add attributes to Set-Cookie (a `;`), or break the header.
 */
export const COOKIE_RULES = {
  name: { pattern: /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, rule: 'must be a cookie name token (RFC 6265)' },
  domain: { pattern: /^\.?[A-Za-z0-9.-]+$/, rule: 'must be a domain name' },
  path: { pattern: /^\/[^;\s]*$/, rule: 'must start with / and hold no ; or space' },
} as const;

/** SESSION_COOKIE_AGE's range: a session lives at least a second, and at most what a signed 32-bit Max-Age holds. */
export const MAX_COOKIE_AGE = 2 ** 31 - 1;

/** The session cookie's attributes (Django's SESSION_COOKIE_* settings). */
export interface CookieSettings {
  /** @default 'sessionid' */
  readonly name: string;
  /** @default 1209600 (two weeks, Django's) */
  readonly ageSeconds: number;
  readonly domain: string | undefined;
  /** @default '/' */
  readonly path: string;
  /** @default false */
  readonly secure: boolean;
  /** @default true */
  readonly httpOnly: boolean;
  /** @default 'Lax' */
  readonly sameSite: 'Strict' | 'Lax' | 'None';
}

/**
 * The cookie name prefix whose rule `settings` break, or null: browsers drop a
 * `__Host-` cookie that is not Secure, has a Domain or a Path other than `/`,
 * and a `__Secure-` cookie that is not Secure (the prefixes match in any case).
 */
export function brokenCookiePrefix(settings: Pick<CookieSettings, 'name' | 'secure' | 'path' | 'domain'>): '__Host-' | '__Secure-' | null {
  const lower = settings.name.toLowerCase();
  if (lower.startsWith('__host-') && (!settings.secure || settings.path !== '/' || settings.domain)) return '__Host-';
  if (lower.startsWith('__secure-') && !settings.secure) return '__Secure-';
  return null;
}

/**
 * The value of the named cookie in a Cookie header (RFC 6265 §5.4), or null.
 * With several cookies of that name (a parent domain's and ours) the first
 * wins, as browsers send the most specific path first.
 */
export function readCookie(header: string | null | undefined, name: string): string | null {
  if (!header) return null;
  let from = 0;
  while (from < header.length) {
    const end = header.indexOf(';', from);
    const pair = header.slice(from, end < 0 ? header.length : end).trim();
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) {
      let value = pair.slice(eq + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value;
    }
    if (end < 0) break;
    from = end + 1;
  }
  return null;
}

function attributes(settings: CookieSettings): string {
  let out = `; Path=${settings.path}`;
  if (settings.domain) out += `; Domain=${settings.domain}`;
  if (settings.secure) out += '; Secure';
  if (settings.httpOnly) out += '; HttpOnly';
  out += `; SameSite=${settings.sameSite}`;
  return out;
}

/**
 * Set-Cookie for a session. Every attribute is written here: a persistent
 * cookie has both Max-Age and Expires (as Django sends), a browser-session
 * cookie (`maxAgeSeconds` null) has neither.
 */
export function sessionCookie(settings: CookieSettings, value: string, maxAgeSeconds: number | null, nowMs: number): string {
  let out = `${settings.name}=${value}`;
  if (maxAgeSeconds !== null) {
    out += `; Max-Age=${maxAgeSeconds}; Expires=${new Date(nowMs + maxAgeSeconds * 1000).toUTCString()}`;
  }
  return out + attributes(settings);
}

/** Set-Cookie that removes the session cookie (Django's delete_cookie). */
export function expiredSessionCookie(settings: CookieSettings): string {
  return `${settings.name}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT${attributes(settings)}`;
}
