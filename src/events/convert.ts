// Tetragon event JSON -> EvalEvent, the shape the Wasm evaluator reads.

import type { EvalArg, EvalCaps, EvalEvent, EvalNamespace, EvalProcess, PodInfo } from '../core/types.js';
import type { TetragonArg, TetragonEvent, TetragonPod, TetragonProcess } from './tetragon.js';
import { syscall64Value } from './syscalls.js';

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
  if (present((v = a.file_arg)) || present((v = a.path_arg)) || present((v = a.linux_binprm_arg))) {
    const p = (v as { path?: unknown }).path;
    return { kind: 'str', value: typeof p === 'string' ? p : '' };
  }
  if (present((v = a.string_arg))) return { kind: 'str', value: typeof v === 'string' ? v : '' };
  // char_buf: protojson bytes are base64; a truncated one carries the first bytes and the size the call had
  if (present((v = a.bytes_arg)) || present((v = a.truncated_bytes_arg?.bytes_arg)) || present(a.truncated_bytes_arg)) {
    const b = Buffer.from(typeof v === 'string' ? v : '', 'base64');
    const size = toBig(a.truncated_bytes_arg?.orig_size);
    return { kind: 'str', value: b.toString('utf8'), bytes: b, origSize: size ?? BigInt(b.length) };
  }
  if (present((v = a.int_arg)) || present((v = a.uint_arg)) || present((v = a.long_arg)) || present((v = a.size_arg))) {
    const n = toBig(v);
    return n === null ? NONE : { kind: 'int', value: n };
  }
  if (present((v = a.syscall_id))) {
    const id = v as { id?: unknown; abi?: unknown };
    const n = toBig(id.id);
    return n === null ? NONE : { kind: 'int', value: syscall64Value(n, id.abi) };
  }
  if (present((v = a.capability_arg))) {
    const n = toBig((v as { value?: unknown }).value);
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

/** Capability names as Tetragon prints them: its CapabilitiesType enum (proto/tetragon/capabilities.proto),
 * linux/capability.h order, the position is the number; bit 1 is "DAC_OVERRIDE" there. */
export const CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** process.ns keys in Tetragon's namespace type order (matchNamespaces: Uts 0 .. User 9) */
export const NAMESPACE_KEYS: readonly string[] = ['uts', 'ipc', 'mnt', 'pid', 'pid_for_children', 'net', 'time', 'time_for_children', 'cgroup', 'user'];

/** the first character of ls -l's mode string -> S_IFMT >> 12 */
const FILE_TYPES: Readonly<Record<string, number>> = { '-': 8, d: 4, l: 10, c: 2, b: 6, p: 1, s: 12 };

function capMask(names: unknown): bigint | undefined {
  if (!Array.isArray(names)) return undefined;
  let m = 0n;
  for (const n of names) {
    // the kernel's spelling of bit 1 too (CAP_DAC_OVERRIDE), as policies write it
    const i = typeof n === 'string' ? CAPABILITIES.indexOf(n === 'CAP_DAC_OVERRIDE' ? 'DAC_OVERRIDE' : n) : -1;
    if (i >= 0) m |= 1n << BigInt(i);
  }
  return m;
}

function procRef(p: unknown): { binary: string; pid: number } | null {
  if (p === null || typeof p !== 'object') return null;
  const o = p as TetragonProcess;
  return { binary: typeof o.binary === 'string' ? o.binary : '', pid: typeof o.pid === 'number' ? o.pid : 0 };
}

/** by argument position, the file type of file/path arguments that carry a permission string */
function fileTypesOf(args: unknown): (number | null)[] | undefined {
  if (!Array.isArray(args)) return undefined;
  let types: (number | null)[] | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as TetragonArg | null;
    if (a === null || typeof a !== 'object') continue;
    const f = a.file_arg ?? a.path_arg;
    const perm = f !== null && typeof f === 'object' ? (f as { permission?: unknown }).permission : undefined;
    const t = typeof perm === 'string' ? FILE_TYPES[perm.charAt(0)] : undefined;
    if (t === undefined) continue;
    types ??= new Array<number | null>(args.length).fill(null);
    types[i] = t;
  }
  return types;
}

// one context object per (process, parent) object pair: the scanner shares repeated
// processes, and the record writer caches a context's bytes by its identity
const contexts = new WeakMap<object, WeakMap<object, EvalProcess | null> | EvalProcess | null>();
const NO_PARENT = {};

/** What the event says of its process beyond pid and binary: only the fields it has. */
function processContext(p: TetragonProcess, parent: unknown, ancestors: unknown): EvalProcess | undefined {
  if (Array.isArray(ancestors)) return buildContext(p, parent, ancestors) ?? undefined; // rare: not cached
  const pk = parent !== null && typeof parent === 'object' ? parent : NO_PARENT;
  let byParent = contexts.get(p) as WeakMap<object, EvalProcess | null> | undefined;
  if (byParent === undefined) contexts.set(p, (byParent = new WeakMap()));
  let c = byParent.get(pk);
  if (c === undefined) byParent.set(pk, (c = buildContext(p, parent, undefined)));
  return c ?? undefined;
}

function buildContext(p: TetragonProcess, parent: unknown, ancestors: unknown): EvalProcess | null {
  const out: EvalProcess = {};
  let any = false;
  const par = procRef(parent);
  if (par !== null) {
    out.parent = par;
    any = true;
  }
  if (Array.isArray(ancestors)) {
    out.ancestors = ancestors.map(procRef).filter((x): x is { binary: string; pid: number } => x !== null);
    // Tetragon's ancestors list runs up to init
    out.ancestorsAll = par !== null;
    any = true;
  } else if (par !== null && par.pid <= 1) out.ancestorsAll = true; // the parent is init: nothing above it
  const ns = p.ns;
  if (ns !== null && typeof ns === 'object') {
    const l: (EvalNamespace | null)[] = NAMESPACE_KEYS.map((k) => {
      const n = (ns as Record<string, unknown>)[k] as { inum?: unknown; is_host?: unknown } | undefined;
      return n !== null && typeof n === 'object' && typeof n.inum === 'number' ? { inum: n.inum, isHost: n.is_host === true } : null;
    });
    if (l.some((x) => x !== null)) {
      out.ns = l;
      any = true;
    }
  }
  const cap = p.cap;
  if (cap !== null && typeof cap === 'object') {
    const caps: EvalCaps = {};
    const pm = capMask(cap.permitted);
    const ef = capMask(cap.effective);
    const ih = capMask(cap.inheritable);
    if (pm !== undefined) caps.permitted = pm;
    if (ef !== undefined) caps.effective = ef;
    if (ih !== undefined) caps.inheritable = ih;
    out.caps = caps;
    any = true;
  }
  const cpid = p.pod?.container?.pid;
  const pidNs = out.ns?.[3];
  if (typeof cpid === 'number') {
    out.nsPid = cpid;
    any = true;
  } else if (pidNs?.isHost === true && typeof p.pid === 'number') {
    out.nsPid = p.pid;
    any = true;
  }
  return any ? out : null;
}

function base(
  kind: EvalEvent['kind'],
  hook: string,
  ev: TetragonEvent,
  proc: TetragonProcess | undefined,
  args: unknown,
  parent: unknown,
  ancestors: unknown,
  context: boolean,
): EvalEvent {
  const p = proc !== null && typeof proc === 'object' ? proc : ({} as TetragonProcess);
  const pid = typeof p.pid === 'number' ? p.pid : 0;
  // one object shape for every event (no conditional spreads: they cost more than the rest of the conversion)
  return {
    kind,
    hook,
    timeNs: parseTimeNs(ev.time),
    pid,
    tid: typeof p.tid === 'number' ? p.tid : pid,
    binary: typeof p.binary === 'string' ? p.binary : '',
    pod: toPodInfo(p.pod),
    args: toArgs(args),
    process: context ? processContext(p, parent, ancestors) : undefined,
    fileTypes: context ? fileTypesOf(args) : undefined,
  };
}

/**
 * The event the evaluator sees, for the event kinds it evaluates (kprobe,
 * tracepoint, uprobe, lsm, usdt); null for every other kind (exec, exit, ...).
 * Args keep the order Tetragon exports them in, which is the order of the
 * hook's spec args[]. `context` false leaves out what only some selectors read
 * (parent, namespaces, capabilities, file types): the caller's evaluator reads none of it.
 */
export function toEvalEvent(ev: TetragonEvent, context = true): EvalEvent | null {
  const k = ev.process_kprobe;
  if (k !== undefined && k !== null) {
    const out = base('kprobe', typeof k.function_name === 'string' ? k.function_name : '', ev, k.process, k.args, k.parent, k.ancestors, context);
    if (k.return !== undefined && k.return !== null) out.ret = toEvalArg(k.return);
    return out;
  }
  const t = ev.process_tracepoint;
  if (t !== undefined && t !== null) {
    return base('tracepoint', `${t.subsys ?? ''}/${t.event ?? ''}`, ev, t.process, t.args, t.parent, t.ancestors, context);
  }
  const l = ev.process_lsm;
  if (l !== undefined && l !== null) {
    // Tetragon names the LSM hook without security_ (bprm_check_security, file_open), as lsmhooks do
    return base('lsm', typeof l.function_name === 'string' ? l.function_name : '', ev, l.process, l.args, l.parent, l.ancestors, context);
  }
  const u = ev.process_uprobe;
  if (u !== undefined && u !== null) {
    return base('uprobe', `${u.path ?? ''}:${u.symbol ?? ''}`, ev, u.process, u.args, u.parent, u.ancestors, context);
  }
  // a usdts[] hook is named path:provider:name, as the policy's
  const d = ev.process_usdt;
  if (d !== undefined && d !== null) {
    return base('usdt', `${d.path ?? ''}:${d.provider ?? ''}:${d.name ?? ''}`, ev, d.process, d.args, d.parent, d.ancestors, context);
  }
  return null;
}
