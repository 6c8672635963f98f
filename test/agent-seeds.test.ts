// The seed's own policy files (../shared/seeds/policies), loaded unchanged
// through the CLI into the running kernel: only ${PODCIDR}/${SERVICECIDR} are
// filled in, with the loopback "cluster" (pods 127.10.0.0/16, services
// 127.96.0.0/12) and 127.200.0.1 as "outside". Runs as root when the seeds are
// beside the clone (they are, in CI); otherwise skipped with the reason.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { listen } from '../src/agent/quickstart.js';
import {
  jsonLines,
  repoRoot,
  skipUnlessRoot,
  spawnAgent,
  talon,
  talonBackground,
  tempDir,
  terminate,
  waitFor,
  sleep,
  useTestCgroupParent,
} from './helpers/agent.js';

useTestCgroupParent();
const SEEDS = resolve(repoRoot(), '../shared/seeds/policies');
const reason = skipUnlessRoot('seed policies in the kernel') ?? (existsSync(SEEDS) ? null : `${SEEDS} is absent`);
const test = suite('agent-seeds');

const t = tempDir('talon-seeds-');
const state = join(t.dir, 'state');
const A = ['--server-address', `unix://${join(t.dir, 'talon.sock')}`];
let agent: ReturnType<typeof talonBackground> | null = null;

/** the seed file with only the CIDR variables filled in, as envsubst would */
function seed(name: string): string {
  const text = readFileSync(join(SEEDS, name), 'utf8').split('${PODCIDR}').join('127.10.0.0/16').split('${SERVICECIDR}').join('127.96.0.0/12');
  const f = join(t.dir, name);
  writeFileSync(f, text);
  return f;
}

const HTTP = 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n';
const exec = (cmd: string, cwd?: string) => talon(['exec', 'xwing', ...A, '--', 'bash', '-c', cmd], { cwd });
const onHost = (cmd: string) => new Promise<number | null>((res) => spawn('bash', ['-c', cmd], { stdio: 'ignore' }).once('close', (code) => res(code)));

if (reason) {
  test('seed policies in the kernel', () => console.log(`  skipped: ${reason}`));
} else {
  test.before(async () => {
    agent = await spawnAgent(['--state-dir', state, ...A]);
    const r = await talon(['pod', 'add', 'default/xwing', '--label', 'app=xwing', ...A]);
    assert.is(r.code, 0, r.stderr);
  });

  test.after(async () => {
    if (agent) {
      await talon(['pod', 'delete', 'default/xwing', ...A]).catch(() => undefined);
      await terminate(agent);
    }
    t.remove();
  });

  test('file_monitoring_enforce.yaml: cat /etc/shadow in default/xwing dies with 137, echo foo >> bar; cat bar does not', async () => {
    const add = await talon(['tp', 'add', seed('file_monitoring_enforce.yaml'), '-n', 'default', ...A]);
    assert.is(add.code, 0, add.stderr);
    const killed = await exec('cat /etc/shadow');
    assert.is(killed.code, 137, `cat /etc/shadow: ${killed.stderr}`);
    const work = join(t.dir, 'work');
    mkdirSync(work, { recursive: true });
    const fine = await exec('echo foo >> bar; cat bar', work);
    assert.is(fine.code, 0, fine.stderr);
    assert.is(fine.stdout.trim(), 'foo');
    assert.is(await onHost('cat /etc/shadow > /dev/null'), 0, 'the same read on the host is untouched');
    const del = await talon(['tp', 'delete', 'file-monitoring-filtered', '-n', 'default', ...A]);
    assert.is(del.code, 0, del.stderr);
    assert.is((await exec('cat /etc/shadow > /dev/null')).code, 0, 'deleted: no longer enforced');
  });

  test('network_egress_cluster_enforce.yaml: a connect outside the cluster dies with 137 and sends nothing', async () => {
    const outside = await listen('127.200.0.1', 0, HTTP);
    const inside = await listen('127.10.0.2', 0, HTTP);
    const port = (l: Awaited<ReturnType<typeof listen>>) => (l.server.address() as { port: number }).port;
    try {
      const add = await talon(['tp', 'add', seed('network_egress_cluster_enforce.yaml'), '-n', 'default', ...A]);
      assert.is(add.code, 0, add.stderr);
      const out = await exec(`curl -s --max-time 5 --interface 127.10.0.5 http://127.200.0.1:${port(outside)}/`);
      assert.is(out.code, 137, `connect outside: ${out.stderr}`);
      assert.is(outside.accepted(), 0, 'the outside listener saw no connection');
      const inn = await exec(`curl -s --max-time 5 --interface 127.10.0.5 http://127.10.0.2:${port(inside)}/`);
      assert.is(inn.code, 0, `connect inside: ${inn.stderr}`);
      assert.ok(inside.accepted() >= 1);
      assert.is(await onHost(`curl -s --max-time 5 http://127.200.0.1:${port(outside)}/ > /dev/null`), 0, 'the host is untouched');
      assert.ok(outside.accepted() >= 1);
      const del = await talon(['tp', 'delete', 'enforce-network-activity-outside-cluster-cidr-range', '-n', 'default', ...A]);
      assert.is(del.code, 0, del.stderr);
    } finally {
      await outside.close();
      await inside.close();
    }
  });

  test('file_monitoring.yaml and network_egress_cluster.yaml (observe): load as monitor_only, kill nothing, post events', async () => {
    const listener = await listen('127.200.0.1', 0, HTTP);
    const port = (listener.server.address() as { port: number }).port;
    const ev = talonBackground(['getevents', '-o', 'json', '--pods', 'xwing', ...A]);
    try {
      for (const f of ['file_monitoring.yaml', 'network_egress_cluster.yaml']) {
        const add = await talon(['tp', 'add', seed(f), ...A]);
        assert.is(add.code, 0, `${f}: ${add.stderr}`);
      }
      await sleep(300); // the subscription is in place
      assert.is((await exec('cat /etc/shadow > /dev/null')).code, 0, 'observe only: not killed');
      assert.is((await exec(`curl -s --max-time 5 --interface 127.10.0.5 http://127.200.0.1:${port}/ > /dev/null`)).code, 0);
      assert.ok(listener.accepted() >= 1, 'observe only: the connect went through');
      // the kprobe event of each policy (the exec event of cat names /etc/shadow too, and may come first)
      const kprobes = () => jsonLines(ev.out()).filter((e) => e.process_kprobe);
      const of = (name: string) => kprobes().some((e) => e.process_kprobe.policy_name === name);
      const seen = await waitFor(() => of('file-monitoring-filtered') && of('monitor-network-activity-outside-cluster-cidr-range'), 10_000, 100);
      assert.ok(seen, `a kprobe event of each policy: ${ev.out().slice(0, 2000)}`);
      assert.ok(
        kprobes().some((e) => /"\/etc\/shadow"/.test(JSON.stringify(e)) && e.process_kprobe.policy_name === 'file-monitoring-filtered'),
        'the read of /etc/shadow',
      );
      assert.ok(
        kprobes().some((e) => /127\.200\.0\.1/.test(JSON.stringify(e))),
        'the connect to 127.200.0.1',
      );
      assert.ok(kprobes().every((e) => e.process_kprobe.action !== 'KPROBE_ACTION_SIGKILL'));
    } finally {
      ev.child.kill('SIGINT');
      await ev.exited;
      await listener.close();
    }
  });
  test('every tetra and kubectl exec command line of both seed documents, with talon typed for tetra', async () => {
    const docs = readdirSync(resolve(SEEDS, '..')).filter((f) => f.endsWith('.txt'));
    const lines = docs.flatMap((f) =>
      readFileSync(resolve(SEEDS, '..', f), 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => /^(tetra |kubectl exec |docker exec )/.test(l)),
    );
    // the command a Tetragon user types, as talon spells it: tetra -> talon, and the tetra
    // inside `kubectl exec ds/tetragon` / `docker exec tetragon-container` is run directly
    const talonArgv = (l: string): string[] => {
      const inner = /(?:-- |tetragon-container )tetra (.*)$/.exec(l);
      if (inner) return words(inner[1]);
      if (l.startsWith('tetra ')) return words(l.slice(6));
      return words(l.replace(/^kubectl /, ''));
    };
    const cmds = [...new Set(lines)].map(talonArgv);
    assert.equal(cmds, [
      ['getevents', '-o', 'compact', '--pods', 'xwing'],
      ['exec', '-ti', 'xwing', '--', 'bash', '-c', 'curl https://ebpf.io/applications/#tetragon'],
      ['exec', '-ti', 'xwing', '--', 'bash', '-c', 'curl -s -XPOST deathstar.default.svc.cluster.local/v1/request-landing'],
      ['getevents', '-o', 'compact'],
      ['exec', '-ti', 'xwing', '--', 'bash', '-c', 'cat /etc/shadow'],
      ['tracingpolicy', 'list'],
      ['tracingpolicy', 'add', '--mode', 'monitor', 'policy.yaml'],
      ['tp', 'set-mode', '--namespace', 'pizza', 'enforce-security', 'enforce'],
    ]);
    // clean slate: the policies of the tests above
    for (const p of JSON.parse((await talon(['tp', 'list', '-o', 'json', ...A])).stdout).policies ?? [])
      await talon(['tp', 'delete', p.name, ...(p.namespace ? ['-n', p.namespace] : []), ...A]);
    const outside = await listen('127.200.0.1', 0, HTTP);
    const inside = await listen('127.96.0.10', 0, HTTP);
    const port = (l: Awaited<ReturnType<typeof listen>>) => (l.server.address() as { port: number }).port;
    // the seed's names for outside and inside the cluster, on loopback (tests reach 127.0.0.0/8 only)
    const local = (argv: string[]) =>
      argv.map((a) =>
        a
          .replace('https://ebpf.io/applications/#tetragon', `--interface 127.10.0.5 http://127.200.0.1:${port(outside)}/`)
          .replace('deathstar.default.svc.cluster.local/v1/request-landing', `--interface 127.10.0.5 http://127.96.0.10:${port(inside)}/v1/request-landing`),
      );
    // the connection flags go before a `--` (after it, everything is the command's)
    const run = (argv: string[]) => {
      const a = local(argv);
      const end = a.indexOf('--');
      return talon(end < 0 ? [...a, ...A] : [...a.slice(0, end), ...A, ...a.slice(end)]);
    };
    const watchers = cmds.filter((c) => c[0] === 'getevents').map((c) => talonBackground([...c, '--color', 'never', ...A]));
    try {
      for (const f of ['file_monitoring_enforce.yaml', 'network_egress_cluster_enforce.yaml']) {
        const r = await talon(['tp', 'add', seed(f), ...A]);
        assert.is(r.code, 0, r.stderr);
      }
      await sleep(300);
      const code: Record<string, number> = {};
      for (const c of cmds.filter((x) => x[0] === 'exec')) code[c[c.length - 1]] = (await run(c)).code;
      assert.equal(code, {
        'curl https://ebpf.io/applications/#tetragon': 137,
        'curl -s -XPOST deathstar.default.svc.cluster.local/v1/request-landing': 0,
        'cat /etc/shadow': 137,
      });
      assert.is(outside.accepted(), 0, 'the blocked connect sent nothing');
      assert.ok(inside.accepted() >= 1, 'the connect inside the cluster went through');
      // both getevents print the seed's lines (as compact)
      for (const w of watchers) {
        const ok = await waitFor(
          () =>
            /💥 exit {4}default\/xwing \/usr\/bin\/cat \/etc\/shadow SIGKILL/.test(w.out()) && /🔌 connect default\/xwing \/usr\/bin\/curl tcp /.test(w.out()),
          10_000,
          100,
        );
        assert.ok(ok, w.out());
        assert.match(w.out(), /🚀 process default\/xwing \/usr\/bin\/bash -c "cat \/etc\/shadow"|🚀 process default\/xwing \/bin\/bash -c "cat \/etc\/shadow"/);
      }
      // the mode document: policy.yaml is a namespaced policy enforce-security in pizza, loaded in monitor mode, then set to enforce
      const policyYaml = join(t.dir, 'policy.yaml');
      writeFileSync(
        policyYaml,
        readFileSync(seed('file_monitoring_enforce.yaml'), 'utf8')
          .replace(/^kind: .*$/m, 'kind: TracingPolicyNamespaced')
          .replace(/^(\s*)name: .*$/m, '$1name: "enforce-security"\n$1namespace: "pizza"'),
      );
      const add = await talon([...cmds.find((c) => c[1] === 'add')!.slice(0, -1), policyYaml, ...A]);
      assert.is(add.code, 0, add.stderr);
      let list = await run(cmds.find((c) => c[0] === 'tracingpolicy' && c[1] === 'list')!);
      assert.is(list.code, 0, list.stderr);
      assert.match(list.stdout, /^ID +NAME +DOMAIN +STATE +FILTERID +NAMESPACE +SENSORS +KERNELMEMORY +MODE +NPOST +NENFORCE +NMONITOR\n/);
      assert.match(list.stdout, /\n\d+ +enforce-security +grpc +enabled +\d+ +pizza +\S+ +[\d.]+ [kMG]?B +monitor +/);
      const set = await run(cmds.find((c) => c[1] === 'set-mode')!);
      assert.is(set.code, 0, set.stderr);
      list = await run(['tracingpolicy', 'list']);
      assert.match(list.stdout, /\n\d+ +enforce-security +grpc +enabled +\d+ +pizza +\S+ +[\d.]+ [kMG]?B +enforce +/);
    } finally {
      for (const w of watchers) w.child.kill('SIGINT');
      await Promise.all(watchers.map((w) => w.exited));
      await outside.close();
      await inside.close();
    }
  });
}

/** shell words: spaces split, single quotes group (all the seed lines use) */
function words(s: string): string[] {
  return [...s.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

test.run();
