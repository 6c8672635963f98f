// No silent loss: a getevents subscriber that stops reading (SIGSTOP) during a burst of events
// loses some, and is told: Tetragon's rate_limit_info lines in its JSON output, the totals on
// stderr at exit; the agent counts them per subscriber and by where (status, tp list -o json,
// metrics), and every event the agent matched for it is either received or counted lost.
// Real kernel; the policy only posts events (no action), for reads of this test's own file by
// this test's pod. Root only; skipped otherwise.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
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
  useTestCgroupParent,
  waitFor,
  sleep,
} from './helpers/agent.js';

useTestCgroupParent();
const reason = skipUnlessRoot('event loss accounting');
const test = suite('fault-loss');

const NS = `loss-${process.pid}`;
const t = tempDir('talon-loss-');
const A = ['--server-address', `unix://${join(t.dir, 'talon.sock')}`];
const READS = 60000;
let agent: ReturnType<typeof talonBackground> | null = null;

type Json = Record<string, any>;

if (reason) {
  test.skip('event loss accounting');
} else {
  test.before(async () => {
    agent = await spawnAgent(['--state-dir', join(t.dir, 'state'), ...A]);
    let r = await talon(['pod', 'add', `${NS}/burst`, '--label', 'app=burst', ...A]);
    assert.is(r.code, 0, r.stderr);
    const f = join(t.dir, 'p.yaml');
    writeFileSync(f, fileReadPolicy({ name: 'burst', namespace: NS, prefix: join(t.dir, 'burst-'), app: 'burst' }));
    r = await talon(['tp', 'add', f, ...A]);
    assert.is(r.code, 0, r.stderr);
    writeFileSync(join(t.dir, 'burst-file'), 'x'.repeat(READS));
  });
  test.after(async () => {
    if (agent) {
      await talon(['pod', 'delete', `${NS}/burst`, ...A]).catch(() => undefined);
      await terminate(agent);
    }
    t.remove();
    assert.equal(talonCgroupLeftovers(), []);
  });

  test('a subscriber that stops reading during a burst is told how many events it missed; nothing is unaccounted', async () => {
    const before = await agentStatus(A);
    const g = talonBackground(['getevents', '-o', 'json', '--pods', 'burst', ...A]);
    await waitFor(async () => (await agentStatus(A)).events.subscribers > before.events.subscribers, 10_000, 50);
    g.child.kill('SIGSTOP');
    try {
      // one read() per byte: READS events in a burst
      const r = await talon(['exec', '-n', NS, 'burst', ...A, '--', 'dd', `if=${join(t.dir, 'burst-file')}`, 'of=/dev/null', 'bs=1']);
      assert.is(r.code, 0, r.stderr);
      // the agent has judged every record of the burst for this subscriber: sent or lost
      let mine: Json | undefined;
      await waitFor(
        async () => {
          const s = await agentStatus(A);
          mine = (s.events.subscriberCounts as Json[]).at(-1);
          await sleep(300);
          const again = ((await agentStatus(A)).events.subscriberCounts as Json[]).at(-1);
          return mine !== undefined && again !== undefined && again.sent + again.lost === mine.sent + mine.lost && mine.sent + mine.lost > 0;
        },
        30_000,
        100,
      );
      const status = await agentStatus(A);
      mine = (status.events.subscriberCounts as Json[]).at(-1)!;
      assert.ok(mine.lost > 0, `the stopped subscriber lost events: ${JSON.stringify(mine)}`);
      assert.ok(status.events.losses.subscribers >= mine.lost);
      assert.equal(Object.keys(status.events.losses).sort(), ['queue', 'ringbuf', 'subscribers']);
      const list = JSON.parse((await talon(['tp', 'list', '-o', 'json', ...A])).stdout);
      assert.ok(list.events_lost.subscribers >= status.events.losses.subscribers, "tp list -o json counts the subscribers' losses");

      g.child.kill('SIGCONT');
      // it reads what was buffered for it, then the loss notice; then it is stopped
      await waitFor(() => g.out().includes('rate_limit_info'), 30_000, 100);
      for (let last = -1; g.out().length !== last;) {
        last = g.out().length;
        await sleep(500);
      }
      // the agent's counts once everything of the burst has arrived, before the subscription ends
      const final = ((await agentStatus(A)).events.subscriberCounts as Json[]).find((c) => c.id === mine!.id)!;
      g.child.kill('SIGINT');
      assert.is(await g.exited, 0, g.err());
      const lines = g
        .out()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Json);
      const events = lines.filter((l) => !l.rate_limit_info);
      const told = lines.filter((l) => l.rate_limit_info).reduce((n, l) => n + Number(l.rate_limit_info.number_of_dropped_process_events), 0);
      assert.is(told, final.lost, 'the subscriber was told of every lost event');
      assert.is(events.length, final.sent, 'every event not lost arrived');
      assert.match(
        g.err(),
        new RegExp(
          `talon getevents: ${events.length} events received; lost: ${final.lost} by this subscriber \\(it fell behind\\), \\d+ by the kernel ring buffer meanwhile`,
        ),
      );
      console.log(
        `  burst of ${READS} reads: subscriber got ${events.length}, lost ${final.lost} (told), kernel ring buffer lost ${status.events.losses.ringbuf}`,
      );
    } catch (e) {
      console.log(`agent stderr:\n${agent?.err().slice(-3000)}\ngetevents stderr:\n${g.err().slice(-2000)}`);
      throw e;
    } finally {
      g.child.kill('SIGCONT');
      g.child.kill('SIGKILL');
    }
  });
}

test.run();
