// Dry-run throughput: Tetragon JSON event lines -> EvalEvent -> verdict, the
// whole pipeline, against what a user would do instead in the same run:
//   * jq selecting the same events (hook name + path prefix) over the same file,
//   * JSON.parse of every line and nothing else (a floor for any JS pipeline
//     that parses events the obvious way).
// Target: >= 200,000 events/s from JSON lines on one core.
//
// Run: npm run build && node dist/bench/dryrun.bench.js
//      TALON_BENCH_EVENTS=1000000 to change the number of events (default 200000).

import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compile, Evaluator } from '../src/core/index.js';
import { DryRunPipeline, fastEvaluate } from '../src/events/dryrun.js';
import { lineBatches } from '../src/events/lines.js';
import { checkPolicies } from '../src/policy/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const POLICIES = ['examples/file-monitoring-enforce.yaml', 'examples/egress-cluster-enforce.yaml'];
const JQ_FILTER =
  'select(.process_kprobe.function_name == "security_file_permission" and ' + '(.process_kprobe.args[0].file_arg.path | startswith("/etc/shadow")))';

/** A deterministic PRNG (mulberry32), so every run benchmarks the same lines. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PATHS = [
  '/etc/shadow',
  '/etc/passwd',
  '/etc/ld.so.cache',
  '/usr/lib/x86_64-linux-gnu/libc.so.6',
  '/bar',
  '/tmp/x',
  '/var/log/app.log',
  '/root/.bashrc',
  '/home/u/.profile',
  '/proc/self/status',
  '/usr/share/zoneinfo/UTC',
  '/app/data.json',
];
const DESTS = ['104.198.14.52', '127.96.0.10', '127.10.3.4', '127.0.0.1', '140.82.121.4'];

/**
 * Event lines in the mix of the example recordings (exec, exit, file and
 * connect events, in pods and on the host), each with its own pid, path or
 * destination. `kprobeOnly` keeps only process_kprobe lines.
 */
export function makeEvents(n: number, kprobeOnly: boolean): string[] {
  const files = ['cat-shadow', 'echo-bar', 'curl-egress', 'host-cat-shadow'];
  let templates = files.flatMap((f) =>
    readFileSync(path.join(ROOT, 'examples/events', `${f}.jsonl`), 'utf8')
      .trim()
      .split('\n'),
  );
  if (kprobeOnly) templates = templates.filter((l) => l.startsWith('{"process_kprobe"'));
  const rand = rng(0x7a10);
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    let l = templates[i % templates.length];
    const pid = 10000 + Math.floor(rand() * 90000);
    l = l.replace(/"pid":(\d+)/, `"pid":${pid}`).replace(/"tid":(\d+)/, `"tid":${pid}`);
    if (l.includes('"file_arg"')) l = l.replace(/"file_arg":\{"path":"[^"]*"/, `"file_arg":{"path":"${PATHS[Math.floor(rand() * PATHS.length)]}"`);
    if (l.includes('"sock_arg"')) l = l.replace(/"daddr":"[^"]*"/, `"daddr":"${DESTS[Math.floor(rand() * DESTS.length)]}"`);
    out[i] = l;
  }
  return out;
}

function rate(n: number, ms: number): number {
  return (n / ms) * 1000;
}

function best(reps: number, f: () => void): number {
  let min = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    f();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function wall(cmd: string, args: string[]): { ms: number; ok: boolean; note: string } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
  const ms = performance.now() - t0;
  if (r.error) return { ms, ok: false, note: (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? `${cmd} not installed` : r.error.message };
  if (r.status !== 0) return { ms, ok: false, note: `${cmd} exited ${r.status}: ${String(r.stderr).split('\n')[0]}` };
  return { ms, ok: true, note: '' };
}

export async function run(): Promise<void> {
  const n = Number(process.env.TALON_BENCH_EVENTS ?? 200_000);
  const inputs = POLICIES.map((p) => ({ name: p, text: readFileSync(path.join(ROOT, p), 'utf8') }));
  const check = checkPolicies(inputs, { defaultNamespace: 'default' }, compile);
  if (check.image === null) throw new Error('bench policies do not compile');
  const dir = mkdtempSync(path.join(tmpdir(), 'talon-bench-'));
  console.log(`\n## dry-run throughput (${fmt(n)} events per input, policies: ${POLICIES.map((p) => path.basename(p)).join(', ')})\n`);
  console.log('| input | avg line | pipeline | method | events/s | vs talon pipeline |');
  console.log('|---|---|---|---|---:|---:|');
  try {
    for (const kprobeOnly of [false, true]) {
      const file = path.join(dir, kprobeOnly ? 'kprobe.jsonl' : 'mix.jsonl');
      writeFileSync(file, makeEvents(n, kprobeOnly).join('\n') + '\n');
      // read back as the CLI reads them (flat strings, one per line)
      const lines: string[] = [];
      for await (const b of lineBatches(createReadStream(file, { highWaterMark: 1 << 20 }))) for (const l of b.lines) lines.push(l);
      const avg = Math.round(lines.reduce((a, l) => a + l.length, 0) / n);
      const label = kprobeOnly ? 'kprobe events only' : 'example mix';
      const reps = 3;

      // talon, in process: line -> EvalEvent -> record -> evaluateEncoded -> JSON verdict line
      const ev = new Evaluator(check.image);
      const evaluate = fastEvaluate(ev);
      let verdicts = 0;
      const talonMs = best(reps, () => {
        const p = new DryRunPipeline(evaluate, { format: 'json' });
        for (let i = 0; i < n; i++) p.line(lines[i], i);
        verdicts = p.counts.kill;
      });
      const talon = rate(n, talonMs);
      // the slow, generic path for comparison: Evaluator.evaluate (value tree + verdict JSON)
      const slowN = Math.min(n, 50_000);
      const slowMs = best(1, () => {
        const p = new DryRunPipeline((e) => ev.evaluate(e), { format: 'json' });
        for (let i = 0; i < slowN; i++) p.line(lines[i], i);
      });
      const parseMs = best(reps, () => {
        for (let i = 0; i < n; i++) JSON.parse(lines[i]);
      });
      const cli = wall(process.execPath, [path.join(ROOT, 'bin/talon.js'), 'dry-run', '-e', file, ...POLICIES.flatMap((p) => ['-p', path.join(ROOT, p)])]);
      const jq = wall('jq', ['-c', JQ_FILTER, file]);
      const rows: [string, string, number | null, string][] = [
        ['talon dry-run pipeline (in process)', 'scan → EvalEvent → record → evaluateEncoded → JSON', talon, `${fmt(verdicts)} kills`],
        ['talon pipeline with Evaluator.evaluate', 'same, through the value tree', rate(slowN, slowMs), `${fmt(slowN)} events`],
        ['JSON.parse only (floor)', 'JSON.parse(line)', rate(n, parseMs), ''],
        [
          'talon dry-run CLI (end to end)',
          'node bin/talon.js dry-run -o json > /dev/null',
          cli.ok ? rate(n, cli.ms) : null,
          cli.note || 'incl. start-up, file read, output',
        ],
        ['jq (select the same events)', `jq -c '${JQ_FILTER}'`, jq.ok ? rate(n, jq.ms) : null, jq.note],
      ];
      for (const [name, method, r, note] of rows) {
        const ratio = r === null ? '–' : `${(r / talon).toFixed(2)}×`;
        const cell = `\`${method}\`${note ? ` (${note})` : ''}`.replace(/\|/g, '\\|');
        console.log(`| ${label} | ${avg} B | ${name} | ${cell} | ${r === null ? 'skipped' : fmt(r)} | ${ratio} |`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('\ntarget: talon dry-run pipeline >= 200,000 events/s on one core');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
