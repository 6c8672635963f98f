// Policy loading: YAML -> schema -> core, every diagnostic at its file:line:col.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compile, inspectImage } from '../src/core/index.js';
import type { CompileOptions } from '../src/core/types.js';
import { checkPolicies, formatDiagnostic, formatPath, suggest, validateShape, type PolicyInput } from '../src/policy/index.js';

import { ROOT } from './helpers/common.js';
const FIX = 'test/fixtures/policies';
const OPTS: CompileOptions = { defaultNamespace: 'default' };

function input(name: string): PolicyInput {
  return { name, text: readFileSync(path.join(ROOT, name), 'utf8') };
}

/** every diagnostic line of checking these files */
function lines(files: (string | PolicyInput)[], opts: CompileOptions = OPTS): string[] {
  const inputs = files.map((f) => (typeof f === 'string' ? input(f) : f));
  return checkPolicies(inputs, opts, compile).diagnostics.map(formatDiagnostic);
}

test('YAML syntax error: file:line:col of the opening quote', () => {
  assert.equal(lines([`${FIX}/syntax-error.yaml`]), [`${FIX}/syntax-error.yaml:7:11: Missing closing "quote`]);
});

test('YAML syntax error in a flow sequence', () => {
  const r = lines([{ name: 'x.yaml', text: 'apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: [x\n' }]);
  assert.is(r.length, 1);
  assert.match(r[0], /^x\.yaml:\d+:\d+: /);
});

test("deep nesting: a clear error at its position, never the engine's stack message", () => {
  const doc = (n: number) => ({
    name: 'd.yaml',
    text: `apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: d\nspec:\n  options: ${'['.repeat(n)}${']'.repeat(n)}\n`,
  });
  assert.equal(lines([doc(100)]), ['d.yaml:6:75: the document nests deeper than 64 levels here']);
  // deep enough that the YAML parser's recursion gives up before talon's own depth check
  const r = lines([doc(50_000)]);
  assert.is(r.length, 1);
  assert.match(r[0], /^d\.yaml:6:\d+: the document nests too deeply to parse here \(at most 64 levels\)$/);
});

test('unknown field with a did-you-mean suggestion, pointing at the key', () => {
  assert.equal(lines([`${FIX}/unknown-field.yaml`]), [
    `${FIX}/unknown-field.yaml:13:7: spec.kprobes[0].selectors[0].matchArg: unknown field "matchArg" (did you mean "matchArgs"?)`,
  ]);
});

test('unknown field without a close match', () => {
  const doc = 'apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: x\nspec:\n  zebra: 1\n  kprobes:\n  - call: tcp_connect\n';
  assert.equal(lines([{ name: 'z.yaml', text: doc }]), ['z.yaml:6:3: spec.zebra: unknown field "zebra"']);
});

test('fields talon once lacked are checked for meaning now (issue 8)', () => {
  assert.equal(lines([`${FIX}/unsupported.yaml`]), [
    `${FIX}/unsupported.yaml:7:3: spec.usdts: a policy may use only one of kprobes, tracepoints, lsmhooks, uprobes, usdts and fentries (as in Tetragon); this one has kprobes and usdts: put the usdts in a policy of their own`,
    `${FIX}/unsupported.yaml:7:5: spec.usdts[0]: warning: missing required field "provider" (the USDT provider, e.g. python)`,
    `${FIX}/unsupported.yaml:15:16: spec.kprobes[0].args[0].maxData: maxData is for char_buf, char_iovec and iov_iter arguments, not file`,
  ]);
});

test('wrong JSON types point at the value', () => {
  assert.equal(lines([`${FIX}/wrong-type.yaml`]), [
    `${FIX}/wrong-type.yaml:8:14: spec.kprobes[0].syscall: expected a boolean (true or false), got a string`,
    `${FIX}/wrong-type.yaml:10:14: spec.kprobes[0].args[0].index: expected an integer, got a string`,
  ]);
});

test('a missing required field points at the parent map', () => {
  assert.equal(lines([`${FIX}/missing-field.yaml`]), [`${FIX}/missing-field.yaml:7:5: spec.kprobes[0]: missing required field "call"`]);
});

test('a missing top-level field points at the document', () => {
  const r = lines([{ name: 'm.yaml', text: '# a comment\napiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nspec:\n  kprobes: [{call: tcp_connect}]\n' }]);
  assert.equal(r, ['m.yaml:2:1: missing required field "metadata"']);
});

test('unknown operator: reported by the core, mapped to the YAML node', () => {
  const r = lines([`${FIX}/bad-operator.yaml`]);
  assert.is(r.length, 1);
  assert.ok(r[0].startsWith(`${FIX}/bad-operator.yaml:21:19: spec.kprobes[0].selectors[1].matchArgs[0].operator: `), r[0]);
  assert.match(r[0], /Prefx/);
});

test('multi-document file: the second document is reported at its own lines', () => {
  const r = lines([`${FIX}/multi-doc.yaml`]);
  assert.is(r.length, 1);
  assert.ok(r[0].startsWith(`${FIX}/multi-doc.yaml:31:17: spec.kprobes[0].selectors[0].matchActions[0].action: `), r[0]);
  assert.match(r[0], /Sigkil/);
});

test('multi-document file: every document becomes a policy', () => {
  const ok = readFileSync(path.join(ROOT, FIX, 'multi-doc.yaml'), 'utf8').replace('Sigkil', 'Sigkill');
  const c = checkPolicies([{ name: 'ok.yaml', text: ok }], OPTS, compile);
  assert.is(c.errors, 0, c.diagnostics.map(formatDiagnostic).join('\n'));
  assert.equal(
    inspectImage(c.image!).map((p) => p.name),
    ['first', 'second'],
  );
});

test('several errors across two files, in one run, sorted by file then position', () => {
  const r = lines([`${FIX}/wrong-type.yaml`, `${FIX}/unknown-field.yaml`, `${FIX}/missing-field.yaml`]);
  assert.equal(r, [
    `${FIX}/wrong-type.yaml:8:14: spec.kprobes[0].syscall: expected a boolean (true or false), got a string`,
    `${FIX}/wrong-type.yaml:10:14: spec.kprobes[0].args[0].index: expected an integer, got a string`,
    `${FIX}/unknown-field.yaml:13:7: spec.kprobes[0].selectors[0].matchArg: unknown field "matchArg" (did you mean "matchArgs"?)`,
    `${FIX}/missing-field.yaml:7:5: spec.kprobes[0]: missing required field "call"`,
  ]);
});

test('a syntax error in one file does not hide the problems of another', () => {
  const r = lines([`${FIX}/syntax-error.yaml`, `${FIX}/missing-field.yaml`]);
  assert.is(r.length, 2);
  assert.ok(r[0].startsWith(`${FIX}/syntax-error.yaml:7:11:`));
  assert.ok(r[1].startsWith(`${FIX}/missing-field.yaml:7:5:`));
});

test('namespace defaulting: -n applies to namespaced policies without a namespace', () => {
  const c = checkPolicies([input(`${FIX}/namespaced.yaml`)], { defaultNamespace: 'rebels' }, compile);
  assert.is(c.errors, 0);
  assert.equal(
    inspectImage(c.image!).map((p) => [p.name, p.namespace]),
    [
      ['no-namespace', 'rebels'],
      ['own-namespace', 'empire'],
    ],
  );
  const d = checkPolicies([input(`${FIX}/namespaced.yaml`)], OPTS, compile);
  assert.equal(inspectImage(d.image!)[0].namespace, 'default');
});

test('values given as numbers mean their decimal text', () => {
  const text = readFileSync(path.join(ROOT, 'examples/file-monitoring-enforce.yaml'), 'utf8');
  const quoted = checkPolicies([{ name: 'a.yaml', text }], OPTS, compile);
  const numbers = checkPolicies([{ name: 'b.yaml', text: text.replace(/values: \["(\d+)"\]/g, 'values: [$1]') }], OPTS, compile);
  assert.ok(text.includes('values: ["4"]'));
  assert.is(numbers.errors, 0, numbers.diagnostics.map(formatDiagnostic).join('\n'));
  assert.equal(Buffer.from(numbers.image!), Buffer.from(quoted.image!));
});

test('warnings are reported without failing', () => {
  const c = checkPolicies([input('examples/file-monitoring.yaml')], { defaultNamespace: 'default', mode: 'enforce' }, compile);
  assert.is(c.errors, 0);
  assert.ok(c.image !== null);
  assert.ok(c.warnings >= 1);
  const w = c.diagnostics.map(formatDiagnostic).find((l) => l.includes('warning: '));
  assert.match(w ?? '', /^examples\/file-monitoring\.yaml:\d+:\d+: (.*: )?warning: /);
});

test('an empty file is an error; comment-only documents are skipped', () => {
  assert.equal(lines([{ name: 'e.yaml', text: '# nothing here\n' }]), ['e.yaml:1:1: no policy document in this file']);
  const ok = `---\n# leading empty document\n---\n${readFileSync(path.join(ROOT, 'examples/egress-cluster.yaml'), 'utf8')}`;
  assert.equal(lines([{ name: 'ok.yaml', text: ok }]), []);
});

test('every example compiles cleanly', () => {
  const names = ['file-monitoring', 'file-monitoring-enforce', 'egress-cluster', 'egress-cluster-enforce', 'egress-xwing-enforce'];
  assert.equal(lines(names.map((n) => `examples/${n}.yaml`)), []);
});

test('formatPath quotes keys that are not identifiers', () => {
  assert.is(formatPath(['spec', 'kprobes', 0, 'selectors', 1, 'matchArgs', 0, 'operator']), 'spec.kprobes[0].selectors[1].matchArgs[0].operator');
  assert.is(formatPath(['metadata', 'labels', 'app.kubernetes.io/name']), 'metadata.labels["app.kubernetes.io/name"]');
  assert.is(formatPath([]), '');
});

test('suggest: close names only', () => {
  assert.is(suggest('matchArg', ['matchArgs', 'matchPIDs']), 'matchArgs');
  assert.is(suggest('matchargs', ['matchArgs']), 'matchArgs');
  assert.is(suggest('selector', ['selectors', 'syscall']), 'selectors');
  assert.is(suggest('zebra', ['call', 'args']), undefined);
});

test('schema: enum values are left to the core', () => {
  const doc = {
    apiVersion: 'anything',
    kind: 'Whatever',
    metadata: { name: 'x' },
    spec: {
      kprobes: [{ call: 'nope', args: [{ index: 0, type: 'no-such-type' }], selectors: [{ matchArgs: [{ index: 0, operator: 'Bogus', values: ['1'] }] }] }],
    },
  };
  assert.equal(validateShape(doc), []);
});

test.run();
