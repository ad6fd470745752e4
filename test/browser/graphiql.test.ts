import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setup } from '../helpers/app.js';
import { launchChromium, skipWithoutChromium, visibleText, type Watched, watchedPage } from './chromium.js';

/** Replaces the operation in GraphiQL's (Monaco) editor as a person would: select all, delete, type. */
async function typeOperation(page: Page, operation: string): Promise<void> {
  const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
  await editor.waitFor();
  await editor.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Backspace');
  // insertText types the whole line at once, without Monaco's auto-closing of brackets and quotes.
  await page.keyboard.insertText(operation);
  await expect.poll(() => editorText(page)).toBe(operation);
  // GraphiQL takes in an edit after a short debounce (a person reads what they typed first); clicking
  // before it would run the operation that was there (the example's two, so the operation menu opens).
  await expect.poll(() => page.evaluate(() => localStorage.getItem('graphiql:query'))).toBe(operation);
}

async function editorText(page: Page): Promise<string> {
  return (await visibleText(page.locator('.graphiql-query-editor .view-lines').first())).trim();
}

/** Clicks GraphiQL's run button and waits for the result pane to show `expected`. */
async function run(page: Page, expected: RegExp): Promise<string> {
  await page.getByRole('button', { name: /^Execute query/ }).click();
  const pane = page.locator('.graphiql-response');
  let text = '';
  await expect
    .poll(
      async () => {
        text = await visibleText(pane);
        return text;
      },
      { timeout: 20_000 },
    )
    .toMatch(expected);
  return text;
}

describe.skipIf(skipWithoutChromium)('GraphiQL in Chromium (offline, strict CSP, cookie session)', () => {
  let browser: Browser;
  let baseUrl: string;

  beforeAll(async () => {
    const [{ app }, launched] = await Promise.all([setup(), launchChromium()]);
    baseUrl = app.baseUrl;
    browser = launched;
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('runs a mutation, keeps the session cookie across a reload, reads the cart back; all from this origin, no CSP violation', async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    let watched: Watched | undefined;
    try {
      watched = await watchedPage(context, baseUrl);
      const { page } = watched;
      const response = await page.goto(`${baseUrl}/graphql`);
      const csp = response?.headers()['content-security-policy'] ?? '';
      expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/]+=*'/);
      expect(csp).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline/);

      await typeOperation(page, 'mutation { addToCart(sku: "book") { totalQuantity } }');
      await run(page, /"totalQuantity":\s*1\b/);
      const cookie = (await context.cookies()).find((c) => c.name === 'sessionid');
      expect(cookie?.httpOnly).toBe(true);

      await page.reload();
      await typeOperation(page, '{ cart { totalQuantity items { sku quantity } } }');
      const result = await run(page, /"sku":\s*"book"/);
      expect(result).toMatch(/"totalQuantity":\s*1\b/);
      expect(result).toMatch(/"quantity":\s*1\b/);

      expect(watched.cspViolations).toEqual([]);
      expect(watched.foreignRequests).toEqual([]);
      expect(watched.pageErrors).toEqual([]);
      // Nothing failed either: GraphiQL's introspection (for completion and the docs) passed the query limits.
      expect(watched.consoleErrors).toEqual([]);
    } catch (error) {
      if (watched) console.error('console errors:', watched.consoleErrors);
      throw error;
    } finally {
      await context.close();
    }
  }, 90_000);

  it('opens with the example operation, sends the cookie (credentials same-origin) and uses no CDN', async () => {
    const context = await browser.newContext();
    try {
      const watched = await watchedPage(context, baseUrl);
      const { page } = watched;
      await page.goto(`${baseUrl}/graphql`);
      await expect.poll(() => editorText(page), { timeout: 20_000 }).toMatch(/mutation AddBook[\s\S]*query MyCart/);
      const html = await (await page.request.get(`${baseUrl}/graphql`, { headers: { accept: 'text/html' } })).text();
      expect(html).toContain('"credentials":"same-origin"');
      expect(watched.cspViolations).toEqual([]);
      expect(watched.foreignRequests).toEqual([]);
      expect(watched.consoleErrors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
