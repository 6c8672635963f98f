// Kprobes on syscalls on a kernel without kprobes: Tetragon's own
// lseek-namespaced policy (docs, k8s-filtering) and a `__x64_sys_openat`
// kprobe with a string argument, served by the syscall tracepoints
// (sensor generic_kprobe_syscall_tp). lseek(-1) is killed in a test pod and
// not on the host; the openat event is a process_kprobe as Tetragon writes it;
// dry-run replays the agent's events with the same verdicts.
// Runs as root; skipped with a reason otherwise. The enforcing selector only
// matches lseek on fd -1, which no real program does, and only in the test pod.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { assertStopLeavesNothing, agentStatus, isolatedAgent, jsonEvents, skipUnlessRoot, talon, useTestCgroupParent } from './helpers/agent.js';
import { listDupsPolicy, listIdsPolicy } from './helpers/core.js';

useTestCgroupParent();
const reason = skipUnlessRoot('kprobes on syscalls in the kernel');
const test = suite('agent-syscalls');

const t = isolatedAgent('sys', 'default/sysk');
const A = t.A;
const programs = new Set<number>();

const CORPUS_LSEEK = join(
  process.cwd(),
  '..',
  'shared',
  'tetragon-corpus',
  'policies',
  'docs-md__en__docs__concepts__tracing-policy__k8s-filtering__L307.yaml',
);
/** Tetragon's lseek-namespaced policy, as its docs give it */
const LSEEK = existsSync(CORPUS_LSEEK)
  ? readFileSync(CORPUS_LSEEK, 'utf8')
  : `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: "lseek-namespaced"
spec:
  kprobes:
  - call: "sys_lseek"
    syscall: true
    args:
    - index: 0
      type: "int"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Equal"
        values:
        - "-1"
      matchActions:
      - action: Sigkill
`;

const OPENAT = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: "openat-kprobe"
  namespace: "default"
spec:
  kprobes:
  - call: "__x64_sys_openat"
    syscall: true
    args:
    - index: 1
      type: "string"
    - index: 2
      type: "int"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Prefix"
        values: ["${t.dir}/sc-"]
`;

/** Tetragon's fd-install example (docs, tracing-policy/example), namespaced and aimed at this test's files */
const FD_INSTALL = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: "fd-install"
  namespace: "default"
spec:
  kprobes:
  - call: "fd_install"
    syscall: false
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "file"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Equal"
        values:
        - "${t.dir}/fd-kill"
      matchActions:
      - action: Sigkill
    - matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "${t.dir}/fd-seen"
`;

/** Tetragon's list-syscalls examples, namespaced: dup/dup2 of fd -7 killed; raw_syscalls with dup3's id (292) seen */
const DUPS = listDupsPolicy('default');
const RAW_IDS = listIdsPolicy('list-raw-ids', ['sys_dup3'], 'default');

/** Tetragon's raw_syscalls example (examples/tracingpolicy/raw_syscalls.yaml): the syscall64 id of every syscall, namespaced and limited to /usr/bin/true */
const RAW64 = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: "raw-syscalls"
  namespace: "default"
spec:
  tracepoints:
  - subsystem: "raw_syscalls"
    event: "sys_enter"
    args:
    - index: 4
      type: "syscall64"
    selectors:
    - matchBinaries:
      - operator: In
        values: ["/usr/bin/true"]
`;

/** lseek(fd, 0, whence) from python: exit 1 printing the errno unless killed */
function lseekPy(fd: number, whence: number): string[] {
  return ['python3', '-c', `import os\ntry:\n  os.lseek(${fd}, 0, ${whence})\nexcept OSError as e:\n  print(e.errno)\n  raise SystemExit(1)`];
}

/** argv is killed in the pod (137) and fails with EBADF on the host (the namespaced policy does not cover it) */
async function killedInPodEbadfOnHost(argv: string[]): Promise<void> {
  const r = await talon(['exec', 'sysk', ...A, '--', ...argv]);
  assert.is(r.code, 137, `killed in the pod: ${r.stdout} ${r.stderr}`);
  const host = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  assert.is(host.status, 1, 'the namespaced policy does not cover the host');
  assert.is(host.stdout.trim(), '9', 'EBADF on the host');
}

/** Tetragon's tracepoint-lseek example's shape (pkg/tracingpolicy/examples): fields typed auto (one
 * without a type, the CRD default), typed from this kernel's format when the agent loads it */
const AUTO_LSEEK = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: "auto-lseek"
  namespace: "default"
spec:
  tracepoints:
  - subsystem: "syscalls"
    event: "sys_enter_lseek"
    args:
    - index: 7
      type: "auto"
    - index: 5
    selectors:
    - matchArgs:
      - index: 7
        operator: Equal
        values: ["4"]
      - index: 5
        operator: Equal
        values: ["4444"]
      matchActions:
      - action: Sigkill
`;

/** lseek(4444, 0, SEEK_HOLE): exit 1 with EBADF unless killed */
const LSEEK_4444 = lseekPy(4444, 4);

/** libc's dup(-7) or dup2(-7, 9) through python's ctypes (os.dup uses fcntl): exit 1 with the errno unless killed */
const dupM7 = (call: string) => [
  'python3',
  '-c',
  `import ctypes\nc = ctypes.CDLL(None, use_errno=True)\nc.${call}\nprint(ctypes.get_errno())\nraise SystemExit(1)`,
];

/** lseek(-1, 0, SEEK_SET) from python: exit 1 with EBADF unless killed */
const LSEEK_M1 = lseekPy(-1, 0);

if (reason) {
  test.skip('kprobes on syscalls in the kernel');
} else {
  test.after(async () => {
    await t.stop();
  });

  test('tp add: Tetragon lseek-namespaced and an __x64_sys_openat kprobe load, served by the syscall tracepoints', async () => {
    await t.start();
    let r;
    for (const [name, text] of [
      ['lseek.yaml', LSEEK],
      ['openat.yaml', OPENAT],
      ['fd-install.yaml', FD_INSTALL],
      ['dups.yaml', DUPS],
      ['raw-ids.yaml', RAW_IDS],
      ['raw-syscalls.yaml', RAW64],
      ['auto-lseek.yaml', AUTO_LSEEK],
    ]) {
      const f = join(t.dir, name);
      writeFileSync(f, text);
      r = await talon(['tp', 'add', f, ...A]);
      assert.is(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        name === 'fd-install.yaml'
          ? /generic_kprobe_open_tp/
          : name.startsWith('raw-') || name.startsWith('auto-')
            ? /generic_tracepoint/
            : /generic_kprobe_syscall_tp/,
      );
    }
    r = await talon(['tp', 'list', ...A]);
    // a list hook: one instance per syscall of the list, all on the syscall tracepoints
    assert.match(r.stdout, /list-dups\s+\S+\s+enabled\s+\d+\s+default\s+generic_kprobe_syscall_tp\s/);
    assert.match(r.stdout, /lseek-namespaced\s+\S+\s+enabled\s+\d+\s+default\s+generic_kprobe_syscall_tp\s/);
    r = await talon(['tp', 'list', '-o', 'json', ...A]);
    for (const p of JSON.parse(r.stdout).policies) for (const id of p.programs ?? []) programs.add(typeof id === 'number' ? id : id.id);
  });

  test('lseek(-1) is killed in the pod (137), fails with EBADF on the host; openat events are process_kprobe', async () => {
    writeFileSync(join(t.dir, 'sc-file'), 'talon\n');
    const g = await jsonEvents([], A);
    await killedInPodEbadfOnHost(LSEEK_M1);
    const r = await talon(['exec', 'sysk', ...A, '--', 'cat', join(t.dir, 'sc-file')]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'talon\n');
    const events = await g.stop();
    const kp = events.filter((e) => e.process_kprobe).map((e) => e.process_kprobe);
    const kill = kp.find((k) => k.policy_name === 'lseek-namespaced');
    assert.ok(kill, JSON.stringify(kp).slice(0, 2000));
    assert.equal([kill.function_name, kill.action, kill.args], ['__x64_sys_lseek', 'KPROBE_ACTION_SIGKILL', [{ int_arg: -1 }]]);
    assert.is(kill.process.pod?.name, 'sysk');
    assert.ok(
      events.some((e) => e.process_exit?.process.pid === kill.process.pid && e.process_exit.signal === 'SIGKILL'),
      'the exit shows SIGKILL',
    );
    const open = kp.find((k) => k.policy_name === 'openat-kprobe' && k.args[0]?.string_arg === join(t.dir, 'sc-file'));
    assert.ok(open, 'the openat of sc-file');
    assert.equal([open.function_name, open.action], ['__x64_sys_openat', 'KPROBE_ACTION_POST']);
    assert.type(open.args[1].int_arg, 'number');

    // dry-run replays them: kill for the lseek, post for the open
    const f = join(t.dir, 'replay.jsonl');
    writeFileSync(f, [{ process_kprobe: kill }, { process_kprobe: open }].map((e) => JSON.stringify(e)).join('\n') + '\n');
    const dr = await talon([
      'dry-run',
      '-n',
      'default',
      '-p',
      join(t.dir, 'lseek.yaml'),
      join(t.dir, 'openat.yaml'),
      '-e',
      f,
      '-o',
      'compact',
      '--color',
      'never',
    ]);
    assert.is(dr.code, 0, dr.stderr);
    const out = dr.stdout.split('\n').filter(Boolean);
    assert.match(out[0], /➜ kill \(default\/lseek-namespaced\/0 Sigkill\)$/);
    assert.match(out[1], /➜ post \(default\/openat-kprobe\/0 Post \[monitor_only\]\)$/);
  });

  test('fd_install without kprobes: the file opened in the pod is killed before the task uses it; events carry fd and file', async () => {
    writeFileSync(join(t.dir, 'fd-kill'), 'secret\n');
    writeFileSync(join(t.dir, 'fd-seen'), 'seen\n');
    const g = await jsonEvents([], A);
    let r = await talon(['exec', 'sysk', ...A, '--', 'cat', join(t.dir, 'fd-kill')]);
    assert.is(r.code, 137, `killed in the pod: ${r.stderr}`);
    assert.is(r.stdout, '', 'nothing read');
    const host = spawnSync('cat', [join(t.dir, 'fd-kill')], { encoding: 'utf8' });
    assert.is(host.status, 0, 'the host is not in scope');
    r = await talon(['exec', 'sysk', ...A, '--', 'cat', join(t.dir, 'fd-seen')]);
    assert.is(r.code, 0, r.stderr);
    // a failed open installs no fd: no event
    r = await talon(['exec', 'sysk', ...A, '--', 'cat', join(t.dir, 'fd-seen-missing')]);
    assert.is(r.code, 1);
    const events = await g.stop();
    const fds = events.filter((e) => e.process_kprobe?.function_name === 'fd_install').map((e) => e.process_kprobe);
    const kill = fds.find((k) => k.args[1]?.file_arg?.path === join(t.dir, 'fd-kill'));
    assert.ok(kill, JSON.stringify(fds).slice(0, 1500));
    assert.is(kill.action, 'KPROBE_ACTION_SIGKILL');
    assert.ok(kill.args[0].int_arg >= 3, `the fd: ${JSON.stringify(kill.args[0])}`);
    const seen = fds.find((k) => k.args[1]?.file_arg?.path === join(t.dir, 'fd-seen'));
    assert.is(seen?.action, 'KPROBE_ACTION_POST');
    assert.not.ok(
      fds.some((k) => String(k.args[1]?.file_arg?.path ?? '').includes('missing') || k.args[0]?.int_arg < 0),
      'no event for the failed open',
    );
  });

  test('list:dups: dup(-7) and dup2(-7, 9) are killed in the pod, EBADF on the host; each event names its syscall', async () => {
    const g = await jsonEvents([], A);
    for (const call of ['dup(-7)', 'dup2(-7, 9)']) {
      const r = await talon(['exec', 'sysk', ...A, '--', ...dupM7(call)]);
      assert.is(r.code, 137, `${call} killed in the pod: ${r.stdout} ${r.stderr}`);
      const host = spawnSync('python3', dupM7(call).slice(1), { encoding: 'utf8' });
      assert.is(host.status, 1, `${call}: the namespaced policy does not cover the host`);
      assert.is(host.stdout.trim(), '9', `${call}: EBADF on the host`);
    }
    // dup of a valid fd in the pod: not matched, not killed; dup3 is in list-raw-ids' list (x86_64 id 292)
    const ok = await talon(['exec', 'sysk', ...A, '--', 'python3', '-c', 'import ctypes; c = ctypes.CDLL(None); assert c.dup(1) > 2; c.dup3(-7, 9, 0)']);
    assert.is(ok.code, 0, ok.stderr);
    const events = await g.stop();
    const raw = events.filter((e) => e.process_tracepoint?.policy_name === 'list-raw-ids').map((e) => e.process_tracepoint);
    assert.ok(raw.length >= 1, 'the dup3 in the pod is seen at raw_syscalls/sys_enter');
    assert.equal([...new Set(raw.map((r) => JSON.stringify(r.args)))], [JSON.stringify([{ size_arg: '292' }])], 'only the listed syscall, by its id');
    const kills = events.filter((e) => e.process_kprobe?.policy_name === 'list-dups').map((e) => e.process_kprobe);
    assert.equal(
      kills.filter((k) => k.action === 'KPROBE_ACTION_SIGKILL').map((k) => [k.function_name, k.args]),
      [
        ['__x64_sys_dup', [{ int_arg: -7 }]],
        ['__x64_sys_dup2', [{ int_arg: -7 }]],
      ],
    );
  });

  test('syscall64 (raw_syscalls): each syscall of /usr/bin/true in the pod is a syscall_id {id, abi: x64}, exit_group among them; none from the host', async () => {
    const g = await jsonEvents([], A);
    assert.is((await talon(['exec', 'sysk', ...A, '--', '/usr/bin/true'])).code, 0);
    assert.is(spawnSync('/usr/bin/true').status, 0);
    const events = await g.stop();
    const raw = events.filter((e) => e.process_tracepoint?.policy_name === 'raw-syscalls').map((e) => e.process_tracepoint);
    assert.ok(raw.length >= 5, `the syscalls of true: ${raw.length} events`);
    assert.ok(
      raw.every((r) => r.process.pod?.name === 'sysk' && r.args.length === 1 && r.args[0].syscall_id?.abi === 'x64'),
      JSON.stringify(raw.slice(0, 3).map((r) => r.args)),
    );
    const ids = new Set(raw.map((r) => r.args[0].syscall_id.id));
    assert.ok(ids.has(231), `exit_group (231) among ${[...ids]}`);
    assert.ok(ids.has(59) || ids.has(12), `execve's (59) or brk (12) among ${[...ids]}`);
  });

  test('auto fields: typed from the format at load (whence uint32, fd uint32); lseek(4444, 0, 4) killed in the pod, EBADF on the host; dry-run agrees', async () => {
    const g = await jsonEvents([], A);
    await killedInPodEbadfOnHost(LSEEK_4444);
    // another whence on the same fd in the pod: not matched
    const other = await talon(['exec', 'sysk', ...A, '--', 'python3', '-c', 'import os\ntry:\n  os.lseek(4444, 0, 3)\nexcept OSError:\n  pass']);
    assert.is(other.code, 0, other.stderr);
    const events = await g.stop();
    const tps = events.filter((e) => e.process_tracepoint?.policy_name === 'auto-lseek').map((e) => e.process_tracepoint);
    assert.is(tps.length, 1, JSON.stringify(tps).slice(0, 1500));
    assert.equal([tps[0].action, tps[0].args], ['KPROBE_ACTION_SIGKILL', [{ uint_arg: 4 }, { uint_arg: 4444 }]]);
    const f = join(t.dir, 'auto-replay.jsonl');
    writeFileSync(f, JSON.stringify({ process_tracepoint: tps[0] }) + '\n');
    // dry-run compiles the policy as written (auto): the values say integers
    const dr = await talon(['dry-run', '-n', 'default', '-p', join(t.dir, 'auto-lseek.yaml'), '-e', f, '-o', 'compact', '--color', 'never']);
    assert.is(dr.code, 0, dr.stderr);
    assert.match(dr.stdout, /➜ kill \(default\/auto-lseek\/0 Sigkill\)$/m);
  });

  test('differential check: the evaluator agrees with every kernel record', async () => {
    const st = await agentStatus(A);
    assert.ok(st.differential.checked >= 2, JSON.stringify(st.differential));
    assert.is(st.differential.disagreed, 0, JSON.stringify(st.differential.samples, null, 2));
  });

  test('stop: no program of the agent is left; pods removed', async () => {
    assert.is((await talon(['pod', 'delete', 'default/sysk', ...A])).code, 0);
    const a = t.agent!;
    t.agent = null;
    await assertStopLeavesNothing(a, programs);
  });
}

test.run();
