import { serverAudits } from 'graphql-http';
import { describe, expect, it } from 'vitest';
import { setup } from '../helpers/app.js';

// The GraphQL over HTTP conformance audits (graphql-http) against the server
// as it is served (fast lane and Yoga). Every MUST has to pass; the SHOULDs
// and MAYs it does not meet are listed in README ("GraphQL over HTTP").
describe('GraphQL over HTTP conformance (graphql-http audits)', async () => {
  const { app } = await setup();
  const audits = serverAudits({ url: `${app.baseUrl}/graphql`, fetchFn: fetch });

  for (const audit of audits) {
    it(audit.name, async () => {
      const result = await audit.fn();
      if (audit.name.startsWith('MUST'))
        expect({ name: audit.name, status: result.status, reason: 'reason' in result ? result.reason : '' }).toMatchObject({
          status: 'ok',
        });
      else if (result.status !== 'ok')
        console.info(`[graphql-http] ${result.status}: ${audit.name}: ${'reason' in result ? result.reason : ''}`);
    });
  }
});
