// The agent commands' refusals: not root, no command for exec, bad flags.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, talon, tempDir } from './helpers/agent.js';
import { runCli } from './helpers/cli.js';
import { runAgent } from '../src/agent/run.js';

function asNobody(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((res, rej) => {
    const c = spawn(process.execPath, [join(repoRoot(), 'bin', 'talon.js'), ...args], {
      uid: 65534,
      gid: 65534,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    c.stderr!.on('data', (b: Buffer) => (stderr += b));
    c.once('error', rej);
    c.once('close', (code) => res({ code, stderr }));
  });
}

test('runAgent refuses to start when not root, with a clear message', async () => {
  const real = process.getuid;
  let err = '';
  const stderr = { write: (s: string) => ((err += s), true) } as unknown as NodeJS.WritableStream;
  process.getuid = () => 65534;
  try {
    assert.is(await runAgent({ stateDir: '/nonexistent/state', serverAddress: 'unix:///nonexistent/x.sock' }, stderr), 1);
  } finally {
    process.getuid = real;
  }
  assert.is(err, 'talon agent: cannot start: talon agent must run as root: it loads BPF programs (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN) and creates cgroups\n');
});

if (process.getuid?.() === 0) {
  test('talon agent as nobody: exit 1 with the message', async () => {
    const t = tempDir('talon-cli-');
    try {
      const r = await asNobody(['agent', '--state-dir', join(t.dir, 's'), '--server-address', `unix://${join(t.dir, 'x.sock')}`]);
      if (/EACCES|Cannot find module|not built/.test(r.stderr)) {
        console.log('  (the checkout is not readable by nobody: the in-process check above covers it)');
        return;
      }
      assert.is(r.code, 1, r.stderr);
      assert.match(r.stderr, /talon agent: cannot start: talon agent must run as root/);
    } finally {
      t.remove();
    }
  });
} else {
  test('talon agent refuses to start when not root, with a clear message', async () => {
    const r = await talon(['agent', '--state-dir', '/tmp/talon-nonroot-state', '--server-address', 'unix:///tmp/talon-nonroot.sock']);
    assert.is(r.code, 1);
    assert.match(r.stderr, /must run as root/);
  });
}

test('usage errors exit 2', async () => {
  let r = await runCli(['exec', 'xwing']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /^talon exec: no command given/);
  r = await runCli(['tp', 'add', 'x.yaml', '--mode', 'enforcing']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /-m\/--mode must be enforce or monitor, not "enforcing"/);
  r = await runCli(['pod', 'add', 'default/xwing', '--label', 'novalue']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /invalid label "novalue": expected key=value/);
  r = await runCli(['getevents', '-o', 'yaml']);
  assert.is(r.code, 2);
  r = await runCli(['getevents', '--count', '0', '-i', '/dev/null']);
  assert.is(r.code, 2);
});

test('client commands without an agent: exit 1 and say so', async () => {
  const r = await runCli(['pod', 'list', '--server-address', 'unix:///nonexistent/talon.sock']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /talon pod list: connect to agent at unix:\/\/\/nonexistent\/talon.sock: .*is `talon agent` running\?/);
  const e = await runCli(['exec', 'xwing', '--', 'true'], { env: { TALON_SERVER_ADDRESS: 'unix:///nonexistent/t.sock' } });
  assert.is(e.code, 1);
  assert.match(e.stderr, /unix:\/\/\/nonexistent\/t.sock/);
});

test.run();
