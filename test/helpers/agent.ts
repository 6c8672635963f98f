// Helpers shared by the agent/pods/api test suites and the quickstart:
// skipping with a reason, leftover checks, temporary state directories.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cgroup2Root } from '../pods/cgroup.js';

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
  try {
    const out = execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return (JSON.parse(out) as { name?: string }[]).map((p) => p.name ?? '').filter((n) => n.startsWith('tln_'));
  } catch {
    return [];
  }
}

/** A fresh temporary directory and a function removing it. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value or `ms` pass; returns the last value. */
export async function waitFor<T>(fn: () => T | Promise<T>, ms = 3000, step = 25): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await sleep(step);
  }
}


/** The repository root (the folder with package.json and bin/talon.js). */
export function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'bin', 'talon.js'))) return d;
    d = resolve(d, '..');
  }
  return process.cwd();
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `talon <args>` (bin/talon.js) to completion. */
export function talon(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {}): Promise<CliResult> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [join(repoRoot(), 'bin', 'talon.js'), ...args], {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b));
    child.stderr!.on('data', (b: Buffer) => (stderr += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.once('error', rej);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      res({ code: code ?? 128 + (signal === 'SIGKILL' ? 9 : 15), stdout, stderr });
    });
    child.stdin!.end(opts.input ?? '');
  });
}

/** Starts `talon <args>` in the background; output is collected. */
export function talonBackground(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; out: () => string; err: () => string; exited: Promise<number> } {
  const child = spawn(process.execPath, [join(repoRoot(), 'bin', 'talon.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b));
  child.stderr!.on('data', (b: Buffer) => (err += b));
  const exited = new Promise<number>((r) => child.once('close', (code, signal) => r(code ?? (signal === 'SIGKILL' ? 137 : 143))));
  return { child, out: () => out, err: () => err, exited };
}

export type Background = ReturnType<typeof talonBackground>;
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

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
  if (code === -1) a.child.kill('SIGKILL');
  return code;
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
