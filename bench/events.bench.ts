// Events from the kernel's ring buffer through a running agent to one
// `talon getevents -o json` subscriber (issue 9, target 6: at least 200,000
// events/s with 0 lost; past that, losses counted, never silent).
//
// A real agent, a pod, a policy that posts every read (no action) of this
// bench's file by that pod, and bursts of one-byte reads (`dd bs=1` run with
// `talon exec` in the pod): each read is one kernel record and one event. The
// subscriber's events/s is what it received between its first and its last
// event of the burst; losses are the agent's own counts (status: the kernel
// ring buffer, the subscriber) and the events that did not arrive.
//
// Safety: the pod's cgroup is under a parent of this bench's own
// (TALON_CGROUP_PARENT); the agent, the pod, getevents and the temp dir are
// removed in finally blocks and at exit.
//
// Run: npm run bench -- events (as root).  TALON_BENCH_EVENT_BURSTS=50000,200000
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pinDirFor, removePins } from '../src/kernel/pins.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin', 'talon.js');
const NS = `evbench-${process.pid}`;
// "N": one dd of N reads; "N/K": K dd runs of N/K reads each, 100 ms apart (a paced load: the
// rate the pipeline sustains without loss)
const BURSTS = (process.env.TALON_BENCH_EVENT_BURSTS ?? '40000/20,20000,100000,300000').split(',').map((b) => {
  const [n, k] = b.split('/').map(Number);
  return { n, k: k || 1, label: k ? `${n.toLocaleString('en-US')} in ${k} runs 100 ms apart` : n.toLocaleString('en-US') };
});

const log = (s = '') => console.log(s);
const progress = (s: string) => process.stderr.write(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// status -o json, read field by field
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

/** user + system CPU of a process in clock ticks (/proc/PID/stat fields 14 and 15) */
function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
}
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function skipReason(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root (an agent)';
  if (!existsSync(path.join(ROOT, 'shim', 'build', 'Release', 'tln_shim.node'))) return 'native shim not built (bash scripts/build-native.sh)';
  if (!existsSync('/bin/dd') && !existsSync('/usr/bin/dd')) return 'no dd';
  return null;
}

interface Run {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

function start(args: string[], env: NodeJS.ProcessEnv, keepOut = true): Run {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '',
    err = '';
  if (keepOut) child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err = (err + d).slice(-20000)));
  const exited = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  return { child, out: () => out, err: () => err, exited };
}

async function talon(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = start(args, env);
  const code = await r.exited;
  return { code, stdout: r.out(), stderr: r.err() };
}

async function waitFor(f: () => boolean | Promise<boolean>, ms: number, every = 50): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return true;
    await sleep(every);
  }
  return false;
}

/** the subscriber: counts its event lines and loss notices as they arrive, with the times of the first and last */
class Subscriber {
  readonly run: Run;
  events = 0;
  notices = 0;
  first = 0;
  last = 0;
  private tail = '';
  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.run = start(['getevents', '-o', 'json', ...args], env, false);
    this.run.child.stdout!.setEncoding('utf8');
    this.run.child.stdout!.on('data', (d: string) => {
      const now = performance.now();
      const text = this.tail + d;
      const end = text.lastIndexOf('\n');
      this.tail = text.slice(end + 1);
      if (end < 0) return;
      let lines = 0;
      for (let i = text.indexOf('\n'); i >= 0 && i <= end; i = text.indexOf('\n', i + 1)) lines++;
      let notices = 0;
      for (let i = text.indexOf('rate_limit_info'); i >= 0 && i <= end; i = text.indexOf('rate_limit_info', i + 1)) notices++;
      if (!this.first) this.first = now;
      this.last = now;
      this.events += lines - notices;
      this.notices += notices;
    });
  }
}

export async function run(): Promise<void> {
  log('\n## events/s: kernel ring buffer -> agent -> one getevents subscriber\n');
  const skip = skipReason();
  if (skip) {
    log(`events bench skipped: ${skip}`);
    return;
  }
  const t = mkdtempSync(path.join(os.tmpdir(), 'talon-evbench-'));
  const parent = `talon-bench-ev-${process.pid}`;
  const env = { ...process.env, TALON_CGROUP_PARENT: parent };
  const A = ['--server-address', `unix://${path.join(t, 'talon.sock')}`];
  let agent: Run | null = null;
  let sub: Subscriber | null = null;
  let podAdded = false;
  const state = path.join(t, 'state');
  // a killed agent leaves its links pinned (as after a crash): they go with this run
  const cleanup = () => {
    sub?.run.child.kill('SIGKILL');
    agent?.child.kill('SIGKILL');
    removePins(pinDirFor(state));
    rmSync(t, { recursive: true, force: true });
  };
  process.once('exit', cleanup);
  try {
    agent = start(['agent', '--state-dir', state, ...A], env);
    const a = agent;
    let exited = false;
    void a.exited.then(() => (exited = true));
    if (!(await waitFor(() => exited || /ready:/.test(a.err()), 60_000)) || exited) throw new Error(`agent did not start: ${a.err().slice(-2000)}`);
    let r = await talon(['pod', 'add', `${NS}/burst`, '--label', 'app=burst', ...A], env);
    if (r.code !== 0) throw new Error(`pod add: ${r.stderr}`);
    podAdded = true;
    const policy = path.join(t, 'p.yaml');
    const prefix = path.join(t, 'burst-');
    writeFileSync(
      policy,
      [
        'apiVersion: cilium.io/v1alpha1',
        'kind: TracingPolicyNamespaced',
        'metadata:',
        '  name: evbench',
        `  namespace: ${NS}`,
        'spec:',
        '  podSelector:',
        '    matchLabels:',
        '      app: burst',
        '  kprobes:',
        '  - call: security_file_permission',
        '    syscall: false',
        '    args:',
        '    - index: 0',
        '      type: file',
        '    - index: 1',
        '      type: int',
        '    selectors:',
        '    - matchArgs:',
        '      - index: 0',
        '        operator: Prefix',
        `        values: ["${prefix}"]`,
        '      - index: 1',
        '        operator: Equal',
        '        values: ["4"]',
        '',
      ].join('\n'),
    );
    r = await talon(['tp', 'add', policy, ...A], env);
    if (r.code !== 0) throw new Error(`tp add: ${r.stderr}`);
    const file = `${prefix}file`;
    writeFileSync(file, Buffer.alloc(Math.max(...BURSTS.map((b) => b.n)), 120));
    const status = async (): Promise<Json> => {
      const s = await talon(['status', '-o', 'json', ...A], env);
      if (s.code !== 0) throw new Error(`status: ${s.stderr}`);
      return JSON.parse(s.stdout) as Json;
    };
    const rows = [
      [
        'burst (reads)',
        'dd reads/s',
        'agent records/s',
        'received',
        'events/s at the subscriber',
        'lost: ring buffer',
        'lost: subscriber (told)',
        'burst - received - lost',
        'agent CPU µs/record',
      ],
    ];
    for (const { n, k, label } of BURSTS) {
      progress(`events: burst ${label}\n`);
      const before = await status();
      const cpu0 = cpuTicks(a.child.pid!);
      const s = (sub = new Subscriber(['--pods', 'burst', ...A], env));
      if (!(await waitFor(async () => (await status()).events.subscribers > before.events.subscribers, 15_000))) throw new Error('getevents did not subscribe');
      const t0 = performance.now();
      const dd = `dd if=${file} of=/dev/null bs=1 count=${Math.floor(n / k)} 2>/dev/null`;
      const cmd =
        k === 1
          ? ['dd', `if=${file}`, 'of=/dev/null', 'bs=1', `count=${n}`]
          : ['sh', '-c', `i=0; while [ $i -lt ${k} ]; do ${dd}; sleep 0.1; i=$((i+1)); done`];
      r = await talon(['exec', '-n', NS, 'burst', ...A, '--', ...cmd], env);
      const ddMs = performance.now() - t0;
      if (r.code !== 0) throw new Error(`dd: ${r.stderr}`);
      // the end: the agent has judged every record for this subscriber (sent or lost: its
      // counts stand still) and no new line arrived meanwhile
      let after: Json = before;
      let mine: Json = { sent: 0, lost: 0 };
      const counts = (st: Json): Json => ((st.events.subscriberCounts ?? []) as Json[]).at(-1) ?? { sent: 0, lost: 0 };
      // the agent's own rate: its hook records over the time until they stopped growing
      let hooksAt = performance.now(),
        hooks = Number(before.events.hooks);
      for (let seen = ''; ;) {
        await sleep(500);
        after = await status();
        mine = counts(after);
        if (Number(after.events.hooks) !== hooks) {
          hooks = Number(after.events.hooks);
          hooksAt = performance.now();
        }
        const now = `${after.events.hooks} ${mine.sent} ${mine.lost} ${s.events} ${s.notices}`;
        if (now === seen) break;
        seen = now;
      }
      const cpuUs = ((cpuTicks(a.child.pid!) - cpu0) * 1e6) / CLK_TCK / Math.max(1, Number(after.events.records) - Number(before.events.records));
      const agentRate = ((hooks - Number(before.events.hooks)) / (hooksAt - t0)) * 1000;
      const ring = Number(after.events.losses.ringbuf) - Number(before.events.losses.ringbuf);
      const rate = s.last > s.first ? (s.events / (s.last - s.first)) * 1000 : NaN;
      // dd's time includes the exec and dd's own start: its read rate is a lower bound
      rows.push([
        label,
        Math.round((n / ddMs) * 1000).toLocaleString('en-US'),
        `≥ ${Math.round(agentRate).toLocaleString('en-US')}`,
        s.events.toLocaleString('en-US'),
        Number.isFinite(rate) ? Math.round(rate).toLocaleString('en-US') : '-',
        ring.toLocaleString('en-US'),
        `${Number(mine.lost).toLocaleString('en-US')} (${s.notices} notices)`,
        (n - s.events - ring - Number(mine.lost)).toLocaleString('en-US'),
        cpuUs.toFixed(1),
      ]);
      s.run.child.kill('SIGINT');
      await s.run.exited;
      sub = null;
    }
    log(
      `- machine: ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${os.cpus().length} cores, Linux ${os.release()}, load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    log(`- one read() of one byte = one event: the policy posts (no action) reads of ${prefix}* by pod ${NS}/burst`);
    log(
      "- dd reads/s: the burst over the time of `talon exec ... dd` (its start included; for a paced burst the pauses too, so the offered rate); agent records/s: hook records the agent handled (status) from the burst's start to the last poll (500 ms apart) that saw them grow, a lower bound; events/s at the subscriber: received / (last event - first event); agent CPU µs/record: the agent's user+system CPU time during the burst (its API calls of the bench included) over the records it handled; burst - received - lost: 0 or below when nothing is lost silently (below: the pod's exec/exit events of dd, sh and sleep, which the subscriber gets too)\n",
    );
    const w = rows[0].map((_, i) => Math.max(...rows.map((x) => x[i].length)));
    const line = (x: string[]) => `| ${x.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(' | ')} |`;
    log(line(rows[0]));
    log(`|${w.map((n, i) => (i === 0 ? '-'.repeat(n + 2) : `${'-'.repeat(n + 1)}:`)).join('|')}|`);
    for (const x of rows.slice(1)) log(line(x));
  } catch (e) {
    log(`\nevents bench failed: ${(e as Error).message}`);
    if (agent) log(`agent stderr: ${agent.err().slice(-1500)}`);
    process.exitCode = 1;
  } finally {
    sub?.run.child.kill('SIGKILL');
    if (podAdded) await talon(['pod', 'delete', `${NS}/burst`, ...A], env).catch(() => undefined);
    if (agent) {
      agent.child.kill('SIGTERM');
      const code = await Promise.race([agent.exited, sleep(20_000).then(() => -1)]);
      if (code === -1) {
        agent.child.kill('SIGKILL');
        await agent.exited;
      }
    }
    removePins(pinDirFor(state));
    rmSync(t, { recursive: true, force: true });
    process.removeListener('exit', cleanup);
    // the agent removes its pods' cgroups and its parent; say so if one is left
    try {
      const root = readFileSync('/proc/self/mounts', 'utf8')
        .split('\n')
        .map((l) => l.split(' '))
        .find((f) => f[2] === 'cgroup2')?.[1];
      if (root && readdirSync(root).includes(parent)) {
        spawnSync('rmdir', [path.join(root, parent)]);
        log(`- note: the agent left its cgroup parent ${parent} (removed)`);
      }
    } catch {
      /* no cgroup root */
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
