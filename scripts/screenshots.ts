/**
 * `npm run screenshots`: the pictures in the README. Starts the app on an
 * in-memory PGlite, fills a session through the demo page as a person would,
 * and writes docs/demo.png and docs/graphiql.png (1200×800) with Debian's
 * chromium. `-- --dark` also writes the demo in its dark theme to $TMPDIR/sessionql-demo-dark.png.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { openDatabase } from '../src/engines/postgres/client.js';
import { migrate } from '../src/engines/postgres/migrate.js';
import { createApp } from '../src/server/app.js';
import { loadConfig } from '../src/server/config.js';
import { launchChromium } from '../test/browser/chromium.js';

const docs = new URL('../docs/', import.meta.url).pathname;
const viewport = { width: 1200, height: 800 };

async function settled(page: Page): Promise<void> {
  await page.locator('body[data-ready="true"]:not([aria-busy="true"])').waitFor();
}

async function startApp(): Promise<{ baseUrl: string; close: () => Promise<void> }> {
  const database = await openDatabase({ url: undefined, pgliteDir: 'memory://', poolSize: 1 });
  await migrate(database);
  const config = loadConfig({ NODE_ENV: 'test', SESSION_SECRET: 'screenshots-secret-0123456789-0123456789' });
  const app = createApp({ config, database });
  const server = app.httpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await database.close();
    },
  };
}

async function fillDemo(page: Page): Promise<void> {
  const add = page.locator('#add-form');
  await add.getByLabel('SKU').fill('book');
  await add.getByLabel('Label').fill('A good book');
  await add.getByLabel('Quantity').fill('2');
  await add.getByRole('button', { name: 'Add to cart' }).click();
  await settled(page);
  for (const item of ['Add Dune', 'Add Sencha, 100 g']) {
    await page.getByRole('button', { name: item }).click();
    await settled(page);
  }
  const prefs = page.locator('#prefs-form');
  await prefs.getByLabel('Language').fill('en-GB');
  await prefs.getByLabel('Page size').fill('5');
  await prefs.getByLabel('books').check();
  await prefs.getByLabel('tea').check();
  await prefs.getByRole('button', { name: 'Save preferences' }).click();
  await settled(page);
  const value = page.locator('#value-form');
  await value.getByLabel('Key').fill('username');
  await value.getByLabel(/^Value/).fill('"alice"');
  await value.getByRole('button', { name: 'Set value' }).click();
  await settled(page);
  await page.locator('#expiry').getByRole('spinbutton', { name: 'Seconds of inactivity' }).fill('3600');
  await page.locator('#expiry').getByRole('button', { name: 'Set', exact: true }).click();
  await settled(page);
  await page.reload();
  await settled(page);
  await page.evaluate(() => window.scrollTo(0, 0));
}

async function graphiql(page: Page, baseUrl: string): Promise<void> {
  await page.goto(`${baseUrl}/graphql`);
  const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
  await editor.waitFor();
  await editor.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Backspace');
  const query = '{ cart { items { sku label quantity } totalQuantity } session { keys expiresAt expiryAge } }';
  await page.keyboard.insertText(query);
  await page.waitForFunction((q) => localStorage.getItem('graphiql:query') === q, query);
  await page.getByRole('button', { name: 'Prettify query (Shift-Ctrl-P)' }).click();
  await page.waitForTimeout(1500); // Monaco's scrollbar fades out
  await page.getByRole('button', { name: /^Execute query/ }).click();
  await page.locator('.graphiql-response').getByText('"totalQuantity"').waitFor();
  await page.mouse.move(0, viewport.height - 1);
  await page.waitForTimeout(300);
}

async function main(): Promise<void> {
  const dark = process.argv.includes('--dark');
  mkdirSync(docs, { recursive: true });
  const [app, browser] = await Promise.all([startApp(), launchChromium()]);
  try {
    const context = await browser.newContext({ viewport, colorScheme: 'light' });
    const page = await context.newPage();
    page.on('pageerror', (error) => console.error('page error:', error.message));
    await page.goto(`${app.baseUrl}/`);
    await settled(page);
    await fillDemo(page);
    await page.screenshot({ path: `${docs}demo.png` });
    console.log(`wrote ${docs}demo.png`);
    if (dark) {
      await page.locator('#theme').getByText('Dark').click();
      await settled(page);
      const file = path.join(tmpdir(), 'sessionql-demo-dark.png');
      await page.screenshot({ path: file });
      console.log(`wrote ${file}`);
    }
    await graphiql(page, app.baseUrl);
    await page.screenshot({ path: `${docs}graphiql.png` });
    console.log(`wrote ${docs}graphiql.png`);
  } finally {
    await browser.close();
    await app.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
