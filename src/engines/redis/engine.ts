import { createHash } from 'node:crypto';
import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Applied, EngineLimits, ExpiryColumns, SessionChange, SessionData, SessionEngine, StoredSession } from '../../core/engine.js';
import { StoreUnavailable, tooLarge } from '../../core/errors.js';
import { renewedExpiry } from '../../core/expiry.js';
import { storedJson } from '../../core/json.js';
import { CompareAndSet, Stale } from '../compare-and-set.js';
import { parsedUrl, redactedUrl } from '../redacted-url.js';
import { within } from '../within.js';
import { noticeChannel, RedisFeed } from './feed.js';
import { clusterConnection } from './nodes.js';
import { createScript, flushScript, permissionScript, retireScript, setExpiryScript, swapScript, touchScript } from './scripts.js';

/** Redis (or the cluster) did not answer in time: clients get SERVICE_UNAVAILABLE (503); ioredis reconnects by itself. */
export class RedisUnavailable extends StoreUnavailable {
  override name = 'RedisUnavailable';
}

export interface RedisEngineOptions {
  /** redis://… (or rediss://) of a single server. */
  url?: string;
  /**
   * Some nodes of a Redis Cluster (the rest are discovered): `host:port`, or
   * `redis://[user:password@]host:port` (`rediss://` for TLS). The scheme and
   * credentials of the URLs (which must agree) apply to every node.
   */
  clusterNodes?: readonly string[];
  /**
   * More TLS options for `rediss://` (a single server's or a cluster's), e.g.
   * `{ ca }` for a private CA (or NODE_EXTRA_CA_CERTS for the whole process).
   */
  tls?: ConnectionOptions;
  /** SESSION_COOKIE_AGE: the inactivity age writes renew. @default 1209600 */
  ageSeconds?: number;
  /** SESSION_MAX_BYTES, on the stored data JSON. @default 65536 */
  maxBytes?: number;
  /** DATABASE_TIMEOUT_MS: connecting and every command; past it, StoreUnavailable. @default 5000 */
  timeoutMs?: number;
  /** Key prefix. @default 'sessionql:s:' */
  prefix?: string;
  /**
   * REDIS_WAIT_REPLICAS: after every write, `WAIT` for this many replicas of
   * the key's master to acknowledge it; fewer within `waitTimeoutMs` and the
   * write fails with RedisUnavailable (it was applied on the master and may
   * still survive). 0: off. See docs/decisions/0013. @default 0
   */
  waitReplicas?: number;
  /** REDIS_WAIT_TIMEOUT_MS: how long a write waits for its replicas; below timeoutMs. @default min(1000, timeoutMs / 2) */
  waitTimeoutMs?: number;
}

type Client = Redis | Cluster;
type Reply = [string, string, string, string, string, string] | string[] | string | number | null;

/** The key of a session: the hash in braces, its own cluster slot. The hash only, never the cookie's key. */
export const redisKey = (prefix: string, hash: string) => `${prefix}{${hash}}`;

/** A session from its fields d, v, e, b, m, f in that order (an HMGET, a script reply), else null; the cached_db engine reads its entries with it too. */
export function toStored(h: Reply | (string | null)[]): StoredSession | null {
  if (!Array.isArray(h) || h[0] == null || h[1] == null || h[2] == null) return null;
  return {
    data: JSON.parse(h[0]) as SessionData,
    version: Number(h[1]),
    expiresAt: Number(h[2]),
    browserClose: h[3] === '1',
    maxAge: h[4] ? Number(h[4]) : null,
    fixedExpiry: h[5] === '1',
  };
}

/** A swap script's answer that the session is at another version: {'stale', d, v, e, b, m, f}; nothing was written. */
function isStale(reply: Reply): reply is string[] {
  return Array.isArray(reply) && reply[0] === 'stale';
}

/** Whether `error` is a reply of Redis about our own command (a bug or a refusal), not about reaching it. */
function isCommandError(error: unknown): boolean {
  const message = error instanceof Error ? error.message : '';
  if (!(error instanceof Error) || error.name !== 'ReplyError') return false;
  // Cluster states and replicas taking over are outages, not our mistakes.
  // So are a full memory (maxmemory with noeviction) and writes stopped by a failed save: 503, not 500.
  return !/^(CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|READONLY|BUSY|NOREPLICAS|MOVED|ASK|OOM|MISCONF)\b/.test(message);
}

/**
 * Whether a command sent straight to a cluster node did not run there: a
 * redirection or a cluster state Redis answered instead of running it, or
 * a connection that closed (the cluster client treats that one the same
 * way: it sends the command again once it knows the slots).
 */
function notRunThere(error: unknown): boolean {
  return error instanceof Error && /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b|^Connection is closed/.test(error.message);
}

/**
 * The commands sessions send, for a user's ACL: the scripts (and what they
 * run), a cached_db read, a cycle's undo, notices (sharded pub/sub), WAIT,
 * the ready checks, SELECT (a URL's database number) and the cluster
 * client's. The README gives the same list.
 */
export const NEEDED_COMMANDS =
  '-@all +eval +evalsha +hmget +hset +del +exists +pexpire +time +spublish +ssubscribe +sunsubscribe +ping +info +wait +select +cluster|info +cluster|slots';

/**
 * What cached_db's cache sends, for its user's ACL: its one script, its
 * reads and a cycle's undo, the ready checks, SELECT and the cluster
 * client's; no notices (its notices are PostgreSQL's), no WAIT. The README
 * gives the same list.
 */
export const CACHE_COMMANDS = '-@all +eval +evalsha +hmget +hset +del +pexpire +ping +info +select +cluster|info +cluster|slots';

/** What to do about a node's refusal at start-up, by its message ('' when there is nothing to add). */
function advice(message: string, tls: boolean, cluster: boolean, credentials: { username?: string; password: boolean }): string {
  const where = cluster ? ' in REDIS_CLUSTER_NODES' : '';
  if (/NOAUTH/.test(message)) return `; it requires a password: redis://[user]:password@host:port${where}`;
  if (/WRONGPASS|invalid username-password/i.test(message)) {
    // A URL with a user and no password authenticates as that user with none, which only a `nopass` user accepts.
    return credentials.username && !credentials.password
      ? `; no password was given for the user ${JSON.stringify(credentials.username)}, and it needs one: redis://user:password@host:port${where}`
      : '; the user or password given was refused';
  }
  if (/certificate|self[- ]signed/i.test(message)) return '; trust the CA that signed it (NODE_EXTRA_CA_CERTS=ca.pem)';
  if (tls && /ECONNRESET|ETIMEDOUT|wrong version number|packet length|socket disconnected|TLS/i.test(message))
    return '; no TLS handshake: if the port speaks plain Redis, use redis://';
  if (!tls && /ECONNRESET|Connection is closed/i.test(message)) return '; a TLS port? use rediss://';
  // Connected, then silence: TLS waits for a handshake; a paused (SIGSTOP), swapping or busy server does not read.
  if (!tls && /no answer|timed out/i.test(message))
    return '; it took the connection but did not answer: a TLS port? use rediss://; or a server paused (SIGSTOP), swapping, or busy with a long script or command';
  return '';
}

/** CRC16-CCITT (XMODEM), by byte: what Redis Cluster hashes a key with. */
const CRC16 = Uint16Array.from({ length: 256 }, (_, byte) => {
  let crc = byte << 8;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
  return crc & 0xffff;
});

/**
 * The cluster slot of `key`, as CLUSTER KEYSLOT computes it: the CRC16 of
 * its hash tag (what is between the first `{` and the next `}`, when not
 * empty; a session's hash here) or else of the whole key, modulo 16384.
 */
export function clusterSlot(key: string): number {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  const tag = close > open + 1 ? key.slice(open + 1, close) : key;
  // UTF-8 bytes: a session's hash is hex (one byte per character, as is any printable ASCII); anything else is encoded.
  const bytes = /[^\x20-\x7e]/.test(tag) ? Buffer.from(tag) : undefined;
  const length = bytes ? bytes.length : tag.length;
  let crc = 0;
  for (let i = 0; i < length; i++) crc = ((crc << 8) & 0xffff) ^ CRC16[((crc >> 8) ^ (bytes ? bytes[i]! : tag.charCodeAt(i))) & 0xff]!;
  return crc & 16383;
}

/** A Lua script, sent by its SHA-1 (EVALSHA) once a node has it. */
export class Script {
  readonly sha: string;
  constructor(readonly text: string) {
    this.sha = createHash('sha1').update(text).digest('hex');
  }
}

/**
 * `send(true)` (EVALSHA), and again as `send(false)` (EVAL, which caches the
 * script) when the node answers NOSCRIPT: each node of a cluster, and a
 * restarted server, keeps scripts of its own.
 */
export async function bySha<T>(send: (sha: boolean) => Promise<T>): Promise<T> {
  try {
    return await send(true);
  } catch (error) {
    if (!(error instanceof Error) || !/^NOSCRIPT/.test(error.message)) throw error;
    return send(false);
  }
}

const scripts = {
  touch: new Script(touchScript),
  swap: new Script(swapScript),
  create: new Script(createScript),
  setExpiry: new Script(setExpiryScript),
  retire: new Script(retireScript),
  flush: new Script(flushScript),
};
const permission = new Script(permissionScript);

/**
 * The `cache` engine (Django's name): sessions in Redis or Redis Cluster,
 * one hash per session under the SHA-256 of its key, every write one Lua
 * script on that key. Expiry is the key's TTL (nothing to prune) and the
 * stored `e`, compared with the caller's clock. See docs/decisions/0013.
 */
export class RedisEngine implements SessionEngine {
  readonly client: Client;
  /**
   * With waitReplicas, the connection(s) writes and their WAITs go on: a
   * WAIT blocks its connection until the replicas answer, and reads on
   * `client` must not queue behind it. Else `client` itself.
   */
  private readonly writer: Client;
  private readonly ageSeconds: number;
  private readonly maxBytes: number;
  private readonly timeoutMs: number;
  private readonly prefix: string;
  private readonly waitReplicas: number;
  private readonly waitTimeoutMs: number;
  private readonly cas: CompareAndSet;
  /** The nodes as given, each opened alone as the client would (same credentials, TLS): start-up hints. */
  private readonly given: { node: string; open: (options: RedisOptions) => Redis }[];
  private readonly tls: boolean;
  /** The user the URLs name, and whether they give a password (for the start-up advice). */
  private readonly credentials: { username?: string; password: boolean };
  /** A cluster's node connections by host:port, built when first needed and again after any change of nodes or slots. */
  private nodes?: Map<string, Redis>;
  /** The database number of a single server's URL (0 when it names none). */
  private readonly database: number = 0;
  /** What to call the store in messages: the URL without its password, or the nodes. */
  readonly target: string;
  /** Notices of committed changes (sessionChanged): sharded pub/sub, published by the write scripts. */
  readonly feed: RedisFeed;

  constructor(options: RedisEngineOptions) {
    this.ageSeconds = options.ageSeconds ?? 1_209_600;
    this.maxBytes = options.maxBytes ?? 65_536;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.prefix = options.prefix ?? 'sessionql:s:';
    this.waitReplicas = options.waitReplicas ?? 0;
    this.waitTimeoutMs = options.waitTimeoutMs ?? Math.min(1000, Math.floor(this.timeoutMs / 2));
    if (!Number.isInteger(this.waitReplicas) || this.waitReplicas < 0)
      throw new Error('RedisEngine: waitReplicas must be a whole number ≥ 0');
    // WAIT 0 blocks forever; past timeoutMs the command would time out first, with a vaguer message.
    if (!Number.isInteger(this.waitTimeoutMs) || this.waitTimeoutMs < 1 || this.waitTimeoutMs >= this.timeoutMs)
      throw new Error(`RedisEngine: waitTimeoutMs must be a whole number from 1 to ${this.timeoutMs - 1} (below timeoutMs)`);
    this.cas = new CompareAndSet({ timeoutMs: this.timeoutMs });
    const common = {
      // Commands issued in one turn of the event loop share one socket write (and Redis one read): the
      // syscalls of a write per command were a third of the server's CPU under load (docs/performance.md).
      enableAutoPipelining: true,
      connectTimeout: this.timeoutMs,
      commandTimeout: this.timeoutMs,
      maxRetriesPerRequest: 1,
      lazyConnect: true,
    };
    // Reconnect quickly and forever: the process stays up through an outage.
    const retryStrategy = (times: number) => Math.min(50 * times, 1000);
    if (options.clusterNodes?.length) {
      if (options.url) throw new Error('RedisEngine: give either url or clusterNodes, not both');
      const cluster = clusterConnection(options.clusterNodes);
      this.target = cluster.shown;
      const auth = { username: cluster.username, password: cluster.password, tls: cluster.tls ? { ...options.tls } : undefined };
      this.tls = cluster.tls;
      this.credentials = { username: cluster.username, password: cluster.password !== undefined };
      this.given = cluster.nodes.map(({ host, port }) => ({
        node: `${host}:${port}`,
        open: (more) => new Redis({ host, port, ...auth, ...more }),
      }));
      this.client = new Cluster(cluster.nodes, {
        lazyConnect: true,
        enableAutoPipelining: true,
        clusterRetryStrategy: retryStrategy,
        // Bounded: a command waits for a slot refresh at most commandTimeout.
        enableOfflineQueue: true,
        maxRedirections: 16,
        retryDelayOnFailover: 100,
        retryDelayOnClusterDown: 100,
        slotsRefreshTimeout: this.timeoutMs,
        redisOptions: { ...common, ...auth },
        // With TLS, a node is named as its certificate names it: a host name (what managed clusters announce)
        // is connected to as such, not as the address it resolves to, which the certificate may not list.
        ...(cluster.tls
          ? { dnsLookup: (address: string, callback: (error: null, address: string) => void) => callback(null, address) }
          : {}),
      });
    } else if (options.url) {
      const { url: u, username } = parsedUrl(options.url);
      // ioredis would send SELECT NaN (an uncaught error) or, for a number Redis lacks, stay on 0 silently.
      const database = decodeURIComponent(u.pathname.slice(1));
      if (database !== '' && !/^\d{1,9}$/.test(database))
        throw new Error(
          `RedisEngine: the database in the URL must be a whole number (redis://host:port/0), not ${JSON.stringify(database)}`,
        );
      this.database = Number(database || 0);
      this.tls = u.protocol === 'rediss:';
      this.credentials = { username: username || undefined, password: u.password !== '' };
      const tls = this.tls && options.tls ? { tls: options.tls } : {};
      const url = options.url;
      this.given = [{ node: u.host, open: (more) => new Redis(url, { ...tls, ...more }) }];
      this.target = redactedUrl(options.url);
      // Commands fail at once while disconnected (503) rather than queue.
      this.client = new Redis(options.url, { ...common, ...tls, enableOfflineQueue: false, retryStrategy });
    } else {
      throw new Error('RedisEngine: url or clusterNodes is required');
    }
    // Errors surface on commands (StoreUnavailable); without a listener ioredis would log each reconnect attempt.
    this.client.on('error', () => {});
    if (this.client instanceof Cluster) {
      const forget = () => {
        this.nodes = undefined;
      };
      for (const event of ['+node', '-node', 'refresh']) this.client.on(event, forget);
    }
    const first = this.client;
    this.writer = this.waitReplicas === 0 ? first : first instanceof Cluster ? first.duplicate() : first.duplicate();
    this.writer.on('error', () => {});
    const client = this.client;
    this.feed = new RedisFeed(
      () => (client instanceof Cluster ? client.duplicate(undefined, { shardedSubscribers: true }) : client.duplicate()),
      this.timeoutMs,
    );
  }

  /**
   * Connects and checks the store answers (for a cluster, every master, and
   * cluster_state:ok) and lets the user do what sessions need. `notices`:
   * this engine's writes publish session notices (the `cache` engine's do;
   * cached_db's cache does not).
   */
  async connect(notices = true): Promise<void> {
    try {
      await this.bounded(this.client.connect());
      if (this.writer !== this.client) await this.bounded(this.writer.connect());
    } catch (error) {
      this.client.disconnect();
      this.writer.disconnect();
      const hint = await this.hint();
      throw new RedisUnavailable(`Redis at ${this.target} is unreachable: ${(error as Error).message}${hint}`);
    }
    if (this.client instanceof Cluster) {
      const info = await this.command(() => (this.client as Cluster).cluster('INFO'));
      if (!/cluster_state:ok/.test(String(info))) {
        throw new RedisUnavailable(`Redis Cluster at ${this.target} is not ready: cluster_state is not ok`);
      }
    } else await this.single();
    if (!(await this.ready())) throw new RedisUnavailable(`Redis at ${this.target} does not answer PING`);
    await this.permitted(notices);
    if (this.waitReplicas > 0) await this.replicasOnline();
  }

  /**
   * That the user may do what sessions need: the scripts' commands on a key
   * of the prefix, (`notices`) publishing on the notices' channels, sent as
   * every write is (by SHA, and with waitReplicas followed by WAIT), then
   * the commands sent outside scripts (HMGET, DEL; SSUBSCRIBE and
   * SUNSUBSCRIBE on the subscriber's connection). A user whose ACL forbids
   * one would connect, then fail requests.
   */
  private async permitted(notices: boolean): Promise<void> {
    try {
      for (const check of this.permissionChecks()) {
        const key = this.key(check);
        await this.run(permission, check, [notices ? noticeChannel(check) : 'cache']);
        await this.on(key, async (client) => {
          await client.hmget(key, 'd');
          await client.del(key);
        });
        // Live sessions subscribe on a connection of their own: SSUBSCRIBE and SUNSUBSCRIBE run outside scripts.
        if (notices) await this.feed.check(noticeChannel(check));
      }
    } catch (error) {
      const message = (error as Error).message;
      // A refusal inside a script is an ERR naming what the user can't do (NOPERM outside one). Anything
      // else (out of memory, a read-only replica behind the URL, a cluster mid-failover) is not a setting
      // to fix: the server starts, and requests meet it as they would after start-up.
      if (!/NOPERM|no permissions|user executing the script can't/i.test(message)) return;
      const named = this.credentials.username;
      const user = named ?? 'sessions';
      const channels = notices ? ' &sessionql:n:*' : '';
      throw new RedisUnavailable(
        `Redis at ${this.target} refuses what sessions need to the user ${JSON.stringify(named ?? 'default')}: ${message.replace(/\.$/, '')}; ` +
          `it needs the keys ${this.prefix}*${notices ? ', the channels sessionql:n:*' : ''} and these commands, on every node of a cluster: ` +
          `ACL SETUSER ${user}${named ? '' : ' on >password'} ~${this.prefix}*${channels} ${notices ? NEEDED_COMMANDS : CACHE_COMMANDS}` +
          // The default user serves every other client too: sessions get a user of their own rather than narrowing it.
          (named ? '' : `, then name it: redis://${user}:password@host:port`),
      );
    }
  }

  /**
   * The hashes whose keys the rights are checked on: one per master of a
   * cluster (a key of a slot it serves), since each node keeps its own ACL
   * and one set up by hand may differ; a single server's one.
   */
  private permissionChecks(): string[] {
    if (!(this.client instanceof Cluster)) return ['permission-check'];
    const slots = this.client.slots;
    const masters = new Set(slots.map((nodes) => nodes?.[0]).filter((node) => node !== undefined));
    const checks = new Map<string, string>();
    for (let i = 0; checks.size < masters.size && i < 10_000; i++) {
      const check = `permission-check-${i}`;
      const master = slots[clusterSlot(this.key(check))]?.[0];
      if (master !== undefined && !checks.has(master)) checks.set(master, check);
    }
    return [...checks.values()];
  }

  /**
   * A single server's URL names a single server, and a database it has: a
   * cluster node there would answer MOVED for most keys (503s, and on
   * cached_db a generation raised by most writes), and a database it lacks
   * would leave the connection on 0 without a word.
   */
  private async single(): Promise<void> {
    const info = await this.command((client) => (client as Redis).info('cluster'));
    if (/cluster_enabled:1/.test(info)) {
      const node = new URL(this.target).host;
      throw new RedisUnavailable(
        `Redis at ${this.target} is a Redis Cluster node: give the cluster's nodes (REDIS_CLUSTER_NODES=${node},…; clusterNodes in a library), not a single server's URL`,
      );
    }
    if (this.database === 0) return;
    try {
      await this.command((client) => (client as Redis).select(this.database));
    } catch (error) {
      throw new RedisUnavailable(`Redis at ${this.target} has no database ${this.database}: ${(error as Error).message}`);
    }
  }

  /** With waitReplicas, each master has that many replicas online (within timeoutMs), else every write would fail. */
  private async replicasOnline(): Promise<void> {
    const masters = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    const deadline = Date.now() + this.timeoutMs;
    for (const node of masters) {
      for (;;) {
        const info = await this.command(() => node.info('replication'));
        const online = info.match(/^slave\d+:.*state=online/gm)?.length ?? 0;
        if (online >= this.waitReplicas) break;
        if (Date.now() > deadline) {
          throw new RedisUnavailable(
            `the master ${node.options.host}:${node.options.port} has ${online} replica(s) online, fewer than the ${this.waitReplicas} every write waits for (waitReplicas, REDIS_WAIT_REPLICAS): every write would fail`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /**
   * Why the server or the cluster's nodes fail to connect, said plainly
   * (the clients say only "Connection is closed" or that no node is
   * available): asks each node alone, with the same credentials and TLS,
   * until one answers. A plain server given as a cluster (cluster_enabled:0),
   * a password missing or refused, a certificate not trusted, TLS spoken to
   * a plain port or the reverse.
   */
  private async hint(): Promise<string> {
    let hint = '';
    for (const { node, open } of this.given) {
      const probe = open({
        lazyConnect: true,
        connectTimeout: 1000,
        commandTimeout: 1000,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      let refused: Error | undefined;
      probe.on('error', (error: Error) => {
        refused ??= error;
      });
      try {
        await this.bounded(probe.connect());
        const info = await this.bounded(probe.info('cluster'));
        if (this.client instanceof Cluster && /cluster_enabled:0/.test(info))
          return ` (${node} is a single Redis server, not a cluster node: use REDIS_URL=redis://${node})`;
        return '';
      } catch (error) {
        const message = (refused ?? (error as Error)).message;
        hint ||= ` (${node} alone: ${message.replace(/\.$/, '')}${advice(message, this.tls, this.client instanceof Cluster, this.credentials)})`;
      } finally {
        probe.disconnect();
      }
    }
    return hint;
  }

  /** `promise` within `ms` (timeoutMs, or what is left of it), else RedisUnavailable. */
  private bounded<T>(promise: Promise<T>, ms = this.timeoutMs): Promise<T> {
    return within(promise, Math.max(1, ms), () => new RedisUnavailable(`no answer from Redis within ${this.timeoutMs} ms`));
  }

  /** `promise` bounded as {@link bounded}, or as it is when its caller bounds it. */
  private limited<T>(promise: Promise<T>, bounded: boolean, ms?: number): Promise<T> {
    return bounded ? this.bounded(promise, ms) : promise;
  }

  /**
   * Runs a command; anything but Redis's answer to the command itself is
   * StoreUnavailable, within timeoutMs from the call: ioredis's
   * commandTimeout starts when a command is written, and with auto-pipelining
   * the commands of later turns wait unwritten behind a pipeline a hung
   * server never answers (measured: 503s at 9–10 s with a 5 s timeout). A
   * single server's commands fail at once while disconnected. On a cluster, a
   * command on one session's key goes straight to the connection of the
   * master serving its slot when both are ready: the cluster client's routing of each
   * command (the key's slot computed three times, a pipeline object per
   * node per turn) cost more CPU than the command. A redirection, or a
   * connection that closed, means the command did not run there: it goes
   * through the cluster client, which follows redirections and learns the
   * slots again. The cluster client's commands may wait in its queue for
   * slots first, so they get a timer of their own: what is left of
   * timeoutMs after a try straight to a master, so that a connection that
   * closed late does not double the wait. A caller that bounds the command
   * itself, with a shorter timeout, says `bounded: false`: one timer, not two.
   */
  private async command<T>(run: (client: Client) => Promise<T>, key?: string, bounded = true): Promise<T> {
    try {
      if (!(this.client instanceof Cluster)) return await this.limited(run(this.client), bounded);
      const node = key === undefined ? undefined : this.master(key);
      if (node) {
        const started = Date.now();
        try {
          return await this.limited(run(node), bounded);
        } catch (error) {
          if (!notRunThere(error)) throw error;
        }
        return await this.limited(run(this.client), bounded, this.timeoutMs - (Date.now() - started));
      }
      return await this.limited(run(this.client), bounded);
    } catch (error) {
      if (error instanceof StoreUnavailable || isCommandError(error)) throw error;
      throw new RedisUnavailable(`Redis unavailable: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * `run` where the commands on `key` go (see {@link command}): on a cluster,
   * straight to its slot's master, else through the cluster client. For the
   * cached_db engine's cache, whose keys are one session's each too; it
   * bounds each command by its own, shorter timeout (`bounded: false`: not
   * also by timeoutMs).
   */
  on<T>(key: string, run: (client: Client) => Promise<T>, { bounded = true }: { bounded?: boolean } = {}): Promise<T> {
    return this.command(run, key, bounded);
  }

  /** The ready connection of the master serving `key`'s slot, by the cluster client's map, else undefined. */
  private master(key: string): Redis | undefined {
    const cluster = this.client as Cluster;
    if (cluster.status !== 'ready' || this.waitReplicas > 0) return undefined;
    const nodeKey = cluster.slots[clusterSlot(key)]?.[0];
    if (nodeKey === undefined) return undefined;
    this.nodes ??= new Map(cluster.nodes('all').map((node) => [`${node.options.host}:${node.options.port}`, node]));
    const node = this.nodes.get(nodeKey);
    return node?.status === 'ready' ? node : undefined;
  }

  /** EVALSHA, loading the script on NOSCRIPT (each node of a cluster caches its own); with waitReplicas, then WAIT. */
  private run(script: Script, hash: string, args: (string | number)[]): Promise<Reply> {
    const key = this.key(hash);
    return this.command(async (client) => {
      const reply = await bySha((sha) => this.evaluate(client, script, key, args, sha));
      // Past DATABASE_TIMEOUT_MS by Redis's clock: the caller has given up (or the clocks disagree). Nothing was written.
      if (reply === 'late')
        throw new RedisUnavailable('the write reached Redis after its deadline (or the clocks of Redis and this host differ)');
      return reply;
    }, key);
  }

  /**
   * One script on `key`. With waitReplicas, the script and `WAIT n timeout`
   * go as one pipeline: WAIT counts the replicas holding this connection's
   * writes, so it must follow the script on the connection that ran it, and
   * a pipeline goes to the node of its key on one connection (WAIT alone has
   * no key: a Cluster would send it to any node, and a wrong node answers
   * at once with its own replicas). A write that fewer replicas acknowledge
   * is not reported: RedisUnavailable (503), though the master applied it.
   */
  private async evaluate(client: Client, script: Script, key: string, args: (string | number)[], sha: boolean): Promise<Reply> {
    if (this.waitReplicas === 0) {
      return (await (sha ? client.evalsha(script.sha, 1, key, ...args) : client.eval(script.text, 1, key, ...args))) as Reply;
    }
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const pipeline = this.writer.pipeline();
      if (sha) pipeline.evalsha(script.sha, 1, key, ...args);
      else pipeline.eval(script.text, 1, key, ...args);
      pipeline.wait(this.waitReplicas, this.waitTimeoutMs);
      const [[scriptError, reply] = [null, null], [waitError, acked] = [null, 0]] = (await pipeline.exec()) ?? [];
      // A pipeline with a write is not redirected by ioredis: the script did not run (MOVED, TRYAGAIN,
      // CLUSTERDOWN), so learn the slots again and resend it, as a single command would be.
      if (scriptError && /^(MOVED|TRYAGAIN|CLUSTERDOWN)\b/.test(scriptError.message) && this.writer instanceof Cluster) {
        if (Date.now() + 100 > deadline) throw scriptError;
        await new Promise<void>((resolve) => (this.writer as Cluster).refreshSlotsCache(() => resolve()));
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      if (scriptError) throw scriptError;
      // No write (a conflict, 'late', 'big', 'taken', nothing to delete, a swap at another version): nothing to wait for.
      if ((!Array.isArray(reply) && reply !== 1) || isStale(reply as Reply)) return reply as Reply;
      if (waitError) {
        throw new RedisUnavailable(`a write's WAIT failed (the master applied it; it may survive): ${waitError.message}`, {
          cause: waitError,
        });
      }
      if (Number(acked) < this.waitReplicas) {
        throw new RedisUnavailable(
          `${acked} of ${this.waitReplicas} replicas acknowledged a write within ${this.waitTimeoutMs} ms: not reported as durable (the master applied it; it may survive)`,
        );
      }
      return reply as Reply;
    }
  }

  key(hash: string): string {
    return redisKey(this.prefix, hash);
  }

  /** The caller's deadline in real time: a write that reaches Redis after it changes nothing. */
  private deadline(): number {
    return Date.now() + this.timeoutMs;
  }

  async load(hash: string, nowMs: number): Promise<StoredSession | null> {
    const key = this.key(hash);
    const h = await this.command((client) => client.hmget(key, 'd', 'v', 'e', 'b', 'm', 'f'), key);
    const row = toStored(h);
    return row && row.expiresAt * 1000 > nowMs ? row : null;
  }

  async touch(hash: string, nowMs: number): Promise<StoredSession | null> {
    return toStored(await this.run(scripts.touch, hash, [nowMs, this.ageSeconds, this.deadline()]));
  }

  change(hash: string, change: SessionChange, nowMs: number, known?: StoredSession | null): Promise<Applied | null> {
    return this.cas.apply(hash, change, known ?? null, {
      load: () => this.load(hash, nowMs),
      swap: async (current, _next, json) => {
        const args = [nowMs, this.ageSeconds, this.deadline(), this.maxBytes, current.version, json, versionStep()];
        const reply = await this.run(scripts.swap, hash, args);
        if (reply === 'big') throw tooLarge();
        if (isStale(reply)) return new Stale(toStored(reply.slice(1)) as StoredSession);
        return toStored(reply);
      },
      unavailable: (message) => new RedisUnavailable(message),
    });
  }

  private expiryArgs(columns: ExpiryColumns): string[] {
    return [
      String(columns.expiresAt),
      columns.browserClose ? '1' : '0',
      columns.maxAge == null ? '' : String(columns.maxAge),
      columns.fixedExpiry ? '1' : '0',
    ];
  }

  async create(hash: string, data: SessionData, expiry: ExpiryColumns | null, nowMs: number): Promise<StoredSession> {
    const columns = expiry ?? { expiresAt: renewedExpiry(nowMs, this.ageSeconds), browserClose: false, maxAge: null, fixedExpiry: false };
    const reply = await this.run(scripts.create, hash, [
      nowMs,
      this.deadline(),
      this.maxBytes,
      storedJson(data),
      0,
      ...this.expiryArgs(columns),
    ]);
    if (reply === 'big') throw tooLarge();
    if (reply === 'taken') throw new Error('a session with this key hash already exists');
    const stored = toStored(reply);
    if (!stored) throw new Error(`unexpected reply to a session create: ${String(reply)}`);
    return stored;
  }

  async setExpiry(hash: string, expiry: ExpiryColumns, nowMs: number): Promise<StoredSession | null> {
    return toStored(await this.run(scripts.setExpiry, hash, [nowMs, this.deadline(), ...this.expiryArgs(expiry), versionStep()]));
  }

  /**
   * Moves the session to `newHash`. Two keys are two slots on a cluster, so
   * this is not one script: read the old session, create the new key (NX)
   * from it, then delete the old key only if its version is unchanged. A
   * write that landed on the old key meanwhile makes the delete fail: the
   * new key is deleted and the move retried from the newer data. So every
   * write lands under exactly one key, and the old key then stops working.
   */
  async cycle(hash: string, newHash: string, nowMs: number): Promise<StoredSession | null> {
    this.cas.forget(hash);
    const deadline = Date.now() + this.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const old = await this.load(hash, nowMs);
      if (!old) return null;
      const columns = {
        expiresAt: old.fixedExpiry ? old.expiresAt : renewedExpiry(nowMs, old.maxAge ?? this.ageSeconds),
        browserClose: old.browserClose,
        maxAge: old.maxAge,
        fixedExpiry: old.fixedExpiry,
      };
      // No size check on a move: the data was accepted when written.
      const args = [
        nowMs,
        this.deadline(),
        Number.MAX_SAFE_INTEGER,
        storedJson(old.data),
        old.version + versionStep(),
        ...this.expiryArgs(columns),
      ];
      const reply = await this.run(scripts.create, newHash, args);
      const created = toStored(reply);
      if (!created) throw new Error(`unexpected reply to a session move: ${String(reply)}`);
      const retired = await this.run(scripts.retire, hash, [nowMs, this.deadline(), old.version]);
      if (Number(retired) === 1) return created;
      // The old key changed (or went) meanwhile: undo, and start again from what it holds now. (No WAIT:
      // should a failover bring the new key back, its cookie was never sent and its TTL removes it.)
      const taken = this.key(newHash);
      await this.command((client) => client.del(taken), taken);
      if (Date.now() > deadline) throw new RedisUnavailable(`no move of the session after ${attempt} conflicting attempts`);
      if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 50)));
    }
  }

  async flush(hash: string): Promise<void> {
    this.cas.forget(hash);
    await this.run(scripts.flush, hash, [this.deadline()]);
  }

  /** Redis expires keys by their TTL: nothing to prune. */
  async prune(_nowMs?: number, _batchSize?: number): Promise<number> {
    return 0;
  }

  /**
   * Calls `listener` each time a connection that was ready is lost: a server
   * that restarts, or a cluster node dropped (a master failed over). What it
   * holds when it is back may be older than what it acknowledged (a restart
   * from an older snapshot, writes a failover lost).
   */
  onConnectionLost(listener: () => void): void {
    if (this.client instanceof Cluster) {
      this.client.on('-node', listener);
      return;
    }
    const client = this.client;
    let ready = client.status === 'ready';
    client.on('ready', () => {
      ready = true;
    });
    client.on('close', () => {
      if (!ready) return;
      ready = false;
      listener();
    });
  }

  get limits(): EngineLimits {
    return { ageSeconds: this.ageSeconds, maxBytes: this.maxBytes };
  }

  /**
   * PING; on a cluster, every master answers, and every slot has one of
   * them (ioredis drops a failed master from its list of masters at once,
   * while its slots wait for a replica to take over).
   */
  async ready(): Promise<boolean> {
    try {
      if (this.client instanceof Cluster) {
        const masters = this.client.nodes('master');
        if (masters.length === 0) return false;
        await this.bounded(Promise.all(masters.map((node) => node.ping())));
        const known = new Set(masters.map((node) => `${node.options.host}:${node.options.port}`));
        const slots = this.client.slots;
        for (let slot = 0; slot < 16384; slot++) if (!known.has(slots[slot]?.[0] ?? '')) return false;
        return true;
      }
      return (await this.bounded(this.client.ping())) === 'PONG';
    } catch {
      return false;
    }
  }

  /**
   * QUIT, waiting at most a second for Redis to say OK (the replies of
   * commands before it come first); else the connections are dropped. A
   * hung Redis must not hold a stopping process past SHUTDOWN_TIMEOUT.
   */
  async close(): Promise<void> {
    await this.feed.close();
    const ms = Math.min(this.timeoutMs, 1000);
    if (this.writer !== this.client) await this.bounded(this.writer.quit(), ms).catch(() => this.writer.disconnect());
    try {
      await this.bounded(this.client.quit(), ms);
    } catch {
      this.client.disconnect();
    }
  }
}

/**
 * How much a write raises a session's version: random, 1 to 2^20, so that
 * versions are unique per history, not only increasing. Redis Cluster can
 * lose acknowledged writes in a failover (docs/decisions/0013); with +1
 * steps, later writes elsewhere could bring the session back to a version
 * a writer remembers from the lost history (docs/decisions/0017), and its
 * compare-and-set would then accept a guess built on lost data.
 */
function versionStep(): number {
  return 1 + Math.floor(Math.random() * 2 ** 20);
}

/** Opens the `cache` engine: connects, checks the store answers (a cluster: cluster_state:ok), else throws StoreUnavailable. */
export async function openRedisEngine(options: RedisEngineOptions): Promise<RedisEngine> {
  const engine = new RedisEngine(options);
  try {
    await engine.connect();
  } catch (error) {
    await engine.close().catch(() => {});
    throw error;
  }
  return engine;
}
