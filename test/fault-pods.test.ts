// A pod keeps its processes: every way out the suite tries (moving to another cgroup at several
// paths, remounting or mounting cgroupfs, a child cgroup, unshare -C, a user namespace, setns back
// to the host's namespaces, double fork, setsid, talking to the agent) still gets the pod's
// `cat /etc/shadow` killed (exit 137, nothing printed). Real kernel and agent; the enforcing policy
// is a namespaced one scoped to this run's own pod. Root only; skipped otherwise.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cgroup2Root } from '../src/pods/cgroup.js';
import {
  fileReadPolicy,
  skipUnlessRoot,
  spawnAgent,
  talon,
  talonBackground,
  talonCgroupLeftovers,
  tempDir,
  terminate,
  useTestCgroupParent,
} from './helpers/agent.js';

const parent = useTestCgroupParent();
const reason = skipUnlessRoot('pod escapes in the kernel');
const test = suite('fault-pods');

const NS = `esc-${process.pid}`;
const t = tempDir('talon-escape-');
const sock = join(t.dir, 'talon.sock');
const A = ['--server-address', `unix://${sock}`];
let agent: ReturnType<typeof talonBackground> | null = null;

const root = cgroup2Root();
const podPath = join(root, parent, 'pods', NS, 'victim');
const talonBin = join(process.cwd(), 'bin', 'talon.js');

/** runs `script; cat /etc/shadow` in the pod; asserts the read was killed and printed nothing */
async function escapes(what: string, script: string): Promise<void> {
  const r = await talon(['exec', '-n', NS, 'victim', ...A, '--', '/bin/sh', '-c', `${script}\ncat /etc/shadow`]);
  assert.is(r.code, 137, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.not.match(r.stdout, /^root:/m, `${what}: /etc/shadow was printed`);
}

if (reason) {
  test.skip('pod escapes in the kernel');
} else {
  test.before(async () => {
    agent = await spawnAgent(['--state-dir', join(t.dir, 'state'), ...A]);
    let r = await talon(['pod', 'add', `${NS}/victim`, '--label', 'app=victim', ...A]);
    assert.is(r.code, 0, r.stderr);
    const f = join(t.dir, 'shadow.yaml');
    writeFileSync(f, fileReadPolicy({ name: 'no-shadow', namespace: NS, prefix: '/etc/shadow', app: 'victim', actions: '- action: Sigkill' }));
    r = await talon(['tp', 'add', f, ...A]);
    assert.is(r.code, 0, r.stderr);
  });
  test.after(async () => {
    if (agent) {
      await talon(['pod', 'delete', `${NS}/victim`, ...A]).catch(() => undefined);
      await talon(['tp', 'delete', `${NS}/no-shadow`, ...A]).catch(() => undefined);
      await terminate(agent);
    }
    t.remove();
    assert.equal(talonCgroupLeftovers(), []);
  });

  test('the pod is confined: its cgroup is the root of its view, cgroupfs read-only, no CAP_SYS_ADMIN, the agent hidden', async () => {
    const out = join(t.dir, 'view');
    const r = await talon([
      'exec',
      '-n',
      NS,
      'victim',
      ...A,
      '--',
      '/bin/sh',
      '-c',
      `{ cat /proc/self/cgroup; grep CapBnd /proc/self/status; touch ${root}/x 2>&1; ls ${sock} 2>&1; ls /proc | grep -c '^[0-9]'; } > ${out}`,
    ]);
    assert.is(r.code, 0, r.stderr);
    const view = readFileSync(out, 'utf8');
    assert.match(view, /^0::\/$/m);
    const bnd = BigInt('0x' + /CapBnd:\s*([0-9a-f]+)/.exec(view)![1]);
    assert.is(bnd & (1n << 21n), 0n, 'CAP_SYS_ADMIN (21) is not in the bounding set');
    assert.is(bnd & (1n << 39n), 0n, 'CAP_BPF (39) is not in the bounding set');
    assert.match(view, /Read-only file system/);
    assert.ok(Number(view.trim().split('\n').pop()) < 10, `the host's processes are hidden: ${view}`);
    // the read itself is killed without any escape attempt
    await escapes('no attempt', 'true');
  });

  test('moving to another cgroup at several paths', async () => {
    await escapes('the cgroup2 root', `echo $$ > ${root}/cgroup.procs`);
    await escapes('the talon parent', `echo $$ > ${join(root, parent)}/cgroup.procs`);
    await escapes('a sibling path', `echo $$ > ${podPath}/../cgroup.procs`);
    await escapes('/sys/fs/cgroup', 'echo $$ > /sys/fs/cgroup/cgroup.procs; echo $$ > /sys/fs/cgroup/unified/cgroup.procs');
    await escapes('a child cgroup', `mkdir ${root}/out && echo $$ > ${root}/out/cgroup.procs`);
  });

  test('remounting or mounting cgroupfs', async () => {
    await escapes('remount rw', `mount -o remount,rw ${root} && echo $$ > ${root}/cgroup.procs`);
    await escapes('a new cgroup2 mount', 'mount -t cgroup2 none /mnt && echo $$ > /mnt/cgroup.procs');
    await escapes('umount', `umount ${root} && umount ${root} && echo $$ > ${root}/cgroup.procs`);
  });

  test('namespaces: unshare -C, a new user namespace, setns to the host', async () => {
    await escapes('unshare -C', `unshare -C sh -c 'echo $$ > ${root}/cgroup.procs; cat /etc/shadow'`);
    await escapes('unshare -UrCm', `unshare -UrCm sh -c 'mount -t cgroup2 none /mnt && mkdir /mnt/x && echo $$ > /mnt/x/cgroup.procs'`);
    await escapes('nsenter to pid 1', 'nsenter -t 1 -a true; nsenter -t 1 -C -m sh -c "echo \\$\\$ > /sys/fs/cgroup/unified/cgroup.procs"');
  });

  test('double fork and setsid: the orphan is still in the pod', async () => {
    const out = join(t.dir, 'orphan');
    const r = await talon([
      'exec',
      '-n',
      NS,
      'victim',
      ...A,
      '--',
      '/bin/sh',
      '-c',
      `(setsid sh -c 'cat /etc/shadow > ${out}.txt; echo $? > ${out}.rc' &) ; (nohup sh -c 'sleep 0.1; cat /etc/shadow >> ${out}.txt' >/dev/null 2>&1 &); sleep 1`,
    ]);
    assert.is(r.code, 0, r.stderr);
    assert.ok(existsSync(`${out}.rc`));
    assert.is(readFileSync(`${out}.rc`, 'utf8').trim(), '137');
    assert.not.match(readFileSync(`${out}.txt`, 'utf8'), /root:/);
  });

  test('the agent is out of reach: its socket and token are covered', async () => {
    await escapes('tp delete', `node ${talonBin} tp delete ${NS}/no-shadow ${A.join(' ')}; cat ${join(t.dir, 'state', 'token')}`);
    const r = await talon(['tp', 'list', ...A]);
    assert.match(r.stdout, /no-shadow/);
  });
}

test.run();
