import type { Cluster, Redis } from 'ioredis';
import type { NoticeListener, SessionFeed } from '../../core/engine.js';
import { StoreUnavailable } from '../../core/errors.js';
import { decodeNotice, LocalFeed } from '../feed.js';
import { within } from '../within.js';

/** The channel of a session's notices: the key's hash tag, so the key's slot (its shard on a cluster). */
export const noticeChannel = (hash: string) => `sessionql:n:{${hash}}`;

/**
 * Session notices over Redis sharded pub/sub (SSUBSCRIBE; on a single server
 * too, Redis 7): the write scripts SPUBLISH each committed change on the
 * session's own channel (src/engines/redis/scripts.ts), and this process
 * subscribes, on one connection of its own (one per master on a cluster),
 * to the channels of the sessions it has subscribers for. A notice goes only
 * to the shard of its session, and only to instances that watch it.
 */
export class RedisFeed implements SessionFeed {
  private readonly local: LocalFeed;
  private subscriber: Redis | Cluster | null = null;
  private started: Promise<Redis | Cluster> | null = null;

  constructor(
    /** A new client for subscribing (a cluster's with sharded subscribers), not yet connected. */
    private readonly connect: () => Redis | Cluster,
    private readonly timeoutMs: number,
  ) {
    this.local = new LocalFeed({
      first: async (hash) => {
        const sub = await this.connectSubscriber();
        await this.bounded(sub.ssubscribe(noticeChannel(hash)), 'SSUBSCRIBE');
      },
      last: (hash) => {
        this.subscriber?.sunsubscribe(noticeChannel(hash)).catch(() => {});
      },
    });
  }

  subscribe(hash: string, listener: NoticeListener): Promise<() => void> {
    return this.local.subscribe(hash, listener);
  }

  /**
   * That this user may subscribe to the notices' channels: `channel`
   * subscribed and left, at start-up rather than at a first subscriber. The
   * connection stays, for the subscribers to come.
   */
  async check(channel: string): Promise<void> {
    const sub = await this.connectSubscriber();
    await this.bounded(sub.ssubscribe(channel), 'SSUBSCRIBE');
    await this.bounded(sub.sunsubscribe(channel), 'SUNSUBSCRIBE');
  }

  private connectSubscriber(): Promise<Redis | Cluster> {
    this.started ??= (async () => {
      const sub = this.connect();
      this.subscriber = sub;
      sub.on('error', () => {});
      sub.on('smessage', (_channel: string, message: string) => {
        const notice = decodeNotice(message);
        if (notice) this.local.deliver(notice);
      });
      // Back after a lost connection (ioredis subscribes again by itself): what was published meanwhile is gone.
      let ready = false;
      const again = () => {
        if (ready) this.local.resync();
        ready = true;
      };
      sub.on('ready', again);
      try {
        await this.bounded(sub.connect(), 'connecting the subscriber');
      } catch (error) {
        this.started = null;
        this.subscriber = null;
        sub.disconnect();
        throw error;
      }
      return sub;
    })();
    return this.started;
  }

  private bounded<T>(promise: Promise<T>, what: string): Promise<T> {
    return within(promise, this.timeoutMs, () => new StoreUnavailable(`Redis: no answer to ${what} within ${this.timeoutMs} ms`));
  }

  /** Sessions watched by this instance. */
  get watching(): number {
    return this.local.size;
  }

  async close(): Promise<void> {
    const sub = this.subscriber;
    this.subscriber = null;
    sub?.disconnect();
  }
}
