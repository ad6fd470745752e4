// Medians over repetitions, the comparison table (aligned text and Markdown)
// and the issues' targets as PASS/FAIL lines.
import { CLIENT_TARGETS, isPeer, isRedisPeer, isRedisProject, PROJECT, TARGET_DEFS } from './targets.mjs';

export { CLIENT_TARGETS, PROJECT };

/** The single-process floors; the client report divides by the faster of the two measured. */
const FLOORS = ['floor', 'floor-fixed'];

/** Issue 10's targets for every client profile, per mix. */
const CLIENT_WANT = { peer: 1.5, project: 0.85 };

/** The contract's answer to an add past 999 of one SKU (BAD_USER_INPUT, nothing changed). */
const CAP = /at most 999/;

export const mixName = (r) => (r === 1 ? 'read-only' : r === 0 ? 'write-only' : `${Math.round(r * 100)}/${Math.round((1 - r) * 100)} r/w`);

export function median(xs) {
  const s = xs.filter((x) => x != null && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const fmt = (x, d = 0) =>
  x == null || !Number.isFinite(x) ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const ratio = (x) => (x == null || !Number.isFinite(x) ? '–' : `${fmt(x, 2)}×`);
const verdict = (pass) => (pass == null ? 'n/a' : pass ? 'PASS' : 'FAIL');

/** Cores the rest of the machine (other users) kept busy during a run: all busy cores less server, stores and loadgen. */
export const othersCores = (r) =>
  Math.max(0, r.machine_busy_cores - (r.server_cpu_s + r.pg_cpu_s + (r.redis_cpu_s ?? 0) + r.loadgen_cpu_s) / r.wall_s);

/** One summary per target × mix over the load runs (failed runs counted apart). */
export function summarize(runs) {
  const groups = new Map();
  for (const r of runs) {
    const k = `${r.target}\t${r.read_ratio}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(r);
  }
  const out = [];
  for (const rs of groups.values()) {
    const good = rs.filter((r) => !r.failed);
    const rps = good.map((r) => r.rps);
    const perReq = (f) => median(good.map((r) => (f(r) * 1000) / (r.requests + (r.setup_requests || 0))));
    out.push({
      target: rs[0].target,
      mix: mixName(rs[0].read_ratio),
      read_ratio: rs[0].read_ratio,
      runs: rs.length,
      failed_runs: rs.length - good.length,
      rps_median: median(rps),
      rps_min: rps.length ? Math.min(...rps) : null,
      rps_max: rps.length ? Math.max(...rps) : null,
      p50_ms: median(good.map((r) => r.p50_ms)),
      p99_ms: median(good.map((r) => r.p99_ms)),
      errors: good.reduce((n, r) => n + (r.errors || 0), 0),
      // Errors of runs whose first error was the contract's 999-per-line cap (see CAP).
      cap_refusals: good.filter((r) => r.errors && CAP.test(r.first_error || '')).reduce((n, r) => n + r.errors, 0),
      cookie_changes: good.reduce((n, r) => n + (r.cookie_changes || 0), 0),
      rss_max_mb: good.some((r) => r.rss_max_mb != null) ? Math.max(...good.map((r) => r.rss_max_mb ?? 0)) : null,
      rss_mean_mb: median(good.map((r) => r.rss_mean_mb)),
      server_cpu_ms_per_req: perReq((r) => r.server_cpu_s),
      pg_cpu_ms_per_req: perReq((r) => r.pg_cpu_s),
      // The Redis the target uses (one server, or all six cluster nodes); null before redis_cpu_s existed.
      redis_cpu_ms_per_req: good.some((r) => r.redis_cpu_s != null) ? perReq((r) => r.redis_cpu_s ?? 0) : null,
      // Cores the rest of the machine (other users) kept busy during each run.
      cpu_speed: good.map((r) => r.cpu_speed ?? null),
      others_cores: good.map((r) => Math.round(othersCores(r) * 10) / 10),
    });
  }
  const order = (s) => [s.read_ratio === 1 ? 0 : s.read_ratio === 0 ? 1 : 2, s.read_ratio];
  return out.sort((a, b) => order(a)[0] - order(b)[0] || order(b)[1] - order(a)[1]);
}

/**
 * The issues' targets, one set per comparison: `subjects` (the project
 * targets judged), `peers` (the best of them is the yardstick, and every
 * one's p99 must be beaten), ratio checks against the best peer or the first
 * measured of named targets, and a memory check.
 */
export const COMPARISONS = [
  {
    id: 'pg',
    title: 'Targets (issue 3)',
    subjects: () => [PROJECT],
    peers: isPeer,
    checks: [
      { name: '≥ 1.25× the best peer', want: 1.25, against: 'best' },
      { name: '≥ 2× stock express', want: 2, against: () => ['express'] },
      { name: '≥ 3× Django', want: 3, against: () => ['django'] },
    ],
    p99: 'p99 below every peer',
    memory: { target: PROJECT, mb: 200, name: 'project RSS max under 50-connection 80/20 < 200 MB' },
  },
  {
    id: 'redis',
    title: 'Targets (issue 12): the project on Redis against the Redis peers',
    subjects: (measured) => measured.filter(isRedisProject),
    peers: isRedisPeer,
    checks: [
      { name: '≥ 1.5× the best Redis peer', want: 1.5, against: 'best' },
      // A cluster target is held to the floor on the same cluster: the same
      // slot routing in the client and the same replication on the same cores.
      {
        name: '≥ 0.5× the Redis floor',
        want: 0.5,
        against: (t) => (TARGET_DEFS[t]?.redis === 'cluster' ? ['floor-redis-cluster', 'floor-redis'] : ['floor-redis']),
      },
    ],
    p99: 'p99 below every Redis peer',
  },
];

/**
 * Every comparison of COMPARISONS that has a subject or a peer in the
 * summary: per mix, per subject, its checks; and the memory check.
 */
export function verdicts(summary) {
  const measured = [...new Set(summary.map((s) => s.target))];
  return COMPARISONS.filter((c) => c.subjects(measured).some((t) => measured.includes(t)) || measured.some(c.peers)).map((c) =>
    comparisonVerdicts(c, summary, c.subjects(measured)),
  );
}

function comparisonVerdicts(cmp, summary, subjects) {
  const mixes = [...new Set(summary.map((s) => s.read_ratio))];
  const out = [];
  for (const rr of mixes) {
    const cell = (t) => summary.find((s) => s.target === t && s.read_ratio === rr && s.rps_median != null);
    const peers = summary.filter((s) => s.read_ratio === rr && cmp.peers(s.target) && s.rps_median != null);
    const best = peers.reduce((b, s) => (!b || s.rps_median > b.rps_median ? s : b), null);
    const rows = subjects.map((target) => {
      const subject = cell(target);
      const checks = cmp.checks.map(({ name, want, against }) => {
        const other = against === 'best' ? best : (against(target).map(cell).find(Boolean) ?? null);
        const r = subject && other ? subject.rps_median / other.rps_median : null;
        return {
          name,
          want,
          against: other?.target ?? null,
          against_rps: other?.rps_median ?? null,
          ratio: r,
          pass: r == null ? null : r >= want,
        };
      });
      const slower = peers.filter((s) => subject && !(subject.p99_ms < s.p99_ms)).map((s) => s.target);
      checks.push({
        name: cmp.p99,
        pass: subject && peers.length ? slower.length === 0 : null,
        detail: subject && peers.length ? (slower.length ? `not below ${slower.join(', ')}` : 'below all') : null,
      });
      return { target, rps: subject?.rps_median ?? null, p99_ms: subject?.p99_ms ?? null, checks };
    });
    out.push({ mix: mixName(rr), read_ratio: rr, best_peer: best?.target ?? null, subjects: rows });
  }
  let memory = null;
  if (cmp.memory) {
    const mixCell = summary.find((s) => s.target === cmp.memory.target && s.read_ratio === 0.8);
    memory = {
      name: cmp.memory.name,
      rss_max_mb: mixCell?.rss_max_mb ?? null,
      pass: mixCell?.rss_max_mb == null ? null : mixCell.rss_max_mb < cmp.memory.mb,
    };
  }
  return { id: cmp.id, title: cmp.title, mixes: out, memory };
}

/**
 * Per mix, the plain-JSON project and every client profile measured: req/s,
 * its ratio to the best peer (want ≥ 1.5), to project (want ≥ 0.85) and to
 * the floor (reported only). Null when no client target was measured.
 */
export function clientVerdicts(summary) {
  const names = Object.keys(CLIENT_TARGETS);
  if (!summary.some((s) => names.includes(s.target))) return null;
  const mixes = [...new Set(summary.map((s) => s.read_ratio))];
  return mixes.map((rr) => {
    const here = summary.filter((s) => s.read_ratio === rr && s.rps_median != null);
    const best = (pick) => here.filter(pick).reduce((b, s) => (!b || s.rps_median > b.rps_median ? s : b), null);
    const peer = best((s) => isPeer(s.target));
    const floor = best((s) => FLOORS.includes(s.target));
    const project = here.find((s) => s.target === PROJECT) ?? null;
    const div = (a, b) => (a?.rps_median != null && b?.rps_median ? a.rps_median / b.rps_median : null);
    const rows = [PROJECT, ...names]
      .map((name) => summary.find((s) => s.target === name && s.read_ratio === rr))
      .filter(Boolean)
      .map((s) => {
        const vsPeer = div(s, peer);
        const vsProject = s.target === PROJECT ? null : div(s, project);
        return {
          target: s.target,
          profile: CLIENT_TARGETS[s.target]?.profile ?? 'graphql',
          rps: s.rps_median,
          p99_ms: s.p99_ms,
          errors: s.errors,
          vs_peer: vsPeer,
          vs_project: vsProject,
          vs_floor: div(s, floor),
          pass_peer: vsPeer == null ? null : vsPeer >= CLIENT_WANT.peer,
          pass_project: s.target === PROJECT || vsProject == null ? null : vsProject >= CLIENT_WANT.project,
        };
      });
    const ref = (s) => (s ? { target: s.target, rps: s.rps_median } : null);
    return { mix: mixName(rr), read_ratio: rr, peer: ref(peer), project: ref(project), floor: ref(floor), rows };
  });
}

/** The client-profile table (header first) and its footnotes, from clientVerdicts(). */
export function clientRows(mixes) {
  const rows = [
    [
      'target',
      'mix',
      'req/s',
      'p99 ms',
      'errors',
      `÷ best peer (want ≥ ${CLIENT_WANT.peer})`,
      `÷ project (want ≥ ${CLIENT_WANT.project})`,
      '÷ floor',
    ],
  ];
  const cell = (x, pass) => (x == null ? '–' : `${ratio(x)}${pass == null ? '' : ` ${verdict(pass)}`}`);
  for (const m of mixes) {
    for (const r of m.rows) {
      rows.push([
        r.target === PROJECT ? 'project (plain JSON)' : `${r.target} (${r.profile})`,
        m.mix,
        r.rps == null ? 'failed' : fmt(r.rps),
        fmt(r.p99_ms, 1),
        fmt(r.errors),
        cell(r.vs_peer, r.target === PROJECT ? null : r.pass_peer),
        r.target === PROJECT ? '' : cell(r.vs_project, r.pass_project),
        cell(r.vs_floor, null),
      ]);
    }
  }
  const named = (x) => (x ? `${x.target} ${fmt(x.rps)} req/s` : 'not measured');
  const notes = mixes.map(
    (m) => `${m.mix}: best peer ${named(m.peer)}; ${m.project ? named(m.project) : 'project not measured'}; floor ${named(m.floor)}`,
  );
  const cells = mixes.flatMap((m) => m.rows.filter((r) => r.target !== PROJECT));
  const checks = cells.flatMap((r) => [r.pass_peer, r.pass_project]);
  const failed = checks.filter((p) => p === false).length;
  const unknown = checks.filter((p) => p == null).length;
  notes.push(
    `${failed ? 'FAIL' : unknown ? 'n/a ' : 'PASS'}  ${cells.length} profile × mix cells, ${checks.length - failed - unknown} of ${checks.length} checks pass${unknown ? ` (${unknown} not measured)` : ''}`,
  );
  return { rows, notes };
}

/**
 * Rows of the comparison table (header first). The last ratio column divides
 * `project` (or, in a run without it, the first project target measured) by each row.
 */
export function tableRows(summary) {
  const targets = [...new Set(summary.map((s) => s.target))];
  const ref = targets.includes(PROJECT) ? PROJECT : (targets.find((t) => TARGET_DEFS[t]?.project) ?? PROJECT);
  const redis = summary.some((s) => s.redis_cpu_ms_per_req);
  const head = [
    'target',
    'mix',
    'req/s median (min..max)',
    'p50 ms',
    'p99 ms',
    'errors',
    'RSS max MB',
    redis ? 'CPU ms/req srv+pg+redis' : 'CPU ms/req srv+pg',
    `${ref} ÷ this`,
    'n',
  ];
  const cpu = (s) => {
    if (s.server_cpu_ms_per_req == null) return '–';
    if (!redis)
      return `${fmt(s.server_cpu_ms_per_req + s.pg_cpu_ms_per_req, 2)} = ${fmt(s.server_cpu_ms_per_req, 2)} + ${fmt(s.pg_cpu_ms_per_req, 2)}`;
    const r = s.redis_cpu_ms_per_req ?? 0;
    return `${fmt(s.server_cpu_ms_per_req + s.pg_cpu_ms_per_req + r, 3)} = ${fmt(s.server_cpu_ms_per_req, 3)} + ${fmt(s.pg_cpu_ms_per_req, 3)} + ${fmt(r, 3)}`;
  };
  const rows = [head];
  for (const s of summary) {
    const project = summary.find((p) => p.target === ref && p.read_ratio === s.read_ratio);
    const rel = s.target !== ref && project?.rps_median && s.rps_median ? project.rps_median / s.rps_median : null;
    rows.push([
      s.target,
      s.mix,
      s.rps_median == null ? 'failed' : `${fmt(s.rps_median)} (${fmt(s.rps_min)}..${fmt(s.rps_max)})`,
      fmt(s.p50_ms, 1),
      fmt(s.p99_ms, 1),
      fmt(s.errors) +
        (s.cap_refusals ? (s.cap_refusals === s.errors ? ' (999 cap)' : ` (${fmt(s.cap_refusals)} 999 cap)`) : '') +
        (s.cookie_changes ? ` (+${s.cookie_changes} lost cookies)` : ''),
      fmt(s.rss_max_mb, 0),
      cpu(s),
      s.target === ref ? '' : ratio(rel),
      s.failed_runs ? `${s.runs - s.failed_runs}/${s.runs}` : String(s.runs),
    ]);
  }
  return rows;
}

const NUMERIC = /^[–\d(]/;
export function renderText(rows) {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (r, i) =>
    r.map((c, j) => (i > 0 && j > 1 && NUMERIC.test(String(c)) ? String(c).padStart(w[j]) : String(c).padEnd(w[j]))).join('  ');
  return [line(rows[0], 0), w.map((n) => '-'.repeat(n)).join('  '), ...rows.slice(1).map((r) => line(r, 1))].join('\n');
}

export function renderMarkdown(rows) {
  const esc = (c) => String(c).replaceAll('|', '\\|');
  return [
    `| ${rows[0].map(esc).join(' | ')} |`,
    `|${rows[0].map((_, j) => (j > 1 ? '---:' : '---')).join('|')}|`,
    ...rows.slice(1).map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

/** The lines of one comparison of verdicts(). */
export function renderVerdicts({ mixes, memory }) {
  const lines = [];
  for (const m of mixes) {
    for (const subject of m.subjects) {
      lines.push(`${m.mix}: ${subject.target} ${fmt(subject.rps)} req/s, p99 ${fmt(subject.p99_ms, 1)} ms`);
      for (const c of subject.checks) {
        if (c.want) {
          const vs = c.against ? `${c.against} ${fmt(c.against_rps)} req/s` : 'not measured';
          lines.push(`  ${verdict(c.pass).padEnd(4)}  ${c.name} (${vs}): ${ratio(c.ratio)}`);
        } else {
          lines.push(`  ${verdict(c.pass).padEnd(4)}  ${c.name}${c.detail ? `: ${c.detail}` : ''}`);
        }
      }
    }
  }
  if (memory) {
    lines.push(
      `${verdict(memory.pass).padEnd(4)}  ${memory.name}: ${memory.rss_max_mb == null ? 'not measured' : `${fmt(memory.rss_max_mb)} MB`}`,
    );
  }
  return lines.join('\n');
}

/** Lost updates: one row per target × test. */
export function lostRows(lost) {
  const what = { skus: '50 × add SKU-i → SKUs left', same: '50 × add A → quantity of A', keys: '50 × set k-i → keys left' };
  const rows = [['target', 'test', 'survived per run', 'median', 'failed requests']];
  for (const l of lost) {
    for (const s of l.summaries) {
      const failed = l.runs.filter((r) => r.test === s.summary).reduce((n, r) => n + (r.failed_requests || 0), 0);
      rows.push([
        l.target,
        what[s.summary]?.replace('50', String(s.n)) ?? s.summary,
        s.survived.join(' '),
        `${s.median} / ${s.n}`,
        String(failed),
      ]);
    }
    if (l.error) rows.push([l.target, 'failed', l.error.slice(0, 80), '', '']);
  }
  return rows;
}

/**
 * Lost updates of the project targets: every run of every test must keep all
 * of its writes (issue 12: "the lost-update probe keeps 50/50"). PASS/FAIL lines.
 */
export function lostVerdicts(lost) {
  return lost
    .filter((l) => TARGET_DEFS[l.target]?.project)
    .map((l) => {
      const short = l.summaries.filter((s) => s.survived.some((n) => n !== s.n));
      const pass = l.error || !l.summaries.length ? false : short.length === 0;
      const detail = l.error
        ? `failed: ${l.error.slice(0, 120)}`
        : !l.summaries.length
          ? 'no result'
          : short.length
            ? `lost writes in ${short.map((s) => `${s.summary} (${s.survived.join(' ')} of ${s.n})`).join(', ')}`
            : `${l.summaries.map((s) => s.summary).join(', ')}: ${l.summaries[0].n}/${l.summaries[0].n} in all ${l.summaries.reduce((n, s) => n + s.survived.length, 0)} runs`;
      return `${verdict(pass).padEnd(4)}  ${l.target} keeps every concurrent write: ${detail}`;
    });
}
