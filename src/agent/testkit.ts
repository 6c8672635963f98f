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
