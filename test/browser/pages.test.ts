import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BASE_POLICY, contentSecurityPolicy, inlineScripts } from '../../src/http/use-content-security-policy.js';
import { setup } from '../helpers/app.js';

/** The pages' HTTP side, without a browser (runs everywhere). */
describe('HTML pages over HTTP: the demo page, GraphiQL and their Content-Security-Policy', async () => {
  const { app } = await setup();
  const get = (path: string, headers: Record<string, string> = {}) => app.fetch(`http://localhost${path}`, { headers });
  const directives = (csp: string) => new Map(csp.split(/;\s*/).map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));

  it('/ is the demo page: its script and styles come from this server, no inline script, no other host', async () => {
    const r = await get('/');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await r.text();
    expect(html).toContain('<script src="/demo.js" defer></script>');
    expect(html).toContain('<link rel="stylesheet" href="/demo.css" />');
    expect(inlineScripts(html)).toEqual([]);
    expect(html).not.toMatch(/(?:src|href)="https?:/);
    const csp = directives(r.headers.get('content-security-policy') ?? '');
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.get('default-src')).toEqual(["'self'"]);
    expect(csp.get('connect-src')).toEqual(["'self'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
  });

  it('/demo.js is demo.ts bundled for the browser (one script, no imports) and /demo.css the styles', async () => {
    const js = await get('/demo.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const code = await js.text();
    expect(code).toContain('/graphql');
    expect(code).toContain('include');
    expect(code).not.toMatch(/^\s*import\s/m);
    expect(() => new Function(code)).not.toThrow();
    const css = await get('/demo.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await css.text()).toContain(':root[data-theme="dark"]');
    // Built once, then served from memory: the same bytes again.
    expect(await (await get('/demo.js')).text()).toBe(code);
    expect((await app.fetch('http://localhost/', { method: 'HEAD' })).status).toBe(200);
  });

  it("GraphiQL's policy allows its one inline script by hash, and nothing inline or eval'd besides", async () => {
    const r = await get('/graphql', { accept: 'text/html' });
    expect(r.status).toBe(200);
    const html = await r.text();
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(1);
    const hash = createHash('sha256').update(scripts[0]!).digest('base64');
    const csp = directives(r.headers.get('content-security-policy') ?? '');
    expect(csp.get('script-src')).toEqual(["'self'", `'sha256-${hash}'`]);
    expect(csp.get('worker-src')).toEqual(["'self'", 'blob:']);
    expect(r.headers.get('content-security-policy')).not.toMatch(/unsafe-eval/);
    // The second time comes from the cache and is the same.
    const again = await get('/graphql', { accept: 'text/html' });
    expect(again.headers.get('content-security-policy')).toBe(r.headers.get('content-security-policy'));
  });

  it('JSON responses get no policy (only HTML does)', async () => {
    const r = await get(`/graphql?query=${encodeURIComponent('{ __typename }')}`, { accept: 'application/json' });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toBeNull();
  });

  it('inlineScripts and contentSecurityPolicy: inline scripts only, in any case, each hashed once', () => {
    const html = '<p><script>a()</script><SCRIPT type="module">b()</script ><script src="/x.js"></script><script\n>a()</script>';
    expect(inlineScripts(html)).toEqual(['a()', 'b()', 'a()']);
    const csp = contentSecurityPolicy(html);
    const sha = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
    expect(directives(csp).get('script-src')).toEqual(["'self'", sha('a()'), sha('b()')]);
    expect([...directives(csp).keys()]).toEqual(Object.keys(BASE_POLICY));
  });
});
