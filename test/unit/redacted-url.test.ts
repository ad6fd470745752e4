import { describe, expect, it } from 'vitest';
import { redactedUrl } from '../../src/engines/redacted-url.js';
import { openDbEngine } from '../../src/index.js';

// What the server's messages print of REDIS_URL, REDIS_CLUSTER_NODES and DATABASE_LISTEN_URL.
describe('redactedUrl', () => {
  it.each([
    ['redis://:s3cret@cache:6379', 'redis://:***@cache:6379'],
    ['rediss://app:p%40ss%2Fw0rd@cache.example.com:6380/0', 'rediss://app:***@cache.example.com:6380/0'],
    ['postgres://app:s3cret@db:5432/sessions?sslmode=require', 'postgres://app:***@db:5432/sessions?sslmode=require'],
    ['postgres://db/sessions?user=app&password=s3cret', 'postgres://db/sessions?user=app&password=***'],
    ['redis://cache:6379', 'redis://cache:6379'],
    ['postgres://app@db/sessions', 'postgres://app@db/sessions'],
  ])('%s → %s', (url, shown) => {
    expect(redactedUrl(url)).toBe(shown);
  });

  it('hides the credentials of a URL that does not parse too', () => {
    const shown = redactedUrl('redis://app:s3cret@[bad host:6379?password=again');
    expect(shown).not.toContain('s3cret');
    expect(shown).not.toContain('again');
    // An unencoded / in a base64 password is why such a URL does not parse.
    expect(redactedUrl('redis://:ab/c+d@cache:6379')).toBe('redis://***@cache:6379');
  });
});

// The library opens its own database: postgres.js's error for such a URL would repeat the password.
describe('a database URL that does not parse', () => {
  it('is refused before connecting, saying to percent-encode, the password not repeated', async () => {
    const opened = openDbEngine({ databaseUrl: 'postgres://app:Zq#9x@db.invalid/app', migrate: false });
    await expect(opened).rejects.toThrow(/^postgres:\/\/\*\*\*@db\.invalid\/app does not parse as a URL: .*must be percent-encoded/);
    await expect(opened).rejects.not.toThrow(/Zq|9x/);
  });
});
