// The agent in the running kernel, driven through the CLI exactly as a user
// would: talon agent + tp add + pod add + exec + getevents. Both seed
// scenarios, the same commands on the host, monitor mode, a pod added after
// the policy, the differential check, a restart, and no leftovers.
// Runs as root (CI does); skipped with a reason otherwise.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, realpathSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { listen } from '../src/agent/quickstart.js';
import {
  agentStatus,
  jsonEvents,
  repoRoot,
  skipUnlessRoot,
  spawnAgent,
  talon,
  talonBackground,
  terminate,
  talonCgroupLeftovers,
  tempDir,
  waitFor,
  useTestCgroupParent,
} from './helpers/agent.js';

useTestCgroupParent();
const reason = skipUnlessRoot('agent in the kernel');
const test = suite('agent-kernel');

const ex = (f: string) => join(repoRoot(), 'examples', f);
const which = (b: string) => realpathSync(execFileSync('/bin/sh', ['-c', `command -v ${b}`], { encoding: 'utf8' }).trim());

type Json = Record<string, any>;

const t = tempDir('talon-e2e-');
const state = join(t.dir, 'state');
const sock = join(t.dir, 'talon.sock');
const address = `unix://${sock}`;
const A = ['--server-address', address];
let agent: ReturnType<typeof talonBackground> | null = null;

async function startAgent(): Promise<void> {
  agent = await spawnAgent(['--state-dir', state, ...A, '--node-name', 'talon-e2e']);
  assert.ok(existsSync(sock));
  assert.is(statSync(sock).mode & 0o777, 0o600, 'API socket is root only');
}

async function stopAgent(): Promise<number> {
  const a = agent;
  agent = null;
  return a ? terminate(a) : 0;
}

const status = () => agentStatus(A);

const getevents = (args: string[]) => jsonEvents(args, A);

const exec = (pod: string, cmd: string, opts: { cwd?: string } = {}) => talon(['exec', pod, ...A, '--', 'bash', '-c', cmd], opts);
/** runs on the host, asynchronously: the listeners live in this process */
const onHost = (cmd: string) => new Promise<number | null>((res) => spawn('bash', ['-c', cmd], { stdio: 'ignore' }).once('close', (code) => res(code)));
/** ids of the programs of every policy of the running agent */
const seenPrograms = new Set<number>();
async function notePrograms(): Promise<void> {
  const r = await talon(['tp', 'list', '-o', 'json', ...A]);
  for (const p of JSON.parse(r.stdout).policies) for (const id of p.programs) seenPrograms.add(id);
}
/** which of the agent's programs are still loaded (they are freed a moment after its fds close) */
function livePrograms(): Promise<number[]> {
  const live = () => {
    const out = execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' });
    const ids = new Set((JSON.parse(out) as { id: number }[]).map((p) => p.id));
    return [...seenPrograms].filter((id) => ids.has(id));
  };
  return waitFor(() => live().length === 0, 5000, 100).then(live);
}
const kind = (ev: Json) => Object.keys(ev).find((k) => k.startsWith('process_'))!;

async function compact(events: Json[]): Promise<string[]> {
  const f = join(t.dir, `events-${Date.now()}.jsonl`);
  writeFileSync(f, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const r = await talon(['getevents', '-i', f, '-o', 'compact', '--color', 'never']);
  assert.is(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

if (reason) {
  test.skip('agent in the kernel');
} else {
  test.after(async () => {
    // always: pods (their processes die), the agent (programs detached), files
    if (agent) {
      for (const p of ['default/xwing', 'default/late', 'empire/tie']) await talon(['pod', 'delete', p, ...A]).catch(() => undefined);
      await stopAgent();
    }
    t.remove();
  });

  test('agent starts; a TCP address needs a token', async () => {
    await startAgent();
    const st = await status();
    assert.is(st.node, 'talon-e2e');
    assert.is(st.policies, 0);
  });

  test('file scenario: cat /etc/shadow is killed in the pod, untouched on the host', async () => {
    let r = await talon(['pod', 'add', 'default/xwing', '--label', 'app=xwing', '--label', 'org=alliance', ...A]);
    assert.is(r.code, 0, r.stderr);
    r = await talon(['tp', 'add', ex('file-monitoring-enforce.yaml'), ...A]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /tracing policy default\/file-monitoring-enforce added \(enforce/);

    const g = await getevents(['--pods', 'xwing']);
    r = await exec('xwing', 'cat /etc/shadow');
    assert.is(r.code, 137, `cat /etc/shadow in the pod: ${r.stderr}`);
    assert.match(r.stderr, /command terminated with exit code 137/);
    assert.is(r.stdout, '', 'nothing of /etc/shadow was printed');

    const work = join(t.dir, 'work');
    mkdirSync(work, { recursive: true });
    r = await exec('xwing', 'echo foo >> bar; cat bar', { cwd: work });
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'foo\n');
    assert.is(await onHost('cat /etc/shadow > /dev/null'), 0, 'the same read on the host is untouched');
    const events = await g.stop();

    const bash = which('bash');
    const cat = which('cat');
    const lines = await compact(events);
    // talon exec's confinement (unshare, the setup shell, setpriv) runs in the pod too, before the command
    const wrapper = (l: string) => /\/(unshare|setpriv) |TALON_POD_SETUP|read go <&3/.test(l);
    const shadow = lines.filter((l) => l.includes('/etc/shadow') && !wrapper(l));
    assert.equal(shadow[0], `🚀 process default/xwing ${bash} -c "cat /etc/shadow"`);
    assert.ok(shadow.includes(`🚀 process default/xwing ${cat} /etc/shadow`), lines.join('\n'));
    assert.ok(shadow.includes(`📚 read    default/xwing ${cat} /etc/shadow`), lines.join('\n'));
    assert.is(shadow[shadow.length - 1], `💥 exit    default/xwing ${cat} /etc/shadow SIGKILL`);
    assert.ok(lines.includes(`🚀 process default/xwing ${bash} -c "echo foo >> bar; cat bar"`), lines.join('\n'));
    assert.ok(lines.includes(`💥 exit    default/xwing ${cat} bar 0`), lines.join('\n'));
    assert.not.ok(
      lines.some((l) => l.includes('📚') && l.includes(' bar')),
      'no event for the file of no interest',
    );

    // the JSON is Tetragon's
    const kp = events.filter((e) => e.process_kprobe);
    assert.ok(kp.length >= 1);
    for (const e of kp) {
      const k = e.process_kprobe;
      assert.is(k.function_name, 'security_file_permission');
      assert.is(k.policy_name, 'file-monitoring-enforce');
      assert.is(k.action, 'KPROBE_ACTION_SIGKILL');
      assert.is(k.args[0].file_arg.path, '/etc/shadow');
      assert.match(k.args[0].file_arg.permission, /^-r/);
      assert.is(k.args[1].int_arg, 4);
      assert.is(k.process.pod.namespace, 'default');
      assert.is(k.process.pod.name, 'xwing');
      assert.equal(k.process.pod.pod_labels, { app: 'xwing', org: 'alliance' });
      assert.is(k.process.pod.container.name, 'xwing');
      assert.is(k.process.binary, cat);
      assert.type(k.process.exec_id, 'string');
      assert.is(e.node_name, 'talon-e2e');
      assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    }
    const exit = events.find((e) => e.process_exit && e.process_exit.process.binary === cat && e.process_exit.signal);
    assert.is(exit?.process_exit.signal, 'SIGKILL');
    assert.ok(
      events.every((e) => e[kind(e)].process.pod?.name === 'xwing'),
      '--pods xwing: only xwing',
    );

    // talon dry-run replays the events: the evaluator gives the kernel's verdict
    const f = join(t.dir, 'file-events.jsonl');
    writeFileSync(f, kp.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const dr = await talon(['dry-run', '-p', ex('file-monitoring-enforce.yaml'), '-e', f]);
    assert.is(dr.code, 0, dr.stderr);
    const verdicts = dr.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).verdict);
    assert.equal(
      verdicts,
      kp.map(() => 'kill'),
    );
  });

  test('network scenario: a connect outside the cluster is killed before a packet leaves', async () => {
    const outside = await listen('127.200.0.1', 18080, 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    const inside = await listen('127.10.0.2', 8080, 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    try {
      let r = await talon(['tp', 'add', ex('egress-cluster-enforce.yaml'), ...A]);
      assert.is(r.code, 0, r.stderr);
      const g = await getevents(['--pods', 'xwing', '--event-types', 'PROCESS_KPROBE,PROCESS_EXIT']);
      r = await exec('xwing', 'curl -s --max-time 5 --interface 127.10.0.5 --local-port 45200-45299 http://127.200.0.1:18080/');
      assert.is(r.code, 137, r.stderr);
      assert.is(outside.accepted(), 0, 'the outside listener saw nothing');
      r = await exec('xwing', 'curl -s --max-time 5 --interface 127.10.0.5 http://127.10.0.2:8080/');
      assert.is(r.code, 0, r.stderr);
      assert.is(inside.accepted(), 1);
      assert.is(await onHost('curl -s --max-time 5 http://127.200.0.1:18080/ > /dev/null'), 0, 'the same connect from the host works');
      assert.is(outside.accepted(), 1);
      const events = await g.stop();
      const curl = which('curl');
      const lines = await compact(events);
      const connect = lines.filter((l) => l.startsWith('🔌'));
      assert.is(connect.length, 1, lines.join('\n'));
      assert.match(connect[0], new RegExp(`^🔌 connect default/xwing ${curl} tcp 127\\.10\\.0\\.5:452\\d\\d -> 127\\.200\\.0\\.1:18080$`));
      const kp = events.find((e) => e.process_kprobe)!.process_kprobe;
      assert.is(kp.function_name, 'tcp_connect');
      assert.is(kp.policy_name, 'egress-cluster-enforce');
      assert.is(kp.action, 'KPROBE_ACTION_SIGKILL');
      assert.match(kp.args[0].sock_arg.cookie, /^[1-9]\d*$/, 'the socket cookie, a uint64 as protojson writes it');
      assert.equal(
        { ...kp.args[0].sock_arg, sport: 0, cookie: '' },
        {
          family: 'AF_INET',
          type: 'SOCK_STREAM',
          protocol: 'IPPROTO_TCP',
          saddr: '127.10.0.5',
          daddr: '127.200.0.1',
          sport: 0,
          dport: 18080,
          cookie: '',
          state: 'TCP_SYN_SENT',
        },
      );
      assert.ok(lines.some((l) => l.startsWith(`💥 exit    default/xwing ${curl}`) && l.endsWith('SIGKILL')));
      assert.not.ok(
        events.some((e) => e.process_exec),
        '--event-types filters',
      );
    } finally {
      await outside.close();
      await inside.close();
    }
  });

  test('tcp_connect events as Tetragon writes them: the source port the kernel chose and the socket cookie', async () => {
    const inside = await listen('127.10.0.2', 0);
    const port = (inside.server.address() as { port: number }).port;
    const peers: number[] = [];
    const addrs: string[] = [];
    inside.server.on('connection', (s) => {
      peers.push(s.remotePort!);
      addrs.push(s.remoteAddress!);
    });
    const pol = join(t.dir, 'connect-observe.yaml');
    writeFileSync(
      pol,
      [
        'apiVersion: cilium.io/v1alpha1',
        'kind: TracingPolicy',
        'metadata: {name: connect-observe}',
        'spec:',
        '  kprobes:',
        '  - call: tcp_connect',
        '    syscall: false',
        '    args: [{index: 0, type: sock}]',
        '    selectors:',
        '    - matchArgs: [{index: 0, operator: DAddr, values: [127.10.0.2]}]',
        '',
      ].join('\n'),
    );
    try {
      let r = await talon(['tp', 'add', pol, ...A]);
      assert.is(r.code, 0, r.stderr);
      const g = await getevents(['--pods', 'xwing', '--event-types', 'PROCESS_KPROBE', '--policy-names', 'connect-observe']);
      // no bind: the kernel picks the port inside connect(), after cgroup/connect4 ran
      for (let i = 0; i < 3; i++) {
        r = await exec('xwing', `exec 3<>/dev/tcp/127.10.0.2/${port}; echo ok`);
        assert.is(r.code, 0, r.stderr);
      }
      await waitFor(() => peers.length === 3, 5000);
      const events = await g.stop();
      const socks = events.map((e) => e.process_kprobe.args[0].sock_arg);
      assert.is(socks.length, 3, JSON.stringify(socks));
      assert.equal(
        socks.map((s) => s.sport),
        peers,
        'sport: the port the listener saw the connection come from',
      );
      for (const s of socks) {
        assert.ok(s.sport > 0);
        assert.match(s.cookie, /^[1-9]\d*$/);
        assert.is(s.saddr, addrs[0], 'the source address the kernel chose');
        assert.is(s.daddr, '127.10.0.2');
        assert.is(s.dport, port);
        assert.equal(Object.keys(s), ['family', 'type', 'protocol', 'saddr', 'daddr', 'sport', 'dport', 'cookie', 'state'], "Tetragon's field order");
      }
      assert.is(new Set(socks.map((s) => s.cookie)).size, 3, 'one cookie per socket');
    } finally {
      await talon(['tp', 'delete', 'connect-observe', ...A]);
      await inside.close();
    }
  });

  test("Tetragon's tcp-connect.yaml loads unchanged: tcp_connect, tcp_sendmsg and tcp_close of one socket, joined by its cookie", async () => {
    const corpus = join(repoRoot(), '../shared/tetragon-corpus/policies/examples__tracingpolicy__tcp-connect.yaml');
    if (!existsSync(corpus)) {
      console.log(`  skipped: ${corpus} is absent`);
      return;
    }
    const inside = await listen('127.10.0.2', 0);
    const port = (inside.server.address() as { port: number }).port;
    const peers: number[] = [];
    inside.server.on('connection', (s) => peers.push(s.remotePort!));
    try {
      let r = await talon(['tp', 'add', corpus, ...A]);
      assert.is(r.code, 0, r.stderr);
      const list = JSON.parse((await talon(['tp', 'list', '-o', 'json', ...A])).stdout).policies.find((p: Json) => p.name === 'connect');
      for (const s of ['tln_cgroup_sock', 'generic_kprobe_sockstate_tp', 'generic_kprobe_socksend_tp'])
        assert.ok(JSON.stringify(list).includes(s), `sensor ${s}`);
      const g = await getevents(['--pods', 'xwing', '--event-types', 'PROCESS_KPROBE', '--policy-names', 'connect']);
      r = await exec('xwing', `exec 3<>/dev/tcp/127.10.0.2/${port}; printf hello >&3; exec 3>&-; echo ok`);
      assert.is(r.code, 0, r.stderr);
      await waitFor(() => peers.length === 1, 5000);
      await new Promise((res) => setTimeout(res, 300));
      const events = (await g.stop()).map((e) => e.process_kprobe);
      const connect = events.find((k) => k.function_name === 'tcp_connect' && k.args[0].sock_arg.dport === port);
      assert.ok(connect, JSON.stringify(events));
      const cookie = connect.args[0].sock_arg.cookie;
      assert.match(cookie, /^[1-9]\d*$/);
      const mine = events.filter((k) => k.args[0].sock_arg.cookie === cookie);
      assert.equal(
        mine.map((k) => k.function_name),
        ['tcp_connect', 'tcp_sendmsg', 'tcp_close'],
        'one socket: connect, send, close',
      );
      for (const k of mine) {
        const s = k.args[0].sock_arg;
        assert.is(s.sport, peers[0], `${k.function_name}: the source port`);
        assert.is(s.dport, port);
        assert.is(s.daddr, '127.10.0.2');
        assert.is(s.protocol, 'IPPROTO_TCP');
        assert.is(k.policy_name, 'connect');
        assert.is(k.process.pod.name, 'xwing');
      }
      assert.is(mine[1].args[1].int_arg, 5, 'tcp_sendmsg: the bytes sent');
      assert.is(mine[1].args[0].sock_arg.state, 'TCP_ESTABLISHED');
      assert.is(mine[2].args[0].sock_arg.state, 'TCP_ESTABLISHED', 'tcp_close sees the state before the close');
    } finally {
      await talon(['tp', 'delete', 'connect', ...A]);
      await inside.close();
    }
  });

  test('a pod added after the policy is covered; another namespace is not', async () => {
    let r = await talon(['pod', 'add', 'late', '-n', 'default', '--label', 'app=late', ...A]);
    assert.is(r.code, 0, r.stderr);
    r = await talon(['pod', 'add', 'empire/tie', ...A]);
    assert.is(r.code, 0, r.stderr);
    assert.is((await exec('late', 'cat /etc/shadow')).code, 137);
    assert.is((await talon(['exec', '-n', 'empire', 'tie', ...A, '--', 'cat', '/etc/shadow'])).code, 0, 'file-monitoring-enforce is namespaced to default');
    r = await talon(['pod', 'list', ...A]);
    assert.match(r.stdout, /default\s+late\s+app=late/);
    r = await talon(['pod', 'delete', 'empire/tie', ...A]);
    assert.is(r.code, 0, r.stderr);
    r = await talon(['pod', 'delete', 'default/late', ...A]);
    assert.is(r.code, 0, r.stderr);
    r = await talon(['exec', 'late', ...A, '--', 'true']);
    assert.is(r.code, 1);
    assert.match(r.stderr, /pod default\/late not found/);
  });

  test('exec exit statuses: 0, 1, 137', async () => {
    assert.is((await talon(['exec', 'xwing', ...A, '--', 'true'])).code, 0);
    assert.is((await talon(['exec', 'xwing', ...A, '--', 'sh', '-c', 'exit 1'])).code, 1);
    assert.is((await talon(['exec', 'xwing', ...A, '--', 'sh', '-c', 'kill -9 $$'])).code, 137);
  });

  test('monitor mode kills nothing; set-mode enforce kills again', async () => {
    let r = await talon(['tp', 'delete', 'file-monitoring-enforce', ...A]);
    assert.is(r.code, 0, r.stderr);
    r = await talon(['tp', 'add', ex('file-monitoring-enforce.yaml'), '--mode', 'monitor', ...A]);
    assert.is(r.code, 0, r.stderr);
    const g = await getevents(['--pods', 'xwing', '-e', 'PROCESS_KPROBE']);
    r = await exec('xwing', 'cat /etc/shadow > /dev/null');
    assert.is(r.code, 0, 'monitor: not killed');
    const events = await g.stop();
    assert.ok(events.length >= 1, 'but reported');
    assert.is(events[0].process_kprobe.action, 'KPROBE_ACTION_SIGKILL', 'events show the configured action, as Tetragon');
    r = await talon(['tp', 'list', '-o', 'json', ...A]);
    const p = JSON.parse(r.stdout).policies.find((x: Json) => x.name === 'file-monitoring-enforce');
    assert.is(p.mode, 'TP_MODE_MONITOR');
    assert.ok(p.counters.monitor >= 1, JSON.stringify(p.counters));
    r = await talon(['tp', 'set-mode', 'file-monitoring-enforce', 'enforce', ...A]);
    assert.is(r.code, 0, r.stderr);
    assert.is((await exec('xwing', 'cat /etc/shadow')).code, 137);
  });

  test('differential check: the evaluator agrees with every kernel verdict', async () => {
    const st = await status();
    assert.ok(st.differential.checked >= 4, JSON.stringify(st.differential));
    assert.is(st.differential.disagreed, 0, JSON.stringify(st.differential.samples, null, 2));
    assert.is(st.differential.agreed, st.differential.checked);
  });

  test('restart: pods and API policies survive; stop leaves nothing in the kernel', async () => {
    await notePrograms();
    assert.ok(seenPrograms.size >= 2, 'the policies have programs');
    assert.is(await stopAgent(), 0);
    assert.not.ok(existsSync(sock), 'socket removed');
    assert.equal(await livePrograms(), [], 'none of its programs is left after stop');
    await startAgent();
    const r = await talon(['tp', 'list', ...A]);
    assert.match(r.stdout, /file-monitoring-enforce\s+grpc\s+enabled\s+\d+\s+default\s+tln_\w+\s+\d+(\.\d\d)? [kMG]?B\s+enforce/, 'with its run-time mode');
    assert.match(r.stdout, /egress-cluster-enforce\s+grpc\s+enabled/);
    assert.is((await exec('xwing', 'cat /etc/shadow')).code, 137, 'enforced again after the restart');
    await notePrograms();
    assert.is((await talon(['pod', 'delete', 'default/xwing', ...A])).code, 0);
    assert.is(await stopAgent(), 0);
    assert.equal(await livePrograms(), []);
    assert.equal(talonCgroupLeftovers(), []);
  });
}

test.run();
