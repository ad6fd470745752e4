import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/server/logger.js';
import { setup } from '../helpers/app.js';

// A client (or an attacker) that declares a body, sends part of it and goes away: the request
// is dropped as the client's doing (no error logged, nothing written) and the server keeps serving.
describe('a body cut off by the client', async () => {
  const debug: string[] = [];
  const errors: unknown[][] = [];
  const logger: Logger = {
    debug: (...args) => void debug.push(args.map(String).join(' ')),
    info: () => {},
    warn: () => {},
    error: (...args) => void errors.push(args),
    request: () => {},
  };
  const { app, client } = await setup({}, { logger });
  const c = client();
  await c.data('mutation { addToCart(sku: "A") { totalQuantity } }');

  it('dropped, logged at debug level (not as an error), nothing written', async () => {
    const url = new URL(app.baseUrl);
    const body = '{"query":"mutation { addToCart(sku: \\"A\\", quantity: 5) { totalQuantity } }"}';
    const debugBefore = debug.length;
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(
          `POST /graphql HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n` +
            `Accept: application/graphql-response+json,application/json;q=0.9\r\n` +
            `Cookie: sessionid=${c.sessionCookie}\r\nContent-Length: ${body.length + 100}\r\n\r\n${body}`,
        );
        setTimeout(() => socket.destroy(), 100);
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    // The read of the body settles (it does not wait forever) and says why, on either entry point.
    for (let i = 0; i < 50 && debug.length === debugBefore; i++) await new Promise((r) => setTimeout(r, 20));
    expect(debug.slice(debugBefore).join('\n')).toMatch(/request ended by the client/);
    expect(errors).toEqual([]);
    expect((await c.data('{ cart { totalQuantity } }')).cart.totalQuantity).toBe(1);
  });
});
