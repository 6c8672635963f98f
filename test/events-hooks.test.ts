// Tracepoint and uprobe events in src/events: compact lines as Tetragon prints
// them, the EvalEvent they become, and `talon dry-run` replaying the recorded
// examples (examples/events/bash-readline.jsonl, openat.jsonl).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compile, Evaluator } from '../src/core/index.js';
import type { EvalEvent } from '../src/core/types.js';
import { checkPolicies } from '../src/policy/index.js';
import { coreHookLookup, renderCompact, RecordWriter, toEvalEvent, type TetragonEvent } from '../src/events/index.js';
import { fastEvaluate } from '../src/events/dryrun.js';
import { rawSyscallName } from '../src/events/compact.js';
import { syscallId, syscallName } from '../src/events/syscalls.js';
import { argJson } from '../src/agent/tetragon-json.js';
import * as G from '../src/abi/generated.js';
import { ROOT, runCli, verdicts } from './helpers/cli.js';

const proc = { pid: 7, tid: 8, binary: '/usr/bin/bash', pod: { namespace: 'ns', name: 'p' } };

test('compact: uprobe, tracepoint, raw_syscalls/sys_enter', () => {
  const up = { process_uprobe: { process: proc, path: '/bin/bash', symbol: 'readline' }, node_name: 'n' } as TetragonEvent;
  assert.is(renderCompact(up), '🕵️ uprobe  ns/p /usr/bin/bash /bin/bash readline');
  const tp = {
    process_tracepoint: { process: { ...proc, pod: undefined }, subsys: 'syscalls', event: 'sys_enter_openat', args: [] },
    node_name: 'node1',
  } as TetragonEvent;
  assert.is(renderCompact(tp), '⁉️ tracepoint node1 /usr/bin/bash syscalls sys_enter_openat');
  const raw = (arg: unknown) => ({ process_tracepoint: { process: proc, subsys: 'raw_syscalls', event: 'sys_enter', args: [arg] } }) as TetragonEvent;
  assert.is(renderCompact(raw({ long_arg: '257' })), '☎  syscall ns/p /usr/bin/bash openat');
  assert.is(renderCompact(raw({ syscall_id: { id: 59, abi: 'x64' } })), '☎  syscall ns/p /usr/bin/bash execve');
  assert.is(renderCompact(raw({ syscall_id: { id: 11, abi: 'i386' } })), '☎  syscall ns/p /usr/bin/bash unknown');
  assert.is(renderCompact(raw({ long_arg: '100000' })), '☎  syscall ns/p /usr/bin/bash unknown');
});

test('x86_64 syscall names', () => {
  assert.equal([syscallName(0), syscallName(257), syscallName(435), syscallName(-1), syscallName(1e6)], ['read', 'openat', 'clone3', null, null]);
  assert.is(rawSyscallName(undefined), 'unknown');
});

test('toEvalEvent: hook names "subsys/event" and "path:symbol", args in order', () => {
  const tp = toEvalEvent({
    process_tracepoint: { process: proc, subsys: 'syscalls', event: 'sys_enter_openat', args: [{ int_arg: -100 }, { string_arg: '/etc/x' }, { int_arg: 64 }] },
  } as TetragonEvent)!;
  assert.equal(
    [tp.kind, tp.hook, tp.args],
    [
      'tracepoint',
      'syscalls/sys_enter_openat',
      [
        { kind: 'int', value: -100n },
        { kind: 'str', value: '/etc/x' },
        { kind: 'int', value: 64n },
      ],
    ],
  );
  const up = toEvalEvent({ process_uprobe: { process: proc, path: '/bin/bash', symbol: 'readline' } } as TetragonEvent)!;
  assert.equal([up.kind, up.hook, up.args, up.pid, up.tid], ['uprobe', '/bin/bash:readline', [], 7, 8]);
});

test('syscall64: syscall_id {id, abi} as the agent writes it and as dry-run reads it (bit 31: a 32-bit ABI)', () => {
  assert.equal(syscallId(231n), { id: 231, abi: process.arch === 'arm64' ? 'arm64' : 'x64' });
  assert.equal(syscallId(0x80000000n | 252n), { id: 252, abi: process.arch === 'arm64' ? 'arm32' : 'i386' });
  const ev = (args: unknown[]) =>
    toEvalEvent({ process_tracepoint: { process: proc, subsys: 'raw_syscalls', event: 'sys_enter', args } } as TetragonEvent)!.args;
  assert.equal(ev([{ syscall_id: { id: 231, abi: 'x64' } }, { syscall_id: { id: 252, abi: 'i386' } }]), [
    { kind: 'int', value: 231n },
    { kind: 'int', value: 0x80000000n | 252n },
  ]);
  assert.equal(argJson({ kind: 'int', value: 0x80000000n | 1n }, G.TLN_ARG_SYSCALL64), { syscall_id: syscallId(0x80000000n | 1n) });
});

test('dry-run replays recorded uprobe and tracepoint events', async () => {
  let r = await runCli(['dry-run', '-p', 'examples/trace-bash-readline.yaml', '-e', 'examples/events/bash-readline.jsonl']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(
    verdicts(r.stdout).map((v) => v.verdict),
    ['none', 'post', 'post', 'none'],
  );
  assert.equal(verdicts(r.stdout)[1].matches, [
    { policy: 'trace-bash-readline', namespace: null, selector: -1, actions: ['Post'], mode: 'monitor_only', enforced: false },
  ]);
  r = await runCli(['dry-run', '-p', 'examples/tracepoint-openat.yaml', '-e', 'examples/events/openat.jsonl', '-o', 'compact']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(r.stdout.split('\n').filter(Boolean), [
    '🚀 process talon-lab-worker /usr/bin/cat /etc/ssh/ssh_host_ed25519_key.pub ➜ none',
    '⁉️ tracepoint talon-lab-worker /usr/bin/cat syscalls sys_enter_openat ➜ post (tracepoint-openat/0 Post [monitor_only])',
    '💥 exit    talon-lab-worker /usr/bin/cat /etc/ssh/ssh_host_ed25519_key.pub 1 ➜ none',
  ]);
  // the uprobe policy says nothing about the tracepoint events, and the other way round
  r = await runCli(['dry-run', '-p', 'examples/trace-bash-readline.yaml', '-e', 'examples/events/openat.jsonl']);
  assert.equal(
    verdicts(r.stdout).map((v) => v.verdict),
    ['none', 'none', 'none'],
  );
});

test('dry-run: a NoPost match on a tracepoint is listed (silent matches are looked for)', async () => {
  const pol = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: quiet
spec:
  tracepoints:
  - subsystem: syscalls
    event: sys_enter_openat
    args:
    - index: 6
      type: string
    selectors:
    - matchActions:
      - action: NoPost
`;
  const ev = JSON.stringify({ process_tracepoint: { process: proc, subsys: 'syscalls', event: 'sys_enter_openat', args: [{ string_arg: '/x' }] } });
  // policy from a file, events from stdin
  const dir = mkdtempSync(join(tmpdir(), 'talon-evh-'));
  try {
    writeFileSync(join(dir, 'q.yaml'), pol);
    const q = await runCli(['dry-run', '-p', join(dir, 'q.yaml'), '-e', '-'], { input: ev + '\n' });
    assert.is(q.code, 0, q.stderr);
    assert.equal(verdicts(q.stdout)[0].matches, [
      { policy: 'quiet', namespace: null, selector: 0, actions: ['NoPost'], mode: 'monitor_only', enforced: false },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the record writer and the fast path agree with the core for tracepoint and uprobe events', () => {
  const inputs = ['trace-bash-readline', 'tracepoint-openat'].map((n) => ({ name: n, text: readFileSync(join(ROOT, 'examples', `${n}.yaml`), 'utf8') }));
  const c = checkPolicies(inputs.slice(0, 1), { defaultNamespace: 'default' }, compile);
  const d = checkPolicies(inputs.slice(1), { defaultNamespace: 'default' }, compile);
  const events: EvalEvent[] = ['bash-readline', 'openat']
    .flatMap((f) =>
      readFileSync(join(ROOT, 'examples/events', `${f}.jsonl`), 'utf8')
        .trim()
        .split('\n'),
    )
    .map((l) => toEvalEvent(JSON.parse(l) as TetragonEvent))
    .filter((e): e is EvalEvent => e !== null);
  assert.is(events.length, 3);
  events.push({ ...events[0], hook: '/bin/bash:readlinX' }, { ...events[2], hook: 'syscalls/sys_enter_open' }, { ...events[2], hook: '' });
  let posts = 0;
  for (const r of [c, d]) {
    const slow = new Evaluator(r.image!);
    const w = new RecordWriter(coreHookLookup((e) => slow.encode(e)));
    const fast = fastEvaluate(new Evaluator(r.image!));
    for (const e of events) {
      assert.ok(Buffer.from(w.write(e)).equals(Buffer.from(slow.encode(e))), e.hook);
      const want = slow.evaluate(e);
      assert.equal(fast(e), want, e.hook);
      if (want.verdict === 'post') posts++;
    }
  }
  assert.is(posts, 3, 'the two readline lines and the open; not the other names');
});

test.run();
