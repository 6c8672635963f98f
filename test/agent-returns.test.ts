// Return values of syscall kprobes on a kernel without kprobes: `return: true`
// hooks served by the syscall tracepoint pair (sys_enter_X keeps the record per
// thread, sys_exit_X adds the return value and judges). Tetragon's
// sigkill_return policy shape (lseek whose return is -EBADF -> Sigkill through
// matchReturnActions) kills in a test pod only; an openat hook shows `return`
// (the fd, or a negative errno) and `return_action` in its events;
// matchReturnArgs picks successful opens only; every kernel record gets the
// Wasm core's verdict (the agent's differential check).
// Runs as root; skipped with a reason otherwise. The enforcing selector only
// matches lseek with whence 5555 failing with EBADF, which no real program does,
// and only in the test pod.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { assertStopLeavesNothing, agentStatus, isolatedAgent, jsonEvents, skipUnlessRoot, talon, useTestCgroupParent } from './helpers/agent.js';

useTestCgroupParent();
const reason = skipUnlessRoot('return values of syscall kprobes in the kernel');
const test = suite('agent-returns');

const t = isolatedAgent('ret', 'default/retk');
const A = t.A;
const programs = new Set<number>();

/** Tetragon's sigkill_return test policy (testdata/specs-tmpl), namespaced, without its matchPIDs placeholder */
const SIGKILL_RETURN = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: "sigkill-return"
  namespace: "default"
spec:
  kprobes:
  - call: "sys_lseek"
    syscall: true
    return: true
    args:
    - index: 2
      type: int
    returnArg:
      index: 0
      type: int
    selectors:
    - matchArgs:
      - index: 2
        operator: Equal
        values:
        - "5555"
      matchReturnArgs:
      - index: 0
        operator: "Equal"
        values:
        - "-9" # -EBADF
      matchReturnActions:
      - action: Sigkill
`;

/** every openat of this test's files, with the return value */
const OPENAT_RET = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: "openat-return"
  namespace: "default"
spec:
  kprobes:
  - call: "sys_openat"
    syscall: true
    return: true
    args:
    - index: 1
      type: "string"
    returnArg:
      index: 0
      type: int
    selectors:
    - matchArgs:
      - index: 1
        operator: "Prefix"
        values: ["${t.dir}/rt-"]
`;

/** Tetragon's openat_write example's return filter: successful opens only */
const OPENAT_OK = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: "openat-ok"
  namespace: "default"
spec:
  kprobes:
  - call: "sys_openat"
    syscall: true
    return: true
    args:
    - index: 1
      type: "string"
    returnArg:
      index: 0
      type: int
    selectors:
    - matchArgs:
      - index: 1
        operator: "Prefix"
        values: ["${t.dir}/rt-"]
      matchReturnArgs:
      - index: 0
        operator: "GT"
        values:
        - "0"
`;

const CORPUS_READLINE = join(process.cwd(), '..', 'shared', 'tetragon-corpus', 'policies', 'docs-md__en__docs__concepts__tracing-policy__hooks__L336.yaml');
/** Tetragon's uprobe return example (docs, hooks): the line readline returns, when it starts with "sudo" */
const READLINE_RET = existsSync(CORPUS_READLINE)
  ? readFileSync(CORPUS_READLINE, 'utf8')
  : `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "uprobe-with-selectors"
spec:
  uprobes:
  - path: "/bin/bash"
    symbols:
    - "readline"
    return: true
    returnArg:
      index: 0
      type: "string"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/bin/bash"
        - "/usr/bin/bash"
      matchReturnArgs:
      - index: 0
        operator: "Prefix"
        values:
        - "sudo"
`;

/** an interactive bash (on a pty, so that it reads with readline) fed these lines; its pid */
function interactiveBash(lines: string[]): number {
  const input = ['echo TLNPID=$$', ...lines, 'exit'].join('\n') + '\n';
  const r = spawnSync('script', ['-qc', 'bash --norc --noprofile -i', '/dev/null'], {
    input,
    encoding: 'utf8',
    timeout: 20000,
    env: { ...process.env, TERM: 'dumb' },
  });
  const m = /TLNPID=(\d+)/.exec(r.stdout ?? '');
  assert.ok(m, `bash pid in: ${JSON.stringify(r.stdout)}`);
  return Number(m![1]);
}

/** lseek(fd, 0, 5555) from python: exit 1 with the errno unless killed */
const lseek = (fd: string) => [
  'python3',
  '-c',
  `import os\nfd = ${fd}\ntry:\n  os.lseek(fd, 0, 5555)\nexcept OSError as e:\n  print(e.errno)\n  raise SystemExit(1)`,
];

if (reason) {
  test.skip('return values of syscall kprobes in the kernel');
} else {
  test.after(async () => {
    await t.stop();
  });

  test('tp add: return: true syscall hooks load on the syscall tracepoint pair', async () => {
    await t.start();
    let r;
    for (const [name, text] of [
      ['sigkill-return.yaml', SIGKILL_RETURN],
      ['openat-return.yaml', OPENAT_RET],
      ['openat-ok.yaml', OPENAT_OK],
      ['readline-return.yaml', READLINE_RET],
    ]) {
      const f = join(t.dir, name);
      writeFileSync(f, text);
      r = await talon(['tp', 'add', f, ...A]);
      assert.is(r.code, 0, r.stderr);
      assert.match(r.stdout, name === 'readline-return.yaml' ? /generic_uprobe/ : /generic_kprobe_syscall_tp/);
    }
    r = await talon(['tp', 'list', '-o', 'json', ...A]);
    for (const p of JSON.parse(r.stdout).policies) for (const id of p.programs ?? []) programs.add(typeof id === 'number' ? id : id.id);
    // each return hook: its entry and its exit program
    assert.ok(programs.size >= 8, `programs: ${[...programs].join(',')}`);
  });

  test('matchReturnActions: lseek failing with EBADF is killed in the pod (137); EINVAL is not; the host is not', async () => {
    const g = await jsonEvents([], A);
    let r = await talon(['exec', 'retk', ...A, '--', ...lseek('-1')]);
    assert.is(r.code, 137, `killed in the pod: ${r.stdout} ${r.stderr}`);
    // a valid fd: lseek fails with EINVAL (22), the return filter does not match
    r = await talon(['exec', 'retk', ...A, '--', ...lseek('os.open("/dev/null", os.O_RDONLY)')]);
    assert.is(r.code, 1, r.stderr);
    assert.is(r.stdout.trim(), '22');
    const host = spawnSync('python3', lseek('-1').slice(1), { encoding: 'utf8' });
    assert.is(host.status, 1, 'the namespaced policy does not cover the host');
    assert.is(host.stdout.trim(), '9', 'EBADF on the host');
    const events = await g.stop();
    const kp = events.filter((e) => e.process_kprobe?.policy_name === 'sigkill-return').map((e) => e.process_kprobe);
    assert.is(kp.length, 1, JSON.stringify(kp).slice(0, 2000));
    const k = kp[0];
    assert.equal(
      [k.function_name, k.args, k.return, k.action, k.return_action],
      ['__x64_sys_lseek', [{ int_arg: 5555 }], { int_arg: -9 }, 'KPROBE_ACTION_POST', 'KPROBE_ACTION_SIGKILL'],
    );
    assert.is(k.process.pod?.name, 'retk');
    assert.ok(
      events.some((e) => e.process_exit?.process.pid === k.process.pid && e.process_exit.signal === 'SIGKILL'),
      'the exit shows SIGKILL',
    );
  });

  test('return in events: the fd of a successful openat, -ENOENT of a failed one; matchReturnArgs GT 0 posts the first only', async () => {
    writeFileSync(join(t.dir, 'rt-file'), 'talon\n');
    const g = await jsonEvents([], A);
    let r = await talon(['exec', 'retk', ...A, '--', 'cat', join(t.dir, 'rt-file')]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'talon\n');
    r = await talon(['exec', 'retk', ...A, '--', 'cat', join(t.dir, 'rt-missing')]);
    assert.is(r.code, 1);
    const events = await g.stop();
    const of = (policy: string, file: string) =>
      events.filter((e) => e.process_kprobe?.policy_name === policy && e.process_kprobe.args[0]?.string_arg === join(t.dir, file)).map((e) => e.process_kprobe);
    const ok = of('openat-return', 'rt-file');
    assert.is(ok.length, 1, JSON.stringify(events).slice(0, 2000));
    assert.is(ok[0].function_name, '__x64_sys_openat');
    assert.ok(ok[0].return.int_arg >= 3, `the fd: ${JSON.stringify(ok[0].return)}`);
    assert.is(ok[0].return_action, 'KPROBE_ACTION_POST');
    const missing = of('openat-return', 'rt-missing');
    assert.is(missing.length, 1);
    assert.equal(missing[0].return, { int_arg: -2 });
    assert.is(of('openat-ok', 'rt-file').length, 1, 'a successful open matches GT 0');
    assert.equal(of('openat-ok', 'rt-file')[0].return, ok[0].return);
    assert.is(of('openat-ok', 'rt-missing').length, 0, 'a failed open does not');
    // dry-run replays the kernel's events with the same verdicts: post for both opens of openat-return,
    // only the successful one for openat-ok
    const f = join(t.dir, 'replay.jsonl');
    writeFileSync(f, [ok[0], missing[0]].map((e) => JSON.stringify({ process_kprobe: e })).join('\n') + '\n');
    const dr = await talon(['dry-run', '-n', 'default', '-p', join(t.dir, 'openat-ok.yaml'), '-e', f, '-o', 'compact', '--color', 'never']);
    assert.is(dr.code, 0, dr.stderr);
    const out = dr.stdout.split('\n').filter(Boolean);
    assert.match(out[0], /➜ post \(default\/openat-ok\/0 Post/);
    assert.not.match(out[1], /openat-ok/);
  });

  test('uprobe return probe: the line readline returns is the return string of the event; matchReturnArgs Prefix picks it', async () => {
    const g = await jsonEvents([], A);
    const pid = interactiveBash(['sudoers-tln-missing 2>/dev/null', 'echo plain']);
    const events = await g.stop();
    const ups = events
      .filter((e) => e.process_uprobe?.policy_name === 'uprobe-with-selectors' && e.process_uprobe.process.pid === pid)
      .map((e) => e.process_uprobe);
    assert.is(ups.length, 1, JSON.stringify(ups).slice(0, 2000));
    assert.equal([ups[0].path, ups[0].symbol, ups[0].return], ['/bin/bash', 'readline', { string_arg: 'sudoers-tln-missing 2>/dev/null' }]);
  });

  test('differential check: the evaluator agrees with every kernel record', async () => {
    const st = await agentStatus(A);
    assert.ok(st.differential.checked >= 4, JSON.stringify(st.differential));
    assert.is(st.differential.disagreed, 0, JSON.stringify(st.differential.samples, null, 2));
  });

  test('stop: no program of the agent is left; pods removed', async () => {
    assert.is((await talon(['pod', 'delete', 'default/retk', ...A])).code, 0);
    const a = t.agent!;
    t.agent = null;
    await assertStopLeavesNothing(a, programs);
  });
}

test.run();
