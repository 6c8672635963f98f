// The event side of the agent, without BPF: event filters (also offline,
// through `talon getevents -i`), and the pipeline from ring-buffer records to
// Tetragon JSON with pod metadata, the evaluator's action and the
// differential check, fed by a recording kernel.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileFilterSet, normaliseEventType, eventType } from '../src/events/filter.js';
import { renderCompact } from '../src/events/compact.js';
import { Agent } from '../src/agent/agent.js';
import { FakeKernel } from './helpers/fake-kernel.js';
import { ApiClient } from '../src/api/client.js';
import { joinArguments, execId } from '../src/agent/process-cache.js';
import { permissionString } from '../src/agent/tetragon-json.js';
import type { HookRecord, ExecRecord, ExitRecord, TaskInfo } from '../src/kernel/records.js';
import type { Pod } from '../src/pods/pod.js';
import { repoRoot, skipUnlessRoot, talon, tempDir, useTestCgroupParent, waitFor } from './helpers/agent.js';

useTestCgroupParent();
const lines = (f: string) =>
  readFileSync(join(repoRoot(), 'examples', 'events', f), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('filters: fields AND, values OR, allow then deny', () => {
  const evs = [...lines('cat-shadow.jsonl'), ...lines('host-cat-shadow.jsonl')];
  const count = (fs: Parameters<typeof compileFilterSet>[0]) => evs.filter(compileFilterSet(fs)).length;
  assert.is(count({}), evs.length);
  assert.is(count({ allow: [{ pod_regex: ['xwing'] }] }), 6);
  assert.is(count({ allow: [{ pod_regex: ['^wing'] }] }), 0, 'regexes are not implicitly anchored at the end only');
  assert.is(count({ allow: [{ namespace: [''] }] }), 3, 'the empty namespace is the host');
  assert.is(count({ allow: [{ namespace: ['default'], event_set: ['PROCESS_KPROBE'] }] }), 3);
  assert.is(count({ allow: [{ event_set: ['PROCESS_EXEC'] }, { event_set: ['PROCESS_EXIT'] }] }), 3 + 2);
  assert.is(count({ allow: [{ namespace: ['default'] }], deny: [{ event_set: ['PROCESS_KPROBE'] }] }), 3);
  assert.is(
    count({ allow: [{ binary_regex: ['/cat$'] }] }),
    evs.filter((e) => JSON.stringify(e).includes('"binary":"/bin/cat"') || JSON.stringify(e).includes('"binary":"/usr/bin/cat"')).length,
  );
  assert.is(count({ allow: [{ policy_names: ['file-monitoring-enforce'] }] }), 3);
  assert.is(count({ allow: [{ policy_names: ['file-monitoring-enforce'], namespace: [''] }] }), 0);
  assert.is(normaliseEventType('exec'), 'PROCESS_EXEC');
  assert.is(normaliseEventType('process_kprobe'), 'PROCESS_KPROBE');
  assert.throws(() => normaliseEventType('nope'), /unknown event type "nope"/);
  assert.throws(() => compileFilterSet({ allow: [{ pod_regex: ['('] }] }), /invalid pod regex/);
  assert.is(eventType(evs[0]), 'PROCESS_EXEC');
});

test('getevents -i: offline filtering, compact like the renderer', async () => {
  const f = join(repoRoot(), 'examples', 'events', 'cat-shadow.jsonl');
  const r = await talon(['getevents', '-i', f, '-o', 'compact', '--pods', 'xwing', '-e', 'PROCESS_KPROBE,PROCESS_EXIT', '--color', 'never']);
  assert.is(r.code, 0, r.stderr);
  const want = lines('cat-shadow.jsonl')
    .filter((e) => e.process_kprobe || e.process_exit)
    .map((e) => renderCompact(e));
  assert.equal(r.stdout.split('\n').filter(Boolean), want);
  assert.equal(want.slice(-1), ['💥 exit    default/xwing /bin/cat /etc/shadow SIGKILL']);
  const j = await talon(['getevents', '-i', f, '-o', 'json', '--count', '2']);
  assert.equal(
    j.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l)),
    lines('cat-shadow.jsonl').slice(0, 2),
  );
  const bad = await talon(['getevents', '-i', f, '--pods', '(']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /invalid pod regex/);
});

test('process helpers', () => {
  assert.is(joinArguments(['-c', 'cat /etc/shadow']), '-c "cat /etc/shadow"');
  assert.is(joinArguments(['/etc/shadow']), '/etc/shadow');
  assert.is(joinArguments(['a"b', '']), '"a\\"b" ""');
  assert.is(Buffer.from(execId('node', 5n, 7), 'base64').toString(), 'node:5:7');
  assert.match(permissionString('/etc/shadow'), /^-r[w-]-r/);
  assert.is(permissionString('/nonexistent'), '');
});

const reason = skipUnlessRoot('agent pipeline');
/** a read hook record (security_file_permission(file, int 4), selector none, Post) of `task` for policy `policyId` */
function fileHook(task: TaskInfo, policyId: number, path: string, over: Partial<HookRecord> = {}): HookRecord {
  return {
    type: 'hook',
    ktime: 2000n,
    flags: 0,
    ...task,
    policyId,
    hookId: 1,
    slot: 0,
    selector: null,
    actions: ['Post'],
    skipped: [],
    mode: 'enforce',
    binary: '/usr/bin/cat',
    error: 0,
    sensor: 'tln_tp_file',
    args: [
      { kind: 'str', value: path },
      { kind: 'int', value: 4n },
    ],
    ...over,
  };
}

/** adds examples/<file> to the agent (namespace default); the policy's id */
async function addExample(c: ApiClient, file: string): Promise<number> {
  await c.call('policy.add', { yaml: readFileSync(join(repoRoot(), 'examples', file), 'utf8'), file: 'f.yaml', namespace: 'default' });
  return (await c.call<{ policies: { id: number }[] }>('policy.list')).policies[0].id;
}

/** An agent over a recording kernel (node name node-a) and a client of it; its pods, the agent and its dir are removed after `fn`, also when it fails. */
async function withPipeline(fn: (c: ApiClient, k: FakeKernel, t: { dir: string }) => Promise<void>): Promise<void> {
  const t = tempDir('talon-pipe-');
  const address = `unix://${join(t.dir, 'talon.sock')}`;
  let agent: Agent | null = null;
  let c: ApiClient | null = null;
  const k = new FakeKernel();
  try {
    agent = await Agent.start({ stateDir: t.dir, serverAddress: address, kernel: k, nodeName: 'node-a', log: () => undefined });
    c = await ApiClient.connect({ address });
    await fn(c, k, t);
  } finally {
    c?.close();
    await agent?.pods.deleteAll();
    await agent?.stop();
    t.remove();
  }
}

if (reason) {
  test.skip('pipeline');
} else {
  test('pipeline: records -> Tetragon JSON with pod, evaluator action, differential check', async () => {
    await withPipeline(async (c, k) => {
      const pod = (
        await c.call<{ pod: Pod }>('pod.add', {
          namespace: 'default',
          name: 'xwing',
          labels: { app: 'xwing' },
          container: { name: 'spaceship', image: 'quay.io/cilium/json-mock:v1.3.8' },
        })
      ).pod;
      const pid = await addExample(c, 'file-monitoring-enforce.yaml');
      const got: Record<string, any>[] = [];
      await c.subscribe({ allow: [{ pod_regex: ['^xwing$'] }] }, (ev) => got.push(ev));

      const task = { pid: 4242, tid: 4242, ppid: process.pid, uid: 0, cgroupId: BigInt(pod.cgroupId), startKtime: 1000n, nsPid: 0 };
      const exec: ExecRecord = { type: 'exec', ktime: 1000n, flags: 0, procfs: false, ...task, binary: '/usr/bin/cat', args: ['cat', '/etc/shadow'], cwd: '/' };
      const hook = (selector: number | null, actions: string[], skipped: string[] = []): HookRecord =>
        fileHook(task, pid, '/etc/shadow', { selector, actions, skipped });
      const exit: ExitRecord = { type: 'exit', ktime: 3000n, flags: 0, ...task, binary: '/usr/bin/cat', code: 9, status: null, signal: 9 };
      const hostExec: ExecRecord = { ...exec, pid: 4343, tid: 4343, cgroupId: 1n };
      k.deliver([exec, hostExec, hook(0, ['Sigkill']), hook(2, ['Sigkill']), exit]);
      await waitFor(() => got.length >= 4);
      assert.equal(
        got.map((e) => Object.keys(e)[0]),
        ['process_exec', 'process_kprobe', 'process_kprobe', 'process_exit'],
        'the host process is filtered out',
      );
      const [ex, kp, , xt] = got;
      const p = ex.process_exec.process;
      assert.is(p.binary, '/usr/bin/cat');
      assert.is(p.arguments, '/etc/shadow');
      assert.is(p.flags, 'execve rootcwd clone');
      assert.is(Buffer.from(p.exec_id, 'base64').toString(), 'node-a:1000:4242');
      assert.equal(p.pod, {
        namespace: 'default',
        name: 'xwing',
        uid: pod.uid,
        container: {
          id: `talon://${pod.cgroupId}`,
          name: 'spaceship',
          image: { id: 'quay.io/cilium/json-mock:v1.3.8', name: 'quay.io/cilium/json-mock:v1.3.8' },
        },
        pod_labels: { app: 'xwing' },
        workload: 'xwing',
        workload_kind: 'Pod',
      });
      assert.is(ex.process_exec.parent.pid, process.pid, 'parent from the /proc scan');
      assert.is(ex.node_name, 'node-a');
      const k0 = kp.process_kprobe;
      assert.is(k0.function_name, 'security_file_permission');
      assert.is(k0.policy_name, 'file-monitoring-enforce');
      assert.is(k0.action, 'KPROBE_ACTION_SIGKILL');
      assert.equal(k0.args, [{ file_arg: { path: '/etc/shadow', permission: permissionString('/etc/shadow') } }, { int_arg: 4 }]);
      assert.is(k0.process.exec_id, p.exec_id);
      assert.is(renderCompact(kp), '📚 read    default/xwing /usr/bin/cat /etc/shadow');
      assert.equal(xt.process_exit.signal, 'SIGKILL');
      assert.is(renderCompact(xt), '💥 exit    default/xwing /usr/bin/cat /etc/shadow SIGKILL');

      // the second hook record claims selector 2 (a write rule) for a read: a disagreement
      const st = await c.call<{ differential: { checked: number; agreed: number; disagreed: number; samples: any[] } }>('status');
      assert.is(st.differential.checked, 2);
      assert.is(st.differential.agreed, 1);
      assert.is(st.differential.disagreed, 1);
      assert.equal(st.differential.samples[0].kernel.selector, 2);
      assert.equal(st.differential.samples[0].evaluator.selector, 0);
    });
  });

  test('exec in place (bash -c "/usr/bin/true x"): the parent is the replaced image, same pid, no clone flag (as Tetragon)', async () => {
    await withPipeline(async (c, k) => {
      const got: Record<string, any>[] = [];
      await c.subscribe({ allow: [{ pid: [5151, 5152] }] }, (ev) => got.push(ev));
      const task = { pid: 5151, tid: 5151, ppid: process.pid, uid: 0, cgroupId: 1n, startKtime: 1000n, nsPid: 0 };
      const bash: ExecRecord = {
        type: 'exec',
        ktime: 1000n,
        flags: 0,
        procfs: false,
        ...task,
        binary: '/bin/bash',
        args: ['bash', '-c', '/usr/bin/true x'],
        cwd: '/',
      };
      const inPlace: ExecRecord = { ...bash, ktime: 2000n, binary: '/usr/bin/true', args: ['/usr/bin/true', 'x'] };
      // a later process that reuses nothing: forked by true's image (a child), its own task
      const child: ExecRecord = { ...bash, pid: 5152, tid: 5152, ppid: 5151, startKtime: 3000n, ktime: 3000n, binary: '/bin/ls', args: ['ls'] };
      k.deliver([bash, inPlace, child]);
      await waitFor(() => got.length >= 3);
      const [b, tr, ch] = got.map((e) => e.process_exec);
      assert.is(b.process.flags, 'execve rootcwd clone');
      assert.is(tr.process.flags, 'execve rootcwd', 'no clone: the task did not fork');
      assert.is(tr.process.pid, 5151);
      assert.is(tr.parent.pid, 5151, 'the parent is the image it replaced, with the same pid');
      assert.is(tr.parent.binary, '/bin/bash');
      assert.is(tr.parent.exec_id, b.process.exec_id);
      assert.is(tr.process.parent_exec_id, b.process.exec_id);
      assert.is(tr.parent.parent_exec_id, b.process.parent_exec_id, "bash's own parent stays its parent");
      assert.is(ch.parent.binary, '/usr/bin/true', "a child's parent is the current image");
      assert.is(ch.process.flags, 'execve rootcwd clone');
    });
  });

  test('objects shared between events follow what they are made of: pod relabelled, another thread, a file chmod-ed between batches', async () => {
    await withPipeline(async (c, k, t) => {
      const pod = (await c.call<{ pod: Pod }>('pod.add', { namespace: 'default', name: 'xwing', labels: { app: 'xwing' } })).pod;
      const pid = await addExample(c, 'file-monitoring.yaml');
      const got: Record<string, any>[] = [];
      await c.subscribe({ allow: [{ event_set: ['PROCESS_KPROBE'] }] }, (ev) => got.push(ev));
      const file = join(t.dir, 'secret');
      writeFileSync(file, 'x');
      chmodSync(file, 0o600);
      const task = { pid: 6161, tid: 6161, ppid: process.pid, uid: 0, cgroupId: BigInt(pod.cgroupId), startKtime: 1000n, nsPid: 0 };
      const exec: ExecRecord = { type: 'exec', ktime: 1000n, flags: 0, procfs: false, ...task, binary: '/usr/bin/cat', args: ['cat', file], cwd: '/' };
      const hook = (tid: number): HookRecord => fileHook(task, pid, file, { tid });
      k.deliver([exec, hook(6161), hook(6162)]);
      await waitFor(() => got.length >= 2);
      await c.call('pod.label', { namespace: 'default', name: 'xwing', set: { tier: 'front' } });
      chmodSync(file, 0o644);
      k.deliver([hook(6161)]);
      await waitFor(() => got.length >= 3);
      const [a, b, after] = got.map((e) => e.process_kprobe);
      assert.equal([a.process.tid, b.process.tid, after.process.tid], [6161, 6162, 6161], 'each event its own thread');
      assert.equal(a.process.pod.pod_labels, { app: 'xwing' });
      assert.equal(after.process.pod.pod_labels, { app: 'xwing', tier: 'front' }, 'the labels of the relabelled pod');
      assert.is(a.args[0].file_arg.permission, '-rw-------');
      assert.is(after.args[0].file_arg.permission, '-rw-r--r--', 'read again in a later batch');
    });
  });
}

test.run();
