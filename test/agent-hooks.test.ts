// Tracepoint and uprobe policies through the agent and the CLI, as a user
// drives them: tp add (Tetragon's trace-bash-readline example and a
// sys_enter_openat policy), tp list (their sensors), getevents (Tetragon's
// process_uprobe / process_tracepoint JSON and compact lines), a Sigkill in a
// pod, the differential check, dry-run replaying the events, no leftovers.
// Runs as root; skipped with a reason otherwise. The only enforcing selector
// is scoped to a test pod and to files under this test's temp dir.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, realpathSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  assertStopLeavesNothing,
  agentStatus,
  jsonEvents,
  repoRoot,
  skipUnlessRoot,
  spawnAgent,
  talon,
  talonBackground,
  terminate,
  tempDir,
  useTestCgroupParent,
} from './helpers/agent.js';

useTestCgroupParent();
const reason = skipUnlessRoot('agent hooks in the kernel');
const test = suite('agent-hooks');

type Json = Record<string, any>;

const t = tempDir('talon-hooks-');
const sock = join(t.dir, 'talon.sock');
const A = ['--server-address', `unix://${sock}`];
let agent: ReturnType<typeof talonBackground> | null = null;
const programs = new Set<number>();

const OPENAT = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: "openat-test"
  namespace: "default"
spec:
  tracepoints:
  - subsystem: "syscalls"
    event: "sys_enter_openat"
    message: "test file opened"
    tags: ["talon.test"]
    args:
    - index: 5
      type: "int"
    - index: 6
      type: "string"
    - index: 7
      type: "int"
    selectors:
    - matchArgs:
      - index: 6
        operator: "Prefix"
        values: ["${t.dir}/kill-"]
      matchActions:
      - action: "Sigkill"
    - matchArgs:
      - index: 6
        operator: "Prefix"
        values: ["${t.dir}/tp-"]
`;

const status = () => agentStatus(A);

const getevents = (args: string[]) => jsonEvents(args, A);

async function compact(events: Json[]): Promise<string[]> {
  const f = join(t.dir, `events-${Date.now()}.jsonl`);
  writeFileSync(f, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const r = await talon(['getevents', '-i', f, '-o', 'compact', '--color', 'never']);
  assert.is(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

/** an interactive bash on a pty, fed `lines`; its pid */
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

if (reason) {
  test.skip('agent hooks in the kernel');
} else {
  test.after(async () => {
    if (agent) {
      await talon(['pod', 'delete', 'default/hooks', ...A]).catch(() => undefined);
      await terminate(agent);
    }
    t.remove();
  });

  test('agent, pod, and both policies: tp list shows generic_uprobe and generic_tracepoint as Tetragon does', async () => {
    agent = await spawnAgent(['--state-dir', join(t.dir, 'state'), ...A, '--node-name', 'talon-hooks']);
    let r = await talon(['pod', 'add', 'default/hooks', ...A]);
    assert.is(r.code, 0, r.stderr);
    r = await talon(['tp', 'add', join(repoRoot(), 'examples', 'trace-bash-readline.yaml'), ...A]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /tracing policy trace-bash-readline added \(monitor_only, generic_uprobe\)/);
    const f = join(t.dir, 'openat.yaml');
    writeFileSync(f, OPENAT);
    r = await talon(['tp', 'add', f, ...A]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /tracing policy default\/openat-test added \(enforce, generic_tracepoint\)/);
    r = await talon(['tp', 'list', ...A]);
    assert.match(r.stdout, /trace-bash-readline\s+grpc\s+enabled\s+\d+\s+\(global\)\s+generic_uprobe\s/);
    assert.match(r.stdout, /openat-test\s+grpc\s+enabled\s+\d+\s+default\s+generic_tracepoint\s/);
    r = await talon(['tp', 'list', '-o', 'json', ...A]);
    for (const p of JSON.parse(r.stdout).policies) for (const id of p.programs) programs.add(id);
  });

  test('events: process_uprobe per line bash reads, process_tracepoint per open; Sigkill in the pod', async () => {
    for (const f of ['tp-a', 'kill-x']) writeFileSync(join(t.dir, f), 'talon\n');
    const g = await getevents([]);
    const pid = interactiveBash(['echo one']);
    let r = await talon(['exec', 'hooks', ...A, '--', 'cat', join(t.dir, 'tp-a')]);
    assert.is(r.code, 0, r.stderr);
    r = await talon(['exec', 'hooks', ...A, '--', 'cat', join(t.dir, 'kill-x')]);
    assert.is(r.code, 137, r.stderr);
    assert.is(r.stdout, '');
    const host = spawnSync('cat', [join(t.dir, 'kill-x')], { encoding: 'utf8' });
    assert.is(host.status, 0, 'the namespaced policy does not cover the host');
    const events = await g.stop();

    const ups = events.filter((e) => e.process_uprobe && e.process_uprobe.process.pid === pid);
    assert.is(ups.length, 3, `readline returned 3 lines: ${ups.length}`);
    const u = ups[0].process_uprobe;
    const bash = realpathSync('/bin/bash');
    assert.equal([u.path, u.symbol, u.policy_name, u.action, u.process.binary], ['/bin/bash', 'readline', 'trace-bash-readline', 'KPROBE_ACTION_POST', bash]);
    assert.ok(u.parent, 'parent process');
    assert.is(ups[0].node_name, 'talon-hooks');

    const tps = events.filter((e) => e.process_tracepoint);
    const post = tps.find((e) => e.process_tracepoint.args[1]?.string_arg === join(t.dir, 'tp-a'))?.process_tracepoint;
    assert.ok(post, JSON.stringify(tps));
    assert.equal(
      [post.subsys, post.event, post.policy_name, post.action, post.message, post.tags],
      ['syscalls', 'sys_enter_openat', 'openat-test', 'KPROBE_ACTION_POST', 'test file opened', ['talon.test']],
    );
    assert.equal(post.args[0], { int_arg: -100 });
    assert.type(post.args[2].int_arg, 'number');
    assert.is(post.process.pod.name, 'hooks');
    const kill = tps.find((e) => e.process_tracepoint.args[1]?.string_arg === join(t.dir, 'kill-x'))?.process_tracepoint;
    assert.is(kill?.action, 'KPROBE_ACTION_SIGKILL');
    assert.ok(
      events.some((e) => e.process_exit?.process.pid === kill.process.pid && e.process_exit.signal === 'SIGKILL'),
      'the exit shows SIGKILL',
    );

    const lines = await compact([...ups, ...tps.filter((e) => e.process_tracepoint.process.pod)]);
    assert.is(lines[0], `🕵️ uprobe  talon-hooks ${bash} /bin/bash readline`);
    const cat = realCat();
    assert.ok(lines.includes(`⁉️ tracepoint default/hooks ${cat} syscalls sys_enter_openat`), lines.join('\n'));

    // talon dry-run replays the events: post for the lines and the open, kill for the other open
    const f = join(t.dir, 'replay.jsonl');
    writeFileSync(f, [ups[0], { process_tracepoint: post }, { process_tracepoint: kill }].map((e) => JSON.stringify(e)).join('\n') + '\n');
    const pol = join(t.dir, 'openat.yaml');
    const dr = await talon(['dry-run', '-p', join(repoRoot(), 'examples', 'trace-bash-readline.yaml'), pol, '-e', f, '-o', 'compact', '--color', 'never']);
    assert.is(dr.code, 0, dr.stderr);
    const out = dr.stdout.split('\n').filter(Boolean);
    assert.is(out[0], `🕵️ uprobe  talon-hooks ${bash} /bin/bash readline ➜ post (trace-bash-readline/-1 Post [monitor_only])`);
    assert.match(out[1], /➜ post \(default\/openat-test\/1 Post\)$/);
    assert.match(out[2], /➜ kill \(default\/openat-test\/0 Sigkill\)$/);
  });

  test('differential check: the evaluator agrees with every kernel record', async () => {
    const st = await status();
    assert.ok(st.differential.checked >= 5, JSON.stringify(st.differential));
    assert.is(st.differential.disagreed, 0, JSON.stringify(st.differential.samples, null, 2));
  });

  test('stop: no program of the agent is left; pods removed', async () => {
    assert.is((await talon(['pod', 'delete', 'default/hooks', ...A])).code, 0);
    const a = agent!;
    agent = null;
    await assertStopLeavesNothing(a, programs, 2);
    assert.not.ok(existsSync(sock));
  });
}

function realCat(): string {
  return execFileSync('/bin/sh', ['-c', 'readlink -f "$(command -v cat)"'], { encoding: 'utf8' }).trim();
}

test.run();
