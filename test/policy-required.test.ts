// Missing required fields: both layers check them, the user sees each once.
// The schema owns "required" (it is shape); src/policy leaves out the core's
// report of the same field missing from the same map, and nothing else.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import YAML from 'yaml';
import { compile } from '../src/core/index.js';
import type { CompileOptions } from '../src/core/types.js';
import { checkPolicies, formatDiagnostic, formatPath, policySchema, type Path } from '../src/policy/index.js';

const OPTS: CompileOptions = { defaultNamespace: 'default' };

function lines(text: string, opts: CompileOptions = OPTS): string[] {
  return checkPolicies([{ name: 'p.yaml', text }], opts, compile).diagnostics.map(formatDiagnostic);
}

const MISSING_NAME_AND_OPERATOR = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  labels: {app: x}
spec:
  kprobes:
  - call: security_file_permission
    syscall: false
    args:
    - index: 0
      type: file
    selectors:
    - matchArgs:
      - index: 0
        values: ["/etc/shadow"]
`;

test('metadata.name and a matchArgs operator missing: one line each', () => {
  assert.equal(lines(MISSING_NAME_AND_OPERATOR), [
    'p.yaml:4:3: metadata: missing required field "name"',
    'p.yaml:14:9: spec.kprobes[0].selectors[0].matchArgs[0]: missing required field "operator"',
  ]);
});

test('top-level fields missing: one line each', () => {
  assert.equal(lines('kind: TracingPolicy\n'), [
    'p.yaml:1:1: missing required field "apiVersion"',
    'p.yaml:1:1: missing required field "metadata"',
    'p.yaml:1:1: missing required field "spec"',
  ]);
});

test('a missing required field does not hide other problems of the same map', () => {
  // the entry lacks operator (schema) and index (the core: matchArgs needs it)
  const noIndex = MISSING_NAME_AND_OPERATOR.replace('      - index: 0\n        values', '      - values');
  assert.equal(lines(noIndex), [
    'p.yaml:4:3: metadata: missing required field "name"',
    'p.yaml:14:9: spec.kprobes[0].selectors[0].matchArgs[0]: index is required (the function argument position, declared in args[])',
    'p.yaml:14:9: spec.kprobes[0].selectors[0].matchArgs[0]: missing required field "operator"',
  ]);
  // a namespaced policy without a name, and a bad -n for it: both at metadata
  const namespaced = MISSING_NAME_AND_OPERATOR.replace('kind: TracingPolicy', 'kind: TracingPolicyNamespaced');
  const r = lines(namespaced, { defaultNamespace: 'Not_A_Label' });
  assert.is(r.filter((l) => l.startsWith('p.yaml:4:3: metadata: ')).length, 2, r.join('\n'));
  assert.ok(r.includes('p.yaml:4:3: metadata: missing required field "name"'), r.join('\n'));
});

test('the core names the absent field of a missing-field error (not in its wording)', () => {
  const kp = (sel: Record<string, unknown>, hook: Record<string, unknown> = {}) => ({
    apiVersion: 'cilium.io/v1alpha1',
    kind: 'TracingPolicy',
    metadata: { name: 'p' },
    spec: { kprobes: [{ call: 'security_file_permission', args: [{ index: 0n, type: 'file' }], selectors: [sel], ...hook }] },
  });
  const missingOf = (doc: unknown) => compile([doc], { defaultNamespace: 'default' }).diagnostics.map((d) => d.missing);
  assert.ok(missingOf({ apiVersion: 'cilium.io/v1alpha1', kind: 'TracingPolicy', metadata: {}, spec: {} }).includes('name'));
  assert.ok(missingOf(kp({ matchBinaries: [{ operator: 'In' }] })).includes('values'));
  assert.equal(missingOf(kp({ matchArgs: [{ index: 0n, operator: 'Prefx', values: ['/'] }] })), [undefined]);
  assert.ok(!missingOf(kp({}, { return: true })).some((m) => m !== undefined), 'return: true without returnArg is not a missing field');
});

// ---- every field the schema requires ----

/** valid policies with, between them, at least one of every map the schema knows */
const FULL_KPROBES = {
  apiVersion: 'cilium.io/v1alpha1',
  kind: 'TracingPolicy',
  metadata: { name: 'full', labels: { a: 'b' } },
  spec: {
    options: [{ name: 'policy-mode', value: 'enforce' }],
    podSelector: { matchLabels: { app: 'x' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }] },
    containerSelector: { matchExpressions: [{ key: 'name', operator: 'In', values: ['main'] }] },
    kprobes: [
      {
        call: 'security_file_permission',
        syscall: false,
        return: true,
        returnArg: { index: 0, type: 'int' },
        args: [
          { index: 0, type: 'file' },
          { index: 1, type: 'int' },
        ],
        selectors: [
          {
            matchArgs: [{ index: 0, operator: 'Prefix', values: ['/etc'] }],
            matchReturnArgs: [{ index: 0, operator: 'Equal', values: ['0'] }],
            matchBinaries: [{ operator: 'In', values: ['/bin/cat'] }],
            matchPIDs: [{ operator: 'NotIn', values: ['1'] }],
            matchNamespaces: [{ namespace: 'Pid', operator: 'In', values: ['host_ns'] }],
            matchNamespaceChanges: [{ operator: 'In', values: ['Mnt'] }],
            matchCapabilities: [{ operator: 'In', values: ['CAP_SYS_ADMIN'] }],
            matchActions: [{ action: 'Sigkill' }],
          },
        ],
      },
    ],
  },
};
const FULL = [
  FULL_KPROBES,
  {
    apiVersion: 'cilium.io/v1alpha1',
    kind: 'TracingPolicy',
    metadata: { name: 'full-tp' },
    spec: {
      tracepoints: [
        {
          subsystem: 'syscalls',
          event: 'sys_enter_openat',
          args: [{ index: 6, type: 'string' }],
          selectors: [{ matchArgs: [{ index: 6, operator: 'Prefix', values: ['/etc/ssh/'] }] }],
        },
      ],
    },
  },
  { apiVersion: 'cilium.io/v1alpha1', kind: 'TracingPolicy', metadata: { name: 'full-up' }, spec: { uprobes: [{ path: '/bin/bash', symbols: ['readline'] }] } },
  {
    apiVersion: 'cilium.io/v1alpha1',
    kind: 'TracingPolicy',
    metadata: { name: 'full-lsm' },
    spec: { lists: [{ name: 'l', values: ['sys_openat'] }], lsmhooks: [{ hook: 'file_open' }] },
  },
];

type Schema = { properties?: Record<string, Schema>; required?: string[]; items?: Schema; additionalProperties?: unknown };

/**
 * (path of a map with [0] for list items, required field) for every required
 * field of the schema; a map shared by several places (a selector, an arg) at
 * the first of them
 */
function requiredFields(s: Schema, at: Path = [], out: [Path, string][] = [], seen = new Set<Schema>()): [Path, string][] {
  if (seen.has(s)) return out;
  seen.add(s);
  for (const f of s.required ?? []) out.push([at, f]);
  for (const [k, sub] of Object.entries(s.properties ?? {})) {
    if (sub.items !== undefined) requiredFields(sub.items, [...at, k, 0], out, seen);
    else requiredFields(sub, [...at, k], out, seen);
  }
  return out;
}

/** the first of FULL that has a map at path */
function docWith(path: Path): unknown {
  return FULL.find((d) => {
    const m = at(d, path);
    return m !== null && typeof m === 'object';
  });
}

function at(doc: unknown, path: Path): unknown {
  let v = doc;
  for (const seg of path) v = v === null || typeof v !== 'object' ? undefined : (v as Record<string | number, unknown>)[seg];
  return v;
}

test('the full documents are valid', () => {
  for (const d of FULL) assert.equal(lines(YAML.stringify(d)), []);
});

test('every required field of the schema, when missing, is reported exactly once', () => {
  const fields = requiredFields(policySchema as Schema);
  assert.ok(fields.length >= 20, `${fields.length} required fields`);
  const uncovered = fields.filter(([p, f]) => {
    const m = at(docWith(p), p);
    return m === null || typeof m !== 'object' || !(f in m);
  });
  assert.equal(
    uncovered.map(([p, f]) => `${formatPath(p)}.${f}`),
    [],
    'add an example of these to FULL',
  );
  for (const [p, f] of fields) {
    const doc = structuredClone(docWith(p));
    delete (at(doc, p) as Record<string, unknown>)[f];
    const r = checkPolicies([{ name: 'p.yaml', text: YAML.stringify(doc) }], OPTS, compile).diagnostics;
    const here = r.filter((d) => d.path === formatPath(p)).map(formatDiagnostic);
    assert.equal(here.length, 1, `${formatPath(p)} without ${f}:\n${r.map(formatDiagnostic).join('\n')}`);
    assert.ok(here[0].endsWith(`missing required field "${f}"`), here[0]);
  }
});

test.run();
