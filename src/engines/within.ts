/**
 * `promise`, or a rejection with `timedOut()` once `ms` have passed, after
 * `onTimeout` (to cancel the work, say). The rejection waits one more turn
 * of the event loop (setImmediate runs after the poll for I/O): an answer
 * that arrived while this process was busy is taken first, so a busy
 * process is not mistaken for a slow store (measured on cached_db: under
 * load, 200 ms timers fired with the reply already there). One promise and
 * one timer, no Promise.race: it wraps statements and commands.
 */
export function within<T>(promise: Promise<T>, ms: number, timedOut: () => Error, onTimeout?: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(
      () =>
        setImmediate(() => {
          if (settled) return;
          settled = true;
          onTimeout?.();
          reject(timedOut());
        }),
      ms,
    );
    promise.then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
