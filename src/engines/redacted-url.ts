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
