// `talon compile`: exit codes, messages, image output and its stability.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, runCli, talon } from './helpers/cli.js';

const FIX = 'test/fixtures/policies';
const tmp = mkdtempSync(path.join(tmpdir(), 'talon-cli-compile-'));

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('compile writes the image and prints its sha256 and a summary', async () => {
  const out = path.join(tmp, 'file.img');
  const r = await runCli(['compile', 'examples/file-monitoring-enforce.yaml', '-o', out]);
  assert.is(r.code, 0, r.stderr);
  const bytes = readFileSync(out);
  const sha = createHash('sha256').update(bytes).digest('hex');
  assert.equal(r.stdout.split('\n'), [`sha256:${sha}  ${out}`, '1 policy: default/file-monitoring-enforce (namespaced, enforce, 3 hooks)', '']);
  assert.is(bytes.subarray(0, 8).toString('latin1'), 'TALONIMG');
  assert.is(r.stderr, '');
});

test('the same input gives the same bytes, in two processes', async () => {
  const a = path.join(tmp, 'a.img');
  const b = path.join(tmp, 'b.img');
  const files = ['examples/file-monitoring-enforce.yaml', 'examples/egress-cluster-enforce.yaml', 'examples/egress-xwing-enforce.yaml'];
  const ra = await talon(['compile', ...files, '-o', a]);
  const rb = await talon(['compile', ...files, '-o', b]);
  assert.is(ra.code, 0, ra.stderr);
  assert.is(rb.code, 0, rb.stderr);
  assert.ok(readFileSync(a).equals(readFileSync(b)));
  assert.is(ra.stdout.split('  ')[0], rb.stdout.split('  ')[0]);
});

test('-o - writes the image to stdout and the sha256 to stderr', async () => {
  const r = await talon(['compile', 'examples/egress-cluster-enforce.yaml', '-o', '-']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.raw.subarray(0, 8).toString('latin1'), 'TALONIMG');
  const sha = createHash('sha256').update(r.raw).digest('hex');
  assert.ok(r.stderr.startsWith(`sha256:${sha}  -\n`), r.stderr);
});

test('a policy read from stdin ("-")', async () => {
  const text = readFileSync(path.join(ROOT, 'examples/egress-cluster.yaml'), 'utf8');
  const r = await runCli(['compile', '--check', '-'], { input: text });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ok {2}1 file, 1 policy: egress-cluster \(cluster, monitor_only, 1 hook\)\n$/);
});

test('--check validates and writes nothing', async () => {
  const r = await runCli(['compile', '--check', 'examples/file-monitoring.yaml', 'examples/egress-cluster.yaml']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ok {2}2 files, 2 policies: file-monitoring \(cluster, monitor_only, 3 hooks\), egress-cluster/);
});

test('-n sets the namespace of namespaced policies that name none', async () => {
  const r = await runCli(['compile', '--check', '-n', 'rebels', `${FIX}/namespaced.yaml`]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /rebels\/no-namespace \(namespaced/);
  assert.match(r.stdout, /empire\/own-namespace \(namespaced/);
});

test('--mode monitor is applied at load time', async () => {
  const r = await runCli(['compile', '--check', '--mode', 'monitor', 'examples/file-monitoring-enforce.yaml']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /default\/file-monitoring-enforce \(namespaced, monitor, 3 hooks\)/);
});

test('invalid policies: every problem of every file, then exit 1', async () => {
  const r = await runCli(['compile', `${FIX}/wrong-type.yaml`, `${FIX}/unknown-field.yaml`, '-o', path.join(tmp, 'never.img')]);
  assert.is(r.code, 1);
  assert.is(r.stdout, '');
  assert.equal(r.stderr.split('\n'), [
    `${FIX}/wrong-type.yaml:8:14: spec.kprobes[0].syscall: expected a boolean (true or false), got a string`,
    `${FIX}/wrong-type.yaml:10:14: spec.kprobes[0].args[0].index: expected an integer, got a string`,
    `${FIX}/unknown-field.yaml:13:7: spec.kprobes[0].selectors[0].matchArg: unknown field "matchArg" (did you mean "matchArgs"?)`,
    'talon compile: 3 errors in 2 files',
    '',
  ]);
  assert.not.ok(existsSync(path.join(tmp, 'never.img')));
});

test('a file that does not exist is an input error', async () => {
  const r = await runCli(['compile', '--check', 'no/such/file.yaml']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^no\/such\/file\.yaml: cannot read: no such file\n/);
});

test('warnings go to stderr and do not fail', async () => {
  const r = await runCli(['compile', '--check', '-m', 'enforce', 'examples/file-monitoring.yaml']);
  assert.is(r.code, 0);
  assert.match(r.stderr, /^examples\/file-monitoring\.yaml:\d+:\d+: (\S+: )?warning: /);
});

test('usage errors exit 2 with a pointer to --help', async () => {
  const cases: [string[], RegExp][] = [
    [['compile'], /^talon compile: missing argument\nRun "talon compile --help" for usage\.\n$/],
    [['compile', 'examples/egress-cluster.yaml'], /-o\/--output <image> is required \(or --check to only check\)/],
    [['compile', 'examples/egress-cluster.yaml', '--check', '--mode', 'audit'], /-m\/--mode must be enforce or monitor, not "audit"/],
    [['compile', 'examples/egress-cluster.yaml', '--frobnicate'], /^talon compile: unknown option --frobnicate\n/],
    [['compile', 'examples/egress-cluster.yaml', '--check', '-o', 'x.img'], /--check writes nothing/],
    [['frobnicate'], /^talon: unknown command "frobnicate"\n/],
    [[], /^talon: no command given\n/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.is(r.stdout, '');
  }
});

test('--help everywhere', async () => {
  for (const args of [['--help'], ['compile', '--help'], ['dry-run', '--help']]) {
    const r = await runCli(args);
    assert.is(r.code, 0);
    assert.match(r.stdout, /Usage/);
  }
});

test.run();
