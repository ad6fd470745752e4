import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { hashSessionKey, newSessionKey } from '../../src/core/keys.js';
import { CACHE_COMMANDS, NEEDED_COMMANDS, openRedisEngine, RedisEngine, Script } from '../../src/engines/redis/engine.js';
import { clusterConnection } from '../../src/engines/redis/nodes.js';
import { permissionScript } from '../../src/engines/redis/scripts.js';
import { loadConfig } from '../../src/server/config.js';
import { increment } from '../cached-db/helpers.js';
import { onRedis, TEST_SECRET, testEngine } from '../helpers/app.js';
import { freePort, repoRoot, runScript, waitFor } from '../helpers/process.js';
import { startRedis, stopRedis } from '../helpers/redis-server.js';

const base = { NODE_ENV: 'test', SESSION_SECRET: TEST_SECRET };

describe('SESSION_ENGINE and the Redis variables', () => {
  it('db by default; cache with REDIS_URL or REDIS_CLUSTER_NODES', () => {
    expect(loadConfig(base).engine).toBe('db');
    const single = loadConfig({ ...base, SESSION_ENGINE: 'cache', REDIS_URL: 'redis://127.0.0.1:6379' });
    expect([single.engine, single.redisUrl]).toEqual(['cache', 'redis://127.0.0.1:6379']);
    const cluster = loadConfig({ ...base, SESSION_ENGINE: 'cache', REDIS_CLUSTER_NODES: 'a:7000, b:7001' });
    expect(cluster.redisClusterNodes).toEqual(['a:7000', 'b:7001']);
  });

  it.each([
    [{ SESSION_ENGINE: 'cache' }, /SESSION_ENGINE: cache requires REDIS_URL .* or REDIS_CLUSTER_NODES/],
    [{ SESSION_ENGINE: 'cache', REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'a:1' }, /give one, not both/],
    [{ SESSION_ENGINE: 'cached_db' }, /SESSION_ENGINE: cached_db requires REDIS_URL .* or REDIS_CLUSTER_NODES/],
    [{ SESSION_ENGINE: 'memcached' }, /SESSION_ENGINE: must be db, cache or cached_db/],
    [{ SESSION_ENGINE: 'cache', REDIS_URL: 'http://a:1' }, /REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/],
    [{ SESSION_ENGINE: 'cache', REDIS_CLUSTER_NODES: 'a:1,b' }, /REDIS_CLUSTER_NODES: each node must be host:port/],
    [
      { SESSION_ENGINE: 'cache', REDIS_CLUSTER_NODES: 'redis://:one@a:1,redis://:two@b:2' },
      /REDIS_CLUSTER_NODES: cluster nodes redis:\/\/:\*\*\*@a:1 and redis:\/\/:\*\*\*@b:2 disagree on TLS or credentials/,
    ],
    [{ SESSION_ENGINE: 'cache', REDIS_CLUSTER_NODES: 'rediss://a:1,redis://b:2' }, /disagree on TLS or credentials/],
    [{ SESSION_ENGINE: 'cache', REDIS_CLUSTER_NODES: 'redis://:pw@a:1/2' }, /only a host and a port \(a cluster has no database numbers\)/],
    [{ SESSION_ENGINE: 'cache', REDIS_CLUSTER_NODES: 'user:secret@a:1' }, /each node must be host:port or redis:\/\/.*"\*\*\*@a:1"/],
  ])('refuses %o', (env, message) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(message);
    // A password given is never repeated.
    expect(() => loadConfig({ ...base, ...env })).not.toThrow(/:one@|:two@|secret|:pw@/);
  });

  it('cluster nodes as URLs: their credentials and TLS apply to every node, the host:port ones too', () => {
    const nodes = 'rediss://app:s%40cret@10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002';
    expect(loadConfig({ ...base, SESSION_ENGINE: 'cache', REDIS_CLUSTER_NODES: nodes }).redisClusterNodes).toHaveLength(3);
    expect(clusterConnection(nodes.split(','))).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      username: 'app',
      password: 's@cret',
      tls: true,
      shown: 'rediss://app:***@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002',
    });
    expect(clusterConnection(['a:1', 'b:2'])).toMatchObject({ username: undefined, password: undefined, tls: false });
  });

  // What operators paste: a generated password with a reserved character in it, not percent-encoded.
  it.each([
    'redis://:Zq#9x@127.0.0.1:6379',
    'redis://app:Zq/9x@127.0.0.1:6379',
    'redis://app:Zq?9x@127.0.0.1:6379',
    'redis://app:Zq%zz9x@127.0.0.1:6379',
  ])('a URL that does not parse (%s): refused saying to percent-encode, the password not shown', (url) => {
    const hint = /does not parse as a URL: a user name or password holding any of @ : \/ \? # \[ \] % must be percent-encoded/;
    expect(() => clusterConnection([url])).toThrow(hint);
    expect(() => new RedisEngine({ url, timeoutMs: 100 })).toThrow(hint);
    expect(() => new RedisEngine({ url, timeoutMs: 100 })).not.toThrow(/Zq|9x/);
  });
});

const main = `${repoRoot}src/server/main.ts`;

// Real processes (tsx): only where the suite runs on Redis.
describe.skipIf(!onRedis)('start-up on SESSION_ENGINE=cache', { timeout: 60_000 }, () => {
  it('an unreachable REDIS_URL: exit 1 with a message naming it', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const run = runScript(main, { ...base, SESSION_ENGINE: 'cache', REDIS_URL: url, DATABASE_TIMEOUT_MS: '1000' });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain(`REDIS_URL=${url}`);
    expect(run.output()).toMatch(/unreachable/);
  });

  it('unreachable REDIS_CLUSTER_NODES: exit 1 naming them', async () => {
    const port = await freePort();
    const run = runScript(main, {
      ...base,
      SESSION_ENGINE: 'cache',
      REDIS_CLUSTER_NODES: `127.0.0.1:${port}`,
      DATABASE_TIMEOUT_MS: '1000',
    });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain(`REDIS_CLUSTER_NODES=127.0.0.1:${port}`);
  });

  it('a misconfiguration: exit 1 before connecting', async () => {
    const run = runScript(main, { ...base, SESSION_ENGINE: 'cache' });
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/SESSION_ENGINE: cache requires REDIS_URL/);
  });

  it('starts on the engine under test, serves, and stops on SIGTERM', async () => {
    const env = testEngine === 'redis' ? { REDIS_URL: process.env.REDIS_URL } : { REDIS_CLUSTER_NODES: process.env.REDIS_CLUSTER_NODES };
    const port = await freePort();
    const run = runScript(main, { ...base, ...env, SESSION_ENGINE: 'cache', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' });
    await waitFor(run, /sessionql on http/);
    expect(run.output()).toMatch(/\(Redis /);
    const response = await fetch(`http://127.0.0.1:${port}/ready`);
    expect(response.status).toBe(200);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });
});

/**
 * An ACL user of this worker on REDIS_URL, deleted after the test: `grant(...rules)` resets its rights to
 * `rules` (with `nopass`, or `>secret` and `password`), `url` names it.
 */
function aclUser(name: string, password?: string) {
  const admin = new Redis(process.env.REDIS_URL!);
  const user = `${name}-${process.pid}`;
  onTestFinished(async () => {
    await admin.call('ACL', 'DELUSER', user);
    admin.disconnect();
  });
  const url = new URL(process.env.REDIS_URL!);
  url.username = user;
  if (password) url.password = password;
  const grant = (...rules: string[]) => admin.call('ACL', 'SETUSER', user, 'reset', 'on', password ? `>${password}` : 'nopass', ...rules);
  return { user, url: url.href, grant };
}

// A user whose ACL lacks the session keys or the notices' channels would connect, then fail every request.
describe.skipIf(testEngine !== 'redis')('start-up on a Redis user with too few rights', () => {
  it("refused at connect, saying what the user needs; cached_db's cache needs only its own keys", async () => {
    const { user, url, grant } = aclUser('limited');
    const open = () => openRedisEngine({ url, timeoutMs: 2000 });

    await grant('~other:*', '&*', '+@all');
    await expect(open()).rejects.toThrow(
      `refuses what sessions need to the user "${user}": NOPERM this user has no permissions to access one of the keys used as arguments;`,
    );
    await expect(open()).rejects.toThrow(
      `; it needs the keys sessionql:s:*, the channels sessionql:n:* and these commands, on every node of a cluster: ACL SETUSER ${user} ~sessionql:s:* &sessionql:n:* ${NEEDED_COMMANDS}`,
    );

    // Read-only keys: it could read sessions and write none.
    await grant('%R~sessionql:*', '&*', '+@all');
    await expect(open()).rejects.toThrow(/refuses what sessions need .*access/);

    await grant('~sessionql:*', 'resetchannels', '+@all');
    await expect(open()).rejects.toThrow(/publish to the channel/);

    // Publishing but not subscribing: live sessions would fail at their first subscriber, not at start-up.
    await grant('~sessionql:s:*', '&sessionql:n:*', ...NEEDED_COMMANDS.split(' ').filter((rule) => rule !== '+ssubscribe'));
    await expect(open()).rejects.toThrow(/refuses what sessions need .*'ssubscribe' command/);

    // The cache of cached_db: its own prefix, no channels (its notices are PostgreSQL's), and only the commands
    // its script and reads send, as the README gives them.
    const cacheRights = /no channels, and\s+`([^`]+)` suffice/.exec(readFileSync(`${repoRoot}README.md`, 'utf8'))?.[1]?.split(' ');
    expect(cacheRights).toEqual(CACHE_COMMANDS.split(' '));
    const connectCache = async () => {
      const cache = new RedisEngine({ url, timeoutMs: 2000, prefix: 'sessionql:c:' });
      try {
        await cache.connect(false);
      } finally {
        await cache.close();
      }
    };
    await grant('~sessionql:c:*', 'resetchannels', ...cacheRights!.filter((rule) => rule !== '+pexpire'));
    await expect(connectCache()).rejects.toThrow(`: ACL SETUSER ${user} ~sessionql:c:* ${CACHE_COMMANDS}`);
    await grant('~sessionql:c:*', 'resetchannels', ...cacheRights!);
    await connectCache();

    await grant('~sessionql:s:*', '&sessionql:n:*', ...NEEDED_COMMANDS.split(' '));
    await (await open()).close();
  });
});

// Each node of a cluster keeps its own ACL: a user set up by hand on some masters only would pass a check on one.
describe.skipIf(testEngine !== 'redis-cluster')("start-up on a cluster whose masters disagree on a user's rights", () => {
  it('refused whichever master lacks them; started once every master grants them', async () => {
    const seeds = process.env.REDIS_CLUSTER_NODES!.split(',');
    const user = `partial-${process.pid}`;
    const nodes = seeds.map((seed) => new Redis(Number(seed.split(':')[1]), seed.split(':')[0]!));
    onTestFinished(async () => {
      for (const node of nodes) {
        await node.call('ACL', 'DELUSER', user).catch(() => {});
        node.disconnect();
      }
    });
    const masters = [];
    for (const node of nodes) if ((await node.role())[0] === 'master') masters.push(node);
    expect(masters).toHaveLength(3);
    const granted = ['reset', 'on', 'nopass', '~sessionql:s:*', '&sessionql:n:*', ...NEEDED_COMMANDS.split(' ')];
    const clusterNodes = [`redis://${user}@${seeds[0]}`, ...seeds.slice(1)];
    for (const narrowed of masters) {
      for (const node of nodes) await node.call('ACL', 'SETUSER', user, ...granted);
      await narrowed.call('ACL', 'SETUSER', user, 'reset', 'on', 'nopass', '~other:*', '&*', '+@all');
      await expect(openRedisEngine({ clusterNodes, timeoutMs: 2000 })).rejects.toThrow(
        `refuses what sessions need to the user "${user}": NOPERM`,
      );
    }
    for (const node of nodes) await node.call('ACL', 'SETUSER', user, ...granted);
    await (await openRedisEngine({ clusterNodes, timeoutMs: 2000 })).close();
  });
});

// A Redis of this test's own: its `default` user narrowed, or its memory full, would break the other files' tests.
describe.skipIf(testEngine !== 'redis')('start-up on a Redis whose default user or state refuses writes', { timeout: 30_000 }, () => {
  async function ownRedis() {
    const port = await freePort();
    const server = await startRedis(port);
    const admin = new Redis(port, '127.0.0.1');
    onTestFinished(async () => {
      admin.disconnect();
      await stopRedis(server);
    });
    return { url: `redis://127.0.0.1:${port}`, admin };
  }

  it('no user named and a narrowed default user: refused, with the advice to create a user of its own and name it', async () => {
    const { url, admin } = await ownRedis();
    await admin.call('ACL', 'SETUSER', 'default', 'resetkeys', '~other:*');
    const refused = openRedisEngine({ url, timeoutMs: 2000 });
    await expect(refused).rejects.toThrow(/refuses what sessions need to the user "default": .*no permissions to access one of the keys/);
    await expect(refused).rejects.toThrow(
      `ACL SETUSER sessions on >password ~sessionql:s:* &sessionql:n:* ${NEEDED_COMMANDS}, then name it: redis://sessions:password@host:port`,
    );
  });

  it('a database number in REDIS_URL: used when the server has it, refused naming it when not or when not a number', async () => {
    const { url, admin } = await ownRedis();
    await expect(openRedisEngine({ url: `${url}/99`, timeoutMs: 2000 })).rejects.toThrow(/has no database 99: .*out of range/);
    await expect(openRedisEngine({ url: `${url}/abc`, timeoutMs: 2000 })).rejects.toThrow(/must be a whole number .*"abc"/);
    const engine = await openRedisEngine({ url: `${url}/3`, timeoutMs: 2000 });
    onTestFinished(() => engine.close());
    await engine.create('a'.repeat(64), { k: 1 }, null, Date.now());
    await admin.select(3);
    expect(await admin.keys('sessionql:s:*')).toHaveLength(1);
    await admin.select(0);
    expect(await admin.keys('sessionql:s:*')).toHaveLength(0);
  });

  it('a Redis Cluster node as REDIS_URL: refused, saying to give the cluster nodes', async () => {
    const port = await freePort();
    const node = await startRedis(port, ['--cluster-enabled', 'yes']);
    onTestFinished(() => stopRedis(node));
    await expect(openRedisEngine({ url: `redis://127.0.0.1:${port}`, timeoutMs: 2000 })).rejects.toThrow(
      `is a Redis Cluster node: give the cluster's nodes (REDIS_CLUSTER_NODES=127.0.0.1:${port},…`,
    );
  });

  it('a paused Redis (SIGSTOP): refused within the timeout, saying it took the connection and did not answer, and what that may be', async () => {
    const port = await freePort();
    const server = await startRedis(port);
    onTestFinished(() => stopRedis(server));
    server.kill('SIGSTOP');
    await expect(openRedisEngine({ url: `redis://127.0.0.1:${port}`, timeoutMs: 1000 })).rejects.toThrow(
      /no answer from Redis within 1000 ms .*it took the connection but did not answer: a TLS port\? use rediss:\/\/; or a server paused \(SIGSTOP\), swapping, or busy/,
    );
  });

  it('an error that is not a permission (memory full, a read-only replica) does not stop start-up', async () => {
    const { url, admin } = await ownRedis();
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');
    // Writes are refused, as the check meets them.
    await expect(admin.hset('sessionql:s:probe', 'd', '{}')).rejects.toThrow(/OOM/);
    await (await openRedisEngine({ url, timeoutMs: 2000 })).close();

    const replica = await ownRedis();
    await replica.admin.replicaof('127.0.0.1', Number(new URL(url).port));
    await admin.config('SET', 'maxmemory', '0');
    await expect(replica.admin.hset('sessionql:s:probe', 'd', '{}')).rejects.toThrow(/READONLY/);
    await (await openRedisEngine({ url: replica.url, timeoutMs: 2000 })).close();
  });
});

// The least rights the README gives a restricted user, as written there: every kind of write and a notice work.
describe.skipIf(testEngine !== 'redis')("the README's ACL for a restricted user", () => {
  const documented = /`ACL SETUSER sessions on >secret ([^`]+)`/.exec(readFileSync(`${repoRoot}README.md`, 'utf8'))?.[1]?.split(' ');

  const permissionSha = new Script(permissionScript).sha;

  it('is enough for every write, a read and a notice; without one of its commands the engine is refused at connect', async () => {
    expect(documented).toContain('-@all');
    const { user, url, grant } = aclUser('documented', 'secret');

    await grant(...documented!.filter((rule) => rule !== '+hset'));
    // Redis names the script's line, not the command; the message gives the whole ACL, the README's.
    const refused = openRedisEngine({ url, timeoutMs: 2000 });
    await expect(refused).rejects.toThrow(`can't run this command or subcommand script: ${permissionSha}, on @user_script:`);
    await expect(refused).rejects.toThrow(
      `; it needs the keys sessionql:s:*, the channels sessionql:n:* and these commands, on every node of a cluster: ACL SETUSER ${user} ${documented!.join(' ')}`,
    );

    await grant(...documented!);
    const engine = await openRedisEngine({ url, timeoutMs: 2000 });
    try {
      const now = Date.now();
      const hash = hashSessionKey(newSessionKey());
      const heard: unknown[] = [];
      const stop = await engine.feed!.subscribe(hash, (notice) => heard.push(notice));
      await engine.create(hash, { n: 0 }, null, now);
      const applied = await engine.change(hash, increment, now);
      expect(applied?.row.data).toEqual({ n: 1 });
      expect((await engine.load(hash, now))?.data).toEqual({ n: 1 });
      expect(await engine.touch(hash, now)).not.toBeNull();
      expect(
        await engine.setExpiry(hash, { expiresAt: now / 1000 + 60, browserClose: false, maxAge: 60, fixedExpiry: false }, now),
      ).not.toBeNull();
      const moved = hashSessionKey(newSessionKey());
      expect((await engine.cycle(hash, moved, now))?.data).toEqual({ n: 1 });
      await engine.flush(moved);
      expect(await engine.load(moved, now)).toBeNull();
      for (let i = 0; i < 100 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      stop();
      expect(heard).toContainEqual({ hash, version: applied!.row.version });
    } finally {
      await engine.close();
    }
  });
});
