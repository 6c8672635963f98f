// The pieces behind `tp list`, export, metrics, getevents' stdin detection and
// probe, without a kernel: humanised sizes, the table, selector labels, size
// rotation, Prometheus text, and (with a recording kernel) load_error,
// disable/enable and their persistence.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ExportFile } from '../src/agent/export.js';
import { AgentMetrics, parseMetricsAddress, parseMetricsLabelFilter } from '../src/agent/metrics.js';
import { formatPolicyTable, humanizeBytes, probe, stdinIsEvents, TP_LIST_COLUMNS } from '../src/agent/commands.js';
import { logExcerpt, selectorStatus, type PolicyStatus } from '../src/agent/policies.js';
import { Agent } from '../src/agent/agent.js';
import { FakeKernel } from './helpers/fake-kernel.js';
import { ApiClient, RemoteError } from '../src/api/client.js';
import type { PolicySpec } from '../src/core/types.js';
import { tempDir, useTestCgroupParent } from './helpers/agent.js';

const test = suite('agent-observe');

test('humanizeBytes prints sizes as tetra does', () => {
  assert.is(humanizeBytes(0), '0 B');
  assert.is(humanizeBytes(999), '999 B');
  assert.is(humanizeBytes(1000), '1.00 kB');
  assert.is(humanizeBytes(1_880_000), '1.88 MB');
  assert.is(humanizeBytes(2_404_000), '2.40 MB');
  assert.is(humanizeBytes(4_458_824), '4.46 MB');
  assert.is(humanizeBytes(3_000_000_000), '3.00 GB');
});

const status = (over: Partial<PolicyStatus>): PolicyStatus => ({
  id: 1,
  name: 'p',
  namespace: null,
  kind: 'TracingPolicy',
  domain: 'api',
  file: 'p.yaml',
  state: 'enabled',
  mode: 'enforce',
  filterId: 0,
  filtered: false,
  host: true,
  pods: [],
  hooks: ['security_file_permission'],
  sensors: ['tln_tp_file'],
  kernelMemory: 1_880_000,
  programMemory: 4096,
  counters: { post: 5, enforce: 2, monitor: 1, nopost: 0 },
  selectors: [],
  programs: [],
  ...over,
});

test('tp list table: Tetragon columns and cells', () => {
  assert.equal(TP_LIST_COLUMNS, ['ID', 'NAME', 'DOMAIN', 'STATE', 'FILTERID', 'NAMESPACE', 'SENSORS', 'KERNELMEMORY', 'MODE', 'NPOST', 'NENFORCE', 'NMONITOR']);
  const out = formatPolicyTable([
    status({
      id: 2,
      name: 'trace-bash-readline',
      domain: 'static',
      mode: 'monitor_only',
      counters: { post: 5, enforce: 0, monitor: 0, nopost: 0 },
      kernelMemory: 2_400_000,
    }),
    status({
      id: 3,
      name: 'read-etc-passwd',
      namespace: 'default',
      filterId: 3,
      state: 'load_error',
      sensors: [],
      kernelMemory: 0,
      counters: { post: 0, enforce: 0, monitor: 0, nopost: 0 },
    }),
  ]);
  assert.is(
    out,
    [
      'ID   NAME                  DOMAIN   STATE        FILTERID   NAMESPACE   SENSORS       KERNELMEMORY   MODE           NPOST   NENFORCE   NMONITOR',
      '2    trace-bash-readline   static   enabled      0          (global)    tln_tp_file   2.40 MB        monitor_only   5       0          0',
      '3    read-etc-passwd       grpc     load_error   3          default                   0 B            enforce        0       0          0',
      '',
    ].join('\n'),
  );
});

test('selector counters are labelled with hook and selector', () => {
  const spec = {
    hooks: [
      { name: 'security_file_permission', slot: 0, selectors: 2 },
      { name: 'tcp_connect', slot: 1, selectors: 0 },
      { name: 'security_mmap_file', slot: 2, selectors: 1 },
    ],
  } as unknown as PolicySpec;
  const c = (n: number) => ({ post: n, enforce: 0, monitor: n, nopost: 0 });
  const s = selectorStatus(spec, [c(1), c(2), c(3), c(4)]);
  assert.equal(
    s.map((x) => [x.index, x.hook, x.selector, x.label, x.post]),
    [
      [0, 'security_file_permission', 0, 'security_file_permission/0', 1],
      [1, 'security_file_permission', 1, 'security_file_permission/1', 2],
      [2, 'security_mmap_file', 0, 'security_mmap_file/0', 3],
      [3, null, null, '(no selector)', 4],
    ],
  );
  assert.equal(
    selectorStatus(spec, []).map((x) => x.post),
    [0, 0, 0, 0],
    'not loaded: zeros',
  );
});

test('logExcerpt keeps the end of a verifier log', () => {
  const log = Array.from({ length: 30 }, (_, i) => `${i}: insn`).join('\n') + '\nR2 unbounded memory access\n';
  const e = logExcerpt(log, 5);
  assert.is(e, ['...', '26: insn', '27: insn', '28: insn', '29: insn', 'R2 unbounded memory access'].join('\n'));
});

test('export file rotates by size to FILE.1, FILE.2 and keeps whole lines', async () => {
  const t = tempDir('talon-export-');
  try {
    const f = join(t.dir, 'sub', 'events.log');
    const ex = new ExportFile(f, { maxBytes: 200, maxBackups: 2 });
    const ev = (i: number) => ({ i, pad: 'x'.repeat(40) }); // 57 bytes a line
    for (let i = 0; i < 5; i++) ex.write(ev(i));
    ex.flush();
    assert.is(readFileSync(`${f}.1`, 'utf8'), [0, 1, 2].map((i) => JSON.stringify(ev(i)) + '\n').join(''), '3 lines fit in 200 bytes, then it rotated');
    assert.is(readFileSync(f, 'utf8').split('\n').length - 1, 2);
    for (let i = 5; i < 20; i++) {
      ex.write(ev(i));
      await new Promise((r) => setImmediate(r)); // written at the end of each turn
    }
    ex.close();
    const read = (p: string) =>
      readFileSync(p, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).i as number);
    const cur = read(f);
    const b1 = read(`${f}.1`);
    const b2 = read(`${f}.2`);
    assert.not.ok(existsSync(`${f}.3`), 'at most 2 backups');
    assert.equal(
      [...b2, ...b1, ...cur],
      Array.from({ length: b2.length + b1.length + cur.length }, (_, k) => 20 - cur.length - b1.length - b2.length + k),
      'FILE.2 oldest, FILE newest, in order',
    );
    assert.is(cur[cur.length - 1], 19);
    for (const p of [f, `${f}.1`, `${f}.2`]) {
      assert.ok(statSync(p).size <= 200);
      assert.is(statSync(p).mode & 0o777, 0o600);
    }
    assert.is(ex.lines, 20);
    assert.ok(ex.rotations >= 5);
    // no backups: the file starts over
    const g = join(t.dir, 'nob.log');
    const ey = new ExportFile(g, { maxBytes: 100, maxBackups: 0 });
    for (let i = 0; i < 3; i++) ey.write(ev(i));
    ey.close();
    assert.equal(read(g), [2]);
    assert.equal(
      readdirSync(t.dir).filter((n) => n.startsWith('nob')),
      ['nob.log'],
    );
    // 0 bytes: never rotates
    const h = join(t.dir, 'big.log');
    const ez = new ExportFile(h, { maxBytes: 0, maxBackups: 2 });
    for (let i = 0; i < 50; i++) ez.write(ev(i));
    ez.close();
    assert.is(read(h).length, 50);
    assert.not.ok(existsSync(`${h}.1`));
  } finally {
    t.remove();
  }
});

test('metrics address parsing', () => {
  assert.equal(parseMetricsAddress('127.0.0.1:2112'), { host: '127.0.0.1', port: 2112 });
  assert.equal(parseMetricsAddress(':2112'), { host: '', port: 2112 });
  assert.equal(parseMetricsAddress('[::1]:0'), { host: '::1', port: 0 });
  assert.throws(() => parseMetricsAddress('2112'), /host:port/);
  assert.throws(() => parseMetricsAddress('h:99999'), /out of range/);
});

test('metrics: events, policies, kernel counters, states, losses, disagreements', async () => {
  const m = new AgentMetrics({
    policies: () => [
      status({
        name: 'kill',
        namespace: 'ns1',
        counters: { post: 7, enforce: 3, monitor: 4, nopost: 1 },
        selectors: [
          { index: 0, hook: 'security_file_permission', selector: 0, label: 'security_file_permission/0', post: 7, enforce: 3, monitor: 4, nopost: 1 },
        ],
        kernelMemory: 12345,
        programs: [{ id: 41, name: 'tln_tp_read', run_cnt: 1000, run_time_ns: 250000 }],
      }),
      status({ id: 2, name: 'broken', state: 'load_error', kernelMemory: 0, counters: { post: 0, enforce: 0, monitor: 0, nopost: 0 } }),
    ],
    hooks: (id) => (id === 1 ? [{ name: 'security_file_permission', kind: 'kprobe', actions: ['Sigkill'] }] : []),
    lost: () => 9,
    dropped: () => 2,
    records: () => 40,
    processCache: () => 17,
    differential: () => ({ checked: 5, agreed: 4, disagreed: 1 }),
    version: '1.2.3',
  });
  const proc = { binary: '/usr/bin/cat', pod: { namespace: 'ns1', name: 'pod1', workload: 'pod1' } };
  m.onEvent({ node_name: 'node1', process_exec: { process: proc } });
  m.onEvent({ node_name: 'node1', process_kprobe: { process: proc, function_name: 'security_file_permission', policy_name: 'kill' } });
  m.onEvent({ node_name: 'node1', process_kprobe: { process: proc, function_name: 'security_file_permission', policy_name: 'kill' } });
  m.onEvent({ node_name: 'node1', process_tracepoint: { process: { binary: '/bin/sh' }, subsys: 'syscalls', event: 'sys_enter_openat', policy_name: 'tp' } });
  const text = await m.text();
  const has = (line: string) => assert.ok(text.split('\n').includes(line), `${line}\n---\n${text}`);
  has('talon_build_info{version="1.2.3"} 1');
  // Tetragon's names and labels (node_name is empty under Tetragon's default --metrics-label-filter)
  has('tetragon_events_total{binary="/usr/bin/cat",namespace="ns1",node_name="",pod="pod1",type="PROCESS_EXEC",workload="pod1"} 1');
  has('tetragon_events_total{binary="/usr/bin/cat",namespace="ns1",node_name="",pod="pod1",type="PROCESS_KPROBE",workload="pod1"} 2');
  has(
    'tetragon_policy_events_total{binary="/usr/bin/cat",hook="kprobe:security_file_permission",namespace="ns1",node_name="",pod="pod1",policy="kill",workload="pod1"} 2',
  );
  has('tetragon_policy_events_total{binary="/bin/sh",hook="tracepoint:syscalls/sys_enter_openat",namespace="",node_name="",pod="",policy="tp",workload=""} 1');
  const sel = (action: string, n: number) =>
    has(
      `tetragon_tracingpolicy_selector_actions_total{action="${action}",hook="kprobe:security_file_permission",hook_index="0",policy="kill",policy_namespace="ns1",selector_index="0",selector_label=""} ${n}`,
    );
  sel('post', 7);
  sel('signal', 3);
  sel('monitor_signal', 4);
  sel('nopost', 1);
  assert.not.match(text, /selector_actions_total\{action="override"/, 'counters at 0 are left out, as Tetragon does');
  has('talon_policy_actions_total{policy="kill",policy_namespace="ns1",action="post"} 7');
  has('talon_policy_actions_total{policy="kill",policy_namespace="ns1",action="enforce"} 3');
  has('talon_policy_actions_total{policy="kill",policy_namespace="ns1",action="monitor"} 4');
  has('tetragon_tracingpolicy_kernel_memory_bytes{policy="kill",policy_namespace="ns1"} 12345');
  has('tetragon_tracingpolicy_loaded{state="enabled"} 1');
  has('tetragon_tracingpolicy_loaded{state="load_error"} 1');
  has('tetragon_tracingpolicy_loaded{state="disabled"} 0');
  has('tetragon_observer_ringbuf_events_lost_total 9');
  has('tetragon_bpf_missed_events_total{error="ENOSPC",msg_op="all"} 9');
  has('tetragon_observer_ringbuf_events_received_total 40');
  has('tetragon_notify_overflowed_events_total 2');
  has('tetragon_process_cache_size 17');
  has('talon_policy_program_runs_total{policy="kill",policy_namespace="ns1",program="tln_tp_read",program_id="41"} 1000');
  has('talon_policy_program_run_time_ns_total{policy="kill",policy_namespace="ns1",program="tln_tp_read",program_id="41"} 250000');
  has('talon_evaluator_checks_total{result="disagreed"} 1');
  has('talon_evaluator_checks_total{result="agreed"} 4');
  assert.match(text, /\nprocess_cpu_seconds_total /, 'process metrics too, unprefixed');
  assert.not.match(
    text,
    /talon_(events_total|policy_events_total|ringbuf|events_dropped|tracingpolicy_loaded|tracingpolicy_kernel|process_)/,
    'no old name is left',
  );
  // served over HTTP on loopback
  const addr = await m.listen('127.0.0.1:0');
  try {
    const r = await fetch(`http://${addr}/metrics`);
    assert.is(r.status, 200);
    assert.match(await r.text(), /tetragon_observer_ringbuf_events_lost_total 9/);
    assert.is((await fetch(`http://${addr}/other`)).status, 404);
  } finally {
    await m.close();
  }
});

test('metrics: --metrics-label-filter keeps only the named process labels (Tetragon semantics)', async () => {
  assert.equal([...parseMetricsLabelFilter()], ['namespace', 'workload', 'pod', 'binary']);
  assert.equal([...parseMetricsLabelFilter('pod, node_name,bogus')], ['pod', 'node_name']);
  assert.equal([...parseMetricsLabelFilter('')], []);
  const m = new AgentMetrics({
    policies: () => [],
    lost: () => 0,
    dropped: () => 0,
    differential: () => ({ checked: 0, agreed: 0, disagreed: 0 }),
    version: '1',
    node: 'node7',
    labelFilter: 'namespace,node_name',
  });
  m.onEvent({ process_kprobe: { process: { binary: '/bin/cat', pod: { namespace: 'ns', name: 'p', workload: 'w' } }, function_name: 'f', policy_name: 'x' } });
  const text = await m.text();
  assert.ok(text.includes('tetragon_events_total{binary="",namespace="ns",node_name="node7",pod="",type="PROCESS_KPROBE",workload=""} 1'), text);
  assert.ok(text.includes('tetragon_policy_events_total{binary="",hook="kprobe:f",namespace="ns",node_name="node7",pod="",policy="x",workload=""} 1'), text);
});

test('getevents reads stdin only when it is a pipe or a regular file', () => {
  const t = tempDir('talon-stdin-');
  try {
    const file = join(t.dir, 'ev.jsonl');
    writeFileSync(file, '{}\n');
    const fifo = join(t.dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const check = (path: string, flags: string) => {
      const fd = openSync(path, flags);
      try {
        return stdinIsEvents(fd);
      } finally {
        closeSync(fd);
      }
    };
    assert.is(check(file, 'r'), true, 'regular file');
    assert.is(check(fifo, 'r+'), true, 'pipe');
    assert.is(check('/dev/null', 'r'), false, '/dev/null');
    assert.is(stdinIsEvents(987654), false, 'no such fd');
  } finally {
    t.remove();
  }
});

test('probe without root says so, exit 1', async () => {
  const real = process.getuid;
  let err = '';
  process.getuid = () => 1000;
  try {
    const code = await probe('text', { stdout: { write: () => true } as never, stderr: { write: (s: string) => ((err += s), true) } as never });
    assert.is(code, 1);
  } finally {
    process.getuid = real;
  }
  assert.match(err, /^talon probe: needs root: it probes by loading small BPF programs/);
});

const KILL = (name: string, ns = 'obs') => `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  kprobes:
  - call: security_file_permission
    syscall: false
    args:
    - index: 0
      type: file
    - index: 1
      type: int
    selectors:
    - matchArgs:
      - index: 0
        operator: Prefix
        values: ["/nonexistent/talon"]
      matchActions:
      - action: Sigkill
`;

if (process.getuid?.() === 0) {
  useTestCgroupParent();
  test('load_error is kept with its reason; disable/enable/mode persist across a restart (recording kernel)', async () => {
    const t = tempDir('talon-obs-');
    const address = `unix://${join(t.dir, 'talon.sock')}`;
    const k = new FakeKernel();
    const start = () => Agent.start({ stateDir: t.dir, serverAddress: address, kernel: k, log: () => undefined });
    let agent: Agent | null = await start();
    let c: ApiClient | null = await ApiClient.connect({ address });
    try {
      k.failLoad = { name: 'bad', message: 'policy bad: load refused: Permission denied', log: 'func#0 @0\n0: r0 = 0\nR2 unbounded memory access\n' };
      const err = await c.call('policy.add', { yaml: KILL('bad'), file: 'bad.yaml', namespace: 'obs' }).then(
        () => null,
        (e) => e as RemoteError,
      );
      assert.ok(err instanceof RemoteError);
      assert.is(err!.code, 'failed');
      assert.match(err!.message, /cannot load obs\/bad: policy bad: load refused: Permission denied\nverifier log \(end\):\n.*R2 unbounded memory access/s);
      let list = (await c.call<{ policies: PolicyStatus[] }>('policy.list')).policies;
      assert.equal(
        list.map((p) => [p.name, p.state]),
        [['bad', 'load_error']],
      );
      assert.match(list[0].verifierLog!, /R2 unbounded memory access$/);
      // fixed: enable retries the load
      k.failLoad = null;
      await c.call('policy.enable', { name: 'bad' });
      await c.call('policy.add', { yaml: KILL('good'), file: 'good.yaml', namespace: 'obs' });
      await c.call('policy.setMode', { name: 'good', mode: 'monitor' });
      await c.call('policy.disable', { name: 'good' });
      assert.ok(
        k.loaded.filter((p) => p.spec.name === 'good').every((p) => p.unloaded),
        'disable unloads',
      );
      list = (await c.call<{ policies: PolicyStatus[] }>('policy.list')).policies;
      assert.equal(
        list.map((p) => [p.name, p.state, p.mode, p.sensors]),
        [
          ['bad', 'enabled', 'enforce', ['fake']],
          ['good', 'disabled', 'monitor', ['fake']],
        ],
      );
      c.close();
      c = null;
      await agent.stop();
      agent = await start();
      c = await ApiClient.connect({ address });
      list = (await c.call<{ policies: PolicyStatus[] }>('policy.list')).policies;
      assert.equal(
        list.map((p) => [p.name, p.domain, p.state, p.mode]),
        [
          ['bad', 'api', 'enabled', 'enforce'],
          ['good', 'api', 'disabled', 'monitor'],
        ],
      );
      await c.call('policy.enable', { name: 'good' });
      const good = k.policy('good')!;
      assert.is(good.mode, 'monitor', 'the run-time mode is written into the reloaded policy');
      const st = await c.call<{ policyStates: Record<string, number>; version: string }>('status');
      assert.equal(st.policyStates, { enabled: 2, disabled: 0, load_error: 0, error: 0 });
      assert.type(st.version, 'string');
    } finally {
      c?.close();
      await agent?.stop();
      t.remove();
    }
  });
}

test.run();
