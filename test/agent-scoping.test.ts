// The agent's own logic with the real Wasm core and a recording kernel:
// pods added, relabelled and deleted after a policy was loaded change the
// policy's cgroup filter; diagnostics read like `talon compile`; pods and
// API policies survive a restart. Needs root (real cgroups), not BPF.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from '../src/agent/agent.js';
import { FakeKernel } from './helpers/fake-kernel.js';
import { ApiClient, RemoteError } from '../src/api/client.js';
import type { Pod } from '../src/pods/pod.js';
import { repoRoot, skipUnlessRoot, talon, talonCgroupLeftovers, tempDir, useTestCgroupParent } from './helpers/agent.js';

useTestCgroupParent();
const reason = skipUnlessRoot('agent scoping');
const example = (f: string) => readFileSync(join(repoRoot(), 'examples', f), 'utf8');

async function withAgent(stateDir: string, kernel: FakeKernel, fn: (a: Agent, c: ApiClient, address: string) => Promise<void>): Promise<void> {
  const address = `unix://${join(stateDir, 'talon.sock')}`;
  const agent = await Agent.start({ stateDir, serverAddress: address, kernel, log: () => undefined });
  const c = await ApiClient.connect({ address });
  try {
    await fn(agent, c, address);
  } finally {
    c.close();
    await agent.stop();
  }
}

if (reason) {
  test.skip('agent scoping');
} else {
  test('scoping follows pods added, relabelled and deleted after the policy', async () => {
    const t = tempDir('talon-agent-');
    const k = new FakeKernel();
    try {
      await withAgent(t.dir, k, async (agent, c) => {
        const r = await c.call<{ policies: { name: string; filtered: boolean; mode: string }[] }>('policy.add', {
          yaml: example('egress-xwing-enforce.yaml'),
          file: 'examples/egress-xwing-enforce.yaml',
          namespace: 'default',
        });
        assert.equal(
          r.policies.map((p) => [p.name, p.filtered, p.mode]),
          [['egress-xwing-enforce', true, 'enforce']],
        );
        const lp = k.policy('egress-xwing-enforce')!;
        assert.ok(lp, 'loaded into the kernel');
        assert.is(lp.filter.size, 0, 'no pod yet');

        const xwing = (await c.call<{ pod: Pod }>('pod.add', { namespace: 'default', name: 'xwing', labels: { app: 'xwing' } })).pod;
        assert.equal([...lp.filter], [xwing.cgroupId], 'a pod added after the policy is covered');
        assert.ok(k.podCgroups.has(xwing.cgroupId), 'and known as a pod cgroup');

        const tie = (await c.call<{ pod: Pod }>('pod.add', { namespace: 'default', name: 'tie', labels: { app: 'tie' } })).pod;
        const other = (await c.call<{ pod: Pod }>('pod.add', { namespace: 'empire', name: 'xwing', labels: { app: 'xwing' } })).pod;
        assert.equal([...lp.filter], [xwing.cgroupId], 'other labels, other namespace: not covered');
        assert.is(k.podCgroups.size, 3);

        await c.call('pod.label', { namespace: 'default', name: 'tie', set: { app: 'xwing' } });
        assert.equal([...lp.filter].sort(), [xwing.cgroupId, tie.cgroupId].sort(), 'relabelled into the selector');
        await c.call('pod.label', { namespace: 'default', name: 'xwing', remove: ['app'] });
        assert.equal([...lp.filter], [tie.cgroupId], 'relabelled out of it');

        const st = await c.call<{ policies: { pods: string[]; filterId: number; id: number }[] }>('policy.list');
        assert.equal(st.policies[0].pods, ['default/tie']);
        assert.is(st.policies[0].filterId, st.policies[0].id);

        await c.call('pod.delete', { namespace: 'default', name: 'tie' });
        assert.is(lp.filter.size, 0, 'deleted: removed from the filter');
        assert.not.ok(k.podCgroups.has(tie.cgroupId));
        assert.not.ok(existsSync(tie.cgroupPath));

        // a cluster-wide policy without selectors has no filter at all
        await c.call('policy.add', { yaml: example('file-monitoring.yaml'), file: 'examples/file-monitoring.yaml', namespace: 'default' });
        const list = await c.call<{ policies: { name: string; filtered: boolean; mode: string }[] }>('policy.list');
        assert.equal(
          list.policies.map((p) => p.name),
          ['egress-xwing-enforce', 'file-monitoring'],
        );

        // run-time mode change: decided by the core, written to the kernel
        const m = await c.call<{ policy: { mode: string } }>('policy.setMode', { name: 'egress-xwing-enforce', mode: 'monitor' });
        assert.is(m.policy.mode, 'monitor');
        assert.is(lp.mode, 'monitor');
        await c.call('policy.setMode', { name: 'egress-xwing-enforce', mode: 'enforce' });

        // same name twice: refused
        await c.call('policy.add', { yaml: example('egress-xwing-enforce.yaml'), file: 'again.yaml', namespace: 'default' }).then(
          () => assert.unreachable(),
          (e: RemoteError) => assert.is(e.code, 'exists'),
        );
        await c.call('pod.delete', { namespace: 'empire', name: 'xwing' });
        assert.ok(other.cgroupPath);
      });
      assert.ok(k.closed, 'kernel closed on stop');
      assert.ok(
        k.loaded.every((p) => p.unloaded),
        'every policy unloaded on stop',
      );
      assert.not.ok(existsSync(join(t.dir, 'talon.sock')), 'socket removed on stop');

      // restart: pods and API policies come back, and scoping is pushed again
      const k2 = new FakeKernel();
      await withAgent(t.dir, k2, async (agent, c) => {
        const pods = await c.call<{ pods: Pod[] }>('pod.list');
        assert.equal(
          pods.pods.map((p) => `${p.namespace}/${p.name}`),
          ['default/xwing'],
        );
        const list = await c.call<{ policies: { name: string; domain: string }[] }>('policy.list');
        assert.equal(
          list.policies.map((p) => [p.name, p.domain]),
          [
            ['egress-xwing-enforce', 'api'],
            ['file-monitoring', 'api'],
          ],
        );
        await c.call('pod.label', { namespace: 'default', name: 'xwing', set: { app: 'xwing' } });
        assert.equal([...k2.policy('egress-xwing-enforce')!.filter], [pods.pods[0].cgroupId]);
        await c.call('policy.delete', { name: 'file-monitoring' });
        await c.call('pod.delete', { namespace: 'default', name: 'xwing' });
        assert.ok(agent);
      });
      const k3 = new FakeKernel();
      await withAgent(t.dir, k3, async (_a, c) => {
        const list = await c.call<{ policies: { name: string }[] }>('policy.list');
        assert.equal(
          list.policies.map((p) => p.name),
          ['egress-xwing-enforce'],
          'deleted policies stay deleted',
        );
        assert.equal((await c.call<{ pods: Pod[] }>('pod.list')).pods, []);
      });
    } finally {
      t.remove();
    }
    assert.equal(talonCgroupLeftovers(), []);
  });

  test("CRI pods: a policy that picks no container is passed on from the pod's own cgroup to new containers; one with a containerSelector is not", async () => {
    const t = tempDir('talon-agent-');
    const k = new FakeKernel();
    const cri = (id: string, labels: Record<string, string>, podCg?: string): Pod => ({
      namespace: 'default',
      name: 'xwing',
      labels,
      container: { name: 'main', image: 'docker.io/library/nginx:1', id: `containerd://${id}` },
      source: 'cri',
      uid: '6f7c2b1e-0000-4000-8000-000000000001',
      cgroupPath: `/sys/fs/cgroup/kubepods/besteffort/pod6f7c2b1e-0000-4000-8000-000000000001/${id}`,
      cgroupId: id === 'c1' ? '9001' : '9002',
      ...(podCg ? { podCgroupId: podCg } : {}),
      created: '2026-12-03T00:00:00Z',
    });
    const byContainer = example('egress-xwing-enforce.yaml')
      .replace('name: egress-xwing-enforce', 'name: egress-xwing-main')
      .replace('  podSelector:', '  containerSelector:\n    matchLabels:\n      name: main\n  podSelector:');
    try {
      await withAgent(t.dir, k, async (agent, c) => {
        await c.call('policy.add', { yaml: example('egress-xwing-enforce.yaml'), file: 'a.yaml', namespace: 'default' });
        await c.call('policy.add', { yaml: byContainer, file: 'b.yaml', namespace: 'default' });
        const pod = k.policy('egress-xwing-enforce')!;
        const cont = k.policy('egress-xwing-main')!;
        await agent.pods.replaceSource('cri', new Map([['c1', cri('c1', { app: 'xwing' }, '9000')]]));
        assert.equal([...pod.filter], ['9001'], 'the container is in the filter');
        assert.equal([...pod.inherit], ['9000'], "and its pod's own cgroup passes the policy on");
        assert.equal([...cont.filter], ['9001'], 'the containerSelector policy covers the container');
        assert.equal([...cont.inherit], [], 'but is not passed on: a new container may be another');
        // a container whose pod cgroup is not the pod's own (no podCgroupId): nothing is passed on
        await agent.pods.replaceSource('cri', new Map([['c2', cri('c2', { app: 'xwing' })]]));
        assert.equal([...pod.filter], ['9002']);
        assert.equal([...pod.inherit], [], 'the pod cgroup of the gone container no longer passes it on');
        // relabelled out of the selector: neither
        await agent.pods.replaceSource('cri', new Map([['c1', cri('c1', { app: 'tie' }, '9000')]]));
        assert.equal([...pod.filter], []);
        assert.equal([...pod.inherit], []);
      });
    } finally {
      t.remove();
    }
  });

  test('policy.add diagnostics read exactly like `talon compile`', async () => {
    const t = tempDir('talon-agent-');
    const k = new FakeKernel();
    const bad = join(t.dir, 'bad.yaml');
    writeFileSync(
      bad,
      [
        'apiVersion: cilium.io/v1alpha1',
        'kind: TracingPolicyNamespaced',
        'metadata:',
        '  name: bad',
        'spec:',
        '  kprobes:',
        '  - call: security_file_permission',
        '    syscall: false',
        '    args:',
        '    - index: 0',
        '      type: file',
        '    selectors:',
        '    - matchArgs:',
        '      - index: 0',
        '        operator: Prefixx',
        '        values: ["/etc"]',
        '      matchActions:',
        '      - action: Sigkil',
        '    unknownField: 1',
        '',
      ].join('\n'),
    );
    try {
      await withAgent(t.dir, k, async (_a, _c, address) => {
        const compiled = await talon(['compile', '--check', bad]);
        const added = await talon(['tp', 'add', bad, '--server-address', address]);
        assert.is(compiled.code, 1);
        assert.is(added.code, 1);
        const diags = (s: string) => s.split('\n').filter((l) => l.startsWith(bad));
        assert.ok(diags(compiled.stderr).length >= 3, compiled.stderr);
        assert.equal(diags(added.stderr), diags(compiled.stderr));
        assert.match(added.stderr, /talon tracingpolicy add: 3 errors in 1 file/);
        assert.is(k.loaded.length, 0, 'nothing loaded');
      });
    } finally {
      t.remove();
    }
  });

  test('state dir and token files are private', async () => {
    const t = tempDir('talon-agent-');
    const k = new FakeKernel();
    let agent: Agent | null = null;
    try {
      agent = await Agent.start({ stateDir: join(t.dir, 'state'), serverAddress: '127.0.0.1:0', kernel: k, log: () => undefined });
      assert.is(statSync(join(t.dir, 'state')).mode & 0o777, 0o700);
      assert.is(statSync(join(t.dir, 'state', 'token')).mode & 0o777, 0o600);
      const token = readFileSync(join(t.dir, 'state', 'token'), 'utf8').trim();
      assert.is(token, agent.apiToken);
      const refused = await talon(['pod', 'list', '--server-address', agent.serverAddress], { env: { TALON_TOKEN: '', TALON_STATE_DIR: '/nonexistent' } });
      assert.is(refused.code, 1);
      assert.match(refused.stderr, /HTTP 401/);
      const ok = await talon(['pod', 'list', '--server-address', agent.serverAddress], { env: { TALON_STATE_DIR: join(t.dir, 'state') } });
      assert.is(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /^NAMESPACE\s+NAME\s+LABELS/);
    } finally {
      await agent?.stop();
      t.remove();
    }
  });
}

test.run();
