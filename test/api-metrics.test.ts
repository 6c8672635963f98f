// /metrics as Tetragon names it (issue 11, item 5): every Tetragon metric
// talon has, by name, type and label set exactly as Tetragon exports it, so
// its dashboards and alerts find them; talon's own under talon_*; the
// standard process_* metrics unprefixed. No kernel: the metrics read a
// policy status and events as the agent hands them over.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentMetrics } from '../src/agent/metrics.js';
import type { PolicyStatus } from '../src/api/protocol.js';

/** Tetragon's metrics: name -> [type, label names in Tetragon's (sorted) order]. */
const TETRAGON: Record<string, [string, string[]]> = {
  tetragon_events_total: ['counter', ['binary', 'namespace', 'node_name', 'pod', 'type', 'workload']],
  tetragon_policy_events_total: ['counter', ['binary', 'hook', 'namespace', 'node_name', 'pod', 'policy', 'workload']],
  tetragon_tracingpolicy_selector_actions_total: [
    'counter',
    ['action', 'hook', 'hook_index', 'policy', 'policy_namespace', 'selector_index', 'selector_label'],
  ],
  tetragon_tracingpolicy_kernel_memory_bytes: ['gauge', ['policy', 'policy_namespace']],
  tetragon_tracingpolicy_loaded: ['gauge', ['state']],
  tetragon_bpf_missed_events_total: ['counter', ['error', 'msg_op']],
  tetragon_observer_ringbuf_events_lost_total: ['counter', []],
  tetragon_observer_ringbuf_events_received_total: ['counter', []],
  tetragon_notify_overflowed_events_total: ['counter', []],
  tetragon_process_cache_size: ['gauge', []],
};

const policy: PolicyStatus = {
  id: 1,
  name: 'kill',
  namespace: 'ns1',
  kind: 'TracingPolicyNamespaced',
  domain: 'api',
  file: 'kill.yaml',
  state: 'enabled',
  mode: 'enforce',
  filterId: 1,
  filtered: true,
  host: false,
  pods: ['ns1/pod1'],
  hooks: ['security_file_permission'],
  sensors: ['tln_kprobe_file'],
  kernelMemory: 4096,
  programMemory: 8192,
  counters: { post: 2, enforce: 1, monitor: 0, nopost: 0 },
  selectors: [{ index: 0, hook: 'security_file_permission', selector: 0, label: 'security_file_permission/0', post: 2, enforce: 1, monitor: 0, nopost: 0 }],
  programs: [{ id: 7, name: 'tln_kprobe_file', run_cnt: 3, run_time_ns: 900 }],
} as PolicyStatus;

/** name -> label sets of its samples, and name -> type, from the exposition text. */
function parse(text: string): { types: Map<string, string>; labels: Map<string, string[][]> } {
  const types = new Map<string, string>();
  const labels = new Map<string, string[][]>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) types.set(t[1], t[2]);
    const s = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? \S+$/.exec(line);
    if (s) labels.set(s[1], [...(labels.get(s[1]) ?? []), s[2] ? [...s[2].matchAll(/(\w+)="/g)].map((m) => m[1]) : []]);
  }
  return { types, labels };
}

test("every Tetragon metric talon has: Tetragon's name, type and labels", async () => {
  const m = new AgentMetrics({
    policies: () => [policy],
    hooks: () => [{ name: 'security_file_permission', kind: 'kprobe', actions: ['Sigkill'] }],
    lost: () => 1,
    dropped: () => 0,
    records: () => 5,
    processCache: () => 3,
    differential: () => ({ checked: 1, agreed: 1, disagreed: 0 }),
    version: '0.1.0',
    node: 'node1',
  });
  const proc = { binary: '/usr/bin/cat', pod: { namespace: 'ns1', name: 'pod1', workload: 'pod1' } };
  m.onEvent({ process_exec: { process: proc } });
  m.onEvent({ process_kprobe: { process: proc, function_name: 'security_file_permission', policy_name: 'kill' } });
  const { types, labels } = parse(await m.text());
  for (const [name, [type, want]] of Object.entries(TETRAGON)) {
    assert.is(types.get(name), type, `${name}: # TYPE ${type}`);
    const got = labels.get(name);
    assert.ok(got && got.length > 0, `${name} has a sample`);
    for (const l of got!) assert.equal(l, want, `${name}{${want.join(',')}}`);
  }
  // standard process metrics, unprefixed as Tetragon's Go client exports them
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'process_open_fds']) {
    assert.ok(types.has(name), name);
  }
  // what only talon has is talon_*: nothing else carries another prefix
  for (const name of types.keys()) assert.match(name, /^(tetragon_|talon_|process_|nodejs_)/, name);
  assert.ok(types.has('talon_build_info') && types.has('talon_evaluator_checks_total'));
});

test.run();
