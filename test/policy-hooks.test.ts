// spec.tracepoints and spec.uprobes through the whole policy loader (YAML ->
// schema -> core): accepted shapes, and each new error at its file:line:col.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compile } from '../src/core/index.js';
import { checkPolicies, formatDiagnostic } from '../src/policy/index.js';

import { ROOT } from './helpers/common.js';
const OPTS = { defaultNamespace: 'default' };

function lines(name: string, text: string): string[] {
  return checkPolicies([{ name, text }], OPTS, compile).diagnostics.map(formatDiagnostic);
}
const head = 'apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: p\nspec:\n';

test('the examples load without diagnostics', () => {
  for (const f of ['examples/trace-bash-readline.yaml', 'examples/tracepoint-openat.yaml']) {
    const r = checkPolicies([{ name: f, text: readFileSync(path.join(ROOT, f), 'utf8') }], OPTS, compile);
    assert.equal(r.diagnostics.map(formatDiagnostic), [], f);
    assert.ok(r.image, f);
  }
});

test('tracepoints: unknown and mistyped fields are shape errors', () => {
  const t = `${head}  tracepoints:\n  - subsystem: syscalls\n    event: sys_enter_openat\n    call: x\n    raw: "yes"\n`;
  assert.equal(lines('t.yaml', t), [
    't.yaml:9:5: spec.tracepoints[0].call: unknown field "call"',
    't.yaml:10:10: spec.tracepoints[0].raw: expected a boolean (true or false), got a string',
  ]);
  const missing = `${head}  tracepoints:\n  - subsystem: syscalls\n`;
  assert.equal(lines('m.yaml', missing), ['m.yaml:7:5: spec.tracepoints[0]: missing required field "event"']);
});

test('tracepoints: raw: true compiles (issue 8)', () => {
  const t = `${head}  tracepoints:\n  - subsystem: raw_syscalls\n    event: sys_enter\n    raw: true\n`;
  assert.equal(lines('r.yaml', t), []);
});

test('uprobes: offsets compile; a wrong digest is reported once, at its value', () => {
  const t = `${head}  uprobes:\n  - path: /bin/bash\n    offsets: [16]\n`;
  assert.equal(lines('u.yaml', t), []);
  const d = `${head}  uprobes:\n  - path: /bin/bash\n    symbols: [readline]\n    binaryDigests: ["sha256:00"]\n`;
  assert.equal(lines('d.yaml', d), ['d.yaml:9:21: spec.uprobes[0].binaryDigests[0]: binary digest "sha256:00" is not sha256:<64 hex digits> or 64 hex digits']);
});

test('uprobes: symbols must be a list of strings; the path is required', () => {
  const t = `${head}  uprobes:\n  - path: /bin/bash\n    symbols: readline\n`;
  assert.equal(lines('s.yaml', t), ['s.yaml:8:14: spec.uprobes[0].symbols: expected a list, got a string']);
  const p = `${head}  uprobes:\n  - symbols: [readline]\n`;
  assert.equal(lines('p.yaml', p), ['p.yaml:7:5: spec.uprobes[0]: missing required field "path"']);
});

test('mixing hook kinds is refused at the second section', () => {
  const t = `${head}  kprobes:\n  - call: tcp_connect\n  uprobes:\n  - path: /bin/bash\n    symbols: [readline]\n`;
  assert.equal(lines('x.yaml', t), [
    'x.yaml:9:3: spec.uprobes: a policy may use only one of kprobes, tracepoints, lsmhooks, uprobes, usdts and fentries (as in Tetragon); this one has kprobes and uprobes: put the uprobes in a policy of their own',
  ]);
});

test.run();
