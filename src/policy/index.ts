// Policy loading: YAML files -> documents -> shape check (JSON schema) -> the
// Wasm core's compile -> one image, with every problem of every file reported
// together as file:line:col diagnostics.

import { readFile } from 'node:fs/promises';
import type { CompileOptions, CompileResult } from '../core/types.js';
import { compareDiagnostics, formatPath, type PolicyDiagnostic } from './diagnostics.js';
import { canonicalKeys, validateShape } from './validate.js';
import { locate, position, readPolicySource, type PolicyDocument } from './yaml.js';
import { describeFsError } from './fs-error.js';

export { formatDiagnostic, formatPath, type PolicyDiagnostic, type Severity } from './diagnostics.js';
export { policySchema } from './schema.js';
export { validateShape, suggest, editDistance, type ShapeProblem, type Path, type Anchor } from './validate.js';
export { readPolicySource, locate, type PolicyDocument, type PolicySource } from './yaml.js';
export { normalizeDoc } from './normalize.js';
export { describeFsError } from './fs-error.js';

export type CompileFn = (docs: unknown[], opts: CompileOptions) => CompileResult;

export interface PolicyInput {
  /** the name used in diagnostics */
  name: string;
  text: string;
}

export interface PolicyCheck {
  /** the compiled image; null when there is any error */
  image: Uint8Array | null;
  /** sorted by file (input order), then position */
  diagnostics: PolicyDiagnostic[];
  /** the documents handed to the core, in order (Diagnostic.doc indexes this) */
  documents: PolicyDocument[];
  errors: number;
  warnings: number;
}

/**
 * Checks and compiles policy sources. Every document that parses is checked by
 * both layers (the schema for shape, the core for meaning), so that all problems
 * are reported in one run, each once:
 *
 * - A missing required field is shape: the schema reports it (at the map that
 *   lacks the field). The core checks required fields too (its compile stands on
 *   its own), so its report of the same field missing from the same map is
 *   left out; its other findings about that map are kept.
 * - Any other schema problem (unknown or unsupported field, wrong type) rejects
 *   the node at its path; a core error about that very node would only restate
 *   it and is left out.
 */
/** What a compile for a load on this kernel adds (the agent's); a check compiles the documents as written. */
export interface LoadTyping {
  /** types auto fields from this kernel's tracepoint formats, in place (src/kernel/tracefs.ts typeAutoArgs) */
  typeAuto(doc: unknown): unknown;
}

export function checkPolicies(inputs: PolicyInput[], opts: CompileOptions, compile: CompileFn, load?: LoadTyping): PolicyCheck {
  const diagnostics: PolicyDiagnostic[] = [];
  const documents: PolicyDocument[] = [];
  inputs.forEach((input, fileOrder) => {
    const { docs, problems } = readPolicySource(input.name, input.text);
    for (const p of problems) {
      diagnostics.push({
        file: input.name,
        fileOrder,
        line: p.pos.line,
        col: p.pos.col,
        offset: p.pos.offset,
        path: '',
        message: p.message,
        severity: p.severity,
        origin: 'yaml',
      });
    }
    for (const d of docs) {
      const note = nonPolicy(d.value);
      if (note !== undefined) {
        // a Pod or Namespace in the same manifest: not ours to check
        const pos = position(d.source, d.doc.contents?.range?.[0] ?? 0);
        diagnostics.push({
          file: input.name,
          fileOrder,
          line: pos.line,
          col: pos.col,
          offset: pos.offset,
          path: '',
          message: note,
          severity: 'warning',
          origin: 'yaml',
        });
        continue;
      }
      canonicalKeys(d.value);
      load?.typeAuto(d.value);
      documents.push(d);
    }
  });

  const fileOrderOf = new Map(inputs.map((i, n) => [i.name, n] as const));
  /** doc, path: nodes the schema rejected */
  const schemaFlagged = new Set<string>();
  /** doc, path of a map, field: required fields the schema found missing */
  const schemaMissing = new Set<string>();
  documents.forEach((d, docIndex) => {
    for (const p of validateShape(d.value)) {
      const path = formatPath(p.path);
      if (p.missing !== undefined) schemaMissing.add(`${docIndex}\u0000${path}\u0000${p.missing}`);
      else schemaFlagged.add(`${docIndex}\u0000${path}`);
      const pos = position(d.source, locate(d.doc, p.path, p.at));
      diagnostics.push({
        file: d.source.name,
        fileOrder: fileOrderOf.get(d.source.name) ?? 0,
        line: pos.line,
        col: pos.col,
        offset: pos.offset,
        path,
        message: p.message,
        severity: 'error',
        origin: 'schema',
      });
    }
  });

  let image: Uint8Array | null = null;
  if (documents.length > 0) {
    const result = compile(
      documents.map((d) => d.value),
      opts,
    );
    const seen = new Set<string>();
    for (const cd of result.diagnostics) {
      const d = documents[cd.doc];
      const path = formatPath(cd.path);
      const key = `${cd.doc}\u0000${path}`;
      if (cd.severity === 'error') {
        if (schemaFlagged.has(key)) continue;
        if (cd.missing !== undefined && schemaMissing.has(`${key}\u0000${cd.missing}`)) continue;
      }
      const dup = `${key}\u0000${cd.severity}\u0000${cd.message}`;
      if (seen.has(dup)) continue;
      seen.add(dup);
      if (d === undefined) {
        // not tied to a document: report at the first input
        diagnostics.push({
          file: inputs[0]?.name ?? '-',
          fileOrder: 0,
          line: 1,
          col: 1,
          offset: 0,
          path,
          message: cd.message,
          severity: cd.severity,
          origin: 'core',
        });
        continue;
      }
      const pos = position(d.source, locate(d.doc, cd.path, 'value'));
      diagnostics.push({
        file: d.source.name,
        fileOrder: fileOrderOf.get(d.source.name) ?? 0,
        line: pos.line,
        col: pos.col,
        offset: pos.offset,
        path,
        message: cd.message,
        severity: cd.severity,
        origin: 'core',
      });
    }
    image = result.image;
  }

  diagnostics.sort(compareDiagnostics);
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  return { image: errors > 0 ? null : image, diagnostics, documents, errors, warnings };
}

/** a note when the document is some other Kubernetes object (apiVersion not cilium.io and kind not a policy) */
function nonPolicy(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const { apiVersion, kind } = v as Record<string, unknown>;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return undefined;
  if (apiVersion.startsWith('cilium.io/') || kind === 'TracingPolicy' || kind === 'TracingPolicyNamespaced') return undefined;
  return `a ${kind} (${apiVersion}), not a TracingPolicy: skipped`;
}

/** Reads policy files ("-" is `stdin`, the process's by default). A file that cannot be read is an error diagnostic, not an exception. */
export async function readPolicyInputs(
  paths: string[],
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<{ inputs: PolicyInput[]; unreadable: PolicyDiagnostic[] }> {
  const inputs: PolicyInput[] = [];
  const unreadable: PolicyDiagnostic[] = [];
  for (const [i, p] of paths.entries()) {
    try {
      const text = p === '-' ? await readStdin(stdin) : await readFile(p, 'utf8');
      inputs.push({ name: p, text });
    } catch (e) {
      unreadable.push({
        file: p,
        fileOrder: i,
        line: 0,
        col: 0,
        offset: 0,
        path: '',
        message: `cannot read: ${describeFsError(e)}`,
        severity: 'error',
        origin: 'yaml',
      });
    }
  }
  return { inputs, unreadable };
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
