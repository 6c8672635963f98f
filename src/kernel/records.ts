// Decoders of the ring-buffer records of bpf/include/tln_events.h. Every size,
// offset and constant comes from src/abi/generated.ts (scripts/gen-abi.mjs
// writes it from the header; test/abi.test.ts checks it against the C
// compiler). The arguments of a hook record are decoded by the core
// (decodeHookArgs: assembly/hookrec.ts), the one decoder the evaluator uses too.
import * as G from '../abi/generated.js';
import { decodeHookArgs } from '../core/index.js';
import type { EvalArg } from '../core/types.js';

import { ipString, parseIPv4, parseIPv6, STRUCT_TYPES } from '../core/evrec.js';

export { ipString };

export const TLN_EVENTS_VERSION = G.TLN_EVENTS_VERSION;

export const REC = { EXEC: G.TLN_REC_EXEC, EXIT: G.TLN_REC_EXIT, HOOK: G.TLN_REC_HOOK, SOCK: G.TLN_REC_SOCK } as const; // enum tln_rec_type

export const REC_F = {
  PROCFS: G.TLN_REC_F_PROCFS,
  TRUNC_PATH: G.TLN_REC_F_TRUNC_PATH,
  TRUNC_ARGS: G.TLN_REC_F_TRUNC_ARGS,
  TRUNC_CWD: G.TLN_REC_F_TRUNC_CWD,
  NO_PROC: G.TLN_REC_F_NO_PROC,
  IDENTITY: G.TLN_REC_F_IDENTITY,
} as const;
export const ARG_F = { TRUNC: G.TLN_ARG_F_TRUNC, NONE: G.TLN_ARG_F_NONE, DATA: G.TLN_ARG_F_DATA } as const;
export const SEL_NONE = G.TLN_SEL_NONE;
export const PROC_F_PROCFS = G.TLN_PROC_F_PROCFS;
export const PROC_F_EXEC = G.TLN_PROC_F_EXEC;

/** every numeric size, offset and constant of the headers, keyed by its C spelling */
export const LAYOUT: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(Object.entries(G.ABI_TABLE).filter((e): e is [string, number] => typeof e[1] === 'number')),
);

/** enum tln_sensor -> catalog sensor label */
export const SENSOR_NAMES: Record<number, string> = {
  [G.TLN_SENSOR_TP_FILE]: 'tln_tp_file',
  [G.TLN_SENSOR_CGROUP_SOCK]: 'tln_cgroup_sock',
  [G.TLN_SENSOR_LSM_FILE]: 'tln_lsm_file',
  [G.TLN_SENSOR_LSM_SOCK]: 'tln_lsm_sock',
  [G.TLN_SENSOR_TP_GENERIC]: 'generic_tracepoint',
  [G.TLN_SENSOR_UPROBE]: 'generic_uprobe',
  [G.TLN_SENSOR_KPROBE]: 'generic_kprobe',
  [G.TLN_SENSOR_FENTRY]: 'generic_fentry',
  [G.TLN_SENSOR_FMOD_RET]: 'generic_fmod_ret',
  [G.TLN_SENSOR_LSM_HOOK]: 'generic_lsm',
  [G.TLN_SENSOR_SOCK_STATE]: 'generic_kprobe_sockstate_tp',
  [G.TLN_SENSOR_SOCK_SEND]: 'generic_kprobe_socksend_tp',
};

/** enum tln_action_id -> Tetragon action name */
export const ACTION_NAMES: Record<number, string> = {
  [G.TLN_ACT_POST]: 'Post',
  [G.TLN_ACT_SIGKILL]: 'Sigkill',
  [G.TLN_ACT_OVERRIDE]: 'Override',
  [G.TLN_ACT_NOPOST]: 'NoPost',
  [G.TLN_ACT_SIGNAL]: 'Signal',
};
/** enum tln_mode -> name */
export const MODE_NAMES = ['enforce', 'monitor', 'monitor_only'] as const;
if (MODE_NAMES[G.TLN_MODE_ENFORCE] !== 'enforce' || MODE_NAMES[G.TLN_MODE_MONITOR] !== 'monitor' || MODE_NAMES[G.TLN_MODE_MONITOR_ONLY] !== 'monitor_only') {
  throw new Error('records.ts: MODE_NAMES does not follow enum tln_mode');
}

const HDR = G.tln_rec_hdr;
const TASK = G.tln_rec_task;
const EXEC = G.tln_exec_rec;
const EXIT = G.tln_exit_rec;
const HOOK = G.tln_hook_rec;

export interface TaskInfo {
  pid: number;
  tid: number;
  ppid: number;
  uid: number;
  cgroupId: bigint;
  /** ktime of the process's exec (or fork); 0n when unknown */
  startKtime: bigint;
  nsPid: number;
}

export interface ExecRecord extends TaskInfo {
  type: 'exec';
  ktime: bigint;
  flags: number;
  /** found in /proc by the loader, not seen exec'ing */
  procfs: boolean;
  binary: string;
  args: string[];
  cwd: string;
  /** the task's credentials right after the exec (kernel records; not for processes found in /proc) */
  cred?: ExecCred;
  /** its namespace inode numbers by Tetragon's type id (0: none), with cred */
  ns?: number[];
}

export interface ExecCred {
  uid: number;
  gid: number;
  euid: number;
  egid: number;
  suid: number;
  sgid: number;
  fsuid: number;
  fsgid: number;
  securebits: number;
  capPermitted: bigint;
  capEffective: bigint;
  capInheritable: bigint;
}

export interface ExitRecord extends TaskInfo {
  type: 'exit';
  ktime: bigint;
  flags: number;
  binary: string;
  /** raw wait status: (status << 8) | signal */
  code: number;
  /** exit status when it exited, else null */
  status: number | null;
  /** terminating signal, else null */
  signal: number | null;
}

export interface HookRecord extends TaskInfo {
  type: 'hook';
  ktime: bigint;
  flags: number;
  policyId: number;
  hookId: number;
  slot: number;
  /** 0-based selector index within the hook; null for a hook without selectors */
  selector: number | null;
  /** actions carried out, Tetragon names */
  actions: string[];
  /** enforcement actions skipped by monitor mode */
  skipped: string[];
  mode: (typeof MODE_NAMES)[number];
  binary: string;
  /** Override error returned to the caller (0: none) */
  error: number;
  sensor: string;
  /** call: "list:NAME" hooks: 1 + the index of the list value whose instance saw it (0: not a list hook) */
  member?: number;
  /** argument values in the order of the hook's args[] */
  args: EvalArg[];
  /** the record's bytes as the kernel wrote them (struct tln_hook_rec + data); absent in records made by hand (tests) */
  raw?: Uint8Array;
  /** socket cookie of a socket argument (tln_rec_sock.cookie); 0n or absent when none */
  cookie?: bigint;
}

/** TLN_REC_SOCK: the source of a tcp_connect record's socket, once the kernel chose it (cookie pairs them). */
export interface SockRecord {
  type: 'sock';
  ktime: bigint;
  cookie: bigint;
  /** no port was chosen: the connect was refused or failed before its SYN */
  noPort: boolean;
  family: number;
  sport: number;
  saddr: string;
}

export type TlnRecord = ExecRecord | ExitRecord | HookRecord | SockRecord;

const utf8 = new TextDecoder('utf-8', { fatal: false });
const str = (b: Buffer, off: number, len: number) => utf8.decode(b.subarray(off, Math.min(off + len, b.length)));

function task(b: Buffer, o: number): TaskInfo {
  return {
    pid: b.readUInt32LE(o + TASK.pid),
    tid: b.readUInt32LE(o + TASK.tid),
    ppid: b.readUInt32LE(o + TASK.ppid),
    uid: b.readUInt32LE(o + TASK.uid),
    cgroupId: b.readBigUInt64LE(o + TASK.cgroup_id),
    startKtime: b.readBigUInt64LE(o + TASK.start_ktime),
    nsPid: b.readUInt32LE(o + TASK.ns_pid),
  };
}

const bitNames = new Map<number, readonly string[]>();

/** the action names of a mask (one frozen array per mask: records share them) */
function bits(mask: number): string[] {
  let out = bitNames.get(mask);
  if (out === undefined) {
    const names: string[] = [];
    for (const [id, name] of Object.entries(ACTION_NAMES)) if (mask & (1 << Number(id))) names.push(name);
    bitNames.set(mask, (out = Object.freeze(names)));
  }
  return out as string[];
}

export function decodeExec(b: Buffer): ExecRecord {
  const flags = b.readUInt32LE(HDR.flags);
  const d = EXEC.data;
  const pl = b.readUInt16LE(EXEC.path_len),
    al = b.readUInt16LE(EXEC.args_len),
    cl = b.readUInt16LE(EXEC.cwd_len);
  const rawArgs = str(b, d + pl, al);
  return {
    type: 'exec',
    ktime: b.readBigUInt64LE(HDR.ktime),
    flags,
    procfs: (flags & REC_F.PROCFS) !== 0,
    ...task(b, EXEC.task),
    binary: str(b, d, pl),
    args: al ? rawArgs.split('\0') : [],
    cwd: str(b, d + pl + al, cl),
    ...(flags & REC_F.IDENTITY ? { cred: decodeCred(b, EXEC.cred), ns: decodeNs(b, EXEC.ns) } : {}),
  };
}

const CRED = G.tln_rec_cred;

function decodeCred(b: Buffer, at: number): ExecCred {
  const u = (off: number) => b.readUInt32LE(at + off);
  return {
    uid: u(CRED.uid),
    gid: u(CRED.gid),
    euid: u(CRED.euid),
    egid: u(CRED.egid),
    suid: u(CRED.suid),
    sgid: u(CRED.sgid),
    fsuid: u(CRED.fsuid),
    fsgid: u(CRED.fsgid),
    securebits: u(CRED.securebits),
    capPermitted: b.readBigUInt64LE(at + CRED.cap_permitted),
    capEffective: b.readBigUInt64LE(at + CRED.cap_effective),
    capInheritable: b.readBigUInt64LE(at + CRED.cap_inheritable),
  };
}

/** A user namespace argument (struct tln_rec_userns): its level, owner, group and inode. */
export interface UserNsArg {
  level: number;
  uid: number;
  gid: number;
  inum: number;
}

function decodeUserNsAt(b: Buffer, at: number): UserNsArg {
  const U = G.tln_rec_userns;
  const u = (off: number) => b.readUInt32LE(at + off);
  return { level: u(U.level), uid: u(U.uid), gid: u(U.gid), inum: u(U.inum) };
}

const view = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);

/** the user namespace whose struct tln_rec_userns bytes a hook record carried; null when they are short */
export function decodeUserNs(bytes: Uint8Array): UserNsArg | null {
  return bytes.length < G.tln_rec_userns.sizeof ? null : decodeUserNsAt(view(bytes), 0);
}

/** a NUL-padded name of n bytes at b[at] */
const fixedStr = (b: Buffer, at: number, n: number) => {
  const s = b.subarray(at, at + n);
  const z = s.indexOf(0);
  return s.subarray(0, z < 0 ? s.length : z).toString('utf8');
};

/** A BPF program being loaded (bpf_attr) or loaded (bpf_prog): struct tln_rec_bpfprog. */
export interface BpfProgArg {
  progType: number;
  insnCnt: number;
  name: string;
}

/** the program whose struct tln_rec_bpfprog bytes a hook record carried; null when they are short */
export function decodeBpfProg(bytes: Uint8Array): BpfProgArg | null {
  const P = G.tln_rec_bpfprog;
  if (bytes.length < P.sizeof) return null;
  const b = view(bytes);
  return { progType: b.readUInt32LE(P.prog_type), insnCnt: b.readUInt32LE(P.insn_cnt), name: fixedStr(b, P.name, G.TLN_BPF_OBJ_NAME) };
}

/** A BPF map: struct tln_rec_bpfmap. */
export interface BpfMapArg {
  mapType: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  name: string;
}

export function decodeBpfMap(bytes: Uint8Array): BpfMapArg | null {
  const M = G.tln_rec_bpfmap;
  if (bytes.length < M.sizeof) return null;
  const b = view(bytes);
  const u = (o: number) => b.readUInt32LE(o);
  return {
    mapType: u(M.map_type),
    keySize: u(M.key_size),
    valueSize: u(M.value_size),
    maxEntries: u(M.max_entries),
    name: fixedStr(b, M.name, G.TLN_BPF_OBJ_NAME),
  };
}

/** A perf event from its attr: struct tln_rec_perfevent. */
export interface PerfEventArg {
  type: number;
  config: bigint;
  probeOffset: bigint;
  kprobeFunc: string;
}

export function decodePerfEvent(bytes: Uint8Array): PerfEventArg | null {
  const E = G.tln_rec_perfevent;
  if (bytes.length < E.sizeof) return null;
  const b = view(bytes);
  return {
    type: b.readUInt32LE(E.type),
    config: b.readBigUInt64LE(E.config),
    probeOffset: b.readBigUInt64LE(E.probe_offset),
    kprobeFunc: fixedStr(b, E.kprobe_func, G.TLN_KSYM_NAME),
  };
}

/** A cred argument of a generic hook: the struct cred and its user namespace (struct tln_rec_credarg). */
export interface CredArg extends ExecCred {
  userNs: UserNsArg;
}

/** the cred argument whose struct tln_rec_credarg bytes a hook record carried; null when they are short */
export function decodeCredArg(bytes: Uint8Array): CredArg | null {
  const A = G.tln_rec_credarg;
  if (bytes.length < A.sizeof) return null;
  const b = view(bytes);
  return { ...decodeCred(b, A.cred), userNs: decodeUserNsAt(b, A.user_ns) };
}

function decodeNs(b: Buffer, at: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < G.TLN_NS_TYPES; i++) out.push(b.readUInt32LE(at + G.tln_rec_ns.inum + 4 * i));
  return out;
}

export function decodeExit(b: Buffer): ExitRecord {
  const code = b.readUInt32LE(EXIT.code);
  const sig = code & 0x7f;
  return {
    type: 'exit',
    ktime: b.readBigUInt64LE(HDR.ktime),
    flags: b.readUInt32LE(HDR.flags),
    ...task(b, EXIT.task),
    binary: str(b, EXIT.data, b.readUInt16LE(EXIT.path_len)),
    code,
    status: sig === 0 ? (code >> 8) & 0xff : null,
    signal: sig !== 0 ? sig : null,
  };
}

/** A hook record: its fixed fields here, its arguments decoded by the core; `raw` keeps the bytes for the evaluator. */
export function decodeHook(b: Buffer): HookRecord {
  const sel = b.readUInt8(HOOK.selector);
  const sensor = b.readUInt16LE(HOOK.sensor);
  const member = b.readUInt16LE(HOOK.member);
  const raw = new Uint8Array(b.buffer, b.byteOffset, b.length);
  return {
    type: 'hook',
    ktime: b.readBigUInt64LE(HDR.ktime),
    flags: b.readUInt32LE(HDR.flags),
    ...task(b, HOOK.task),
    policyId: b.readUInt32LE(HOOK.policy_id),
    hookId: b.readUInt16LE(HOOK.hook_id),
    slot: b.readUInt8(HOOK.slot),
    selector: sel === SEL_NONE ? null : sel,
    actions: bits(b.readUInt16LE(HOOK.actions)),
    skipped: bits(b.readUInt16LE(HOOK.skipped)),
    mode: MODE_NAMES[b.readUInt8(HOOK.mode)] ?? 'enforce',
    binary: str(b, HOOK.data, b.readUInt16LE(HOOK.bin_len)),
    error: b.readInt32LE(HOOK.error),
    sensor: SENSOR_NAMES[sensor] ?? `sensor#${sensor}`,
    ...(member ? { member } : {}),
    args: decodeHookArgs(raw) ?? [],
    raw,
    cookie: b.readBigUInt64LE(HOOK.sock + G.tln_rec_sock.cookie),
  };
}

export function decodeSock(b: Buffer): SockRecord {
  const S = G.tln_sock_rec;
  const family = b.readUInt16LE(S.family);
  const a = b.subarray(S.saddr, S.saddr + 16);
  return {
    type: 'sock',
    ktime: b.readBigUInt64LE(HDR.ktime),
    cookie: b.readBigUInt64LE(S.cookie),
    noPort: (b.readUInt32LE(S.flags) & G.TLN_SOCK_F_NOPORT) !== 0,
    family,
    sport: b.readUInt16LE(S.sport),
    saddr: family === 2 || family === 10 ? ipString(family, a) : '',
  };
}

/** Decodes one raw record; null for an unknown type or a short/newer record. */
export function decodeRecord(b: Buffer): TlnRecord | null {
  if (b.length < HDR.sizeof || b.readUInt8(HDR.version) !== TLN_EVENTS_VERSION) return null;
  switch (b.readUInt8(HDR.type)) {
    case REC.EXEC:
      return b.length >= EXEC.sizeof ? decodeExec(b) : null;
    case REC.EXIT:
      return b.length >= EXIT.sizeof ? decodeExit(b) : null;
    case REC.HOOK:
      return b.length >= HOOK.sizeof ? decodeHook(b) : null;
    case REC.SOCK:
      return b.length >= G.tln_sock_rec.sizeof ? decodeSock(b) : null;
    default:
      return null;
  }
}

const STRING_TYPES: ReadonlySet<number> = new Set([G.TLN_ARG_FILE, G.TLN_ARG_PATH, G.TLN_ARG_FD, G.TLN_ARG_STRING, G.TLN_ARG_FILENAME, G.TLN_ARG_NET_DEVICE]);
const SOCK_TYPES: ReadonlySet<number> = new Set([G.TLN_ARG_SOCK, G.TLN_ARG_SOCKADDR, G.TLN_ARG_SKB, G.TLN_ARG_SOCKET]);
/** sensors whose programs are tln_generic.bpf.c's (socket arguments in data[], TLN_ARG_F_DATA) */
const GENERIC_SENSORS: ReadonlySet<number> = new Set([
  G.TLN_SENSOR_TP_GENERIC,
  G.TLN_SENSOR_UPROBE,
  G.TLN_SENSOR_KPROBE,
  G.TLN_SENSOR_FENTRY,
  G.TLN_SENSOR_FMOD_RET,
  G.TLN_SENSOR_LSM_HOOK,
]);

/** the type a value of this kind is written with when the caller does not say */
function defaultType(a: EvalArg): number {
  return a.kind === 'str' ? G.TLN_ARG_STRING : a.kind === 'int' ? G.TLN_ARG_SINT64 : a.kind === 'sock' ? G.TLN_ARG_SOCK : G.TLN_ARG_NONE;
}

function actionBits(names: string[]): number {
  let m = 0;
  for (const [id, name] of Object.entries(ACTION_NAMES)) if (names.includes(name)) m |= 1 << Number(id);
  return m;
}

function writeAddr(b: Buffer, at: number, text: string): void {
  const tmp = new Uint8Array(16);
  if (text.indexOf(':') >= 0 ? parseIPv6(text, tmp) : parseIPv4(text, tmp, 0)) b.set(tmp, at);
}

/**
 * The bytes the BPF programs would write for a hook record (struct
 * tln_hook_rec + data): for records made in the host (tests, test doubles),
 * so that every hook record reaches the evaluator as kernel bytes. `types`:
 * the enum tln_arg_type of each argument (the hook's HookSpec.args), else
 * one is chosen from the value's kind.
 */
export function encodeHook(r: HookRecord, types: (number | undefined)[] = []): Uint8Array {
  const bin = Buffer.from(r.binary, 'utf8');
  const nargs = Math.min(r.args.length, G.TLN_MAX_ARGS);
  const strs = r.args
    .slice(0, nargs)
    .map((a, i) => (a.kind !== 'str' ? null : STRUCT_TYPES.has(types[i] ?? -1) && a.bytes ? Buffer.from(a.bytes) : Buffer.from(a.value, 'utf8')));
  const sensor = Object.entries(SENSOR_NAMES).find(([, n]) => n === r.sensor);
  const sensorId = sensor ? Number(sensor[0]) : 0;
  // the generic programs write each socket argument into data[]; the socket hooks their one socket
  // into rec.sock (a second one here goes to data[] too)
  const allInData = GENERIC_SENSORS.has(sensorId);
  const socks = r.args.slice(0, nargs).filter((a, i) => a.kind === 'sock' && SOCK_TYPES.has(types[i] ?? defaultType(a))).length;
  const inData = allInData ? socks : Math.max(0, socks - 1);
  const size = HOOK.sizeof + bin.length + strs.reduce((n, x) => n + (x ? x.length : 0), 0) + inData * G.tln_rec_sock.sizeof;
  const b = Buffer.alloc(size);
  b.writeUInt8(G.TLN_REC_HOOK, HDR.type);
  b.writeUInt8(G.TLN_EVENTS_VERSION, HDR.version);
  b.writeUInt16LE(size, HDR.size);
  b.writeUInt32LE(r.flags >>> 0, HDR.flags);
  b.writeBigUInt64LE(r.ktime, HDR.ktime);
  const t = HOOK.task;
  b.writeUInt32LE(r.pid >>> 0, t + TASK.pid);
  b.writeUInt32LE(r.tid >>> 0, t + TASK.tid);
  b.writeUInt32LE(r.ppid >>> 0, t + TASK.ppid);
  b.writeUInt32LE(r.uid >>> 0, t + TASK.uid);
  b.writeBigUInt64LE(r.cgroupId, t + TASK.cgroup_id);
  b.writeBigUInt64LE(r.startKtime, t + TASK.start_ktime);
  b.writeUInt32LE(r.nsPid >>> 0, t + TASK.ns_pid);
  b.writeUInt32LE(r.policyId >>> 0, HOOK.policy_id);
  b.writeUInt16LE(r.hookId, HOOK.hook_id);
  b.writeUInt8(r.slot, HOOK.slot);
  b.writeUInt8(r.selector === null ? SEL_NONE : r.selector, HOOK.selector);
  b.writeUInt16LE(actionBits(r.actions), HOOK.actions);
  b.writeUInt16LE(actionBits(r.skipped), HOOK.skipped);
  b.writeUInt8(Math.max(0, MODE_NAMES.indexOf(r.mode)), HOOK.mode);
  b.writeUInt8(nargs, HOOK.nargs);
  b.writeUInt16LE(bin.length, HOOK.bin_len);
  b.writeInt32LE(r.error, HOOK.error);
  b.writeUInt16LE(sensorId, HOOK.sensor);
  b.writeUInt16LE(r.member ?? 0, HOOK.member);
  bin.copy(b, HOOK.data);
  let off = bin.length;
  let inSock = allInData;
  for (let i = 0; i < nargs; i++) {
    const a = r.args[i];
    const o = HOOK.args + i * G.tln_rec_arg.sizeof;
    const type = types[i] ?? defaultType(a);
    b.writeUInt8(type, o + G.tln_rec_arg.type);
    if (a.kind === 'none') {
      b.writeUInt8(ARG_F.NONE, o + G.tln_rec_arg.flags);
    } else if (a.kind === 'str' && (STRING_TYPES.has(type) || (STRUCT_TYPES.has(type) && a.bytes))) {
      // a struct-read argument (cred, user namespace, BPF object): its bytes in data[], as the generic programs write it
      const sb = strs[i]!;
      if (STRUCT_TYPES.has(type)) b.writeUInt8(ARG_F.DATA, o + G.tln_rec_arg.flags);
      b.writeUInt16LE(sb.length, o + G.tln_rec_arg.len);
      b.writeUInt16LE(off, o + G.tln_rec_arg.off);
      sb.copy(b, HOOK.data + off);
      off += sb.length;
    } else if (a.kind === 'int') {
      b.writeBigUInt64LE(BigInt.asUintN(64, a.value), o + G.tln_rec_arg.val);
    } else if (a.kind === 'sock' && SOCK_TYPES.has(type)) {
      let k = HOOK.sock;
      if (inSock) {
        k = HOOK.data + off;
        b.writeUInt8(ARG_F.DATA, o + G.tln_rec_arg.flags);
        b.writeUInt16LE(G.tln_rec_sock.sizeof, o + G.tln_rec_arg.len);
        b.writeUInt16LE(off, o + G.tln_rec_arg.off);
        off += G.tln_rec_sock.sizeof;
      }
      inSock = true;
      b.writeUInt16LE(a.family, k + G.tln_rec_sock.family);
      b.writeUInt16LE(a.protocol, k + G.tln_rec_sock.protocol);
      b.writeUInt16LE(a.sport, k + G.tln_rec_sock.sport);
      b.writeUInt16LE(a.dport, k + G.tln_rec_sock.dport);
      b.writeUInt8(a.state, k + G.tln_rec_sock.state);
      b.writeUInt8(a.sockType ?? 0, k + G.tln_rec_sock.type);
      b.writeBigUInt64LE(r.cookie ?? 0n, k + G.tln_rec_sock.cookie);
      writeAddr(b, k + G.tln_rec_sock.saddr, a.saddr);
      writeAddr(b, k + G.tln_rec_sock.daddr, a.daddr);
    } else {
      b.writeUInt8(ARG_F.NONE, o + G.tln_rec_arg.flags);
    }
  }
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}
