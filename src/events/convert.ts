// Tetragon event JSON -> EvalEvent, the shape the Wasm evaluator reads.

import type { EvalArg, EvalEvent, PodInfo } from '../core/types.js';
import type { TetragonArg, TetragonEvent, TetragonPod, TetragonProcess } from './tetragon.js';

/** Socket families by the names Tetragon prints (AF_*). */
export const FAMILIES: Readonly<Record<string, number>> = {
  AF_UNSPEC: 0,
  AF_UNIX: 1,
  AF_INET: 2,
  AF_INET6: 10,
  AF_NETLINK: 16,
  AF_PACKET: 17,
};

/** IP protocols by the names Tetragon prints (IPPROTO_*). */
export const PROTOCOLS: Readonly<Record<string, number>> = {
  IPPROTO_IP: 0,
  IPPROTO_ICMP: 1,
  IPPROTO_TCP: 6,
  IPPROTO_UDP: 17,
  IPPROTO_IPV6: 41,
  IPPROTO_ICMPV6: 58,
  IPPROTO_SCTP: 132,
  IPPROTO_UDPLITE: 136,
  IPPROTO_RAW: 255,
  IPPROTO_MPTCP: 262,
};

/** TCP states by the names Tetragon prints (include/net/tcp_states.h). */
export const TCP_STATES: Readonly<Record<string, number>> = {
  TCP_ESTABLISHED: 1,
  TCP_SYN_SENT: 2,
  TCP_SYN_RECV: 3,
  TCP_FIN_WAIT1: 4,
  TCP_FIN_WAIT2: 5,
  TCP_TIME_WAIT: 6,
  TCP_CLOSE: 7,
  TCP_CLOSE_WAIT: 8,
  TCP_LAST_ACK: 9,
  TCP_LISTEN: 10,
  TCP_CLOSING: 11,
  TCP_NEW_SYN_RECV: 12,
};

function named(table: Readonly<Record<string, number>>, v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string' || v === '') return 0;
  const n = table[v];
  if (n !== undefined) return n;
  return /^\d+$/.test(v) ? Number(v) : 0;
}

function toBig(v: unknown): bigint | null {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : null;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  return null;
}

const NONE: EvalArg = Object.freeze({ kind: 'none' }) as EvalArg;

function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}

function sockOf(s: Record<string, unknown>, protocol: number): EvalArg {
  return {
    kind: 'sock',
    family: named(FAMILIES, s.family),
    protocol,
    state: named(TCP_STATES, s.state),
    saddr: typeof s.saddr === 'string' ? s.saddr : '',
    daddr: typeof s.daddr === 'string' ? s.daddr : '',
    sport: typeof s.sport === 'number' ? s.sport : 0,
    dport: typeof s.dport === 'number' ? s.dport : 0,
  };
}

/**
 * One KprobeArgument (a protobuf oneof: one *_arg field is set) as the
 * evaluator sees it. Kinds talon does not compare (bytes, creds, bpf objects
 * ...) read as "none".
 */
export function toEvalArg(a: TetragonArg | null | undefined): EvalArg {
  if (a === null || typeof a !== 'object') return NONE;
  let v: unknown;
  if (present((v = a.file_arg)) || present((v = a.path_arg))) {
    const p = (v as { path?: unknown }).path;
    return { kind: 'str', value: typeof p === 'string' ? p : '' };
  }
  if (present((v = a.string_arg))) return { kind: 'str', value: typeof v === 'string' ? v : '' };
  if (present((v = a.int_arg)) || present((v = a.uint_arg)) || present((v = a.long_arg)) || present((v = a.size_arg))) {
    const n = toBig(v);
    return n === null ? NONE : { kind: 'int', value: n };
  }
  if (present((v = a.sock_arg))) {
    const s = (typeof v === 'object' ? v : {}) as Record<string, unknown>;
    return sockOf(s, named(PROTOCOLS, s.protocol));
  }
  if (present((v = a.skb_arg))) {
    const s = (typeof v === 'object' ? v : {}) as Record<string, unknown>;
    const out = sockOf(s, typeof s.proto === 'number' ? s.proto : named(PROTOCOLS, s.protocol));
    (out as { state: number }).state = 0;
    return out;
  }
  if (present((v = a.sockaddr_arg))) {
    // struct sockaddr: one address and port, compared as the source
    const s = (typeof v === 'object' ? v : {}) as Record<string, unknown>;
    return {
      kind: 'sock',
      family: named(FAMILIES, s.family),
      protocol: 0,
      state: 0,
      saddr: typeof s.addr === 'string' ? s.addr : '',
      daddr: '',
      sport: typeof s.port === 'number' ? s.port : 0,
      dport: 0,
    };
  }
  return NONE;
}

/**
 * The repository part of an image reference: no tag, no digest
 * ("quay.io/cilium/json-mock:v1.3.8@sha256:ab.." -> "quay.io/cilium/json-mock").
 */
export function imageRepo(image: string): string {
  let s = image;
  const at = s.indexOf('@');
  if (at >= 0) s = s.slice(0, at);
  const colon = s.lastIndexOf(':');
  if (colon > s.lastIndexOf('/')) s = s.slice(0, colon);
  return s;
}

const NO_LABELS: Record<string, string> = Object.freeze({}) as Record<string, string>;

// the scanner shares one object per distinct pod between events; so can we
const podInfos = new WeakMap<object, PodInfo>();

/**
 * The pod of a process as the scoping logic sees it; null for host processes.
 * The same Tetragon pod object always gives the same PodInfo object: treat it
 * as read-only.
 */
export function toPodInfo(pod: TetragonPod | null | undefined): PodInfo | null {
  if (pod === null || pod === undefined || typeof pod !== 'object') return null;
  let info = podInfos.get(pod);
  if (info !== undefined) return info;
  info = {
    namespace: typeof pod.namespace === 'string' ? pod.namespace : '',
    name: typeof pod.name === 'string' ? pod.name : '',
    labels: pod.pod_labels !== null && typeof pod.pod_labels === 'object' ? pod.pod_labels : NO_LABELS,
  };
  const c = pod.container;
  if (c !== null && c !== undefined && typeof c === 'object') {
    const img = c.image?.name;
    info.container = { name: typeof c.name === 'string' ? c.name : '', repo: typeof img === 'string' ? imageRepo(img) : '' };
  }
  podInfos.set(pod, info);
  return info;
}

const DAYS_BEFORE_MONTH = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

function daysFromCivil(y: number, m: number, d: number): number {
  // days since 1970-01-01 of a proleptic Gregorian date
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const yy = y - 1;
  const days = yy * 365 + Math.floor(yy / 4) - Math.floor(yy / 100) + Math.floor(yy / 400);
  return days - 719162 + DAYS_BEFORE_MONTH[m - 1] + (leap && m > 2 ? 1 : 0) + d - 1;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

// events of a stream share their second: remember the last ones (by their
// "yyyy-mm-ddThh:mm:ss"), the very last one compared in place (no slice, no hashing)
interface Second {
  text: string;
  ns: bigint;
}
const secondNs = new Map<string, Second>();
let lastSecond: Second = { text: '', ns: -1n };

function sameSecond(t: string): boolean {
  const last = lastSecond.text;
  if (last.length !== 19) return false;
  for (let i = 18; i >= 0; i--) if (t.charCodeAt(i) !== last.charCodeAt(i)) return false;
  return true;
}

function digits(t: string, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) {
    const d = t.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** "yyyy-mm-ddThh:mm:ss" at the start of t -> ns of that second; -1n when it is not one */
function secondOf(t: string): bigint {
  if (sameSecond(t)) return lastSecond.ns;
  const key = t.slice(0, 19);
  const known = secondNs.get(key);
  if (known !== undefined) {
    lastSecond = known;
    return known.ns;
  }
  const sep = t.charCodeAt(10);
  if (t.charCodeAt(4) !== 45 || t.charCodeAt(7) !== 45 || (sep !== 84 && sep !== 116 && sep !== 32)) return -1n;
  if (t.charCodeAt(13) !== 58 || t.charCodeAt(16) !== 58) return -1n;
  const y = digits(t, 0, 4);
  const mo = digits(t, 5, 7);
  const d = digits(t, 8, 10);
  const h = digits(t, 11, 13);
  const mi = digits(t, 14, 16);
  const s = digits(t, 17, 19);
  if (y < 0 || mo < 1 || mo > 12 || d < 0 || h < 0 || mi < 0 || s < 0) return -1n;
  const ns = BigInt(daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1_000_000_000n;
  if (secondNs.size >= 4096) secondNs.clear();
  // a flat copy (checked ASCII above), so as not to keep the event line alive
  const text = Buffer.from(key, 'latin1').toString('latin1');
  lastSecond = { text, ns };
  secondNs.set(text, lastSecond);
  return ns;
}

/** RFC 3339 time with up to nanosecond precision -> ns since the epoch; 0n when absent or unreadable. */
export function parseTimeNs(t: unknown): bigint {
  if (typeof t !== 'string') return 0n;
  // fast path, Tetragon's form: 2024-04-14T02:18:02.246412613Z (1 to 9 fraction digits)
  const n = t.length;
  if (n >= 22 && n <= 30 && t.charCodeAt(19) === 46 && t.charCodeAt(n - 1) === 90) {
    const frac = digits(t, 20, n - 1);
    const sec = frac >= 0 ? secondOf(t) : -1n;
    if (sec >= 0n) return sec + BigInt(frac * 10 ** (30 - n));
  }
  const m = RFC3339.exec(t);
  if (m === null || +m[2] < 1 || +m[2] > 12) return 0n;
  const days = daysFromCivil(+m[1], +m[2], +m[3]);
  let secs = days * 86400 + +m[4] * 3600 + +m[5] * 60 + +m[6];
  if (m[9] !== undefined) {
    const off = +m[10] * 3600 + +m[11] * 60;
    secs += m[9] === '+' ? -off : off;
  }
  const frac = m[7] === undefined ? 0 : +(m[7].length >= 9 ? m[7].slice(0, 9) : m[7].padEnd(9, '0'));
  return BigInt(secs) * 1_000_000_000n + BigInt(frac);
}

/** ns since the epoch -> RFC 3339 UTC with nine fraction digits (Tetragon's --timestamps format). */
export function formatTimeNs(ns: bigint): string {
  const secs = ns / 1_000_000_000n;
  const frac = ns % 1_000_000_000n;
  const iso = new Date(Number(secs) * 1000).toISOString(); // yyyy-mm-ddThh:mm:ss.000Z
  return `${iso.slice(0, 19)}.${frac.toString().padStart(9, '0')}Z`;
}

function toArgs(args: unknown): EvalArg[] {
  if (!Array.isArray(args)) return [];
  const out = new Array<EvalArg>(args.length);
  for (let i = 0; i < args.length; i++) out[i] = toEvalArg(args[i] as TetragonArg);
  return out;
}

function base(kind: EvalEvent['kind'], hook: string, ev: TetragonEvent, proc: TetragonProcess | undefined, args: unknown): EvalEvent {
  const p = proc !== null && typeof proc === 'object' ? proc : ({} as TetragonProcess);
  const pid = typeof p.pid === 'number' ? p.pid : 0;
  return {
    kind,
    hook,
    timeNs: parseTimeNs(ev.time),
    pid,
    tid: typeof p.tid === 'number' ? p.tid : pid,
    binary: typeof p.binary === 'string' ? p.binary : '',
    pod: toPodInfo(p.pod),
    args: toArgs(args),
  };
}

/**
 * The event the evaluator sees, for the event kinds it evaluates (kprobe,
 * tracepoint, uprobe); null for every other kind (exec, exit, lsm, ...).
 * Args keep the order Tetragon exports them in, which is the order of the
 * hook's spec args[].
 */
export function toEvalEvent(ev: TetragonEvent): EvalEvent | null {
  const k = ev.process_kprobe;
  if (k !== undefined && k !== null) {
    const out = base('kprobe', typeof k.function_name === 'string' ? k.function_name : '', ev, k.process, k.args);
    if (k.return !== undefined && k.return !== null) out.ret = toEvalArg(k.return);
    return out;
  }
  const t = ev.process_tracepoint;
  if (t !== undefined && t !== null) {
    return base('tracepoint', `${t.subsys ?? ''}/${t.event ?? ''}`, ev, t.process, t.args);
  }
  const u = ev.process_uprobe;
  if (u !== undefined && u !== null) {
    return base('uprobe', `${u.path ?? ''}:${u.symbol ?? ''}`, ev, u.process, u.args);
  }
  return null;
}
