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
    return url.replace(/\/\/[^@/]*@/, '//***@').replace(/([?&]password=)[^&]*/, '$1***');
  }
}
