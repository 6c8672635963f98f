// `talon dry-run`: the seed scenarios, modes, images, malformed input, stdin.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, runCli, talon, verdicts } from './helpers/cli.js';
import { listDupsPolicy, listIdsPolicy } from './helpers/core.js';

const SEEDS = path.resolve(ROOT, '../shared/seeds/policies');
const EV = 'examples/events';
const tmp = mkdtempSync(path.join(tmpdir(), 'talon-cli-dryrun-'));

test.after(() => rmSync(tmp, { recursive: true, force: true }));

/** envsubst, as the Tetragon quickstart does before applying the egress policies */
function envsubst(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}/g, (m, k: string) => vars[k] ?? m);
}

function kinds(stdout: string): string[] {
  return verdicts(stdout).map((v) => v.verdict);
}

test('seed file policy: cat /etc/shadow in default/xwing is killed', async () => {
  const seed = path.join(SEEDS, 'file_monitoring_enforce.yaml');
  if (!existsSync(seed)) {
    console.log(`  (skipped: ${seed} not present)`);
    return;
  }
  const r = await runCli(['dry-run', '-p', seed, '-e', `${EV}/cat-shadow.jsonl`]);
  assert.is(r.code, 0, r.stderr);
  assert.equal(kinds(r.stdout), ['none', 'none', 'kill', 'kill', 'kill', 'none']);
  assert.equal(verdicts(r.stdout)[2], {
    index: 2,
    verdict: 'kill',
    matches: [{ policy: 'file-monitoring-filtered', namespace: 'default', selector: 0, actions: ['Sigkill'], mode: 'enforce', enforced: true }],
  });
  const bar = await runCli(['dry-run', '-p', seed, '-e', `${EV}/echo-bar.jsonl`]);
  assert.equal(kinds(bar.stdout), Array(8).fill('none'));
});

test('examples: cat /etc/shadow -> kill, echo foo >> bar; cat bar -> none', async () => {
  const r = await runCli(['dry-run', '-p', 'examples/file-monitoring-enforce.yaml', '-e', `${EV}/cat-shadow.jsonl`]);
  assert.is(r.code, 0, r.stderr);
  assert.equal(kinds(r.stdout), ['none', 'none', 'kill', 'kill', 'kill', 'none']);
  assert.is(r.stderr, 'talon dry-run: 6 events: 3 kill, 0 override, 0 signal, 0 post, 3 none\n');
  const bar = await runCli(['dry-run', '-p', 'examples/file-monitoring-enforce.yaml', '-e', `${EV}/echo-bar.jsonl`]);
  assert.equal(kinds(bar.stdout), Array(8).fill('none'));
});

test('seed egress enforce policy with the quickstart CIDRs: outside -> kill, in-cluster -> none', async () => {
  const seed = path.join(SEEDS, 'network_egress_cluster_enforce.yaml');
  if (!existsSync(seed)) {
    console.log(`  (skipped: ${seed} not present)`);
    return;
  }
  const policy = path.join(tmp, 'egress.yaml');
  writeFileSync(policy, envsubst(readFileSync(seed, 'utf8'), { PODCIDR: '10.44.0.0/14', SERVICECIDR: '10.48.0.0/20' }));
  const r = await runCli(['dry-run', '-p', policy, '-e', 'test/fixtures/events/egress-gke.jsonl']);
  assert.is(r.code, 0, r.stderr);
  const v = verdicts(r.stdout);
  // line 2: curl -> 104.198.14.52:443; line 6: curl -> 10.44.3.4:80
  assert.is(v[2].verdict, 'kill');
  assert.equal(v[2].matches[0].policy, 'enforce-network-activity-outside-cluster-cidr-range');
  assert.is(v[6].verdict, 'none');
  assert.equal(kinds(r.stdout).filter((k) => k === 'kill').length, 1);
});

test('example egress policies on the loopback cluster', async () => {
  for (const p of ['egress-cluster-enforce', 'egress-xwing-enforce']) {
    const r = await runCli(['dry-run', '-p', `examples/${p}.yaml`, '-e', `${EV}/curl-egress.jsonl`]);
    assert.is(r.code, 0, r.stderr);
    assert.equal(kinds(r.stdout), ['none', 'none', 'kill', 'none', 'none', 'none', 'none', 'none'], p);
  }
  // the observe variant posts the same connection instead
  const o = await runCli(['dry-run', '-p', 'examples/egress-cluster.yaml', '-e', `${EV}/curl-egress.jsonl`]);
  assert.equal(verdicts(o.stdout)[2].matches[0], {
    policy: 'egress-cluster',
    namespace: null,
    selector: 0,
    actions: ['Post'],
    mode: 'monitor_only',
    enforced: false,
  });
  assert.is(verdicts(o.stdout)[2].verdict, 'post');
});

test('scoping: a namespaced policy leaves host processes alone; a cluster policy sees them', async () => {
  const ns = await runCli(['dry-run', '-p', 'examples/file-monitoring-enforce.yaml', '-e', `${EV}/host-cat-shadow.jsonl`]);
  assert.equal(kinds(ns.stdout), ['none', 'none', 'none']);
  const cluster = await runCli(['dry-run', '-p', 'examples/file-monitoring.yaml', '-e', `${EV}/host-cat-shadow.jsonl`]);
  assert.equal(kinds(cluster.stdout), ['none', 'post', 'none']);
  // a pod in another namespace than -n names
  const other = await runCli(['dry-run', '-n', 'empire', '-p', path.join(SEEDS, 'file_monitoring_enforce.yaml'), '-e', `${EV}/cat-shadow.jsonl`]);
  if (existsSync(path.join(SEEDS, 'file_monitoring_enforce.yaml'))) assert.equal(kinds(other.stdout), Array(6).fill('none'));
});

test('list:NAME of syscalls in InMap: the x86_64 ids of the list (dup 32, dup2 33), not others; an unknown name is an error', async () => {
  const pol = (values: string[]) => listIdsPolicy('list-ids', values);
  const f = path.join(tmp, 'list-ids.yaml');
  writeFileSync(f, pol(['sys_dup', '__x64_sys_dup2']));
  const ev = path.join(tmp, 'raw-ids.jsonl');
  const line = (id: number) =>
    JSON.stringify({
      process_tracepoint: {
        process: { binary: '/usr/bin/python3', pid: 10, exec_id: 'x' },
        subsys: 'raw_syscalls',
        event: 'sys_enter',
        args: [{ size_arg: String(id) }],
      },
      node_name: 'n',
      time: '2026-12-02T00:00:00Z',
    });
  writeFileSync(ev, [32, 33, 292].map(line).join('\n') + '\n');
  const r = await runCli(['dry-run', '-p', f, '-e', ev]);
  assert.is(r.code, 0, r.stderr);
  assert.equal(kinds(r.stdout), ['post', 'post', 'none']);
  writeFileSync(f, pol(['sys_dup', 'sys_nosuch']));
  const bad = await runCli(['compile', '--check', f]);
  assert.is(bad.code, 1);
  assert.match(
    bad.stderr,
    /list-ids\.yaml:\d+:\d+: spec\.tracepoints\[0\]\.selectors\[0\]\.matchArgs\[0\]\.values\[0\]: list "ids": "sys_nosuch" is not an x86_64 syscall/,
  );
});

test('a kprobe on list:NAME decides the events of every function of the list, whatever its arch prefix, and no other', async () => {
  const f = path.join(tmp, 'list-dups.yaml');
  writeFileSync(f, listDupsPolicy());
  const ev = path.join(tmp, 'list-dups.jsonl');
  const line = (fn: string) =>
    JSON.stringify({
      process_kprobe: { process: { binary: '/usr/bin/python3', pid: 10, exec_id: 'x' }, function_name: fn, args: [{ int_arg: -7 }] },
      node_name: 'n',
      time: '2026-12-02T00:00:00Z',
    });
  writeFileSync(ev, ['__x64_sys_dup2', '__x64_sys_dup', '__x64_sys_dup3', 'sys_dup'].map(line).join('\n') + '\n');
  const r = await runCli(['dry-run', '-p', f, '-e', ev]);
  assert.is(r.code, 0, r.stderr);
  assert.equal(kinds(r.stdout), ['kill', 'kill', 'none', 'kill']);
});

test('--mode monitor turns kill into post, not enforced', async () => {
  const r = await runCli(['dry-run', '--mode', 'monitor', '-p', 'examples/file-monitoring-enforce.yaml', '-e', `${EV}/cat-shadow.jsonl`]);
  assert.is(r.code, 0, r.stderr);
  const v = verdicts(r.stdout);
  assert.equal(kinds(r.stdout), ['none', 'none', 'post', 'post', 'post', 'none']);
  assert.equal(v[2].matches, [
    { policy: 'file-monitoring-enforce', namespace: 'default', selector: 0, actions: ['Sigkill'], mode: 'monitor', enforced: false },
  ]);
});

test('images: compiled policies, alone or with YAML, and --mode on an image', async () => {
  const img = path.join(tmp, 'file.img');
  assert.is((await runCli(['compile', 'examples/file-monitoring-enforce.yaml', '-o', img])).code, 0);
  const r = await runCli(['dry-run', '-p', img, '-e', `${EV}/cat-shadow.jsonl`]);
  assert.is(r.code, 0, r.stderr);
  assert.equal(kinds(r.stdout), ['none', 'none', 'kill', 'kill', 'kill', 'none']);
  // an image and a YAML file together: every policy judges every event
  const both = await runCli(['dry-run', '-p', img, '-p', 'examples/file-monitoring.yaml', '-e', `${EV}/cat-shadow.jsonl`]);
  const v = verdicts(both.stdout)[2];
  assert.is(v.verdict, 'kill');
  assert.equal(v.matches.map((m) => m.policy).sort(), ['file-monitoring', 'file-monitoring-enforce']);
  // further arguments are policies too
  const positional = await runCli(['dry-run', '-e', `${EV}/cat-shadow.jsonl`, '-p', img, 'examples/file-monitoring.yaml']);
  assert.is(positional.stdout, both.stdout);
  const monitor = await runCli(['dry-run', '-m', 'monitor', '-p', img, '-e', `${EV}/cat-shadow.jsonl`]);
  assert.equal(kinds(monitor.stdout), ['none', 'none', 'post', 'post', 'post', 'none']);
});

test('malformed lines are reported with their number and skipped; blank lines too', async () => {
  const lines = readFileSync(path.join(ROOT, EV, 'cat-shadow.jsonl'), 'utf8')
    .trim()
    .split('\n');
  const input = [lines[0], '', lines[1], '{"process_kprobe": {', lines[2], 'not json at all', '   ', lines[5]].join('\n') + '\n';
  const file = path.join(tmp, 'mixed.jsonl');
  writeFileSync(file, input);
  const r = await runCli(['dry-run', '-p', 'examples/file-monitoring-enforce.yaml', '-e', file]);
  assert.is(r.code, 0);
  assert.equal(
    verdicts(r.stdout).map((v) => [v.index, v.verdict]),
    [
      [0, 'none'],
      [2, 'none'],
      [4, 'kill'],
      [7, 'none'],
    ],
  );
  const err = r.stderr.split('\n');
  assert.match(err[0], new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: skipped malformed event: invalid JSON`));
  assert.match(err[1], /:6: skipped malformed event: invalid JSON/);
  assert.is(err[2], 'talon dry-run: 4 events: 1 kill, 0 override, 0 signal, 0 post, 3 none; 2 malformed lines skipped');
});

test('events from stdin', async () => {
  const input = readFileSync(path.join(ROOT, EV, 'curl-egress.jsonl'));
  const r = await talon(['dry-run', '-p', 'examples/egress-cluster-enforce.yaml', '-e', '-'], { input });
  assert.is(r.code, 0, r.stderr);
  assert.equal(kinds(r.stdout), ['none', 'none', 'kill', 'none', 'none', 'none', 'none', 'none']);
  assert.match(r.stderr, /^talon dry-run: 8 events: 1 kill/);
});

test('-o compact: the compact line and the verdict', async () => {
  const r = await runCli(['dry-run', '-o', 'compact', '-p', 'examples/file-monitoring-enforce.yaml', '-e', `${EV}/cat-shadow.jsonl`]);
  assert.is(r.code, 0, r.stderr);
  assert.equal(r.stdout.split('\n'), [
    '🚀 process default/xwing /bin/bash -c "cat /etc/shadow" ➜ none',
    '🚀 process default/xwing /bin/cat /etc/shadow ➜ none',
    '📚 read    default/xwing /bin/cat /etc/shadow ➜ kill (default/file-monitoring-enforce/0 Sigkill)',
    '📚 read    default/xwing /bin/cat /etc/shadow ➜ kill (default/file-monitoring-enforce/0 Sigkill)',
    '📚 read    default/xwing /bin/cat /etc/shadow ➜ kill (default/file-monitoring-enforce/0 Sigkill)',
    '💥 exit    default/xwing /bin/cat /etc/shadow SIGKILL ➜ none',
    '',
  ]);
  const coloured = await runCli([
    'dry-run',
    '-o',
    'compact',
    '--color',
    'always',
    '-p',
    'examples/file-monitoring-enforce.yaml',
    '-e',
    `${EV}/cat-shadow.jsonl`,
  ]);
  assert.match(coloured.stdout, /\u001b\[31mkill/);
  const monitor = await runCli(['dry-run', '-o', 'compact', '-m', 'monitor', '-p', 'examples/file-monitoring-enforce.yaml', '-e', `${EV}/cat-shadow.jsonl`]);
  assert.match(monitor.stdout, /➜ post \(default\/file-monitoring-enforce\/0 Sigkill \[monitor\]\)/);
});

test('invalid policies stop the run before any event; bad inputs exit 1', async () => {
  const r = await runCli(['dry-run', '-p', 'test/fixtures/policies/bad-operator.yaml', '-e', `${EV}/cat-shadow.jsonl`]);
  assert.is(r.code, 1);
  assert.is(r.stdout, '');
  assert.match(r.stderr, /bad-operator\.yaml:21:19: .*operator: .*Prefx/);
  const missing = await runCli(['dry-run', '-p', 'examples/egress-cluster.yaml', '-e', 'no/such/events.jsonl']);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /^no\/such\/events\.jsonl: cannot read: no such file/);
  const notImage = path.join(tmp, 'fake.img');
  writeFileSync(notImage, Buffer.concat([Buffer.from('TALONIMG'), Buffer.alloc(8, 0xff)]));
  const bad = await runCli(['dry-run', '-p', notImage, '-e', `${EV}/cat-shadow.jsonl`]);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /fake\.img: not a valid talon image: /);
});

test('usage errors exit 2', async () => {
  const cases: [string[], RegExp][] = [
    [['dry-run', '-e', `${EV}/cat-shadow.jsonl`], /at least one -p\/--policy is required/],
    [['dry-run', '-p', 'examples/egress-cluster.yaml'], /-e\/--events <file\|-> is required/],
    [['dry-run', '-p', 'examples/egress-cluster.yaml', '-e', 'x', '-o', 'yaml'], /-o\/--output must be json or compact, not "yaml"/],
    [['dry-run', '-p', 'examples/egress-cluster.yaml', '-e', 'x', '--mode', 'off'], /-m\/--mode must be enforce or monitor/],
    [['dry-run', '-p', 'examples/egress-cluster.yaml', '-e', 'x', '--color', 'pink'], /--color must be auto, always or never/],
    [['dry-run', '-p', '-', '-e', '-'], /stdin \("-"\) cannot hold both policies and events/],
    [['dry-run', '-p', 'examples/egress-cluster.yaml', '-e', 'x', '--verbose'], /^talon dry-run: unknown option --verbose/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});

test('pretty-printed events and arrays give the same verdicts as JSON lines', async () => {
  const lines = readFileSync(path.join(ROOT, EV, 'cat-shadow.jsonl'), 'utf8')
    .trim()
    .split('\n');
  const pretty = path.join(tmp, 'pretty.json');
  writeFileSync(pretty, lines.map((l) => JSON.stringify(JSON.parse(l), null, 2)).join('\n') + '\n');
  const array = path.join(tmp, 'array.json');
  writeFileSync(
    array,
    JSON.stringify(
      lines.map((l) => JSON.parse(l)),
      null,
      1,
    ),
  );
  const want = kinds((await runCli(['dry-run', '-p', 'examples/file-monitoring-enforce.yaml', '-e', `${EV}/cat-shadow.jsonl`])).stdout);
  assert.ok(want.includes('kill'));
  for (const f of [pretty, array]) {
    const r = await runCli(['dry-run', '-p', 'examples/file-monitoring-enforce.yaml', '-e', f]);
    assert.is(r.code, 0, r.stderr);
    assert.equal(kinds(r.stdout), want, f);
  }
});

test('an input with no readable event says so and exits 1', async () => {
  const junk = path.join(tmp, 'junk.txt');
  writeFileSync(junk, 'not an event\nnor this\n');
  const r = await runCli(['dry-run', '-p', 'examples/file-monitoring-enforce.yaml', '-e', junk]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /no event could be read from .*junk\.txt \(read as lines\); nothing was evaluated/);
  const empty = path.join(tmp, 'empty.jsonl');
  writeFileSync(empty, '');
  assert.is((await runCli(['dry-run', '-p', 'examples/file-monitoring-enforce.yaml', '-e', empty])).code, 0);
});

const CORPUS = path.resolve(ROOT, '../shared/tetragon-corpus');
const corpusTest = (name: string, fn: () => Promise<void>) => (existsSync(CORPUS) ? test(name, fn) : test.skip(`${name} (skipped: ${CORPUS} is absent)`, fn));

corpusTest("Tetragon's namespace-access example: the setns event posts (arch prefix), the namespace selector says what the event lacks", async () => {
  const ev = path.join(CORPUS, 'events/en__docs__use-cases__process-lifecycle__namespace-access__L118.json');
  const plain = await runCli([
    'dry-run',
    '-p',
    path.join(CORPUS, 'policies/docs-md__en__docs__use-cases__process-lifecycle__namespace-access__L60.yaml'),
    '-e',
    ev,
  ]);
  assert.is(plain.code, 0, plain.stderr);
  // function_name __x64_sys_setns is the hook sys_setns (syscall: true)
  assert.equal(
    verdicts(plain.stdout).map((v) => v.verdict),
    ['post'],
  );
  const pids = await runCli([
    'dry-run',
    '-p',
    path.join(CORPUS, 'policies/docs-md__en__docs__use-cases__process-lifecycle__namespace-access__L222.yaml'),
    '-e',
    ev,
  ]);
  assert.is(pids.code, 0, pids.stderr);
  const v = JSON.parse(pids.stdout.trim()) as { verdict: string; unknown?: string };
  assert.is(v.verdict, 'none');
  assert.match(v.unknown ?? '', /deny-namespace-access sys_setns selector 0: the event has no namespace pids of the ancestors/);
  assert.match(pids.stderr, /1 with a selector it could not decide \("unknown"\)/);
});

test.run();
