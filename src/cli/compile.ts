// `talon compile`: check policies and write the image.

import { createHash } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Mode, PolicySpec } from '../core/types.js';
import { checkPolicies, describeFsError, formatDiagnostic, readPolicyInputs, type PolicyCheck, type PolicyDiagnostic } from '../policy/index.js';
import { loadCore } from './core.js';
import { EXIT_INPUT, EXIT_OK } from './errors.js';

export interface Io {
  stdout: Writable;
  stderr: Writable;
  /** what "-" reads (default: the process's stdin) */
  stdin?: Readable;
}

export interface CompileFlags {
  /** image path, "-" for stdout; undefined with check */
  output?: string;
  namespace: string;
  mode?: Mode;
  check: boolean;
  /** --kernel: features files (talon probe -o json) to check the policies against */
  kernels?: string[];
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** `2 policies: file-monitoring-filtered (cluster, enforce, 3 hooks), default/x (namespaced, monitor_only, 1 hook)` */
export function describePolicies(specs: PolicySpec[]): string {
  const parts = specs.map((p) => {
    const who = p.namespace !== null ? `${p.namespace}/${p.name}` : p.name;
    const scope = p.kind === 'TracingPolicyNamespaced' ? 'namespaced' : 'cluster';
    return `${who} (${scope}, ${p.mode}, ${plural(p.hooks.length, 'hook')})`;
  });
  return `${plural(specs.length, 'policy', 'policies')}: ${parts.join(', ')}`;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Prints diagnostics to stderr; returns the error count. */
export function reportDiagnostics(diags: PolicyDiagnostic[], stderr: Writable): number {
  let errors = 0;
  for (const d of diags) {
    stderr.write(formatDiagnostic(d) + '\n');
    if (d.severity === 'error') errors++;
  }
  return errors;
}

/**
 * Reads, checks and compiles policy files, printing every diagnostic. Returns
 * the check, or null when any file is unreadable or any policy is invalid (the
 * errors are already printed).
 */
export async function loadAndCheck(files: string[], namespace: string, mode: Mode | undefined, io: Io, what: string): Promise<PolicyCheck | null> {
  const { inputs, unreadable } = await readPolicyInputs(files, io.stdin);
  let check: PolicyCheck | null = null;
  let diags = unreadable;
  if (inputs.length > 0) {
    const core = await loadCore();
    check = checkPolicies(inputs, { defaultNamespace: namespace, mode }, (docs, opts) => core.compile(docs, opts));
    diags = [...unreadable, ...check.diagnostics].sort((a, b) => a.fileOrder - b.fileOrder || a.offset - b.offset);
  }
  const errors = reportDiagnostics(diags, io.stderr);
  if (errors > 0 || check === null) {
    const filesWithErrors = new Set(diags.filter((d) => d.severity === 'error').map((d) => d.file)).size;
    io.stderr.write(`talon ${what}: ${plural(errors, 'error')} in ${plural(filesWithErrors, 'file')}\n`);
    return null;
  }
  return check;
}

/** Writes and waits until the data is handed over; rejects on a write error. */
function writeAll(stream: Writable, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (e: Error): void => reject(e);
    stream.once('error', fail);
    try {
      stream.write(data, (e) => {
        // on an error the listener stays: the stream emits 'error' after this callback
        if (e) reject(e);
        else {
          stream.off('error', fail);
          resolve();
        }
      });
    } catch (e) {
      stream.off('error', fail);
      reject(e);
    }
  });
}

async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/** --kernel: per kernel, per hook, the implementation or why it cannot load; 1 when some hook cannot load somewhere */
async function kernelReport(specs: PolicySpec[], files: string[], io: Io): Promise<number> {
  const { kernelCheck, readFeatures } = await import('../kernel/support.js');
  let failed = 0;
  for (const file of files) {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, 'utf8'));
    } catch (e) {
      io.stderr.write(`talon compile: --kernel ${file}: ${e instanceof SyntaxError ? `not JSON: ${e.message}` : describeFsError(e)}\n`);
      return EXIT_INPUT;
    }
    const f = readFeatures(json);
    if (typeof f === 'string') {
      io.stderr.write(`talon compile: --kernel ${file}: ${f}\n`);
      return EXIT_INPUT;
    }
    io.stdout.write(`kernel ${f.release ?? 'unknown'} (${file}):\n`);
    for (const p of specs) {
      const who = p.namespace !== null ? `${p.namespace}/${p.name}` : p.name;
      for (const h of kernelCheck(p, f)) {
        if (h.ok) io.stdout.write(`  ok      ${who}: ${h.hook}: ${h.sensor} (${h.mechanism})\n`);
        else {
          failed++;
          io.stdout.write(`  refused ${who}: ${h.hook}: ${h.reason}\n`);
        }
        for (const w of h.warnings) io.stdout.write(`  warning ${who}: ${w}\n`);
      }
    }
  }
  if (failed > 0) {
    io.stderr.write(`talon compile: ${plural(failed, 'hook')} cannot load on ${files.length === 1 ? 'this kernel' : 'some of these kernels'}\n`);
    return EXIT_INPUT;
  }
  return EXIT_OK;
}

export async function runCompile(files: string[], flags: CompileFlags, io: Io): Promise<number> {
  const check = await loadAndCheck(files, flags.namespace, flags.mode, io, 'compile');
  if (check === null || check.image === null) return EXIT_INPUT;
  const core = await loadCore();
  const summary = describePolicies(core.inspectImage(check.image));
  if (flags.check) {
    io.stdout.write(`ok  ${plural(files.length, 'file')}, ${summary}\n`);
    if (flags.kernels && flags.kernels.length > 0) return kernelReport(core.inspectImage(check.image), flags.kernels, io);
    return EXIT_OK;
  }
  const out = flags.output!;
  const line = `sha256:${sha256(check.image)}  ${out}\n`;
  if (out === '-') {
    try {
      await writeAll(io.stdout, check.image);
    } catch (e) {
      io.stderr.write(`talon compile: cannot write the image: ${describeFsError(e)}\n`);
      return EXIT_INPUT;
    }
    io.stderr.write(line);
    io.stderr.write(summary + '\n');
    return EXIT_OK;
  }
  try {
    await writeAtomic(out, check.image);
  } catch (e) {
    io.stderr.write(`talon compile: cannot write ${out}: ${describeFsError(e)}\n`);
    return EXIT_INPUT;
  }
  io.stdout.write(line);
  io.stdout.write(summary + '\n');
  return EXIT_OK;
}
