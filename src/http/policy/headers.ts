/**
 * Headers on every response this server writes itself: no MIME sniffing, so
 * a JSON body that echoes input is never run as HTML or script by a browser
 * (the HTML pages add their Content-Security-Policy on top).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'x-content-type-options': 'nosniff' });
