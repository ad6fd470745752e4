import { describe, expect, it } from 'vitest';
import { ConfigError, configVariables, type LoadOptions, loadConfig } from '../../src/server/config.js';

const SECRET = 's'.repeat(32);
const OLD_SECRET = 'o'.repeat(40);
const FALLBACK = 'f'.repeat(43);
const fallback: LoadOptions = { secretFallback: () => FALLBACK };

/** The ConfigError `env` gives; fails the test when loading succeeds or throws something else. */
function configError(env: Record<string, string | undefined>, options: LoadOptions = fallback): ConfigError {
  try {
    loadConfig(env, options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('loadConfig: settings follow Django’s', () => {
  it('defaults match Django’s: cookie sessionid, age 1209600, path /, HttpOnly, SameSite Lax, not Secure', () => {
    const config = loadConfig({ SESSION_SECRET: SECRET });
    expect(config.cookie).toEqual({
      name: 'sessionid',
      ageSeconds: 1209600,
      domain: undefined,
      path: '/',
      secure: false,
      httpOnly: true,
      sameSite: 'Lax',
    });
    expect(config.expireAtBrowserClose).toBe(false);
    expect(config.saveEveryRequest).toBe(false);
    expect(config.maxBytes).toBe(65536);
    expect(config.corsOrigins).toEqual([]);
    expect(config.port).toBe(4000);
    expect(config.nodeEnv).toBe('development');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.secrets).toEqual([SECRET]);
    expect(config.secretGenerated).toBe(false);
  });

  it('every setting is read from its variable', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      PORT: '8080',
      HOST: '::',
      DATABASE_URL: 'postgres://u:p@db:5432/app',
      SESSION_SECRET: SECRET,
      SESSION_COOKIE_NAME: 'my_sid',
      SESSION_COOKIE_AGE: '3600',
      SESSION_COOKIE_DOMAIN: '.example.com',
      SESSION_COOKIE_PATH: '/app',
      SESSION_COOKIE_SECURE: 'true',
      SESSION_COOKIE_HTTPONLY: 'false',
      SESSION_COOKIE_SAMESITE: 'strict',
      SESSION_EXPIRE_AT_BROWSER_CLOSE: '1',
      SESSION_SAVE_EVERY_REQUEST: 'yes',
      SESSION_MAX_BYTES: '1024',
      CORS_ORIGINS: 'https://a.example.com, http://localhost:3000',
      DATABASE_POOL_SIZE: '5',
    });
    expect(config).toMatchObject({
      nodeEnv: 'production',
      port: 8080,
      host: '::',
      databaseUrl: 'postgres://u:p@db:5432/app',
      cookie: { name: 'my_sid', ageSeconds: 3600, domain: '.example.com', path: '/app', secure: true, httpOnly: false, sameSite: 'Strict' },
      expireAtBrowserClose: true,
      saveEveryRequest: true,
      maxBytes: 1024,
      corsOrigins: ['https://a.example.com', 'http://localhost:3000'],
      poolSize: 5,
    });
  });

  it('an empty variable counts as unset', () => {
    const config = loadConfig({ SESSION_SECRET: SECRET, SESSION_COOKIE_NAME: '', PORT: '', SESSION_COOKIE_AGE: '' });
    expect(config.cookie.name).toBe('sessionid');
    expect(config.port).toBe(4000);
    expect(config.cookie.ageSeconds).toBe(1209600);
  });

  it('postgresql:// URLs are accepted as well as postgres://', () => {
    expect(loadConfig({ SESSION_SECRET: SECRET, DATABASE_URL: 'postgresql://x/y' }).databaseUrl).toBe('postgresql://x/y');
  });

  it.each([
    ['DATABASE_URL', 'postgres://app:Zq#9x@db:5432/app'],
    ['DATABASE_URL', 'postgresql://app:Zq/9x@db/app'],
    ['DATABASE_LISTEN_URL', 'postgres://app:Zq%zz9x@db/app'],
    ['REDIS_URL', 'redis://:Zq?9x@cache:6379'],
  ])('%s=%s (a reserved character not percent-encoded) is refused saying so, the password not repeated', (name, url) => {
    const error = configError({
      NODE_ENV: 'test',
      SESSION_SECRET: SECRET,
      SESSION_ENGINE: 'cached_db',
      REDIS_URL: 'redis://cache:6379',
      [name]: url,
    });
    expect(error.message).toMatch(new RegExp(`${name}: \\S+ does not parse as a URL: .*must be percent-encoded`));
    expect(error.message).not.toMatch(/Zq|9x/);
  });

  it('percent-encoded passwords are accepted', () => {
    const config = loadConfig({ NODE_ENV: 'test', SESSION_SECRET: SECRET, DATABASE_URL: 'postgres://app:Zq%239x@db/app' });
    expect(config.databaseUrl).toBe('postgres://app:Zq%239x@db/app');
  });

  it('the configuration is frozen', () => {
    const config = loadConfig({ SESSION_SECRET: SECRET });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.cookie)).toBe(true);
    expect(Object.isFrozen(config.secrets)).toBe(true);
  });

  it('configVariables lists every variable read', () => {
    for (const name of [
      'PORT',
      'DATABASE_URL',
      'SESSION_SECRET',
      'SESSION_COOKIE_NAME',
      'SESSION_COOKIE_AGE',
      'SESSION_COOKIE_SAMESITE',
      'CORS_ORIGINS',
    ]) {
      expect(configVariables).toContain(name);
    }
  });
});

describe('loadConfig: each bad value throws a ConfigError naming the variable', () => {
  const cases: [string, string][] = [
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['SESSION_COOKIE_AGE', '-1'],
    ['SESSION_COOKIE_AGE', '0'],
    ['SESSION_COOKIE_AGE', '1.5'],
    ['SESSION_COOKIE_AGE', 'two weeks'],
    ['SESSION_COOKIE_SAMESITE', 'sometimes'],
    ['SESSION_COOKIE_SECURE', 'maybe'],
    ['SESSION_COOKIE_HTTPONLY', 'sure'],
    ['SESSION_COOKIE_NAME', 'session id'],
    ['SESSION_COOKIE_NAME', 'a;b'],
    ['SESSION_COOKIE_PATH', 'app'],
    ['SESSION_COOKIE_DOMAIN', 'exa mple.com'],
    ['SESSION_MAX_BYTES', 'lots'],
    ['CORS_ORIGINS', '*'],
    ['CORS_ORIGINS', 'https://app.example.com/path'],
    ['CORS_ORIGINS', 'https://ok.example.com, https://app.example.com/'],
    ['CORS_ORIGINS', 'app.example.com'],
    ['SESSION_SECRET', 'too-short'],
    ['SESSION_SECRET', `${SECRET},short`],
    ['DATABASE_URL', 'mysql://x'],
    ['NODE_ENV', 'staging'],
  ];
  for (const [name, value] of cases) {
    it(`${name}=${value} is refused`, () => {
      const env = { SESSION_SECRET: SECRET, [name]: value };
      const e = configError(env);
      expect(e.message).toContain(name);
    });
  }

  it('a bad value is named even when other variables are fine', () => {
    const e = configError({ SESSION_SECRET: SECRET, PORT: '4001', SESSION_COOKIE_AGE: 'x' });
    expect(e.message).toContain('SESSION_COOKIE_AGE');
    expect(e.message).not.toMatch(/\bPORT\b/);
  });

  it('SameSite=None without Secure is refused; with Secure it is accepted', () => {
    const e = configError({ SESSION_SECRET: SECRET, SESSION_COOKIE_SAMESITE: 'None' });
    expect(e.message).toContain('SESSION_COOKIE_SAMESITE');
    expect(e.message).toContain('SESSION_COOKIE_SECURE');
    const ok = loadConfig({ SESSION_SECRET: SECRET, SESSION_COOKIE_SAMESITE: 'None', SESSION_COOKIE_SECURE: 'true' });
    expect(ok.cookie.sameSite).toBe('None');
    expect(ok.cookie.secure).toBe(true);
  });

  it('a __Host- cookie name requires Secure, Path=/ and no Domain, and start-up names what is missing', () => {
    const ok = loadConfig({ SESSION_SECRET: SECRET, SESSION_COOKIE_NAME: '__Host-sessionid', SESSION_COOKIE_SECURE: 'true' });
    expect(ok.cookie.name).toBe('__Host-sessionid');
    for (const env of [
      { SESSION_COOKIE_NAME: '__Host-sessionid' },
      { SESSION_COOKIE_NAME: '__Host-sessionid', SESSION_COOKIE_SECURE: 'true', SESSION_COOKIE_PATH: '/api' },
      { SESSION_COOKIE_NAME: '__Host-sessionid', SESSION_COOKIE_SECURE: 'true', SESSION_COOKIE_DOMAIN: 'example.com' },
      { SESSION_COOKIE_NAME: '__host-sessionid' },
    ]) {
      const error = configError({ SESSION_SECRET: SECRET, ...env });
      expect(error.message).toMatch(
        /SESSION_COOKIE_NAME: __[Hh]ost-sessionid \(a __Host- cookie\) requires SESSION_COOKIE_SECURE=true, SESSION_COOKIE_PATH=\/ and no SESSION_COOKIE_DOMAIN/,
      );
    }
  });

  it('a __Secure- cookie name requires Secure', () => {
    expect(configError({ SESSION_SECRET: SECRET, SESSION_COOKIE_NAME: '__Secure-sid' }).message).toMatch(
      /requires SESSION_COOKIE_SECURE=true/,
    );
    const ok = loadConfig({
      SESSION_SECRET: SECRET,
      SESSION_COOKIE_NAME: '__Secure-sid',
      SESSION_COOKIE_SECURE: 'true',
      SESSION_COOKIE_DOMAIN: 'example.com',
    });
    expect(ok.cookie.domain).toBe('example.com');
  });

  it('GRAPHIQL defaults to on, and off with NODE_ENV=production, like introspection', () => {
    expect(loadConfig({ SESSION_SECRET: SECRET }).graphiql).toBe(true);
    expect(loadConfig({ SESSION_SECRET: SECRET, NODE_ENV: 'production' }).graphiql).toBe(false);
    expect(loadConfig({ SESSION_SECRET: SECRET, NODE_ENV: 'production', GRAPHIQL: 'true' }).graphiql).toBe(true);
    expect(loadConfig({ SESSION_SECRET: SECRET, GRAPHIQL: 'false' }).graphiql).toBe(false);
    expect(configError({ SESSION_SECRET: SECRET, GRAPHIQL: 'maybe' }).message).toMatch(/GRAPHIQL: must be true or false/);
  });

  it('SameSite values are Strict, Lax or None in any case', () => {
    expect(loadConfig({ SESSION_SECRET: SECRET, SESSION_COOKIE_SAMESITE: 'LAX' }).cookie.sameSite).toBe('Lax');
    expect(loadConfig({ SESSION_SECRET: SECRET, SESSION_COOKIE_SAMESITE: 'Strict' }).cookie.sameSite).toBe('Strict');
  });
});

describe('SESSION_SECRET: the first signs, all verify', () => {
  it('NODE_ENV=production without SESSION_SECRET throws naming SESSION_SECRET', () => {
    const e = configError({ NODE_ENV: 'production' });
    expect(e.message).toContain('SESSION_SECRET');
    expect(configError({ NODE_ENV: 'production', SESSION_SECRET: '' }).message).toContain('SESSION_SECRET');
  });

  it('production never uses the fallback secret', () => {
    let calls = 0;
    const secretFallback = () => {
      calls++;
      return FALLBACK;
    };
    configError({ NODE_ENV: 'production' }, { secretFallback });
    expect(calls).toBe(0);
  });

  it('development without SESSION_SECRET uses the secretFallback', () => {
    const config = loadConfig({ NODE_ENV: 'development' }, fallback);
    expect(config.secrets).toEqual([FALLBACK]);
    expect(config.secretGenerated).toBe(true);
    expect(loadConfig({}, fallback).secrets).toEqual([FALLBACK]);
  });

  it('without SESSION_SECRET and without a fallback, loading throws naming SESSION_SECRET', () => {
    expect(configError({ NODE_ENV: 'development' }, {}).message).toContain('SESSION_SECRET');
  });

  it('a given SESSION_SECRET wins over the fallback', () => {
    const config = loadConfig({ SESSION_SECRET: SECRET }, fallback);
    expect(config.secrets).toEqual([SECRET]);
    expect(config.secretGenerated).toBe(false);
  });

  it('comma-separated secrets are split and trimmed, in order', () => {
    const config = loadConfig({ NODE_ENV: 'production', SESSION_SECRET: ` ${SECRET} ,${OLD_SECRET}  ` });
    expect(config.secrets).toEqual([SECRET, OLD_SECRET]);
  });

  it('each secret must be at least 32 characters', () => {
    expect(loadConfig({ SESSION_SECRET: 'x'.repeat(32) }).secrets).toEqual(['x'.repeat(32)]);
    expect(configError({ SESSION_SECRET: 'x'.repeat(31) }).message).toContain('SESSION_SECRET');
  });

  it('a command that never sees a cookie may run without a secret', () => {
    const config = loadConfig({ NODE_ENV: 'production' }, { needsSecret: false });
    expect(config.secrets).toEqual([]);
  });
});
