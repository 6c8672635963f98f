// Real pods: a private containerd (Debian's, with runc; test/helpers/containerd.ts)
// makes pods over CRI as the kubelet does, `talon agent --enable-cri` reads
// them back and the seed's policy kills inside the container:
//   - `bash -c 'cat /etc/shadow'` exec'd in a container of default/xwing exits
//     137; the same in a pod of another namespace, or of default without the
//     policy's label, runs;
//   - a container started after the policy is covered (and how long after its
//     create / start the agent knows it is measured and printed);
//   - labels (immutable in CRI) change by re-creating the pod, or through the
//     Kubernetes API's Pod object (--enable-k8s-api): re-scoped;
//   - a TracingPolicyNamespaced applied through the API kills in the pod, and
//     stops when deleted there (the API is the list/watch server of
//     test/helpers/k8s-api.ts: no kube-apiserver runs here);
//   - getevents --pods xwing shows the seed's lines, the JSON the pod fields;
//   - everything is gone afterwards: containerd, shims, mounts, cgroups.
// Root, containerd and runc (scripts/setup.sh installs them); skipped with the reason otherwise.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { ApiClient } from '../src/api/client.js';
import type { Pod } from '../src/pods/pod.js';
import { Containerd, containerdLeftovers, containerdMissing, type PodRef } from './helpers/containerd.js';
import { FakeKubeApi, podObject } from './helpers/k8s-api.js';
import {
  jsonLines,
  repoRoot,
  spawnAgent,
  talon,
  talonBackground,
  tempDir,
  terminate,
  waitFor,
  sleep,
  useTestCgroupParent,
  type Background,
} from './helpers/agent.js';

useTestCgroupParent();
const SEEDS = resolve(repoRoot(), '../shared/seeds/policies');
const missing = containerdMissing();
const reason = missing ? `CRI pods: skipped, ${missing}` : existsSync(SEEDS) ? null : `CRI pods: skipped, ${SEEDS} is absent`;
const test = suite('cri-pods');

const t = tempDir('talon-cri-');
const sock = join(t.dir, 'talon.sock');
const A = ['--server-address', `unix://${sock}`];
const POLL_MS = 100;
let ctrd: Containerd | null = null;
let agent: Background | null = null;
let api: ApiClient | null = null;
let leftoverRef: { dir: string; cgroupTop: string } | null = null;
let kube = null as FakeKubeApi | null;
let xwingRef = null as PodRef | null;
const NODE = 'talon-cri-node';

const pods = async () => (await api!.call<{ pods: Pod[] }>('pod.list', {})).pods.filter((p) => p.source === 'cri');
const known = async (containerId: string) => (await pods()).find((p) => p.container.id === `containerd://${containerId}`);
const shadow = (id: string) => ctrd!.exec(id, ['bash', '-c', 'cat /etc/shadow']);

async function podWith(namespace: string, name: string, labels: Record<string, string>): Promise<{ pod: PodRef; id: string }> {
  const pod = await ctrd!.runPod(namespace, name, labels);
  const id = await ctrd!.createContainer(pod, 'spaceship');
  assert.ok(await waitFor(() => known(id), 5000, 20), `the agent knows ${namespace}/${name}`);
  return { pod, id };
}

/** The seed policy with a podSelector app=xwing added (the seed itself selects by namespace only). */
function labelledSeed(): string {
  const text = readFileSync(join(SEEDS, 'file_monitoring_enforce.yaml'), 'utf8')
    .replace('name: "file-monitoring-filtered"', 'name: "file-monitoring-xwing"')
    .replace(/^spec:\n/m, 'spec:\n  podSelector:\n    matchLabels:\n      app: xwing\n');
  const f = join(t.dir, 'xwing.yaml');
  writeFileSync(f, text);
  return f;
}

if (reason) {
  test('CRI pods', () => console.log(`  ${reason}`));
} else {
  test.before(async () => {
    ctrd = await Containerd.start();
    leftoverRef = { dir: ctrd.dir, cgroupTop: ctrd.cgroupTop };
    kube = new FakeKubeApi();
    await kube.listen();
    agent = await spawnAgent([
      '--state-dir',
      join(t.dir, 'state'),
      ...A,
      '--node-name',
      NODE,
      '--enable-cri',
      '--cri-endpoint',
      ctrd.endpoint,
      '--cri-poll-interval',
      String(POLL_MS),
      '--enable-k8s-api',
      '--kubeconfig',
      kube.writeKubeconfig(t.dir),
    ]);
    api = await ApiClient.connect({ address: `unix://${sock}` });
  });

  test.after(async () => {
    api?.close();
    if (agent) await terminate(agent);
    const forced = ctrd ? await ctrd.stop() : [];
    await kube?.close();
    t.remove();
    if (forced.length) console.log(`  cleanup had to force: ${forced.join('; ')}`);
  });

  test('the seed policy kills cat /etc/shadow in a container of default/xwing (137); other namespaces run', async () => {
    const xwing = await podWith('default', 'xwing', { app: 'xwing', class: 'xwing' });
    xwingRef = xwing.pod;
    const other = await podWith('empire', 'xwing', { app: 'xwing' });
    const p = await known(xwing.id);
    assert.equal(
      { ns: p!.namespace, name: p!.name, labels: p!.labels, container: p!.container.name, image: p!.container.image, uid: p!.uid },
      {
        ns: 'default',
        name: 'xwing',
        labels: { app: 'xwing', class: 'xwing' },
        container: 'spaceship',
        image: 'localhost/talon-test:1',
        uid: xwing.pod.uid,
      },
    );
    assert.match(p!.cgroupPath, new RegExp(`/kubepods/besteffort/pod${xwing.pod.uid}/${xwing.id}$`));

    assert.is((await shadow(xwing.id)).code, 0, 'no policy yet: runs');
    const add = await talon(['tp', 'add', join(SEEDS, 'file_monitoring_enforce.yaml'), '-n', 'default', ...A]);
    assert.is(add.code, 0, add.stderr);
    const killed = await shadow(xwing.id);
    assert.is(killed.code, 137, `cat /etc/shadow in default/xwing: ${JSON.stringify(killed)}`);
    const fine = await ctrd!.exec(xwing.id, ['bash', '-c', 'echo foo >> bar; cat bar']);
    assert.equal(fine, { code: 0, stdout: 'foo\n', stderr: '' }, 'files outside the policy: untouched');
    const elsewhere = await shadow(other.id);
    assert.is(elsewhere.code, 0, `empire/xwing is another namespace: ${JSON.stringify(elsewhere)}`);
    assert.is(elsewhere.stdout, 'root:*:19000:0:99999:7:::\n');
    const st = JSON.parse((await talon(['tp', 'list', '-o', 'json', ...A])).stdout);
    const seed = (st.policies ?? st).find((x: any) => x.name === 'file-monitoring-filtered');
    assert.equal(seed.pods, ['default/xwing'], 'tp list names the pod');
  });

  test('a container started after the policy is covered; the gap is measured', async () => {
    const xwing = (await pods()).find((p) => p.namespace === 'default' && p.name === 'xwing')!;
    const sb = (await ctrd!.client.listSandboxes()).find((s) => s.metadata.uid === xwing.uid)!;
    const ref: PodRef = { namespace: 'default', name: 'xwing', uid: xwing.uid, labels: xwing.labels, sandboxId: sb.id, config: {} };
    // as the kubelet does: create, then start at once
    const t0 = Date.now();
    const id = await ctrd!.client.call<{ container_id: string }>('CreateContainer', {
      pod_sandbox_id: sb.id,
      config: {
        metadata: { name: 'late', attempt: 0 },
        image: { image: 'localhost/talon-test:1' },
        command: ['/pause'],
        working_dir: '/work',
        mounts: [{ container_path: '/usr', host_path: '/usr', readonly: true }],
        linux: { security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
      },
      sandbox_config: {
        metadata: { name: ref.name, uid: ref.uid, namespace: ref.namespace, attempt: 0 },
        linux: { cgroup_parent: `/${ctrd!.cgroupTop}/kubepods/besteffort/pod${ref.uid}` },
      },
    });
    const created = Date.now();
    await ctrd!.startContainer(id.container_id);
    const started = Date.now();
    assert.ok(await waitFor(() => known(id.container_id), 5000, 5), 'known to the agent');
    const knownAt = Date.now();
    console.log(
      `  gap (poll ${POLL_MS} ms): known ${knownAt - created} ms after CreateContainer returned, ${knownAt - started} ms after StartContainer returned (create took ${created - t0} ms, start ${started - created} ms)`,
    );
    const r = await shadow(id.container_id);
    assert.is(r.code, 137, `cat /etc/shadow in the late container: ${JSON.stringify(r)}`);
  });

  test('a container started after the policy whose entrypoint reads /etc/shadow at once is killed, with the agent stopped meanwhile: covered from its first instruction', async () => {
    // the kernel gives the container's cgroup the policy when runc makes it in the pod's
    // (tln_cgroup_mkdir): no poll of the runtime is needed, so the agent is stopped (SIGSTOP)
    // from before CreateContainer until the entrypoint has run
    agent!.child.kill('SIGSTOP');
    let id = '';
    let rc = '';
    try {
      id = await ctrd!.createContainer(xwingRef!, 'eager', {
        command: ['/usr/bin/bash', '-c', 'cat /etc/shadow > /dev/null; echo rc=$? > /work/rc; exec /pause'],
      });
      rc = await waitFor(async () => (await ctrd!.exec(id, ['cat', '/work/rc'])).stdout.trim(), 5000, 100);
    } finally {
      agent!.child.kill('SIGCONT');
    }
    assert.is(rc, 'rc=137', 'the read of its first command was killed while the agent was stopped');
    assert.ok(await waitFor(() => known(id), 5000, 5), 'then the agent takes the container over');
    assert.is((await shadow(id)).code, 137, 'and it stays covered');
  });

  test('labels re-scope: a pod re-created with the label is covered, without it it is not', async () => {
    const f = labelledSeed();
    const add = await talon(['tp', 'add', f, '-n', 'empire', ...A]);
    assert.is(add.code, 0, add.stderr);
    const tie = await podWith('empire', 'tiefighter', { app: 'tiefighter' });
    assert.is((await shadow(tie.id)).code, 0, 'empire/tiefighter has no app=xwing: runs');
    const empireX = (await pods()).find((p) => p.namespace === 'empire' && p.name === 'xwing')!;
    assert.is((await shadow(empireX.container.id!.replace('containerd://', ''))).code, 137, 'empire/xwing has app=xwing: killed');
    // CRI labels are immutable per sandbox: the kubelet re-creates the pod
    await ctrd!.removePod(tie.pod);
    assert.ok(await waitFor(async () => !(await known(tie.id)), 5000, 20), 'the removed pod is gone from the agent');
    const again = await podWith('empire', 'tiefighter', { app: 'xwing' });
    assert.is((await shadow(again.id)).code, 137, 're-created with app=xwing: killed');
    // the API's Pod object has the labels as they are now: relabelled there, re-scoped here
    kube!.apply(podObject({ namespace: 'empire', name: 'tiefighter', uid: again.pod.uid, labels: { app: 'tiefighter' }, node: NODE }));
    assert.ok(await waitFor(async () => (await known(again.id))?.labels.app === 'tiefighter', 5000, 20), 'labels from the API');
    assert.is((await shadow(again.id)).code, 0, 'relabelled app=tiefighter through the API: runs');
    kube!.apply(podObject({ namespace: 'empire', name: 'tiefighter', uid: again.pod.uid, labels: { app: 'xwing' }, node: NODE }));
    assert.ok(await waitFor(async () => (await known(again.id))?.labels.app === 'xwing', 5000, 20));
    assert.is((await shadow(again.id)).code, 137, 'relabelled app=xwing through the API: killed');
    const del = await talon(['tp', 'delete', 'file-monitoring-xwing', '-n', 'empire', ...A]);
    assert.is(del.code, 0, del.stderr);
    assert.is((await shadow(again.id)).code, 0, 'policy deleted: runs');
  });

  test('kubectl apply: the seed as a TracingPolicyNamespaced object of the API kills in the pod; deleted there, it stops', async () => {
    const empireX = (await pods()).find((p) => p.namespace === 'empire' && p.name === 'xwing')!;
    const id = empireX.container.id!.replace('containerd://', '');
    assert.is((await shadow(id)).code, 0, 'no policy in empire yet');
    const obj = parse(readFileSync(join(SEEDS, 'file_monitoring_enforce.yaml'), 'utf8'));
    obj.metadata.namespace = 'empire';
    kube!.apply(obj);
    const listed = async () => JSON.parse((await talon(['tp', 'list', '-o', 'json', ...A])).stdout).policies.find((x: any) => x.namespace === 'empire');
    assert.ok(await waitFor(async () => (await listed())?.state === 'TP_STATE_ENABLED', 10_000, 100), 'loaded from the API');
    assert.is((await listed()).domain, 'k8s');
    assert.is((await shadow(id)).code, 137, 'cat /etc/shadow in empire/xwing: killed');
    kube!.delete('TracingPolicyNamespaced', 'file-monitoring-filtered', 'empire');
    assert.ok(await waitFor(async () => !(await listed()), 10_000, 100), 'removed');
    assert.is((await shadow(id)).code, 0, 'deleted in the API: runs');
  });

  test('getevents -o compact --pods xwing shows the seed lines; the JSON carries the pod fields', async () => {
    const xwing = (await pods()).find((p) => p.namespace === 'default' && p.name === 'xwing' && p.container.name === 'spaceship')!;
    const id = xwing.container.id!.replace('containerd://', '');
    const subs = async () => JSON.parse((await talon(['status', '-o', 'json', ...A])).stdout).events.subscribers as number;
    const before = await subs();
    const compact = talonBackground(['getevents', '-o', 'compact', '--color', 'never', '--pods', 'xwing', ...A]);
    const json = talonBackground(['getevents', '-o', 'json', '--pods', 'xwing', ...A]);
    assert.ok(await waitFor(async () => (await subs()) >= before + 2, 10_000, 50), 'subscribed');
    assert.is((await shadow(id)).code, 137);
    await waitFor(() => /exit.*SIGKILL/.test(compact.out()), 5000, 50);
    await sleep(300);
    compact.child.kill('SIGINT');
    json.child.kill('SIGINT');
    await Promise.all([compact.exited, json.exited]);
    const lines = compact.out().split('\n');
    const want = [
      /process default\/xwing \/(usr\/)?bin\/bash -c "cat \/etc\/shadow"/,
      /process default\/xwing \/(usr\/)?bin\/cat \/etc\/shadow/,
      /read {4}default\/xwing \/(usr\/)?bin\/cat \/etc\/shadow/,
      /exit {4}default\/xwing \/(usr\/)?bin\/cat \/etc\/shadow SIGKILL/,
    ];
    for (const w of want)
      assert.ok(
        lines.some((l) => w.test(l)),
        `compact output has ${w}:\n${compact.out()}`,
      );
    assert.not.ok(/empire/.test(compact.out()), '--pods xwing matches the name; the empire pods run nothing now');
    const events = jsonLines(json.out());
    const kprobe = events.find((e) => e.process_kprobe)?.process_kprobe;
    assert.ok(kprobe, `a kprobe event: ${json.out().slice(0, 2000)}`);
    const pod = kprobe.process.pod;
    assert.equal(
      {
        namespace: pod.namespace,
        name: pod.name,
        id: pod.container.id,
        cname: pod.container.name,
        image: pod.container.image.name,
        workload: pod.workload,
        kind: pod.workload_kind,
      },
      { namespace: 'default', name: 'xwing', id: `containerd://${id}`, cname: 'spaceship', image: 'localhost/talon-test:1', workload: 'xwing', kind: 'Pod' },
    );
    assert.match(pod.container.image.id, /^sha256:[0-9a-f]{64}$/);
    assert.equal(pod.pod_labels, { app: 'xwing', class: 'xwing' });
  });

  test('stopped: containerd, shims, mounts and cgroups are gone', async () => {
    api?.close();
    api = null;
    if (agent) await terminate(agent);
    agent = null;
    const forced = await ctrd!.stop();
    ctrd = null;
    assert.equal(containerdLeftovers(leftoverRef!), [], 'nothing left');
    assert.equal(forced, [], 'nothing had to be forced');
  });
}

test.run();
