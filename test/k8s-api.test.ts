// --enable-k8s-api against a list/watch server speaking the Kubernetes API's
// JSON (test/helpers/k8s-api.ts; no kube-apiserver can run on these
// machines): TracingPolicy / TracingPolicyNamespaced objects exactly as the
// API returns them are loaded with domain k8s, replaced on change, removed on
// delete; one that does not compile is listed with load_error and reported
// as a Warning Event on the object; the node's pods give labels and
// workloads; a dropped watch is resumed. The real Wasm core, a recording
// kernel (no BPF, no root).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { Agent } from '../src/agent/agent.js';
import { ApiClient } from '../src/api/client.js';
import type { PolicyStatus } from '../src/api/protocol.js';
import { workloadOfPod } from '../src/agent/k8s.js';
import { FakeKernel } from './helpers/fake-kernel.js';
import { FakeKubeApi, podObject } from './helpers/k8s-api.js';
import { repoRoot, tempDir, waitFor, talon } from './helpers/agent.js';

const NODE = 'talon-node-1';
const SEED = resolve(repoRoot(), '../shared/seeds/policies/file_monitoring_enforce.yaml');

/** The seed policy as the API server returns it: namespace set, the CRD schema's defaults filled in. */
function seedObject(name = 'file-monitoring-filtered', namespace = 'default'): any {
  const o = parse(readFileSync(SEED, 'utf8'));
  o.metadata = { name, namespace };
  for (const kp of o.spec.kprobes) {
    for (const a of [...(kp.args ?? []), ...(kp.returnArg ? [kp.returnArg] : [])]) Object.assign(a, { maxData: false, resolve: '', returnCopy: false });
  }
  return o;
}

async function withAgent(
  fn: (a: Agent, c: ApiClient, api: FakeKubeApi, k: FakeKernel, kubeconfig: string) => Promise<void>,
  setup?: (api: FakeKubeApi) => void,
): Promise<void> {
  const t = tempDir('talon-k8s-');
  const api = new FakeKubeApi();
  await api.listen();
  setup?.(api);
  const kubeconfig = api.writeKubeconfig(t.dir);
  const k = new FakeKernel();
  const address = `unix://${join(t.dir, 'talon.sock')}`;
  const logs: string[] = [];
  let agent: Agent | null = null;
  let c: ApiClient | null = null;
  try {
    agent = await Agent.start({
      stateDir: join(t.dir, 'state'),
      serverAddress: address,
      grpcServerAddress: '',
      kernel: k,
      nodeName: NODE,
      k8s: { kubeconfig },
      log: (m) => logs.push(m),
    });
    c = await ApiClient.connect({ address });
    await fn(agent, c, api, k, kubeconfig);
  } catch (e) {
    (e as Error).message += `\nagent log:\n${logs.join('\n')}`;
    throw e;
  } finally {
    c?.close();
    await agent?.stop();
    await api.close();
    t.remove();
  }
}

const list = async (c: ApiClient) => (await c.call<{ policies: PolicyStatus[] }>('policy.list', {})).policies;

test('a TracingPolicyNamespaced from the API is loaded as the API returns it, domain k8s; changed and deleted with it', async () => {
  await withAgent(
    async (_a, c, api, k) => {
      const p = (await list(c)).find((x) => x.name === 'file-monitoring-filtered');
      assert.ok(p, 'listed');
      assert.is(p!.domain, 'k8s');
      assert.is(p!.namespace, 'default');
      assert.is(p!.state, 'enabled');
      assert.is(p!.file, 'k8s:tracingpolicynamespaced/default/file-monitoring-filtered');
      assert.ok(k.policy('file-monitoring-filtered'), 'in the kernel');
      assert.ok(
        api.requests.some(
          (r) => r.startsWith('GET /apis/cilium.io/v1alpha1/tracingpoliciesnamespaced?') && r.includes('watch=true') && r.includes('resourceVersion='),
        ),
        'watched from the list',
      );

      // a change of the spec replaces the loaded policy (monitor mode through spec.options)
      const o = seedObject();
      o.spec.options = [{ name: 'policy-mode', value: 'monitor' }];
      api.apply({ ...o, kind: 'TracingPolicyNamespaced' });
      assert.ok(await waitFor(async () => (await list(c)).find((x) => x.name === 'file-monitoring-filtered')?.mode === 'monitor', 5000), 'changed to monitor');
      assert.is(k.loaded.filter((x) => x.spec.name === 'file-monitoring-filtered' && !x.unloaded).length, 1, 'one live instance');

      // deleting it on the node would only hide it until its next change: refused, the API is where it lives
      const refused = await c.call('policy.delete', { name: 'file-monitoring-filtered', namespace: 'default' }).then(
        () => null,
        (e: Error) => e.message,
      );
      assert.match(refused ?? 'deleted', /comes from the Kubernetes API: delete it there/);
      const st = await c.call<{ k8s: { server: string } }>('status', {});
      assert.is(st.k8s.server, `http://127.0.0.1:${api.port}`, 'status names the API server');
      api.delete('TracingPolicyNamespaced', 'file-monitoring-filtered', 'default');
      assert.ok(await waitFor(async () => !(await list(c)).some((x) => x.name === 'file-monitoring-filtered'), 5000), 'deleted');
      assert.not.ok(k.policy('file-monitoring-filtered'), 'unloaded');
      assert.is(api.events.length, 0, 'no warning for policies that load');
    },
    (api) => api.apply({ ...seedObject(), kind: 'TracingPolicyNamespaced' }),
  );
});

test('a policy that does not compile: load_error in tp list (and the CLI) and a Warning Event on the object', async () => {
  await withAgent(async (_a, c, api, _k, _kc) => {
    const bad = seedObject('bad-operator', 'empire');
    bad.spec.kprobes[0].selectors[0].matchArgs[0].operator = 'StartsWith';
    api.apply({ ...bad, kind: 'TracingPolicyNamespaced' });
    const cluster = seedObject('cluster-bad');
    delete cluster.metadata.namespace;
    cluster.spec.kprobes[0].call = '';
    api.apply({ ...cluster, kind: 'TracingPolicy' });
    assert.ok(await waitFor(() => api.events.length >= 2, 5000), `events posted: ${JSON.stringify(api.events)}`);
    const ps = await list(c);
    const b = ps.find((x) => x.name === 'bad-operator');
    assert.ok(b, 'listed although it did not compile');
    assert.is(b!.state, 'load_error');
    assert.is(b!.domain, 'k8s');
    assert.match(b!.error ?? '', /StartsWith/);
    const e = api.events.find((x) => x.involvedObject?.name === 'bad-operator')!;
    assert.is(e.metadata.namespace, 'empire');
    assert.is(e.type, 'Warning');
    assert.is(e.reason, 'LoadError');
    assert.equal(
      { apiVersion: e.involvedObject.apiVersion, kind: e.involvedObject.kind, namespace: e.involvedObject.namespace },
      { apiVersion: 'cilium.io/v1alpha1', kind: 'TracingPolicyNamespaced', namespace: 'empire' },
    );
    assert.ok(e.involvedObject.uid, 'names the object by uid');
    assert.match(e.message, /StartsWith/);
    assert.is(e.source.component, 'talon');
    const ce = api.events.find((x) => x.involvedObject?.name === 'cluster-bad')!;
    assert.is(ce.metadata.namespace, 'default', "a cluster-scoped object's events go to default");
    assert.is(ce.involvedObject.namespace, undefined);

    // fixed in the API: loaded, no longer listed as failed
    const fixed = seedObject('bad-operator', 'empire');
    api.apply({ ...fixed, kind: 'TracingPolicyNamespaced' });
    assert.ok(await waitFor(async () => (await list(c)).find((x) => x.name === 'bad-operator')?.state === 'enabled', 5000), 'fixed');
    assert.is((await list(c)).filter((x) => x.name === 'bad-operator').length, 1);
  });
});

test('the node pods: labels and workloads by uid, following changes; a dropped watch resumes', async () => {
  const uid = '5f0e0a3c-2b7d-4d55-9a51-3f9d2a3a0c11';
  await withAgent(
    async (a, c, api) => {
      assert.equal(a.k8s!.podMeta(uid), {
        labels: { app: 'deathstar', 'pod-template-hash': '6f87496b94' },
        workload: { name: 'deathstar', kind: 'Deployment' },
      });
      assert.is(a.k8s!.podMeta('00000000-0000-4000-8000-000000000000'), undefined, 'a pod of another node is not watched');
      assert.ok(api.requests.some((r) => r.startsWith('GET /api/v1/pods?') && decodeURIComponent(r).includes(`fieldSelector=spec.nodeName=${NODE}`)));
      api.apply(podObject({ namespace: 'default', name: 'deathstar-6f87496b94-qdlh8', uid, labels: { app: 'deathstar', class: 'deathstar' }, node: NODE }));
      assert.ok(await waitFor(() => a.k8s!.podMeta(uid)?.labels.class === 'deathstar', 5000), 'relabelled');

      // the server ends every watch (as it does after its timeout): the informers watch again from their resourceVersion
      const watches = api.requests.filter((r) => r.includes('watch=true')).length;
      api.dropWatches();
      assert.ok(await waitFor(() => api.requests.filter((r) => r.includes('watch=true')).length >= watches + 3, 5000), 'watching again');
      api.apply(podObject({ namespace: 'default', name: 'deathstar-6f87496b94-qdlh8', uid, labels: { app: 'deathstar', class: 'empire' }, node: NODE }));
      assert.ok(await waitFor(() => a.k8s!.podMeta(uid)?.labels.class === 'empire', 5000), 'changes after the reconnect arrive');
      api.apply({ ...seedObject('late'), kind: 'TracingPolicyNamespaced' });
      assert.ok(await waitFor(async () => (await list(c)).some((x) => x.name === 'late'), 5000), 'so do policies');
    },
    (api) => {
      api.apply(
        podObject({
          namespace: 'default',
          name: 'deathstar-6f87496b94-qdlh8',
          uid,
          labels: { app: 'deathstar', 'pod-template-hash': '6f87496b94' },
          node: NODE,
          owner: { kind: 'ReplicaSet', name: 'deathstar-6f87496b94' },
        }),
      );
      api.apply(podObject({ namespace: 'default', name: 'elsewhere', uid: '00000000-0000-4000-8000-000000000000', labels: {}, node: 'other-node' }));
    },
  );
});

test('workloads from owner references', () => {
  const pod = (owner?: { kind: string; name: string }, labels: Record<string, string> = {}) =>
    podObject({ namespace: 'n', name: 'p-1', uid: 'u', labels, node: NODE, owner }) as any;
  assert.equal(workloadOfPod(pod()), { name: 'p-1', kind: 'Pod' });
  assert.equal(workloadOfPod(pod({ kind: 'ReplicaSet', name: 'web-5d9c' }, { 'pod-template-hash': '5d9c' })), { name: 'web', kind: 'Deployment' });
  assert.equal(workloadOfPod(pod({ kind: 'ReplicaSet', name: 'web-5d9c' })), { name: 'web-5d9c', kind: 'ReplicaSet' });
  assert.equal(workloadOfPod(pod({ kind: 'DaemonSet', name: 'talon' })), { name: 'talon', kind: 'DaemonSet' });
});

test('--kubeconfig without --enable-k8s-api, and --enable-k8s-api outside a cluster, are refused as bad input (exit 1, as every bad agent option)', async () => {
  const a = await talon(['agent', '--kubeconfig', '/nonexistent']);
  assert.is(a.code, 1, a.stderr);
  assert.match(a.stderr, /--kubeconfig needs --enable-k8s-api/);
  const b = await talon(['agent', '--cri-endpoint', 'unix:///x.sock']);
  assert.is(b.code, 1, b.stderr);
  assert.match(b.stderr, /need --enable-cri/);
});

test.run();
