// The packed tarball, installed the way a user installs it (`npm install -g`), into a
// temporary prefix: a working `talon` on that prefix's PATH, outside the checkout, with
// the built core, BPF objects and shim it ships; as root, its agent starts, serves
// `tp add` / `tp list` and stops cleanly.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, sleep, waitFor } from './helpers/common.js';
import { useTestCgroupParent } from './helpers/agent.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'talon-install-'));
const prefix = path.join(tmp, 'prefix');
const bin = path.join(prefix, 'bin', 'talon');
test.after(() => rmSync(tmp, { recursive: true, force: true }));

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? tmp, env: { ...process.env, ...opts.env }, encoding: 'utf8', timeout: 180_000 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

const built = existsSync(path.join(ROOT, 'dist/src/cli/main.js')) && existsSync(path.join(ROOT, 'build/talon.wasm'));

test('npm pack ships the built core, BPF objects and shim; npm install -g gives a talon that runs anywhere', () => {
  if (!built) return void console.log('  skipped: not built (bash scripts/setup.sh)');
  // --ignore-scripts: the tree is built already (prepack would run the setup again)
  const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: ROOT });
  assert.is(pack.code, 0, pack.stderr);
  const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  const files = info.files.map((f) => f.path);
  for (const f of [
    'bin/talon.js',
    'dist/src/cli/main.js',
    'build/talon.wasm',
    'bpf/.output/tln_file.bpf.o',
    'shim/build/Release/tln_shim.node',
    'examples/file-monitoring.yaml',
  ]) {
    assert.ok(files.includes(f), `${f} is in the tarball`);
  }
  assert.not.ok(
    files.some((f) => f.startsWith('test/') || f.startsWith('dist/test/')),
    'no test code in the tarball',
  );
  const inst = run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', path.join(tmp, info.filename)]);
  assert.is(inst.code, 0, inst.stderr);
  assert.ok(existsSync(bin), 'talon in the prefix bin folder');
  // from a folder that is not the checkout
  const pol = path.join(prefix, 'lib/node_modules/talon/examples/file-monitoring-enforce.yaml');
  const c = run(bin, ['compile', '--check', pol]);
  assert.is(c.code, 0, c.stderr);
  assert.match(c.stdout, /^ok {2}1 file, 1 policy/);
  const h = run(bin, ['tp', '--help']);
  assert.is(h.code, 0, h.stderr);
  for (const c of ['add <file>', 'delete <name>', 'list', 'set-mode <name> <mode>']) assert.ok(h.stdout.includes(c), `tp --help lists ${c}`);
  const d = run(bin, ['dry-run', '-p', pol, '-e', path.join(prefix, 'lib/node_modules/talon/examples/events/cat-shadow.jsonl')]);
  assert.is(d.code, 0, d.stderr);
  assert.match(d.stdout, /"verdict":"kill"/);
});

test('the installed agent starts, takes a policy over the API, lists it and stops (root)', async () => {
  if (!built || !existsSync(bin)) return void console.log('  skipped: no installed talon');
  if (process.getuid?.() !== 0) return void console.log('  skipped: needs root (loads BPF programs)');
  useTestCgroupParent();
  const sock = path.join(tmp, 'agent.sock');
  const conn = ['--server-address', `unix://${sock}`];
  const agent = spawn(bin, ['agent', ...conn, '--state-dir', path.join(tmp, 'state'), '--node-name', 'talon-install'], {
    cwd: tmp,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  agent.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number>((r) => agent.on('exit', (c) => r(c ?? -1)));
  try {
    assert.ok(await waitFor(() => /ready:/.test(err), 30_000, 50), `agent did not start:\n${err}`);
    const pol = path.join(prefix, 'lib/node_modules/talon/examples/file-monitoring.yaml');
    const add = run(bin, ['tp', 'add', pol, ...conn]);
    assert.is(add.code, 0, add.stderr);
    const list = run(bin, ['tp', 'list', ...conn]);
    assert.is(list.code, 0, list.stderr);
    assert.match(list.stdout, /file-monitoring/);
    assert.match(list.stdout, /enabled/);
  } finally {
    agent.kill('SIGTERM');
    const code = await Promise.race([exited, sleep(20_000).then(() => -1)]);
    if (code === -1) agent.kill('SIGKILL');
  }
  assert.is(await exited, 0, err);
});

test.run();
