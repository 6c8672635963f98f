// Scoping: which processes a policy applies to (podMatches, image scope flags,
// and the evaluator's use of them).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { podMatches, inspectImage } from '../src/core/index.js';
import type { PodInfo } from '../src/core/types.js';
import { image, policy, filePolicy, evaluator, event, str, int, verdictOf } from './helpers/core.js';

const pod = (labels: Record<string, string>, namespace = 'default', container?: PodInfo['container']): PodInfo => ({
  namespace,
  name: 'pod-1',
  labels,
  ...(container ? { container } : {}),
});
function scoped(spec: Record<string, unknown>, kind = 'TracingPolicy', meta: Record<string, unknown> = {}): Uint8Array {
  return image([policy({ kprobes: [], ...spec }, meta, kind)]);
}
const matches = (img: Uint8Array, p: PodInfo | null) => podMatches(img, 0, p);

test('cluster policy without selectors: everything, host included, no filter', () => {
  const img = scoped({});
  assert.ok(matches(img, null));
  assert.ok(matches(img, pod({})));
  const s = inspectImage(img)[0];
  assert.equal([s.filtered, s.host], [false, true]);
});

test('namespaced policy without selectors: all pods of its namespace only', () => {
  const img = scoped({}, 'TracingPolicyNamespaced', { namespace: 'shop' });
  assert.ok(matches(img, pod({}, 'shop')));
  assert.not.ok(matches(img, pod({}, 'default')));
  assert.not.ok(matches(img, null));
  const s = inspectImage(img)[0];
  assert.equal([s.filtered, s.host], [true, false]);
});

test('namespaced policy with a podSelector: namespace AND labels', () => {
  const img = scoped({ podSelector: { matchLabels: { app: 'web' } } }, 'TracingPolicyNamespaced', { namespace: 'shop' });
  assert.ok(matches(img, pod({ app: 'web' }, 'shop')));
  assert.not.ok(matches(img, pod({ app: 'web' }, 'other')));
  assert.not.ok(matches(img, pod({ app: 'db' }, 'shop')));
});

test('podSelector matchLabels: all labels must match; never a host process', () => {
  const img = scoped({ podSelector: { matchLabels: { app: 'web', tier: 'front' } } });
  assert.ok(matches(img, pod({ app: 'web', tier: 'front', x: 'y' })));
  assert.not.ok(matches(img, pod({ app: 'web' })));
  assert.not.ok(matches(img, null));
  assert.equal([inspectImage(img)[0].filtered, inspectImage(img)[0].host], [true, false]);
});

test('every container of a pod (the agent passes a policy on to new containers): only a policy that does not choose among them', () => {
  const every = (img: Uint8Array, labels: Record<string, string>, ns = 'default') => matches(img, { ...pod(labels, ns), everyContainer: true });
  const byPod = scoped({ podSelector: { matchLabels: { app: 'web' } } });
  assert.ok(every(byPod, { app: 'web' }));
  assert.not.ok(every(byPod, { app: 'db' }), 'not the pod: not its containers');
  const named = scoped({ podSelector: { matchLabels: { app: 'web' } }, containerSelector: { matchLabels: { name: 'main' } } });
  assert.ok(matches(named, pod({ app: 'web' }, 'default', { name: 'main', repo: 'nginx' })), 'its container main');
  assert.not.ok(every(named, { app: 'web' }), 'a new container may be another one');
  const allOfThem = scoped({ podSelector: { matchLabels: { app: 'web' } }, containerSelector: {} });
  assert.ok(every(allOfThem, { app: 'web' }), 'containerSelector {} takes every container');
  const ns = scoped({}, 'TracingPolicyNamespaced', { namespace: 'shop' });
  assert.ok(every(ns, {}, 'shop'));
  assert.not.ok(every(ns, {}, 'default'));
});

test('matchExpressions: In, NotIn (absent key matches), Exists, DoesNotExist', () => {
  const expr = (e: Record<string, unknown>) => scoped({ podSelector: { matchExpressions: [e] } });
  const inS = expr({ key: 'app', operator: 'In', values: ['web', 'api'] });
  assert.ok(matches(inS, pod({ app: 'api' })));
  assert.not.ok(matches(inS, pod({ app: 'db' })));
  assert.not.ok(matches(inS, pod({})));
  const notIn = expr({ key: 'app', operator: 'NotIn', values: ['db'] });
  assert.ok(matches(notIn, pod({ app: 'web' })));
  assert.not.ok(matches(notIn, pod({ app: 'db' })));
  assert.ok(matches(notIn, pod({}))); // the key is absent
  const ex = expr({ key: 'app', operator: 'Exists' });
  assert.ok(matches(ex, pod({ app: '' })));
  assert.not.ok(matches(ex, pod({ other: 'x' })));
  const dne = expr({ key: 'app', operator: 'DoesNotExist' });
  assert.ok(matches(dne, pod({ other: 'x' })));
  assert.not.ok(matches(dne, pod({ app: 'web' })));
});

test('terms are ANDed across matchLabels and matchExpressions', () => {
  const img = scoped({ podSelector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] } });
  assert.ok(matches(img, pod({ app: 'web', env: 'dev' })));
  assert.not.ok(matches(img, pod({ app: 'web', env: 'prod' })));
  assert.not.ok(matches(img, pod({ env: 'dev' })));
});

test('the pod namespace is the pseudo-label k8s:io.kubernetes.pod.namespace', () => {
  const img = scoped({ podSelector: { matchExpressions: [{ key: 'k8s:io.kubernetes.pod.namespace', operator: 'In', values: ['kube-system'] }] } });
  assert.ok(matches(img, pod({}, 'kube-system')));
  assert.not.ok(matches(img, pod({}, 'default')));
});

test('podSelector {} matches every pod (not hosts); a missing one is no filter', () => {
  const all = scoped({ podSelector: {} });
  assert.ok(matches(all, pod({})));
  assert.not.ok(matches(all, null));
  const none = scoped({});
  assert.ok(matches(none, null));
});

test('containerSelector: name and repo; pods without container info', () => {
  const img = scoped({ containerSelector: { matchLabels: { name: 'nginx' } } });
  assert.ok(matches(img, pod({}, 'default', { name: 'nginx', repo: 'docker.io/nginx' })));
  assert.not.ok(matches(img, pod({}, 'default', { name: 'envoy', repo: 'docker.io/envoy' })));
  assert.not.ok(matches(img, pod({})));
  assert.not.ok(matches(img, null));
  const repo = scoped({ containerSelector: { matchExpressions: [{ key: 'repo', operator: 'NotIn', values: ['docker.io/envoy'] }] } });
  assert.ok(matches(repo, pod({}, 'default', { name: 'x', repo: 'quay.io/x' })));
  assert.ok(matches(repo, pod({}))); // NotIn: absent matches
});

test('hostSelector {}: host processes; with a podSelector both', () => {
  const host = scoped({ hostSelector: {} });
  assert.ok(matches(host, null));
  assert.not.ok(matches(host, pod({})));
  assert.equal([inspectImage(host)[0].filtered, inspectImage(host)[0].host], [true, true]);
  const both = scoped({ hostSelector: {}, podSelector: { matchLabels: { app: 'web' } } });
  assert.ok(matches(both, null));
  assert.ok(matches(both, pod({ app: 'web' })));
  assert.not.ok(matches(both, pod({ app: 'db' })));
  const all3 = scoped({ hostSelector: {}, podSelector: {}, containerSelector: {} });
  assert.equal([inspectImage(all3)[0].filtered, inspectImage(all3)[0].host], [false, true]);
  assert.ok(matches(all3, null));
});

test('podMatches rejects a bad index or image', () => {
  const img = scoped({});
  assert.throws(() => podMatches(img, 1, null), /no policy with index 1/);
  assert.throws(() => podMatches(new Uint8Array(16), 0, null), /not a talon image/);
});

test('the evaluator applies the scope of each policy', () => {
  const doc = filePolicy([{}]);
  (doc.spec as Record<string, unknown>).podSelector = { matchLabels: { app: 'web' } };
  const ev = evaluator([doc]);
  const e = event('security_file_permission', [str('/x'), int(0)]);
  assert.is(verdictOf(ev, { ...e, pod: pod({ app: 'web' }) }), 'post');
  assert.is(verdictOf(ev, { ...e, pod: pod({ app: 'db' }) }), 'none');
  assert.is(verdictOf(ev, { ...e, pod: null }), 'none');
});

test.run();
