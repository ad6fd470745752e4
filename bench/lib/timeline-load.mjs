// The load generator's closed loop, in process and with a timestamp per
// request, for runs of unknown length (load while `sessions:clear` runs, p99
// over exactly the clear's window). Same templates, cookie jars, exact mix and
// error rules as loadgen.mjs, whose lib.mjs it imports from the peers' copy.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const CAP = /at most 999/;

/**
 * Creates `connections` sessions and starts the loop. Returns
 * { startedAt, stop() → Promise<{ starts, latencies, ok }> } (times in ms of
 * performance.now()).
 */
export async function startTimelineLoad({ peersDir, url, profile: profileName, connections, readRatio, timeoutS = 10 }) {
  const lib = await import(pathToFileURL(path.join(peersDir, 'loadgen', 'lib.mjs')).href);
  const profile = lib.loadProfile(path.join(peersDir, 'loadgen', 'profiles.json'), profileName);
  const common = profile.headers || {};
  const READ = lib.compile(profile.read, common);
  const WRITE = lib.compile(profile.write, common);
  const INIT = (profile.init || [profile.write]).map((t) => lib.compile(t, common));
  const checkErrors = !!profile.checkErrors;
  const origin = new URL(url).origin;
  const ms = timeoutS * 1000;
  const clients = Array.from(
    { length: connections },
    () => new lib.Client(origin, { pipelining: 1, headersTimeout: ms, bodyTimeout: ms, keepAliveTimeout: 30_000 }),
  );
  const jars = clients.map(() => new lib.Jar());
  const init = async (i) => {
    jars[i] = new lib.Jar();
    for (const t of INIT) {
      const r = await lib.send(clients[i], t, jars[i]);
      if (r.status < 200 || r.status >= 300 || (checkErrors && lib.isGraphqlError(r.text))) {
        throw new Error(`init ${t.method} ${t.path} -> ${r.status} ${r.text.slice(0, 200)}`);
      }
    }
  };
  await Promise.all(clients.map((_, i) => init(i)));
  // Runs can be long (a clear of 1M rows): a session whose cart line reached the
  // contract's 999 is replaced by a new one (the refusal is a correct answer).
  let capRenewals = 0;

  const starts = [];
  const latencies = [];
  const ok = [];
  const failures = new Map(); // first 200 characters of a failed answer → count
  let running = true;
  const startedAt = performance.now();
  const loops = clients.map(async (client, i) => {
    let acc = Math.random();
    while (running) {
      acc += 1 - readRatio;
      const isWrite = acc >= 1;
      if (isWrite) acc -= 1;
      const start = performance.now();
      let good = false;
      let renew = false;
      try {
        const r = await lib.send(client, isWrite ? WRITE : READ, jars[i]);
        good = r.status >= 200 && r.status < 300 && !(checkErrors && lib.isGraphqlError(r.text));
        if (!good && isWrite && r.status === 200 && CAP.test(r.text)) {
          good = true;
          renew = true;
        } else if (!good) {
          const k = `${r.status} ${r.text.slice(0, 200)}`;
          failures.set(k, (failures.get(k) || 0) + 1);
        }
      } catch (e) {
        const k = `network: ${e.code || e.message}`;
        failures.set(k, (failures.get(k) || 0) + 1);
        await new Promise((res) => setTimeout(res, 10));
      }
      starts.push(start);
      latencies.push(performance.now() - start);
      ok.push(good);
      if (renew) {
        capRenewals++;
        await init(i).catch(() => {});
      }
    }
  });
  return {
    startedAt,
    async stop() {
      running = false;
      await Promise.all(loops);
      await Promise.all(clients.map((c) => c.destroy()));
      const top = [...failures].sort((a, b) => b[1] - a[1]).slice(0, 5);
      return { starts, latencies, ok, capRenewals, failures: top.map(([answer, count]) => ({ count, answer })) };
    },
  };
}

/** Stats of the requests started within [from, to] (ms, performance.now()). */
export function windowStats({ starts, latencies, ok }, from, to) {
  const lat = [];
  let errors = 0;
  for (let i = 0; i < starts.length; i++) {
    if (starts[i] < from || starts[i] > to) continue;
    lat.push(latencies[i]);
    if (!ok[i]) errors++;
  }
  const sorted = Float64Array.from(lat).sort();
  const pct = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : null);
  const r = (x) => (x == null ? null : Math.round(x * 100) / 100);
  const seconds = (to - from) / 1000;
  return {
    seconds: r(seconds),
    requests: lat.length,
    rps: seconds > 0 ? Math.round((lat.length / seconds) * 10) / 10 : null,
    p50_ms: r(pct(50)),
    p99_ms: r(pct(99)),
    max_ms: r(sorted.length ? sorted[sorted.length - 1] : null),
    errors,
  };
}
