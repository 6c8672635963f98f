// Compile-time meaning checks: every diagnostic kind, with its path.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compile, inspectImage } from '../src/core/index.js';
import type { Diagnostic } from '../src/core/types.js';
import { OPTS, policy, filePolicy, sockPolicy, parseDocs } from './helpers/core.js';

type Seg = string | number;
const SEL = ['spec', 'kprobes', 0, 'selectors'] as Seg[];
const HOOK = ['spec', 'kprobes', 0] as Seg[];

function diags(docs: unknown[], opts = OPTS): Diagnostic[] {
  return compile(docs, opts).diagnostics;
}
/** the single error of one document, as [path, message] */
function oneError(doc: unknown): [Seg[], string] {
  const r = compile([doc], OPTS);
  const errs = r.diagnostics.filter((d) => d.severity === 'error');
  assert.is(errs.length, 1, JSON.stringify(r.diagnostics));
  assert.is(r.image, null);
  return [errs[0].path, errs[0].message];
}
function expectError(doc: unknown, path: Seg[], message: string | RegExp): void {
  const [p, m] = oneError(doc);
  assert.equal(p, path);
  if (typeof message === 'string') assert.is(m, message);
  else assert.match(m, message);
}
const argSel = (f: Record<string, unknown>, hook = filePolicy) => hook([{ matchArgs: [f] }]);

// ---- documents ----

test('a valid policy compiles without diagnostics', () => {
  const r = compile([filePolicy([{ matchArgs: [{ index: 0n, operator: 'Prefix', values: ['/etc'] }] }])], OPTS);
  assert.equal(r.diagnostics, []);
  assert.ok(r.image instanceof Uint8Array);
});

test('apiVersion and kind', () => {
  expectError({ ...policy({}), apiVersion: 'cilium.io/v1' }, ['apiVersion'], 'apiVersion "cilium.io/v1" is not supported (expected cilium.io/v1alpha1)');
  expectError({ ...policy({}), kind: 'Policy' }, ['kind'], 'kind "Policy" is not supported (expected TracingPolicy or TracingPolicyNamespaced)');
});

test('metadata.name: required and DNS-like', () => {
  expectError({ ...policy({}), metadata: {} }, ['metadata'], 'name is required (the policy name)');
  expectError(policy({}, { name: 'Bad_Name' }), ['metadata', 'name'], /^metadata.name "Bad_Name" is not a valid name/);
  expectError(policy({}, { name: '-x' }), ['metadata', 'name'], /not a valid name/);
  assert.equal(
    diags([policy({ kprobes: [] }, { name: 'a.b-c' })]).filter((d) => d.severity === 'error'),
    [],
  );
});

test('namespace rules', () => {
  expectError(policy({}, { namespace: 'ns1' }), ['metadata', 'namespace'], /^a TracingPolicy is cluster-wide and cannot have metadata.namespace "ns1"/);
  const nsd = policy({ kprobes: [] }, {}, 'TracingPolicyNamespaced');
  const img = compile([nsd], { defaultNamespace: 'team-a' }).image!;
  assert.is(inspectImage(img)[0].namespace, 'team-a');
  const own = policy({ kprobes: [] }, { namespace: 'team-b' }, 'TracingPolicyNamespaced');
  assert.is(inspectImage(compile([own], { defaultNamespace: 'team-a' }).image!)[0].namespace, 'team-b');
  expectError(policy({}, { namespace: 'Team_B' }, 'TracingPolicyNamespaced'), ['metadata', 'namespace'], /is not a valid namespace/);
});

test('duplicate (name, namespace) across documents is an error on the later one', () => {
  const a = policy({ kprobes: [] }, { name: 'same' });
  const d = diags([a, a]).filter((x) => x.severity === 'error');
  assert.equal(d, [{ doc: 1, path: ['metadata', 'name'], message: 'cluster-wide policy "same" is defined twice (first in document 0)', severity: 'error' }]);
  const n1 = policy({ kprobes: [] }, { name: 'same', namespace: 'a' }, 'TracingPolicyNamespaced');
  const n2 = policy({ kprobes: [] }, { name: 'same', namespace: 'b' }, 'TracingPolicyNamespaced');
  assert.ok(compile([n1, n2, a], OPTS).image);
  assert.match(diags([n1, n1]).filter((x) => x.severity === 'error')[0].message, 'policy "same" in namespace "a" is defined twice');
});

test('all problems are collected, across documents, with document indexes', () => {
  const bad1 = argSel({ index: 0n, operator: 'Prefixx', values: ['/x'] });
  const bad2 = policy({ kprobes: [{ call: 'no pe' }] }, { name: 'q' });
  const d = diags([bad1, bad2, { ...bad1, metadata: { name: 'r' }, kind: 'Nope' }]);
  assert.equal(
    d.map((x) => x.doc),
    [0, 1, 2, 2],
  );
});

test('empty and non-object documents are skipped', () => {
  const r = compile([null, filePolicy([{}])], OPTS);
  assert.equal(r.diagnostics, []);
  assert.is(inspectImage(r.image!).length, 1);
  const yamlDocs = parseDocs('---\n' + 'apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: y}\nspec: {kprobes: []}\n---\n');
  assert.ok(compile(yamlDocs, OPTS).image);
});

test('wrong shapes are skipped silently (the schema reports them)', () => {
  const r = compile([policy({ kprobes: 'oops', options: 3, podSelector: [] })], OPTS);
  assert.equal(
    r.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  const r2 = compile([filePolicy([{ matchArgs: [{ index: 'zero', operator: 5, values: 'x' }] }])], OPTS);
  assert.ok(r2.diagnostics.every((d) => d.message.length > 0));
});

// ---- options and modes ----

test('spec.options: policy-mode values, unknown and unsupported options', () => {
  const withOpt = (o: unknown[]) => policy({ kprobes: [], options: o });
  expectError(
    withOpt([{ name: 'policy-mode', value: 'audit' }]),
    ['spec', 'options', 0, 'value'],
    'policy-mode "audit" is invalid (expected enforce or monitor)',
  );
  // unknown names: Tetragon ignores them silently, talon warns (issue 8)
  const unk = diags([withOpt([{ name: 'polcy-mode', value: 'x' }])]).filter((d) => d.path[1] === 'options');
  assert.equal(
    unk.map((d) => [d.severity, d.path]),
    [['warning', ['spec', 'options', 0, 'name']]],
  );
  assert.match(unk[0].message, /^unknown option "polcy-mode": Tetragon ignores it/);
  // every known option compiles, with its value checked
  for (const o of [
    { name: 'disable-kprobe-multi', value: '1' },
    { name: 'disable-uprobe-multi' },
    { name: 'override-method', value: 'fmod-ret' },
    { name: 'sleepable-preload-size', value: '4096' },
  ]) {
    assert.equal(errorsOf(withOpt([o])), [], o.name);
  }
  expectError(
    withOpt([{ name: 'override-method', value: 'kprobe' }]),
    ['spec', 'options', 0, 'value'],
    'option "override-method": "kprobe" is not fmod-ret or override-return',
  );
  expectError(
    withOpt([{ name: 'sleepable-preload-size', value: 'big' }]),
    ['spec', 'options', 0, 'value'],
    'option "sleepable-preload-size": "big" is not a size in bytes',
  );
  expectError(
    withOpt([
      { name: 'policy-mode', value: 'monitor' },
      { name: 'policy-mode', value: 'enforce' },
    ]),
    ['spec', 'options', 1, 'name'],
    'option "policy-mode" is given twice',
  );
});

test('resolved mode in the image: enforce, monitor, monitor_only; load-time warning on monitor_only', () => {
  const enf = filePolicy([{ matchActions: [{ action: 'Sigkill' }] }]);
  assert.is(inspectImage(compile([enf], OPTS).image!)[0].mode, 'enforce');
  assert.is(inspectImage(compile([enf], { ...OPTS, mode: 'monitor' }).image!)[0].mode, 'monitor');
  const obs = filePolicy([{}]);
  assert.is(inspectImage(compile([obs], OPTS).image!)[0].mode, 'monitor_only');
  const r = compile([obs], { ...OPTS, mode: 'enforce' });
  assert.ok(r.image);
  assert.equal(r.diagnostics, [
    {
      doc: 0,
      path: [],
      severity: 'warning',
      message: 'policy "p" has no enforcement action (Sigkill, Signal or Override): it runs as monitor_only and the load-time mode "enforce" has no effect',
    },
  ]);
  assert.throws(() => compile([obs], { ...OPTS, mode: 'audit' as 'enforce' }), /invalid load-time mode "audit"/);
});

// ---- scoping ----

test('hostSelector: {} only, and never in a namespaced policy', () => {
  expectError(policy({ hostSelector: { matchLabels: { a: 'b' } } }), ['spec', 'hostSelector'], /^hostSelector must be \{\}/);
  expectError(
    policy({ hostSelector: {} }, {}, 'TracingPolicyNamespaced'),
    ['spec', 'hostSelector'],
    /^hostSelector cannot be used in a TracingPolicyNamespaced/,
  );
});

test('label selector operators and values', () => {
  const ps = (e: unknown) => policy({ podSelector: { matchExpressions: [e] } });
  expectError(
    ps({ key: 'a', operator: 'in', values: ['x'] }),
    ['spec', 'podSelector', 'matchExpressions', 0, 'operator'],
    'unknown label selector operator "in" (expected one of In, NotIn, Exists, DoesNotExist)',
  );
  expectError(ps({ key: 'a', operator: 'In', values: [] }), ['spec', 'podSelector', 'matchExpressions', 0, 'values'], 'In needs at least one value');
  expectError(ps({ key: 'a', operator: 'Exists', values: ['x'] }), ['spec', 'podSelector', 'matchExpressions', 0, 'values'], 'Exists takes no values');
  expectError(
    policy({ containerSelector: { matchLabels: { image: 'x' } } }),
    ['spec', 'containerSelector', 'matchLabels', 'image'],
    'containerSelector key "image" is not supported (expected name or repo)',
  );
});

// ---- hooks and args ----

test('any kernel function compiles as a generic kprobe; list:NAME needs a defined list', () => {
  const hook = (k: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const r = compile([policy({ kprobes: [k], ...extra })], OPTS);
    assert.equal(
      r.diagnostics.filter((d) => d.severity === 'error'),
      [],
      JSON.stringify(k),
    );
    return inspectImage(r.image!)[0].hooks[0];
  };
  const h = hook({ call: 'fd_install' });
  // which mechanism serves a kprobe is the loader's question (its catalog), not the core's: no need
  assert.equal([h.hookId, h.spec?.kind, h.spec?.needs], [102, 'kprobe', []]);
  assert.equal(hook({ call: 'fd_install', syscall: true }).spec?.syscall, undefined, 'syscall: true (the CRD default) on a non-sys_ name is no syscall');
  assert.equal(inspectImage(compile([policy({ fentries: [{ call: 'fd_install' }] })], OPTS).image!)[0].hooks[0].spec?.needs, []);
  // syscall: true normalises every arch spelling to one syscall name
  for (const c of ['sys_openat', '__x64_sys_openat', '__arm64_sys_openat']) assert.is(hook({ call: c, syscall: true }).spec?.syscall, 'openat', c);
  const l = hook({ call: 'list:files', syscall: true }, { lists: [{ name: 'files', type: 'syscalls', values: ['sys_openat', 'sys_read'] }] });
  // a list of named syscalls: served one instance per value by the loader (src/kernel/lists.ts), no need
  assert.equal(l.spec?.needs, []);
  assert.is(l.syscall, true);
  // the core resolves the members once: the loader attaches to them, events and dry-run name them
  const members = [
    { call: 'sys_openat', syscall: 'openat' },
    { call: 'sys_read', syscall: 'read' },
  ];
  assert.equal(l.spec?.members, members);
  // a list without type names kernel functions (Tetragon's ListTypeNone): no syscall, even with
  // syscall: true (the CRD default), as Tetragon decides a list hook by the list's type alone
  const fl = hook({ call: 'list:rw', syscall: true }, { lists: [{ name: 'rw', values: ['vfs_read', 'vfs_write'] }] });
  assert.equal([fl.syscall, fl.spec?.members], [false, [{ call: 'vfs_read' }, { call: 'vfs_write' }]]);
  expectError(policy({ kprobes: [], lists: [{ name: 'rw' }] }), ['spec', 'lists', 0], 'list "rw" (no type: function names) needs values');
  expectError(
    policy({
      lists: [{ name: 'rw', values: ['vfs_read'] }],
      tracepoints: [
        {
          subsystem: 'raw_syscalls',
          event: 'sys_enter',
          args: [{ index: 4, type: 'uint64' }],
          selectors: [{ matchArgs: [{ index: 4, operator: 'InMap', values: ['list:rw'] }] }],
        },
      ],
    }),
    ['spec', 'tracepoints', 0, 'selectors', 0, 'matchArgs', 0, 'values', 0],
    'list "rw" has no type: it names functions; as values it needs type syscalls or generated_syscalls (syscall ids)',
  );
  const g = hook({ call: 'list:all', syscall: true }, { lists: [{ name: 'all', type: 'generated_syscalls' }] });
  assert.equal(g.spec?.needs, ['a generated list (generated_syscalls) in call (list:all)']);
  assert.is(g.spec?.members, undefined);
  expectError(policy({ kprobes: [{ call: 'list:files' }] }), [...HOOK, 'call'], 'list "files" is not defined in spec.lists (defined: none)');
  expectError(policy({ kprobes: [{ call: 'bad name' }] }), [...HOOK, 'call'], '"bad name" is not a kernel function name ([A-Za-z0-9_.] only)');
  expectError(
    policy({ kprobes: [], lists: [{ name: 'x', type: 'syscall' }] }),
    ['spec', 'lists', 0, 'type'],
    'unknown list type "syscall" (expected one of syscalls, generated_syscalls, generated_ftrace)',
  );
});

test('syscall, return and returnArg rules', () => {
  // syscall: true is the CRD's default: on a seed hook that is no syscall, a warning (as Tetragon), not an error
  const sw = diags([policy({ kprobes: [{ call: 'tcp_connect', syscall: true }] })]);
  assert.equal(
    sw.map((d) => [d.severity, d.path, d.message]),
    [['warning', [...HOOK, 'syscall'], 'tcp_connect is not a syscall: remove syscall: true']],
  );
  expectError(policy({ kprobes: [{ call: 'tcp_connect', return: true }] }), [...HOOK, 'return'], 'return: true needs returnArg (the type of the return value)');
  assert.equal(errorsOf(policy({ kprobes: [{ call: 'tcp_connect', return: true, returnArg: { index: 0n, type: 'file' } }] })), []);
  expectError(
    policy({ kprobes: [{ call: 'tcp_connect', return: true, returnArg: { index: 0n, type: 'fiel' } }] }),
    [...HOOK, 'returnArg', 'type'],
    /^unknown argument type "fiel"/,
  );
  const w = diags([policy({ kprobes: [{ call: 'tcp_connect', returnArg: { index: 0n, type: 'int' } }] })]);
  assert.equal(
    w.map((d) => [d.severity, d.path, d.message]),
    [['warning', [...HOOK, 'returnArg'], 'returnArg has no effect without return: true']],
  );
});

test('args: types checked against the catalog signature', () => {
  const h = (args: unknown[]) => policy({ kprobes: [{ call: 'security_file_permission', args }] });
  expectError(
    h([{ index: 0n, type: 'path' }]),
    [...HOOK, 'args', 0, 'type'],
    'argument 0 of security_file_permission is "struct file *file": type "path" does not fit (use file)',
  );
  expectError(
    h([{ index: 1n, type: 'file' }]),
    [...HOOK, 'args', 0, 'type'],
    /^argument 1 of security_file_permission is "int mask": type "file" does not fit \(use an integer type such as int\)/,
  );
  assert.equal(errorsOf(h([{ index: 1n, type: 'uint32' }])), []); // any integer type fits an int
  expectError(
    h([{ index: 2n, type: 'int' }]),
    [...HOOK, 'args', 0, 'index'],
    'index 2 is out of range: security_file_permission has 2 arguments (security_file_permission(struct file *file, int mask))',
  );
  expectError(h([{ index: 0n, type: 'fille' }]), [...HOOK, 'args', 0, 'type'], /^unknown argument type "fille" \(expected one of int, sint32/);
  expectError(
    h([{ index: 0n, type: 'char_buf' }]),
    [...HOOK, 'args', 0, 'type'],
    'argument 0 of security_file_permission is "struct file *file": type "char_buf" does not fit (use file)',
  );
  // the same index twice is allowed (Tetragon: e.g. two resolve paths of one argument); nop fits anywhere
  assert.equal(
    errorsOf(
      h([
        { index: 0n, type: 'file' },
        { index: 0n, type: 'file' },
      ]),
    ),
    [],
  );
  assert.equal(errorsOf(h([{ index: 1n, type: 'nop' }])), []);
});

function errorsOf(doc: unknown): Diagnostic[] {
  return diags([doc]).filter((d) => d.severity === 'error');
}

test('limits: selectors, matchArgs, actions, hooks', () => {
  const six = Array.from({ length: 6 }, () => ({}));
  expectError(filePolicy(six), [...SEL, 5], '6 selectors given, at most 5 per hook');
  const f = { index: 0n, operator: 'Prefix', values: ['/'] };
  expectError(filePolicy([{ matchArgs: [f, f, f, f, f, f] }]), [...SEL, 0, 'matchArgs', 5], '6 matchArgs entries given, at most 5 per selector');
  expectError(
    filePolicy([{ matchActions: [{ action: 'Post' }, { action: 'Sigkill' }, { action: 'Signal', argSig: 9n }, { action: 'Override', argError: -1n }] }]),
    [...SEL, 0, 'matchActions', 3],
    '4 matchActions given, at most 3 per selector',
  );
  const hooks = Array.from({ length: 17 }, () => ({ call: 'tcp_connect' }));
  expectError(policy({ kprobes: hooks }), ['spec', 'kprobes', 16], '17 kprobes given, at most 16 per policy');
});

// ---- matchArgs ----

test('matchArgs index must name an args[] entry; args: [i] form', () => {
  expectError(
    argSel({ index: 3n, operator: 'Equal', values: ['1'] }),
    [...SEL, 0, 'matchArgs', 0, 'index'],
    'index 3 does not name an entry of args[] (declared indexes: 0, 1)',
  );
  expectError(
    argSel({ operator: 'Equal', values: ['1'] }),
    [...SEL, 0, 'matchArgs', 0],
    'index is required (the function argument position, declared in args[])',
  );
  assert.equal(errorsOf(argSel({ args: [1n], operator: 'Equal', values: ['1'] })), []);
  expectError(argSel({ args: [0n, 1n], operator: 'Equal', values: ['1'] }), [...SEL, 0, 'matchArgs', 0, 'args'], /^args lists 2 positions/);
  expectError(
    argSel({ args: [2n], operator: 'Equal', values: ['1'] }),
    [...SEL, 0, 'matchArgs', 0, 'args', 0],
    'args position 2 does not name an entry of args[] (the hook declares 2)',
  );
});

test('operators: unknown, unsupported, wrong for the type, In in matchArgs', () => {
  const p = [...SEL, 0, 'matchArgs', 0, 'operator'];
  expectError(
    argSel({ index: 0n, operator: 'Prefixx', values: ['/'] }),
    p,
    'unknown operator "Prefixx" (expected one of Equal, NotEqual, Prefix, NotPrefix, Postfix, NotPostfix, GT, LT, Mask, InRange, NotInRange, InMap, NotInMap, SAddr, DAddr, NotSAddr, NotDAddr, SPort, DPort, NotSPort, NotDPort, SPortPriv, NotSPortPriv, DPortPriv, NotDPortPriv, Protocol, Family, State, SubString, SubStringIgnCase, FileType, NotFileType, CapabilitiesGained, CelExpr)',
  );
  assert.equal(errorsOf(argSel({ index: 0n, operator: 'SubString', values: ['x'] })), []);
  expectError(
    argSel({ index: 1n, operator: 'Prefix', values: ['1'] }),
    p,
    'operator Prefix cannot be used on argument 1 of type int (valid: Equal, NotEqual, GT, LT, Mask, InRange, NotInRange, InMap, NotInMap)',
  );
  expectError(
    argSel({ index: 0n, operator: 'GT', values: ['1'] }),
    p,
    'operator GT cannot be used on argument 0 of type file (valid: Equal, NotEqual, Prefix, NotPrefix, Postfix, NotPostfix, SubString, SubStringIgnCase, FileType, NotFileType)',
  );
  expectError(
    argSel({ index: 0n, operator: 'Prefix', values: ['1'] }, sockPolicy),
    p,
    /^operator Prefix cannot be used on argument 0 of type sock \(valid: SAddr, DAddr/,
  );
  expectError(argSel({ index: 0n, operator: 'In', values: ['/x'] }), p, /^operator In is not valid in matchArgs/);
  for (const alias of ['GreaterThan', 'gt', 'LessThan', 'lt', 'eq', 'neq', 'mask', 'inrange']) {
    assert.equal(errorsOf(argSel({ index: 1n, operator: alias, values: ['1:2'.includes(':') && alias === 'inrange' ? '1:2' : '1'] })), [], alias);
  }
});

test('integer values: syntax and range per type', () => {
  const v = (values: unknown[], i = 1n, hook = filePolicy) => argSel({ index: i, operator: 'Equal', values }, hook);
  const p0 = [...SEL, 0, 'matchArgs', 0, 'values', 0];
  expectError(v(['abc']), p0, 'value "abc" is not an integer (decimal, 0x hex, 0o or leading-0 octal, 0b binary)');
  expectError(v(['09']), p0, 'value "09" is not an integer: a leading 0 means octal, where 8 and 9 are not digits');
  expectError(v(['2147483648']), p0, 'value "2147483648" is out of range for int (-2147483648 to 2147483647)');
  expectError(v([1.5]), p0, /^value "1.5" is not an integer/);
  assert.equal(errorsOf(v(['-2147483648', '0x7fffffff', '0o17', '0b101'])), []);
  const mm = (values: unknown[]) =>
    argSel({ index: 1n, operator: 'Equal', values }, (s) =>
      policy({
        kprobes: [
          {
            call: 'security_mmap_file',
            args: [
              { index: 0n, type: 'file' },
              { index: 1n, type: 'uint32' },
            ],
            selectors: s,
          },
        ],
      }),
    );
  expectError(mm(['-1']), p0, 'value "-1" is negative but uint32 is unsigned');
  expectError(mm(['4294967296']), p0, 'value "4294967296" is out of range for uint32 (0 to 4294967295)');
  expectError(mm(['99999999999999999999']), p0, 'value "99999999999999999999" does not fit in 64 bits');
});

test('inline value limit suggests InMap', () => {
  expectError(
    argSel({ index: 1n, operator: 'Equal', values: ['1', '2', '3', '4', '5'] }),
    [...SEL, 0, 'matchArgs', 0, 'values'],
    '5 values given, at most 4 for Equal on int (use InMap for more)',
  );
  expectError(
    argSel({ index: 1n, operator: 'NotEqual', values: ['1', '2', '3', '4', '5'] }),
    [...SEL, 0, 'matchArgs', 0, 'values'],
    '5 values given, at most 4 for NotEqual on int (use NotInMap for more)',
  );
  expectError(
    argSel({ index: 1n, operator: 'Mask', values: ['1', '2', '3', '4', '5'] }),
    [...SEL, 0, 'matchArgs', 0, 'values'],
    '5 values given, at most 4 for Mask on int',
  );
  expectError(
    argSel({ index: 1n, operator: 'InRange', values: ['1:2', '3:4', '5:6', '7:8', '9:10'] }),
    [...SEL, 0, 'matchArgs', 0, 'values'],
    /^5 ranges given, at most 4 for InRange/,
  );
});

test('ranges: syntax, order, InMap size limit', () => {
  const p0 = [...SEL, 0, 'matchArgs', 0, 'values', 0];
  expectError(argSel({ index: 1n, operator: 'InRange', values: ['5'] }), p0, 'value "5" is not a range (expected "min:max", e.g. "0:1023")');
  expectError(argSel({ index: 1n, operator: 'InRange', values: ['5:1'] }), p0, 'value "5:1" is an empty range (min is greater than max)');
  expectError(
    argSel({ index: 1n, operator: 'InRange', values: ['1:x'] }),
    p0,
    'value "1:x": "x" is not an integer (decimal, 0x hex, 0o or leading-0 octal, 0b binary)',
  );
  assert.equal(errorsOf(argSel({ index: 1n, operator: 'InRange', values: ['-10:-5'] })), []);
  expectError(argSel({ index: 1n, operator: 'InMap', values: ['0:100000'] }), p0, /^value "0:100000" makes the policy's InMap\/NotInMap values exceed 65536/);
  expectError(argSel({ index: 1n, operator: 'InMap', values: ['list:x'] }), p0, 'list "x" is not defined in spec.lists (defined: see spec.lists)');
});

test('values required or forbidden', () => {
  expectError(argSel({ index: 0n, operator: 'Prefix' }), [...SEL, 0, 'matchArgs', 0], 'Prefix needs at least one value');
  expectError(argSel({ index: 0n, operator: 'Prefix', values: [] }), [...SEL, 0, 'matchArgs', 0, 'values'], 'Prefix needs at least one value');
  expectError(
    argSel({ index: 0n, operator: 'DPortPriv', values: ['1'] }, sockPolicy),
    [...SEL, 0, 'matchArgs', 0, 'values'],
    'DPortPriv takes no values (it matches ports below 1024)',
  );
});

test('string length limits', () => {
  const p0 = [...SEL, 0, 'matchArgs', 0, 'values', 0];
  expectError(argSel({ index: 0n, operator: 'Equal', values: ['x'.repeat(255)] }), p0, /is 255 bytes, at most 254 for Equal$/);
  assert.equal(errorsOf(argSel({ index: 0n, operator: 'Prefix', values: ['x'.repeat(255)] })), []);
  expectError(argSel({ index: 0n, operator: 'Postfix', values: ['x'.repeat(256)] }), p0, /is 256 bytes, at most 255 for Postfix$/);
});

test('addresses: syntax, prefix range, unexpanded variables, host bits', () => {
  const a = (values: unknown[]) => argSel({ index: 0n, operator: 'DAddr', values }, sockPolicy);
  const p0 = [...SEL, 0, 'matchArgs', 0, 'values', 0];
  expectError(a(['10.0.0.0/33']), p0, 'value "10.0.0.0/33": prefix length 33 is out of range 0-32');
  expectError(a(['fd00::/129']), p0, 'value "fd00::/129": prefix length 129 is out of range 0-128');
  expectError(a(['10.0.0.256']), p0, 'value "10.0.0.256" is not an IPv4 or IPv6 address or CIDR (e.g. 10.0.0.0/8, fd00::/8)');
  expectError(a(['1:2:3']), p0, /is not an IPv4 or IPv6 address/);
  expectError(a(['10.0.0.0/x']), p0, 'value "10.0.0.0/x": prefix length "x" is not a number');
  expectError(a(['${PODCIDR}']), p0, 'value "${PODCIDR}" contains an unexpanded variable: substitute it with an address or CIDR before loading');
  assert.equal(errorsOf(a(['0.0.0.0/0', '::/0', '::ffff:1.2.3.4', '2001:db8::/32', '1.2.3.4/32'])), []);
  const w = diags([a(['10.1.2.3/8'])]);
  assert.equal(
    w.map((d) => [d.severity, d.path, d.message]),
    [['warning', p0, 'value "10.1.2.3/8" has bits set beyond the /8 prefix; they are ignored']],
  );
});

test('ports, protocols, families, states', () => {
  const s = (operator: string, values: unknown[]) => argSel({ index: 0n, operator, values }, sockPolicy);
  const p0 = [...SEL, 0, 'matchArgs', 0, 'values', 0];
  expectError(s('DPort', ['65536']), p0, 'value "65536" is not a port (0-65535) or port range ("lo:hi")');
  expectError(s('DPort', ['90:80']), p0, 'value "90:80" is an empty range (min is greater than max)');
  expectError(s('DPort', ['1', '2', '3', '4', '5']), [...SEL, 0, 'matchArgs', 0, 'values'], '5 values given, at most 4 for DPort');
  expectError(s('Protocol', ['IPPROTO_TPC']), p0, /^value "IPPROTO_TPC" is not a protocol/);
  expectError(s('Family', ['AF_INETT']), p0, /^value "AF_INETT" is not an address family/);
  expectError(s('State', ['ESTABLISHED']), p0, /^value "ESTABLISHED" is not a TCP state/);
});

test('matchReturnArgs needs return: true and returnArg', () => {
  expectError(
    filePolicy([{ matchReturnArgs: [{ index: 0n, operator: 'Equal', values: ['0'] }] }]),
    [...SEL, 0, 'matchReturnArgs'],
    'matchReturnArgs needs return: true and returnArg on the hook',
  );
  const ok = filePolicy([{ matchReturnArgs: [{ index: 0n, operator: 'Equal', values: ['0'] }] }], { return: true, returnArg: { index: 0n, type: 'int' } });
  assert.equal(errorsOf(ok), []);
  assert.is(inspectImage(compile([ok], OPTS).image!)[0].hooks[0].returnFilters, true);
  const bad = filePolicy([{ matchReturnArgs: [{ index: 0n, operator: 'Prefix', values: ['0'] }] }], { return: true, returnArg: { index: 0n, type: 'int' } });
  expectError(
    bad,
    [...SEL, 0, 'matchReturnArgs', 0, 'operator'],
    'operator Prefix cannot be used on the return value of type int (valid: Equal, NotEqual, GT, LT, Mask, InRange, NotInRange)',
  );
});

// ---- matchBinaries / matchPIDs ----

test('matchBinaries: operators, followChildren, one entry', () => {
  expectError(
    filePolicy([{ matchBinaries: [{ operator: 'Equal', values: ['/bin/x'] }] }]),
    [...SEL, 0, 'matchBinaries', 0, 'operator'],
    'operator "Equal" is not valid in matchBinaries (expected one of In, NotIn, Prefix, NotPrefix, Postfix, NotPostfix)',
  );
  // followChildren compiles (issue 8); false is the CRD default; only with In/NotIn
  assert.equal(errorsOf(filePolicy([{ matchBinaries: [{ operator: 'In', values: ['/bin/x'], followChildren: true }] }])), []);
  assert.equal(errorsOf(filePolicy([{ matchBinaries: [{ operator: 'In', values: ['/bin/x'], followChildren: false }] }])), []);
  expectError(
    filePolicy([{ matchBinaries: [{ operator: 'Prefix', values: ['/bin/'], followChildren: true }] }]),
    [...SEL, 0, 'matchBinaries', 0, 'followChildren'],
    'followChildren takes In or NotIn, not Prefix',
  );
  const b = { operator: 'In', values: ['/bin/x'] };
  expectError(filePolicy([{ matchBinaries: [b, b] }]), [...SEL, 0, 'matchBinaries', 1], '2 matchBinaries entries given, at most 1 per selector');
});

test('matchPIDs: operators, limits, followForks', () => {
  expectError(
    filePolicy([{ matchPIDs: [{ operator: 'Equal', values: [1n] }] }]),
    [...SEL, 0, 'matchPIDs', 0, 'operator'],
    'operator "Equal" is not valid in matchPIDs (expected In or NotIn)',
  );
  expectError(
    filePolicy([{ matchPIDs: [{ operator: 'In', values: [1n, 2n, 3n, 4n, 5n] }] }]),
    [...SEL, 0, 'matchPIDs', 0, 'values'],
    '5 values given, at most 4 for matchPIDs',
  );
  assert.equal(errorsOf(filePolicy([{ matchPIDs: [{ operator: 'In', values: [1n], followForks: true }] }])), []);
  // several entries are ANDed (Tetragon); each is checked
  const pe = { operator: 'NotIn', values: [1n] };
  assert.equal(errorsOf(filePolicy([{ matchPIDs: [pe, pe] }])), []);
  expectError(
    filePolicy([{ matchPIDs: [pe, { operator: 'Equal', values: [1n] }] }]),
    [...SEL, 0, 'matchPIDs', 1, 'operator'],
    'operator "Equal" is not valid in matchPIDs (expected In or NotIn)',
  );
  expectError(
    filePolicy([{ matchPIDs: [{ operator: 'In', values: ['-1'] }] }]),
    [...SEL, 0, 'matchPIDs', 0, 'values', 0],
    'value "-1" is negative but pid is unsigned',
  );
  assert.equal(errorsOf(filePolicy([{ matchPIDs: [{ operator: 'NotIn', values: [1n], isNamespacePID: true }] }])), []);
});

// ---- matchActions ----

test('matchActions: unknown, unsupported, required arguments', () => {
  const a = (action: Record<string, unknown>, hook = filePolicy) => hook([{ matchActions: [action] }]);
  const p = [...SEL, 0, 'matchActions', 0];
  expectError(
    a({ action: 'Kill' }),
    [...p, 'action'],
    'unknown action "Kill" (expected one of Post, NoPost, Sigkill, Signal, Override, GetUrl, DnsLookup, TrackSock, UntrackSock, NotifyEnforcer, CleanupEnforcerNotification, Set)',
  );
  assert.equal(errorsOf(a({ action: 'GetUrl', argUrl: 'http://x' })), []);
  expectError(a({ action: 'GetUrl' }), p, 'GetUrl needs argUrl (the URL to fetch)');
  expectError(a({ action: 'FollowFD', argFd: 0n }), [...p, 'action'], /^action FollowFD was removed from Tetragon/);
  expectError(a({ action: 'NotifyEnforcer' }), ['spec'], 'NotifyEnforcer needs an enforcer in spec.enforcers (its syscalls are where the decision is applied)');
  expectError(a({ action: 'Signal' }), p, 'Signal needs argSig (the signal number or name, e.g. 9 or SIGKILL)');
  expectError(a({ action: 'Signal', argSig: 65n }), [...p, 'argSig'], 'argSig "65" is not a signal (1-64 or a name such as SIGKILL, SIGTERM)');
  expectError(a({ action: 'Override' }), p, 'Override needs argError (the error to return, e.g. -1 for -EPERM)');
  expectError(
    a({ action: 'Override', argError: -1n }, sockPolicy),
    [...p, 'action'],
    'Override is only possible on security_* hooks and syscalls; tcp_connect is neither (use Sigkill or Signal)',
  );
  expectError(a({ action: 'Post', rateLimit: '10x' }), [...p, 'rateLimit'], /^rateLimit "10x" is invalid/);
  expectError(
    a({ action: 'Post', rateLimit: '1m', rateLimitScope: 'cluster' }),
    [...p, 'rateLimitScope'],
    'rateLimitScope "cluster" is invalid (expected thread, process or global)',
  );
  expectError(a({ action: 'Sigkill', rateLimit: '1m' }), [...p, 'rateLimit'], 'rate limiting is only valid with Post, not Sigkill');
  assert.equal(errorsOf(a({ action: 'Post', kernelStackTrace: true, userStackTrace: true, imaHash: true })), []);
  expectError(
    filePolicy([{ matchActions: [{ action: 'Post' }, { action: 'NoPost' }] }]),
    [...SEL, 0, 'matchActions', 1, 'action'],
    'Post and NoPost contradict each other in one selector',
  );
  expectError(
    filePolicy([{ matchActions: [{ action: 'Sigkill' }, { action: 'sigkill' }] }]),
    [...SEL, 0, 'matchActions', 1, 'action'],
    'action Sigkill is listed twice in this selector',
  );
  const w = diags([a({ action: 'Sigkill', argSig: 9n })]);
  assert.equal(
    w.map((d) => [d.severity, d.message]),
    [['warning', 'argSig is ignored by Sigkill (only Signal uses it)']],
  );
  assert.equal(errorsOf(a({ action: 'Signal', argSig: 'SIGTERM' })), []);
  assert.equal(errorsOf(a({ action: 'post', rateLimit: 10n, rateLimitScope: 'process' })), []);
});

test('image values: Signal number, Override error, rate limit in ns', () => {
  const img = compile(
    [
      filePolicy([
        {
          matchActions: [
            { action: 'Signal', argSig: 'SIGTERM' },
            { action: 'Override', argError: -13n },
            { action: 'Post', rateLimit: '2m', rateLimitScope: 'process' },
          ],
        },
      ]),
    ],
    OPTS,
  ).image!;
  const sels = inspectImage(img)[0].maps.find((m) => m.name === 'tln_sels')!;
  const dv = new DataView(sels.entries.buffer, sels.entries.byteOffset);
  const act = 4 + 600; // key, then tln_selector.actions
  assert.is(dv.getUint8(4 + 1), 3); // nactions
  assert.equal([dv.getUint8(act), dv.getInt32(act + 4, true)], [9, 15]);
  assert.equal([dv.getUint8(act + 16), dv.getInt32(act + 20, true)], [4, -13]);
  assert.equal([dv.getUint8(act + 32), dv.getUint8(act + 33), dv.getBigUint64(act + 40, true)], [0, 1, 120_000_000_000n]);
});

test('more limits and rules: tags, message, args, filters, sets, required fields', () => {
  const tags = Array.from({ length: 17 }, (_, i) => `t${i}`);
  expectError(policy({ kprobes: [{ call: 'tcp_connect', tags }] }), [...HOOK, 'tags', 16], '17 tags given, at most 16');
  expectError(policy({ kprobes: [{ call: 'tcp_connect', message: 'm'.repeat(257) }] }), [...HOOK, 'message'], 'message is 257 characters, at most 256');
  const args = Array.from({ length: 6 }, (_, i) => ({ index: BigInt(i), type: 'int' }));
  const r = errorsOf(policy({ kprobes: [{ call: 'security_mmap_file', args }] }));
  assert.equal(r.map((d) => d.path).slice(-1), [[...HOOK, 'args', 5]]);
  assert.is(r.slice(-1)[0].message, '6 args given, at most 5 per hook');
  assert.equal(errorsOf(policy({ kprobes: [{ call: 'tcp_connect', returnArgAction: 'TrackSock' }] })), []);
  expectError(
    policy({ kprobes: [{ call: 'tcp_connect', returnArgAction: 'Track' }] }),
    [...HOOK, 'returnArgAction'],
    'unknown returnArgAction "Track" (expected one of TrackSock, UntrackSock, Post)',
  );
  const rf = { index: 0n, operator: 'Equal', values: ['0'] };
  const mf = { index: 0n, operator: 'Prefix', values: ['/'] };
  expectError(
    filePolicy([{ matchArgs: [mf, mf, mf, mf, mf], matchReturnArgs: [rf, rf, rf, rf] }], { return: true, returnArg: { index: 0n, type: 'int' } }),
    [...SEL, 0, 'matchReturnArgs', 3],
    'too many filters: matchArgs and matchReturnArgs together allow at most 8 per selector',
  );
  let n = 0;
  const sel = () => ({ matchArgs: [0, 1, 2, 3].map(() => ({ index: 0n, operator: 'Prefix', values: [`/v${n++}`] })) });
  const hook = () => ({ call: 'security_path_truncate', args: [{ index: 0n, type: 'path' }], selectors: [sel(), sel(), sel(), sel(), sel()] });
  const many = errorsOf(policy({ kprobes: Array.from({ length: 13 }, hook) }));
  assert.is(many.length, 5);
  assert.is(many[0].message, 'too many distinct value sets in this policy (at most 255)');
  assert.equal(many[0].path, ['spec', 'kprobes', 12, 'selectors', 3, 'matchArgs', 3, 'values', 0]);
  expectError({ kind: 'TracingPolicy', metadata: { name: 'x' }, spec: {} }, [], 'apiVersion is required (cilium.io/v1alpha1)');
  expectError({ apiVersion: 'cilium.io/v1alpha1', metadata: { name: 'x' }, spec: {} }, [], 'kind is required (TracingPolicy or TracingPolicyNamespaced)');
  expectError({ apiVersion: 'cilium.io/v1alpha1', kind: 'TracingPolicy', metadata: { name: 'x' } }, [], 'spec is required (spec.kprobes)');
  expectError(policy({ options: [{ name: 'policy-mode' }] }), ['spec', 'options', 0], 'option "policy-mode" needs a value (enforce or monitor)');
  const nd = compile([policy({ kprobes: [] }, {}, 'TracingPolicyNamespaced')], { defaultNamespace: 'Not Valid' }).diagnostics.filter(
    (d) => d.severity === 'error',
  );
  assert.equal(
    nd.map((d) => [d.path, d.message]),
    [
      [
        ['metadata'],
        'the policy is namespaced and has no metadata.namespace, and the default namespace "Not Valid" is not a valid namespace: set metadata.namespace',
      ],
    ],
  );
  const w = diags([filePolicy([{ matchActions: [{ action: 'Post', rateLimitScope: 'global' }] }])]);
  assert.equal(
    w.map((d) => [d.severity, d.message]),
    [['warning', 'rateLimitScope has no effect without rateLimit']],
  );
  assert.equal(
    diags([policy({ kprobes: [] })]).map((d) => [d.severity, d.path, d.message]),
    [['warning', ['spec'], 'the policy has no kprobes, tracepoints or uprobes; it does nothing']],
  );
});

test.run();
