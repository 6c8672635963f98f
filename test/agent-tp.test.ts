// Policy management, observability and the Tetragon-like CLI against the live
// agent in the real kernel: `tp list` columns and counters, modes (spec <
// --mode < set-mode), monitor_only, enable/disable/delete, load_error,
// restart, export rotation, metrics, status, version, probe, getevents from
// a pipe. Every enforcing policy is scoped to this run's own namespace (pods
// it creates) and to files it creates. Root only (CI); skipped otherwise.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { cgroup2Root, podCgroupPath, removeCgroup, talonCgroupParent } from '../src/pods/cgroup.js';
import {
  jsonEvents,
  jsonLines,
  repoRoot,
  skipUnlessRoot,
  spawnAgent,
  talon,
  talonBackground,
  terminate,
  talonCgroupLeftovers,
  tempDir,
  sleep,
  useTestCgroupParent,
  fileReadPolicy,
  type FileReadPolicy,
} from './helpers/agent.js';

useTestCgroupParent();
const reason = skipUnlessRoot('agent tp/observability in the kernel');
const test = suite('agent-tp');

type Json = Record<string, any>;

const NS = `tp-${process.pid}`;
const t = tempDir('talon-tp-');
const state = join(t.dir, 'state');
const policyDir = join(t.dir, 'policies');
const files = join(t.dir, 'files');
const sock = join(t.dir, 'talon.sock');
const exportFile = join(t.dir, 'export', 'events.log');
const A = ['--server-address', `unix://${sock}`];
const EXPORT_MB = 0.03; // ~31 kB: a few dozen events per file
let agent: ReturnType<typeof talonBackground> | null = null;
let metricsUrl = '';

const filePolicy = (name: string, prefix: string, opts: Omit<FileReadPolicy, 'name' | 'namespace' | 'prefix' | 'app'> = {}) =>
  fileReadPolicy({ name, namespace: NS, prefix, app: 'victim', ...opts });

function policyFile(name: string, text: string, dir = t.dir): string {
  const f = join(dir, `${name}.yaml`);
  writeFileSync(f, text);
  return f;
}

async function startAgent(): Promise<void> {
  agent = await spawnAgent([
    '--state-dir',
    state,
    '--policy-dir',
    policyDir,
    ...A,
    '--node-name',
    'talon-tp',
    '--export-filename',
    exportFile,
    '--export-file-max-size-mb',
    String(EXPORT_MB),
    '--export-file-rotation-max-backups',
    '2',
    '--metrics-server',
    '127.0.0.1:0',
  ]);
  const a = agent;
  const m = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(a.err());
  assert.ok(m, a.err());
  metricsUrl = m![1];
}

async function stopAgent(): Promise<number> {
  const a = agent;
  agent = null;
  return a ? terminate(a) : 0;
}

async function ok(args: string[]): Promise<string> {
  const r = await talon([...args, ...A]);
  assert.is(r.code, 0, `talon ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** `tp list` as rows keyed by column (cells cut at the header's column starts, as tabwriter aligns them). */
async function listText(): Promise<{ header: string; rows: Record<string, string>[] }> {
  const out = await ok(['tp', 'list']);
  const [header, ...lines] = out.trimEnd().split('\n');
  const names = header.split(/\s+/);
  const starts = names.map((n) => header.indexOf(n));
  const rows = lines.map((l) => Object.fromEntries(names.map((n, i) => [n, l.slice(starts[i], i + 1 < starts.length ? starts[i + 1] : undefined).trim()])));
  return { header, rows };
}

async function row(name: string): Promise<Record<string, string> | undefined> {
  return (await listText()).rows.find((r) => r.NAME === name);
}

async function listJson(name: string): Promise<Json | undefined> {
  return JSON.parse(await ok(['tp', 'list', '-o', 'json'])).policies.find((p: Json) => p.name === name);
}

const exec = (cmd: string) => talon(['exec', '-n', NS, 'victim', ...A, '--', 'bash', '-c', cmd]);

const getevents = (args: string[]) => jsonEvents(args, A);

const kprobes = (evs: Json[], policy: string) => evs.filter((e) => e.process_kprobe?.policy_name === policy);

/** runs a shell pipeline (real pipes and redirections) */
function sh(cmd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const c = spawn('bash', ['-c', cmd], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout!.on('data', (b: Buffer) => (stdout += b));
    c.stderr!.on('data', (b: Buffer) => (stderr += b));
    c.once('close', (code) => res({ code: code ?? -1, stdout, stderr }));
  });
}
const TALON = `${JSON.stringify(process.execPath)} ${JSON.stringify(join(repoRoot(), 'bin', 'talon.js'))}`;

async function metrics(): Promise<string> {
  const r = await fetch(metricsUrl);
  assert.is(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
  return r.text();
}
/** the value of one sample, or null */
function sample(text: string, name: string, labels: Record<string, string>): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && line.split(' ')[0] !== name) continue;
    const lab = /\{(.*)\}/.exec(line)?.[1] ?? '';
    if (Object.entries(labels).every(([k, v]) => lab.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return null;
}

/** Tetragon's metrics talon has, with Tetragon's label names in exposition order (pkg/metrics, pkg/observer, pkg/process). */
const TETRAGON_METRICS: Record<string, string[]> = {
  tetragon_events_total: ['binary', 'namespace', 'node_name', 'pod', 'type', 'workload'],
  tetragon_policy_events_total: ['binary', 'hook', 'namespace', 'node_name', 'pod', 'policy', 'workload'],
  tetragon_tracingpolicy_selector_actions_total: ['action', 'hook', 'hook_index', 'policy', 'policy_namespace', 'selector_index', 'selector_label'],
  tetragon_tracingpolicy_kernel_memory_bytes: ['policy', 'policy_namespace'],
  tetragon_tracingpolicy_loaded: ['state'],
  tetragon_observer_ringbuf_events_lost_total: [],
  tetragon_observer_ringbuf_events_received_total: [],
  tetragon_bpf_missed_events_total: ['error', 'msg_op'],
  tetragon_notify_overflowed_events_total: [],
  tetragon_process_cache_size: [],
};

const secret = join(files, 'kill', 'secret');
const precFile = join(files, 'prec', 'data');
const watched = join(files, 'watch', 'data');
const staticFile = join(files, 'static', 'data');

if (reason) {
  test.skip('agent tp/observability in the kernel');
} else {
  test.after(async () => {
    // always: the pod (its processes die), the agent (programs detached), files
    if (agent) {
      await talon(['pod', 'delete', `${NS}/victim`, ...A]).catch(() => undefined);
      await stopAgent();
    }
    // also when the agent was gone: the pod's cgroup (its processes killed) and empty parents
    await removeCgroup(podCgroupPath(NS, 'victim'), join(cgroup2Root(), talonCgroupParent())).catch((e) => console.log(`  cleanup: ${(e as Error).message}`));
    t.remove();
  });

  test('agent starts with a static policy, export file and metrics server', async () => {
    for (const f of [secret, precFile, watched, staticFile]) {
      mkdirSync(join(f, '..'), { recursive: true });
      writeFileSync(f, 'talon test data\n');
    }
    mkdirSync(policyDir, { recursive: true });
    policyFile('static-watch', filePolicy('static-watch', join(files, 'static')), policyDir);
    await startAgent();
    await ok(['pod', 'add', `${NS}/victim`, '--label', 'app=victim']);
    const { header, rows } = await listText();
    assert.is(
      header.split(/\s+/).join(' '),
      'ID NAME DOMAIN STATE FILTERID NAMESPACE SENSORS KERNELMEMORY MODE NPOST NENFORCE NMONITOR',
      "Tetragon's columns, in order",
    );
    const st = rows.find((r) => r.NAME === 'static-watch')!;
    assert.ok(st, header);
    assert.equal([st.DOMAIN, st.STATE, st.NAMESPACE, st.MODE], ['static', 'enabled', NS, 'monitor_only']);
    assert.is(st.FILTERID, st.ID, 'a pod-scoped policy has a filter id');
    assert.match(st.SENSORS, /^tln_\w+$/);
    assert.match(st.KERNELMEMORY, /^\d+\.\d\d [kM]B$/, 'humanised like Tetragon ("1.88 MB")');
  });

  test('tp list counters match the events and kills the test caused', async () => {
    const r = await talon(['tp', 'add', policyFile('kill-secret', filePolicy('kill-secret', join(files, 'kill'), { actions: '- action: Sigkill' })), ...A]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`tracing policy ${NS}/kill-secret added \\(enforce, tln_\\w+\\)`));
    const g = await getevents(['--policy-names', 'kill-secret']);
    // the kernel counts program runs only with BPF statistics on: on for the kills, restored after
    const stats = '/proc/sys/kernel/bpf_stats_enabled';
    const before = readFileSync(stats, 'utf8').trim();
    writeFileSync(stats, '1');
    try {
      for (let i = 0; i < 3; i++) assert.is((await exec(`cat ${secret}`)).code, 137, 'killed');
    } finally {
      writeFileSync(stats, before);
    }
    assert.is((await exec(`cat ${watched}`)).code, 0, 'another file is not');
    const evs = kprobes(await g.stop(), 'kill-secret');
    assert.is(evs.length, 3, 'one event per kill');
    const p = (await row('kill-secret'))!;
    assert.equal([p.DOMAIN, p.STATE, p.NAMESPACE, p.MODE], ['grpc', 'enabled', NS, 'enforce']);
    assert.equal([p.NPOST, p.NENFORCE, p.NMONITOR], ['3', '3', '0']);
    const j = (await listJson('kill-secret'))!;
    assert.ok(j.kernelMemory > 0);
    assert.equal(j.counters, { post: 3, enforce: 3, monitor: 0, nopost: 0 });
    assert.equal(j.selectors, [
      { index: 0, hook: 'security_file_permission', selector: 0, label: 'security_file_permission/0', post: 3, enforce: 3, monitor: 0, nopost: 0 },
    ]);
    assert.equal(j.pods, [`${NS}/victim`]);
    assert.ok(j.programs.length > 0, 'its programs');
    for (const x of j.programs) assert.ok(x.id > 0 && x.name.startsWith('tln_'), JSON.stringify(x));
    const ran = j.programs.filter((x: Json) => x.run_cnt > 0);
    assert.ok(ran.length > 0 && ran.every((x: Json) => x.run_time_ns > 0), `run statistics counted: ${JSON.stringify(j.programs)}`);
  });

  test('set-mode monitor stops the kills at once and NMONITOR rises; enforce kills again', async () => {
    const g = await getevents(['--policy-names', 'kill-secret']);
    let out = await ok(['tp', 'set-mode', '-n', NS, 'kill-secret', 'monitor']);
    assert.match(out, new RegExp(`tracing policy ${NS}/kill-secret is now in monitor mode`));
    const programs = (await listJson('kill-secret'))!.programs.map((x: { id: number }) => x.id);
    const r = await exec(`cat ${secret}`);
    assert.is(r.code, 0, 'monitor: not killed');
    assert.is(r.stdout, 'talon test data\n');
    const evs = kprobes(await g.stop(), 'kill-secret');
    assert.ok(evs.length >= 1, 'but reported');
    assert.is(evs[0].process_kprobe.action, 'KPROBE_ACTION_SIGKILL', 'events show the configured action, as Tetragon');
    const p = (await row('kill-secret'))!;
    assert.is(p.MODE, 'monitor');
    assert.equal([p.NPOST, p.NENFORCE, p.NMONITOR], [String(3 + evs.length), '3', String(evs.length)]);
    assert.equal(
      (await listJson('kill-secret'))!.programs.map((x: { id: number }) => x.id),
      programs,
      'in place: the same programs, no reload',
    );
    out = await ok(['tp', 'set-mode', 'kill-secret', 'enforce', '--namespace', NS]);
    assert.match(out, /now in enforce mode/);
    assert.is((await exec(`cat ${secret}`)).code, 137, 'enforce again');
    assert.is((await row('kill-secret'))!.NENFORCE, '4');
  });

  test('mode precedence: spec.options policy-mode < tp add --mode < tp set-mode', async () => {
    const f = policyFile('prec', filePolicy('prec', join(files, 'prec'), { actions: '- action: Sigkill', mode: 'monitor' }));
    await ok(['tp', 'add', f]);
    assert.is((await row('prec'))!.MODE, 'monitor', 'spec.options');
    assert.is((await exec(`cat ${precFile}`)).code, 0);
    await ok(['tp', 'delete', 'prec', '-n', NS]);
    await ok(['tp', 'add', f, '--mode', 'enforce']);
    assert.is((await row('prec'))!.MODE, 'enforce', '--mode beats spec.options');
    assert.is((await exec(`cat ${precFile}`)).code, 137);
    await ok(['tp', 'set-mode', 'prec', 'monitor', '-n', NS]);
    assert.is((await row('prec'))!.MODE, 'monitor', 'set-mode beats --mode');
    assert.is((await exec(`cat ${precFile}`)).code, 0);
  });

  test('monitor_only: add --mode succeeds with a warning; set-mode fails with exit 1', async () => {
    const f = policyFile('watch', filePolicy('watch', join(files, 'watch')));
    let r = await talon(['tp', 'add', f, '--mode', 'enforce', ...A]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: policy "watch" has no enforcement action.*monitor_only/, 'the CLI prints the warning');
    assert.match(agent!.err(), /warning: .*policy "watch" has no enforcement action/, 'the agent logs it');
    assert.is((await row('watch'))!.MODE, 'monitor_only');
    r = await talon(['tp', 'set-mode', 'watch', 'enforce', '-n', NS, ...A]);
    assert.is(r.code, 1);
    assert.match(r.stderr, /^talon tracingpolicy set-mode: policy "watch" is monitor_only \(it has no enforcement action\); its mode cannot be set\n$/);
    r = await talon(['tp', 'set-mode', 'watch', 'monitor', '-n', NS, ...A]);
    assert.is(r.code, 1, 'monitor too: a monitor_only policy has no mode to set');
    assert.is((await exec(`cat ${watched} > /dev/null`)).code, 0);
    assert.ok(Number((await row('watch'))!.NPOST) >= 1, 'it posts');
  });

  test('disable: no kill, listed disabled; enable: kills again; delete: gone', async () => {
    let out = await ok(['tp', 'disable', 'kill-secret', '-n', NS]);
    assert.match(out, new RegExp(`tracing policy ${NS}/kill-secret disabled`));
    let p = (await row('kill-secret'))!;
    assert.equal([p.STATE, p.KERNELMEMORY, p.MODE], ['disabled', '0 B', 'enforce']);
    assert.match(p.SENSORS, /^tln_\w+$/, 'the sensors that serve it when enabled');
    assert.equal((await listJson('kill-secret'))!.programs, [], 'programs unloaded');
    assert.is((await exec(`cat ${secret}`)).code, 0, 'disabled: not killed');
    const again = await talon(['tp', 'disable', 'kill-secret', '-n', NS, ...A]);
    assert.is(again.code, 1);
    assert.match(again.stderr, /already disabled/);
    out = await ok(['tp', 'enable', 'kill-secret', '-n', NS]);
    assert.match(out, /kill-secret enabled/);
    p = (await row('kill-secret'))!;
    assert.equal([p.STATE, p.MODE, p.NENFORCE], ['enabled', 'enforce', '0'], 'reloaded: fresh counters');
    assert.is((await exec(`cat ${secret}`)).code, 137, 'enabled: killed again');
    assert.is((await row('kill-secret'))!.NENFORCE, '1');
    // delete a policy, and the others stay
    await ok(['tp', 'add', policyFile('doomed', filePolicy('doomed', join(files, 'doomed')))]);
    out = await ok(['tp', 'delete', 'doomed', '-n', NS]);
    assert.match(out, new RegExp(`tracing policy ${NS}/doomed deleted`));
    assert.is(await row('doomed'), undefined, 'gone');
    const r = await talon(['tp', 'delete', 'doomed', '-n', NS, ...A]);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, /not found/);
  });

  test('a policy the kernel refuses: tp add exits 1 with the reason; listed as load_error', async () => {
    const f = policyFile('override', filePolicy('override', join(files, 'override'), { actions: '- action: Override\n  argError: -1' }));
    const r = await talon(['tp', 'add', f, ...A]);
    const j = await listJson('override');
    if (j?.state === 'TP_STATE_ENABLED') {
      console.log('  (this kernel can Override on security_file_permission: no load_error to see)');
      await ok(['tp', 'delete', 'override', '-n', NS]);
      return;
    }
    assert.is(r.code, 1, r.stdout);
    assert.match(r.stderr, /^talon tracingpolicy add: cannot load .*override: .*Override.*\n\(kept with state load_error/s);
    const p = (await row('override'))!;
    assert.equal([p.STATE, p.KERNELMEMORY, p.NPOST], ['load_error', '0 B', '0']);
    assert.is(j!.state, 'TP_STATE_LOAD_ERROR');
    assert.match(j!.error, /action Override cannot be carried out by tln_\w+/);
    assert.is(j!.errorKind, 'unsupported', 'refused by the load plan, not by the kernel');
  });

  test('status, version', async () => {
    let out = await ok(['status']);
    assert.match(out, /^Health Status: running\n/);
    assert.match(out, /policies: \d+ \(\d+ enabled, 0 disabled, 1 load_error, 0 error\)/);
    assert.match(out, /pods: 1,/);
    assert.match(out, /lost records: 0 \(ring buffer full\)/);
    assert.match(out, /0 disagreements with the Wasm evaluator/);
    assert.match(out, new RegExp(`metrics: ${metricsUrl.replace(/[.]/g, '\\.')}`));
    out = await ok(['version']);
    const v = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')).version;
    assert.is(out, `CLI version: ${v}\nServer version: ${v} (API protocol 1)\n`);
    const r = await talon(['version', '--server-address', `unix://${join(t.dir, 'nothing.sock')}`]);
    assert.is(r.code, 0);
    assert.is(r.stdout, `CLI version: ${v}\n`);
    assert.match(r.stderr, /no agent to ask for its version/);
  });

  test('metrics endpoint', async () => {
    const m = await metrics();
    const p = (await listJson('kill-secret'))!;
    assert.is(sample(m, 'talon_policy_actions_total', { policy: 'kill-secret', policy_namespace: NS, action: 'enforce' }), p.counters.enforce);
    assert.is(sample(m, 'talon_policy_actions_total', { policy: 'kill-secret', policy_namespace: NS, action: 'post' }), p.counters.post);
    // Tetragon's selector counters: kill-secret's Sigkill selector counts as signal
    const sel = (action: string) =>
      sample(m, 'tetragon_tracingpolicy_selector_actions_total', {
        action,
        policy: 'kill-secret',
        policy_namespace: NS,
        hook: 'kprobe:security_file_permission',
      });
    assert.is(sel('signal'), p.counters.enforce);
    assert.is(sel('post'), p.counters.post);
    assert.is(sample(m, 'tetragon_tracingpolicy_kernel_memory_bytes', { policy: 'kill-secret', policy_namespace: NS }), p.kernelMemory);
    assert.is(sample(m, 'tetragon_tracingpolicy_loaded', { state: 'load_error' }), 1);
    assert.ok(sample(m, 'tetragon_tracingpolicy_loaded', { state: 'enabled' })! >= 4);
    assert.ok(
      sample(m, 'tetragon_policy_events_total', { policy: 'kill-secret', hook: 'kprobe:security_file_permission', namespace: NS, pod: 'victim' })! >= 5,
    );
    assert.ok(sample(m, 'tetragon_events_total', { type: 'PROCESS_KPROBE', namespace: NS, pod: 'victim' })! >= 1);
    assert.ok(sample(m, 'tetragon_events_total', { type: 'PROCESS_EXEC', namespace: NS, pod: 'victim', workload: 'victim' })! >= 1);
    assert.is(sample(m, 'tetragon_observer_ringbuf_events_lost_total', {}), 0);
    assert.ok(sample(m, 'tetragon_observer_ringbuf_events_received_total', {})! >= 9);
    assert.ok(sample(m, 'tetragon_process_cache_size', {})! >= 1);
    // every Tetragon metric talon has, with Tetragon's labels
    for (const [name, labels] of Object.entries(TETRAGON_METRICS)) {
      assert.match(m, new RegExp(`# TYPE ${name} `), name);
      for (const line of m.split('\n').filter((l) => l.startsWith(name + '{'))) {
        assert.equal(
          [...line.matchAll(/(\w+)="/g)].map((x) => x[1]),
          labels,
          line,
        );
      }
    }
    assert.is(sample(m, 'talon_evaluator_checks_total', { result: 'disagreed' }), 0);
    assert.ok(sample(m, 'talon_evaluator_checks_total', { result: 'agreed' })! >= 9);
    assert.is(sample(m, 'talon_tracingpolicy_mode', { policy: 'prec', policy_namespace: NS, mode: 'monitor' }), 1);
    assert.match(m, /# HELP talon_policy_actions_total /);
    assert.is((await fetch(metricsUrl.replace('/metrics', '/nothing'))).status, 404);
  });

  test('restart keeps CLI-added policies, their modes and enabled state, and pods', async () => {
    await ok(['tp', 'disable', 'watch', '-n', NS]);
    const before = (await listText()).rows.map((r) => [r.NAME, r.DOMAIN, r.STATE, r.MODE]);
    assert.is(await stopAgent(), 0);
    await startAgent();
    const after = (await listText()).rows.map((r) => [r.NAME, r.DOMAIN, r.STATE, r.MODE]);
    assert.equal(after.sort(), before.sort());
    assert.equal(
      after
        .filter((r) => r[0] !== 'static-watch')
        .map((r) => r[0])
        .sort(),
      ['kill-secret', 'override', 'prec', 'watch'],
    );
    assert.equal((await row('prec'))!.MODE, 'monitor', 'the run-time mode');
    assert.equal((await row('watch'))!.STATE, 'disabled');
    assert.equal((await row('override'))!.STATE, 'load_error');
    assert.match(await ok(['pod', 'list']), new RegExp(`${NS}\\s+victim\\s+app=victim`));
    assert.is((await exec(`cat ${secret}`)).code, 137, 'enforced again');
    assert.is((await exec(`cat ${precFile}`)).code, 0, 'monitor again');
  });

  test('export file: JSON lines, rotated to FILE.1, FILE.2 by size', async () => {
    // enough events to rotate a few times
    for (let i = 0; i < 6; i++) await exec(`for i in 1 2 3 4 5; do cat ${watched} ${staticFile} > /dev/null; done`);
    await sleep(500);
    const max = EXPORT_MB * 1024 * 1024;
    assert.ok(existsSync(`${exportFile}.1`), 'rotated');
    assert.ok(existsSync(`${exportFile}.2`), 'two backups');
    assert.not.ok(existsSync(`${exportFile}.3`), 'no more than --export-file-rotation-max-backups');
    const st = JSON.parse(await ok(['status', '-o', 'json'])).export;
    assert.ok(st.rotations >= 2, JSON.stringify(st));
    const times: string[][] = [];
    for (const f of [`${exportFile}.2`, `${exportFile}.1`, exportFile]) {
      assert.is(statSync(f).mode & 0o777, 0o600);
      assert.ok(statSync(f).size <= max, `${f} is at most the max size`);
      const lines = readFileSync(f, 'utf8').split('\n');
      assert.is(lines.pop(), '', 'whole lines only');
      assert.ok(lines.length > 0);
      const evs = lines.map((l) => JSON.parse(l));
      assert.ok(evs.every((e) => e.node_name === 'talon-tp'));
      times.push(evs.map((e) => e.time as string).sort());
    }
    assert.ok(times[0][times[0].length - 1] <= times[2][0], 'FILE.2 is older than FILE (FILE.1 in between)');
  });

  test('getevents filters offline from a pipe (and a file), not from /dev/null', async () => {
    const ev = join(t.dir, 'events.jsonl');
    // fresh events of ours: the export files are small, and a busy host's own exec/exit events
    // may rotate ours out within a second: the files are read every 50 ms after the reads and
    // what they held kept (complete lines only: the agent may be writing the last one)
    const seen = new Map<string, unknown>();
    let ours: unknown[] = [];
    for (let attempt = 0; attempt < 20 && ours.length === 0; attempt++) {
      await exec(`for i in 1 2 3; do cat ${watched} > /dev/null; done`);
      for (let poll = 0; poll < 20 && ours.length === 0; poll++) {
        await sleep(50);
        const text = [`${exportFile}.2`, `${exportFile}.1`, exportFile].map((f) => (existsSync(f) ? readFileSync(f, 'utf8') : '')).join('');
        for (const e of jsonLines(text)) seen.set(JSON.stringify(e), e);
        // what the first filter below selects: the reads of cat in the pod
        ours = [...seen.values()].filter((e: any) => e.process_kprobe?.process?.pod?.namespace === NS && /\/cat$/.test(e.process_kprobe.process.binary ?? ''));
      }
    }
    writeFileSync(ev, [...seen.keys()].map((l) => `${l}\n`).join(''));
    assert.ok(ours.length > 0);
    // a pipe
    let r = await sh(`cat ${ev} | ${TALON} getevents -o compact --color never --namespace ${NS} --pods '^vic' --process 'cat$' --event-types PROCESS_KPROBE`);
    assert.is(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean);
    assert.ok(lines.length > 0);
    for (const l of lines) assert.match(l, new RegExp(`^📚 read    ${NS}/victim \\S*/cat ${files}/`));
    // a regular file as stdin, JSON out, policy names
    r = await sh(`${TALON} getevents --policy-names watch,static-watch < ${ev}`);
    assert.is(r.code, 0, r.stderr);
    const got = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    assert.ok(got.length > 0);
    assert.ok(got.every((e) => ['watch', 'static-watch'].includes(e.process_kprobe?.policy_name)));
    // --host and -n repeatable: host processes and ours
    r = await sh(`${TALON} getevents -n ${NS} --host -e PROCESS_EXEC < ${ev}`);
    const ns = new Set(
      r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).process_exec.process.pod?.namespace ?? ''),
    );
    assert.ok(
      [...ns].every((n) => n === '' || n === NS),
      [...ns].join(),
    );
    // --timestamps, --color always
    r = await sh(`${TALON} getevents -o compact --timestamps --color always --namespace ${NS} < ${ev}`);
    const first = r.stdout.split('\n')[0];
    assert.match(first, /^\S*\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/, first);
    assert.match(r.stdout, /\x1b\[/, 'colours');
    r = await sh(`${TALON} getevents -o compact --color never --namespace ${NS} < ${ev}`);
    assert.not.match(r.stdout, /\x1b\[/);
    // auto: colours on a terminal only
    r = await sh(`script -qec "${TALON.replace(/"/g, '\\"')} getevents -o compact -i ${ev} --namespace ${NS} --event-types PROCESS_EXIT" /dev/null`, {
      TERM: 'xterm',
      NO_COLOR: '',
    });
    assert.match(r.stdout, /\x1b\[/, 'a terminal gets colours');
    // /dev/null is not an event stream: the agent is asked (none here)
    r = await sh(`${TALON} getevents --server-address unix://${join(t.dir, 'nothing.sock')} < /dev/null`);
    assert.is(r.code, 1);
    assert.match(r.stderr, /connect/);
  });

  test('probe: kernel features and the implementation each hook gets', async () => {
    let r = await talon(['probe']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^kernel \S+\n\nFeatures:\n/);
    for (const f of [
      'kprobes',
      'fentry',
      'BPF LSM',
      'bpf_override_return',
      'bpf_send_signal',
      'ring buffer maps',
      'cgroup sock_addr hooks',
      'uprobes',
      'BTF',
    ]) {
      assert.match(r.stdout, new RegExp(`\\n  ${f.replace(/[()/]/g, '.')}.*\\s(yes|no)`), f);
    }
    r = await talon(['probe', '-o', 'json']);
    const p = JSON.parse(r.stdout);
    const feat = (k: string) => p.features.find((f: Json) => f.key === k);
    const hook = (h: string) => p.hooks.find((x: Json) => x.hook === h);
    if (!feat('lsm').ok) {
      // this machine: no BPF LSM, so the tracepoint and cgroup implementations serve the seed hooks
      assert.ok(feat('lsm').detail, 'why LSM is not available');
      assert.match(r.stdout, /"why": "needs lsm \(/);
      assert.is(hook('security_file_permission').chosen, 'tln_tp_file');
      assert.is(hook('tcp_connect').chosen, 'tln_cgroup_sock');
      const lsm = hook('security_file_permission').impls.find((i: Json) => i.mechanism === 'lsm');
      assert.is(lsm.status, 'unavailable');
      assert.match(lsm.why, new RegExp(`needs lsm \\(${feat('lsm').detail.replace(/[()]/g, '.')}\\)`));
    } else {
      assert.is(hook('security_file_permission').chosen, 'tln_lsm_file');
    }
    const text = (await talon(['probe'])).stdout;
    assert.match(text, /security_file_permission\(file, int mask\): tln_\w+/);
    assert.match(text, /\* tln_\w+ \(\w+\)\s+chosen: /);
  });

  test('stop leaves no program and no cgroup', async () => {
    await ok(['pod', 'delete', `${NS}/victim`]);
    assert.is(await stopAgent(), 0);
    assert.equal(talonCgroupLeftovers(), []);
  });
}

test.run();
