// Every uprobe and USDT form in the kernel, through an isolated agent (its own
// socket and state dir, test cgroup parent) and the CLI: a test binary compiled
// here (test/fixtures/uprobe-target.c, sys/sdt.h) probed by symbol+offset,
// addrs, offsets with refCtrOffsets (the kernel counts the binary's semaphore
// up: the binary prints it), a USDT probe whose arguments are read as its note
// says (memory at %rbp - N here) with a Sigkill of the test binary when
// argument 0 is 13, binaryDigests checked at load (a mismatch refused with both
// digests), btfPath refused with the reason; the differential check; nothing
// left behind. Runs as root; skipped with a reason otherwise. Only the test
// binary is probed, so only it can be killed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { isolatedAgent, assertStopLeavesNothing, agentStatus, jsonEvents, repoRoot, skipUnlessRoot, talon } from './helpers/agent.js';

const hasSdt = spawnSync('sh', ['-c', 'echo "#include <sys/sdt.h>" | cc -E -x c - >/dev/null 2>&1']).status === 0;
const reason =
  skipUnlessRoot('uprobes and USDTs in the kernel') ?? (hasSdt ? null : 'sys/sdt.h missing (Debian: systemtap-sdt-dev, installed by scripts/setup.sh)');
const test = suite('agent-uprobes');

const t = isolatedAgent('uprobes');
const A = t.A;
const bin = join(t.dir, 'uprobe-target');
const programs = new Set<number>();
const pols = new Set<string>();

function addr(sym: string): bigint {
  const line = execFileSync('nm', [bin], { encoding: 'utf8' })
    .split('\n')
    .find((l) => l.endsWith(` ${sym}`));
  return BigInt('0x' + line!.split(' ')[0]);
}

/** the addresses of the first instructions of a function (objdump) */
function insns(sym: string): bigint[] {
  const out = execFileSync('objdump', ['-d', '--no-show-raw-insn', bin], { encoding: 'utf8' });
  const body = out.split(`<${sym}>:\n`)[1]!.split('\n\n')[0]!;
  return body
    .split('\n')
    .map((l) => /^\s*([0-9a-f]+):/.exec(l)?.[1])
    .filter((x): x is string => !!x)
    .map((x) => BigInt('0x' + x));
}

/** the file offset of the semaphore: its address minus its segment's (readelf -l) */
function fileOffset(a: bigint): bigint {
  const out = execFileSync('readelf', ['-lW', bin], { encoding: 'utf8' });
  for (const m of out.matchAll(/LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)/g)) {
    const [off, va, sz] = [BigInt(m[1]!), BigInt(m[2]!), BigInt(m[3]!)];
    if (a >= va && a < va + sz) return a - va + off;
  }
  throw new Error(`no segment holds 0x${a.toString(16)}`);
}

function run(...args: string[]) {
  return spawnSync(bin, args, { encoding: 'utf8', timeout: 10_000 });
}
const sema = () => Number(/sema=(\d+)/.exec(run('0').stdout)?.[1] ?? -1);

function policyFile(name: string, body: string): string {
  const f = join(t.dir, `${name}.yaml`);
  writeFileSync(f, `apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: "${name}"\nspec:\n${body}`);
  return f;
}

async function add(name: string, body: string) {
  const r = await talon(['tp', 'add', policyFile(name, body), ...A]);
  // a refused policy stays listed with its error (as in Tetragon) until deleted
  pols.add(name);
  return r;
}

async function del(name: string) {
  const r = await talon(['tp', 'delete', name, ...A]);
  assert.is(r.code, 0, r.stderr);
  pols.delete(name);
}

if (reason) {
  test.skip(`agent-uprobes: ${reason}`);
} else {
  test.after(async () => {
    if (t.agent) for (const p of pols) await talon(['tp', 'delete', p, ...A]).catch(() => undefined);
    await t.stop();
  });

  test('the agent; the test binary with its USDT probe and semaphore (0: nothing attached)', async () => {
    execFileSync('cc', ['-O0', '-g', '-o', bin, join(repoRoot(), 'test', 'fixtures', 'uprobe-target.c')]);
    assert.is(sema(), 0);
    await t.start();
  });

  let fn: bigint[] = [];
  test('uprobes by symbol+offset, addrs and offsets with refCtrOffsets: loaded, semaphore counted, events with the arguments', async () => {
    fn = insns('talon_target_fn');
    assert.ok(fn.length >= 3, 'three instructions');
    const base = addr('talon_target_fn');
    const semaOff = fileOffset(addr('talon_work_semaphore'));
    const r = await add(
      'uprobe-forms',
      `  uprobes:
  - path: "${bin}"
    symbols: ["talon_target_fn+${fn[1]! - base}"]
    args: [{ index: 0, type: "int32" }, { index: 1, type: "string" }]
  - path: "${bin}"
    addrs: [${base}]
    args: [{ index: 0, type: "int32" }]
  - path: "${bin}"
    offsets: [${fileOffset(fn[2]!)}]
    refCtrOffsets: [${semaOff}]
    args: [{ index: 0, type: "int32" }]
`,
    );
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /tracing policy uprobe-forms added \(monitor_only, generic_uprobe\)/);
    const l = await talon(['tp', 'list', '-o', 'json', ...A]);
    for (const p of JSON.parse(l.stdout).policies) for (const id of p.programs) programs.add(id);
    // the kernel counts the semaphore up while the uprobe with refCtrOffsets is attached
    assert.is(sema(), 1);

    const g = await jsonEvents([], A);
    const p = run('21', 'hello');
    assert.is(p.status, 0, p.stderr);
    const events = (await g.stop()).filter((e) => e.process_uprobe?.process.pid === p.pid);
    const by = (s: string) => events.filter((e) => e.process_uprobe.symbol === s).map((e) => e.process_uprobe);
    const sym = by(`talon_target_fn+${fn[1]! - base}`);
    assert.is(sym.length, 1, JSON.stringify(events));
    assert.equal(sym[0].args, [{ int_arg: 21 }, { string_arg: 'hello' }]);
    assert.equal([sym[0].path, sym[0].policy_name, sym[0].action], [bin, 'uprobe-forms', 'KPROBE_ACTION_POST']);
    assert.equal(
      by(`@0x${base.toString(16)}`).map((u) => u.args),
      [[{ int_arg: 21 }]],
    );
    assert.equal(
      by(`+0x${fileOffset(fn[2]!).toString(16)}`).map((u) => u.args),
      [[{ int_arg: 21 }]],
    );
  });

  test('usdt: arguments from the note (memory at %rbp - N), semaphore counted, Sigkill of the test binary when arg 0 is 13', async () => {
    const r = await add(
      'usdt-work',
      `  usdts:
  - path: "${bin}"
    provider: "talon"
    name: "work"
    args: [{ index: 0, type: "int32" }, { index: 1, type: "string" }, { index: 2, type: "int64" }]
    selectors:
    - matchArgs: [{ index: 0, operator: "Equal", values: ["13"] }]
      matchActions: [{ action: "Sigkill" }]
    - matchArgs: [{ index: 0, operator: "NotEqual", values: ["13"] }]
`,
    );
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /tracing policy usdt-work added \(enforce, generic_usdt\)/);
    const l = await talon(['tp', 'list', ...A]);
    assert.match(l.stdout, /usdt-work\s+grpc\s+enabled\s+\d+\s+\(global\)\s+generic_usdt\s/);
    for (const p of JSON.parse((await talon(['tp', 'list', '-o', 'json', ...A])).stdout).policies) for (const id of p.programs) programs.add(id);
    assert.is(sema(), 2, 'the USDT site and the offsets uprobe each count it');

    const g = await jsonEvents([], A);
    const ok = run('21', 'hello');
    assert.is(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /fn=125/);
    const killed = run('13', 'bye');
    assert.is(killed.signal, 'SIGKILL', JSON.stringify(killed));
    assert.not.match(killed.stdout, /fn=/, 'killed at the probe, before the function');
    const events = await g.stop();
    const us = (pid: number) => events.filter((e) => e.process_usdt?.process.pid === pid).map((e) => e.process_usdt);
    const post = us(ok.pid!);
    assert.is(post.length, 1, JSON.stringify(events.filter((e) => e.process_usdt)));
    assert.equal(
      [post[0].path, post[0].provider, post[0].name, post[0].policy_name, post[0].action],
      [bin, 'talon', 'work', 'usdt-work', 'KPROBE_ACTION_POST'],
    );
    assert.equal(post[0].args, [{ int_arg: 21 }, { string_arg: 'hello' }, { long_arg: String(21n * 1000000007n) }]);
    const kill = us(killed.pid!);
    assert.equal(
      kill.map((u) => [u.action, u.args[0]]),
      [['KPROBE_ACTION_SIGKILL', { int_arg: 13 }]],
    );
    assert.ok(
      events.some((e) => e.process_exit?.process.pid === killed.pid && e.process_exit.signal === 'SIGKILL'),
      'the exit shows SIGKILL',
    );
  });

  test("usdt at -O2: arguments in registers (%ebx, %r12, %rax as its note says) read from the uprobe's registers", async () => {
    const o2 = join(t.dir, 'uprobe-target-O2');
    execFileSync('cc', ['-O2', '-g', '-o', o2, join(repoRoot(), 'test', 'fixtures', 'uprobe-target.c')]);
    const notes = execFileSync('readelf', ['-n', o2], { encoding: 'utf8' });
    assert.match(notes, /Arguments: -4@%\w+ 8@%\w+ -8@%\w+\n/, 'register operands at -O2');
    const r = await add(
      'usdt-regs',
      `  usdts:\n  - path: "${o2}"\n    provider: "talon"\n    name: "work"\n    args: [{ index: 0, type: "int32" }, { index: 1, type: "string" }, { index: 2, type: "int64" }]\n`,
    );
    assert.is(r.code, 0, r.stderr);
    for (const p of JSON.parse((await talon(['tp', 'list', '-o', 'json', ...A])).stdout).policies) for (const id of p.programs) programs.add(id);
    const g = await jsonEvents([], A);
    const p = spawnSync(o2, ['-7', 'regs'], { encoding: 'utf8', timeout: 10_000 });
    assert.is(p.status, 0, p.stderr);
    assert.match(p.stdout, /sema=1\n/);
    const ev = (await g.stop()).filter((e) => e.process_usdt?.process.pid === p.pid).map((e) => e.process_usdt);
    assert.equal(
      ev.map((u) => u.args),
      [[{ int_arg: -7 }, { string_arg: 'regs' }, { long_arg: String(-7n * 1000000007n) }]],
    );
    await del('usdt-regs');
  });

  test('binaryDigests: a mismatch is refused with both digests; the right one loads', async () => {
    const digest = 'sha256:' + createHash('sha256').update(readFileSync(bin)).digest('hex');
    const wrong = 'sha256:' + '1'.repeat(64);
    const body = (d: string) => `  uprobes:\n  - path: "${bin}"\n    symbols: ["main"]\n    binaryDigests: ["${d}"]\n`;
    let r = await add('uprobe-digest', body(wrong));
    assert.is(r.code, 1, r.stdout);
    assert.ok(r.stderr.includes(`digest mismatch: ${bin} is ${digest}, none of binaryDigests (${wrong})`), r.stderr);
    await del('uprobe-digest');
    r = await add('uprobe-digest', body(digest));
    assert.is(r.code, 0, r.stderr);
    await del('uprobe-digest');
  });

  test('btfPath: refused at load with the reason', async () => {
    const r = await add('uprobe-btf', `  uprobes:\n  - path: "${bin}"\n    symbols: ["main"]\n    btfPath: "/sys/kernel/btf/vmlinux"\n`);
    assert.is(r.code, 1, r.stdout);
    assert.match(r.stderr, /do not implement btfPath/);
    await del('uprobe-btf');
  });

  test('differential check agrees; after deleting the policies the semaphore is 0 again', async () => {
    const st = await agentStatus(A);
    assert.ok(st.differential.checked >= 5, JSON.stringify(st.differential));
    assert.is(st.differential.disagreed, 0, JSON.stringify(st.differential.samples, null, 2));
    await del('usdt-work');
    assert.is(sema(), 1);
    await del('uprobe-forms');
    assert.is(sema(), 0);
  });

  test('stop: no program of the agent is left', async () => {
    const a = t.agent!;
    t.agent = null;
    await assertStopLeavesNothing(a, programs, 2);
    assert.not.ok(existsSync(t.sock));
  });
}

test.run();
