import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';

/** Debian's chromium (`apt-get install chromium`), driven by playwright-core; never a downloaded browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/**
 * The browser tests skip only on a developer's machine without Chromium; in
 * CI (`.ci/run` installs it) a missing browser is a failure, not a skip.
 */
export const skipWithoutChromium = !existsSync(CHROMIUM) && !process.env.CI;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** What a page did that a test checks afterwards. */
export interface Watched {
  page: Page;
  /** Requests to anything but the server's own origin (blob: and data: URLs of this origin are local). */
  foreignRequests: string[];
  /** Content-Security-Policy violations: the DOM events and the console's "Refused to …" lines, workers included. */
  cspViolations: string[];
  /** Uncaught exceptions in the page. */
  pageErrors: string[];
  /** Every console error, for the message of a failing assertion. */
  consoleErrors: string[];
}

function originOf(url: string): string | null {
  if (url.startsWith('data:')) return null;
  try {
    return new URL(url).origin; // blob:http://host:port/… → http://host:port
  } catch {
    return url;
  }
}

/** A new page in `context` whose requests, CSP violations and errors are recorded. */
export async function watchedPage(context: BrowserContext, baseUrl: string): Promise<Watched> {
  const origin = new URL(baseUrl).origin;
  const watched: Watched = { page: await context.newPage(), foreignRequests: [], cspViolations: [], pageErrors: [], consoleErrors: [] };
  const { page } = watched;
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || '(inline)'}`);
    });
  });
  const onConsole = (type: string, text: string) => {
    if (type !== 'error') return;
    watched.consoleErrors.push(text);
    if (/Content Security Policy|CSP violation/i.test(text)) watched.cspViolations.push(text);
  };
  page.on('console', (message) => onConsole(message.type(), message.text()));
  page.on('worker', (worker) => worker.on('console', (message) => onConsole(message.type(), message.text())));
  page.on('pageerror', (error) => watched.pageErrors.push(error.message));
  page.on('request', (request) => {
    const from = originOf(request.url());
    if (from !== null && from !== origin) watched.foreignRequests.push(request.url());
  });
  return watched;
}

/** The text a person sees in `locator` (rendered text, line breaks included; Monaco's non-breaking spaces as spaces). */
export async function visibleText(locator: Locator): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator.innerText() (rendered text), not the DOM property
  return (await locator.innerText()).replace(/\u00a0/g, ' ');
}
