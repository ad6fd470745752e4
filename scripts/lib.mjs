// Helpers shared by the plain-JS scripts (soak, bench:profile).
import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once GET base/ready answers 200 (at most ~20 s). */
export async function waitReady(base) {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${base}/ready`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${base} did not become ready`);
}
