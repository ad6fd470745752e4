import { spawn } from 'node:child_process';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { within } from '../../src/engines/within.js';

const late = () => new Error('late');

/** Busy for `ms`: the process does nothing else meanwhile. */
function busy(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {}
}

// The race with a timer that bounds every statement and Redis command.
describe('within', () => {
  it('gives the answer, or the error of the answer, and cancels nothing', async () => {
    let cancelled = 0;
    expect(await within(Promise.resolve(7), 50, late, () => cancelled++)).toBe(7);
    await expect(within(Promise.reject(new Error('refused')), 50, late, () => cancelled++)).rejects.toThrow('refused');
    expect(cancelled).toBe(0);
  });

  it('with no answer in time: the timeout error, after onTimeout', async () => {
    const order: string[] = [];
    const started = Date.now();
    const timedOut = () => {
      order.push('error');
      return late();
    };
    await expect(within(new Promise<never>(() => {}), 30, timedOut, () => order.push('cancel'))).rejects.toThrow('late');
    expect(Date.now() - started).toBeGreaterThanOrEqual(29);
    expect(order).toEqual(['cancel', 'error']);
  });

  it('an answer that arrived while the process was busy past the deadline is taken, not a timeout', async () => {
    // Another process answers at once; this one is busy for 80 ms, past its 30 ms deadline, while the answer waits in the socket.
    const server = spawn(process.execPath, [
      '-e',
      "require('net').createServer((s) => s.on('data', () => s.write('pong'))).listen(0, '127.0.0.1', function () { console.log(this.address().port) })",
    ]);
    try {
      const port = Number(await new Promise<string>((resolve) => server.stdout.once('data', (d) => resolve(String(d)))));
      const socket = net.connect(port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      const answer = new Promise<string>((resolve) => socket.once('data', (d) => resolve(String(d))));
      socket.write('ping');
      const bounded = within(answer, 30, late);
      busy(80);
      expect(await bounded).toBe('pong');
      socket.destroy();
    } finally {
      server.kill();
    }
  });
});
