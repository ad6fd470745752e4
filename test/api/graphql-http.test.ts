import { serverAudits } from 'graphql-http';
import { describe, expect, it } from 'vitest';
import { setup } from '../helpers/app.js';

// The GraphQL over HTTP conformance audits (graphql-http) against the server
// through both entry points. Every audit, MUST, SHOULD and MAY, has to pass.
describe.each([
  ['the fast path', true],
  ["Yoga's handler", false],
])('GraphQL over HTTP conformance (graphql-http audits) through %s', async (_entry, fastPath) => {
  const { app } = await setup({}, { fastPath });
  const audits = serverAudits({ url: `${app.baseUrl}/graphql`, fetchFn: fetch });

  for (const audit of audits) {
    it(audit.name, async () => {
      const result = await audit.fn();
      if (audit.name.startsWith('MUST'))
        expect({ name: audit.name, status: result.status, reason: 'reason' in result ? result.reason : '' }).toMatchObject({
          status: 'ok',
        });
      else
        expect({ name: audit.name, status: result.status, reason: 'reason' in result ? result.reason : '' }).toMatchObject({
          status: 'ok',
        });
    });
  }
});
