// spec.tracepoints and spec.uprobes in the running kernel (root only):
//  - Tetragon's trace-bash-readline example: an interactive bash (driven
//    through a pty by script(1)) posts one record per line it reads;
//  - a syscalls/sys_enter_openat policy posts records with the right
//    arguments (format indexes, common_* fields counted), filtered by
//    matchArgs (string Prefix, int Mask), matchBinaries and matchPIDs;
//  - a Sigkill variant scoped to a test cgroup kills there and only there,
//    NoPost counts without posting;
//  - the Wasm evaluator gives every kernel record the same verdict;
//  - a missing tracepoint, symbol or binary, and an argument that does not
//    fit its field, are LoadErrors that name them; nothing is left behind.
// Safety: the only enforcing policy is scoped to a cgroup this test created
// (and to files under its own temp dir); the others only post.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { Kernel, LoadError, type LoadedPolicy } from '../src/kernel/index.js';
import type { HookRecord, TlnRecord } from '../src/kernel/records.js';
import type { EvalEvent, PolicySpec } from '../src/core/types.js';
import { TestCgroup, bpftoolTlnProgs, kernelSkipReason, run, sleep } from './helpers/kernel.js';
import { ROOT } from './helpers/core.js';

const S = suite('kernel: tracepoint and uprobe hooks');
const skip = kernelSkipReason();

type Core = typeof import('../src/core/index.js');
interface Loaded {
  p: LoadedPolicy;
  spec: PolicySpec;
  image: Uint8Array;
}
interface Ctx {
  k?: Kernel;
  core?: Core;
  cg?: TestCgroup;
  recs: TlnRecord[];
  loaded: Map<number, Loaded>;
  progIds: Set<number>;
  preexisting: Set<number>;
  tmp: string;
  nextId: number;
}
const ctx: Ctx = { recs: [], loaded: new Map(), progIds: new Set(), preexisting: new Set(), tmp: `/tmp/talon-hooks-${process.pid}`, nextId: 9100 };

/** compiles YAML with the core; the first policy's spec and the image */
function compileYaml(text: string, ns = 'talon-test'): { spec: PolicySpec; image: Uint8Array } {
  const core = ctx.core!;
  const docs = YAML.parseAllDocuments(text, { intAsBigInt: true }).map((d) => d.toJS({}));
  const r = core.compile(docs, { defaultNamespace: ns });
  if (!r.image) throw new Error(`compile: ${JSON.stringify(r.diagnostics)}`);
  return { spec: core.inspectImage(r.image)[0], image: r.image };
}

function load(text: string): Loaded {
  const { spec, image } = compileYaml(text);
  const id = ctx.nextId++;
  const p = ctx.k!.loadPolicy(spec, id);
  for (const x of p.programs()) {
    const info = ctx.k!.shim.progInfo(x.fd);
    ctx.progIds.add(info.id);
  }
  const l = { p, spec, image };
  ctx.loaded.set(id, l);
  return l;
}

function hookRecs(p: LoadedPolicy): HookRecord[] {
  return ctx.recs.filter((r): r is HookRecord => r.type === 'hook' && r.policyId === p.id);
}

/** waits until the ring buffer is quiet (records are delivered in batches) */
async function settle(): Promise<void> {
  let n = -1;
  for (let i = 0; i < 40 && n !== ctx.recs.length; i++) {
    n = ctx.recs.length;
    await sleep(100);
  }
}

const show = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x));

/** runs an interactive bash on a pty (script -qc), feeding it `lines`; its pid and output */
function interactiveBash(lines: string[]): { pid: number; out: string; status: number | null } {
  const input = ['echo TLNPID=$$', ...lines, 'exit'].join('\n') + '\n';
  const r = spawnSync('script', ['-qc', 'bash --norc --noprofile -i', '/dev/null'], {
    input,
    encoding: 'utf8',
    timeout: 20000,
    env: { ...process.env, PS1: '$ ', TERM: 'dumb' },
  });
  const m = /TLNPID=(\d+)/.exec(r.stdout ?? '');
  return { pid: m ? Number(m[1]) : -1, out: r.stdout ?? '', status: r.status };
}

const TP_POST = (dir: string, bin: string) => `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "test-openat-post"
spec:
  tracepoints:
  - subsystem: "syscalls"
    event: "sys_enter_openat"
    message: "opened under the test dir"
    tags: ["talon.test"]
    args:
    - index: 4
      type: "int"
    - index: 5
      type: "int"
    - index: 6
      type: "string"
    - index: 7
      type: "int"
    - index: 8
      type: "uint32"
    selectors:
    # the test's copy of cat opening a test file
    - matchArgs:
      - index: 6
        operator: "Prefix"
        values: ["${dir}/tp-"]
      matchBinaries:
      - operator: "In"
        values: ["${bin}"]
    # anyone creating a test file (O_CREAT 0100)
    - matchArgs:
      - index: 6
        operator: "Prefix"
        values: ["${dir}/tp-"]
      - index: 7
        operator: "Mask"
        values: ["64"]
`;

const TP_PID = (dir: string, pid: number) => `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "test-openat-pid"
spec:
  tracepoints:
  - subsystem: "syscalls"
    event: "sys_enter_openat"
    args:
    - index: 6
      type: "string"
    selectors:
    - matchPIDs:
      - operator: "In"
        values: [${pid}]
      matchArgs:
      - index: 6
        operator: "Equal"
        values: ["${dir}/pid-file"]
`;

const TP_KILL = (dir: string) => `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: "test-openat-kill"
  namespace: "talon-test"
spec:
  tracepoints:
  - subsystem: "syscalls"
    event: "sys_enter_openat"
    args:
    - index: 6
      type: "string"
    - index: 7
      type: "int"
    selectors:
    - matchArgs:
      - index: 6
        operator: "Prefix"
        values: ["${dir}/kill-"]
      matchActions:
      - action: "Sigkill"
    - matchArgs:
      - index: 6
        operator: "Prefix"
        values: ["${dir}/quiet-"]
      matchActions:
      - action: "NoPost"
`;

if (skip) {
  S.skip(`tracepoint and uprobe hooks (${skip})`, () => {});
  console.log(`  [skip] kernel tracepoint/uprobe tests: ${skip}`);
} else {
  S.before(async () => {
    for (const p of bpftoolTlnProgs()) ctx.preexisting.add(p.id);
    ctx.core = await import('../src/core/index.js');
    ctx.k = await Kernel.open();
    ctx.k.onRecords((rs) => ctx.recs.push(...rs));
    ctx.cg = TestCgroup.create('hooks');
    mkdirSync(join(ctx.tmp, 'bin'), { recursive: true });
    copyFileSync('/usr/bin/cat', join(ctx.tmp, 'bin', 'cat'));
    spawnSync('chmod', ['755', join(ctx.tmp, 'bin', 'cat')]);
    for (const f of ['tp-a', 'pid-file', 'kill-me', 'quiet-one']) writeFileSync(join(ctx.tmp, f), 'talon\n');
  });

  S.after(() => {
    // always: programs and maps (close), the cgroup (its processes die), files
    try {
      ctx.k?.close();
    } finally {
      ctx.cg?.remove();
      rmSync(ctx.tmp, { recursive: true, force: true });
    }
  });

  S('catalog: tracepoints and uprobes are served by tln_tp_generic and tln_uprobe', () => {
    const bash = load(readFileSync(join(ROOT, 'examples/trace-bash-readline.yaml'), 'utf8'));
    assert.equal(bash.p.sensors, ['generic_uprobe']);
    assert.equal(
      bash.p.programs().map((x) => x.name),
      ['tln_uprobe'],
    );
    const tp = load(TP_POST(ctx.tmp, join(ctx.tmp, 'bin', 'cat')));
    assert.equal(tp.p.sensors, ['generic_tracepoint']);
    assert.equal(
      tp.p.programs().map((x) => x.name),
      ['tln_tp_generic'],
    );
  });

  S('uprobe trace-bash-readline: each line an interactive bash reads posts a record', async () => {
    const l = [...ctx.loaded.values()].find((x) => x.spec.name === 'trace-bash-readline')!;
    const b = interactiveBash(['echo one', 'echo two']);
    assert.ok(b.pid > 0, `bash pid from its output: ${JSON.stringify(b.out)}`);
    await settle();
    const mine = hookRecs(l.p).filter((r) => r.pid === b.pid);
    // readline returns 4 lines: echo TLNPID, echo one, echo two, exit
    assert.ok(mine.length >= 4, `${mine.length} records of bash ${b.pid}`);
    for (const r of mine) {
      assert.is(r.hookId, 101);
      assert.is(r.sensor, 'generic_uprobe');
      assert.is(r.selector, null);
      assert.is(r.binary, realpathSync('/bin/bash'));
      assert.equal(r.args, []);
      assert.is(r.mode, 'monitor_only');
    }
    console.log(`  bash ${b.pid}: ${mine.length} readline records`);
  });

  S('tracepoint sys_enter_openat: args by format index, matchArgs + matchBinaries', async () => {
    const l = [...ctx.loaded.values()].find((x) => x.spec.name === 'test-openat-post')!;
    const cat = join(ctx.tmp, 'bin', 'cat');
    const r1 = await run(`${cat} ${ctx.tmp}/tp-a`);
    assert.is(r1.code, 0, r1.stderr);
    const r2 = await run(`/usr/bin/cat ${ctx.tmp}/tp-a`); // another binary: selector 0 does not match
    assert.is(r2.code, 0, r2.stderr);
    const r3 = await run(`/usr/bin/touch ${ctx.tmp}/tp-new`); // O_CREAT: selector 1
    assert.is(r3.code, 0, r3.stderr);
    await settle();
    const recs = hookRecs(l.p);
    const byCopy = recs.filter((r) => r.binary === cat);
    assert.is(byCopy.length, 1, show(recs));
    const a = byCopy[0].args;
    assert.equal(a[0], { kind: 'int', value: 257n }, '__syscall_nr of openat (x86_64)');
    assert.equal(a[1], { kind: 'int', value: -100n }, 'dfd AT_FDCWD, sign-extended as int');
    assert.equal(a[2], { kind: 'str', value: `${ctx.tmp}/tp-a` });
    assert.is((a[3] as { value: bigint }).value & 3n, 0n, 'O_RDONLY');
    assert.is(byCopy[0].selector, 0);
    assert.is(byCopy[0].sensor, 'generic_tracepoint');
    assert.is(byCopy[0].hookId, 100);
    assert.is(recs.filter((r) => r.binary === '/usr/bin/cat').length, 0, 'the system cat matches no selector');
    const touch = recs.filter((r) => r.binary === '/usr/bin/touch');
    assert.is(touch.length, 1, show(recs));
    assert.is(touch[0].selector, 1);
    assert.equal(touch[0].args[2], { kind: 'str', value: `${ctx.tmp}/tp-new` });
    assert.ok(((touch[0].args[3] as { value: bigint }).value & 64n) !== 0n, 'O_CREAT');
    assert.equal(touch[0].args[4], { kind: 'int', value: 0o666n }, 'mode as uint32');
  });

  S('tracepoint: matchPIDs selects one process', async () => {
    // a bash that opens the file when told to, so its pid is known before the policy
    const sh = spawn('bash', ['-c', `read x; exec 3< ${ctx.tmp}/pid-file; read y`], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      const l = load(TP_PID(ctx.tmp, sh.pid!));
      const other = await run(`cat ${ctx.tmp}/pid-file`);
      assert.is(other.code, 0);
      sh.stdin!.write('go\n');
      await sleep(200);
      sh.stdin!.end('\n');
      await new Promise((r) => sh.once('close', r));
      await settle();
      const recs = hookRecs(l.p);
      assert.is(recs.length, 1, show(recs));
      assert.is(recs[0].pid, sh.pid);
      assert.equal(recs[0].args, [{ kind: 'str', value: `${ctx.tmp}/pid-file` }]);
      l.p.unload();
    } finally {
      sh.kill('SIGKILL');
    }
  });

  S('tracepoint Sigkill scoped to a test cgroup: killed there, not on the host; NoPost counts', async () => {
    const cg = ctx.cg!;
    const l = load(TP_KILL(ctx.tmp));
    assert.is(l.spec.filtered, true);
    l.p.setFilterCgroups([cg.id], []);
    const killed = await cg.run(`/usr/bin/cat ${ctx.tmp}/kill-me`);
    assert.is(killed.signal ?? (killed.code === 137 ? 'SIGKILL' : null), 'SIGKILL', show(killed));
    assert.is(killed.stdout, '', 'killed before reading');
    const host = await run(`/usr/bin/cat ${ctx.tmp}/kill-me`);
    assert.is(host.code, 0, "a host process is out of the policy's scope");
    assert.is(host.stdout, 'talon\n');
    const quiet = await cg.run(`/usr/bin/cat ${ctx.tmp}/quiet-one`);
    assert.is(quiet.code, 0);
    await settle();
    const recs = hookRecs(l.p);
    assert.is(recs.length, 1, show(recs));
    assert.equal([recs[0].selector, recs[0].actions, recs[0].cgroupId], [0, ['Sigkill'], cg.id]);
    const st = l.p.stats();
    assert.is(st[0].enforce, 1n);
    assert.is(st[1].nopost, 1n);
    assert.is(st[1].post, 0n);
  });

  S('differential: the Wasm evaluator gives every kernel record the same verdict and selector', () => {
    let n = 0;
    for (const l of ctx.loaded.values()) {
      const ev = new ctx.core!.Evaluator(l.image);
      for (const r of hookRecs(l.p)) {
        const hook = l.spec.hooks[r.slot];
        const e: EvalEvent = {
          kind: hook.kind,
          hook: hook.name,
          timeNs: r.ktime,
          pid: r.pid,
          tid: r.tid,
          binary: r.binary,
          pod: l.spec.filtered ? { namespace: 'talon-test', name: 'talon-test-pod', labels: {} } : null,
          args: r.args,
        };
        const v = ev.evaluate(e);
        const kernel = r.actions.includes('Sigkill') ? 'kill' : r.actions.includes('Signal') ? 'signal' : 'post';
        assert.is(v.verdict, kernel, `${l.spec.name}: ${show(r)}`);
        assert.is(v.matches[0].selector, r.selector ?? -1, 'same selector');
        n++;
      }
    }
    assert.ok(n >= 7, `compared ${n} records`);
    console.log(`  differential: ${n} tracepoint/uprobe records, same verdict and selector in the Wasm evaluator`);
  });

  S('LoadError names what is missing; nothing stays loaded after a refusal', () => {
    const k = ctx.k!;
    const before = k.policies().length;
    const refuse = (yaml: string, re: RegExp) => {
      const { spec } = compileYaml(yaml);
      try {
        k.loadPolicy(spec, ctx.nextId++);
        assert.unreachable(`loaded ${spec.name}`);
      } catch (e) {
        assert.instance(e, LoadError);
        assert.match((e as Error).message, re);
      }
    };
    const up = (path: string, sym: string) =>
      `apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: up\nspec:\n  uprobes:\n  - path: "${path}"\n    symbols: ["${sym}"]\n`;
    const tp = (event: string, args: string) =>
      `apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: tp\nspec:\n  tracepoints:\n  - subsystem: syscalls\n    event: ${event}\n    args: ${args}\n`;
    refuse(
      up('/bin/bash', 'talon_no_such_symbol'),
      /^policy up: hook \/bin\/bash:talon_no_such_symbol: symbol "talon_no_such_symbol" not found in \/bin\/bash/,
    );
    refuse(up('/talon/no/such/binary', 'main'), /uprobe binary \/talon\/no\/such\/binary does not exist/);
    refuse(
      tp('sys_enter_talon_nope', '[]'),
      /tracepoint syscalls\/sys_enter_talon_nope does not exist on this kernel \(no .*\/events\/syscalls\/sys_enter_talon_nope\/format\)/,
    );
    refuse(tp('sys_enter_openat', '[{index: 5, type: string}]'), /args\[0\] \(index 5\): field 5 "int dfd" is not a string/);
    refuse(tp('sys_enter_openat', '[{index: 42, type: int}]'), /args\[0\] \(index 42\): the tracepoint has 9 fields/);
    const subsys = `apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: tp\nspec:\n  tracepoints:\n  - subsystem: talon_nope\n    event: x\n`;
    refuse(subsys, /tracepoint subsystem talon_nope does not exist on this kernel/);
    assert.is(k.policies().length, before);
  });

  S('close: no tln_ program of ours remains', async () => {
    ctx.k!.close();
    const left = () => bpftoolTlnProgs().filter((p) => ctx.progIds.has(p.id));
    for (let i = 0; i < 100 && left().length; i++) await sleep(50);
    assert.equal(left(), []);
  });
}

S.run();
