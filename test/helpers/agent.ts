// Helpers of the agent/pods/api test suites: skipping with a reason, leftover
// checks, an agent started and stopped as a child process, its status and events.
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cgroup2Root } from '../../src/pods/cgroup.js';
import { pinDirFor, removePins } from '../../src/kernel/pins.js';
import { talon, talonBackground, type Background } from './cli.js';
import { sleep, tempDir, waitFor } from './common.js';
import { bpftoolTlnProgs } from './kernel.js';

// the suites import these from here with the agent helpers
export { jsonLines, repoRoot, sleep, tempDir, waitFor } from './common.js';
export { talon, talonBackground, type Background, type CliResult } from './cli.js';

/** Null when running as root, else prints why `what` is skipped and returns the reason. */
export function skipUnlessRoot(what: string): string | null {
  if (process.getuid?.() === 0) return null;
  const reason = `${what}: skipped, needs root (creates cgroups${what.startsWith('pods') ? '' : ', loads BPF programs'})`;
  console.log(`  ${reason}`);
  return reason;
}

/**
 * Makes this process (and the agents and CLIs it starts) keep pods under its
 * own cgroup parent, talon-test-<pid>: tests never touch the pods of an agent
 * running on the machine, nor those of a concurrent test run.
 */
export function useTestCgroupParent(): string {
  if (!process.env.TALON_CGROUP_PARENT) process.env.TALON_CGROUP_PARENT = `talon-test-${process.pid}`;
  return process.env.TALON_CGROUP_PARENT;
}

/** talon* directories this run left in the cgroup v2 root (its own parent; all of them when it has none). */
export function talonCgroupLeftovers(): string[] {
  const own = process.env.TALON_CGROUP_PARENT;
  try {
    return readdirSync(cgroup2Root()).filter((n) => (own ? n === own : n.startsWith('talon')));
  } catch {
    return [];
  }
}

/** Names of loaded BPF programs starting with tln_ (bpftool, when installed). */
export function tlnPrograms(): string[] {
  return bpftoolTlnProgs().map((p) => p.name);
}

/**
 * The tln_ programs still loaded after an agent stopped, once the kernel had time to free
 * them: it releases the link of a closed fd from a workqueue, so a program can outlive the
 * agent's exit by a moment (seen in CI under load).
 */
export async function tlnProgramsAfterStop(ms = 5000): Promise<string[]> {
  await waitFor(() => tlnPrograms().length === 0, ms, 100);
  return tlnPrograms();
}

type Json = Record<string, any>;

/** Starts `talon agent <args>` and waits for its "ready:" line; throws with its stderr when it exits first or stays silent. */
export async function spawnAgent(args: string[]): Promise<Background> {
  const a = talonBackground(['agent', ...args]);
  let exited = false;
  void a.exited.then(() => (exited = true));
  const up = await waitFor(() => exited || /ready:/.test(a.err()), 30_000, 50);
  if (exited || !up) {
    a.child.kill('SIGKILL');
    throw new Error(`agent did not start:\n${a.err()}`);
  }
  return a;
}

/** SIGTERM, then SIGKILL after 20 s; the exit code, or -1 when it had to be killed. */
export async function terminate(a: Background): Promise<number> {
  a.child.kill('SIGTERM');
  const code = await Promise.race([a.exited, sleep(20_000).then(() => -1)]);
  if (code === -1) {
    // killed: its pinned links would outlive the test (and its state dir, which names them)
    a.child.kill('SIGKILL');
    await a.exited;
    const i = a.child.spawnargs.indexOf('--state-dir');
    if (i >= 0) removePins(pinDirFor(a.child.spawnargs[i + 1]));
  }
  return code;
}

/**
 * SIGTERM, then what a user checks after stopping the agent: exit 0, none of the
 * programs it had loaded (ids from `tp list -o json`, at least `atLeast` of them)
 * left in the kernel, no talon cgroup left.
 */
export async function assertStopLeavesNothing(a: Background, programs: Set<number>, atLeast = 1): Promise<void> {
  a.child.kill('SIGTERM');
  assert.is(await a.exited, 0, a.err());
  const live = () => {
    const ids = new Set(bpftoolTlnProgs().map((p) => p.id));
    return [...programs].filter((id) => ids.has(id));
  };
  assert.ok(programs.size >= atLeast, `the agent listed ${programs.size} programs, fewer than ${atLeast}`);
  await waitFor(() => live().length === 0, 5000, 100);
  assert.equal(live(), []);
  assert.equal(talonCgroupLeftovers(), []);
}

/**
 * A suite's own agent: a temp dir holding its socket and state, a node name and
 * (if given) one test pod. `start` runs the agent and adds the pod; `stop` deletes the pod,
 * stops the agent and removes the dir (call it from `test.after`, so it runs
 * when a test fails). Pass `A` to every CLI call that talks to it.
 */
export interface IsolatedAgent {
  dir: string;
  A: string[];
  /** the agent's unix socket (gone once it stopped) */
  sock: string;
  agent: Background | null;
  start(extra?: string[]): Promise<Background>;
  stop(): Promise<void>;
}

export function isolatedAgent(name: string, pod?: string): IsolatedAgent {
  useTestCgroupParent();
  const t = tempDir(`talon-${name}-`);
  const sock = join(t.dir, 'talon.sock');
  const A = ['--server-address', `unix://${sock}`];
  const me: IsolatedAgent = {
    dir: t.dir,
    A,
    sock,
    agent: null,
    async start(extra: string[] = []) {
      me.agent = await spawnAgent(['--state-dir', join(t.dir, 'state'), ...A, '--node-name', `talon-${name}`, ...extra]);
      const r = pod ? await talon(['pod', 'add', pod, ...A]) : null;
      if (r && r.code !== 0) throw new Error(`talon pod add ${pod}: ${r.stderr}`);
      return me.agent;
    },
    async stop() {
      if (me.agent) {
        if (pod) await talon(['pod', 'delete', pod, ...A]).catch(() => undefined);
        await terminate(me.agent);
        me.agent = null;
      }
      t.remove();
    },
  };
  return me;
}

/** `talon status -o json` of the agent the client arguments (--server-address ...) name. */
export async function agentStatus(conn: string[]): Promise<Json> {
  const r = await talon(['status', '-o', 'json', ...conn]);
  if (r.code !== 0) throw new Error(`talon status: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/**
 * `talon getevents -o json <args>` in the background, returned once the agent
 * counts it as a subscriber. stop() waits until no event arrived for 400 ms
 * (the ring buffer delivers in batches), ends it, checks it exited 0, and
 * returns its events.
 */
export async function jsonEvents(args: string[], conn: string[]): Promise<{ stop: () => Promise<Json[]> }> {
  const subs = async () => (await agentStatus(conn)).events.subscribers as number;
  const before = await subs();
  const g = talonBackground(['getevents', '-o', 'json', ...args, ...conn]);
  await waitFor(async () => (await subs()) > before, 10_000, 50);
  return {
    stop: async () => {
      for (let last = -1, i = 0; i < 30 && g.out().length !== last; i++) {
        last = g.out().length;
        await sleep(400);
      }
      g.child.kill('SIGINT');
      const code = await g.exited;
      if (code !== 0) throw new Error(`getevents exited ${code}: ${g.err()}`);
      return g
        .out()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    },
  };
}

export interface FileReadPolicy {
  name: string;
  namespace: string;
  /** reads (mask 4) of files under this prefix match */
  prefix: string;
  /** podSelector app=<app>; none when absent */
  app?: string;
  /** matchActions entries as YAML lines, e.g. "- action: Sigkill" */
  actions?: string;
  mode?: string;
}

/** A TracingPolicyNamespaced on security_file_permission reads of files under `prefix`, as the seed's file policy. */
export function fileReadPolicy(p: FileReadPolicy): string {
  return [
    'apiVersion: cilium.io/v1alpha1',
    'kind: TracingPolicyNamespaced',
    'metadata:',
    `  name: ${p.name}`,
    `  namespace: ${p.namespace}`,
    'spec:',
    ...(p.mode ? ['  options:', '  - name: policy-mode', `    value: ${p.mode}`] : []),
    ...(p.app ? ['  podSelector:', '    matchLabels:', `      app: ${p.app}`] : []),
    '  kprobes:',
    '  - call: security_file_permission',
    '    syscall: false',
    '    args:',
    '    - index: 0',
    '      type: file',
    '    - index: 1',
    '      type: int',
    '    selectors:',
    '    - matchArgs:',
    '      - index: 0',
    '        operator: Prefix',
    `        values: ["${p.prefix}"]`,
    '      - index: 1',
    '        operator: Equal',
    '        values: ["4"]',
    ...(p.actions ? ['      matchActions:', ...p.actions.split('\n').map((l) => `      ${l}`)] : []),
    '',
  ].join('\n');
}

/**
 * A TracingPolicyNamespaced with n CIDRs in DAddr matchArgs of tcp_connect, spread over `hooks`
 * kprobes entries (the image keeps each hook's spec record under 64 KiB), scoped to no pod
 * (app: nobody): it enforces nothing.
 */
export function cidrPolicy(n: number, name = 'many-cidrs', hooks = Math.ceil(n / 3000)): string {
  const values = Array.from({ length: n }, (_, i) => `"10.${(i >> 8) & 255}.${i & 255}.0/24"`);
  const per = Math.ceil(n / hooks);
  const out = [
    'apiVersion: cilium.io/v1alpha1',
    'kind: TracingPolicyNamespaced',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  podSelector:',
    '    matchLabels:',
    '      app: nobody',
    '  kprobes:',
  ];
  for (let h = 0; h < hooks; h++) {
    out.push(
      '  - call: tcp_connect',
      '    syscall: false',
      '    args:',
      '    - index: 0',
      '      type: sock',
      '    selectors:',
      '    - matchArgs:',
      '      - index: 0',
      '        operator: DAddr',
      `        values: [${values.slice(h * per, (h + 1) * per).join(', ')}]`,
    );
  }
  return out.join('\n') + '\n';
}
