// The pod registry with the container runtime's pods beside those of
// `talon pod add`: replaced as a whole per poll, with the additions, changes
// and removals announced (a new cgroup is a removal and an addition), never
// persisted, and refused by `pod label` / `pod delete` with the reason.
// No root: no cgroup is created.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PodRegistry, type PodChange } from '../src/pods/registry.js';
import { podJson, type Pod } from '../src/pods/pod.js';
import { tempDir } from './helpers/common.js';

const ID = (n: number) => n.toString(16).padStart(64, '0');

function criPod(n: number, labels: Record<string, string>, cgroupId = String(1000 + n)): Pod {
  return {
    namespace: 'default',
    name: `pod-${n}`,
    labels,
    container: { name: 'c', image: 'localhost/img:1', id: `containerd://${ID(n)}`, imageId: 'sha256:' + 'a'.repeat(64), started: '2026-12-01T00:00:00Z' },
    source: 'cri',
    workload: { name: `pod-${n}`, kind: 'Pod' },
    uid: `uid-${n}`,
    cgroupPath: `/sys/fs/cgroup/kubepods/pod-${n}/${ID(n)}`,
    cgroupId,
    created: '2026-12-01T00:00:00Z',
  };
}

test('replaceSource announces additions, changes and removals; a new cgroup is a removal and an addition', async () => {
  const t = tempDir('talon-reg-');
  try {
    const r = new PodRegistry(t.dir, { cgroupRoot: t.dir });
    const seen: string[] = [];
    r.onChange((c: PodChange) => void seen.push(`${c.kind} ${c.pod.name} ${c.pod.cgroupId}`));
    await r.replaceSource('cri', new Map([[ID(1), criPod(1, { app: 'a' })]]));
    await r.replaceSource(
      'cri',
      new Map([
        [ID(1), criPod(1, { app: 'a' })],
        [ID(2), criPod(2, {})],
      ]),
    );
    await r.replaceSource(
      'cri',
      new Map([
        [ID(1), criPod(1, { app: 'b' })],
        [ID(2), criPod(2, {}, '9999')],
      ]),
    );
    await r.replaceSource('cri', new Map([[ID(2), criPod(2, {}, '9999')]]));
    assert.equal(seen, ['add pod-1 1001', 'add pod-2 1002', 'update pod-1 1001', 'delete pod-2 1002', 'add pod-2 9999', 'delete pod-1 1001']);
    assert.is(r.byCgroupId('9999')?.name, 'pod-2');
    assert.equal(
      r.listSource('cri').map((p) => p.name),
      ['pod-2'],
    );
    assert.not.ok(existsSync(join(t.dir, 'pods.json')) && JSON.parse(readFileSync(join(t.dir, 'pods.json'), 'utf8')).pods.length > 0, 'never persisted');
  } finally {
    t.remove();
  }
});

test('pod label / pod delete of a runtime pod say where to change it', async () => {
  const t = tempDir('talon-reg-');
  try {
    const r = new PodRegistry(t.dir, { cgroupRoot: t.dir });
    await r.replaceSource('cri', new Map([[ID(1), criPod(1, {})]]));
    const m = await r.label('default', 'pod-1', { a: 'b' }).then(
      () => 'relabelled',
      (e: Error) => e.message,
    );
    assert.match(m, /it is a pod of the container runtime: change it through Kubernetes/);
    const d = await r.delete('default', 'pod-1').then(
      () => 'deleted',
      (e: Error) => e.message,
    );
    assert.match(d, /pod of the container runtime/);
    assert.match(await r.label('default', 'nope', {}).then(String, (e: Error) => e.message), /^pod default\/nope not found$/);
  } finally {
    t.remove();
  }
});

test("Tetragon's pod object for a runtime pod: container id, image id and name, start time, workload", () => {
  const j = podJson(criPod(1, { app: 'a' })) as any;
  assert.equal(j.container, {
    id: `containerd://${ID(1)}`,
    name: 'c',
    image: { id: 'sha256:' + 'a'.repeat(64), name: 'localhost/img:1' },
    start_time: '2026-12-01T00:00:00Z',
  });
  assert.equal([j.workload, j.workload_kind, j.pod_labels], ['pod-1', 'Pod', { app: 'a' }]);
});

test.run();
