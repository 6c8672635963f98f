// resolve in the kernel: the BTF reader (src/kernel/btf.ts), member paths turned into walk steps,
// and the tln_gen_res of a hook's conf (tracefs.ts resolveConf). A small BTF blob built here gives
// exact offsets; this kernel's own BTF (when /sys/kernel/btf/vmlinux exists) the real shapes.
// No root.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Btf, kernelBtf, resolvePath } from '../src/kernel/btf.js';
import { resolveConf, rawTpConf, kprobeConf } from '../src/kernel/tracefs.js';
import { LAYOUT } from '../src/kernel/records.js';
import { callNotFoundSkip, NEED_RESOLVE, readFeatures, unsupportedReasons } from '../src/kernel/support.js';
import { planLoad } from '../src/kernel/plan.js';
import type { Features } from '../src/kernel/features.js';
import { compile, inspectImage } from '../src/core/index.js';
import type { HookSpec } from '../src/core/types.js';
import { policy, ROOT, tracepointHook } from './helpers/core.js';

/** a BTF blob: types as [kind, name, info vlen/flag, size-or-type, trailing u32s] */
function blob(types: { kind: number; name: string; vlen?: number; flag?: boolean; st: number; tail?: number[] }[], names: string[]): Buffer {
  const strs = ['', ...names];
  const off = new Map<string, number>();
  let pos = 0;
  for (const s of strs) {
    if (!off.has(s)) off.set(s, pos);
    pos += Buffer.byteLength(s) + 1;
  }
  const str = Buffer.concat(strs.map((s) => Buffer.from(`${s}\0`)));
  const words: number[] = [];
  const nameOf = (n: string) => (n === '' ? 0 : off.get(n)!);
  for (const t of types) {
    words.push(nameOf(t.name), ((t.flag ? 1 : 0) << 31) | (t.kind << 24) | (t.vlen ?? 0), t.st);
    for (const w of t.tail ?? []) words.push(w);
  }
  const typeSec = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => typeSec.writeUInt32LE(w >>> 0, i * 4));
  const hdr = Buffer.alloc(24);
  hdr.writeUInt16LE(0xeb9f, 0);
  hdr.writeUInt8(1, 2);
  hdr.writeUInt32LE(24, 4);
  hdr.writeUInt32LE(0, 8);
  hdr.writeUInt32LE(typeSec.length, 12);
  hdr.writeUInt32LE(typeSec.length, 16);
  hdr.writeUInt32LE(str.length, 20);
  return Buffer.concat([hdr, typeSec, str]);
}

// names are offsets into the string section: member names go through the same table
const NAMES = ['int', 'char', 'inner', 'x', 'name', 'outer', 'a', 'in', 'p', 'u', 'bits', 'btf_trace_ev', 'ev_fn', 'o', 'tag'];
const S = (n: string) => {
  let p = 1; // after the empty name
  for (const s of NAMES) {
    if (s === n) return p;
    p += Buffer.byteLength(s) + 1;
  }
  throw new Error(n);
};
// ids: 1 int, 2 char, 3 char[8], 4 struct inner, 5 struct inner *, 6 anon union, 7 struct outer, 8 struct outer *,
// 9 FUNC_PROTO (void *, struct outer *), 10 PTR -> 9, 11 typedef btf_trace_ev -> 10, 12 FUNC ev_fn -> 9, 13 void *
const SMALL = new Btf(
  blob(
    [
      { kind: 1, name: 'int', st: 4, tail: [(1 << 24) | 32] },
      { kind: 1, name: 'char', st: 1, tail: [8] },
      { kind: 3, name: '', st: 0, tail: [2, 1, 8] },
      { kind: 4, name: 'inner', vlen: 2, st: 12, tail: [S('x'), 1, 0, S('name'), 3, 32] },
      { kind: 2, name: '', st: 4 },
      { kind: 5, name: '', vlen: 1, st: 4, tail: [S('u'), 1, 0] },
      // struct outer { int a; struct inner in; struct inner *p; union { int u; }; int bits:3; }
      { kind: 4, name: 'outer', vlen: 5, flag: true, st: 40, tail: [S('a'), 1, 0, S('in'), 4, 32, S('p'), 5, 128, 0, 6, 192, S('bits'), 1, (3 << 24) | 224] },
      { kind: 2, name: '', st: 7 },
      { kind: 13, name: '', vlen: 2, st: 0, tail: [0, 13, S('o'), 8] },
      { kind: 2, name: '', st: 9 },
      { kind: 8, name: 'btf_trace_ev', st: 10 },
      { kind: 12, name: 'ev_fn', st: 9 },
      { kind: 2, name: '', st: 0 },
    ],
    NAMES,
  ),
);

test('Btf: types, names, prototypes of functions and BTF tracepoints', () => {
  assert.is(SMALL.count, 13);
  assert.is(SMALL.spell(8), 'struct outer *');
  assert.is(SMALL.spell(3), 'char[8]');
  assert.equal(
    SMALL.prototype('ev', true)!.map((t) => SMALL.spell(t)),
    ['struct outer *'],
    "a tracepoint's first parameter (the probe's data) left out",
  );
  assert.equal(
    SMALL.prototype('ev_fn')!.map((t) => SMALL.spell(t)),
    ['void *', 'struct outer *'],
  );
  assert.is(SMALL.prototype('nope'), null);
});

test('ignore.callNotFound: a kprobe on a function the BTF lacks is skipped with the reason, the others planned; without it nothing is skipped', () => {
  const feats = readFeatures(JSON.parse(readFileSync(join(ROOT, 'test/fixtures/kernels/vm-6.12.json'), 'utf8')));
  assert.ok(typeof feats !== 'string', String(feats));
  const kp = (call: string, ignore: boolean) => ({
    call,
    syscall: false,
    args: [{ index: 0n, type: 'int' }],
    ...(ignore ? { ignore: { callNotFound: true } } : {}),
  });
  const spec = (kprobes: unknown[]) => {
    const r = compile([policy({ kprobes })], { defaultNamespace: 'default' });
    assert.ok(r.image, JSON.stringify(r.diagnostics));
    return inspectImage(r.image!)[0];
  };
  const host = { tracepointFormat: () => 'no tracefs here', btf: () => SMALL, fileExists: () => false };
  const p = planLoad(spec([kp('ev_fn', true), kp('gone_fn', true)]), feats as Features, host);
  assert.ok(p.ok, JSON.stringify(p));
  if (!p.ok) return;
  assert.equal(
    p.hooks.map((h) => [h.name, h.sensor]),
    [['ev_fn', 'generic_kprobe']],
  );
  assert.equal(p.skipped, [
    "kprobe on gone_fn: gone_fn is not a function of this kernel (its BTF has none): skipped, as ignore.callNotFound asks; the policy's other hooks load",
  ]);
  const strict = planLoad(spec([kp('gone_fn', false)]), feats as Features, host);
  assert.ok(strict.ok && strict.skipped.length === 0 && strict.hooks[0].name === 'gone_fn', 'planned: the attach says the function is missing');
  const h = spec([kp('gone_fn', true)]).hooks[0];
  assert.is(
    callNotFoundSkip(h, () => 'no BTF'),
    null,
    'no BTF to ask: nothing is skipped',
  );
});

test('resolvePath: offsets add up through embedded structs, pointers are loaded, the last field as its type says', () => {
  assert.equal(resolvePath(SMALL, 8, 'a'), { steps: [{ off: 0, load: true }], type: 1, size: 4, signed: true });
  assert.equal(resolvePath(SMALL, 8, 'in.x'), { steps: [{ off: 4, load: true }], type: 1, size: 4, signed: true }, 'embedded: one step');
  assert.equal(resolvePath(SMALL, 8, 'in.name'), { steps: [{ off: 8, load: false }], type: 3, size: 0, signed: false }, 'a char array stays an address');
  assert.equal(resolvePath(SMALL, 8, 'in.name[3]'), { steps: [{ off: 11, load: true }], type: 2, size: 1, signed: false });
  assert.equal(resolvePath(SMALL, 8, 'p.name'), {
    steps: [
      { off: 16, load: true },
      { off: 4, load: false },
    ],
    type: 3,
    size: 0,
    signed: false,
  });
  assert.equal(resolvePath(SMALL, 8, 'u'), { steps: [{ off: 24, load: true }], type: 1, size: 4, signed: true }, 'an anonymous union searched through');
  assert.equal(resolvePath(SMALL, 8, 'p'), { steps: [{ off: 16, load: true }], type: 5, size: 8, signed: false });
  assert.is(resolvePath(SMALL, 8, 'nope'), 'resolve "nope": struct outer has no member nope');
  assert.is(resolvePath(SMALL, 8, 'bits'), 'resolve "bits": struct outer.bits is a bit field');
  assert.is(resolvePath(SMALL, 8, 'a[1]'), 'resolve "a[1]": a is int, not an array');
  assert.is(resolvePath(SMALL, 8, 'in.name[8]'), 'resolve "in.name[8]": name has 8 elements (0-7)');
  assert.is(resolvePath(SMALL, 8, 'a.x'), 'resolve "a.x": a is int, not a struct or a pointer to one');
  assert.is(resolvePath(SMALL, 1, 'x'), 'resolve "x" starts from int, not a pointer to a struct or union');
});

const rawHook = (args: { index: number; type: number; resolve?: string }[]): HookSpec =>
  tracepointHook(
    'x',
    'ev',
    args.map(({ index, type }) => ({ index, type })),
    {
      kind: 'tracepoint',
      call: 'ev',
      spec: { args: args.map(({ index, resolve }) => ({ index, resolve })) },
      needs: [],
      tracepoint: { subsystem: 'x', event: 'ev', raw: true },
    },
  );

function res(conf: Buffer, i: number): { off: number[]; n: number; loads: number; size: number; signed: number } {
  const o = LAYOUT['offsetof(struct tln_gen_conf, res)'] + i * LAYOUT['sizeof(struct tln_gen_res)'];
  const n = conf.readUInt8(o + LAYOUT['offsetof(struct tln_gen_res, n)']);
  return {
    off: Array.from({ length: n }, (_, k) => conf.readUInt32LE(o + 4 * k)),
    n,
    loads: conf.readUInt8(o + LAYOUT['offsetof(struct tln_gen_res, loads)']),
    size: conf.readUInt8(o + LAYOUT['offsetof(struct tln_gen_res, size)']),
    signed: conf.readUInt8(o + LAYOUT['offsetof(struct tln_gen_res, is_signed)']),
  };
}

test('resolveConf: the walk of each resolved argument, checked against its declared type', () => {
  const INT = LAYOUT.TLN_ARG_INT;
  const STRING = LAYOUT.TLN_ARG_STRING;
  const h = rawHook([
    { index: 0, type: INT, resolve: 'p.x' },
    { index: 0, type: STRING, resolve: 'p.name' },
    { index: 0, type: INT },
  ]);
  const conf = resolveConf(rawTpConf(h), h, SMALL);
  assert.equal(res(conf, 0), { off: [16, 0], n: 2, loads: 3, size: 4, signed: 1 });
  assert.equal(res(conf, 1), { off: [16, 4], n: 2, loads: 1, size: 0, signed: 0 });
  assert.is(res(conf, 2).n, 0, 'no resolve: no walk');
  assert.throws(
    () => resolveConf(rawTpConf(rawHook([{ index: 0, type: STRING, resolve: 'a' }])), rawHook([{ index: 0, type: STRING, resolve: 'a' }]), SMALL),
    /ends at int, which a string argument cannot be read from/,
  );
  assert.throws(
    () => resolveConf(rawTpConf(rawHook([{ index: 3, type: INT, resolve: 'a' }])), rawHook([{ index: 3, type: INT, resolve: 'a' }]), SMALL),
    /ev has 1 arguments/,
  );
  const k: HookSpec = { ...rawHook([{ index: 1, type: INT, resolve: 'in.x' }]), kind: 'kprobe', name: 'ev_fn', tracepoint: undefined };
  assert.equal(res(resolveConf(kprobeConf(k), k, SMALL), 0), { off: [4], n: 1, loads: 1, size: 4, signed: 1 });
  assert.throws(
    () => resolveConf(kprobeConf({ ...k, name: 'gone' }), { ...k, name: 'gone' }, SMALL),
    /resolve needs the prototype of gone in the kernel's BTF, which has none/,
  );
  assert.throws(() => resolveConf(kprobeConf(k), k, 'cannot read'), /resolve walks the kernel's BTF: cannot read/);
});

test('the need resolve gives a hook is met on kprobes, fentries, LSM hooks and raw tracepoints, not on syscalls', () => {
  const doc = (syscall: boolean) =>
    policy({ kprobes: [{ call: syscall ? 'sys_lseek' : 'security_file_open', syscall, args: [{ index: 0, type: 'int', resolve: 'f_flags' }] }] });
  for (const syscall of [false, true]) {
    const r = compile([doc(syscall)], { defaultNamespace: 'default' });
    assert.ok(r.image, JSON.stringify(r.diagnostics));
    const spec = inspectImage(r.image!)[0];
    assert.ok(spec.hooks[0].spec?.needs?.includes(NEED_RESOLVE), 'the same text in the core and the loader');
    const reasons = unsupportedReasons(spec, { kprobes: true });
    if (syscall) assert.match(reasons.join(), /resolve \(BTF field paths\)/);
    else assert.equal(reasons, []);
  }
});

test('resolve on a function served by a mapping onto another hook (fd_install at the open exits) is refused, naming the mapping', () => {
  const f = readFeatures(JSON.parse(readFileSync(join(ROOT, 'test/fixtures/kernels/host-6.18.json'), 'utf8')));
  if (typeof f === 'string') throw new Error(f);
  const r = compile(
    [policy({ kprobes: [{ call: 'fd_install', syscall: false, args: [{ index: 1n, type: 'string', resolve: 'f_path.dentry.d_name.name' }] }] })],
    { defaultNamespace: 'default' },
  );
  const spec = inspectImage(r.image!)[0];
  assert.match(
    unsupportedReasons(spec, f).join(),
    /resolve \(BTF field paths\) on generic_kprobe_open_tp \(it reads another hook's values, not fd_install's arguments\)/,
  );
  assert.equal(unsupportedReasons(spec, { ...f, kprobes: true }), [], 'a generic kprobe walks it');
});

const vmlinux = existsSync('/sys/kernel/btf/vmlinux');
test('this kernel: sched_process_exec task_struct paths (pid, real_parent.tgid, comm) as the rawtp test uses them', () => {
  if (!vmlinux) return;
  const btf = kernelBtf();
  assert.ok(typeof btf !== 'string', String(btf));
  if (typeof btf === 'string') return;
  const p = btf.prototype('sched_process_exec', true)!;
  assert.equal(
    p.map((t) => btf.spell(t)),
    ['struct task_struct *', 'int', 'struct linux_binprm *'],
  );
  const pid = resolvePath(btf, p[0], 'pid');
  assert.ok(typeof pid !== 'string' && pid.steps.length === 1 && pid.size === 4 && pid.signed);
  const ppid = resolvePath(btf, p[0], 'real_parent.tgid');
  assert.ok(typeof ppid !== 'string' && ppid.steps.every((s) => s.load) && ppid.steps.length === 2);
  const comm = resolvePath(btf, p[0], 'comm');
  assert.ok(typeof comm !== 'string' && btf.isCharArray(comm.type) && !comm.steps[0].load);
});

test('this kernel: a pointer to a pointer is loaded first (cred **), btfType casts the pointer (sockaddr -> sockaddr_in)', () => {
  if (!vmlinux) return;
  const btf = kernelBtf();
  if (typeof btf === 'string') return;
  const cu = btf.prototype('security_inode_copy_up');
  if (cu) {
    assert.is(btf.spell(cu[1]), 'struct cred * *');
    const r = resolvePath(btf, cu[1], 'user.uid.val');
    assert.ok(typeof r !== 'string' && r.steps[0].off === 0 && r.steps[0].load && r.steps.length === 3, JSON.stringify(r));
  }
  const sc = btf.prototype('security_socket_connect')!;
  assert.is(btf.spell(sc[1]), 'struct sockaddr *');
  assert.match(String(resolvePath(btf, sc[1], 'sin_port')), /struct sockaddr has no member sin_port/);
  const port = resolvePath(btf, sc[1], 'sin_port', btf.findStruct('sockaddr_in'));
  assert.equal(port, { steps: [{ off: 2, load: true }], type: (port as { type: number }).type, size: 2, signed: false });
  assert.is(btf.findStruct('no_such_struct_here'), 0);
});

test.run();
