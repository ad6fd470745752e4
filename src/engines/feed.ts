import type { NoticeListener, SessionFeed, SessionNotice } from '../core/engine.js';

/** What a transport does when this process starts or stops watching a session (e.g. SUBSCRIBE, a watcher count). */
export interface WatchHooks {
  /** The first local listener of `hash` arrives; resolves once notices about it will reach {@link LocalFeed.deliver}. */
  first?(hash: string): Promise<void>;
  /** The last local listener of `hash` left. Must not throw. */
  last?(hash: string): void;
}

/**
 * The fan-out within one process: listeners by session hash. Each engine's
 * transport (NOTIFY, pub/sub) delivers what it receives here; PGlite, one
 * process, delivers its own commits directly.
 */
export class LocalFeed implements SessionFeed {
  private readonly listeners = new Map<string, Set<NoticeListener>>();
  /** Hashes whose `first` hook is running: later subscribers wait for it. */
  private readonly starting = new Map<string, Promise<void>>();

  constructor(private readonly hooks: WatchHooks = {}) {}

  async subscribe(hash: string, listener: NoticeListener): Promise<() => void> {
    let set = this.listeners.get(hash);
    if (!set) {
      set = new Set();
      this.listeners.set(hash, set);
      if (this.hooks.first) {
        const started = this.hooks.first(hash);
        this.starting.set(hash, started);
        try {
          await started;
        } catch (error) {
          if (set.size === 0) this.listeners.delete(hash);
          throw error;
        } finally {
          this.starting.delete(hash);
        }
      }
    } else {
      await this.starting.get(hash);
    }
    set.add(listener);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(hash) === set) {
        this.listeners.delete(hash);
        this.hooks.last?.(hash);
      }
    };
  }

  /** Hands a notice to this process's listeners of its session. */
  deliver(notice: SessionNotice): void {
    const set = this.listeners.get(notice.hash);
    if (set) for (const listener of [...set]) listener(notice);
  }

  /** Tells every listener that notices may have been missed (the transport reconnected). */
  resync(): void {
    for (const [hash, set] of this.listeners) for (const listener of [...set]) listener({ hash, resync: true });
  }

  /** Sessions this process watches. */
  watched(): IterableIterator<string> {
    return this.listeners.keys();
  }

  /** How many sessions this process watches. */
  get size(): number {
    return this.listeners.size;
  }
}

/** A notice as a short text, for NOTIFY and PUBLISH payloads: `hash:version`, `hash:flushed`, `hash:moved`. */
export function encodeNotice(notice: SessionNotice): string {
  return `${notice.hash}:${'version' in notice ? notice.version : notice.gone}`;
}

/** The notice of {@link encodeNotice}'s text; null when it is not one (ignored). */
export function decodeNotice(text: string): SessionNotice | null {
  const at = text.lastIndexOf(':');
  if (at <= 0) return null;
  const hash = text.slice(0, at);
  const tail = text.slice(at + 1);
  if (tail === 'flushed' || tail === 'moved') return { hash, gone: tail };
  const version = Number(tail);
  return Number.isSafeInteger(version) ? { hash, version } : null;
}
