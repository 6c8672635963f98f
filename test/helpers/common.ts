// The small helpers every kind of test suite uses: where the repository is,
// waiting, temporary directories. One definition each; the other helper
// modules (agent.ts, cli.ts, core.ts, kernel.ts) build on these.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the folder with package.json and bin/talon.js), found from this file (dist/test/helpers/common.js). */
export function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'bin', 'talon.js'))) return d;
    d = resolve(d, '..');
  }
  return process.cwd();
}

export const ROOT = repoRoot();

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

/** A fresh temporary directory and a function removing it. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The JSON values of the complete lines of text another process may still be
 * writing (an export file, a running getevents): a last line without its
 * newline is not read yet; every complete line must parse.
 */
export function jsonLines(text: string): any[] {
  const lines = text.split('\n');
  lines.pop();
  return lines.filter(Boolean).map((l) => JSON.parse(l));
}
