// Filters over Tetragon-shaped JSON events, the way `tetra getevents` and
// Tetragon's export filters define them: inside one filter every given field
// must match (AND), the values of one field are alternatives (OR). An event
// passes when it matches any allow filter (or there are none) and no deny
// filter. Used by the agent for subscriptions and offline on JSON streams.

import { setFlagsFromString } from 'node:v8';

/** One filter; all fields optional. Field names follow Tetragon's `Filter`. */
export interface EventFilter {
  /** event kinds: PROCESS_EXEC, PROCESS_EXIT, PROCESS_KPROBE, PROCESS_TRACEPOINT, ... */
  event_set?: string[];
  /** exact pod namespaces; "" selects host processes (no pod) */
  namespace?: string[];
  /** regexes over the pod name (unanchored, as in Tetragon) */
  pod_regex?: string[];
  /** regexes over process.binary */
  binary_regex?: string[];
  /** regexes over the pod namespace */
  namespace_regex?: string[];
  /** regexes over process.pod.container.name */
  container_name_regex?: string[];
  /** policy_name of kprobe/tracepoint/uprobe/lsm events */
  policy_names?: string[];
  /** process pids */
  pid?: number[];
  /** regexes over process.arguments */
  arguments_regex?: string[];
  /** CEL expressions over the event (any true); compiled by the caller's `cel` (src/api/cel.ts) */
  cel_expression?: string[];
}

/** Compilers a filter field needs from a layer above this one. */
export interface FilterCompilers {
  cel?: (exprs: string[]) => (ev: Record<string, unknown>) => boolean;
}

export interface FilterSet {
  allow?: EventFilter[];
  deny?: EventFilter[];
}

/** Event-kind key of a Tetragon event object ("process_exec", ...) -> its enum name. */
const KINDS: Record<string, string> = {
  process_exec: 'PROCESS_EXEC',
  process_exit: 'PROCESS_EXIT',
  process_kprobe: 'PROCESS_KPROBE',
  process_tracepoint: 'PROCESS_TRACEPOINT',
  process_loader: 'PROCESS_LOADER',
  process_uprobe: 'PROCESS_UPROBE',
  process_throttle: 'PROCESS_THROTTLE',
  process_lsm: 'PROCESS_LSM',
  process_usdt: 'PROCESS_USDT',
  rate_limit_info: 'RATE_LIMIT_INFO',
};

type Json = Record<string, unknown>;

/** The kind key of an event ("process_kprobe"), or null when it has none we know. */
export function eventKind(ev: Json): string | null {
  for (const k of Object.keys(ev)) if (k in KINDS) return k;
  return null;
}

/** The event-kind enum name ("PROCESS_KPROBE"), or null. */
export function eventType(ev: Json): string | null {
  const k = eventKind(ev);
  return k ? KINDS[k] : null;
}

/** The `process` object of an event, if any. */
export function eventProcess(ev: Json): Json | null {
  const k = eventKind(ev);
  const body = k ? (ev[k] as Json | undefined) : undefined;
  const p = body?.process;
  return p && typeof p === 'object' ? (p as Json) : null;
}

const EVENT_SET_ALIASES: Record<string, string> = Object.fromEntries(
  Object.entries(KINDS).flatMap(([k, v]) => [
    [k.toUpperCase(), v],
    [v, v],
    [v.replace(/^PROCESS_/, ''), v],
  ]),
);

/** Normalises an event-set name ("process_exec", "EXEC", "PROCESS_EXEC") or throws. */
export function normaliseEventType(s: string): string {
  const v = EVENT_SET_ALIASES[s.trim().toUpperCase()];
  if (!v) throw new Error(`unknown event type ${JSON.stringify(s)}: use one of ${Object.values(KINDS).join(', ')}`);
  return v;
}

// Regex filters come from any API client and run on every event in the agent: they are matched
// by V8's linear-time engine (the `l` flag; RE2's guarantee, and like Go's regexp, which Tetragon
// uses, no backreferences or lookaround), so a pattern such as ^(a+)+$ cannot stall the agent.
setFlagsFromString('--enable-experimental-regexp-engine');

/** a filter regex, matched in linear time; throws with the reason when it cannot be */
export function linearRegex(what: string, s: unknown): RegExp {
  if (typeof s !== 'string') throw new Error(`invalid ${what} regex ${JSON.stringify(s)}: expected a string`);
  try {
    // eslint-disable-next-line no-invalid-regexp -- 'l' (linear) exists once the flag above is set
    return new RegExp(s, 'l');
  } catch (e) {
    const m = (e as Error).message;
    if (/linear time/.test(m))
      throw new Error(
        `invalid ${what} regex ${JSON.stringify(s)}: backreferences and lookaround are not supported (regexes are matched in linear time, as RE2 does)`,
      );
    if (/Invalid flags/.test(m))
      throw new Error(`${what} regex ${JSON.stringify(s)}: this Node.js has no linear-time regexp engine, so regex filters are refused`);
    throw new Error(`invalid ${what} regex ${JSON.stringify(s)}: ${m}`);
  }
}

function regexes(what: string, list: string[] | undefined): RegExp[] | null {
  if (!list || list.length === 0) return null;
  if (!Array.isArray(list)) throw new Error(`invalid ${what} regex filter: expected a list of strings`);
  return list.map((s) => linearRegex(what, s));
}

const anyMatch = (res: RegExp[], s: string | undefined) => s !== undefined && res.some((r) => r.test(s));

/** Compiles one filter into a predicate. Throws on an invalid regex or event type. */
export function compileFilter(f: EventFilter, with_: FilterCompilers = {}): (ev: Json) => boolean {
  const types = f.event_set && f.event_set.length ? new Set(f.event_set.map(normaliseEventType)) : null;
  const namespaces = f.namespace && f.namespace.length ? new Set(f.namespace) : null;
  const pods = regexes('pod', f.pod_regex);
  const bins = regexes('binary', f.binary_regex);
  const nsRe = regexes('namespace', f.namespace_regex);
  const cont = regexes('container name', f.container_name_regex);
  const argsRe = regexes('arguments', f.arguments_regex);
  const policies = f.policy_names && f.policy_names.length ? new Set(f.policy_names) : null;
  const pids = f.pid && f.pid.length ? new Set(f.pid.map(Number)) : null;
  let cel: ((ev: Json) => boolean) | null = null;
  if (f.cel_expression && f.cel_expression.length) {
    if (!Array.isArray(f.cel_expression) || f.cel_expression.some((x) => typeof x !== 'string'))
      throw new Error('invalid cel_expression filter: expected a list of strings');
    if (!with_.cel) throw new Error('cel_expression: no CEL evaluator here');
    cel = with_.cel(f.cel_expression);
  }
  return (ev) => {
    if (types && !types.has(eventType(ev) ?? '')) return false;
    const proc = eventProcess(ev);
    const pod = (proc?.pod ?? null) as Json | null;
    const ns = typeof pod?.namespace === 'string' ? pod.namespace : '';
    if (namespaces && !namespaces.has(ns)) return false;
    if (nsRe && !anyMatch(nsRe, pod ? ns : undefined)) return false;
    if (pods && !anyMatch(pods, typeof pod?.name === 'string' ? pod.name : undefined)) return false;
    if (cont) {
      const c = pod?.container as Json | undefined;
      if (!anyMatch(cont, typeof c?.name === 'string' ? c.name : undefined)) return false;
    }
    if (bins && !anyMatch(bins, typeof proc?.binary === 'string' ? proc.binary : undefined)) return false;
    if (argsRe && !anyMatch(argsRe, typeof proc?.arguments === 'string' ? proc.arguments : undefined)) return false;
    if (pids && !(typeof proc?.pid === 'number' && pids.has(proc.pid))) return false;
    if (policies) {
      const k = eventKind(ev);
      const name = k ? (ev[k] as Json).policy_name : undefined;
      if (typeof name !== 'string' || !policies.has(name)) return false;
    }
    // last: the dearest test runs only on events the others let through
    if (cel && !cel(ev)) return false;
    return true;
  };
}

/** Compiles allow/deny lists: allowed by any allow filter (or none given) and by no deny filter. */
export function compileFilterSet(fs: FilterSet, with_: FilterCompilers = {}): (ev: Json) => boolean {
  const allow = (fs.allow ?? []).map((f) => compileFilter(f, with_));
  const deny = (fs.deny ?? []).map((f) => compileFilter(f, with_));
  return (ev) => (allow.length === 0 || allow.some((f) => f(ev))) && !deny.some((f) => f(ev));
}

/** True when the filter has no field set (matches everything). */
export function isEmptyFilter(f: EventFilter): boolean {
  return Object.values(f).every((v) => v === undefined || (Array.isArray(v) && v.length === 0));
}
