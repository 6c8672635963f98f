// Diagnostics with file, line and column, as talon prints them:
//
//   file:line:col: spec.kprobes[0].selectors[1].matchArgs[0].operator: message
//   file:line:col: spec.kprobes[0]: warning: message

import type { Path } from './validate.js';

export type Severity = 'error' | 'warning';

export interface PolicyDiagnostic {
  /** the file as named on the command line */
  file: string;
  /** position of the file among the inputs (diagnostics sort by it first) */
  fileOrder: number;
  line: number;
  col: number;
  offset: number;
  /** formatted path of the YAML node ('' for a whole document or file) */
  path: string;
  message: string;
  severity: Severity;
  /** which layer found it */
  origin: 'yaml' | 'schema' | 'core';
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** ['spec', 'kprobes', 0, 'call'] -> "spec.kprobes[0].call"; odd keys are quoted: labels["app.kubernetes.io/name"] */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENT.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Control characters (from field names or values in the input) are shown escaped, never raw. */
function safe(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function formatDiagnostic(d: PolicyDiagnostic): string {
  // line 0: about the file as a whole (e.g. it cannot be read)
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.col}: ` : `${d.file}: `;
  const path = d.path === '' ? '' : `${d.path}: `;
  const sev = d.severity === 'warning' ? 'warning: ' : '';
  return safe(`${where}${path}${sev}${d.message}`);
}

export function compareDiagnostics(a: PolicyDiagnostic, b: PolicyDiagnostic): number {
  return a.fileOrder - b.fileOrder || a.offset - b.offset || a.path.localeCompare(b.path) || a.message.localeCompare(b.message);
}
