import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setup } from '../helpers/app.js';
import type { CookieClient } from '../helpers/client.js';
import { launchChromium, skipWithoutChromium, visibleText, type Watched, watchedPage } from './chromium.js';

/** Waits until the page has drawn the state from the server and has no request in flight. */
async function settled(page: Page): Promise<void> {
  await page.locator('body[data-ready="true"]:not([aria-busy="true"])').waitFor();
}

async function open(context: BrowserContext, baseUrl: string): Promise<Watched> {
  const watched = await watchedPage(context, baseUrl);
  await watched.page.goto(`${baseUrl}/`);
  await settled(watched.page);
  return watched;
}

async function reload(page: Page): Promise<void> {
  await page.reload();
  await settled(page);
}

/** The cart as the page shows it: SKU → quantity. */
async function cartLines(page: Page): Promise<Record<string, number>> {
  const rows = page.locator('#cart-lines tbody tr');
  const lines: Record<string, number> = {};
  for (const row of await rows.all()) {
    lines[(await row.getAttribute('data-sku'))!] = Number(await row.locator('input.qty').inputValue());
  }
  return lines;
}

async function addItem(page: Page, sku: string, label: string, quantity: string): Promise<void> {
  const form = page.locator('#add-form');
  await form.getByLabel('SKU').fill(sku);
  await form.getByLabel('Label').fill(label);
  await form.getByLabel('Quantity').fill(quantity);
  await form.getByRole('button', { name: 'Add to cart' }).click();
  await settled(page);
}

async function sessionCookie(context: BrowserContext) {
  return (await context.cookies()).find((c) => c.name === 'sessionid');
}

describe.skipIf(skipWithoutChromium)('the demo page in Chromium', () => {
  let browser: Browser;
  let baseUrl: string;
  let apiClient: () => CookieClient;
  const contexts: BrowserContext[] = [];
  const newContext = async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    contexts.push(context);
    return context;
  };
  /** Every page opened by a test: nothing from another origin, no CSP violation, no uncaught error. */
  const pages: Watched[] = [];
  const openPage = async (context: BrowserContext) => {
    const watched = await open(context, baseUrl);
    pages.push(watched);
    return watched.page;
  };

  beforeAll(async () => {
    const [{ app, client }, launched] = await Promise.all([setup(), launchChromium()]);
    baseUrl = app.baseUrl;
    apiClient = client;
    browser = launched;
  });
  afterEach(async () => {
    const seen = pages.splice(0);
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    for (const watched of seen) {
      expect(watched.cspViolations).toEqual([]);
      expect(watched.foreignRequests).toEqual([]);
      expect(watched.pageErrors).toEqual([]);
    }
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('is served at / with its script and styles from this server, under the same CSP (scripts from self only)', async () => {
    const context = await newContext();
    const page = await openPage(context);
    const response = await page.request.get(`${baseUrl}/`);
    expect(response.headers()['content-type']).toMatch(/^text\/html/);
    const csp = response.headers()['content-security-policy'];
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect((await page.request.get(`${baseUrl}/demo.js`)).headers()['content-type']).toMatch(/^text\/javascript/);
    expect((await page.request.get(`${baseUrl}/demo.css`)).headers()['content-type']).toMatch(/^text\/css/);
    await expect.poll(() => visibleText(page.locator('#cart-empty'))).toBe('Your cart is empty.');
    expect(await visibleText(page.locator('#status'))).toBe('No session yet');
    expect(await sessionCookie(context)).toBeUndefined();
  });

  const within = { timeout: 1000, interval: 25 };
  /**
   * Two tabs of / in one browser, both open before any session exists; the first adds Dune and the second,
   * following it live, shows it: the second follows once the first has written.
   */
  const liveTabs = async () => {
    const context = await newContext();
    const first = await openPage(context);
    const second = await openPage(context);
    await first.getByRole('button', { name: 'Add Dune' }).click();
    await settled(first);
    await expect.poll(() => cartLines(second), within).toEqual({ 'book-dune': 1 });
    await expect.poll(() => second.locator('body').getAttribute('data-live'), within).toBe('on');
    return { context, first, second };
  };

  it('live: two tabs of / in one browser; a change in either shows up in the other within a second, without a reload', async () => {
    const { context, first, second } = await liveTabs();
    expect(await visibleText(second.locator('#live'))).toBe('Live');

    await addItem(second, 'tea', 'Green tea', '3');
    await expect.poll(() => cartLines(first), within).toEqual({ 'book-dune': 1, tea: 3 });

    // A write from outside the browser (another device with the same cookie) shows up too.
    const device = apiClient();
    device.jar.set('sessionid', (await sessionCookie(context))!.value);
    await device.data('mutation { setSessionValue(key: "step", value: 2) { exists } }');
    await expect.poll(() => visibleText(first.locator('#contents-table')), within).toContain('step');
    await expect.poll(() => visibleText(second.locator('#contents-table')), within).toContain('step');

    // A new session key in one tab: the other follows the new cookie.
    await first.locator('#cycle').click();
    await settled(first);
    await addItem(first, 'map', 'A map', '1');
    await expect.poll(() => cartLines(second), within).toEqual({ 'book-dune': 1, tea: 3, map: 1 });

    // A flush in one tab empties the other.
    await second.locator('#flush').click();
    await settled(second);
    await expect.poll(() => cartLines(first), within).toEqual({});
    await expect.poll(() => first.locator('body').getAttribute('data-live'), within).toBe('off');
    // And the next write anywhere brings both back to live.
    await addItem(first, 'pen', 'A pen', '1');
    await expect.poll(() => cartLines(second), within).toEqual({ pen: 1 });
  });

  it('live with seven tabs: one stream for the browser (HTTP/1.1 allows six connections), so every tab still writes and sees the others', async () => {
    const context = await newContext();
    const first = await openPage(context);
    await first.getByRole('button', { name: 'Add Dune' }).click();
    await settled(first);
    const tabs = [first];
    for (let i = 1; i < 7; i++) tabs.push(await openPage(context));
    const last = tabs[6]!;
    await addItem(last, 'tea', 'Green tea', '2');
    for (const tab of tabs) {
      await expect.poll(() => cartLines(tab), { timeout: 1000, interval: 25 }).toEqual({ 'book-dune': 1, tea: 2 });
      await expect.poll(() => tab.locator('body').getAttribute('data-live'), { timeout: 1000 }).toBe('on');
    }
    // When the tab that follows the session closes, another takes over.
    await first.close();
    await addItem(last, 'map', 'A map', '1');
    for (const tab of tabs.slice(1)) {
      await expect.poll(() => cartLines(tab), { timeout: 2000, interval: 25 }).toEqual({ 'book-dune': 1, tea: 2, map: 1 });
    }
  });

  it('cart: two items survive a reload; a quantity changes; a line goes', async () => {
    const context = await newContext();
    const page = await openPage(context);
    await addItem(page, 'book', 'A good book', '2');
    await page.getByRole('button', { name: 'Add Dune' }).click();
    await settled(page);
    expect(await cartLines(page)).toEqual({ book: 2, 'book-dune': 1 });
    expect((await sessionCookie(context))?.httpOnly).toBe(true);

    await reload(page);
    expect(await cartLines(page)).toEqual({ book: 2, 'book-dune': 1 });
    expect(await visibleText(page.locator('#cart-total'))).toBe('3 items');
    expect(await visibleText(page.locator('#status'))).toBe('Session stored');

    const quantity = page.getByLabel('Quantity of A good book');
    await quantity.fill('5');
    await quantity.press('Enter');
    await settled(page);
    await page.getByRole('button', { name: 'One more Dune' }).click();
    await settled(page);
    expect(await cartLines(page)).toEqual({ book: 5, 'book-dune': 2 });

    await page.getByRole('button', { name: 'Remove Dune' }).click();
    await settled(page);
    expect(await cartLines(page)).toEqual({ book: 5 });
    await reload(page);
    expect(await cartLines(page)).toEqual({ book: 5 });
  });

  it('session contents list every key and value; theme dark applies and survives a reload; flush empties everything', async () => {
    const context = await newContext();
    const page = await openPage(context);
    await addItem(page, 'tea', 'Green tea', '1');

    await page.locator('#theme').getByText('Dark').click();
    await settled(page);
    expect(await page.locator('html').getAttribute('data-theme')).toBe('dark');
    await reload(page);
    expect(await page.locator('html').getAttribute('data-theme')).toBe('dark');
    expect(await page.locator('#theme input[value="DARK"]').isChecked()).toBe(true);
    // The page really is dark: the background comes from the dark palette.
    const background = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    expect(background).toBe('rgb(17, 19, 26)');

    const form = page.locator('#value-form');
    await form.getByLabel('Key').fill('username');
    await form.getByLabel(/^Value/).fill('"alice"');
    await form.getByRole('button', { name: 'Set value' }).click();
    await settled(page);
    const keys = await page.locator('#contents-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')));
    expect(keys).toEqual(['cart', 'preferences', 'username']);
    expect(await visibleText(page.locator('#contents-table tr[data-key="username"] .value'))).toBe('"alice"');
    expect(await visibleText(page.locator('#contents-table tr[data-key="preferences"] .value'))).toContain('"theme": "DARK"');
    expect(await visibleText(page.locator('#contents-table tr[data-key="cart"] .value'))).toContain('"sku": "tea"');

    await page.getByRole('button', { name: 'Flush session' }).click();
    await settled(page);
    expect(await page.locator('#cart-empty').isVisible()).toBe(true);
    expect(await page.locator('#contents-empty').isVisible()).toBe(true);
    expect(await page.locator('html').getAttribute('data-theme')).toBe('system');
    expect(await sessionCookie(context)).toBeUndefined();
    await reload(page);
    expect(await visibleText(page.locator('#cart-empty'))).toBe('Your cart is empty.');
  });

  it('theme SYSTEM follows the OS; LIGHT and DARK override it', async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 }, colorScheme: 'dark' });
    contexts.push(context);
    const page = await openPage(context);
    const background = () => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    expect(await page.locator('html').getAttribute('data-theme')).toBe('system');
    expect(await background()).toBe('rgb(17, 19, 26)');
    await page.emulateMedia({ colorScheme: 'light' });
    expect(await background()).toBe('rgb(245, 246, 250)');

    await page.emulateMedia({ colorScheme: 'dark' });
    await page.locator('#theme').getByText('Light').click();
    await settled(page);
    expect(await page.locator('html').getAttribute('data-theme')).toBe('light');
    expect(await background()).toBe('rgb(245, 246, 250)');

    await page.emulateMedia({ colorScheme: 'light' });
    await page.locator('#theme').getByText('Dark').click();
    await settled(page);
    expect(await page.locator('html').getAttribute('data-theme')).toBe('dark');
    expect(await background()).toBe('rgb(17, 19, 26)');
  });

  it('a second browser context has its own, empty session', async () => {
    const [first, second] = [await newContext(), await newContext()];
    const one = await openPage(first);
    await addItem(one, 'lamp', 'Desk lamp', '1');
    const two = await openPage(second);
    expect(await two.locator('#cart-empty').isVisible()).toBe(true);
    expect(await visibleText(two.locator('#status'))).toBe('No session yet');
    await addItem(two, 'chair', 'Chair', '3');
    expect(await cartLines(two)).toEqual({ chair: 3 });
    await reload(one);
    expect(await cartLines(one)).toEqual({ lamp: 1 });
    expect((await sessionCookie(first))?.value).not.toBe((await sessionCookie(second))?.value);
  });

  it("quantity 1000 shows the API's BAD_USER_INPUT message on the page and changes nothing", async () => {
    const expected = await apiClient().error('mutation { addToCart(sku: "crate", quantity: 1000) { totalQuantity } }');
    expect(expected.code).toBe('BAD_USER_INPUT');
    const context = await newContext();
    const page = await openPage(context);
    await addItem(page, 'crate', 'Crate', '1000');
    const error = page.getByRole('alert');
    expect(await error.isVisible()).toBe(true);
    expect(await error.locator('li .message').allInnerTexts()).toEqual([expected.message]);
    expect(await error.locator('li .code').allInnerTexts()).toEqual(['BAD_USER_INPUT']);
    expect(await page.locator('#cart-empty').isVisible()).toBe(true);
    // The next change that succeeds clears it.
    await addItem(page, 'crate', 'Crate', '999');
    expect(await error.isVisible()).toBe(false);
    expect(await cartLines(page)).toEqual({ crate: 999 });
  });

  it('expiry: shown, set to seconds, to browser close and back to the default; a new session key keeps the data', async () => {
    const context = await newContext();
    const page = await openPage(context);
    await addItem(page, 'pen', 'Pen', '1');
    expect(await visibleText(page.locator('#expiry-age'))).toContain('(1209600 s)');
    expect(await visibleText(page.locator('#browser-close'))).toMatch(/^no/);
    expect(await visibleText(page.locator('#expires-at'))).not.toBe('–');

    const expiry = page.locator('#expiry');
    await expiry.getByRole('spinbutton', { name: 'Seconds of inactivity' }).fill('600');
    await expiry.getByRole('button', { name: 'Set', exact: true }).click();
    await settled(page);
    expect(await visibleText(page.locator('#expiry-age'))).toContain('(600 s)');
    expect((await sessionCookie(context))!.expires).toBeGreaterThan(Date.now() / 1000 + 590);

    await expiry.getByRole('button', { name: 'At browser close' }).click();
    await settled(page);
    expect(await visibleText(page.locator('#browser-close'))).toMatch(/^yes/);
    expect((await sessionCookie(context))!.expires).toBe(-1);

    await expiry.getByRole('button', { name: 'Server default' }).click();
    await settled(page);
    expect(await visibleText(page.locator('#browser-close'))).toMatch(/^no/);
    expect(await visibleText(page.locator('#expiry-age'))).toContain('(1209600 s)');

    const before = (await sessionCookie(context))!.value;
    await page.getByRole('button', { name: 'New session key' }).click();
    await settled(page);
    expect((await sessionCookie(context))!.value).not.toBe(before);
    expect(await visibleText(page.getByRole('status'))).toMatch(/New session key/);
    expect(await cartLines(page)).toEqual({ pen: 1 });
  });

  it('preferences: language, page size and the category filter are saved and applied to the shop', async () => {
    const context = await newContext();
    const page = await openPage(context);
    const form = page.locator('#prefs-form');
    await form.getByLabel('Language').fill('de-DE');
    await form.getByLabel('Page size').fill('2');
    await form.getByLabel('tea').check();
    await form.getByRole('button', { name: 'Save preferences' }).click();
    await settled(page);
    await reload(page);
    expect(await form.getByLabel('Language').inputValue()).toBe('de-DE');
    expect(await page.locator('html').getAttribute('lang')).toBe('de-DE');
    expect(await page.locator('#catalog li').count()).toBe(2);
    expect(await visibleText(page.locator('#shop-count'))).toBe('4 of 11 products, 2 a page');
    expect(await visibleText(page.locator('#catalog .price').first())).toMatch(/^8,20\s€$/);
    await page.getByRole('button', { name: 'Next →' }).click();
    expect(await visibleText(page.locator('#page-info'))).toMatch(/^Page 2 of 2/);

    await form.getByLabel('Page size').fill('0');
    await form.getByRole('button', { name: 'Save preferences' }).click();
    await settled(page);
    expect(await visibleText(page.getByRole('alert'))).toMatch(/pageSize/);
  });

  it('preferences typed in one tab and not saved yet survive a push from another tab; a saved change replaces them', async () => {
    const { first: other, second: typing } = await liveTabs();

    const form = typing.locator('#prefs-form');
    await form.getByLabel('Language').fill('fr-FR');
    await form.getByLabel('Page size').fill('3');
    await form.getByLabel('books').check();
    // The other tab writes: the push re-renders the typing tab (its cart shows it), and leaves the form as typed.
    await addItem(other, 'tea', 'Green tea', '1');
    await expect.poll(() => cartLines(typing), within).toEqual({ 'book-dune': 1, tea: 1 });
    expect(await form.getByLabel('Language').inputValue()).toBe('fr-FR');
    expect(await form.getByLabel('Page size').inputValue()).toBe('3');
    expect(await form.getByLabel('books').isChecked()).toBe(true);

    // Preferences saved in the other tab are a real change: they replace what was typed.
    const saved = other.locator('#prefs-form');
    await saved.getByLabel('Language').fill('es-ES');
    await saved.getByLabel('Page size').fill('5');
    await saved.getByRole('button', { name: 'Save preferences' }).click();
    await settled(other);
    await expect.poll(() => form.getByLabel('Language').inputValue(), within).toBe('es-ES');
    expect(await form.getByLabel('Page size').inputValue()).toBe('5');
    expect(await form.getByLabel('books').isChecked()).toBe(false);
  });

  it('flash messages: adding from the shop leaves a message, shown once; a reload delivers pending ones, then they are gone', async () => {
    const context = await newContext();
    const page = await openPage(context);
    expect(await page.locator('#messages').isHidden()).toBe(true);
    await page.locator('#catalog li').filter({ hasText: 'Dune' }).getByRole('button').click();
    await settled(page);
    expect(await visibleText(page.locator('#messages-list'))).toBe('Added Dune to your cart.');
    expect(await page.locator('#messages-list li').getAttribute('data-level')).toBe('SUCCESS');
    // The next page view consumes it: shown on that page, gone from the session.
    await reload(page);
    expect(await visibleText(page.locator('#messages-list'))).toBe('Added Dune to your cart.');
    await reload(page);
    expect(await page.locator('#messages').isHidden()).toBe(true);
    // Dismiss consumes what is pending.
    await page.locator('#catalog li').filter({ hasText: 'Dune' }).getByRole('button').click();
    await settled(page);
    await page.locator('#messages-dismiss').click();
    await settled(page);
    expect(await page.locator('#messages').isHidden()).toBe(true);
    await reload(page);
    expect(await page.locator('#messages').isHidden()).toBe(true);
  });
});
