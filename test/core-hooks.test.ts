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
  assert.equal(up[0].hooks.map((h) => [h.name, h.kind, h.hookId, h.uprobe, h.selectors, h.args]), [
    ['/bin/bash:readline', 'uprobe', 101, { path: '/bin/bash', symbol: 'readline' }, 0, []],
  ]);
  assert.is(up[0].mode, 'monitor_only');
  const tp = inspectImage(image(loadDocs(path.join(ROOT, 'examples/tracepoint-openat.yaml'))));
  const h = tp[0].hooks[0];
  assert.equal([h.name, h.kind, h.hookId, h.tracepoint, h.selectors, h.message, h.tags], [
    'syscalls/sys_enter_openat', 'tracepoint', 100, { subsystem: 'syscalls', event: 'sys_enter_openat' }, 2, 'sensitive file opened', ['observability.filesystem'],
  ]);
  // enum tln_arg_type: int 1, string 19
  assert.equal(h.args, [{ index: 5, type: 1 }, { index: 6, type: 19 }, { index: 7, type: 1 }]);
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
  assert.equal(spec.hooks.map((h) => [h.name, h.slot, h.selectors, h.actions, h.message, h.tags, h.uprobe]), [
    ['/usr/lib/libc.so.6:open', 0, 1, ['Sigkill'], 'libc open', ['t'], { path: '/usr/lib/libc.so.6', symbol: 'open' }],
    ['/usr/lib/libc.so.6:openat', 1, 1, ['Sigkill'], 'libc open', ['t'], { path: '/usr/lib/libc.so.6', symbol: 'openat' }],
  ]);
  assert.is(spec.mode, 'enforce');
  // the two hooks have their own selector entries in tln_sels
  const sels = spec.maps.find((m) => m.name === 'tln_sels')!;
  assert.is(sels.count, 2);
});

test('kprobe hooks carry their args in inspectImage too', () => {
  const doc = policy({ kprobes: [{ call: 'security_file_permission', args: [{ index: 0n, type: 'file' }, { index: 1n, type: 'int' }] }] });
  const h = inspectImage(image([doc]))[0].hooks[0];
  assert.equal(h.args, [{ index: 0, type: 16 }, { index: 1, type: 1 }]);
  assert.is(h.tracepoint, undefined);
  assert.is(h.uprobe, undefined);
});

// ---- errors ----

test('one kind of hook per policy (Tetragon rule)', () => {
  const d = errs(policy({ kprobes: [{ call: 'tcp_connect' }], tracepoints: [openat()], uprobes: [readline()] }));
  assert.equal(
    d.map((x) => [x.path, x.message]),
    [
      [['spec', 'tracepoints'], 'a policy may use only one of kprobes, tracepoints and uprobes (as in Tetragon); this one has kprobes and tracepoints: put the tracepoints in a policy of their own'],
      [['spec', 'uprobes'], 'a policy may use only one of kprobes, tracepoints and uprobes (as in Tetragon); this one has kprobes and uprobes: put the uprobes in a policy of their own'],
    ],
  );
  // empty sections do not count
  assert.equal(errs(policy({ kprobes: [], tracepoints: [openat()] })), []);
});

test('tracepoints: subsystem and event', () => {
  const H = ['spec', 'tracepoints', 0];
  expectError(tpPolicy({ event: 'sys_enter_openat' }), H, 'subsystem is required (the tracepoint\'s subsystem, e.g. syscalls)');
  expectError(tpPolicy({ subsystem: 'syscalls' }), H, 'event is required (the tracepoint\'s event, e.g. sys_enter_openat)');
  expectError(tpPolicy({ subsystem: 'sys/calls', event: 'x' }), [...H, 'subsystem'], 'subsystem "sys/calls" is not a tracepoint name (letters, digits and _, as under /sys/kernel/tracing/events)');
  expectError(tpPolicy({ subsystem: 'syscalls', event: '' }), [...H, 'event'], /^event "" is not a tracepoint name/);
  expectError(tpPolicy(openat({ raw: true })), [...H, 'raw'], 'raw: true (raw tracepoints) is not supported by talon yet');
  assert.equal(errs(tpPolicy(openat({ raw: false }))), []);
});

test('tracepoints: args', () => {
  const A = ['spec', 'tracepoints', 0, 'args', 0];
  const withArg = (a: Record<string, unknown>) => tpPolicy({ subsystem: 'syscalls', event: 'sys_enter_openat', args: [a] });
  expectError(withArg({ index: 300n, type: 'int' }), [...A, 'index'], 'index 300 is out of range: a tracepoint format has at most 256 fields');
  expectError(withArg({ index: 6n, type: 'file' }), [...A, 'type'], 'argument type "file" cannot be used on a tracepoint (use an integer type such as int or uint64, or string)');
  expectError(withArg({ index: 6n, type: 'sock' }), [...A, 'type'], /cannot be used on a tracepoint/);
  expectError(withArg({ index: 6n, type: 'char_buf' }), [...A, 'type'], 'argument type "char_buf" is not supported by talon yet');
  expectError(withArg({ type: 'int' }), A, "index is required (the field position in the tracepoint's format, common_* fields included)");
  for (const t of ['int', 'uint32', 'long', 'uint64', 'size_t', 'int8', 'uint16', 'string']) assert.equal(errs(withArg({ index: 4n, type: t })), [], t);
});

test('tracepoints: Override is refused, the other actions are fine', () => {
  const sel = (a: Record<string, unknown>) => tpPolicy(openat({ selectors: [{ matchActions: [a] }] }));
  expectError(sel({ action: 'Override', argError: -1n }), ['spec', 'tracepoints', 0, 'selectors', 0, 'matchActions', 0, 'action'], /^Override is not possible on a tracepoint/);
  for (const a of [{ action: 'Post' }, { action: 'NoPost' }, { action: 'Sigkill' }, { action: 'Signal', argSig: 10n }]) assert.equal(errs(sel(a)), [], a.action);
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
  expectError(upPolicy({ path: '/bin/bash', symbols: ['a:b'] }), [...H, 'symbols', 0], 'symbol "a:b" is not a symbol name (non-empty, no \':\' or \'/\')');
  expectError(upPolicy({ path: '/bin/bash', symbols: ['readline', 'readline'] }), [...H, 'symbols', 1], 'symbol "readline" is listed twice');
});

test('uprobes: fields not supported yet', () => {
  const H = ['spec', 'uprobes', 0];
  expectError(upPolicy({ path: '/bin/bash', offsets: [16n] }), [...H, 'offsets'], 'offsets is not supported by talon yet (name the functions in symbols)');
  expectError(upPolicy({ path: '/bin/bash', addrs: [16n] }), [...H, 'addrs'], 'addrs is not supported by talon yet (name the functions in symbols)');
  expectError(upPolicy(readline({ refCtrOffsets: [1n] })), [...H, 'refCtrOffsets'], 'refCtrOffsets is not supported by talon yet');
  expectError(upPolicy(readline({ btfPath: '/x.btf' })), [...H, 'btfPath'], 'btfPath is not supported by talon yet');
  expectError(upPolicy(readline({ binaryDigests: ['sha256:00'] })), [...H, 'binaryDigests'], 'binaryDigests is not supported by talon yet');
  expectError(upPolicy(readline({ data: [{ index: 0n, type: 'int' }] })), [...H, 'data'], 'data is not supported by talon yet');
  expectError(upPolicy(readline({ ignore: { callNotFound: true } })), [...H, 'ignore'], 'ignore is not supported by talon yet');
  expectError(upPolicy(readline({ return: true, returnArg: { index: 0n, type: 'int' } })), [...H, 'return'], 'return probes on uprobes (return, returnArg) are not supported by talon yet');
  expectError(upPolicy(readline({ returnArg: { index: 0n, type: 'int' } })), [...H, 'returnArg'], /^return probes on uprobes/);
});

test('uprobes: args, Override, namespaced policies', () => {
  const A = ['spec', 'uprobes', 0, 'args', 0];
  expectError(upPolicy(readline({ args: [{ index: 6n, type: 'int' }] })), [...A, 'index'], 'index 6 is out of range: talon reads the first 6 arguments of a uprobe (0 to 5) from registers');
  expectError(upPolicy(readline({ args: [{ index: 0n, type: 'fd' }] })), [...A, 'type'], 'argument type "fd" cannot be used on a uprobe (use an integer type such as int or uint64, or string)');
  expectError(
    upPolicy(readline({ selectors: [{ matchActions: [{ action: 'Override', argError: -1n }] }] })),
    ['spec', 'uprobes', 0, 'selectors', 0, 'matchActions', 0, 'action'],
    'Override is not supported on uprobes by talon (it would rewrite the probed function\'s registers): use Sigkill or Signal',
  );
  expectError(policy({ uprobes: [readline()] }, {}, 'TracingPolicyNamespaced'), ['spec', 'uprobes'], /^uprobes cannot be used in a TracingPolicyNamespaced/);
  // tracepoints may be namespaced
  assert.equal(errs(tpPolicy(openat(), 'TracingPolicyNamespaced')), []);
});

// ---- evaluation ----

test('tracepoint events match by subsystem/event, then selectors', () => {
  const doc = tpPolicy(
    openat({
      selectors: [
        { matchArgs: [{ index: 6n, operator: 'Prefix', values: ['/tmp/talon-'] }], matchBinaries: [{ operator: 'In', values: ['/tmp/bin/cat'] }], matchActions: [{ action: 'Sigkill' }] },
        { matchArgs: [{ index: 5n, operator: 'Equal', values: ['-100'] }, { index: 7n, operator: 'Mask', values: ['64'] }] },
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
      selectors: [{ matchPIDs: [{ operator: 'In', values: [4242n] }], matchArgs: [{ index: 0n, operator: 'Equal', values: ['$ '] }], matchActions: [{ action: 'Signal', argSig: 'SIGUSR1' }] }],
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
