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

if (process.getuid?.() === 0) {
  test('talon agent from a --config-dir: --tracing-policy-dir read recursively, --tracing-policy, /healthz, json logs', async () => {
    const { spawnAgent, terminate, useTestCgroupParent } = await import('./helpers/agent.js');
    const { fileReadPolicy } = await import('./helpers/agent.js');
    useTestCgroupParent();
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const t = tempDir('talon-conf-agent-');
    const sock = join(t.dir, 'talon.sock');
    const A = ['--server-address', `unix://${sock}`];
    let agent: Awaited<ReturnType<typeof spawnAgent>> | null = null;
    try {
      const tp = join(t.dir, 'tp.d');
      mkdirSync(join(tp, 'team', 'deep'), { recursive: true });
      const pol = (name: string) => fileReadPolicy({ name, namespace: 'default', prefix: join(t.dir, 'never-read'), actions: '- action: Post' });
      writeFileSync(join(tp, 'top.yaml'), pol('conf-top'));
      writeFileSync(join(tp, 'team', 'deep', 'nested.yaml'), pol('conf-nested'));
      writeFileSync(join(t.dir, 'single.yaml'), pol('conf-single'));
      const conf = join(t.dir, 'conf.d');
      mkdirSync(conf);
      writeFileSync(join(conf, 'tracing-policy-dir'), tp + '\n');
      writeFileSync(join(conf, 'health-server-address'), '127.0.0.1:0\n');
      writeFileSync(join(conf, 'tetragon.yaml'), `tracing-policy: ${join(t.dir, 'single.yaml')}\nlog-format: json\nstate-dir: ${join(t.dir, 'state')}\n`);
      agent = await spawnAgent(['--config-dir', conf, ...A]);
      const logs = agent
        .err()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { time: string; level: string; msg: string });
      assert.ok(
        logs.every((l) => typeof l.time === 'string' && l.level === 'info'),
        'json log lines',
      );
      const health = /health endpoint on (http:\/\/\S+\/healthz)/.exec(logs.map((l) => l.msg).join('\n'));
      assert.ok(health, agent.err());
      const res = await fetch(health![1]);
      assert.is(res.status, 200);
      const body = (await res.json()) as { status: string; policies: Record<string, number> };
      assert.is(body.status, 'HEALTH_STATUS_RUNNING');
      assert.is(body.policies.enabled, 3);
      const list = await talon(['tp', 'list', ...A]);
      assert.is(list.code, 0, list.stderr);
      for (const name of ['conf-top', 'conf-nested', 'conf-single']) assert.match(list.stdout, new RegExp(`\\n\\d+ +${name} +static +enabled `), list.stdout);
    } finally {
      if (agent) assert.is(await terminate(agent), 0);
      t.remove();
    }
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
