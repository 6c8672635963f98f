// Pods with real cgroups: create, list, delete, processes really placed in
// the pod's cgroup, exit statuses of `exec`, persistence across restarts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PodRegistry } from '../src/pods/registry.js';
import { cgroup2Root, cgroupId, processCgroupId } from '../src/pods/cgroup.js';
import { execInCgroup, exitStatus } from '../src/pods/exec.js';
import { parseLabels, parsePodRef, imageRepo, podInfo } from '../src/pods/pod.js';
import { skipUnlessRoot, talonCgroupLeftovers, useTestCgroupParent } from './helpers/agent.js';

const reason = skipUnlessRoot('pods');
const parent = useTestCgroupParent();

test('parsePodRef and labels', () => {
  assert.equal(parsePodRef('default/xwing'), { namespace: 'default', name: 'xwing' });
  assert.equal(parsePodRef('xwing', 'empire'), { namespace: 'empire', name: 'xwing' });
  assert.throws(() => parsePodRef('a/b/c'), /expected <namespace>\/<name>/);
  assert.throws(() => parsePodRef('../x'), /invalid namespace/);
  assert.equal(parseLabels(['app=xwing', 'org=alliance']), { app: 'xwing', org: 'alliance' });
  assert.equal(parseLabels('app.kubernetes.io/name=x'), { 'app.kubernetes.io/name': 'x' });
  assert.throws(() => parseLabels(['novalue']), /expected key=value/);
  assert.equal(imageRepo('quay.io/cilium/starwars:v1'), 'quay.io/cilium/starwars');
  assert.equal(imageRepo('localhost:5000/x@sha256:abc'), 'localhost:5000/x');
  assert.equal(exitStatus(null, 'SIGKILL'), 137);
  assert.equal(exitStatus(3, null), 3);
});

if (reason) {
  test.skip('pods in real cgroups');
} else {
  test('add, list, exec, delete with real cgroups', async () => {
    const state = mkdtempSync(join(tmpdir(), 'talon-pods-'));
    const reg = new PodRegistry(state);
    try {
      const pod = await reg.add({ namespace: 'default', name: 'xwing', labels: { app: 'xwing' } });
      assert.ok(pod.cgroupPath.startsWith(join(cgroup2Root(), parent, 'pods/default/xwing')));
      assert.ok(existsSync(pod.cgroupPath));
      assert.is(pod.cgroupId, cgroupId(pod.cgroupPath).toString());
      assert.is(pod.container.name, 'xwing');
      assert.equal(podInfo(pod), { namespace: 'default', name: 'xwing', labels: { app: 'xwing' }, container: { name: 'xwing', repo: 'localhost/xwing' } });
      await assert.not.throws(() => reg.get('default', 'xwing'));
      assert.is(reg.list().length, 1);
      await reg.add({ namespace: 'empire', name: 'deathstar', labels: { org: 'empire' } }).then(
        () => undefined,
        (e) => assert.unreachable(e.message),
      );
      try {
        await reg.add({ namespace: 'default', name: 'xwing' });
        assert.unreachable('a second add must fail');
      } catch (e) {
        assert.match((e as Error).message, /already exists/);
      }

      // a process started by exec really has the pod's cgroup id
      const out = join(state, 'cg');
      const st = await execInCgroup(pod.cgroupPath, ['/bin/sh', '-c', `cat /proc/self/cgroup > ${out}; stat -c %i /proc/self >/dev/null`], { stdio: 'ignore' });
      assert.is(st, 0);
      // inside, the pod's cgroup is the root of the command's cgroup namespace
      const rel = readFileSync(out, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('0::'))!
        .slice(3);
      assert.is(rel, '/');
      let seen: bigint | null = null;
      const st2 = await execInCgroup(pod.cgroupPath, ['/bin/sleep', '0.2'], {
        stdio: 'ignore',
        onSpawn: (pid) => setTimeout(() => (seen = processCgroupId(pid)), 100),
      });
      assert.is(st2, 0);
      assert.is(String(seen), pod.cgroupId);

      // exit statuses like a shell
      assert.is(await execInCgroup(pod.cgroupPath, ['/bin/true'], { stdio: 'ignore' }), 0);
      assert.is(await execInCgroup(pod.cgroupPath, ['/bin/false'], { stdio: 'ignore' }), 1);
      assert.is(await execInCgroup(pod.cgroupPath, ['/bin/sh', '-c', 'kill -9 $$'], { stdio: 'ignore' }), 137);
      assert.is(await execInCgroup(pod.cgroupPath, ['/nonexistent/cmd'], { stdio: 'ignore' }), 127);

      // labels change, persisted; a restarted registry sees the same pods
      await reg.label('default', 'xwing', { org: 'alliance' });
      const again = new PodRegistry(state);
      await again.load();
      assert.equal(again.get('default', 'xwing')!.labels, { app: 'xwing', org: 'alliance' });
      assert.is(again.get('default', 'xwing')!.cgroupId, pod.cgroupId);

      // delete kills what is left in the pod and removes the cgroup and empty parents
      const sleeper = execInCgroup(pod.cgroupPath, ['/bin/sleep', '30'], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 100));
      await reg.delete('default', 'xwing');
      assert.is(await sleeper, 137);
      assert.not.ok(existsSync(pod.cgroupPath));
      assert.not.ok(existsSync(join(cgroup2Root(), parent, 'pods/default')));
      assert.ok(existsSync(join(cgroup2Root(), parent, 'pods/empire/deathstar')));
      await reg.delete('empire', 'deathstar');
      assert.not.ok(existsSync(join(cgroup2Root(), parent)), 'the empty parents are removed too');
      assert.is(reg.list().length, 0);
    } finally {
      await reg.deleteAll().catch(() => undefined);
      const again = new PodRegistry(state);
      await again.load().catch(() => undefined);
      await again.deleteAll().catch(() => undefined);
      rmSync(state, { recursive: true, force: true });
    }
    assert.equal(talonCgroupLeftovers(), []);
  });
}

test.run();
