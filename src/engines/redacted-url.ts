/**
 * `url` for messages: its password, if it has one (`user:pass@` or a
 * `password` parameter, as libpq takes it), shown as ***, also when the URL
 * does not parse.
 */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.searchParams.has('password')) u.searchParams.set('password', '***');
    return u.href;
  } catch {
    // Up to the last @: a password may hold a / (base64), which is why such a URL does not parse.
    return url.replace(/\/\/\S*@/, '//***@').replace(/([?&]password=)[^&]*/, '$1***');
  }
}

/**
 * `url` parsed, with its user name and password decoded. A URL that does not
 * parse, or holds a malformed %-escape, throws an Error that shows it
 * redacted and says why that usually is: a password with a reserved
 * character in it, not percent-encoded.
 */
export function parsedUrl(url: string): { url: URL; username: string; password: string } {
  try {
    const parsed = new URL(url);
    return { url: parsed, username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) };
  } catch {
    throw new Error(
      `${redactedUrl(url)} does not parse as a URL: a user name or password holding any of @ : / ? # [ ] % must be percent-encoded (encodeURIComponent: p#ss is p%23ss)`,
    );
  }
}
