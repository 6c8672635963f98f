// Syscall cost of enforcement in the running kernel (root only), in one run:
//   (a) nothing attached,
//   (b) talon with the seed's file policy, scoped to a bench pod cgroup, the
//       loop inside that pod and on the host,
//   (c) bpftrace enforcing an equivalent rule scoped to the same cgroup.
// Loops are small C programs (bench/c/syscall_loop.c, built with cc into
// bench/c/.output/) timing getppid, pread and open+read+close of a temp file
// that no rule matches: the figures are the cost of evaluating a non-matching
// event. See bench/README.md for how to read them.
//
// Safety: every enforcing rule is scoped to a cgroup this bench created;
// everything (policy, programs, bpftrace, cgroup, temp files) is released in
// finally blocks, on SIGINT/SIGTERM and at exit.
//
// Run: npm run bench, or node dist/bench/kernel.bench.js (as root).
// Tuning: TALON_BENCH_ROUNDS (default 5), TALON_BENCH_ITERS (getppid
// iterations, default 1000000; pread uses half, open+read+close a fifth),
// TALON_BENCH_VERBOSE=1 (every round's figure), TALON_BENCH_PROCESS_SENSOR=1
// (also load the process sensor; see withProcessSensor below).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import YAML from 'yaml';
import type { Kernel, LoadedPolicy } from '../src/kernel/index.js';
import type { PolicySpec } from '../src/core/types.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const LOOP_SRC = path.join(ROOT, 'bench', 'c', 'syscall_loop.c');
const LOOP_BIN = path.join(ROOT, 'bench', 'c', '.output', 'syscall_loop');
const SEED = path.resolve(ROOT, '../shared/seeds/policies/file_monitoring_enforce.yaml');
const SEED_NET = path.resolve(ROOT, '../shared/seeds/policies/network_egress_cluster_enforce.yaml');
/** the "cluster" of the egress seed on this machine: loopback only */
const CLUSTER = { PODCIDR: '127.10.0.0/16', SERVICECIDR: '127.96.0.0/12' };
/** policies loaded at once in the scaling rows, each scoped to a pod of its own */
const SCALE = [1, 8, 32];
const EXAMPLE = path.join(ROOT, 'examples', 'file-monitoring-enforce.yaml');
const NAMESPACE = 'talon-bench';
const POLICY_ID = 1;
/** a file every rule here kills on read, for the "is the rule live" probe (in the bench pod only) */
const PROBE_FILE = '/etc/shadow';

type Op = 'getppid' | 'pread' | 'orc' | 'connect' | 'lseek';
const LOOPS: { op: Op; label: string; share: number }[] = [
  { op: 'getppid', label: 'getppid()', share: 1 },
  { op: 'pread', label: 'pread 64 B', share: 1 / 2 },
  { op: 'orc', label: 'open+read+close', share: 1 / 5 },
];
type CaseKey = 'none' | 'talonPod' | 'talonHost' | 'btPod' | 'btHost';
const CASES: { key: CaseKey; label: string }[] = [
  { key: 'none', label: '(a) nothing attached' },
  { key: 'talonPod', label: '(b) talon, loop in the pod' },
  { key: 'talonHost', label: '(b) talon, loop on the host' },
  { key: 'btPod', label: '(c) bpftrace, loop in the pod' },
  { key: 'btHost', label: '(c) bpftrace, loop on the host' },
];

const log = (s = '') => console.log(s);
/** progress goes to stderr, so stdout stays a clean markdown report */
const progress = (s: string) => process.stderr.write(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

// ---- everything that must be undone ----------------------------------------

class Session {
  kernel?: Kernel;
  bpftrace?: ChildProcess;
  cgroup?: string;
  /** the empty pods of the other policies in the scaling rows */
  readonly extraCgroups: string[] = [];
  tmp?: string;
  /** kernel.bpf_stats_enabled before the bench turned it on (restored at the end) */
  bpfStatsOld?: string | null;
  readonly children = new Set<ChildProcess>();

  /** synchronous, idempotent, never throws: usable from signal and exit handlers */
  cleanupSync(): void {
    for (const c of this.children) killChild(c, 'SIGKILL');
    this.children.clear();
    if (this.bpftrace) killChild(this.bpftrace, 'SIGKILL');
    this.bpftrace = undefined;
    this.closeKernel();
    if (this.cgroup) removeCgroup(this.cgroup);
    this.cgroup = undefined;
    for (const c of this.extraCgroups.splice(0)) removeCgroup(c);
    if (this.tmp) rmSync(this.tmp, { recursive: true, force: true });
    this.tmp = undefined;
    if (this.bpfStatsOld !== undefined) restoreBpfStats(this.bpfStatsOld);
    this.bpfStatsOld = undefined;
  }

  closeKernel(): void {
    try {
      this.kernel?.close();
    } catch (e) {
      console.error(`kernel bench: close: ${(e as Error).message}`);
    }
    this.kernel = undefined;
  }

  /** stops bpftrace as it expects (SIGINT), SIGKILL after 5 s */
  async stopBpftrace(): Promise<void> {
    const bt = this.bpftrace;
    if (!bt) return;
    this.bpftrace = undefined;
    if (bt.exitCode !== null || bt.signalCode !== null) return;
    const done = new Promise<void>((r) => bt.once('exit', () => r()));
    bt.kill('SIGINT');
    const t = setTimeout(() => killChild(bt, 'SIGKILL'), 5000);
    await done;
    clearTimeout(t);
  }
}

function killChild(c: ChildProcess, sig: NodeJS.Signals): void {
  try {
    if (c.exitCode === null && c.signalCode === null) c.kill(sig);
  } catch {
    /* gone */
  }
}

// ---- the bench pod cgroup ---------------------------------------------------

function cgroupRoot(): string | null {
  try {
    for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
      const f = line.split(' ');
      if (f[2] === 'cgroup2') return f[1];
    }
  } catch {
    /* no /proc */
  }
  return null;
}

/** kills what is left in it and removes it; never throws */
function removeCgroup(dir: string): void {
  try {
    if (existsSync(path.join(dir, 'cgroup.kill'))) writeFileSync(path.join(dir, 'cgroup.kill'), '1');
    else {
      for (const p of readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        process.kill(Number(p), 'SIGKILL');
      }
    }
  } catch {
    /* empty or gone */
  }
  for (let i = 0; i < 300; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      sleepSync(10);
    }
  }
  console.error(`kernel bench: could not remove ${dir}`);
}

/** bench cgroups left by a bench process that no longer exists (killed with SIGKILL) */
function removeStaleCgroups(root: string): void {
  for (const name of readdirSync(root)) {
    const m = /^talon-bench-(\d+)-/.exec(name);
    if (!m) continue;
    try {
      process.kill(Number(m[1]), 0);
      continue; // its bench is still running
    } catch {
      removeCgroup(path.join(root, name));
    }
  }
}

// ---- the loop programs ------------------------------------------------------

/** builds bench/c/syscall_loop when missing or older than its source; an error string when it cannot */
function buildLoop(): string | null {
  if (existsSync(LOOP_BIN) && statSync(LOOP_BIN).mtimeMs >= statSync(LOOP_SRC).mtimeMs) return null;
  mkdirSync(path.dirname(LOOP_BIN), { recursive: true });
  const r = spawnSync('cc', ['-O2', '-Wall', '-o', LOOP_BIN, LOOP_SRC], { encoding: 'utf8' });
  if (r.error) return `cc: ${r.error.message}`;
  if (r.status !== 0) return `cc ${LOOP_SRC} failed: ${r.stderr.trim()}`;
  return null;
}

interface LoopResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runLoop(s: Session, args: string[], timeoutMs = 120_000): Promise<LoopResult> {
  return new Promise((resolve) => {
    const c = spawn(LOOP_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    s.children.add(c);
    let stdout = '',
      stderr = '';
    c.stdout!.on('data', (d) => (stdout += d));
    c.stderr!.on('data', (d) => (stderr += d));
    const t = setTimeout(() => killChild(c, 'SIGKILL'), timeoutMs);
    c.on('close', (code, signal) => {
      clearTimeout(t);
      s.children.delete(c);
      resolve({ code, signal, stdout, stderr });
    });
    c.on('error', (e) => {
      clearTimeout(t);
      s.children.delete(c);
      resolve({ code: null, signal: null, stdout, stderr: `${stderr}${e.message}` });
    });
  });
}

/**
 * ns per call of one loop: its fastest chunk of 1/20 of the iterations.
 * Another process can only make a chunk slower (this machine is shared and
 * small), so the fastest chunk is the undisturbed cost. The loop joins the
 * pod cgroup first when inPod.
 */
async function measure(s: Session, op: Op, n: number, file: string, inPod: boolean, progs?: Progs): Promise<number> {
  const args = [op, String(n), file, ...(inPod ? [s.cgroup!] : [])];
  const before = progs?.sample();
  const r = await runLoop(s, args);
  if (progs && before) {
    const after = progs.sample();
    progs.last = { cnt: after.cnt - before.cnt, ns: after.ns - before.ns };
  }
  if (r.signal) {
    throw new Error(`loop ${op} ${inPod ? 'in the pod' : 'on the host'} died of ${r.signal}: a rule matched the bench's own file ${file}?`);
  }
  // "OP N MEDIAN MIN MEAN" (bench/c/syscall_loop.c)
  const m = /^\S+ \d+ [\d.]+ ([\d.]+) [\d.]+$/m.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`loop ${op} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return Number(m[1]);
}

// ---- the kernel's BPF statistics ---------------------------------------------

const BPF_STATS = '/proc/sys/kernel/bpf_stats_enabled';

/** turns kernel.bpf_stats_enabled on; returns the old value to restore, null when it cannot */
function enableBpfStats(): string | null {
  try {
    const old = readFileSync(BPF_STATS, 'utf8').trim();
    writeFileSync(BPF_STATS, '1');
    return old;
  } catch {
    return null;
  }
}

function restoreBpfStats(old: string | null): void {
  if (old === null) return;
  try {
    writeFileSync(BPF_STATS, old);
  } catch (e) {
    console.error(`kernel bench: restore ${BPF_STATS}: ${(e as Error).message}`);
  }
}

/** run count and run time summed over a set of programs */
interface ProgSample {
  cnt: number;
  ns: number;
}

/** every loaded program: id -> (run_cnt, run_time_ns), from bpftool prog show -j */
function bpftoolProgs(): Map<number, ProgSample> {
  const r = spawnSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const out = new Map<number, ProgSample>();
  if (r.status !== 0) return out;
  for (const p of JSON.parse(r.stdout) as { id: number; run_cnt?: number; run_time_ns?: number }[]) {
    out.set(p.id, { cnt: p.run_cnt ?? 0, ns: p.run_time_ns ?? 0 });
  }
  return out;
}

/** the sum over the given program ids */
function sampleIds(ids: number[]): ProgSample {
  const all = bpftoolProgs();
  const s = { cnt: 0, ns: 0 };
  for (const id of ids) {
    const x = all.get(id);
    if (!x) continue;
    s.cnt += x.cnt;
    s.ns += x.ns;
  }
  return s;
}

/** the programs of one case: how to sample them, and the last loop's difference */
interface Progs {
  sample(): ProgSample;
  last?: ProgSample;
}

/**
 * System-wide cycles (`perf stat -a`, Tetragon's own measure) need a PMU. A
 * guest without one counts nothing: say so instead of a row of zeros.
 * (Measuring it under the reader loop where supported is not done yet.)
 */
function perfCycles(): string {
  const r = spawnSync('perf', ['stat', '-x,', '-e', 'cycles', 'true'], { encoding: 'utf8' });
  if (r.error) return '- perf stat -a cycles: perf not installed (Debian linux-perf; scripts/bench.sh installs it)';
  const line = r.stderr.split('\n').find((l) => l.includes('cycles')) ?? r.stderr.trim();
  if (/not supported|not counted/.test(line) || r.status !== 0) {
    return `- perf stat -a cycles: not supported on this machine (\`perf stat -e cycles true\` gives "${line.trim()}": no PMU in this guest), no cycles row`;
  }
  return `- perf stat -a cycles: supported here ("${line.trim()}"), but the cycles row under a reader workload is not implemented yet`;
}

/** one run of the loop's `op` (an open+read of PROBE_FILE unless told): was the process killed? */
async function probeKilled(s: Session, inPod: boolean, op = 'probe', target = PROBE_FILE): Promise<boolean> {
  const r = await runLoop(s, [op, '1', target, ...(inPod ? [s.cgroup!] : [])], 10_000);
  if (r.signal === 'SIGKILL') return true;
  if (r.code !== 0) throw new Error(`${op} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return false;
}

/** the rule is live in the pod and does not reach the host */
async function checkScoped(s: Session, who: string): Promise<void> {
  if (!(await probeKilled(s, true))) throw new Error(`${who}: a read of ${PROBE_FILE} in the bench pod was not killed: the rule is not live`);
  if (await probeKilled(s, false)) throw new Error(`${who}: a read of ${PROBE_FILE} on the host was killed: the rule is not scoped to the pod`);
}

// ---- the policy -------------------------------------------------------------

interface Policy {
  source: string;
  spec: PolicySpec;
  /** security_file_permission Prefix values per mask (for the bpftrace rule) */
  readPrefixes: string[];
  writePrefixes: string[];
  postfixes: string[];
}

async function compilePolicy(): Promise<Policy> {
  const source = existsSync(SEED) ? SEED : EXAMPLE;
  const text = readFileSync(source, 'utf8');
  const docs = YAML.parseAllDocuments(text, { intAsBigInt: true }).map((d) => d.toJS({}));
  const core = await import('../src/core/index.js');
  const res = core.compile(docs, { defaultNamespace: NAMESPACE });
  if (!res.image) throw new Error(`the core refused ${source}: ${JSON.stringify(res.diagnostics)}`);
  const specs = core.inspectImage(res.image);
  if (specs.length !== 1) throw new Error(`${source}: expected one policy, got ${specs.length}`);
  if (!specs[0].filtered) throw new Error(`${source}: the policy is not namespaced; the bench only enforces on its own pod`);

  // the same paths, for the bpftrace rule
  const readPrefixes: string[] = [],
    writePrefixes: string[] = [],
    postfixes: string[] = [];
  interface Sel {
    matchArgs?: { index: number | bigint; operator: string; values: unknown[] }[];
  }
  const kprobes = (docs as { spec?: { kprobes?: { call: string; selectors?: Sel[] }[] } }[]).flatMap((d) => d?.spec?.kprobes ?? []);
  for (const kp of kprobes.filter((k) => k.call === 'security_file_permission')) {
    for (const sel of kp.selectors ?? []) {
      const a0 = sel.matchArgs?.find((a) => Number(a.index) === 0);
      const a1 = sel.matchArgs?.find((a) => Number(a.index) === 1 && a.operator === 'Equal');
      const mask = Number(a1?.values?.[0] ?? 0);
      const vals = (a0?.values ?? []).map(String);
      if (a0?.operator === 'Prefix') (mask === 2 ? writePrefixes : readPrefixes).push(...vals);
      else if (a0?.operator === 'Postfix') postfixes.push(...vals);
    }
  }
  return { source, spec: specs[0], readPrefixes, writePrefixes, postfixes };
}

// ---- bpftrace ---------------------------------------------------------------

/**
 * The bpftrace rule closest to the policy that bpftrace 0.17 can express here:
 * openat of a read-prefix path (not O_WRONLY) or a write-prefix path (not
 * O_RDONLY) is killed; a per-read check (comm compare) stands in for talon's
 * read hook, since a syscall tracepoint cannot map an fd to a path without
 * kfuncs. Each list is its own probe: one probe with both overflows the
 * verifier's complexity limit. Every probe is scoped by the pod's cgroup id.
 */
function bpftraceScript(cgid: bigint, p: Policy): string {
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  const block = (accCond: string, prefixes: string[]) =>
    prefixes.length
      ? `tracepoint:syscalls:sys_enter_openat\n/cgroup == ${cgid} && (args->flags & 3) ${accCond}/\n{\n  $p = str(args->filename);\n  if (${prefixes
          .map((v) => `strncmp($p, "${esc(v)}", ${Buffer.byteLength(v)}) == 0`)
          .join(' ||\n      ')}) {\n    signal("KILL");\n  }\n}\n`
      : '';
  return (
    block('!= 1', p.readPrefixes) +
    block('!= 0', p.writePrefixes) +
    `tracepoint:syscalls:sys_enter_read,tracepoint:syscalls:sys_enter_pread64\n/cgroup == ${cgid} && comm == "talon-nomatch"/\n{\n  signal("KILL");\n}\n`
  );
}

function bpftraceVersion(): string | null {
  const r = spawnSync('bpftrace', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * starts bpftrace; resolves once its rule kills a probe in the pod (and not on
 * the host), with the ids of its programs. `killed` is the liveness probe.
 */
async function startBpftrace(s: Session, script: string, killed = (inPod: boolean) => probeKilled(s, inPod)): Promise<number[]> {
  // its programs: those that appear while it starts (the kernel lock keeps other loaders away)
  const idsBefore = new Set(bpftoolProgs().keys());
  const file = path.join(s.tmp!, 'rule.bt');
  writeFileSync(file, script);
  // -c: bpftrace exits with its child, and this child exits with us, so even
  // a SIGKILLed bench leaves no bpftrace behind
  const tail = ['/usr/bin/tail', '/bin/tail'].find((t) => existsSync(t));
  const args = ['--unsafe', ...(tail ? ['-c', `${tail} --pid=${process.pid} -f /dev/null`] : []), file];
  const bt = spawn('bpftrace', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  s.bpftrace = bt;
  let out = '';
  bt.stdout!.on('data', (d) => (out += d));
  bt.stderr!.on('data', (d) => (out += d));
  const end = Date.now() + 90_000;
  for (;;) {
    if (bt.exitCode !== null || bt.signalCode !== null) throw new Error(`bpftrace exited (${bt.exitCode ?? bt.signalCode}): ${out.trim()}`);
    if (/Attaching \d+ probe/.test(out) && (await killed(true))) break;
    if (Date.now() > end) throw new Error(`bpftrace did not enforce within 90 s: ${out.trim()}`);
    await sleep(200);
  }
  if (await killed(false)) throw new Error('bpftrace: a probe on the host was killed: the rule is not scoped to the pod');
  return [...bpftoolProgs().keys()].filter((id) => !idsBefore.has(id));
}

// ---- figures ----------------------------------------------------------------

const median = (xs: number[]) => {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
};
const ns = (v: number) => Math.round(v).toLocaleString('en-US');
const signed = (v: number) => `${v >= 0 ? '+' : '-'}${ns(Math.abs(v))}`;

function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, Linux ${os.release()} (${os.arch()})`;
}

/** a markdown table, first column left, the others right-aligned */
function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(3, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(' | ')} |`;
  const rule = `|${w.map((n, i) => (i === 0 ? '-'.repeat(n + 2) : `${'-'.repeat(n + 1)}:`)).join('|')}|`;
  return [line(rows[0]), rule, ...rows.slice(1).map(line)].join('\n');
}

function report(results: Map<string, number[]>, rounds: number, haveBt: boolean, stats: Map<string, ProgSample[]> | null, iters: (op: Op) => number): void {
  const med = (k: CaseKey, op: Op) => {
    const xs = results.get(`${k}/${op}`);
    return xs?.length ? median(xs) : NaN;
  };
  // Δ: paired with the same round's case (a), then the median over rounds, so
  // a slow spell of the machine shifts a case and its baseline together
  const delta = (k: CaseKey, op: Op) => {
    const xs = results.get(`${k}/${op}`) ?? [],
      base = results.get(`none/${op}`) ?? [];
    return xs.length ? median(xs.map((x, i) => x - base[i])) : NaN;
  };
  const head = ['case', ...LOOPS.flatMap((l) => [`${l.label} ns/op`, 'Δ vs (a)'])];
  const rows = [head];
  for (const c of CASES) {
    if (!haveBt && c.key.startsWith('bt')) continue;
    const r = [c.label];
    for (const l of LOOPS) {
      r.push(ns(med(c.key, l.op)), c.key === 'none' ? '' : signed(delta(c.key, l.op)));
    }
    rows.push(r);
  }
  log(
    `\nns per call (fastest 1/20 chunk of each loop run, median of ${rounds} round${rounds > 1 ? 's' : ''}; lower is better); Δ: minus case (a) of the same loop and round, median\n`,
  );
  log(table(rows));

  // spread: how much the rounds of one case disagree
  let spread = 0;
  for (const [, xs] of results) if (xs.length > 1) spread = Math.max(spread, (Math.max(...xs) - Math.min(...xs)) / median(xs));
  if (rounds > 1) log(`\nlargest spread between the rounds of one case: ${(spread * 100).toFixed(0)}% of its median`);
  if (process.env.TALON_BENCH_VERBOSE) {
    log('');
    for (const c of CASES) {
      const per = LOOPS.map((l) => `${l.op} ${(results.get(`${c.key}/${l.op}`) ?? []).map(ns).join(' ')}`);
      if (results.has(`${c.key}/getppid`)) log(`- rounds of ${c.label}: ${per.join('; ')}`);
    }
  }

  if (!haveBt) return;
  const rrows = [['talon / bpftrace', ...LOOPS.map((l) => l.label)]];
  for (const [label, t, b] of [
    ['ns/op, loop in the pod', 'talonPod', 'btPod'],
    ['overhead (Δ), loop in the pod', 'talonPod', 'btPod'],
    ['ns/op, loop on the host', 'talonHost', 'btHost'],
    ['overhead (Δ), loop on the host', 'talonHost', 'btHost'],
  ] as [string, CaseKey, CaseKey][]) {
    const r = [label];
    for (const l of LOOPS) {
      const over = label.startsWith('overhead');
      const tv = over ? delta(t, l.op) : med(t, l.op),
        bv = over ? delta(b, l.op) : med(b, l.op);
      // a ratio of deltas lost in the noise means nothing
      if (over && Math.abs(bv) < Math.max(5, med('none', l.op) * 0.03)) r.push('n/a (Δ≈0)');
      else r.push(`${(tv / bv).toFixed(2)}x`);
    }
    rrows.push(r);
  }
  log('\ntalon / bpftrace (below 1: talon is cheaper)\n');
  log(table(rrows));
  if (stats) reportStats(stats, haveBt, iters);
}

/**
 * The kernel's own account (kernel.bpf_stats_enabled): time in the case's BPF
 * programs per loop iteration and per program run, median over the rounds.
 * Unlike the wall-clock figures, these do not move with the machine's load.
 */
function reportStats(stats: Map<string, ProgSample[]>, haveBt: boolean, iters: (op: Op) => number): void {
  const perIter = (k: CaseKey, op: Op) => {
    const xs = stats.get(`${k}/${op}`) ?? [];
    return xs.length ? median(xs.map((x) => x.ns / iters(op))) : NaN;
  };
  const perRun = (k: CaseKey, op: Op) => {
    const xs = (stats.get(`${k}/${op}`) ?? []).filter((x) => x.cnt > 0);
    return xs.length ? median(xs.map((x) => x.ns / x.cnt)) : NaN;
  };
  const runsPerIter = (k: CaseKey, op: Op) => {
    const xs = stats.get(`${k}/${op}`) ?? [];
    return xs.length ? median(xs.map((x) => x.cnt / iters(op))) : NaN;
  };
  const fmt = (v: number) => (Number.isFinite(v) ? ns(v) : '-');
  const rows = [['case', ...LOOPS.flatMap((l) => [`${l.label} BPF ns/iter`, 'runs/iter', 'ns/run'])]];
  for (const c of CASES) {
    if (c.key === 'none' || (!haveBt && c.key.startsWith('bt'))) continue;
    rows.push([c.label, ...LOOPS.flatMap((l) => [fmt(perIter(c.key, l.op)), runsPerIter(c.key, l.op).toFixed(2), fmt(perRun(c.key, l.op))])]);
  }
  log("\ntime in BPF programs (kernel.bpf_stats_enabled: run_time_ns and run_cnt of the case's programs over each loop run), median of the rounds\n");
  log(table(rows));
  if (!haveBt) return;
  const rr = [['talon / bpftrace, BPF ns/iter', ...LOOPS.map((l) => l.label)]];
  for (const [label, t, b] of [
    ['loop in the pod', 'talonPod', 'btPod'],
    ['loop on the host', 'talonHost', 'btHost'],
  ] as [string, CaseKey, CaseKey][]) {
    rr.push([label, ...LOOPS.map((l) => (perIter(b, l.op) >= 5 ? `${(perIter(t, l.op) / perIter(b, l.op)).toFixed(2)}x` : 'n/a (no hook runs)'))]);
  }
  log('');
  log(table(rr));
}

// ---- more policies, the kill path, egress -----------------------------------

type KernelClass = typeof import('../src/kernel/index.js').Kernel;

/** run count and time of a policy's programs (the shared ones: every policy's) */
function policyProgs(k: Kernel, p: LoadedPolicy): Progs {
  return {
    sample: () => {
      const x = { cnt: 0, ns: 0 };
      for (const pr of p.programs()) {
        const i = k.shim.progInfo(pr.fd);
        x.cnt += i.runCnt;
        x.ns += i.runTimeNs;
      }
      return x;
    },
  };
}

/** the egress seed, its cluster CIDRs on loopback */
async function compileNet(): Promise<PolicySpec | null> {
  if (!existsSync(SEED_NET)) return null;
  const text = readFileSync(SEED_NET, 'utf8').replace(/\$\{(PODCIDR|SERVICECIDR)\}/g, (_, v: keyof typeof CLUSTER) => CLUSTER[v]);
  const docs = YAML.parseAllDocuments(text, { intAsBigInt: true }).map((d) => d.toJS({}));
  const core = await import('../src/core/index.js');
  const res = core.compile(docs, { defaultNamespace: NAMESPACE });
  if (!res.image) throw new Error(`the core refused ${SEED_NET}: ${JSON.stringify(res.diagnostics)}`);
  return core.inspectImage(res.image)[0];
}

/**
 * The read cost with 1, 8 and 32 copies of the seed file policy loaded, each
 * scoped to a pod of its own (the bench pod and empty ones), all on the same
 * hooks; then the kill path (reads its Sigkill selectors match) and the egress
 * seed on a connect loop. pread only (the read hook runs on every call).
 */
async function scaling(s: Session, K: KernelClass, policy: Policy, cgid: bigint, file: string, rounds: number, iters: number): Promise<void> {
  const root = cgroupRoot()!;
  const extra: bigint[] = [];
  for (let i = 1; i < Math.max(...SCALE); i++) {
    const dir = path.join(root, `talon-bench-${process.pid}-x${i}`);
    mkdirSync(dir);
    s.extraCgroups.push(dir);
    extra.push(BigInt(statSync(dir, { bigint: true }).ino));
  }
  const n = Math.round(iters / 2);
  const rows: Record<number, { pod: number[]; host: number[]; podB: number[]; hostB: number[] }> = {};
  let memory: number[] = [];
  const kill = { killed: 0, allowed: 0 };
  progress('scaling:');
  try {
    const k = (s.kernel = await K.open({ processSensor: false }));
    k.addPodCgroups([cgid, ...extra]);
    const loaded: LoadedPolicy[] = [];
    for (const N of SCALE) {
      progress(` ${N}`);
      while (loaded.length < N) {
        const i = loaded.length;
        const p = k.loadPolicy(policy.spec, 100 + i);
        p.setFilterCgroups([i === 0 ? cgid : extra[i - 1]], []);
        loaded.push(p);
      }
      await checkScoped(s, `talon with ${N} policies`);
      const progs = policyProgs(k, loaded[0]);
      const r = (rows[N] = { pod: [] as number[], host: [] as number[], podB: [] as number[], hostB: [] as number[] });
      for (let i = 0; i < rounds; i++) {
        const base = await measure(s, 'pread', n, file, false);
        r.pod.push((await measure(s, 'pread', n, file, true, progs)) - base);
        r.podB.push(progs.last!.ns / n);
        r.host.push((await measure(s, 'pread', n, file, false, progs)) - base);
        r.hostB.push(progs.last!.ns / n);
      }
    }
    memory = loaded.map((p) => p.mapBytes());
    // the kill path, with every policy loaded: one read per probe process
    const progs = policyProgs(k, loaded[0]);
    const PROBES = 20;
    let b = progs.sample();
    for (let i = 0; i < PROBES; i++) if (!(await probeKilled(s, true))) throw new Error('kill path: a probe in the pod was not killed');
    let a = progs.sample();
    kill.killed = (a.ns - b.ns) / PROBES;
    b = a;
    for (let i = 0; i < PROBES; i++) {
      const r = await runLoop(s, ['probe', '1', file, s.cgroup!], 10_000);
      if (r.code !== 0) throw new Error(`kill path: a probe of the bench file failed (${r.code ?? r.signal})`);
    }
    a = progs.sample();
    kill.allowed = (a.ns - b.ns) / PROBES;
  } finally {
    s.closeKernel();
  }
  progress('\n');
  const med = (xs: number[]) => (xs.length ? median(xs) : NaN);
  const t = [['policies loaded', 'pread Δ in the pod', 'BPF ns/iter', 'pread Δ on the host', 'BPF ns/iter']];
  for (const N of SCALE) {
    const r = rows[N];
    t.push([String(N), signed(med(r.pod)), ns(med(r.podB)), signed(med(r.host)), ns(med(r.hostB))]);
  }
  const ratio = (f: (r: (typeof rows)[number]) => number[]) => (med(f(rows[32])) / med(f(rows[1]))).toFixed(2);
  t.push(['ratio 32 / 1', `${ratio((r) => r.pod)}x`, `${ratio((r) => r.podB)}x`, `${ratio((r) => r.host)}x`, `${ratio((r) => r.hostB)}x`]);
  log(
    `\nflat in the number of policies: the seed file policy loaded ${SCALE.join(', ')} times, each copy scoped to a pod of its own (the bench pod, empty ones), same hooks; pread 64 B x${n.toLocaleString('en-US')}, Δ vs nothing attached in the same round, median of ${rounds}\n`,
  );
  log(table(t));
  log(
    `\n- kernel memory per policy (tp list's figure: its own maps): ${[...new Set(memory)].map((m) => `${(m / 1024).toFixed(1)} KiB`).join(', ')}, with ${os.cpus().length} CPUs`,
  );
  log(
    `- kill path (32 policies loaded): BPF time per probe process (open + one read) whose read the Sigkill selector matches: ${ns(kill.killed)} ns; the same probe of a file no rule matches: ${ns(kill.allowed)} ns`,
  );

  // egress: the seed's NotDAddr policy on connects to a refusing 127.0.0.1 port (inside the "cluster": no match)
  const net = await compileNet();
  if (!net) {
    log(`- egress: ${SEED_NET} not found, no row`);
    return;
  }
  const cn = Math.max(1000, Math.round(iters / 50));
  const e = { none: [] as number[], pod: [] as number[], bpf: [] as number[] };
  for (let i = 0; i < rounds; i++) e.none.push(await measure(s, 'connect', cn, file, true));
  try {
    const k = (s.kernel = await K.open({ processSensor: false }));
    k.addPodCgroups([cgid]);
    const p = k.loadPolicy(net, 200);
    p.setFilterCgroups([cgid], []);
    const progs = policyProgs(k, p);
    for (let i = 0; i < rounds; i++) {
      e.pod.push(await measure(s, 'connect', cn, file, true, progs));
      e.bpf.push(progs.last!.ns / cn);
    }
  } finally {
    s.closeKernel();
  }
  log(
    `- egress (${net.name}, cgroup connect4 shared program): socket + connect to a refusing 127.0.0.1 port + close x${cn.toLocaleString('en-US')} in the pod: ${ns(med(e.pod))} ns/op vs ${ns(med(e.none))} ns/op with nothing attached (measured first, same pod); BPF ${ns(med(e.bpf))} ns/iter`,
  );
}

/** Tetragon's lseek test policy in its syscall-kprobe form: Sigkill on lseek(-1), the bench pod only */
const LSEEK_POLICY = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: bench-sys-lseek
  namespace: ${NAMESPACE}
spec:
  kprobes:
  - call: sys_lseek
    syscall: true
    args:
    - index: 0
      type: int
    selectors:
    - matchArgs:
      - index: 0
        operator: Equal
        values: ["-1"]
      matchActions:
      - action: Sigkill
`;

/** one lseek(-1): was the process killed? */
const lseekKilled = (s: Session, inPod: boolean) => probeKilled(s, inPod, 'lseekbad', '/dev/null');

/**
 * A syscall kprobe (call: sys_lseek, served by the syscalls/sys_enter_lseek tracepoint
 * here) against bpftrace's rule on the same tracepoint: the cost on the hooked syscall
 * (lseek of a good fd: the selector does not match) and on an unrelated one (getppid),
 * in the pod, Δ against nothing attached in the same round.
 */
async function syscallKprobe(s: Session, K: KernelClass, cgid: bigint, file: string, rounds: number, iters: number, haveBt: boolean): Promise<void> {
  const core = await import('../src/core/index.js');
  const docs = YAML.parseAllDocuments(LSEEK_POLICY, { intAsBigInt: true }).map((d) => d.toJS({}));
  const res = core.compile(docs, { defaultNamespace: NAMESPACE });
  if (!res.image) throw new Error(`the core refused the lseek policy: ${JSON.stringify(res.diagnostics)}`);
  const spec = core.inspectImage(res.image)[0];
  const n = Math.round(iters / 2);
  const ops: Op[] = ['lseek', 'getppid'];
  const rows = new Map<string, number[]>();
  const add = (k: string, v: number) => rows.set(k, [...(rows.get(k) ?? []), v]);
  progress('syscall kprobe:');
  let sensors = '';
  for (let r = 0; r < rounds; r++) {
    progress(` ${r + 1}`);
    const base = new Map<Op, number>();
    for (const op of ops) base.set(op, await measure(s, op, n, file, true));
    try {
      const k = (s.kernel = await K.open({ processSensor: false }));
      k.addPodCgroups([cgid]);
      const p = k.loadPolicy(spec, 300);
      p.setFilterCgroups([cgid], []);
      sensors = p.sensors.join(', ');
      if (!(await lseekKilled(s, true))) throw new Error('talon: lseek(-1) in the pod was not killed: the rule is not live');
      if (await lseekKilled(s, false)) throw new Error('talon: lseek(-1) on the host was killed: the rule is not scoped');
      const progs = policyProgs(k, p);
      for (const op of ops) {
        add(`talon/${op}`, (await measure(s, op, n, file, true, progs)) - base.get(op)!);
        add(`talonBpf/${op}`, progs.last!.ns / n);
      }
    } finally {
      s.closeKernel();
    }
    if (haveBt) {
      try {
        const script = `tracepoint:syscalls:sys_enter_lseek\n/cgroup == ${cgid} && (int32)args->fd == -1/\n{\n  signal("KILL");\n}\n`;
        const ids = await startBpftrace(s, script, (inPod) => lseekKilled(s, inPod));
        const progs: Progs = { sample: () => sampleIds(ids) };
        for (const op of ops) {
          add(`bt/${op}`, (await measure(s, op, n, file, true, progs)) - base.get(op)!);
          add(`btBpf/${op}`, progs.last!.ns / n);
        }
      } finally {
        await s.stopBpftrace();
      }
    }
  }
  progress('\n');
  const med = (k: string) => (rows.has(k) ? median(rows.get(k)!) : NaN);
  const t = [['loop in the pod', 'talon Δ', 'talon BPF ns/iter', 'bpftrace Δ', 'bpftrace BPF ns/iter', 'BPF time talon / bpftrace']];
  for (const op of ops) {
    const label = op === 'lseek' ? 'lseek(fd, 0, SEEK_SET) (the hooked syscall, no match)' : 'getppid() (an unrelated syscall)';
    const bt = haveBt ? [signed(med(`bt/${op}`)), ns(med(`btBpf/${op}`))] : ['–', '–'];
    const ratio = !haveBt
      ? '–'
      : med(`btBpf/${op}`) > 0
        ? `${(med(`talonBpf/${op}`) / med(`btBpf/${op}`)).toFixed(2)}x`
        : med(`talonBpf/${op}`) > 0
          ? 'bpftrace 0'
          : 'n/a (no hook runs)';
    t.push([label, signed(med(`talon/${op}`)), ns(med(`talonBpf/${op}`)), ...bt, ratio]);
  }
  log(
    `\nsyscall kprobe: Tetragon's lseek policy as \`call: sys_lseek, syscall: true\` (Sigkill on fd -1; sensors ${sensors}), vs bpftrace \`tracepoint:syscalls:sys_enter_lseek /cgroup == X && (int32)args->fd == -1/ { signal("KILL") }\`; x${n.toLocaleString('en-US')} per loop, median of ${rounds}\n`,
  );
  log(table(t));
}

// ---- the bench --------------------------------------------------------------

function skipReason(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root (loading BPF programs)';
  if (!existsSync(path.join(ROOT, 'shim', 'build', 'Release', 'tln_shim.node'))) return 'native shim not built (bash scripts/setup.sh)';
  if (!existsSync(path.join(ROOT, 'bpf', '.output', 'tln_file.bpf.o'))) return 'BPF objects not built (bash scripts/setup.sh)';
  if (!cgroupRoot()) return 'no cgroup v2 hierarchy mounted';
  return null;
}

export async function run(): Promise<void> {
  log('\n## syscall cost of enforcement in the running kernel: talon vs bpftrace\n');
  const skip = skipReason();
  if (skip) {
    log(`kernel bench skipped: ${skip}`);
    return;
  }
  const buildErr = buildLoop();
  if (buildErr) {
    log(`kernel bench skipped: cannot build the loop program: ${buildErr}`);
    return;
  }
  let policy: Policy;
  try {
    policy = await compilePolicy();
  } catch (e) {
    log(`kernel bench skipped: ${(e as Error).message}`);
    return;
  }
  const rounds = Math.max(1, Number(process.env.TALON_BENCH_ROUNDS) || 5);
  const iters = Math.max(1000, Number(process.env.TALON_BENCH_ITERS) || 1_000_000);
  const btVersion = bpftraceVersion();
  // The process sensor (tp_btf exec/fork/exit) is not on the path of the timed
  // syscalls, and with it Kernel.close() can hang: the shim joins its
  // ring-buffer thread while that thread is blocked on a full queue of exec
  // records of the machine's other processes. Off unless asked for.
  const withProcessSensor = process.env.TALON_BENCH_PROCESS_SENSOR === '1';

  const s = new Session();
  const onSignal = (sig: NodeJS.Signals) => {
    console.error(`\nkernel bench: ${sig}, cleaning up`);
    s.cleanupSync();
    process.exit(130);
  };
  const onExit = () => s.cleanupSync();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', onExit);
  try {
    // the kernel's program statistics for every case (restored in cleanupSync)
    s.bpfStatsOld = enableBpfStats();
    const root = cgroupRoot()!;
    removeStaleCgroups(root);
    s.tmp = mkdtempSync(path.join(os.tmpdir(), 'talon-bench-'));
    const file = path.join(s.tmp, 'data');
    writeFileSync(file, 'x'.repeat(64));
    const cg = path.join(root, `talon-bench-${process.pid}-${Date.now() % 100000}`);
    mkdirSync(cg);
    s.cgroup = cg;
    const cgid = BigInt(statSync(cg, { bigint: true }).ino);

    log(`- machine: ${machine()}`);
    log(
      `- talon: ${policy.spec.name} from ${path.relative(process.cwd(), policy.source) || policy.source}, hooks ${policy.spec.hooks.map((h) => h.name).join(', ')}, scoped to ${cg} (cgroup id ${cgid})`,
    );
    log(
      btVersion
        ? `- bpftrace: ${btVersion} --unsafe, sys_enter_openat x2 (${policy.readPrefixes.length} read + ${policy.writePrefixes.length} write path prefixes, open flags), sys_enter_read/pread64 (comm compare), all /cgroup == ${cgid}/; the ${policy.postfixes.length} Postfix paths are not expressible`
        : '- bpftrace: not installed, case (c) skipped',
    );
    const counts = LOOPS.map((l) => `${l.label} x${Math.round(iters * l.share).toLocaleString('en-US')}`).join(', ');
    log(`- loops (bench/c/syscall_loop.c): ${counts}, on ${file} (matched by no rule); ${rounds} round${rounds > 1 ? 's' : ''} of (a), (b), (c)`);

    const { Kernel } = await import('../src/kernel/index.js');
    const results = new Map<string, number[]>();
    const add = (k: CaseKey, op: Op, v: number) => {
      const key = `${k}/${op}`;
      if (!results.has(key)) results.set(key, []);
      results.get(key)!.push(v);
    };
    const n = (share: number) => Math.round(iters * share);
    const stats = s.bpfStatsOld === null ? null : new Map<string, ProgSample[]>();
    /** measures one loop, and the time its run spent in `progs` */
    const timed = async (k: CaseKey, op: Op, share: number, inPod: boolean, progs: Progs) => {
      add(k, op, await measure(s, op, n(share), file, inPod, progs));
      if (stats && progs.last) {
        const key = `${k}/${op}`;
        if (!stats.has(key)) stats.set(key, []);
        stats.get(key)!.push(progs.last);
      }
    };
    let memory = 0,
      sensors = '';

    for (let r = 0; r < rounds; r++) {
      progress(`round ${r + 1}/${rounds}: (a)`);
      for (const l of LOOPS) add('none', l.op, await measure(s, l.op, n(l.share), file, false));

      progress(' (b)');
      try {
        const k = (s.kernel = await Kernel.open({ processSensor: withProcessSensor }));
        k.addPodCgroups([cgid]);
        const p = k.loadPolicy(policy.spec, POLICY_ID);
        p.setFilterCgroups([cgid], []);
        memory = p.memoryBytes();
        sensors = p.sensors.join(', ');
        await checkScoped(s, 'talon');
        const progs: Progs = {
          sample: () => {
            const x = { cnt: 0, ns: 0 };
            for (const pr of p.programs()) {
              const i = k.shim.progInfo(pr.fd);
              x.cnt += i.runCnt;
              x.ns += i.runTimeNs;
            }
            return x;
          },
        };
        for (const l of LOOPS) {
          await timed('talonPod', l.op, l.share, true, progs);
          await timed('talonHost', l.op, l.share, false, progs);
        }
        const st = p.stats();
        const enforced = st.reduce((a, x) => a + x.enforce, 0n);
        if (enforced !== 1n) throw new Error(`talon: expected exactly 1 enforcement (the probe), counted ${enforced}`);
      } finally {
        s.closeKernel();
      }

      if (btVersion) {
        progress(' (c)');
        try {
          const ids = await startBpftrace(s, bpftraceScript(cgid, policy));
          const progs: Progs = { sample: () => sampleIds(ids) };
          for (const l of LOOPS) {
            await timed('btPod', l.op, l.share, true, progs);
            await timed('btHost', l.op, l.share, false, progs);
          }
        } finally {
          await s.stopBpftrace();
        }
      }
      progress('\n');
    }
    log(
      `- talon policy in the kernel: sensors ${sensors}${withProcessSensor ? ', with' : ', without'} the process sensor, kernel memory ${(memory / 1024).toFixed(0)} KiB (maps + programs, shared maps excluded)`,
    );
    if (stats)
      log(
        `- kernel.bpf_stats_enabled=1 during every case (restored to ${s.bpfStatsOld} after): each program run also pays two clock reads, in talon's and bpftrace's figures alike`,
      );
    else log(`- ${BPF_STATS} not writable: no BPF program times`);
    report(results, rounds, !!btVersion, stats, (op) => n(LOOPS.find((l) => l.op === op)!.share));
    await scaling(s, Kernel, policy, cgid, file, rounds, iters);
    await syscallKprobe(s, Kernel, cgid, file, rounds, iters, !!btVersion);
    log(perfCycles());
  } catch (e) {
    // a feature this kernel lacks is a skip, anything else a failure
    if ((e as Error).name === 'NotSupportedError') log(`\nkernel bench skipped: ${(e as Error).message}`);
    else {
      log(`\nkernel bench failed: ${(e as Error).message}`);
      process.exitCode = 1;
    }
  } finally {
    await s.stopBpftrace();
    s.cleanupSync();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('exit', onExit);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
