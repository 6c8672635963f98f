// Tetragon's own policies in the running kernel: every policy of the corpus
// (../shared/tetragon-corpus/policies, the CIDR placeholders filled with loopback
// ranges) is added to one isolated agent in monitor mode, 30 policies at a time
// (nothing is enforced: Sigkill, Override and Signal only count); a workload of
// ordinary commands runs in a test pod and on the host after each batch, and the
// actions are counted per policy.
// What the test asserts: a policy the agent accepts is loaded with its sensors,
// and a policy it refuses is refused for a reason of this kernel or of talon's
// coverage ("this kernel has no kprobes", "do not implement ... yet"), never
// because the kernel rejected a program talon chose to load (a verifier error,
// EINVAL, EPERM): what the plan promises, the kernel must take. The table of
// loads, sensors and event counts is printed for the README and the notes.
// Root only; skipped without the corpus.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isolatedAgent, skipUnlessRoot, talon, useTestCgroupParent } from './helpers/agent.js';
import { CORPUS_DIR as CORPUS, corpusPolicies, actionsPerPolicy, corpusWorkload, kernelRefusals, type ListedPolicy } from './helpers/corpus.js';

useTestCgroupParent();
const reason = skipUnlessRoot('the Tetragon corpus in the kernel') ?? (existsSync(CORPUS) ? null : `${CORPUS} is absent`);
if (reason && existsSync(CORPUS)) console.log(`  ${reason}`);
const test = suite('agent-corpus-load');

const NS = 'corpus';
const POD = 'corpus-pod';
const t = isolatedAgent('corpus', `${NS}/${POD}`);
const A = t.A;

const WORKLOAD = corpusWorkload(t.dir);
/** policies added at once: well under the 64 dispatch units of one agent */
const BATCH = 30;

if (reason) {
  test.skip('the Tetragon corpus in the kernel');
} else {
  test.after(async () => {
    await t.stop();
  });

  test('every corpus policy loads or is refused for a reason of this kernel; the workload gives events', async () => {
    await t.start();
    let r;
    const files = readdirSync(CORPUS).sort();
    const rows: { file: string; name: string; loaded: boolean; sensors: string; why: string }[] = [];
    const bugs: string[] = [];
    const count = new Map<string, number>();
    const { spawnSync } = await import('node:child_process');
    // in batches: one agent serves at most 64 dispatch units (a policy each, more for repeated hook
    // kinds), fewer than the corpus loads in the VMs; each batch gets the workload, then goes
    const all = corpusPolicies();
    for (let b = 0; b < all.length; b += BATCH) {
      const batch = all.slice(b, b + BATCH);
      for (const { file, name, text } of batch) {
        const path = join(t.dir, file);
        writeFileSync(path, text);
        r = await talon(['tp', 'add', path, '-n', NS, '--mode', 'monitor', ...A]);
        if (r.code === 0) {
          rows.push({ file, name, loaded: true, sensors: '', why: '' });
          continue;
        }
        const why = r.stderr.trim().split('\n').slice(-3).join(' ');
        // a policy that does not compile is the language issue's, not this one's
        if (/^\S+:\d+:\d+: /.test(r.stderr) && !/cannot load/.test(r.stderr)) continue;
        rows.push({ file, name, loaded: false, sensors: '', why });
      }
      r = await talon(['tp', 'list', '-o', 'json', ...A]);
      assert.is(r.code, 0, r.stderr);
      const listed = JSON.parse(r.stdout).policies as ListedPolicy[];
      // the kernel rejecting what the load plan chose is a bug; a refusal by the plan is a limit of this kernel
      bugs.push(...kernelRefusals(listed));
      for (const p of listed) {
        const row = rows.find((x) => x.loaded && x.name === p.name);
        if (!row) continue;
        row.sensors = (p.sensors ?? []).join(',');
        if (p.state !== 'enabled' && p.state !== 'TP_STATE_ENABLED') bugs.push(`${p.name}: added, then state ${p.state} ${p.error ?? ''}`);
      }

      // the workload, in the pod and on the host; its events counted by the agent (no subscriber:
      // one would feed the corpus' every-syscall policy with its own writes)
      const before = actionsPerPolicy(listed);
      await talon(['exec', POD, '-n', NS, ...A, '--', 'sh', '-c', WORKLOAD]);
      await talon(['exec', POD, '-n', NS, ...A, '--', 'sh', '-c', WORKLOAD]);
      spawnSync('sh', ['-c', WORKLOAD], { stdio: 'ignore' });
      r = await talon(['tp', 'list', '-o', 'json', ...A]);
      assert.is(r.code, 0, r.stderr);
      for (const [name, n] of actionsPerPolicy(JSON.parse(r.stdout).policies as ListedPolicy[])) count.set(name, n - (before.get(name) ?? 0));
      for (const p of listed) {
        // a cluster policy by its name; a namespaced one of the same name needs the namespace
        let d = await talon(['tp', 'delete', p.name, ...A]);
        if (d.code !== 0) d = await talon(['tp', 'delete', p.name, '-n', NS, ...A]);
        assert.is(d.code, 0, `tp delete ${p.name}: ${d.stderr}`);
      }
    }
    const loaded = rows.filter((x) => x.loaded);
    const withEvents = loaded.filter((x) => (count.get(x.name) ?? 0) > 0);
    console.log(
      `  corpus: ${rows.length} compile (of ${files.length}), ${loaded.length} load here (monitor mode), ${withEvents.length} of them gave events to the workload`,
    );
    for (const x of loaded) console.log(`    loaded  ${x.file}  [${x.sensors}]  ${count.get(x.name) ?? 0} events`);
    if (process.env.TALON_CORPUS_VERBOSE) for (const x of rows.filter((y) => !y.loaded)) console.log(`    refused ${x.file}: ${x.why.slice(0, 200)}`);
    assert.equal(bugs, [], 'refused by the kernel after the plan accepted them');
    assert.ok(loaded.length > 0);
    assert.ok(
      loaded.every((x) => x.sensors !== ''),
      'every loaded policy shows its sensors',
    );
    assert.ok(withEvents.length > 0, 'the workload gives events');
  });
}

test.run();
