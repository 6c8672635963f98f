// Reading Tetragon event lines (`tetra getevents -o json`: one JSON object per line).

import { cached, items, projection, scanObject, type ProjectionSpec } from './scan.js';
import { EVENT_KINDS, type TetragonEvent } from './tetragon.js';

export type ParseResult = { ok: true; event: TetragonEvent } | { ok: false; error: string };

/** One KprobeArgument: the kinds talon compares (others read as "none"). */
const ARG = {
  file_arg: { path: true },
  path_arg: { path: true },
  string_arg: true,
  int_arg: true,
  uint_arg: true,
  long_arg: true,
  size_arg: true,
  sock_arg: { family: true, protocol: true, state: true, saddr: true, daddr: true, sport: true, dport: true },
  skb_arg: { family: true, protocol: true, proto: true, saddr: true, daddr: true, sport: true, dport: true },
  sockaddr_arg: { family: true, addr: true, port: true },
} as const;

// runs of events come from the same process, and processes from the same few
// pods: both are remembered (see `cached`)
const PROCESS = cached(
  {
    pid: true,
    tid: true,
    binary: true,
    pod: cached({ namespace: true, name: true, pod_labels: true, container: { name: true, image: { name: true } } }),
  },
  4,
  0,
);

const kinds: Record<string, ProjectionSpec> = {};
for (const k of EVENT_KINDS) kinds[k] = {};
kinds.process_kprobe = { process: PROCESS, function_name: true, args: items(ARG), return: ARG };
kinds.process_tracepoint = { process: PROCESS, subsys: true, event: true, args: items(ARG) };
kinds.process_uprobe = { process: PROCESS, path: true, symbol: true, args: items(ARG) };

/** What the evaluator needs of an event line, and nothing else. */
export const EVAL_PROJECTION = projection({ ...kinds, time: true, node_name: true });

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
export function parseEventLineForEval(line: string): ParseResult {
  const v = scanObject(line, EVAL_PROJECTION);
  if (v !== undefined) return { ok: true, event: v as TetragonEvent };
  return jsonError(line);
}

/** Parses a whole event line (every field kept; for rendering and re-export). */
export function parseEventLine(line: string): ParseResult {
  return jsonError(line);
}
