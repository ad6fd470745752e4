import type { DocumentNode, Token } from 'graphql';
import type { YogaServerOptions } from 'graphql-yoga';

/**
 * Heap held per token of a parsed document: the Token (the lexer's chain is
 * kept through `loc`), the node, its Location and Name. Measured with
 * `heapUsed` deltas over 2,000 distinct copies (Node 20, graphql 16.15):
 * 287 to 513 B per token (test/api queries 301, GraphiQL's introspection
 * query 353, 1-character fields 478, 100-character names 513).
 */
export const AST_BYTES_PER_TOKEN = 512;
/** A document parsed without locations: the densest one measured held 240 B per character with them. */
const AST_BYTES_PER_CHARACTER = 240;
/** A parse error kept by Yoga's error cache: measured 2.5 to 3.7 KB with its stack. */
export const ERROR_BYTES = 4096;

/** Heap bytes of a string: V8 keeps Latin-1 text in one byte a character, anything else in two. */
export function stringBytes(text: string): number {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return 2 * text.length;
  return text.length;
}

/**
 * Estimated heap held by a cached document: its source and its AST. Comments
 * stay in the token chain and GRAPHQL_MAX_TOKENS does not count them; they
 * weigh a full token here (measured about 115 B), which only overestimates.
 */
export function documentBytes(source: string, document: DocumentNode): number {
  const tokens = tokenCount(document);
  const ast = tokens === undefined ? source.length * AST_BYTES_PER_CHARACTER : tokens * AST_BYTES_PER_TOKEN;
  return stringBytes(source) + ast;
}

/** Tokens of a parsed document (its lexer chain, comments included), or undefined when parsed without locations. */
export function tokenCount(document: DocumentNode): number | undefined {
  if (!document.loc) return undefined;
  let tokens = 0;
  for (let token: Token | null = document.loc.startToken; token; token = token.next) tokens++;
  return tokens;
}

export interface DocumentCacheOptions<V> {
  /** Total weight of the entries; the least recently used go first. */
  maxBytes: number;
  /** An entry weighing more is not stored. */
  maxEntryBytes: number;
  /** Keys longer than this (characters) are not stored. @default Infinity */
  maxKeyLength?: number;
  /** An entry's weight, in estimated heap bytes. @default the key's bytes */
  weigh?: (key: string, value: V) => number;
}

/**
 * A least-recently-used map from query text to what was derived from it,
 * bounded by the total weight of its entries rather than their number: a
 * count bound lets distinct large documents hold hundreds of MB.
 */
export class DocumentCache<V> {
  private readonly entries = new Map<string, { value: V; weight: number }>();
  private total = 0;

  constructor(private readonly options: DocumentCacheOptions<V>) {}

  get size(): number {
    return this.entries.size;
  }

  /** The sum of the weights of the entries held, never above maxBytes. */
  get bytes(): number {
    return this.total;
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    // A Map iterates in insertion order: moving the entry to the end makes the first one the least recently used.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Stores `value` under `key` unless the key or the weight is over its cap; evicts the least recently used to fit. */
  set(key: string, value: V): void {
    this.delete(key);
    if (key.length > (this.options.maxKeyLength ?? Number.POSITIVE_INFINITY)) return;
    const weight = this.options.weigh ? this.options.weigh(key, value) : stringBytes(key);
    if (!(weight <= this.options.maxEntryBytes && weight <= this.options.maxBytes)) return;
    for (const [oldest] of this.entries) {
      if (this.total + weight <= this.options.maxBytes) break;
      this.delete(oldest);
    }
    this.entries.set(key, { value, weight });
    this.total += weight;
  }

  delete(key: string): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.entries.delete(key);
    this.total -= entry.weight;
    return true;
  }
}

export interface ParserCacheOptions {
  /** Estimated heap held by parsed documents; parse errors get an eighth more. @default 32 MiB */
  maxBytes?: number;
  /** Heaviest document kept. @default 1 MiB (about 2,000 tokens; GraphiQL's introspection query weighs 87 KB) */
  maxEntryBytes?: number;
  /** Documents longer than this are not kept: real clients send 0.2 to 5 KB. @default 16 KiB */
  maxDocumentLength?: number;
}

type YogaCaches = Exclude<YogaServerOptions<object, object>['parserAndValidationCache'], boolean | undefined>;

/**
 * Yoga's `parserAndValidationCache`, bounded in bytes (its default is two
 * LRUs of 1,024 entries each, whatever their size).
 *
 * Validation results are not cached: Yoga 5 keeps them in a WeakMap keyed by
 * the document object, alive as long as the document is cached, and counted
 * nowhere. Valid documents' results are empty, but an invalid one holds up to
 * 101 errors: 15 conflicting `value(key:)` fields (248 characters, weighed
 * 49 KB here) hold 282 KB of errors, 160 of them 884 KB, so a byte bound on
 * documents would not bound them. Validating again costs 0.05 to 1 ms on the Yoga path; the fast
 * lane keeps its own verdict per document.
 */
export function yogaParserCaches(options: ParserCacheOptions = {}) {
  const maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
  const maxEntryBytes = options.maxEntryBytes ?? 1024 * 1024;
  const maxKeyLength = options.maxDocumentLength ?? 16 * 1024;
  return {
    documentCache: new DocumentCache<DocumentNode>({ maxBytes, maxEntryBytes, maxKeyLength, weigh: documentBytes }),
    errorCache: new DocumentCache<unknown>({
      maxBytes: maxBytes / 8,
      maxEntryBytes,
      maxKeyLength,
      weigh: (source) => stringBytes(source) + ERROR_BYTES,
    }),
    validationCache: false,
  } satisfies YogaCaches;
}
