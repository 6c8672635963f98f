// Where containers sit in the cgroup tree, for the layouts of the kubelet's
// two cgroup drivers and of containerd, CRI-O and Docker; container id URLs;
// CRI endpoints; workloads without the Kubernetes API. No root.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  cgroupsPathToDir,
  containerIdUrl,
  containerOfCgroupPath,
  expandSlice,
  parseContainerIdUrl,
  podCgroupDir,
  podUidOfCgroupPath,
} from '../src/pods/cri-cgroup.js';
import { containerRuntimeInfo, criTarget } from '../src/pods/cri-client.js';
import { runtimeScheme, workloadOf } from '../src/pods/cri.js';

const ID = 'dc68d16a7e056a1e31e89d11b009c2d7c92d59b85c0cad4c76e890b990d7a4cb';
const UID = 'f482daee-4a80-4763-9a45-12028a38e229';
const UID_ = UID.replaceAll('-', '_');

test('cgroupfs cgroupsPath (containerd and CRI-O with the cgroupfs driver)', () => {
  assert.is(cgroupsPathToDir(`/kubepods/besteffort/pod${UID}/${ID}`), `kubepods/besteffort/pod${UID}/${ID}`);
  assert.is(cgroupsPathToDir(`/kubepods/pod${UID}/${ID}`), `kubepods/pod${UID}/${ID}`, 'guaranteed QoS: no class directory');
  assert.is(cgroupsPathToDir(`/k8s.io/${ID}`), `k8s.io/${ID}`, 'containerd with an empty parent');
  assert.throws(() => cgroupsPathToDir('/kubepods/../etc'), /"\.\." is not allowed/);
  assert.throws(() => cgroupsPathToDir(''), /empty/);
});

test('systemd cgroupsPath: slice:prefix:name, the slice expanded as systemd nests it', () => {
  assert.is(expandSlice('kubepods.slice'), 'kubepods.slice');
  assert.is(expandSlice(`kubepods-besteffort-pod${UID_}.slice`), `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice`);
  assert.is(expandSlice('-.slice'), '');
  assert.throws(() => expandSlice('kubepods'), /expected NAME\.slice/);
  assert.throws(() => expandSlice('a--b.slice'), /invalid systemd slice/);
  assert.is(
    cgroupsPathToDir(`kubepods-burstable-pod${UID_}.slice:cri-containerd:${ID}`),
    `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`,
  );
  assert.is(cgroupsPathToDir(`kubepods-pod${UID_}.slice:crio:${ID}`), `kubepods.slice/kubepods-pod${UID_}.slice/crio-${ID}.scope`);
  assert.is(cgroupsPathToDir(`system.slice:docker:${ID}`), `system.slice/docker-${ID}.scope`);
});

test('the container and pod of a cgroup path (a directory or a /proc/<pid>/cgroup line)', () => {
  assert.equal(containerOfCgroupPath(`/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`), {
    containerId: ID,
    runtime: 'containerd',
    podUid: UID,
  });
  assert.equal(containerOfCgroupPath(`/kubepods.slice/kubepods-pod${UID_}.slice/crio-${ID}.scope`), { containerId: ID, runtime: 'cri-o', podUid: UID });
  assert.equal(containerOfCgroupPath(`/sys/fs/cgroup/unified/kubepods/burstable/pod${UID}/${ID}`), { containerId: ID, runtime: null, podUid: UID });
  assert.equal(containerOfCgroupPath(`/system.slice/docker-${ID}.scope`), { containerId: ID, runtime: 'docker', podUid: null });
  assert.is(containerOfCgroupPath(`/kubepods.slice/kubepods-pod${UID_}.slice/crio-conmon-${ID}.scope`), null, "conmon's scope is not the container");
  assert.is(containerOfCgroupPath(`/kubepods/besteffort/pod${UID}`), null, 'the pod directory itself');
  assert.is(containerOfCgroupPath('/user.slice/user-0.slice/session-1.scope'), null);
  assert.is(containerOfCgroupPath('/'), null);
  assert.is(podUidOfCgroupPath('/kubepods/besteffort'), null);
});

test("a pod's own cgroup: the parent of a container's, only when it is named for that pod", () => {
  const uid = '6f7c2b1e-1111-4222-8333-444455556666';
  const cid = 'a'.repeat(64);
  assert.is(podCgroupDir(`/sys/fs/cgroup/kubepods/besteffort/pod${uid}/${cid}`, uid), `/sys/fs/cgroup/kubepods/besteffort/pod${uid}`);
  const slice = `/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replaceAll('-', '_')}.slice`;
  assert.is(podCgroupDir(`${slice}/cri-containerd-${cid}.scope`, uid), slice, 'systemd driver');
  assert.is(podCgroupDir(`/sys/fs/cgroup/kubepods/besteffort/pod${uid}/${cid}`, uid.replace('6f', '7f')), null, "another pod's uid");
  assert.is(podCgroupDir(`/sys/fs/cgroup/k8s.io/${cid}`, uid), null, 'a parent shared by every container (no kubelet)');
  assert.is(podCgroupDir(`/sys/fs/cgroup/kubepods/besteffort/pod${uid}/${cid}`, ''), null, 'no uid');
});

test('container id URLs as Kubernetes and Tetragon write them', () => {
  assert.is(containerIdUrl('containerd', ID), `containerd://${ID}`);
  assert.equal(parseContainerIdUrl(`cri-o://${ID}`), { runtime: 'cri-o', id: ID });
  assert.is(parseContainerIdUrl(`containerd://${ID.slice(1)}`), null);
  assert.is(runtimeScheme('containerd'), 'containerd');
  assert.is(runtimeScheme('cri-o'), 'cri-o');
});

test('CRI endpoints and the verbose status info', () => {
  assert.is(criTarget('unix:///run/containerd/containerd.sock'), 'unix:///run/containerd/containerd.sock');
  assert.is(criTarget('/run/crio/crio.sock'), 'unix:///run/crio/crio.sock');
  assert.is(criTarget('unix:/run/x.sock'), 'unix:///run/x.sock');
  assert.throws(() => criTarget('tcp://1.2.3.4:1'), /invalid CRI endpoint/);
  const info = { info: JSON.stringify({ pid: 4242, runtimeSpec: { linux: { cgroupsPath: `/kubepods/pod${UID}/${ID}` } } }) };
  assert.equal(containerRuntimeInfo({ status: { id: ID, state: 'CONTAINER_RUNNING' }, info }), { pid: 4242, cgroupsPath: `/kubepods/pod${UID}/${ID}` });
  assert.equal(containerRuntimeInfo({ status: { id: ID, state: 'CONTAINER_CREATED' }, info: { info: '{"pid":0}' } }), { pid: null, cgroupsPath: null });
  assert.equal(containerRuntimeInfo({ status: { id: ID, state: 'CONTAINER_RUNNING' } }), { pid: null, cgroupsPath: null });
});

test('workloads without the Kubernetes API: Deployment pods by their pod-template-hash', () => {
  assert.equal(workloadOf('deathstar-6f87496b94-qdlh8', { 'pod-template-hash': '6f87496b94' }), { name: 'deathstar', kind: 'Deployment' });
  assert.equal(workloadOf('xwing', { app: 'xwing' }), { name: 'xwing', kind: 'Pod' });
  assert.equal(workloadOf('odd-name', { 'pod-template-hash': 'abc' }), { name: 'odd-name', kind: 'Pod' });
});

test.run();
