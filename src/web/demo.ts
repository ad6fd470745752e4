/**
 * The demo page: a cart, preferences, expiry and the whole session, all read
 * from and written to the session API at /graphql with fetch and the session
 * cookie (credentials: 'include'). No framework: the state comes back from
 * the server after every change and the page is drawn again from it.
 * Bundled for the browser by esbuild at build time (scripts/build.mjs).
 */

type Theme = 'SYSTEM' | 'LIGHT' | 'DARK';

interface CartLine {
  sku: string;
  label: string | null;
  quantity: number;
}

interface Filter {
  field: string;
  values: string[];
}

interface Preferences {
  theme: Theme;
  language: string;
  pageSize: number;
  filters: Filter[];
}

type MessageLevel = 'DEBUG' | 'INFO' | 'SUCCESS' | 'WARNING' | 'ERROR';

/** A flash message (Django's messages framework, stored in the session under `_messages`). */
interface FlashMessage {
  level: MessageLevel;
  text: string;
}

interface SessionState {
  exists: boolean;
  isEmpty: boolean;
  expiresAt: string | null;
  expiryAge: number;
  expireAtBrowserClose: boolean;
  items: { key: string; value: unknown }[];
  cart: { items: CartLine[]; totalQuantity: number; isEmpty: boolean };
  preferences: Preferences;
  flashMessages: FlashMessage[];
}

interface ApiProblem {
  message: string;
  code?: string;
}

/** An answer from the API that was not the data asked for: every message it gave. */
class ApiError extends Error {
  constructor(readonly problems: ApiProblem[]) {
    super(problems.map((p) => p.message).join('; '));
  }
}

const STATE = /* GraphQL */ `
  query DemoState {
    session {
      exists
      isEmpty
      expiresAt
      expiryAge
      expireAtBrowserClose
      items { key value }
      cart { items { sku label quantity } totalQuantity isEmpty }
      preferences { theme language pageSize filters { field values } }
      flashMessages { level text }
    }
  }
`;

/** A sample catalog for the shop card; the cart holds any SKU. */
const CATALOG = [
  { sku: 'book-dune', label: 'Dune', category: 'books', price: 11.5 },
  { sku: 'book-ddia', label: 'Designing Data-Intensive Applications', category: 'books', price: 42 },
  { sku: 'book-sicp', label: 'Structure and Interpretation of Computer Programs', category: 'books', price: 55 },
  { sku: 'book-pragprog', label: 'The Pragmatic Programmer', category: 'books', price: 39.9 },
  { sku: 'music-kind-of-blue', label: 'Kind of Blue (vinyl)', category: 'music', price: 24 },
  { sku: 'music-goldberg', label: 'Goldberg Variations (CD)', category: 'music', price: 14 },
  { sku: 'music-abbey-road', label: 'Abbey Road (vinyl)', category: 'music', price: 27 },
  { sku: 'tea-sencha', label: 'Sencha, 100 g', category: 'tea', price: 8.2 },
  { sku: 'tea-assam', label: 'Assam, 250 g', category: 'tea', price: 9.5 },
  { sku: 'tea-earl-grey', label: 'Earl Grey, 100 g', category: 'tea', price: 6.9 },
  { sku: 'tea-rooibos', label: 'Rooibos, 100 g', category: 'tea', price: 5.4 },
] as const;
const CATEGORIES = ['books', 'music', 'tea'] as const;
const FILTER_FIELD = 'category';

let state: SessionState | null = null;
/** Messages consumed when this page loaded (shown once, as a Django page shows them). */
let delivered: FlashMessage[] = [];
let page = 0;
let pending = 0;

// ---------------------------------------------------------------- the API

async function gql<T>(query: string, variables?: Record<string, unknown>): Promise<T> {
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      credentials: 'include',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    throw new ApiError([{ message: `The server could not be reached (${(error as Error).message}).` }]);
  }
  let body: { data?: T | null; errors?: { message: string; extensions?: { code?: string } }[] };
  try {
    body = await response.json();
  } catch {
    throw new ApiError([{ message: `HTTP ${response.status} ${response.statusText}: the answer was not JSON.` }]);
  }
  if (body.errors?.length) {
    throw new ApiError(body.errors.map((e) => ({ message: e.message, code: e.extensions?.code })));
  }
  if (!response.ok || !body.data) throw new ApiError([{ message: `HTTP ${response.status} ${response.statusText}.` }]);
  return body.data;
}

async function refresh(): Promise<void> {
  state = (await gql<{ session: SessionState }>(STATE)).session;
  render();
}

// ---------------------------------------------------------------- live

/** The session pushed by the server after every change, from any tab or instance (sessionChanged over SSE). */
const LIVE = STATE.replace('query DemoState {\n    session {', 'subscription DemoLive {\n    sessionChanged {');
/**
 * One stream per browser, not per tab: an HTTP/1.1 browser opens at most six
 * connections to a host, and each stream holds one, so six tabs with a stream
 * each would leave none for requests. The tab holding the Web Lock
 * `sessionql-live` follows the session and hands each state to the others
 * over a BroadcastChannel; when it closes, the next tab takes the lock. Tabs
 * also say there when they wrote (a new session has a cookie the stream lacks).
 */
type TabMessage = { kind: 'wrote' } | { kind: 'hello' } | { kind: 'state'; state: SessionState; live: boolean };
const tabs = typeof BroadcastChannel === 'function' ? new BroadcastChannel('sessionql-demo') : null;
let leader = false;
let liveStream: AbortController | null = null;
let liveRetry: number | undefined;
let liveFailures = 0;

function setLive(on: boolean): void {
  document.body.dataset.live = on ? 'on' : 'off';
  const pill = $('#live');
  pill.textContent = on ? 'Live' : 'Not live';
  pill.title = on
    ? 'Changes from other tabs and devices with this session show up here as they happen.'
    : 'No session to follow yet: changes from other tabs show up after this page writes, or when another tab does.';
}

/** A state from the stream (this tab's, or the leader's): drawn, and passed on when this tab leads. */
function received(next: SessionState, live: boolean): void {
  state = next;
  setLive(live);
  render();
  if (leader) tabs?.postMessage({ kind: 'state', state: next, live } satisfies TabMessage);
}

/**
 * Follows the session: one stream at a time. A stream ends after a flush or
 * an expiry (the session is gone: wait for a write, here or in another
 * tab), after a new session key (follow it at once: the cookie changed), or
 * when the connection drops (retry, with backoff).
 */
function follow(): void {
  if (liveStream || !leader) return;
  window.clearTimeout(liveRetry);
  const controller = new AbortController();
  liveStream = controller;
  let last: SessionState | null = null;
  let failed = false;
  void (async () => {
    try {
      const response = await fetch('/graphql', {
        method: 'POST',
        credentials: 'include',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query: LIVE }),
        signal: controller.signal,
      });
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += value;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trim())
            .join('\n');
          if (!/^event: next$/m.test(block) || !data) continue;
          const result = JSON.parse(data) as { data?: { sessionChanged: SessionState }; errors?: { message: string }[] };
          if (result.errors?.length) throw new Error(result.errors[0]!.message);
          last = result.data!.sessionChanged;
          liveFailures = 0;
          received(last, last.exists);
        }
      }
    } catch (error) {
      failed = !controller.signal.aborted;
      if (failed) console.info('sessionChanged:', (error as Error).message);
    } finally {
      if (liveStream === controller) liveStream = null;
    }
    if (controller.signal.aborted) return;
    if (failed) {
      if (state) received(state, false);
      liveRetry = window.setTimeout(follow, Math.min(1000 * 2 ** liveFailures++, 30_000));
    } else if (last?.exists) {
      // Ended while the session existed: its key changed (cycleSessionKey). Follow the new one.
      follow();
    } else if (state) {
      received(state, false);
    }
  })();
}

/** Becomes the tab that follows the session when no other does (at once without Web Locks). */
function lead(): void {
  const start = () => {
    leader = true;
    follow();
  };
  if (!navigator.locks) {
    start();
    return;
  }
  tabs?.postMessage({ kind: 'hello' } satisfies TabMessage);
  // Held until this tab goes away; the next tab waiting then leads.
  void navigator.locks.request('sessionql-live', () => {
    start();
    return new Promise<never>(() => {});
  });
}

/** After a write of this page: the leader may need to start following (its stream ended without a session). */
function wrote(): void {
  if (leader) follow();
  else tabs?.postMessage({ kind: 'wrote' } satisfies TabMessage);
}
tabs?.addEventListener('message', (event: MessageEvent<TabMessage>) => {
  if (event.data.kind === 'wrote') follow();
  else if (event.data.kind === 'hello') {
    // A tab that just opened: tell it whether this session is followed.
    if (leader && state) tabs?.postMessage({ kind: 'state', state, live: liveStream !== null && state.exists } satisfies TabMessage);
  } else if (!leader) {
    state = event.data.state;
    setLive(event.data.live);
    render();
  }
});
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') follow();
});

/**
 * Runs one change: clears the last error, sends the mutation, reads the
 * whole state back. Any failure is shown in the error area, never dropped;
 * the state is read again after a refused change too (it changed nothing).
 */
async function run(change: () => Promise<unknown>, notice?: string): Promise<void> {
  showError(null);
  showNotice(null);
  setBusy(+1);
  try {
    await change();
    if (notice) showNotice(notice);
  } catch (error) {
    showError(error);
  }
  wrote();
  try {
    await refresh();
  } catch (error) {
    showError(error);
  } finally {
    setBusy(-1);
  }
}

const mutations = {
  addToCart: (sku: string, quantity: number, label: string | null) =>
    gql(
      'mutation Add($sku: String!, $quantity: Int!, $label: String) { addToCart(sku: $sku, quantity: $quantity, label: $label) { totalQuantity } }',
      {
        sku,
        quantity,
        label,
      },
    ),
  setQuantity: (sku: string, quantity: number) =>
    gql('mutation SetQuantity($sku: String!, $quantity: Int!) { setCartItemQuantity(sku: $sku, quantity: $quantity) { totalQuantity } }', {
      sku,
      quantity,
    }),
  removeFromCart: (sku: string) => gql('mutation Remove($sku: String!) { removeFromCart(sku: $sku) { totalQuantity } }', { sku }),
  clearCart: () => gql('mutation { clearCart { totalQuantity } }'),
  /** A change and a flash message for the next page, in one request (mutations run in order). */
  addFromShop: (sku: string, label: string) =>
    gql(
      'mutation AddFromShop($sku: String!, $label: String, $message: String!) { addToCart(sku: $sku, quantity: 1, label: $label) { totalQuantity } addFlashMessage(level: SUCCESS, text: $message) { text } }',
      { sku, label, message: `Added ${label} to your cart.` },
    ),
  consumeMessages: () => gql<{ consumeFlashMessages: FlashMessage[] }>('mutation { consumeFlashMessages { level text } }'),
  updatePreferences: (input: Partial<Preferences>) =>
    gql('mutation Prefs($input: PreferencesInput!) { updatePreferences(input: $input) { theme } }', { input }),
  resetPreferences: () => gql('mutation { resetPreferences { theme } }'),
  setValue: (key: string, value: unknown) =>
    gql('mutation SetValue($key: String!, $value: JSON) { setSessionValue(key: $key, value: $value) { exists } }', { key, value }),
  removeValue: (key: string) => gql('mutation RemoveValue($key: String!) { removeSessionValue(key: $key) { exists } }', { key }),
  setExpiry: (args: { seconds?: number; browserClose?: boolean }) =>
    gql(
      'mutation Expiry($seconds: Int, $browserClose: Boolean) { setSessionExpiry(seconds: $seconds, browserClose: $browserClose) { expiryAge } }',
      args,
    ),
  flush: () => gql('mutation { flushSession { exists } }'),
  cycle: () => gql('mutation { cycleSessionKey { exists } }'),
};

// ---------------------------------------------------------------- DOM helpers

function $<T extends HTMLElement = HTMLElement>(selector: string): T {
  const element = document.querySelector<T>(selector);
  if (!element) throw new Error(`demo.html has no ${selector}`);
  return element;
}

type Child = Node | string | null | undefined | false;

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string | boolean | number | ((event: Event) => void)>> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, '').toLowerCase(), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  for (const child of children) if (child) element.append(child);
  return element;
}

function field(form: HTMLFormElement, name: string): string {
  const value = new FormData(form).get(name);
  return typeof value === 'string' ? value.trim() : '';
}

/** The number typed, or the text itself when it is not one: the API says what is wrong with it. */
function integer(text: string): number | string {
  return text !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
}

function setBusy(delta: number): void {
  pending += delta;
  document.body.setAttribute('aria-busy', String(pending > 0));
}

function showError(error: unknown): void {
  const box = $('#error');
  const list = $('#error-messages');
  if (error === null) {
    box.hidden = true;
    list.replaceChildren();
    return;
  }
  const problems: ApiProblem[] = error instanceof ApiError ? error.problems : [{ message: String((error as Error)?.message ?? error) }];
  list.append(
    ...problems.map((p) => h('li', {}, h('span', { class: 'message' }, p.message), p.code ? h('code', { class: 'code' }, p.code) : null)),
  );
  box.hidden = false;
}

function showNotice(text: string | null): void {
  const box = $('#notice');
  box.textContent = text ?? '';
  box.hidden = text === null;
}

// ---------------------------------------------------------------- formatting

function locale(): string {
  return state?.preferences.language ?? 'en';
}

function formatPrice(value: number): string {
  return new Intl.NumberFormat(locale(), { style: 'currency', currency: 'EUR' }).format(value);
}

function formatDate(iso: string): string {
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

function formatDuration(seconds: number): string {
  const units: [number, Intl.RelativeTimeFormatUnit][] = [
    [86_400, 'day'],
    [3_600, 'hour'],
    [60, 'minute'],
  ];
  const [size, unit] = units.find(([size]) => Math.round((seconds / size) * 10) >= 10) ?? [1, 'second'];
  const amount = Math.round((seconds / size) * 10) / 10;
  const words = new Intl.NumberFormat(locale(), { style: 'unit', unit, unitDisplay: 'long' }).format(amount);
  return `${words} (${seconds} s)`;
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 1).replace(/\n\s*/g, ' ');
}

// ---------------------------------------------------------------- drawing

function render(): void {
  if (!state) return;
  const { preferences } = state;
  const root = document.documentElement;
  root.dataset.theme = preferences.theme.toLowerCase();
  root.lang = preferences.language;
  const status = $('#status');
  status.textContent = state.exists ? 'Session stored' : 'No session yet';
  status.classList.toggle('on', state.exists);
  renderCart();
  renderShop();
  renderPreferences();
  renderExpiry();
  renderContents();
  renderMessages();
  document.body.dataset.ready = 'true';
}

function renderCart(): void {
  const cart = state!.cart;
  $('#cart-empty').hidden = !cart.isEmpty;
  $('#cart-lines').hidden = cart.isEmpty;
  $('#clear-cart').hidden = cart.isEmpty;
  $('#cart-total').textContent = cart.isEmpty ? '' : `${cart.totalQuantity} ${cart.totalQuantity === 1 ? 'item' : 'items'}`;
  const rows = cart.items.map((line) => {
    const name = line.label ?? line.sku;
    const price = CATALOG.find((item) => item.sku === line.sku)?.price;
    const quantity = h('input', {
      type: 'number',
      inputmode: 'numeric',
      class: 'qty',
      value: line.quantity,
      'aria-label': `Quantity of ${name}`,
      onchange: () => void run(() => mutations.setQuantity(line.sku, integer(quantity.value) as number)),
    });
    const step = (delta: number, text: string, label: string) =>
      h(
        'button',
        {
          type: 'button',
          class: 'ghost small step',
          'aria-label': label,
          // One more is addToCart, an increment on the server, so quick clicks all count.
          onclick: () =>
            void run(() =>
              delta > 0 ? mutations.addToCart(line.sku, delta, null) : mutations.setQuantity(line.sku, line.quantity + delta),
            ),
        },
        text,
      );
    return h(
      'tr',
      { 'data-sku': line.sku },
      h(
        'td',
        {},
        h('div', { class: 'item-name' }, name),
        h('div', { class: 'muted small' }, h('code', {}, line.sku), price === undefined ? null : ` · ${formatPrice(price)}`),
      ),
      h(
        'td',
        { class: 'num' },
        h('div', { class: 'stepper' }, step(-1, '−', `One less ${name}`), quantity, step(+1, '+', `One more ${name}`)),
      ),
      h(
        'td',
        { class: 'num' },
        h(
          'button',
          {
            type: 'button',
            class: 'ghost small icon',
            title: 'Remove',
            'aria-label': `Remove ${name}`,
            onclick: () => void run(() => mutations.removeFromCart(line.sku)),
          },
          '×',
        ),
      ),
    );
  });
  $('#cart-lines tbody').replaceChildren(...rows);
}

function categoryFilter(): Filter | undefined {
  return state!.preferences.filters.find((f) => f.field === FILTER_FIELD);
}

function renderShop(): void {
  const { pageSize } = state!.preferences;
  const shown = categoryFilter()?.values;
  const items = CATALOG.filter((item) => !shown || shown.length === 0 || shown.includes(item.category));
  const pages = Math.max(1, Math.ceil(items.length / pageSize));
  page = Math.min(page, pages - 1);
  const visible = items.slice(page * pageSize, (page + 1) * pageSize);
  $('#shop-count').textContent = `${items.length} of ${CATALOG.length} products, ${pageSize} a page`;
  $('#page-info').textContent = `Page ${page + 1} of ${pages}`;
  $<HTMLButtonElement>('#page-prev').disabled = page === 0;
  $<HTMLButtonElement>('#page-next').disabled = page >= pages - 1;
  $('#catalog').replaceChildren(
    ...visible.map((item) =>
      h(
        'li',
        {},
        h('span', { class: `tag ${item.category}` }, item.category),
        h('span', { class: 'item-name grow', title: item.label }, item.label),
        h('span', { class: 'price' }, formatPrice(item.price)),
        h(
          'button',
          {
            type: 'button',
            class: 'small',
            'aria-label': `Add ${item.label}`,
            onclick: () => void run(() => mutations.addFromShop(item.sku, item.label)),
          },
          'Add',
        ),
      ),
    ),
  );
  if (visible.length === 0) $('#catalog').append(h('li', { class: 'empty' }, 'No product in the categories chosen.'));
}

/** The preferences the form last showed: a render that brings no change leaves what the visitor is typing. */
let shownPreferences: string | undefined;

function renderPreferences(): void {
  const prefs = state!.preferences;
  for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="theme"]')) radio.checked = radio.value === prefs.theme;
  // A push from another tab (or the live stream's first state) re-renders everything: only a real change of the
  // stored preferences replaces the form's fields, else an edit not yet saved would be lost under the cursor.
  const shown = JSON.stringify([prefs.language, prefs.pageSize, categoryFilter()?.values ?? []]);
  if (shown === shownPreferences) return;
  shownPreferences = shown;
  const form = $<HTMLFormElement>('#prefs-form');
  (form.elements.namedItem('language') as HTMLInputElement).value = prefs.language;
  (form.elements.namedItem('pageSize') as HTMLInputElement).value = String(prefs.pageSize);
  const checked = categoryFilter()?.values ?? [];
  $('#categories').replaceChildren(
    ...CATEGORIES.map((category) =>
      h(
        'label',
        { class: 'check' },
        h('input', { type: 'checkbox', name: 'category', value: category, checked: checked.includes(category) }),
        ` ${category}`,
      ),
    ),
  );
}

function renderExpiry(): void {
  const s = state!;
  $('#expires-at').textContent = s.expiresAt ? formatDate(s.expiresAt) : s.exists ? '–' : 'not stored yet';
  $('#expiry-age').textContent = formatDuration(s.expiryAge);
  $('#browser-close').textContent = s.expireAtBrowserClose ? 'yes: the cookie goes when the browser closes' : 'no: a persistent cookie';
}

/** The flash messages: those delivered with this page, then those pending (a peek); Dismiss consumes them. */
function renderMessages(): void {
  const messages = [...delivered, ...state!.flashMessages];
  $('#messages').hidden = messages.length === 0;
  $('#messages-list').replaceChildren(
    ...messages.map((m) => h('li', { class: `message ${m.level.toLowerCase()}`, 'data-level': m.level }, m.text)),
  );
}

function renderContents(): void {
  const { items, isEmpty } = state!;
  $('#contents-empty').hidden = !isEmpty;
  $('#contents-table').hidden = isEmpty;
  $('#contents-table tbody').replaceChildren(
    ...items.map(({ key, value }) =>
      h(
        'tr',
        { 'data-key': key },
        h('th', { scope: 'row' }, h('code', {}, key)),
        h('td', {}, h('code', { class: 'value' }, json(value))),
        h(
          'td',
          { class: 'num' },
          // Reserved keys (`_messages`) are written only through their own mutations.
          key.startsWith('_')
            ? ''
            : h(
                'button',
                {
                  type: 'button',
                  class: 'ghost small',
                  'aria-label': `Remove the key ${key}`,
                  onclick: () => void run(() => mutations.removeValue(key)),
                },
                'Remove',
              ),
        ),
      ),
    ),
  );
}

// ---------------------------------------------------------------- wiring

function wire(): void {
  $('#error-dismiss').addEventListener('click', () => showError(null));

  $('#add-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const label = field(form, 'label');
    void run(async () => {
      await mutations.addToCart(field(form, 'sku'), integer(field(form, 'quantity')) as number, label === '' ? null : label);
      form.reset();
    });
  });
  $('#clear-cart').addEventListener('click', () => void run(mutations.clearCart));
  $('#messages-dismiss').addEventListener(
    'click',
    () =>
      void run(async () => {
        delivered = [];
        await mutations.consumeMessages();
      }),
  );

  $('#page-prev').addEventListener('click', () => {
    page -= 1;
    renderShop();
  });
  $('#page-next').addEventListener('click', () => {
    page += 1;
    renderShop();
  });

  for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="theme"]')) {
    radio.addEventListener('change', () => {
      document.documentElement.dataset.theme = radio.value.toLowerCase();
      void run(() => mutations.updatePreferences({ theme: radio.value as Theme }));
    });
  }
  $('#prefs-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const categories = new FormData(form).getAll('category').map(String);
    const others = state?.preferences.filters.filter((f) => f.field !== FILTER_FIELD) ?? [];
    void run(
      () =>
        mutations.updatePreferences({
          language: field(form, 'language'),
          pageSize: integer(field(form, 'pageSize')) as number,
          filters: categories.length ? [...others, { field: FILTER_FIELD, values: categories }] : others,
        }),
      'Preferences saved.',
    );
  });
  $('#reset-prefs').addEventListener('click', () => void run(mutations.resetPreferences, 'Preferences back to the defaults.'));

  $('#expiry-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    void run(() => mutations.setExpiry({ seconds: integer(field(form, 'seconds')) as number }), 'Expiry set.');
  });
  $('#expiry-browser-close').addEventListener(
    'click',
    () => void run(() => mutations.setExpiry({ browserClose: true }), 'The session now ends when the browser closes.'),
  );
  $('#expiry-default').addEventListener('click', () => void run(() => mutations.setExpiry({}), "Expiry back to the server's default."));

  $('#value-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const text = field(form, 'value');
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {}
    void run(async () => {
      await mutations.setValue(field(form, 'key'), value);
      form.reset();
    });
  });

  $('#flush').addEventListener('click', () => {
    page = 0;
    void run(mutations.flush, 'Session flushed: the data is gone and the cookie expired.');
  });
  $('#cycle').addEventListener('click', () => {
    const notice = state?.exists
      ? 'New session key: the same data under a new cookie; the old one no longer works.'
      : 'Nothing is stored yet, so there is no key to change.';
    void run(mutations.cycle, notice);
  });
}

wire();
setBusy(+1);
// A page view delivers the pending flash messages once, as Django's templates do.
mutations
  .consumeMessages()
  .then((r) => {
    delivered = r.consumeFlashMessages;
  })
  .then(refresh)
  .then(lead)
  .catch(showError)
  .finally(() => {
    setBusy(-1);
    document.body.dataset.ready = 'true';
  });
