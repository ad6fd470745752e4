/**
 * A reference model of the session API contract (shared/contract/SEMANTICS.md
 * and session-api.graphql, with the decisions README.md "Behaviour worth
 * knowing" records where the contract is silent), in plain TypeScript with no
 * database and nothing imported from src/: what model.test.ts runs random
 * operation sequences against, next to the real server.
 *
 * It keeps every stored session (by a key id standing for the random key in
 * the cookie), what each client's cookie holds, and the clock given to it, and
 * says for each request what the response must be: the data of each mutation,
 * or which errors are acceptable (the contract does not fix which rule wins
 * when an input breaks several, so every broken rule is acceptable), and what
 * the Set-Cookie header must do.
 *
 * Strings (keys, SKUs, labels, filters, and every string and object key in a
 * JSON value) may not hold U+0000 or a lone surrogate: PostgreSQL cannot store
 * either as given, so they are BAD_USER_INPUT (regressions.test.ts), and so
 * is a JSON value nested deeper than 1000 levels (the server's bound, ahead of
 * PostgreSQL's stack limit). JSON numbers are whatever a JS double is, since
 * GraphQL variables reach the server through JSON.parse.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface ModelConfig {
  /** SESSION_MAX_BYTES: the largest storedSize. */
  maxBytes: number;
  /** SESSION_COOKIE_AGE, seconds. */
  ageSeconds: number;
  /** SESSION_EXPIRE_AT_BROWSER_CLOSE */
  expireAtBrowserClose: boolean;
}

// ---------------------------------------------------------------------------
// Sizes: the size limit, and the contract's character counts.

export const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');
/** "Characters" in the contract's limits: Unicode code points. */
export const codePointLength = (s: string): number => [...s].length;

/**
 * A JS number as PostgreSQL's numeric_out prints it after reading the JSON
 * text JSON.stringify made of it (the shortest round-trip digits, maybe with
 * an exponent): the same digits written out in plain decimal, never with an
 * exponent (`1e+21` → `1000000000000000000000`, `1.5e-7` → `0.00000015`).
 * numeric has no negative zero.
 */
export function pgNumeric(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`not a JSON number: ${n}`);
  if (n === 0) return '0';
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(n));
  if (!m) throw new Error(`unexpected number format ${String(n)}`);
  const [, sign, int = '', frac = '', exp = '0'] = m;
  let digits = int + frac;
  let point = int.length + Number(exp); // digits before the decimal point
  const lead = /^0*/.exec(digits)![0].length;
  digits = digits.slice(lead);
  point -= lead;
  let plain: string;
  if (point <= 0) plain = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) plain = digits + '0'.repeat(point - digits.length);
  else plain = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return sign + plain;
}

/** Compact JSON with numbers in plain decimal (pgNumeric), as jsonb keeps them: what every engine stores. */
function storedText(value: Json): string {
  if (typeof value === 'number') return pgNumeric(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(storedText).join(',')}]`;
  return `{${Object.keys(value)
    .map((k) => `${JSON.stringify(k)}:${storedText(value[k]!)}`)
    .join(',')}}`;
}

/**
 * The size every engine limits: the bytes of that text (key order does
 * not change it). `1e308` counts its 309 digits, as PostgreSQL prints it.
 */
export const storedSize = (value: Json): number => utf8Length(storedText(value));

/** Text PostgreSQL can store as given: no U+0000, no lone UTF-16 surrogate. */
export function storableText(s: string): boolean {
  return !s.includes('\u0000') && !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

/** Whether every string and object key in a JSON value is storable text. */
export function storableJson(value: Json): boolean {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.every(storableJson);
  if (isObject(value)) return Object.keys(value).every((k) => storableText(k) && storableJson(value[k]!));
  return true;
}

/** Levels of arrays and objects in a JSON value (a scalar: 0). */
export function jsonDepth(value: Json): number {
  let deepest = 0;
  const stack: [Json, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    for (const item of Array.isArray(v) ? v : Object.values(v)) stack.push([item, depth + 1]);
  }
  return deepest;
}

/** A value as the server receives it through a JSON request body (no -0). */
export function wire(value: unknown): Json {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null; // JSON.stringify's choice; the generators avoid it
    return value === 0 ? 0 : value;
  }
  if (Array.isArray(value)) return value.map(wire);
  if (typeof value === 'object') return Object.fromEntries(Object.keys(value).map((k) => [k, wire((value as Record<string, unknown>)[k])]));
  throw new Error(`not JSON: ${String(value)}`);
}

/** Deep equality of JSON values: arrays in order, objects as sets of own keys. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const y = b as unknown[];
    return a.length === y.length && a.every((v, i) => jsonEqual(v, y[i]));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const kx = Object.keys(x);
  const ky = Object.keys(y);
  return kx.length === ky.length && kx.every((k) => Object.hasOwn(y, k) && jsonEqual(x[k], y[k]));
}

// ---------------------------------------------------------------------------
// Contract limits and defaults.

export const LIMITS = {
  keyLength: 256,
  skuLength: 64,
  labelLength: 200,
  lineQuantity: 999,
  cartLines: 100,
  pageSizeMin: 1,
  pageSizeMax: 100,
  filters: 20,
  filterField: 64,
  filterValues: 50,
  jsonDepth: 1000,
} as const;

export const THEMES = ['SYSTEM', 'LIGHT', 'DARK'] as const;
export const PREFERENCE_DEFAULTS = { theme: 'SYSTEM', language: 'en', pageSize: 20, filters: [] as { field: string; values: string[] }[] };
const INT_MAX = 2 ** 31 - 1;
/** expiryAge is an Int: a deadline further away than this cannot be reported. */
const MAX_DEADLINE_MS = INT_MAX * 1000;
const INT_MIN = -(2 ** 31);
const RESERVED_TYPED_KEYS = new Set(['cart', 'preferences']);

/**
 * A well-formed BCP 47 tag (the Unicode locale grammar: language, script,
 * region, variants, extensions) in canonical case, or null. Enough of the
 * grammar for the tags the tests generate, written from UTS #35, not from Intl.
 */
export function canonicalLanguage(tag: string): string | null {
  if (tag.length === 0 || tag.length > 64 || !/^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$/.test(tag)) return null;
  const parts = tag.split('-');
  const out: string[] = [];
  let i = 0;
  const lang = parts[i++]!;
  if (!/^([A-Za-z]{2,3}|[A-Za-z]{5,8})$/.test(lang)) return null;
  out.push(lang.toLowerCase());
  if (i < parts.length && /^[A-Za-z]{4}$/.test(parts[i]!)) {
    const s = parts[i++]!;
    out.push(s[0]!.toUpperCase() + s.slice(1).toLowerCase());
  }
  if (i < parts.length && /^([A-Za-z]{2}|\d{3})$/.test(parts[i]!)) out.push(parts[i++]!.toUpperCase());
  while (i < parts.length && /^([A-Za-z0-9]{5,8}|\d[A-Za-z0-9]{3})$/.test(parts[i]!)) out.push(parts[i++]!.toLowerCase());
  while (i < parts.length) {
    // an extension: a singleton (not x) and one or more 2-8 character subtags
    const singleton = parts[i++]!;
    if (!/^[0-9A-WYZa-wyz]$/.test(singleton)) return null;
    const sub: string[] = [];
    while (i < parts.length && /^[A-Za-z0-9]{2,8}$/.test(parts[i]!)) sub.push(parts[i++]!.toLowerCase());
    if (sub.length === 0) return null;
    out.push(singleton.toLowerCase(), ...sub);
  }
  return out.join('-');
}

// ---------------------------------------------------------------------------
// Operations, outcomes, views.

export interface FilterInput {
  field: string;
  values: string[];
}

export interface PreferencesInput {
  theme?: string | null;
  language?: string | null;
  pageSize?: number | null;
  filters?: FilterInput[] | null;
}

/** One mutation field, with its arguments as the server receives them (undefined: left out). */
export type ModelOp =
  | { op: 'setSessionValue'; key: string; value?: Json | undefined }
  | { op: 'removeSessionValue'; key: string }
  | { op: 'clearSession' }
  | { op: 'flushSession' }
  | { op: 'cycleSessionKey' }
  | { op: 'setSessionExpiry'; seconds?: number | null; at?: string | null; browserClose?: boolean | null }
  | { op: 'addToCart'; sku: string; quantity?: number; label?: string | null }
  | { op: 'setCartItemQuantity'; sku: string; quantity: number }
  | { op: 'removeFromCart'; sku: string }
  | { op: 'clearCart' }
  | { op: 'updatePreferences'; input: PreferencesInput }
  | { op: 'resetPreferences' };

/** `rule`: which cart rule on the stored cart refused it (for the statistics only). */
export type ExpectedError = { code: 'BAD_USER_INPUT'; argument: string; rule?: string } | { code: 'SESSION_TOO_LARGE' };

export interface CartLineView {
  sku: string;
  label: string | null;
  quantity: number;
}
export interface CartView {
  items: CartLineView[];
  totalQuantity: number;
  isEmpty: boolean;
}
export interface PreferencesView {
  theme: string;
  language: string;
  pageSize: number;
  filters: FilterInput[];
}
export interface SessionView {
  exists: boolean;
  isEmpty: boolean;
  keys: string[];
  items: { key: string; value: Json }[];
  expiresAt: string | null;
  expiryAge: number;
  expireAtBrowserClose: boolean;
  cart: CartView;
  preferences: PreferencesView;
}

export type OpResult = { ok: true; view: SessionView } | { ok: false; errors: ExpectedError[] };

/** What the response's Set-Cookie must do; `fresh`: a key the client did not hold before. */
export type CookieAction = { kind: 'none' } | { kind: 'clear' } | { kind: 'set'; id: number; fresh: boolean; maxAge: number | null };

export interface RequestOutcome {
  /** One per mutation field that ran; execution stops at the first failure (non-null fields). */
  results: OpResult[];
  cookie: CookieAction;
}

/** A client's cookie: a (maybe dead) key, something that does not verify, or nothing. */
export type ClientCookie = { kind: 'key'; id: number } | { kind: 'forged' } | null;

interface Stored {
  data: Map<string, Json>;
  expiresAtMs: number;
  browserClose: boolean;
  /** setSessionExpiry(seconds): the inactivity age writes renew to; null: the configured one. */
  maxAge: number | null;
  /** setSessionExpiry(at): writes do not move the deadline. */
  fixed: boolean;
}

type Expiry = Omit<Stored, 'data'>;

/** What the request has seen of the session so far (RequestSession's state). */
interface RequestContext {
  key: number | null;
  cookie: CookieAction;
}

type Lines = { sku: string; quantity: number; label?: string }[];

const isObject = (v: Json | undefined): v is { [key: string]: Json } => v !== null && typeof v === 'object' && !Array.isArray(v);
const bad = (argument: string, rule?: string): ExpectedError => ({ code: 'BAD_USER_INPUT', argument, ...(rule ? { rule } : {}) });
const TOO_LARGE: ExpectedError = { code: 'SESSION_TOO_LARGE' };

function linesOf(data: Map<string, Json>): Lines {
  const raw = data.get('cart');
  return Array.isArray(raw) ? (raw as unknown as Lines).map((l) => ({ ...l })) : [];
}

const linesJson = (lines: Lines): Json => lines.map((l) => ({ ...l }));

export class SessionModel {
  private readonly sessions = new Map<number, Stored>();
  private readonly cookies: ClientCookie[] = [];
  private nextId = 1;

  constructor(readonly config: ModelConfig) {}

  cookieOf(client: number): ClientCookie {
    return this.cookies[client] ?? null;
  }

  /** The client's cookie changed outside the server (a replayed, forged or dropped cookie). */
  setCookie(client: number, cookie: ClientCookie): void {
    this.cookies[client] = cookie;
  }

  /** The session stored under `id` that has not expired at `now`. */
  private live(id: number | null, now: number): Stored | undefined {
    if (id === null) return undefined;
    const s = this.sessions.get(id);
    if (s && s.expiresAtMs > now) return s;
    // Expired: never returned again, and no statement can bring it back.
    this.sessions.delete(id);
    return undefined;
  }

  /** Whole seconds, rounded up (README: "Expiry is stored in whole seconds"). */
  private renewedMs(now: number, ageSeconds: number): number {
    return (Math.ceil(now / 1000) + ageSeconds) * 1000;
  }

  private defaultExpiry(now: number): Expiry {
    return {
      expiresAtMs: this.renewedMs(now, this.config.ageSeconds),
      browserClose: this.config.expireAtBrowserClose,
      maxAge: null,
      fixed: false,
    };
  }

  private renew(s: Stored, now: number): void {
    if (!s.fixed) s.expiresAtMs = this.renewedMs(now, s.maxAge ?? this.config.ageSeconds);
  }

  private expiryAge(s: Stored, now: number): number {
    return Math.max(0, Math.floor((s.expiresAtMs - now) / 1000));
  }

  view(id: number | null, now: number): SessionView {
    const s = this.live(id, now);
    if (!s) {
      return {
        exists: false,
        isEmpty: true,
        keys: [],
        items: [],
        expiresAt: null,
        expiryAge: this.config.ageSeconds,
        expireAtBrowserClose: this.config.expireAtBrowserClose,
        cart: { items: [], totalQuantity: 0, isEmpty: true },
        preferences: { ...PREFERENCE_DEFAULTS, filters: [] },
      };
    }
    // "keys and items list the keys sorted by key": JS's sort, by UTF-16 code units.
    const keys = [...s.data.keys()].sort();
    const items = linesOf(s.data).map((l) => ({ sku: l.sku, label: l.label ?? null, quantity: l.quantity }));
    const p = s.data.get('preferences');
    const prefs = isObject(p) ? p : {};
    return {
      exists: true,
      isEmpty: keys.length === 0,
      keys,
      items: keys.map((key) => ({ key, value: s.data.get(key)! })),
      expiresAt: new Date(s.expiresAtMs).toISOString(),
      expiryAge: this.expiryAge(s, now),
      expireAtBrowserClose: s.browserClose,
      cart: { items, totalQuantity: items.reduce((n, l) => n + l.quantity, 0), isEmpty: items.length === 0 },
      preferences: {
        theme: (prefs.theme as string | undefined) ?? PREFERENCE_DEFAULTS.theme,
        language: (prefs.language as string | undefined) ?? PREFERENCE_DEFAULTS.language,
        pageSize: (prefs.pageSize as number | undefined) ?? PREFERENCE_DEFAULTS.pageSize,
        filters: ((prefs.filters as FilterInput[] | undefined) ?? []).map((f) => ({ field: f.field, values: [...f.values] })),
      },
    };
  }

  /** What `{ session { … } }` reads for this client (reads never write). */
  read(client: number, now: number): SessionView {
    const c = this.cookieOf(client);
    return this.view(c?.kind === 'key' ? c.id : null, now);
  }

  /** Session data as the JSON object the database stores. */
  private static object(data: Map<string, Json>): Json {
    return Object.fromEntries(data);
  }

  /**
   * The arguments of `op` whose values GraphQL's variable coercion refuses
   * (an Int outside 32 bits or not whole, an unknown enum value, a malformed
   * DateTime): the request is then a 400 and nothing runs.
   */
  static coercionErrors(op: ModelOp): string[] {
    const int = (n: number | null | undefined) => n === null || n === undefined || (Number.isInteger(n) && n >= INT_MIN && n <= INT_MAX);
    const errors: string[] = [];
    switch (op.op) {
      case 'setSessionExpiry':
        if (!int(op.seconds)) errors.push('seconds');
        if (op.at !== null && op.at !== undefined && !isDateTime(op.at)) errors.push('at');
        break;
      case 'addToCart':
      case 'setCartItemQuantity':
        if (!int(op.quantity)) errors.push('quantity');
        break;
      case 'updatePreferences': {
        const { theme, pageSize } = op.input;
        if ((theme !== null && theme !== undefined && !(THEMES as readonly string[]).includes(theme)) || !int(pageSize))
          errors.push('input');
        break;
      }
    }
    return errors;
  }

  /** Runs the mutation fields of one request, in order, as `client`. */
  request(client: number, now: number, ops: ModelOp[]): RequestOutcome {
    const start = this.cookieOf(client);
    const startId = start?.kind === 'key' ? start.id : null;
    const ctx: RequestContext = { key: startId, cookie: { kind: 'none' } };
    const results: OpResult[] = [];
    for (const op of ops) {
      const r = this.apply(ctx, op, now);
      results.push(r);
      if (!r.ok) break;
    }
    if (ctx.cookie.kind === 'clear') this.cookies[client] = null;
    if (ctx.cookie.kind === 'set') {
      ctx.cookie = { ...ctx.cookie, fresh: ctx.cookie.id !== startId };
      // A cookie with Max-Age=0 (a deadline less than a second away) is dropped by the browser at once.
      this.cookies[client] = ctx.cookie.maxAge === 0 ? null : { kind: 'key', id: ctx.cookie.id };
    }
    return { results, cookie: ctx.cookie };
  }

  private remember(ctx: RequestContext, id: number, s: Stored, now: number): OpResult {
    ctx.key = id;
    ctx.cookie = { kind: 'set', id, fresh: false, maxAge: s.browserClose ? null : this.expiryAge(s, now) };
    return { ok: true, view: this.view(id, now) };
  }

  /**
   * A change to the data: input errors first; then, on the stored session,
   * the change's own rules and the size limit; a session that is not stored
   * is created only by a change that adds data, and then under a fresh key.
   */
  private change(
    ctx: RequestContext,
    now: number,
    creates: boolean,
    inputErrors: ExpectedError[],
    next: (data: Map<string, Json>) => { data: Map<string, Json>; rules: ExpectedError[] },
  ): OpResult {
    if (inputErrors.length) return { ok: false, errors: inputErrors };
    const stored = this.live(ctx.key, now);
    if (!stored && !creates) {
      ctx.key = null;
      return { ok: true, view: this.view(null, now) };
    }
    const result = next(new Map(stored?.data ?? []));
    const tooLarge = storedSize(SessionModel.object(result.data)) > this.config.maxBytes;
    if (result.rules.length || tooLarge) return { ok: false, errors: [...result.rules, ...(tooLarge ? [TOO_LARGE] : [])] };
    if (stored) {
      stored.data = result.data;
      this.renew(stored, now);
      return this.remember(ctx, ctx.key!, stored, now);
    }
    const id = this.nextId++;
    const created: Stored = { data: result.data, ...this.defaultExpiry(now) };
    this.sessions.set(id, created);
    return this.remember(ctx, id, created, now);
  }

  private apply(ctx: RequestContext, op: ModelOp, now: number): OpResult {
    const same = (data: Map<string, Json>) => ({ data, rules: [] });
    switch (op.op) {
      case 'setSessionValue': {
        const value = op.value === undefined ? null : op.value;
        const errors = keyErrors(op.key);
        if (RESERVED_TYPED_KEYS.has(op.key)) errors.push(bad('key'));
        if (!storableJson(value) || jsonDepth(value) > LIMITS.jsonDepth) errors.push(bad('value'));
        // The server may check the value's own size before the key (either error is right).
        if (errors.length && storedSize(value) > this.config.maxBytes) errors.push(TOO_LARGE);
        return this.change(ctx, now, true, errors, (d) => same(d.set(op.key, value)));
      }
      case 'removeSessionValue':
        return this.change(ctx, now, false, keyErrors(op.key), (d) => {
          d.delete(op.key);
          return same(d);
        });
      case 'clearSession':
        return this.change(ctx, now, false, [], () => same(new Map()));
      case 'flushSession': {
        if (ctx.key !== null) this.sessions.delete(ctx.key);
        ctx.key = null;
        ctx.cookie = { kind: 'clear' };
        return { ok: true, view: this.view(null, now) };
      }
      case 'cycleSessionKey': {
        const stored = this.live(ctx.key, now);
        if (!stored) {
          ctx.key = null;
          return { ok: true, view: this.view(null, now) };
        }
        this.sessions.delete(ctx.key!);
        const id = this.nextId++;
        this.sessions.set(id, stored);
        this.renew(stored, now);
        return this.remember(ctx, id, stored, now);
      }
      case 'setSessionExpiry':
        return this.setExpiry(ctx, op, now);
      case 'addToCart': {
        const quantity = op.quantity ?? 1;
        const errors = [...skuErrors(op.sku)];
        if (quantity < 1 || quantity > LIMITS.lineQuantity) errors.push(bad('quantity'));
        if (op.label !== null && op.label !== undefined && (codePointLength(op.label) > LIMITS.labelLength || !storableText(op.label))) {
          errors.push(bad('label'));
        }
        return this.change(ctx, now, true, errors, (d) => {
          const lines = linesOf(d);
          const rules: ExpectedError[] = [];
          const line = lines.find((l) => l.sku === op.sku);
          if (line) {
            line.quantity += quantity;
            if (line.quantity > LIMITS.lineQuantity) rules.push(bad('quantity', 'a line holds at most 999'));
            if (op.label !== null && op.label !== undefined) line.label = op.label;
          } else {
            if (lines.length >= LIMITS.cartLines) rules.push(bad('sku', 'at most 100 lines'));
            lines.push(
              op.label !== null && op.label !== undefined ? { sku: op.sku, quantity, label: op.label } : { sku: op.sku, quantity },
            );
          }
          return { data: d.set('cart', linesJson(lines)), rules };
        });
      }
      case 'setCartItemQuantity': {
        const errors = [...skuErrors(op.sku)];
        if (op.quantity < 0 || op.quantity > LIMITS.lineQuantity) errors.push(bad('quantity'));
        if (op.quantity === 0 || errors.length) return this.change(ctx, now, false, errors, (d) => same(removeLine(d, op.sku)));
        return this.change(ctx, now, true, errors, (d) => {
          const lines = linesOf(d);
          const rules: ExpectedError[] = [];
          const line = lines.find((l) => l.sku === op.sku);
          if (line) line.quantity = op.quantity;
          else {
            if (lines.length >= LIMITS.cartLines) rules.push(bad('sku', 'at most 100 lines'));
            lines.push({ sku: op.sku, quantity: op.quantity });
          }
          return { data: d.set('cart', linesJson(lines)), rules };
        });
      }
      case 'removeFromCart':
        return this.change(ctx, now, false, skuErrors(op.sku), (d) => same(removeLine(d, op.sku)));
      case 'clearCart':
        return this.change(ctx, now, false, [], (d) => {
          d.delete('cart');
          return same(d);
        });
      case 'updatePreferences': {
        const { errors, patch } = preferencesPatch(op.input);
        // Writing nothing to preferences that are not set changes nothing (and creates no session).
        const empty = Object.keys(patch).length === 0;
        return this.change(ctx, now, !empty, errors, (d) => {
          if (empty && !d.has('preferences')) return same(d);
          const old = d.get('preferences');
          return same(d.set('preferences', { ...(isObject(old) ? old : {}), ...patch }));
        });
      }
      case 'resetPreferences':
        return this.change(ctx, now, false, [], (d) => {
          d.delete('preferences');
          return same(d);
        });
    }
  }

  private setExpiry(ctx: RequestContext, op: Extract<ModelOp, { op: 'setSessionExpiry' }>, now: number): OpResult {
    const given = (['seconds', 'at', 'browserClose'] as const).filter((name) => op[name] !== null && op[name] !== undefined);
    if (given.length > 1) return { ok: false, errors: [bad(given.join(', '))] };
    let expiry: Expiry;
    if (op.seconds !== null && op.seconds !== undefined) {
      if (op.seconds < 0) return { ok: false, errors: [bad('seconds')] };
      expiry =
        op.seconds === 0
          ? { ...this.defaultExpiry(now), browserClose: true }
          : { expiresAtMs: this.renewedMs(now, op.seconds), browserClose: false, maxAge: op.seconds, fixed: false };
    } else if (op.at !== null && op.at !== undefined) {
      const at = Date.parse(op.at);
      if (at <= now || at - now > MAX_DEADLINE_MS) return { ok: false, errors: [bad('at')] };
      expiry = { expiresAtMs: at, browserClose: false, maxAge: null, fixed: true };
    } else if (op.browserClose === true) expiry = { ...this.defaultExpiry(now), browserClose: true };
    else if (op.browserClose === false) expiry = { ...this.defaultExpiry(now), browserClose: false };
    else expiry = this.defaultExpiry(now);
    const stored = this.live(ctx.key, now);
    if (stored) {
      Object.assign(stored, expiry);
      return this.remember(ctx, ctx.key!, stored, now);
    }
    // On a session that is not stored it stores an empty one (README).
    const id = this.nextId++;
    const created: Stored = { data: new Map(), ...expiry };
    this.sessions.set(id, created);
    return this.remember(ctx, id, created, now);
  }
}

/** The DateTime scalar: ISO-8601 with a time zone. */
export function isDateTime(s: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s));
}

function keyErrors(key: string): ExpectedError[] {
  const errors: ExpectedError[] = [];
  const n = codePointLength(key);
  if (n < 1 || n > LIMITS.keyLength) errors.push(bad('key'));
  if (key.startsWith('_')) errors.push(bad('key'));
  if (!storableText(key)) errors.push(bad('key'));
  return errors;
}

function skuErrors(sku: string): ExpectedError[] {
  const n = codePointLength(sku);
  return n < 1 || n > LIMITS.skuLength || !storableText(sku) ? [bad('sku')] : [];
}

/** removeFromCart: the line gone, the `cart` key kept (an empty cart stays `[]`). */
function removeLine(d: Map<string, Json>, sku: string): Map<string, Json> {
  if (!d.has('cart')) return d;
  return d.set('cart', linesJson(linesOf(d).filter((l) => l.sku !== sku)));
}

function preferencesPatch(input: PreferencesInput): { errors: ExpectedError[]; patch: { [key: string]: Json } } {
  const errors: ExpectedError[] = [];
  const patch: { [key: string]: Json } = {};
  if (input.theme !== null && input.theme !== undefined) patch.theme = input.theme;
  if (input.language !== null && input.language !== undefined) {
    const language = canonicalLanguage(input.language);
    if (language === null) errors.push(bad('input.language'));
    else patch.language = language;
  }
  if (input.pageSize !== null && input.pageSize !== undefined) {
    if (input.pageSize < LIMITS.pageSizeMin || input.pageSize > LIMITS.pageSizeMax) errors.push(bad('input.pageSize'));
    else patch.pageSize = input.pageSize;
  }
  if (input.filters !== null && input.filters !== undefined) {
    if (input.filters.length > LIMITS.filters) errors.push(bad('input.filters'));
    input.filters.forEach((f, i) => {
      const n = codePointLength(f.field);
      if (n < 1 || n > LIMITS.filterField || !storableText(f.field)) errors.push(bad(`input.filters[${i}].field`));
      if (f.values.length > LIMITS.filterValues || !f.values.every(storableText)) errors.push(bad(`input.filters[${i}].values`));
    });
    patch.filters = input.filters.map((f) => ({ field: f.field, values: [...f.values] }));
  }
  return { errors, patch };
}
