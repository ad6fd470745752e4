import type { CookieClient } from './client.js';

/** One Server-Sent Event: its `event:` name and `data:` text; comments (heartbeats) are counted, not returned. */
export interface ServerEvent {
  event: string;
  data: string;
}

export const SESSION_CHANGED = 'subscription { sessionChanged { exists keys expiresAt cart { totalQuantity } } }';

/**
 * A GraphQL-over-SSE subscription as a browser's fetch or an SSE client
 * sends it (POST, or GET with the query in the URL; Accept: text/event-stream),
 * with the client's cookies. Events are read as they arrive.
 */
export class EventStream {
  readonly response: Response;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly controller: AbortController;
  private buffer = '';
  private readonly decoder = new TextDecoder();
  private readonly queue: ServerEvent[] = [];
  /** A read that outlived a timeout: the next call takes its chunk. */
  private pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
  /** Comment lines seen (`:` heartbeats). */
  heartbeats = 0;
  ended = false;

  private constructor(response: Response, controller: AbortController) {
    this.response = response;
    this.controller = controller;
    this.reader = response.body!.getReader();
  }

  static async open(
    client: CookieClient,
    options: { query?: string; method?: 'GET' | 'POST'; headers?: Record<string, string> } = {},
  ): Promise<EventStream> {
    const query = options.query ?? SESSION_CHANGED;
    const controller = new AbortController();
    const headers = { accept: 'text/event-stream', ...options.headers };
    const response =
      options.method === 'GET'
        ? await client.fetch(`/graphql?query=${encodeURIComponent(query)}`, { headers, signal: controller.signal })
        : await client.fetch('/graphql', {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body: JSON.stringify({ query }),
            signal: controller.signal,
          });
    return new EventStream(response, controller);
  }

  /** The next event, within `ms`; null when the stream ended first. */
  async next(ms = 5000): Promise<ServerEvent | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const queued = this.queue.shift();
      if (queued) return queued;
      if (this.ended) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no event within ${ms} ms`);
      let timer: NodeJS.Timeout | undefined;
      this.pending ??= this.reader.read();
      const chunk = await Promise.race([
        this.pending,
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), left);
        }),
      ]).finally(() => clearTimeout(timer));
      if (chunk === 'timeout') throw new Error(`no event within ${ms} ms`);
      this.pending = null;
      if (chunk.done) this.ended = true;
      else this.parse(this.decoder.decode(chunk.value, { stream: true }));
    }
  }

  /** The `data` of the next `next` event, parsed (a GraphQL execution result). */
  async result(ms = 5000): Promise<{ data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] }> {
    const event = await this.next(ms);
    if (!event) throw new Error('the stream ended');
    if (event.event !== 'next') throw new Error(`expected a next event, got ${event.event}: ${event.data}`);
    return JSON.parse(event.data);
  }

  /** The session of the next event. */
  async session(ms = 5000): Promise<any> {
    const r = await this.result(ms);
    if (r.errors?.length) throw new Error(`errors: ${JSON.stringify(r.errors)}`);
    return r.data.sessionChanged;
  }

  /** Resolves when the stream says `complete` and ends (else throws after `ms`). */
  async completes(ms = 5000): Promise<void> {
    const event = await this.next(ms);
    if (event?.event !== 'complete') throw new Error(`expected complete, got ${JSON.stringify(event)}`);
    const after = await this.next(ms);
    if (after) throw new Error(`an event after complete: ${JSON.stringify(after)}`);
  }

  /** No event arrives within `ms` (heartbeats aside). */
  async quiet(ms: number): Promise<void> {
    try {
      const event = await this.next(ms);
      throw new Error(`expected no event, got ${JSON.stringify(event)}`);
    } catch (error) {
      if (!/no event within/.test((error as Error).message)) throw error;
    }
  }

  close(): void {
    this.controller.abort();
    this.reader.cancel().catch(() => {});
  }

  private parse(text: string): void {
    this.buffer += text;
    for (let end = this.buffer.indexOf('\n\n'); end >= 0; end = this.buffer.indexOf('\n\n')) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.heartbeats++;
        else if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (event !== 'message' || data.length) this.queue.push({ event, data: data.join('\n') });
    }
  }
}
