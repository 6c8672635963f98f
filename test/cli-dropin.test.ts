// tetra's and Tetragon's spellings, without a kernel: getevents' flags (comma
// lists, --pod, field filters, CEL expressions), the stream over talon's ws API
// and over Tetragon's gRPC API from a stand-in agent (the real ApiServer and
// GrpcServer with handlers that replay recorded events, filtered as the
// pipeline filters), what getevents says when the agent stops, --reconnect,
// `exec -ti -c`, `version -s/-b`, and the agent's options from Tetragon's
// configuration files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiServer, type Connection } from '../src/api/server.js';
import { GrpcServer } from '../src/api/grpc.js';
import { compileFilterSet, type FilterSet } from '../src/events/filter.js';
import { compileCel } from '../src/api/cel.js';
import { resolveAgentOptions, OptionsError } from '../src/agent/config.js';
import { runCli, talonBackground } from './helpers/cli.js';
import { repoRoot, sleep, tempDir, waitFor } from './helpers/common.js';

type Json = Record<string, any>;
const EVENTS = join(repoRoot(), 'examples', 'events');
const recorded = (f: string): Json[] =>
  readFileSync(join(EVENTS, f), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
const ALL = [...recorded('cat-shadow.jsonl'), ...recorded('host-cat-shadow.jsonl')];
const lines = (s: string) =>
  s
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

// ---- getevents flags, offline (-i) ------------------------------------------

test('getevents: comma lists split as tetra splits them; --pod is --pods', async () => {
  const f = join(EVENTS, 'cat-shadow.jsonl');
  const one = await runCli(['getevents', '-i', f, '--namespace', 'default']);
  const both = await runCli(['getevents', '-i', f, '--namespace', 'nope,default']);
  assert.is(both.code, 0, both.stderr);
  assert.ok(lines(one.stdout).length > 0);
  assert.equal(lines(both.stdout), lines(one.stdout), '--namespace nope,default is nope or default');
  const pods = await runCli(['getevents', '-i', f, '--pods', 'nope,xwing']);
  assert.equal(lines(pods.stdout), lines(one.stdout));
  const pod = await runCli(['getevents', '-i', f, '--pod', 'xwing']);
  assert.equal(lines(pod.stdout), lines(one.stdout), 'tetra spells it --pod too');
  const procs = await runCli(['getevents', '-i', f, '--process', 'nope,/cat$']);
  assert.equal(
    lines(procs.stdout),
    recorded('cat-shadow.jsonl').filter((e) => /\/cat$/.test((Object.values(e).find((v: any) => v?.process) as Json).process.binary)),
  );
  const nsRe = await runCli(['getevents', '-i', f, '--namespace-regex', '^def']);
  assert.equal(lines(nsRe.stdout), lines(one.stdout));
  const none = await runCli(['getevents', '-i', f, '--namespace-regex', '^xyz']);
  assert.is(none.stdout, '');
});

test('getevents -f/-F: only / all but the named fields of each event body, as Tetragon field filters', async () => {
  const f = join(EVENTS, 'cat-shadow.jsonl');
  const inc = lines((await runCli(['getevents', '-i', f, '-f', 'process.binary,process.pod.name', '-e', 'PROCESS_EXEC'])).stdout);
  assert.ok(inc.length > 0);
  for (const e of inc) {
    assert.equal(Object.keys(e.process_exec), ['process']);
    assert.equal(e.process_exec.process, { binary: e.process_exec.process.binary, pod: { name: 'xwing' } });
    assert.type(e.time, 'string', 'fields outside the event body stay');
  }
  const exc = lines((await runCli(['getevents', '-i', f, '--exclude-fields', 'parent,process.pod', '-e', 'PROCESS_EXEC'])).stdout);
  const full = recorded('cat-shadow.jsonl').filter((e) => e.process_exec);
  assert.is(exc.length, full.length);
  for (const [i, e] of exc.entries()) {
    assert.is(e.process_exec.parent, undefined);
    assert.is(e.process_exec.process.pod, undefined);
    const { pod: _pod, ...rest } = full[i].process_exec.process;
    assert.equal(e.process_exec.process, rest);
  }
});

test('getevents --cel-expression: Tetragon-style expressions select events; a bad one is refused with the reason', async () => {
  const f = join(EVENTS, 'cat-shadow.jsonl');
  const all = recorded('cat-shadow.jsonl');
  const cel = async (...exprs: string[]) => {
    const r = await runCli(['getevents', '-i', f, ...exprs.flatMap((x) => ['--cel-expression', x])]);
    assert.is(r.code, 0, r.stderr);
    return lines(r.stdout);
  };
  const cats = await cel('process_exec.process.binary == "/bin/cat"');
  assert.ok(cats.length > 0);
  assert.equal(
    cats,
    all.filter((e) => e.process_exec?.process.binary === '/bin/cat'),
  );
  // protojson writes pid as a number and kprobe args as a list: typed from the .proto, compared as CEL ints
  const pid = cats[0].process_exec.process.pid;
  assert.equal(
    await cel(`process_exec.process.pid == ${pid}u`),
    all.filter((e) => e.process_exec?.process.pid === pid),
  );
  const reads = await cel('process_kprobe.function_name == "security_file_permission" && process_kprobe.args.exists(a, a.file_arg.path.startsWith("/etc/"))');
  assert.ok(reads.length > 0);
  assert.equal(
    reads,
    all.filter((e) => e.process_kprobe?.function_name === 'security_file_permission' && /^\/etc\//.test(e.process_kprobe.args[0].file_arg.path)),
  );
  // several expressions: any of them; with other flags: all of them
  const either = await cel('process_exec.process.binary == "/bin/cat"', 'has(process_exit.process)');
  assert.equal(
    either,
    all.filter((e) => e.process_exit || e.process_exec?.process.binary === '/bin/cat'),
  );
  const r = await runCli(['getevents', '-i', f, '--cel-expression', 'true', '--process', 'nope$']);
  assert.is(r.stdout, '', 'AND with --process');
  for (const [expr, why] of [
    ['process_exec.process.binary ==', /invalid CEL expression .*Unexpected token/],
    ['process_exec.process.pid + 1', /yields int, a filter needs bool/],
    ['proc.binary == "x"', /Unknown variable: proc/],
  ] as const) {
    const bad = await runCli(['getevents', '-i', f, '--cel-expression', expr]);
    assert.is(bad.code, 2, expr);
    assert.match(bad.stderr, why);
    assert.is(bad.stdout, '');
  }
});

// ---- a stand-in agent: the real servers, recorded events ----------------------

class StandIn {
  private subs: { conn: Connection; id: number; pass: (e: Json) => boolean }[] = [];
  private next = 1;
  ws: ApiServer | null = null;
  grpc: GrpcServer | null = null;
  constructor(readonly dir: string) {}
  readonly handlers = {
    status: () => ({ version: '9.9.9', protocol: 1 }),
    'events.subscribe': (p: Json, conn: Connection) => {
      const id = this.next++;
      this.subs.push({ conn, id, pass: compileFilterSet((p.filter ?? {}) as FilterSet, { cel: (x) => compileCel(x) }) });
      conn.onClose(() => (this.subs = this.subs.filter((s) => s.id !== id)));
      return { subscription: id };
    },
  };
  get wsPath() {
    return join(this.dir, 'talon.sock');
  }
  get grpcPath() {
    return join(this.dir, 'tetragon.sock');
  }
  async start(): Promise<void> {
    this.ws = new ApiServer({ address: { kind: 'unix', path: this.wsPath }, handlers: this.handlers });
    this.grpc = new GrpcServer({ address: { kind: 'unix', path: this.grpcPath }, handlers: this.handlers, hooks: () => [], version: '9.9.9' });
    await this.grpc.listen();
    await this.ws.listen();
  }
  get subscribers() {
    return this.subs.length;
  }
  publish(events: Json[]): void {
    for (const e of events) for (const s of this.subs) if (s.pass(e)) s.conn.notify({ subscription: s.id, event: e });
  }
  async stop(): Promise<void> {
    this.subs = [];
    await this.ws?.close();
    await this.grpc?.close();
  }
}

test('getevents over ws and over gRPC (--grpc): the same events, filters and field filters applied', async () => {
  const t = tempDir('talon-dropin-');
  const agent = new StandIn(t.dir);
  await agent.start();
  try {
    const args = ['-o', 'json', '--namespace', 'default', '-f', 'process.binary,process.arguments,process.pod', '--count', '4'];
    const ws = talonBackground(['getevents', ...args, '--server-address', `unix://${agent.wsPath}`]);
    const grpc = talonBackground(['getevents', ...args, '--grpc', '--server-address', `unix://${agent.grpcPath}`]);
    assert.ok(await waitFor(() => agent.subscribers === 2, 10_000), `subscribed: ${ws.err()} ${grpc.err()}`);
    agent.publish(ALL);
    const [a, b] = await Promise.all([ws.exited, grpc.exited]);
    assert.is(a, 0, ws.err());
    assert.is(b, 0, grpc.err());
    const viaWs = lines(ws.out());
    assert.is(viaWs.length, 4, '--count 4');
    assert.ok(viaWs.every((e) => Object.values(e).some((v: any) => v?.process?.pod?.namespace === 'default')));
    assert.equal(Object.keys(viaWs[0].process_exec.process).sort(), ['arguments', 'binary', 'pod']);
    assert.equal(lines(grpc.out()), viaWs, 'gRPC gives the same events, field by field');
  } finally {
    await agent.stop();
    t.remove();
  }
});

test('getevents --cel-expression over ws and over gRPC (cel_expression in the allow filter): evaluated by the agent side', async () => {
  const t = tempDir('talon-dropin-');
  const agent = new StandIn(t.dir);
  await agent.start();
  try {
    const args = [
      '-o',
      'json',
      '--cel-expression',
      'process_exec.process.binary == "/bin/cat" && process_exec.process.pod.namespace == "default"',
      '--count',
      '1',
    ];
    const ws = talonBackground(['getevents', ...args, '--server-address', `unix://${agent.wsPath}`]);
    const grpc = talonBackground(['getevents', ...args, '--grpc', '--server-address', `unix://${agent.grpcPath}`]);
    assert.ok(await waitFor(() => agent.subscribers === 2, 10_000), `subscribed: ${ws.err()} ${grpc.err()}`);
    agent.publish(ALL);
    const [a, b] = await Promise.all([ws.exited, grpc.exited]);
    assert.is(a, 0, ws.err());
    assert.is(b, 0, grpc.err());
    const want = ALL.filter((e) => e.process_exec?.process.binary === '/bin/cat' && e.process_exec.process.pod?.namespace === 'default').slice(0, 1);
    assert.is(want.length, 1);
    assert.equal(lines(ws.out()), want);
    assert.equal(lines(grpc.out()), want, 'the same event over gRPC');
  } finally {
    await agent.stop();
    t.remove();
  }
});

test('getevents when the agent stops: says so and exits 1; --reconnect waits and resubscribes', async () => {
  const t = tempDir('talon-dropin-');
  const agent = new StandIn(t.dir);
  await agent.start();
  const plain = talonBackground(['getevents', '-o', 'json', '--server-address', `unix://${agent.wsPath}`]);
  const again = talonBackground(['getevents', '-o', 'json', '--reconnect', '--server-address', `unix://${agent.wsPath}`]);
  const againGrpc = talonBackground(['getevents', '-o', 'json', '--reconnect', '--grpc', '--server-address', `unix://${agent.grpcPath}`]);
  try {
    assert.ok(await waitFor(() => agent.subscribers === 3, 10_000), `subscribed: ${plain.err()}`);
    agent.publish(ALL.slice(0, 1));
    await waitFor(() => again.out() !== '' && againGrpc.out() !== '' && plain.out() !== '', 5000);
    await agent.stop();
    assert.is(await plain.exited, 1);
    assert.match(plain.err(), /talon getevents: the agent closed the stream \(it stopped or restarted\).*--reconnect waits for it/);
    await waitFor(() => /reconnecting/.test(again.err()) && /reconnecting/.test(againGrpc.err()), 5000);
    assert.match(again.err(), /the agent closed the stream .*; reconnecting/);
    await sleep(1500); // a retry or two against no agent: still waiting, no exit
    assert.is(again.child.exitCode, null, 'still waiting');
    await agent.start();
    assert.ok(await waitFor(() => agent.subscribers === 2, 10_000), `resubscribed: ${again.err()} ${againGrpc.err()}`);
    agent.publish(ALL.slice(1, 2));
    await waitFor(() => lines(again.out()).length === 2 && lines(againGrpc.out()).length === 2, 5000);
    assert.equal(lines(again.out()), ALL.slice(0, 2));
    assert.equal(lines(againGrpc.out()), lines(again.out()));
    assert.match(again.err(), /connected again/);
  } finally {
    for (const b of [plain, again, againGrpc]) b.child.kill('SIGTERM');
    await Promise.all([again.exited, againGrpc.exited]);
    await agent.stop();
    t.remove();
  }
});

test('exec -ti and -c as kubectl spells them; version -s fails without an agent, -b prints the build', async () => {
  const env = { TALON_SERVER_ADDRESS: 'unix:///nonexistent/talon.sock' };
  const e = await runCli(['exec', '-ti', 'xwing', '-c', 'xwing', '--', 'true'], { env });
  assert.is(e.code, 1, 'parsed: it went on to ask the agent');
  assert.match(e.stderr, /talon exec: connect to agent/);
  const it = await runCli(['exec', '-it', '-n', 'default', 'xwing', '--', 'bash', '-i'], { env });
  assert.match(it.stderr, /talon exec: connect to agent/, '-i after -- belongs to the command');
  const v = await runCli(['version'], { env });
  assert.is(v.code, 0);
  const s = await runCli(['version', '-s'], { env });
  assert.is(s.code, 1);
  assert.match(s.stderr, /no agent to ask for its version/);
  const b = await runCli(['version', '--build'], { env });
  assert.match(b.stdout, /^CLI version: \d+\.\d+\.\d+\nBuild info:\n {2}Node\.js version: v\d+.*\n {2}Platform: linux\/\w+\n {2}Core: sha256:[0-9a-f]{16} /);
});

test('version -s against an agent: the server version', async () => {
  const t = tempDir('talon-dropin-');
  const agent = new StandIn(t.dir);
  await agent.start();
  try {
    const r = await runCli(['version', '-s', '--server-address', `unix://${agent.wsPath}`]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /\nServer version: 9\.9\.9 /);
  } finally {
    await agent.stop();
    t.remove();
  }
});

// ---- agent options: Tetragon's configuration files ----------------------------

test('agent options: --config-dir files named for flags, yaml files, the command line wins', () => {
  const t = tempDir('talon-conf-');
  try {
    writeFileSync(join(t.dir, 'export-filename'), '/var/log/talon/events.log\n');
    writeFileSync(join(t.dir, 'export-file-max-backups'), '7\n');
    writeFileSync(
      join(t.dir, 'tetragon.yaml'),
      'log-level: debug\nlog-format: json\ntracing-policy:\n  - /etc/a.yaml\n  - /etc/b.yaml\nmetrics-server: 127.0.0.1:2112\n',
    );
    const { options, sources } = resolveAgentOptions({ _: [], 'config-dir': t.dir, 'log-level': 'warn', 'tracing-policy-dir': '/srv/tp' });
    assert.equal(sources, [t.dir]);
    assert.equal(options, {
      exportFile: '/var/log/talon/events.log',
      exportFileMaxBackups: 7,
      logLevel: 'warn',
      logFormat: 'json',
      tracingPolicies: ['/etc/a.yaml', '/etc/b.yaml'],
      metricsServer: '127.0.0.1:2112',
      tracingPolicyDir: '/srv/tp',
    });
    // a boolean from a file is not undone by the flag's absence (mri's false)
    writeFileSync(join(t.dir, 'enable-process-ns'), 'true\n');
    assert.is(resolveAgentOptions({ _: [], 'config-dir': t.dir, 'enable-process-ns': false }).options.enableProcessNs, true);
    assert.is(resolveAgentOptions({ _: [], 'enable-process-cred': true }).options.enableProcessCred, true);
    // talon's older spelling of the flag still works
    assert.equal(resolveAgentOptions({ _: [], 'export-file-rotation-max-backups': '3' }).options.exportFileMaxBackups, 3);
  } finally {
    t.remove();
  }
});

test('agent options: unknown keys and bad values are errors with file:line:col, all reported', () => {
  const t = tempDir('talon-conf-');
  try {
    mkdirSync(join(t.dir, 'sub'));
    writeFileSync(join(t.dir, 'enable-k8s-apii'), 'true\n');
    writeFileSync(join(t.dir, 'a.yaml'), 'log-level: info\nexport-file-max-backups: -1\nnope: 1\nlog-format: xml\n');
    let problems: string[] = [];
    try {
      resolveAgentOptions({ _: [], 'config-dir': t.dir, 'metrics-server': 'localhost' });
      assert.unreachable('refused');
    } catch (e) {
      assert.instance(e, OptionsError);
      problems = (e as OptionsError).problems;
    }
    const f = join(t.dir, 'a.yaml');
    assert.equal(problems, [
      `${f}:2:1: export-file-max-backups: must be a whole number >= 0, not "-1"`,
      `${f}:3:1: nope: unknown option (talon agent --help lists them)`,
      `${f}:4:1: log-format: must be text or json, not "xml"`,
      `${join(t.dir, 'enable-k8s-apii')}:1:1: enable-k8s-apii: unknown option (talon agent --help lists them)`,
      '--metrics-server: must be host:port (e.g. 127.0.0.1:2112), not "localhost"',
    ]);
  } finally {
    t.remove();
  }
});

test('talon agent: bad options exit 1 with every problem, before anything starts', async () => {
  const t = tempDir('talon-conf-');
  try {
    writeFileSync(join(t.dir, 'tetragon.yaml'), 'log-level: loud\n');
    const r = await runCli(['agent', '--config-dir', t.dir, '--health-server-address', 'x']);
    assert.is(r.code, 1);
    assert.equal(r.stderr.split('\n').filter(Boolean), [
      `talon agent: ${join(t.dir, 'tetragon.yaml')}:1:1: log-level: must be debug, info, warn or error, not "loud"`,
      'talon agent: --health-server-address: must be host:port (e.g. 127.0.0.1:2112), not "x"',
    ]);
    const missing = await runCli(['agent', '--config-dir', join(t.dir, 'nope')]);
    assert.is(missing.code, 1);
    assert.match(missing.stderr, /nope: does not exist/);
  } finally {
    t.remove();
  }
});

test.run();
