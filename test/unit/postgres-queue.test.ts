// The patch of postgres.js's pool queue (patches/postgres+3.4.9.patch, applied by
// patch-package from the postinstall script scripts/postinstall.mjs).
// Unpatched, the busy-connection queue grows by one slot per query for as long
// as the process runs under load, and each query scans it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { postgresQueuePatched } from '../../src/engines/postgres/postgres-queue.js';

interface Queue<T> {
  readonly length: number;
  push(x: T): T;
  shift(): T | undefined;
  remove(x: T): T | null;
}
type QueueFactory = <T>(initial?: T[]) => Queue<T>;

const root = join(dirname(createRequire(import.meta.url).resolve('postgres')), '..', '..');
const builds = ['src/queue.js', 'cjs/src/queue.js', 'cf/src/queue.js'];

async function load(file: string): Promise<QueueFactory> {
  const path = join(root, file);
  if (file.startsWith('cjs/')) return createRequire(import.meta.url)(path) as QueueFactory;
  return ((await import(pathToFileURL(path).href)) as { default: QueueFactory }).default;
}

/** The lengths of the arrays Array.prototype.indexOf scans while fn runs. */
function scannedLengths(fn: () => void): number[] {
  const lengths: number[] = [];
  const original = Array.prototype.indexOf;
  Array.prototype.indexOf = function (this: unknown[], ...args: [unknown, number?]) {
    lengths.push(this.length);
    return original.apply(this, args);
  };
  try {
    fn();
  } finally {
    Array.prototype.indexOf = original;
  }
  return lengths;
}

describe('postgres.js pool queue (patched at install)', () => {
  it.each(builds)('%s carries the patch', (file) => {
    expect(readFileSync(join(root, file), 'utf8')).toContain('sessionql: bounded queue');
  });

  it('the server sees the patch (it warns at start-up when it does not)', () => {
    expect(postgresQueuePatched()).toBe(true);
  });

  it.each(builds.filter((file) => !file.startsWith('cf/')))(
    '%s: a queue that never empties under load stays small (the pool’s busy queue)',
    async (file) => {
      const Queue = await load(file);
      const connections = Array.from({ length: 10 }, (_, id) => ({ id }));
      const busy = Queue(connections);
      // What the pool does per query while every connection is busy: take the
      // next connection, then move it back (remove from its queue, push).
      for (let i = 0; i < 10_000; i++) {
        const c = busy.shift();
        if (!c) throw new Error('empty');
        busy.remove(c);
        busy.push(c);
      }
      const lengths = scannedLengths(() => busy.remove({ id: -1 }));
      expect(lengths.length).toBe(1);
      expect(lengths[0]).toBeLessThanOrEqual(2 * 64 + connections.length);
      expect(busy.length).toBe(10);
    },
  );

  it('keeps FIFO order, length and remove() across compactions', async () => {
    const Queue = await load('src/queue.js');
    const queue = Queue<number>();
    const model: number[] = [];
    let next = 0;
    // A deterministic walk through pushes, shifts and removes, with the queue
    // emptying now and then and long stretches where it never does.
    for (let step = 0; step < 20_000; step++) {
      const r = (step * 7919) % 13;
      const pushes = Math.floor(step / 2000) % 2 === 0 ? 8 : 5;
      if (r < pushes || model.length === 0) {
        model.push(next);
        expect(queue.push(next)).toBe(next);
        next++;
      } else if (r < 11) {
        expect(queue.shift()).toBe(model.shift());
      } else {
        const victim = model[Math.floor(model.length / 2)] as number;
        model.splice(model.indexOf(victim), 1);
        expect(queue.remove(victim)).toBe(victim);
        expect(queue.remove(victim)).toBeNull();
      }
      expect(queue.length).toBe(model.length);
    }
    while (model.length) expect(queue.shift()).toBe(model.shift());
    expect(queue.length).toBe(0);
    expect(queue.shift()).toBeUndefined();
  });
});
