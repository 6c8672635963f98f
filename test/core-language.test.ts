// Issue 8: Tetragon's own policies (../shared/tetragon-corpus) through the same
// check as `talon compile --check`, and a policy exactly as an API server returns it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { compile, inspectImage } from '../src/core/index.js';
import { checkPolicies } from '../src/policy/index.js';
import { ROOT, OPTS } from './helpers/core.js';

const CORPUS = path.resolve(ROOT, '../shared/tetragon-corpus/policies');
const SUBST: Record<string, string> = { PODCIDR: '10.0.0.0/16', SERVICECIDR: '10.96.0.0/12' };

/** the files talon refuses, with why (each reason is a real difference or Tetragon's own refusal) */
const REFUSED: Record<string, RegExp> = {
  // FollowFD/UnfollowFD were removed from Tetragon at HEAD
  'docs__security-observability-with-ebpf__03_chapter__01_installation__elastic_keystore_fd_install.yaml': /action FollowFD was removed from Tetragon/,
};

const corpusTest = (name: string, fn: () => void) => (existsSync(CORPUS) ? test(name, fn) : test.skip(`${name} (skipped: ${CORPUS} is absent)`, fn));

corpusTest('the corpus: at least 117 of 118 compile; the refused ones are exactly the listed ones', () => {
  const files = readdirSync(CORPUS)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  assert.is(files.length, 118);
  const refused: string[] = [];
  for (const f of files) {
    const text = readFileSync(path.join(CORPUS, f), 'utf8').replace(/\$\{(\w+)\}/g, (m, k) => SUBST[k] ?? m);
    const r = checkPolicies([{ name: f, text }], OPTS, compile);
    if (r.errors === 0) continue;
    refused.push(f);
    const why = REFUSED[f];
    assert.ok(why, `${f} refused: ${r.diagnostics.map((d) => d.message).join(' | ')}`);
    assert.ok(
      r.diagnostics.some((d) => why.test(d.message)),
      f,
    );
  }
  assert.equal(refused, Object.keys(REFUSED).sort());
  assert.ok(files.length - refused.length >= 117);
});

test('a policy as kubectl get -o yaml returns it: server metadata and CRD defaults accepted', () => {
  const text = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {"apiVersion":"cilium.io/v1alpha1"}
  creationTimestamp: "2026-12-01T10:00:00Z"
  generation: 1
  labels: {app: x}
  managedFields:
  - apiVersion: cilium.io/v1alpha1
    fieldsType: FieldsV1
    fieldsV1: {f:spec: {}}
    manager: kubectl-client-side-apply
    operation: Update
    time: "2026-12-01T10:00:00Z"
  name: file-monitoring
  namespace: default
  resourceVersion: "4711"
  uid: 1b4e28ba-2fa1-11d2-883f-0016d3cca427
spec:
  kprobes:
  - call: security_file_permission
    message: ""
    return: false
    syscall: true
    args:
    - index: 0
      maxData: false
      resolve: ""
      returnCopy: false
      sizeArgIndex: 0
      type: file
    - index: 1
      maxData: false
      resolve: ""
      returnCopy: false
      sizeArgIndex: 0
      type: int
    selectors:
    - matchArgs:
      - index: 0
        operator: Prefix
        values: [/etc/shadow]
      matchBinaries:
      - followChildren: false
        operator: In
        values: [/usr/bin/cat]
      matchPids:
      - followForks: false
        isNamespacePID: false
        operator: NotIn
        values: [1]
      matchActions:
      - action: Sigkill
---
apiVersion: v1
kind: Namespace
metadata: {name: default}
`;
  const r = checkPolicies([{ name: 'k.yaml', text }], OPTS, compile);
  assert.is(r.errors, 0, r.diagnostics.map((d) => d.message).join(' | '));
  assert.ok(r.diagnostics.some((d) => d.message === 'a Namespace (v1), not a TracingPolicy: skipped'));
  const spec = inspectImage(r.image!)[0];
  // the seed hook stays the seed hook (not a generic kprobe): nothing it needs is missing
  assert.equal([spec.hooks[0].hookId, spec.hooks[0].spec?.needs], [1, []]);
});

test('a Go template left in a file is an error at its position', () => {
  const text = 'apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: "{{ .Name }}"\nspec: {}\n';
  const r = checkPolicies([{ name: 't.yaml', text }], OPTS, compile);
  const d = r.diagnostics.find((x) => x.message.includes('Go template'))!;
  assert.equal([d.line, d.col, d.severity], [4, 10, 'error']);
});

test.run();
