/**
 * A browser-like GraphQL client for the tests: POSTs JSON to /graphql and
 * keeps the session cookie from Set-Cookie (Max-Age=0 removes it), sending it
 * back on the next request, like `credentials: 'include'`.
 */
export interface GraphQLError {
  message: string;
  path?: unknown[];
  extensions?: { code?: string; argument?: string; [key: string]: unknown };
}

export interface GraphQLResult<T> {
  status: number;
  data: T | null | undefined;
  errors: GraphQLError[] | undefined;
  /** The raw Set-Cookie header of the response, if any. */
  setCookie: string | null;
}

export class ShopClient {
  /** The session cookie's value, as the server last set it. */
  sessionid: string | undefined;

  constructor(
    private readonly base: string,
    readonly cookieName = 'sessionid',
  ) {}

  /** The Cookie header this client sends (none without a session). */
  cookieHeader(): string | undefined {
    return this.sessionid === undefined ? undefined : `${this.cookieName}=${this.sessionid}`;
  }

  async gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResult<T>> {
    const cookie = this.cookieHeader();
    const response = await fetch(`${this.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...(cookie ? { cookie } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const setCookie = response.headers.get('set-cookie');
    for (const line of response.headers.getSetCookie()) this.remember(line);
    const text = await response.text();
    let body: { data?: T | null; errors?: GraphQLError[] };
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`not JSON (${response.status}): ${text.slice(0, 200)}`);
    }
    return { status: response.status, data: body.data, errors: body.errors, setCookie };
  }

  /** The data of a request that must succeed. */
  async data<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<T> {
    const result = await this.gql<T>(query, variables);
    if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
    return result.data;
  }

  /** The one error of a request that must fail, and the response's Set-Cookie. */
  async error(query: string, variables?: Record<string, unknown>): Promise<GraphQLError & { setCookie: string | null }> {
    const result = await this.gql(query, variables);
    const [error] = result.errors ?? [];
    if (!error) throw new Error(`expected an error, got ${JSON.stringify(result.data)}`);
    return { ...error, setCookie: result.setCookie };
  }

  private remember(line: string): void {
    const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    if (pair.slice(0, eq) !== this.cookieName) return;
    const maxAge = attributes.find((a) => /^max-age=/i.test(a));
    if (maxAge !== undefined && Number(maxAge.split('=')[1]) <= 0) this.sessionid = undefined;
    else this.sessionid = pair.slice(eq + 1);
  }
}
