// The deployment files (deploy/k8s, deploy/helm/talon, Dockerfile) checked
// for what can be checked here (no helm, no API server for kubectl's
// validation): every document parses, kinds and required fields, the CRDs
// keep every spec field talon reads (a structural schema prunes the others),
// the DaemonSet's arguments are flags of `talon agent` and its mounts match
// them, RBAC grants what the agent calls, the chart's templates only use
// values it defines, the Dockerfile copies what exists. No root.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { policySchema } from '../src/policy/schema.js';
import { repoRoot, talon } from './helpers/agent.js';

const ROOT = repoRoot();
const docs = (f: string): any[] =>
  parseAllDocuments(readFileSync(join(ROOT, f), 'utf8')).map((d) => {
    assert.equal(d.errors, [], `${f}: ${d.errors.map(String).join('; ')}`);
    return d.toJS();
  });
const all = ['deploy/k8s/crds.yaml', 'deploy/k8s/rbac.yaml', 'deploy/k8s/daemonset.yaml'].flatMap(docs).filter(Boolean);
const byKind = (k: string) => all.filter((d) => d.kind === k);

test('every manifest document has apiVersion, kind and metadata.name', () => {
  assert.ok(all.length >= 6);
  for (const d of all) {
    assert.type(d.apiVersion, 'string');
    assert.type(d.kind, 'string');
    assert.type(d.metadata?.name, 'string', `${d.kind} without a name`);
  }
});

test("the CRDs are Tetragon's names and scopes, and keep every spec field talon's schema knows", () => {
  const crds = byKind('CustomResourceDefinition');
  assert.equal(
    crds.map((c) => [c.metadata.name, c.spec.group, c.spec.names.kind, c.spec.names.plural, c.spec.scope]),
    [
      ['tracingpolicies.cilium.io', 'cilium.io', 'TracingPolicy', 'tracingpolicies', 'Cluster'],
      ['tracingpoliciesnamespaced.cilium.io', 'cilium.io', 'TracingPolicyNamespaced', 'tracingpoliciesnamespaced', 'Namespaced'],
    ],
  );
  const talonSpec = Object.keys((policySchema as any).properties.spec.properties).sort();
  for (const c of crds) {
    assert.equal(
      c.spec.versions.map((v: any) => [v.name, v.served, v.storage]),
      [['v1alpha1', true, true]],
    );
    const schema = c.spec.versions[0].schema.openAPIV3Schema;
    assert.equal(schema.required, ['metadata', 'spec']);
    const props = Object.keys(schema.properties.spec.properties).sort();
    assert.equal(props, talonSpec, `${c.metadata.name}: spec fields of the CRD = the fields talon reads`);
    // a structural schema: every node typed; hook entries keep their fields
    assert.is(schema.properties.spec.properties.kprobes.items['x-kubernetes-preserve-unknown-fields'], true);
  }
  assert.is(
    readFileSync(join(ROOT, 'deploy/helm/talon/crds/crds.yaml'), 'utf8'),
    readFileSync(join(ROOT, 'deploy/k8s/crds.yaml'), 'utf8'),
    "the chart's CRDs are deploy/k8s/crds.yaml",
  );
});

test('the DaemonSet: privileged, host PID, its flags are talon agent flags, its mounts match them', async () => {
  const [ds] = byKind('DaemonSet');
  const pod = ds.spec.template.spec;
  assert.is(pod.hostPID, true);
  assert.equal(
    ds.spec.selector.matchLabels,
    Object.fromEntries(Object.entries(ds.spec.template.metadata.labels).filter(([k]) => k in ds.spec.selector.matchLabels)),
  );
  const [c] = pod.containers;
  assert.is(c.securityContext.privileged, true);
  const args: string[] = c.args;
  assert.is(args[0], 'agent');
  const help = await talon(['agent', '--help']);
  for (const a of args.filter((x) => x.startsWith('--'))) assert.ok(help.stdout.includes(a.split('=')[0]), `${a} is a flag of talon agent`);
  const value = (flag: string) => args[args.indexOf(flag) + 1];
  assert.ok(args.includes('--enable-cri') && args.includes('--enable-k8s-api'));
  const mounts = new Map<string, any>(c.volumeMounts.map((m: any) => [m.mountPath, m]));
  const volumes = new Map<string, any>(pod.volumes.map((v: any) => [v.name, v]));
  for (const m of c.volumeMounts) assert.ok(volumes.has(m.name), `mount ${m.mountPath}: volume ${m.name} exists`);
  const hostPathOf = (mountPath: string) => volumes.get(mounts.get(mountPath)?.name)?.hostPath;
  for (const p of ['/sys/fs/bpf', '/sys/kernel/btf', '/sys/fs/cgroup', '/sys/kernel/tracing']) assert.is(hostPathOf(p)?.path, p, `${p} from the host`);
  const cri = value('--cri-endpoint').replace(/^unix:\/\//, '');
  assert.equal(hostPathOf(cri), { path: cri, type: 'Socket' }, 'the CRI socket of --cri-endpoint is mounted');
  const sockDir = value('--server-address')
    .replace(/^unix:\/\//, '')
    .replace(/\/[^/]+$/, '');
  assert.ok(hostPathOf(sockDir), `the API socket's directory ${sockDir} is a host directory`);
  assert.ok(hostPathOf(value('--state-dir')), 'the state dir is a host directory');
  assert.ok(mounts.has(value('--export-filename').replace(/\/[^/]+$/, '')), 'the export file lands on a mount');
  assert.is(c.env.find((e: any) => e.name === 'NODE_NAME')?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName', 'node name from the downward API');
  assert.is(pod.serviceAccountName, byKind('ServiceAccount')[0].metadata.name);
});

test('RBAC grants what the agent calls: list/watch policies and pods, create events', () => {
  const [role] = byKind('ClusterRole');
  const can = (group: string, resource: string, verb: string) =>
    role.rules.some((r: any) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
  for (const r of ['tracingpolicies', 'tracingpoliciesnamespaced']) for (const v of ['list', 'watch']) assert.ok(can('cilium.io', r, v), `${v} ${r}`);
  for (const v of ['list', 'watch']) assert.ok(can('', 'pods', v), `${v} pods`);
  assert.ok(can('', 'events', 'create'));
  assert.not.ok(
    role.rules.some((r: any) => r.verbs.includes('*') || r.resources.includes('*')),
    'no wildcards',
  );
  const [binding] = byKind('ClusterRoleBinding');
  const [sa] = byKind('ServiceAccount');
  const [ds] = byKind('DaemonSet');
  assert.equal(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
  assert.equal(binding.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: ds.metadata.namespace }]);
});

test('the Helm chart: Chart.yaml, values, and templates that use only values it defines', () => {
  const dir = join(ROOT, 'deploy/helm/talon');
  const chart = parse(readFileSync(join(dir, 'Chart.yaml'), 'utf8'));
  assert.equal([chart.apiVersion, chart.name, chart.type], ['v2', 'talon', 'application']);
  assert.is(chart.appVersion, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version, 'appVersion is the package version');
  const values = parse(readFileSync(join(dir, 'values.yaml'), 'utf8'));
  const has = (path: string[]) => path.reduce<any>((o, k) => (o && typeof o === 'object' && k in o ? o[k] : undefined), values) !== undefined;
  const templates = readdirSync(join(dir, 'templates'));
  assert.ok(templates.includes('daemonset.yaml') && templates.includes('rbac.yaml'));
  for (const f of templates) {
    const text = readFileSync(join(dir, 'templates', f), 'utf8');
    for (const m of text.matchAll(/\.Values\.([A-Za-z0-9_.]+)/g)) assert.ok(has(m[1].split('.')), `${f}: .Values.${m[1]} is in values.yaml`);
    // the same flags as the plain manifest
    if (f === 'daemonset.yaml')
      for (const flag of ['--enable-cri', '--cri-endpoint', '--enable-k8s-api', '--server-address', '--state-dir'])
        assert.ok(text.includes(flag), `${f} passes ${flag}`);
  }
});

test('the Dockerfile copies sources that exist and build outputs the build makes', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const made = ['node_modules', 'dist/src', 'build/talon.wasm', 'bpf/.output', 'shim/build/Release/tln_shim.node'];
  for (const m of text.matchAll(/^COPY (?:--from=build \/src\/)?(\S+)/gm)) {
    const src = m[1];
    if (src === '.' || src === 'package.json' || src === 'package-lock.json') continue;
    assert.ok(made.includes(src) || existsSync(join(ROOT, src)), `COPY ${src}: exists or is built`);
  }
  assert.match(text, /ENTRYPOINT \["talon"\]/);
  assert.match(text, /FROM node:20/, 'the Node version talon supports (client-node 1.x)');
});

test.run();
