import type { HttpApp } from './app.js';

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  headers: Headers;
  body: { data?: T | null; errors?: { message: string; extensions?: Record<string, unknown>; path?: unknown[] }[] };
  setCookie: string | null;
}

/** The Accept headers real clients send (GraphQL over HTTP). */
export const CLIENT_ACCEPTS = {
  /** fetch by hand, curl, older clients. */
  json: 'application/json',
  /** Apollo Client 4's HttpLink. */
  apollo: 'application/graphql-response+json,application/json;q=0.9',
  /** urql 6's fetch exchange. */
  urql: 'application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed',
  /** A browser's fetch with no Accept set. */
  any: '*/*',
} as const;

/**
 * The Accept header test clients send, in turn, so that the API suite runs
 * with every client's form; SESSIONQL_TEST_ACCEPT=json|apollo|urql|any pins one.
 */
let turn = 0;
function nextAccept(): string {
  const pinned = process.env.SESSIONQL_TEST_ACCEPT as keyof typeof CLIENT_ACCEPTS | undefined;
  if (pinned) return CLIENT_ACCEPTS[pinned];
  const forms = Object.values(CLIENT_ACCEPTS);
  return forms[turn++ % forms.length] as string;
}

/** The status of a GraphQL request error (parse, validation, variables) for a client sending `accept`. */
export function requestErrorStatus(accept: string): number {
  return accept.includes('graphql-response+json') ? 400 : 200;
}

/**
 * A browser-like client of the app: keeps cookies from Set-Cookie (a Max-Age=0
 * or past Expires removes one) and sends them back, like `credentials: 'include'`.
 */
export class CookieClient {
  readonly jar = new Map<string, string>();

  constructor(
    private readonly app: Pick<HttpApp, 'fetch'>,
    private readonly origin = 'http://localhost',
    /** The Accept header of its GraphQL requests: by default the next client form in turn. */
    readonly accept: string = nextAccept(),
  ) {}

  cookieHeader(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.jar.size && !headers.has('cookie')) headers.set('cookie', this.cookieHeader());
    const response = await this.app.fetch(`${this.origin}${path}`, { ...init, headers });
    for (const line of response.headers.getSetCookie()) this.store(line);
    return response;
  }

  private store(line: string): void {
    const [pair = '', ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const maxAge = attrs.find((a) => /^max-age=/i.test(a));
    const expires = attrs.find((a) => /^expires=/i.test(a));
    const gone =
      (maxAge !== undefined && Number(maxAge.split('=')[1]) <= 0) ||
      (maxAge === undefined && expires !== undefined && Date.parse(expires.slice(8)) <= Date.now());
    if (gone) this.jar.delete(name);
    else this.jar.set(name, value);
  }

  /** POST /graphql with a JSON body, as a frontend's fetch would. */
  async gql<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<GraphQLResponse<T>> {
    const response = await this.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: this.accept, ...headers },
      body: JSON.stringify({ query, variables }),
    });
    const text = await response.text();
    let body: GraphQLResponse<T>['body'];
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`not JSON (${response.status}): ${text.slice(0, 200)}`);
    }
    return { status: response.status, headers: response.headers, body, setCookie: response.headers.get('set-cookie') };
  }

  /** The data of a request that must succeed. */
  async data<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<T> {
    const r = await this.gql<T>(query, variables);
    if (r.body.errors?.length || !r.body.data) throw new Error(`GraphQL errors: ${JSON.stringify(r.body.errors)}`);
    return r.body.data;
  }

  /** The one error of a request that must fail. */
  async error(query: string, variables?: Record<string, unknown>) {
    const r = await this.gql(query, variables);
    const [error] = r.body.errors ?? [];
    if (!error) throw new Error(`expected an error, got ${JSON.stringify(r.body)}`);
    return { ...error, code: error.extensions?.code, response: r };
  }

  get sessionCookie(): string | undefined {
    return this.jar.get('sessionid');
  }
}
