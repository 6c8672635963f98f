// Tracepoints and uprobes in the core: compiling spec.tracepoints / spec.uprobes,
// every error they can give, what inspectImage tells the loader, and how the
// evaluator matches their events (by "subsystem/event" and "path:symbol").
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { compile, inspectImage, Evaluator } from '../src/core/index.js';
import type { Diagnostic, EvalArg, EvalEvent } from '../src/core/types.js';
import { OPTS, ROOT, policy, loadDocs, image, str, int, POD } from './helpers/core.js';

type Seg = string | number;

function errs(doc: unknown): Diagnostic[] {
  return compile([doc], OPTS).diagnostics.filter((d) => d.severity === 'error');
}
function expectError(doc: unknown, p: Seg[], message: string | RegExp): void {
  const r = compile([doc], OPTS);
  const e = r.diagnostics.filter((d) => d.severity === 'error');
  assert.is(e.length, 1, JSON.stringify(r.diagnostics));
  assert.is(r.image, null);
  assert.equal(e[0].path, p);
  if (typeof message === 'string') assert.is(e[0].message, message);
  else assert.match(e[0].message, message);
}

const openat = (extra: Record<string, unknown> = {}) => ({
  subsystem: 'syscalls',
  event: 'sys_enter_openat',
  args: [
    { index: 5n, type: 'int' },
    { index: 6n, type: 'string' },
    { index: 7n, type: 'int' },
  ],
  ...extra,
});
const tpPolicy = (tp: Record<string, unknown>, kind = 'TracingPolicy') => policy({ tracepoints: [tp] }, {}, kind);
const upPolicy = (up: Record<string, unknown>) => policy({ uprobes: [up] });
const readline = (extra: Record<string, unknown> = {}) => ({ path: '/bin/bash', symbols: ['readline'], ...extra });

const tpEvent = (hook: string, args: EvalArg[], extra: Partial<EvalEvent> = {}): EvalEvent => ({
  kind: 'tracepoint',
  hook,
  timeNs: 1000n,
  pid: 100,
  tid: 100,
  binary: '/usr/bin/cat',
  pod: null,
  args,
  ...extra,
});
const upEvent = (hook: string, args: EvalArg[] = [], extra: Partial<EvalEvent> = {}): EvalEvent => ({ ...tpEvent(hook, args, extra), kind: 'uprobe' });

// ---- compile and inspect ----

test('the examples compile: trace-bash-readline and tracepoint-openat', () => {
  const up = inspectImage(image(loadDocs(path.join(ROOT, 'examples/trace-bash-readline.yaml'))));
  assert.equal(
    up[0].hooks.map((h) => [h.name, h.kind, h.hookId, h.uprobe, h.selectors, h.args]),
    [['/bin/bash:readline', 'uprobe', 101, { path: '/bin/bash', symbol: 'readline' }, 0, []]],
  );
  assert.is(up[0].mode, 'monitor_only');
  const tp = inspectImage(image(loadDocs(path.join(ROOT, 'examples/tracepoint-openat.yaml'))));
  const h = tp[0].hooks[0];
  assert.equal(
    [h.name, h.kind, h.hookId, h.tracepoint, h.selectors, h.message, h.tags],
    [
      'syscalls/sys_enter_openat',
      'tracepoint',
      100,
      { subsystem: 'syscalls', event: 'sys_enter_openat' },
      2,
      'sensitive file opened',
      ['observability.filesystem'],
    ],
  );
  // enum tln_arg_type: int 1, string 19
  assert.equal(h.args, [
    { index: 5, type: 1 },
    { index: 6, type: 19 },
    { index: 7, type: 1 },
  ]);
});

test('uprobes: one hook per symbol, same args and selectors', () => {
  const doc = upPolicy({
    path: '/usr/lib/libc.so.6',
    symbols: ['open', 'openat'],
    message: 'libc open',
    tags: ['t'],
    args: [{ index: 1n, type: 'string' }],
    selectors: [{ matchArgs: [{ index: 1n, operator: 'Prefix', values: ['/etc/'] }], matchActions: [{ action: 'Sigkill' }] }],
  });
  const spec = inspectImage(image([doc]))[0];
  assert.equal(
    spec.hooks.map((h) => [h.name, h.slot, h.selectors, h.actions, h.message, h.tags, h.uprobe]),
    [
      ['/usr/lib/libc.so.6:open', 0, 1, ['Sigkill'], 'libc open', ['t'], { path: '/usr/lib/libc.so.6', symbol: 'open' }],
      ['/usr/lib/libc.so.6:openat', 1, 1, ['Sigkill'], 'libc open', ['t'], { path: '/usr/lib/libc.so.6', symbol: 'openat' }],
    ],
  );
  assert.is(spec.mode, 'enforce');
  // the two hooks have their own selector entries in tln_sels
  const sels = spec.maps.find((m) => m.name === 'tln_sels')!;
  assert.is(sels.count, 2);
});

test('kprobe hooks carry their args in inspectImage too', () => {
  const doc = policy({
    kprobes: [
      {
        call: 'security_file_permission',
        args: [
          { index: 0n, type: 'file' },
          { index: 1n, type: 'int' },
        ],
      },
    ],
  });
  const h = inspectImage(image([doc]))[0].hooks[0];
  assert.equal(h.args, [
    { index: 0, type: 16 },
    { index: 1, type: 1 },
  ]);
  assert.is(h.tracepoint, undefined);
  assert.is(h.uprobe, undefined);
});

// ---- errors ----

test('one kind of hook per policy (Tetragon rule)', () => {
  const d = errs(policy({ kprobes: [{ call: 'tcp_connect' }], tracepoints: [openat()], uprobes: [readline()] }));
  assert.equal(
    d.map((x) => [x.path, x.message]),
    [
      [
        ['spec', 'tracepoints'],
        'a policy may use only one of kprobes, tracepoints, lsmhooks, uprobes, usdts and fentries (as in Tetragon); this one has kprobes and tracepoints: put the tracepoints in a policy of their own',
      ],
      [
        ['spec', 'uprobes'],
        'a policy may use only one of kprobes, tracepoints, lsmhooks, uprobes, usdts and fentries (as in Tetragon); this one has kprobes and uprobes: put the uprobes in a policy of their own',
      ],
    ],
  );
  // empty sections do not count
  assert.equal(errs(policy({ kprobes: [], tracepoints: [openat()] })), []);
});

test('tracepoints: subsystem and event', () => {
  const H = ['spec', 'tracepoints', 0];
  expectError(tpPolicy({ event: 'sys_enter_openat' }), H, "subsystem is required (the tracepoint's subsystem, e.g. syscalls)");
  expectError(tpPolicy({ subsystem: 'syscalls' }), H, "event is required (the tracepoint's event, e.g. sys_enter_openat)");
  expectError(
    tpPolicy({ subsystem: 'sys/calls', event: 'x' }),
    [...H, 'subsystem'],
    'subsystem "sys/calls" is not a tracepoint name (letters, digits and _, as under /sys/kernel/tracing/events)',
  );
  expectError(tpPolicy({ subsystem: 'syscalls', event: '' }), [...H, 'event'], /^event "" is not a tracepoint name/);
  // raw: true compiles (issue 8); the image says so and the loader serves it by a BTF tracepoint (issue 10)
  const raw = compile([tpPolicy(openat({ raw: true }))], OPTS);
  assert.equal(raw.diagnostics, []);
  const rh = inspectImage(raw.image!)[0].hooks[0];
  assert.equal(rh.spec?.tracepoint, { subsystem: 'syscalls', event: 'sys_enter_openat', raw: true });
  assert.equal(rh.spec?.needs, []);
  assert.equal(errs(tpPolicy(openat({ raw: false }))), []);
});

test('tracepoints: args', () => {
  const A = ['spec', 'tracepoints', 0, 'args', 0];
  const withArg = (a: Record<string, unknown>) => tpPolicy({ subsystem: 'syscalls', event: 'sys_enter_openat', args: [a] });
  expectError(withArg({ index: 300n, type: 'int' }), [...A, 'index'], 'index 300 is out of range: a tracepoint format has at most 256 fields');
  // every Tetragon type compiles (issue 8); what the tracepoint program cannot read is a need
  const needs = (t: string) => inspectImage(compile([withArg({ index: 6n, type: t })], OPTS).image!)[0].hooks[0].spec?.needs;
  assert.equal(needs('file'), ['argument type file on a tracepoint']);
  assert.equal(needs('sock'), ['argument type sock on a tracepoint']);
  assert.equal(needs('char_buf'), ['argument type char_buf']);
  assert.equal(needs('data_loc'), ['argument type data_loc']);
  expectError(withArg({ index: 6n, type: 'charbuf' }), [...A, 'type'], /^unknown argument type "charbuf"/);
  expectError(withArg({ type: 'int' }), A, "index is required (the field position in the tracepoint's format, common_* fields included)");
  for (const t of ['int', 'uint32', 'long', 'uint64', 'size_t', 'int8', 'uint16', 'string']) assert.equal(errs(withArg({ index: 4n, type: t })), [], t);
});

test('tracepoints: Override is refused, the other actions are fine', () => {
  const sel = (a: Record<string, unknown>) => tpPolicy(openat({ selectors: [{ matchActions: [a] }] }));
  expectError(
    sel({ action: 'Override', argError: -1n }),
    ['spec', 'tracepoints', 0, 'selectors', 0, 'matchActions', 0, 'action'],
    /^Override is not possible on a tracepoint/,
  );
  for (const a of [{ action: 'Post' }, { action: 'NoPost' }, { action: 'Sigkill' }, { action: 'Signal', argSig: 10n }])
    assert.equal(errs(sel(a)), [], a.action);
});

test('tracepoints: matchArgs use the format index and the declared type', () => {
  const S = ['spec', 'tracepoints', 0, 'selectors', 0, 'matchArgs', 0];
  const m = (f: Record<string, unknown>) => tpPolicy(openat({ selectors: [{ matchArgs: [f] }] }));
  expectError(m({ index: 8n, operator: 'Equal', values: ['1'] }), [...S, 'index'], 'index 8 does not name an entry of args[] (declared indexes: 5, 6, 7)');
  expectError(m({ index: 6n, operator: 'GT', values: ['1'] }), [...S, 'operator'], /^operator GT cannot be used on argument 6 of type string/);
  expectError(m({ index: 5n, operator: 'Prefix', values: ['/'] }), [...S, 'operator'], /^operator Prefix cannot be used on argument 5 of type int/);
  assert.equal(errs(m({ index: 5n, operator: 'Equal', values: ['-100'] })), []);
});

test('too many hooks: tracepoints and uprobe symbols count', () => {
  const tps = Array.from({ length: 17 }, () => openat());
  expectError(policy({ tracepoints: tps }), ['spec', 'tracepoints', 16], '17 hooks from tracepoints, at most 16 per policy');
  const syms = Array.from({ length: 17 }, (_, i) => `f${i}`);
  expectError(upPolicy({ path: '/bin/x', symbols: syms }), ['spec', 'uprobes', 0, 'symbols', 16], '17 hooks from uprobe symbols, at most 16 per policy');
});

test('uprobes: path and symbols', () => {
  const H = ['spec', 'uprobes', 0];
  expectError(upPolicy({ symbols: ['readline'] }), H, 'path is required (the binary or library to probe, e.g. /bin/bash)');
  expectError(upPolicy({ path: '', symbols: ['readline'] }), [...H, 'path'], 'path is empty (expected the binary or library to probe, e.g. /bin/bash)');
  expectError(upPolicy({ path: '/bin/bash' }), H, 'symbols is required (the functions to probe, e.g. [readline])');
  expectError(upPolicy({ path: '/bin/bash', symbols: [] }), [...H, 'symbols'], 'symbols is empty (expected the functions to probe, e.g. [readline])');
  expectError(upPolicy({ path: '/bin/bash', symbols: ['a:b'] }), [...H, 'symbols', 0], "symbol \"a:b\" is not a symbol name (non-empty, no ':' or '/')");
  expectError(upPolicy({ path: '/bin/bash', symbols: ['readline', 'readline'] }), [...H, 'symbols', 1], 'symbol "readline" is listed twice');
});

test('uprobes: offsets, addrs, refCtrOffsets, btfPath, binaryDigests, data, return probes compile', () => {
  const H = ['spec', 'uprobes', 0];
  const hooksOf = (up: Record<string, unknown>) => {
    const r = compile([upPolicy(up)], OPTS);
    assert.equal(
      r.diagnostics.filter((d) => d.severity === 'error'),
      [],
      String(Object.keys(up)),
    );
    return inspectImage(r.image!)[0].hooks;
  };
  const off = hooksOf({ path: '/bin/bash', offsets: [16n, '0x20'], refCtrOffsets: [1n, 2n] });
  assert.equal(
    off.map((h) => h.name),
    ['/bin/bash:+0x10', '/bin/bash:+0x20'],
  );
  assert.equal(off[1].spec?.uprobe, { path: '/bin/bash', symbol: '', offset: '0x20', refCtrOffset: '0x2' });
  // offsets, addrs, refCtrOffsets and binaryDigests are resolved at load (src/kernel/uprobes.ts): no needs
  assert.equal(off[0].spec?.needs, []);
  assert.equal(hooksOf({ path: '/bin/bash', addrs: [4096n] })[0].name, '/bin/bash:@0x1000');
  const digest = 'sha256:' + 'ab'.repeat(32);
  const full = hooksOf(
    readline({
      btfPath: '/x.btf',
      binaryDigests: [digest],
      data: [{ index: 0n, type: 'int' }],
      return: true,
      returnArg: { index: 0n, type: 'int' },
      ignore: { callNotFound: true },
    }),
  );
  assert.equal(full[0].spec?.needs, ['btfPath', 'data[]']);
  assert.is(full[0].return, true);
  // wrong values, each located
  expectError(upPolicy({ path: '/bin/bash', offsets: ['x'] }), [...H, 'offsets', 0], 'offsets value "x" is not a non-negative integer');
  expectError(
    upPolicy(readline({ refCtrOffsets: [1n, 2n] })),
    [...H, 'refCtrOffsets'],
    'refCtrOffsets has 2 entries but there are 1 attach points; give one per point',
  );
  expectError(
    upPolicy(readline({ binaryDigests: ['sha256:00'] })),
    [...H, 'binaryDigests', 0],
    'binary digest "sha256:00" is not sha256:<64 hex digits> or 64 hex digits',
  );
  expectError(upPolicy(readline({ offsets: [1n] })), H, "give one of symbols, offsets and addrs (Tetragon's rule)");
  expectError(upPolicy(readline({ return: true })), [...H, 'return'], 'return: true needs returnArg (the type of the return value)');
});

test('uprobes: args, Override, namespaced policies', () => {
  const A = ['spec', 'uprobes', 0, 'args', 0];
  expectError(
    upPolicy(readline({ args: [{ index: 6n, type: 'int' }] })),
    [...A, 'index'],
    'index 6 is out of range: talon reads the first 6 arguments of a uprobe (0 to 5) from registers',
  );
  // fd compiles (issue 8) and is a need: the uprobe program reads registers and strings only
  const fd = compile([upPolicy(readline({ args: [{ index: 0n, type: 'fd' }] }))], OPTS);
  assert.equal(inspectImage(fd.image!)[0].hooks[0].spec?.needs, ['argument type fd on a uprobe']);
  // Override on uprobes: argError, or argRegs (Tetragon 1.6+); argNew* at most one
  const ov = (a: Record<string, unknown>) => upPolicy(readline({ selectors: [{ matchActions: [{ action: 'Override', ...a }] }] }));
  const AP = ['spec', 'uprobes', 0, 'selectors', 0, 'matchActions', 0];
  assert.equal(errs(ov({ argError: -1n })), []);
  assert.equal(errs(ov({ argRegs: ['rax=1', 'rdi=rsi'] })), []);
  expectError(ov({ argRegs: ['rax'] }), [...AP, 'argRegs', 0], 'argRegs entry "rax" is not of the form register=expression (e.g. rax=1)');
  expectError(ov({ argNewSymbol: 'x', argNewOffset: 1n }), AP, 'Override: at most one of argNewSymbol, argNewAddr and argNewOffset');
  expectError(ov({}), AP, 'Override needs argError (the error to return, e.g. -1 for -EPERM)');
  expectError(policy({ uprobes: [readline()] }, {}, 'TracingPolicyNamespaced'), ['spec', 'uprobes'], /^uprobes cannot be used in a TracingPolicyNamespaced/);
  // tracepoints may be namespaced
  assert.equal(errs(tpPolicy(openat(), 'TracingPolicyNamespaced')), []);
});

// ---- evaluation ----

test('tracepoint events match by subsystem/event, then selectors', () => {
  const doc = tpPolicy(
    openat({
      selectors: [
        {
          matchArgs: [{ index: 6n, operator: 'Prefix', values: ['/tmp/talon-'] }],
          matchBinaries: [{ operator: 'In', values: ['/tmp/bin/cat'] }],
          matchActions: [{ action: 'Sigkill' }],
        },
        {
          matchArgs: [
            { index: 5n, operator: 'Equal', values: ['-100'] },
            { index: 7n, operator: 'Mask', values: ['64'] },
          ],
        },
      ],
    }),
  );
  const ev = new Evaluator(image([doc]));
  const args = (name: string, dfd = -100, flags = 0) => [int(dfd), str(name), int(flags)];
  let v = ev.evaluate(tpEvent('syscalls/sys_enter_openat', args('/tmp/talon-x'), { binary: '/tmp/bin/cat' }));
  assert.is(v.verdict, 'kill');
  assert.equal([v.matches[0].hook, v.matches[0].selector, v.matches[0].actions], [0, 0, ['Sigkill']]);
  // other binary: selector 1 needs O_CREAT (64) and AT_FDCWD
  assert.is(ev.evaluate(tpEvent('syscalls/sys_enter_openat', args('/tmp/talon-x'))).verdict, 'none');
  v = ev.evaluate(tpEvent('syscalls/sys_enter_openat', args('/tmp/talon-x', -100, 0o101)));
  assert.equal([v.verdict, v.matches[0].selector], ['post', 1]);
  assert.is(ev.evaluate(tpEvent('syscalls/sys_enter_openat', args('/x', 3, 64))).verdict, 'none');
  // another tracepoint, or a kprobe of the same text, is not this hook
  assert.is(ev.evaluate(tpEvent('syscalls/sys_enter_open', args('/tmp/talon-x'), { binary: '/tmp/bin/cat' })).verdict, 'none');
  assert.is(ev.evaluate({ ...tpEvent('syscalls/sys_enter_openat', args('/tmp/talon-x'), { binary: '/tmp/bin/cat' }), kind: 'uprobe' }).verdict, 'none');
  assert.is(ev.evaluate({ ...tpEvent('syscalls/sys_enter_openat', args('/tmp/talon-x'), { binary: '/tmp/bin/cat' }), kind: 'kprobe' }).verdict, 'none');
});

test('two tracepoints of one policy are told apart by name', () => {
  const doc = policy({
    tracepoints: [
      { subsystem: 'syscalls', event: 'sys_enter_openat', args: [{ index: 6n, type: 'string' }] },
      { subsystem: 'syscalls', event: 'sys_enter_unlinkat', args: [{ index: 6n, type: 'string' }], selectors: [{ matchActions: [{ action: 'Sigkill' }] }] },
    ],
  });
  const ev = new Evaluator(image([doc]));
  let v = ev.evaluate(tpEvent('syscalls/sys_enter_openat', [str('/a')]));
  assert.equal([v.verdict, v.matches.map((m) => m.hook)], ['post', [0]]);
  v = ev.evaluate(tpEvent('syscalls/sys_enter_unlinkat', [str('/a')]));
  assert.equal([v.verdict, v.matches.map((m) => m.hook)], ['kill', [1]]);
});

test('uprobe events match by path:symbol; matchPIDs and string args', () => {
  const ev = new Evaluator(image(loadDocs(path.join(ROOT, 'examples/trace-bash-readline.yaml'))));
  const v = ev.evaluate(upEvent('/bin/bash:readline', [], { binary: '/usr/bin/bash' }));
  assert.equal([v.verdict, v.matches[0].selector, v.matches[0].actions, v.matches[0].mode], ['post', -1, ['Post'], 'monitor_only']);
  assert.is(ev.evaluate(upEvent('/usr/bin/bash:readline')).verdict, 'none'); // the path as the policy wrote it
  assert.is(ev.evaluate(upEvent('/bin/bash:readlin')).verdict, 'none');

  const doc = upPolicy(
    readline({
      args: [{ index: 0n, type: 'string' }],
      selectors: [
        {
          matchPIDs: [{ operator: 'In', values: [4242n] }],
          matchArgs: [{ index: 0n, operator: 'Equal', values: ['$ '] }],
          matchActions: [{ action: 'Signal', argSig: 'SIGUSR1' }],
        },
      ],
    }),
  );
  const e2 = new Evaluator(image([doc]));
  assert.is(e2.evaluate(upEvent('/bin/bash:readline', [str('$ ')], { pid: 4242, pod: POD })).verdict, 'signal');
  assert.is(e2.evaluate(upEvent('/bin/bash:readline', [str('$ ')], { pid: 4243 })).verdict, 'none');
  assert.is(e2.evaluate(upEvent('/bin/bash:readline', [str('# ')], { pid: 4242 })).verdict, 'none');
});

test('encoded records carry the hook name (header 48 bytes)', () => {
  const ev = new Evaluator(image(loadDocs(path.join(ROOT, 'examples/trace-bash-readline.yaml'))));
  const rec = ev.encode(upEvent('/bin/bash:readline'));
  const dv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  assert.is(dv.getUint16(4, true), 101); // TLN_HOOK_GENERIC_UPROBE
  assert.is(rec[6], 3); // TLN_HOOK_UPROBE
  const off = dv.getUint32(40, true);
  const len = dv.getUint32(44, true);
  assert.is(new TextDecoder().decode(rec.subarray(off, off + len)), '/bin/bash:readline');
  assert.is(ev.evaluateEncoded(rec), 1);
  // a name pointing outside the record is invalid
  const bad = rec.slice();
  new DataView(bad.buffer).setUint32(40, bad.length, true);
  assert.is(ev.evaluateEncoded(bad), -1);
});

test.run();
