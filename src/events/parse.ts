// Reading Tetragon event lines (`tetra getevents -o json`: one JSON object per line).

import { cached, items, projection, scanObject, type ProjectionSpec } from './scan.js';
import { EVENT_KINDS, type TetragonEvent } from './tetragon.js';
import { wrongTypeIn } from './check.js';

export type ParseResult = { ok: true; event: TetragonEvent } | { ok: false; error: string };

/** One KprobeArgument: the kinds talon compares (others read as "none"). */
// Leaves name the JSON type the evaluator reads (a value of another type makes the line
// malformed, with the field's path: check.ts); `true` keeps a value of any type.
const ARG = {
  file_arg: { path: 'string', permission: true },
  path_arg: { path: 'string', permission: true },
  capability_arg: { value: true },
  linux_binprm_arg: { path: true },
  string_arg: 'string',
  bytes_arg: 'string',
  truncated_bytes_arg: { bytes_arg: 'string', orig_size: 'string|number' },
  int_arg: 'number',
  uint_arg: 'number',
  long_arg: 'string|number',
  size_arg: 'string|number',
  sock_arg: { family: 'string', protocol: 'string', state: 'string', saddr: 'string', daddr: 'string', sport: 'number', dport: 'number' },
  skb_arg: { family: 'string', protocol: 'string', proto: 'number', saddr: 'string', daddr: 'string', sport: 'number', dport: 'number' },
  sockaddr_arg: { family: 'string', addr: 'string', port: 'number' },
} as const;

// runs of events come from the same process, and processes from the same few
// pods: both are remembered (see `cached`)
const POD = { namespace: 'string', name: 'string', pod_labels: 'object', container: { name: 'string', pid: true, image: { name: 'string' } } } as const;
const PROCESS = cached({ pid: 'number', tid: 'number', binary: 'string', pod: cached(POD) }, 4, 0);
// with the process context some selectors read (namespaces, capabilities; parent and ancestors below)
const PROCESS_CTX = cached({ pid: 'number', tid: 'number', binary: 'string', pod: cached(POD), ns: true, cap: true }, 4, 0);
// the parent and ancestors: pid and binary only (matchParentBinaries, followForks, followChildren)
const RELATIVE = { pid: true, binary: true } as const;
const PARENT = cached(RELATIVE, 4, 0);
const ANCESTORS = items(RELATIVE);

function kindsOf(context: boolean): Record<string, ProjectionSpec> {
  const kinds: Record<string, ProjectionSpec> = {};
  for (const k of EVENT_KINDS) kinds[k] = {};
  const proc: Record<string, ProjectionSpec> = context ? { process: PROCESS_CTX, parent: PARENT, ancestors: ANCESTORS } : { process: PROCESS };
  kinds.process_kprobe = { ...proc, function_name: 'string', args: items(ARG), return: ARG };
  kinds.process_tracepoint = { ...proc, subsys: 'string', event: 'string', args: items(ARG) };
  kinds.process_lsm = { ...proc, function_name: 'string', args: items(ARG) };
  kinds.process_uprobe = { ...proc, path: 'string', symbol: 'string', args: items(ARG) };
  kinds.process_usdt = { ...proc, path: 'string', provider: 'string', name: 'string', args: items(ARG) };
  return kinds;
}

/** What the evaluator needs of an event line, and nothing else. */
export const EVAL_PROJECTION = projection({ ...kindsOf(true), time: 'string', node_name: true });
/** The same without the process context (for images whose selectors read none of it: Evaluator.readsContext) */
export const EVAL_PROJECTION_LEAN = projection({ ...kindsOf(false), time: 'string', node_name: true });

/** The first field the evaluator reads that has the wrong type, as "path: expected ..., got ...", or null. */
export function wrongType(ev: Record<string, unknown>, context = true): string | null {
  return wrongTypeIn(context ? EVAL_PROJECTION : EVAL_PROJECTION_LEAN, ev);
}

function checkObject(v: unknown): ParseResult {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { ok: false, error: 'not a JSON object' };
  return { ok: true, event: v as TetragonEvent };
}

function jsonError(line: string): ParseResult {
  try {
    return checkObject(JSON.parse(line));
  } catch (e) {
    // V8 quotes part of the line in its message: never print its control characters raw
    const msg = (e as Error).message.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
    return { ok: false, error: `invalid JSON: ${msg}` };
  }
}

/**
 * Parses a line keeping only what the evaluator needs (see EVAL_PROJECTION):
 * the event kind, the process' pid/tid/binary/pod, the hook name, args, return
 * and the time. Much faster than JSON.parse on real events; the result is a
 * partial TetragonEvent suitable for toEvalEvent, not for rendering.
 */
export function parseEventLineForEval(line: string, context = true): ParseResult {
  const v = scanObject(line, context ? EVAL_PROJECTION : EVAL_PROJECTION_LEAN);
  // the scanner checked the types of what it kept; JSON.parse's result is checked here
  if (v !== undefined) return { ok: true, event: v as TetragonEvent };
  const r = jsonError(line);
  if (!r.ok) return r;
  const bad = wrongType(r.event as Record<string, unknown>, context);
  return bad === null ? r : { ok: false, error: bad };
}

/** Parses a whole event line (every field kept; for rendering and re-export). */
export function parseEventLine(line: string): ParseResult {
  return jsonError(line);
}
