// One agent per host resource: a second agent on the same state dir, the same cgroup parent or
// the same socket refuses at once, naming the holder, before it loads anything (the count of
// tln_ programs does not move); a crashed agent's lock is taken over. Real kernel; root only.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, writeFileSync } from 'node:fs';
import { pinDirFor, removePins } from '../src/kernel/pins.js';
import { join } from 'node:path';
import {
  agentStatus,
  fileReadPolicy,
  skipUnlessRoot,
  spawnAgent,
  talon,
  talonBackground,
  talonCgroupLeftovers,
  tempDir,
  terminate,
  tlnPrograms,
  useTestCgroupParent,
  waitFor,
  cidrPolicy,
} from './helpers/agent.js';

const parent = useTestCgroupParent();
const reason = skipUnlessRoot('two agents');
const test = suite('fault-agents');

const t = tempDir('talon-two-');
const A = ['--server-address', `unix://${join(t.dir, 'a.sock')}`];
const stateA = join(t.dir, 'state-a');
let first: ReturnType<typeof talonBackground> | null = null;

/** starts a second agent that must refuse; its exit code, stderr and how long it took */
async function refused(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; err: string; ms: number }> {
  const t0 = Date.now();
  const b = talonBackground(['agent', ...args], env);
  const code = await b.exited;
  return { code, err: b.err(), ms: Date.now() - t0 };
}

if (reason) {
  test.skip('two agents');
} else {
  test.before(async () => {
    const dir = join(t.dir, 'policies');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    // a policy to load: a second agent that got as far as loading would add programs
    writeFileSync(join(dir, 'p.yaml'), fileReadPolicy({ name: 'two', namespace: `two-${process.pid}`, prefix: join(t.dir, 'nothing-'), app: 'none' }));
    first = await spawnAgent(['--state-dir', stateA, '--policy-dir', dir, ...A]);
  });
  test.after(async () => {
    if (first) await terminate(first);
    // an agent that died (a failed test) left its pinned links: they would outlive the test
    removePins(pinDirFor(stateA));
    t.remove();
    assert.equal(talonCgroupLeftovers(), []);
  });

  test('the same state dir, the same cgroup parent, the same socket: refused at once, naming the holder, nothing loaded', async () => {
    const pid = (await agentStatus(A)).pid as number;
    const progs = tlnPrograms().length;
    const dir = join(t.dir, 'policies');
    const same = await refused(['--state-dir', stateA, '--policy-dir', dir, '--server-address', `unix://${join(t.dir, 'b.sock')}`], {
      TALON_CGROUP_PARENT: `${parent}-b`,
    });
    assert.is.not(same.code, 0, same.err);
    assert.match(same.err, new RegExp(`another talon agent \\(pid ${pid}\\) is running with state dir ${stateA}`));
    const cg = await refused(['--state-dir', join(t.dir, 'state-b'), '--policy-dir', dir, '--server-address', `unix://${join(t.dir, 'b.sock')}`]);
    assert.is.not(cg.code, 0);
    assert.match(cg.err, new RegExp(`another talon agent \\(pid ${pid}\\) is running with cgroup parent .*/${parent}\\b`));
    const sock = await refused(['--state-dir', join(t.dir, 'state-c'), '--policy-dir', dir, ...A], { TALON_CGROUP_PARENT: `${parent}-c` });
    assert.is.not(sock.code, 0);
    assert.match(sock.err, /is in use \(is another talon agent running\?\)/);
    for (const r of [same, cg, sock]) {
      assert.not.match(r.err, /internal error|ready:/);
      assert.ok(r.ms < 10_000, `refused after ${r.ms} ms`);
    }
    assert.is(tlnPrograms().length, progs, 'the refused agents loaded no program');
    // the first agent is untouched
    assert.is((await agentStatus(A)).pid, pid);
  });

  test('API inputs as strict as the CLI: a numeric container name, non-string labels are refused and pod list keeps working', async () => {
    const { ApiClient } = await import('../src/api/client.js');
    const c = await ApiClient.connect({ address: A[1] });
    try {
      const ns = `api-${process.pid}`;
      for (const params of [
        { namespace: ns, name: 'p1', container: { name: 123 } },
        { namespace: ns, name: 'p1', container: { name: 'ok', image: 'has space' } },
        { namespace: ns, name: 'p1', container: 'c' },
        { namespace: ns, name: 'p1', labels: ['a'] },
        { namespace: ns, name: 'p1', labels: { app: 7 } },
        { namespace: 7, name: 'p1' },
      ]) {
        await c.call('pod.add', params).then(
          () => assert.unreachable(`accepted ${JSON.stringify(params)}`),
          (e: Error) => assert.match(e.message, /invalid|expected|must/),
        );
      }
      const r = await talon(['pod', 'list', ...A]);
      assert.is(r.code, 0, r.stderr);
      assert.not.match(r.stdout, /p1/);
    } finally {
      c.close();
    }
  });

  test('a 12,000-CIDR tp add compiles off the API thread: tp list from another client answers before it finishes', async () => {
    const { ApiClient } = await import('../src/api/client.js');
    const ns = `two-${process.pid}`;
    const f = join(t.dir, 'big-cidrs.yaml');
    writeFileSync(f, cidrPolicy(12000, 'big-cidrs'));
    const c = await ApiClient.connect({ address: A[1] });
    try {
      const t0 = Date.now();
      let addDone = 0;
      const add = talon(['tp', 'add', f, '-n', ns, ...A]).then((r) => {
        addDone = Date.now();
        return r;
      });
      // the add is under way (compiling in the worker, or loading the result) after 800 ms
      await new Promise((r) => setTimeout(r, 800));
      const list = await c.call<{ policies: { name: string }[] }>('policy.list', {});
      const listDone = Date.now();
      const r = await add;
      assert.is(r.code, 0, r.stderr);
      assert.ok(listDone < addDone, `tp list answered at ${listDone - t0} ms, the add finished at ${addDone - t0} ms`);
      // how long the list takes, idle and during the add: node dist/bench/run.js api
      // (whether it lists big-cidrs depends on the machine: still compiling, or already loading)
      assert.ok(Array.isArray(list.policies));
      const d = await talon(['tp', 'delete', 'big-cidrs', '-n', ns, ...A]);
      assert.is(d.code, 0, d.stderr);
    } finally {
      c.close();
    }
  });

  test('a compile over the memory budget of the agent is refused with the budget named; the agent goes on', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(t.dir, 'budget'));
    const B = ['--server-address', `unix://${join(t.dir, 'budget', 'talon.sock')}`];
    const env = { TALON_CGROUP_PARENT: `${parent}-m` };
    const b = talonBackground(['agent', '--state-dir', join(t.dir, 'state-m'), '--policy-compile-memory', '16', ...B], env);
    try {
      assert.ok(await waitFor(() => /ready:/.test(b.err()), 30_000, 50), b.err());
      const f = join(t.dir, 'big.yaml');
      writeFileSync(f, cidrPolicy(12000));
      let r = await talon(['tp', 'add', f, ...B], { env });
      assert.is(r.code, 1, r.stderr);
      assert.match(r.stderr, /big\.yaml:1:1: .*policy too large to compile: the input needs more than 16 MiB of policy-core memory .*--policy-compile-memory/);
      assert.not.match(r.stderr, /internal error/);
      writeFileSync(f, cidrPolicy(10));
      r = await talon(['tp', 'add', f, ...B], { env });
      assert.is(r.code, 0, r.stderr);
      r = await talon(['tp', 'delete', 'many-cidrs', ...B], { env });
      assert.is(r.code, 0, r.stderr);
    } finally {
      await terminate(b);
    }
  });

  test('a crashed agent leaves a stale lock that the next agent takes over', async () => {
    first!.child.kill('SIGKILL');
    await first!.exited;
    first = await spawnAgent(['--state-dir', stateA, ...A]);
    const r = await talon(['status', ...A]);
    assert.is(r.code, 0, r.stderr);
  });

  test('an agent whose log reader goes away (EPIPE on stderr) goes on serving and stops cleanly', async () => {
    // the reading end of the agent's stderr closed, as when the shell or test that started it died
    first!.child.stderr!.destroy();
    const f = join(t.dir, 'epipe.yaml');
    writeFileSync(f, fileReadPolicy({ name: 'epipe', namespace: `two-${process.pid}`, prefix: join(t.dir, 'nothing-'), app: 'none' }));
    // each add and delete logs a line to the closed stderr
    for (let i = 0; i < 3; i++) {
      assert.is((await talon(['tp', 'add', f, ...A])).code, 0);
      assert.is((await talon(['tp', 'delete', 'epipe', '-n', `two-${process.pid}`, ...A])).code, 0);
    }
    const r = await talon(['status', ...A]);
    assert.is(r.code, 0, `still serving: ${r.stderr}`);
    assert.is(await terminate(first!), 0, 'a clean stop');
    first = null;
    assert.not.ok(existsSync(pinDirFor(stateA)), 'its pins removed');
  });
}

test.run();
