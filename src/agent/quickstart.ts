// `talon quickstart`: Tetragon's enforcement quickstart, in this kernel.
//
// A temporary agent (own state dir and socket), pods default/xwing and
// default/deathstar, the two example policies, a listener "outside the
// cluster" (127.200.0.1) and one in the deathstar pod (127.10.0.2); then the
// seed scenarios run in xwing while the events stream as `talon getevents -o
// compact --pods xwing` shows them. The pods are real containerd pods made
// over CRI as the kubelet makes them, commands exec'd as `kubectl exec` does
// (src/pods/containerd.ts, the agent with --enable-cri) when containerd and
// runc are installed; otherwise cgroup pods of `talon pod add`, commands run
// as `talon exec` does. Everything is removed at the end, also on failure or
// Ctrl-C.
import { createServer, type Server, type Socket } from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '../api/client.js';
import { createColorer, type ColorMode } from '../events/color.js';
import { CompactRenderer } from '../events/compact.js';
import type { TetragonEvent } from '../events/tetragon.js';
import type { Pod } from '../pods/pod.js';
import { exitStatus } from '../pods/exec.js';
import { Containerd, containerdMissing } from '../pods/containerd.js';
import { Agent, preflight } from './agent.js';

export interface QuickstartOptions {
  color?: ColorMode;
  out?: NodeJS.WritableStream;
  /** repository root holding examples/ (default: found from this file) */
  root?: string;
  /** pods: containerd's when it can run here ("auto", the default), or always cgroup pods */
  pods?: 'auto' | 'cgroup';
}

/** Where the scenarios' pods come from, and how a command runs in one. */
interface PodDriver {
  /** what the summary says */
  kind: string;
  add(name: string, labels: Record<string, string>, listener?: string): Promise<string>;
  exec(pod: string, argv: string[], cwd: string): Promise<{ status: number; output: string }>;
  /** how the commands are shown */
  prompt: string;
}

/** The loopback "cluster" of the examples. */
export const NET = {
  podCidr: '127.10.0.0/16',
  serviceCidr: '127.96.0.0/12',
  xwingAddr: '127.10.0.5',
  deathstar: { host: '127.10.0.2', port: 8080 },
  outside: { host: '127.200.0.1', port: 18080 },
} as const;

export interface ScenarioResult {
  name: string;
  command: string;
  where: string;
  expected: number;
  got: number;
  ok: boolean;
  note?: string;
}

function findRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'examples'))) return d;
    d = resolve(d, '..');
  }
  return process.cwd();
}

class Aborted extends Error {}

/** Like execInCgroup, with stdout+stderr captured. */
export function runCaptured(cgroupPath: string | null, argv: string[], cwd?: string, timeoutMs = 20_000): Promise<{ status: number; output: string }> {
  return new Promise((resolveP, reject) => {
    const script = 'echo $$ > "$0" && exec "$@"';
    const child =
      cgroupPath === null
        ? spawn(argv[0], argv.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn('/bin/sh', ['-c', script, join(cgroupPath, 'cgroup.procs'), ...argv], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const status = exitStatus(code, signal);
      resolveP({ status, output });
    });
  });
}

/** A TCP listener that counts the connections it accepted. */
export async function listen(host: string, port: number, reply = ''): Promise<{ server: Server; accepted: () => number; close: () => Promise<void> }> {
  let n = 0;
  const socks = new Set<Socket>();
  const server = createServer((s) => {
    n++;
    socks.add(s);
    s.on('close', () => socks.delete(s));
    s.on('error', () => undefined);
    if (reply) s.end(reply);
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(port, host, () => res());
  });
  return {
    server,
    accepted: () => n,
    close: () =>
      new Promise<void>((res) => {
        for (const s of socks) s.destroy();
        server.close(() => res());
      }),
  };
}

const HTTP_REPLY = 'HTTP/1.1 200 OK\r\ncontent-length: 13\r\nconnection: close\r\n\r\nShip landed\r\n';

export async function runQuickstart(opts: QuickstartOptions = {}): Promise<number> {
  const out = opts.out ?? process.stdout;
  const say = (s = '') => out.write(s + '\n');
  const why = preflight();
  if (why) {
    process.stderr.write(`talon quickstart: ${why}\n`);
    return 1;
  }
  const c = createColorer(opts.color ?? 'auto', out as unknown as { isTTY?: boolean });
  const root = opts.root ?? findRoot();
  const tmp = mkdtempSync(join(tmpdir(), 'talon-quickstart-'));
  const work = join(tmp, 'work');
  const cleanups: [string, () => unknown][] = [];
  let aborted: (e: Error) => void = () => undefined;
  const abort = new Promise<never>((_, rej) => (aborted = rej));
  abort.catch(() => undefined);
  const onSignal = (s: NodeJS.Signals) => aborted(new Aborted(`${s}: stopping and cleaning up`));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const step = <T>(p: Promise<T>): Promise<T> => Promise.race([p, abort]);
  const results: ScenarioResult[] = [];
  let failed = false;

  try {
    say(c.bold("talon quickstart: Tetragon's enforcement quickstart, in this kernel"));
    say(c.dim(`state ${tmp}; loopback cluster: pods ${NET.podCidr}, services ${NET.serviceCidr}, outside ${NET.outside.host}`));
    const socket = join(tmp, 'talon.sock');
    const noCri = opts.pods === 'cgroup' ? 'asked for cgroup pods' : containerdMissing();
    let ctrd: Containerd | null = null;
    if (!noCri) {
      ctrd = await step(Containerd.start());
      const c2 = ctrd;
      cleanups.push(['containerd', () => c2.stop()]);
      const v = await step(ctrd.client.version());
      say(
        `${c.green('✔')} real pods: a private ${v.runtime_name} ${v.runtime_version} (runc, CRI ${v.runtime_api_version}), pods made over CRI as the kubelet does`,
      );
    } else {
      say(`${c.yellow('!')} containerd cannot run here (${noCri}): pods are cgroups of talon pod add (scripts/setup.sh installs containerd and runc)`);
    }
    const agent = await step(
      Agent.start({
        stateDir: join(tmp, 'state'),
        serverAddress: `unix://${socket}`,
        nodeName: 'talon-quickstart',
        // its own cgroup parent: never the pods of an agent running on this machine
        cgroupParent: `talon-quickstart-${process.pid}`,
        ...(ctrd ? { cri: { endpoint: ctrd.endpoint, pollMs: 100 } } : {}),
        log: () => undefined,
      }),
    );
    cleanups.push([
      'agent',
      async () => {
        await agent.pods.deleteAll();
        await agent.stop();
      },
    ]);
    const client = await step(ApiClient.connect({ address: `unix://${socket}` }));
    cleanups.push(['client', () => client.close()]);
    say(`${c.green('✔')} agent started (API ${agent.serverAddress})`);

    // pods, and a listener in the deathstar pod ("in the cluster")
    const lscript = join(tmp, 'deathstar.cjs');
    writeFileSync(
      lscript,
      `require('net').createServer((s) => { s.on('error', () => {}); s.end(${JSON.stringify(HTTP_REPLY)}); })` +
        `.listen(${NET.deathstar.port}, ${JSON.stringify(NET.deathstar.host)}, () => process.stdout.write('ready\\n'));`,
    );
    const driver: PodDriver = ctrd ? criDriver(ctrd, agent, tmp, step) : cgroupDriver(client, cleanups, step);
    const xwing = await step(driver.add('xwing', { app: 'xwing', class: 'xwing', org: 'alliance' }));
    await step(driver.add('deathstar', { app: 'deathstar', class: 'deathstar', org: 'empire' }, lscript));
    await step(waitListening(NET.deathstar.host, NET.deathstar.port, 10_000));
    say(`${c.green('✔')} pods default/xwing (app=xwing) and default/deathstar (org=empire), ${driver.kind}`);

    // the listener outside, on the host
    const outside = await step(listen(NET.outside.host, NET.outside.port, HTTP_REPLY));
    cleanups.push(['outside listener', () => outside.close()]);
    say(
      `${c.green('✔')} listeners: outside ${NET.outside.host}:${NET.outside.port} (host), in-cluster ${NET.deathstar.host}:${NET.deathstar.port} (deathstar pod)`,
    );

    // policies
    for (const f of ['file-monitoring-enforce.yaml', 'egress-cluster-enforce.yaml']) {
      const file = join(root, 'examples', f);
      const r = await step(
        client.call<{ policies: { name: string; namespace: string | null; mode: string; sensors: string[] }[] }>('policy.add', {
          yaml: await readFile(file, 'utf8'),
          file: `examples/${f}`,
          namespace: 'default',
        }),
      );
      for (const p of r.policies) say(`${c.green('✔')} tracing policy ${p.namespace}/${p.name} loaded (${p.mode}; ${p.sensors.join(', ')})`);
    }

    // events, as `talon getevents -o compact --pods xwing` shows them
    const renderer = new CompactRenderer({ colorer: c });
    const lines: string[] = [];
    await step(
      client.subscribe({ allow: [{ pod_regex: ['^xwing$'] }] }, (ev) => {
        const l = renderer.render(ev as TetragonEvent);
        if (l !== null) lines.push(l);
      }),
    );
    const flush = async () => {
      await new Promise((r) => setTimeout(r, 400));
      for (const l of lines.splice(0)) say('    ' + l);
    };

    mkdirSync(work, { recursive: true });
    const curl = (url: string, extra: string[] = []) => `curl -s --max-time 5 --interface ${NET.xwingAddr} ${extra.join(' ')} ${url}`.replace(/ +/g, ' ');
    const scenarios: { name: string; cmd: string; expected: number; cwd?: string; host?: boolean; check?: () => string | null }[] = [
      { name: 'read a sensitive file', cmd: 'cat /etc/shadow', expected: 137 },
      { name: 'write and read a file of no interest', cmd: 'echo foo >> bar; cat bar', expected: 0, cwd: work },
      {
        name: 'connect outside the cluster',
        cmd: curl(`http://${NET.outside.host}:${NET.outside.port}/`, ['--local-port', '45200-45299']),
        expected: 137,
        check: () => (outside.accepted() === 0 ? null : `the outside listener accepted ${outside.accepted()} connection(s)`),
      },
      { name: 'connect inside the cluster', cmd: curl(`http://${NET.deathstar.host}:${NET.deathstar.port}/`), expected: 0 },
      { name: 'the same read on the host', cmd: 'cat /etc/shadow > /dev/null', expected: 0, host: true },
    ];
    for (const s of scenarios) {
      say();
      const where = s.host ? 'host' : 'default/xwing';
      say(c.bold(`$ ${s.host ? '' : driver.prompt}bash -c ${JSON.stringify(s.cmd)}`) + c.dim(`   # ${s.name}`));
      const r = await step(s.host ? runCaptured(null, ['bash', '-c', s.cmd], s.cwd) : driver.exec(xwing, ['bash', '-c', s.cmd], s.cwd ?? '/'));
      for (const l of r.output.split('\n').filter(Boolean).slice(0, 5)) say(c.dim(`  | ${l}`));
      if (r.status !== 0) say(`  command terminated with exit code ${r.status}`);
      await step(flush());
      const note = s.check?.() ?? undefined;
      const ok = r.status === s.expected && !note;
      if (!ok) failed = true;
      results.push({ name: s.name, command: s.cmd, where, expected: s.expected, got: r.status, ok, ...(note ? { note } : {}) });
    }

    const st = (await step(client.call<{ differential: { checked: number; disagreed: number } }>('status'))).differential;
    say();
    say(c.bold('summary'));
    for (const r of results) {
      const mark = r.ok ? c.green('✔') : c.red('✘');
      say(`  ${mark} ${r.name.padEnd(36)} ${r.where.padEnd(14)} exit ${String(r.got).padEnd(4)} (expected ${r.expected})${r.note ? c.red(`: ${r.note}`) : ''}`);
    }
    say(
      `  ${st.disagreed === 0 ? c.green('✔') : c.red('✘')} differential check: ${st.checked} kernel verdicts, ${st.disagreed} disagreements with the Wasm evaluator`,
    );
    say(`  ${outside.accepted() === 0 ? c.green('✔') : c.red('✘')} the outside listener accepted ${outside.accepted()} connections`);
    if (st.disagreed !== 0) failed = true;
  } catch (e) {
    failed = true;
    process.stderr.write(`talon quickstart: ${(e as Error).message}\n`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const [what, fn] of cleanups.reverse()) {
      try {
        if (process.env.TALON_DEBUG) process.stderr.write(`talon quickstart: cleanup: ${what}\n`);
        await fn();
      } catch (e) {
        failed = true;
        process.stderr.write(`talon quickstart: cleanup ${what}: ${(e as Error).message}\n`);
      }
    }
    rmSync(tmp, { recursive: true, force: true });
    say(c.dim('cleaned up: pods, agent (programs detached), listeners, containerd (when used), temporary files'));
  }
  return failed ? 1 : 0;
}

/** cgroup pods of `talon pod add`; commands run as `talon exec` runs them. */
function cgroupDriver(client: ApiClient, cleanups: [string, () => unknown][], step: <T>(p: Promise<T>) => Promise<T>): PodDriver {
  const paths = new Map<string, string>();
  return {
    kind: 'cgroups of talon pod add',
    prompt: 'talon exec xwing -- ',
    async add(name, labels, listener) {
      const pod = (await step(client.call<{ pod: Pod }>('pod.add', { namespace: 'default', name, labels }))).pod;
      paths.set(name, pod.cgroupPath);
      if (listener) {
        const ds = spawn('/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', join(pod.cgroupPath, 'cgroup.procs'), process.execPath, listener], {
          stdio: 'ignore',
        });
        cleanups.push([`${name} listener`, () => ds.kill('SIGKILL')]);
      }
      return name;
    },
    exec: (pod, argv, cwd) => runCaptured(paths.get(pod)!, argv, cwd),
  };
}

/** containerd pods over CRI; commands exec'd as `kubectl exec` reaches the runtime (ExecSync), in the container's /work. */
function criDriver(ctrd: Containerd, agent: Agent, tmp: string, step: <T>(p: Promise<T>) => Promise<T>): PodDriver {
  const ids = new Map<string, string>();
  return {
    kind: `containerd pods (${ctrd.endpoint})`,
    prompt: 'kubectl exec xwing -- ',
    async add(name, labels, listener) {
      const pod = await step(ctrd.runPod('default', name, labels));
      const id = await step(
        ctrd.createContainer(
          pod,
          name,
          listener ? { command: [process.execPath, `/quickstart/${listener.slice(tmp.length + 1)}`], mounts: listenerMounts(tmp) } : {},
        ),
      );
      ids.set(name, id);
      // the agent must know the container before a command runs in it
      const end = Date.now() + 10_000;
      while (!agent.pods.list().some((p) => p.container.id === `containerd://${id}`)) {
        if (Date.now() > end) throw new Error(`the agent did not see container ${id} of pod default/${name}`);
        await agent.cri?.sync();
      }
      return name;
    },
    async exec(pod, argv) {
      const r = await ctrd.exec(ids.get(pod)!, argv);
      return { status: r.code, output: r.stdout + r.stderr };
    },
  };
}

/** The listener's script, and node itself when it is not under /usr (which every container has). */
function listenerMounts(tmp: string): { container_path: string; host_path: string; readonly: boolean }[] {
  const m = [{ container_path: '/quickstart', host_path: tmp, readonly: true }];
  const nodeDir = dirname(process.execPath);
  if (!nodeDir.startsWith('/usr/')) m.push({ container_path: nodeDir, host_path: nodeDir, readonly: true });
  return m;
}

/** Resolves once host:port accepts a connection. */
async function waitListening(host: string, port: number, ms: number): Promise<void> {
  const { connect } = await import('node:net');
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, host);
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listens on ${host}:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
