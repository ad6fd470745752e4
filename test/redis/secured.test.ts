import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NoticeListener } from '../../src/core/engine.js';
import { hashSessionKey, newSessionKey } from '../../src/core/keys.js';
import { NEEDED_COMMANDS, openRedisEngine } from '../../src/engines/redis/engine.js';
import { increment } from '../cached-db/helpers.js';
import { TEST_SECRET, testEngine } from '../helpers/app.js';
import { CookieClient } from '../helpers/client.js';
import { freePort, repoRoot, runScript, waitFor } from '../helpers/process.js';

// A Redis Cluster as managed services run one: a password on every node,
// TLS on every connection (clients, replication, the cluster bus), and nodes
// that announce a host name which their certificate names (and not their
// address). A 6-node cluster of this file's own (scripts/redis.sh with
// SESSIONQL_REDIS_PASSWORD and SESSIONQL_REDIS_TLS=hostname, its own folder
// and ports), a certificate signed by a throwaway CA that the server trusts
// through NODE_EXTRA_CA_CERTS.

const exec = promisify(execFile);
/** Characters a URL must percent-encode: the password goes into REDIS_CLUSTER_NODES as a URL's. */
const PASSWORD = 'pa:ss@w0rd/ä';
const main = `${repoRoot}src/server/main.ts`;
const base = { NODE_ENV: 'test', SESSION_SECRET: TEST_SECRET, SESSION_ENGINE: 'cache', HOST: '127.0.0.1', DATABASE_TIMEOUT_MS: '2000' };

describe.skipIf(testEngine !== 'redis-cluster')('a Redis Cluster with a password and TLS', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sessionql-secured-'));
  const sh = async (...args: string[]) => {
    const env = {
      ...process.env,
      SESSIONQL_REDIS_DIR: dir,
      SESSIONQL_REDIS_CLUSTER_PORT: '54301',
      SESSIONQL_REDIS_PORT: '56391',
      SESSIONQL_REDIS_PASSWORD: PASSWORD,
      SESSIONQL_REDIS_TLS: 'hostname',
    };
    const { stdout } = await exec(path.join(repoRoot, 'scripts/redis.sh'), args, { env, timeout: 60_000 });
    return stdout.trim().split('\n').at(-1) ?? '';
  };
  /** rediss://:<password>@localhost:p1,localhost:p2,… as scripts/redis.sh prints it (SESSIONQL_REDIS_TLS=hostname). */
  let nodes = '';
  const ca = path.join(dir, 'tls', 'ca.crt');
  /** A single server of the same folder: rediss://:<password>@localhost:port */
  let url = '';
  beforeAll(async () => {
    nodes = await sh('cluster-start');
    url = await sh('start');
  }, 60_000);
  afterAll(async () => {
    await sh('cluster-stop').catch(() => {});
    await sh('stop').catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it('scripts/redis.sh prints the nodes with the password percent-encoded, the first as a rediss:// URL', () => {
    expect(nodes).toMatch(/^rediss:\/\/:pa%3Ass%40w0rd%2F%C3%A4@localhost:\d+(,localhost:\d+){5}$/);
  });

  /**
   * A server process on the cluster (`env` over the defaults): `use` gets a visitor with a cookie jar and the
   * process's output; the process is stopped after, and its output never holds the password.
   */
  async function serving(env: Record<string, string>, use: (visitor: CookieClient, output: () => string) => Promise<void>) {
    const port = await freePort();
    const run = runScript(main, {
      ...base,
      REDIS_CLUSTER_NODES: nodes,
      NODE_EXTRA_CA_CERTS: ca,
      PORT: String(port),
      LOG_LEVEL: 'info',
      ...env,
    });
    try {
      await waitFor(run, /sessionql on http/);
      const app = { fetch: (url: string, init?: RequestInit) => fetch(url.replace('http://localhost', `http://127.0.0.1:${port}`), init) };
      await use(new CookieClient(app as never), run.output);
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
    expect(run.output()).not.toContain('w0rd');
  }

  const ADD = 'mutation { addToCart(sku: "a", label: "A") { totalQuantity } }';

  it('the server on it: a visitor writes, reads and flushes through a cookie jar; the password is never printed', async () => {
    await serving({}, async (visitor, output) => {
      expect(output()).toMatch(/\(Redis Cluster rediss:\/\/:\*\*\*@localhost:\d+,localhost:/);
      for (let n = 1; n <= 3; n++) expect(await visitor.data(ADD)).toEqual({ addToCart: { totalQuantity: n } });
      expect(await visitor.data('{ cart { totalQuantity } }')).toEqual({ cart: { totalQuantity: 3 } });
      await visitor.data('mutation { flushSession { exists } }');
      expect(await visitor.data('{ cart { totalQuantity } }')).toEqual({ cart: { totalQuantity: 0 } });
    });
  });

  it('cached_db on PGlite with it as the cache: the same visitor, the password never printed', async () => {
    const data = mkdtempSync(path.join(tmpdir(), 'sessionql-secured-pglite-'));
    try {
      await serving({ SESSION_ENGINE: 'cached_db', SESSIONQL_DATA_DIR: data }, async (visitor, output) => {
        expect(output()).toMatch(/PGlite in .*, cached in Redis Cluster rediss:\/\/:\*\*\*@localhost/);
        for (let n = 1; n <= 2; n++) expect(await visitor.data(ADD)).toEqual({ addToCart: { totalQuantity: n } });
        expect(await visitor.data('{ cart { totalQuantity } }')).toEqual({ cart: { totalQuantity: 2 } });
        // No cache command failed (cached_db logs each failure and reads PGlite instead).
        expect(output()).not.toMatch(/session cache \(Redis\)/);
      });
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });

  it('an ACL user without a password (`nopass`), named in the URLs without one: refused at start-up without the channels, then the server runs as that user', async () => {
    const ports = nodes.split(',').map((n) => Number(n.split(':').at(-1)));
    // ACL users are per node, in a cluster too.
    const admins = ports.map((port) => new Redis({ host: 'localhost', port, password: PASSWORD, tls: { ca: readFileSync(ca) } }));
    const asUser = nodes.replace(/\/\/:[^@]*@/, '//sessions@');
    try {
      // Redis 7 gives a new user no channels (acl-pubsub-default resetchannels): every write would fail to publish.
      // The README's least rights for a restricted user, first without its channels.
      const rights = ['~sessionql:s:*', ...NEEDED_COMMANDS.split(' ')];
      for (const admin of admins) await admin.call('ACL', 'SETUSER', 'sessions', 'on', 'nopass', ...rights);
      const refused = runScript(main, { ...base, REDIS_CLUSTER_NODES: asUser, NODE_EXTRA_CA_CERTS: ca, PORT: String(await freePort()) });
      expect(await refused.exited).toBe(1);
      expect(refused.output()).toMatch(
        /refuses what sessions need to the user "sessions": .*publish to the channel.*; it needs the keys sessionql:s:\*, the channels sessionql:n:\* and these commands/,
      );
      expect(refused.output()).toContain(`ACL SETUSER sessions ~sessionql:s:* &sessionql:n:* ${NEEDED_COMMANDS}`);
      for (const admin of admins) await admin.call('ACL', 'SETUSER', 'sessions', '&sessionql:n:*');
      await serving({ REDIS_CLUSTER_NODES: asUser }, async (visitor) => {
        for (let n = 1; n <= 2; n++) expect(await visitor.data(ADD)).toEqual({ addToCart: { totalQuantity: n } });
        const clients = (await Promise.all(admins.map((admin) => admin.call('CLIENT', 'LIST') as Promise<string>))).join('\n');
        expect(clients).toMatch(/ user=sessions /);
      });
    } finally {
      await Promise.all(admins.map((admin) => admin.call('ACL', 'DELUSER', 'sessions').finally(() => admin.quit())));
    }
  });

  it("the library: a session's notices reach a subscriber (sharded pub/sub, on connections of their own)", async () => {
    const engine = await openRedisEngine({ clusterNodes: nodes.split(','), tls: { ca: readFileSync(ca) }, timeoutMs: 2000 });
    try {
      const hash = hashSessionKey(newSessionKey());
      await engine.create(hash, { n: 0 }, null, Date.now());
      const heard: Parameters<NoticeListener>[0][] = [];
      const stop = await engine.feed.subscribe(hash, (notice) => heard.push(notice));
      const applied = await engine.change(hash, increment, Date.now());
      for (let i = 0; i < 100 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      stop();
      expect(heard).toEqual([{ hash, version: applied!.row.version }]);
      expect((await engine.load(hash, Date.now()))?.data).toEqual({ n: 1 });
    } finally {
      await engine.close();
    }
  });

  it.each([
    [
      'no password',
      (n: string) => n.replace(/\/\/:[^@]*@/, '//'),
      /alone: NOAUTH .*; it requires a password: redis:\/\/\[user\]:password@host:port in REDIS_CLUSTER_NODES/,
    ],
    [
      'a wrong password',
      (n: string) => n.replace(/\/\/:[^@]*@/, '//:wrong@'),
      /alone: WRONGPASS .*; the user or password given was refused/,
    ],
    [
      'a user and no password',
      (n: string) => n.replace(/\/\/:[^@]*@/, '//default@'),
      /alone: WRONGPASS .*; no password was given for the user "default", and it needs one: redis:\/\/user:password@host:port in REDIS_CLUSTER_NODES/,
    ],
    ['no TLS', (n: string) => n.replace(/^rediss:\/\/:[^@]*@/, ''), /alone: .*; a TLS port\? use rediss:\/\//],
  ])('%s: exit 1 at start-up, saying why', async (_, change, why) => {
    const run = runScript(main, { ...base, REDIS_CLUSTER_NODES: change(nodes), NODE_EXTRA_CA_CERTS: ca, PORT: String(await freePort()) });
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/SESSION_ENGINE=cache: cannot use Redis \(REDIS_CLUSTER_NODES=/);
    expect(run.output()).toMatch(why);
    expect(run.output()).not.toContain('w0rd');
  });

  it('a CA not trusted: exit 1 at start-up, saying which to trust', async () => {
    const run = runScript(main, { ...base, REDIS_CLUSTER_NODES: nodes, PORT: String(await freePort()) });
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(
      /alone: self-signed certificate in certificate chain; trust the CA that signed it \(NODE_EXTRA_CA_CERTS=ca\.pem\)/,
    );
    expect(run.output()).not.toContain('w0rd');
  });

  it('a single server with the password and TLS: the library with its CA; a wrong password stops the server saying so', async () => {
    expect(url).toMatch(/^rediss:\/\/:pa%3Ass%40w0rd%2F%C3%A4@localhost:\d+$/);
    const engine = await openRedisEngine({ url, tls: { ca: readFileSync(ca) }, timeoutMs: 2000 });
    try {
      const hash = hashSessionKey(newSessionKey());
      await engine.create(hash, { n: 0 }, null, Date.now());
      await engine.change(hash, increment, Date.now());
      expect((await engine.load(hash, Date.now()))?.data).toEqual({ n: 1 });
    } finally {
      await engine.close();
    }
    const run = runScript(main, {
      ...base,
      REDIS_URL: url.replace(/\/\/:[^@]*@/, '//:wrong@'),
      NODE_EXTRA_CA_CERTS: ca,
      PORT: String(await freePort()),
    });
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/cannot use Redis \(REDIS_URL=rediss:\/\/:\*\*\*@localhost:\d+\)/);
    expect(run.output()).toMatch(/alone: WRONGPASS .*; the user or password given was refused/);
  });
});
