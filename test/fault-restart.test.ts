// No enforcement gap across a crash or a restart of the agent: a pod reads /etc/shadow in a
// loop under the seed's file policy while its agent is killed (kill -9) and restarted, then
// stopped with --keep-sensors-on-exit (SIGTERM) and restarted. Every read must be killed (137,
// nothing printed), also while no agent runs; the restarted agent's programs replace the pinned
// ones (old pins gone), `tp delete` after a restart really unloads, and `talon agent --cleanup`
// leaves no tln_ program and no pin. Real kernel and agents; root only; skipped otherwise.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pinDirFor } from '../src/kernel/pins.js';
import {
  repoRoot,
  skipUnlessRoot,
  sleep,
  spawnAgent,
  talon,
  talonBackground,
  talonCgroupLeftovers,
  tempDir,
  terminate,
  tlnPrograms,
  tlnProgramsAfterStop,
  useTestCgroupParent,
  waitFor,
  type Background,
} from './helpers/agent.js';

useTestCgroupParent();
const SEED = resolve(repoRoot(), '../shared/seeds/policies/file_monitoring_enforce.yaml');
const reason = skipUnlessRoot('restart without a gap') ?? (existsSync(SEED) ? null : `${SEED} is absent`);
const test = suite('fault-restart');

const NS = `rst-${process.pid}`;
const t = tempDir('talon-restart-');
const state = join(t.dir, 'state');
const pins = pinDirFor(state);
const A = ['--server-address', `unix://${join(t.dir, 'talon.sock')}`];
const AGENT = ['--state-dir', state, '--keep-sensors-on-exit', ...A];
const out = join(t.dir, 'reads.txt');
const rcs = join(t.dir, 'reads.rc');
const stop = join(t.dir, 'stop');
let agent: Background | null = null;
let loop: Background | null = null;
/** the last test ends with a clean stop: nothing to tidy */
let finished = false;

/** the generations pinned for this state dir (one directory per agent run) */
const generations = (): string[] => (existsSync(pins) ? readdirSync(pins) : []);

/** the reads so far: [ms since epoch, exit code] per attempt */
function reads(): [number, number][] {
  if (!existsSync(rcs)) return [];
  return readFileSync(rcs, 'utf8')
    .split('\n')
    .filter((l) => /^\d+ \d+$/.test(l))
    .map((l) => l.split(' ').map(Number) as [number, number]);
}
const printed = (): number =>
  existsSync(out)
    ? readFileSync(out, 'utf8')
        .split('\n')
        .filter((l) => /^root:/.test(l)).length
    : 0;

/** waits until the loop made `n` more attempts */
async function more(n: number): Promise<void> {
  const start = reads().length;
  assert.ok(await waitFor(() => reads().length >= start + n, 20_000, 20), `the read loop stalled at ${reads().length}`);
}

if (reason) {
  test('restart without a gap', () => console.log(`  skipped: ${reason}`));
} else {
  test.before(async () => {
    agent = await spawnAgent(AGENT);
    let r = await talon(['pod', 'add', `${NS}/victim`, '--label', 'app=victim', ...A]);
    assert.is(r.code, 0, r.stderr);
    r = await talon(['tp', 'add', SEED, '-n', NS, ...A]);
    assert.is(r.code, 0, r.stderr);
  });

  test.after(async () => {
    // whatever happened: the loop ends, the pod goes, no agent and no pin stays
    writeFileSync(stop, '');
    if (loop) await Promise.race([loop.exited, sleep(5000)]);
    loop?.child.kill('SIGKILL');
    if (!agent && !finished) agent = await spawnAgent(AGENT).catch(() => null);
    if (agent) {
      await talon(['tp', 'delete', 'file-monitoring-filtered', '-n', NS, ...A]).catch(() => undefined);
      await talon(['pod', 'delete', `${NS}/victim`, ...A]).catch(() => undefined);
      await terminate(agent);
    }
    await talon(['agent', '--cleanup', '--state-dir', state]).catch(() => undefined);
    rmSync(pins, { recursive: true, force: true });
    t.remove();
    assert.equal(talonCgroupLeftovers(), []);
  });

  test('reads in a pod across kill -9 + restart and SIGTERM (--keep-sensors-on-exit) + restart: 0 unprotected', async () => {
    // the policy works before anything happens
    const first = await talon(['exec', '-n', NS, 'victim', ...A, '--', 'cat', '/etc/shadow']);
    assert.is(first.code, 137, first.stderr);
    // the pod cannot reach the pins (a root in the pod could unlink them)
    const rm = await talon(['exec', '-n', NS, 'victim', ...A, '--', '/bin/sh', '-c', 'rm -rf /sys/fs/bpf/talon; ls -A /sys/fs/bpf']);
    assert.is(rm.stdout.trim(), '', `the pod sees bpffs: ${rm.stdout}`);
    assert.is(generations().length, 1, 'the pins are intact');
    loop = talonBackground([
      'exec',
      '-n',
      NS,
      'victim',
      ...A,
      '--',
      '/bin/sh',
      '-c',
      `while [ ! -e ${stop} ]; do cat /etc/shadow >> ${out} 2>/dev/null; echo "$(date +%s%3N) $?" >> ${rcs}; done`,
    ]);
    await more(20);
    assert.is(generations().length, 1, 'one run, one generation of pins');

    // 1. kill -9: no agent for a second, the pinned programs keep killing
    agent!.child.kill('SIGKILL');
    await agent!.exited;
    const killedAt = Date.now();
    agent = null;
    await sleep(1000);
    const restartAt = Date.now();
    agent = await spawnAgent(AGENT);
    const readyAt = Date.now();
    assert.match(agent.err(), /took over from the pinned programs of an earlier agent/);
    const gens = generations();
    assert.is(gens.length, 1, `the old pins are gone after the hand-over: ${gens}`);
    assert.match(gens[0], new RegExp(`-${agent.child.pid}-`));
    await more(20);
    const crash = reads().filter(([ms]) => ms >= killedAt && ms < readyAt);
    assert.ok(crash.length >= 5, `reads while no agent ran: ${crash.length}`);

    // 2. SIGTERM with --keep-sensors-on-exit: stopped, still enforcing, then a new agent takes over
    assert.is(await terminate(agent), 0);
    assert.match(agent.err(), /the pinned programs keep enforcing/);
    const termAt = Date.now();
    agent = null;
    await sleep(1000);
    assert.is(generations().length, 1, 'the stopped agent left its pins');
    agent = await spawnAgent(AGENT);
    const ready2 = Date.now();
    assert.match(agent.err(), /took over from the pinned programs/);
    assert.is(generations().length, 1);
    await more(20);

    writeFileSync(stop, '');
    assert.is(await loop.exited, 0, loop.err());
    loop = null;
    const all = reads();
    const stopped = all.filter(([ms]) => ms >= termAt && ms < ready2);
    assert.ok(stopped.length >= 5, `reads while the agent was stopped: ${stopped.length}`);
    const unprotected = all.filter(([, rc]) => rc !== 137);
    assert.is(printed(), 0, 'no read printed /etc/shadow');
    assert.equal(unprotected, [], `every read was killed (${all.length} reads)`);
    console.log(
      `  restart window: ${all.length} reads, ${unprotected.length} unprotected; ${crash.length} while no agent ran after kill -9 (restart took ${readyAt - restartAt} ms), ${stopped.length} across SIGTERM + restart`,
    );
  });

  test('tp delete after a restart removes the policy from the kernel', async () => {
    const r = await talon(['tp', 'delete', 'file-monitoring-filtered', '-n', NS, ...A]);
    assert.is(r.code, 0, r.stderr);
    const read = await talon(['exec', '-n', NS, 'victim', ...A, '--', 'cat', '/etc/shadow']);
    assert.is(read.code, 0, `the deleted policy still enforces: ${read.code} ${read.stderr}`);
    assert.match(read.stdout, /^root:/m);
    const add = await talon(['tp', 'add', SEED, '-n', NS, ...A]);
    assert.is(add.code, 0, add.stderr);
  });

  test('pins of another talon version: loaded fresh beside them, then removed, said in the log', async () => {
    agent!.child.kill('SIGKILL');
    await agent!.exited;
    agent = null;
    const [g] = generations();
    // another version's generation: same layout of directories, another ABI hash
    renameSync(join(pins, g), join(pins, g.replace(/^[0-9a-f]+-/, '000000000000-')));
    agent = await spawnAgent(AGENT);
    assert.match(agent.err(), /pinned programs of another talon version \(ABI 000000000000, this one [0-9a-f]{12}/);
    assert.is(generations().length, 1);
    const read = await talon(['exec', '-n', NS, 'victim', ...A, '--', 'cat', '/etc/shadow']);
    assert.is(read.code, 137);
  });

  test('talon agent --cleanup: refused while the agent runs; after a crash it removes every pin and program', async () => {
    const busy = await talon(['agent', '--cleanup', '--state-dir', state]);
    assert.is(busy.code, 1);
    assert.match(busy.stderr, /another talon agent \(pid \d+\) is running with state dir/);
    assert.is(generations().length, 1, 'the refused cleanup removed nothing');
    await talon(['pod', 'delete', `${NS}/victim`, ...A]);
    agent!.child.kill('SIGKILL');
    await agent!.exited;
    agent = null;
    assert.ok(tlnPrograms().length > 0, 'the crash left the programs');
    const r = await talon(['agent', '--cleanup', '--state-dir', state]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /cleanup: \d+ pinned links removed/);
    assert.not.ok(existsSync(pins), 'the pin directory is gone');
    assert.equal(await tlnProgramsAfterStop(), [], 'tln_ programs left after the cleanup');
    // a clean start and stop afterwards leaves nothing either (no --keep-sensors-on-exit)
    agent = await spawnAgent(['--state-dir', state, ...A]);
    assert.is(await terminate(agent), 0);
    agent = null;
    assert.not.ok(existsSync(pins));
    assert.equal(await tlnProgramsAfterStop(), []);
    finished = true;
  });
}

test.run();
