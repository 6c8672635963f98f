// Decoders of the ring-buffer records of bpf/include/tln_events.h.
// Every constant and offset below must match that header; test/kernel-abi.test.ts
// compiles the header with the host C compiler and checks them.
import type { EvalArg } from '../core/types.js';

export const TLN_EVENTS_VERSION = 1;

export const REC = { EXEC: 1, EXIT: 2, HOOK: 3 } as const; // enum tln_rec_type

export const REC_F = { PROCFS: 0x01, TRUNC_PATH: 0x02, TRUNC_ARGS: 0x04, TRUNC_CWD: 0x08, NO_PROC: 0x10 } as const;
export const ARG_F = { TRUNC: 0x01, NONE: 0x02 } as const;
export const SEL_NONE = 0xff;
export const PROC_F_PROCFS = 0x01;

/** sizes and offsets (must match bpf/include/tln_events.h) */
export const LAYOUT = {
  TLN_PATH_MAX: 4096,
  TLN_ARGS_MAX: 1024,
  TLN_BIN_MAX: 256,
  TLN_DATA_MAX: 8192,
  TLN_EXEC_DATA_MAX: 16384,
  'sizeof(struct tln_rec_hdr)': 16,
  'offsetof(struct tln_rec_hdr, type)': 0,
  'offsetof(struct tln_rec_hdr, version)': 1,
  'offsetof(struct tln_rec_hdr, size)': 2,
  'offsetof(struct tln_rec_hdr, flags)': 4,
  'offsetof(struct tln_rec_hdr, ktime)': 8,
  'sizeof(struct tln_rec_task)': 40,
  'offsetof(struct tln_rec_task, pid)': 0,
  'offsetof(struct tln_rec_task, tid)': 4,
  'offsetof(struct tln_rec_task, ppid)': 8,
  'offsetof(struct tln_rec_task, uid)': 12,
  'offsetof(struct tln_rec_task, cgroup_id)': 16,
  'offsetof(struct tln_rec_task, start_ktime)': 24,
  'offsetof(struct tln_rec_task, ns_pid)': 32,
  'sizeof(struct tln_exec_rec)': 72,
  'offsetof(struct tln_exec_rec, task)': 16,
  'offsetof(struct tln_exec_rec, path_len)': 56,
  'offsetof(struct tln_exec_rec, args_len)': 58,
  'offsetof(struct tln_exec_rec, cwd_len)': 60,
  'offsetof(struct tln_exec_rec, data)': 72,
  'sizeof(struct tln_exit_rec)': 64,
  'offsetof(struct tln_exit_rec, code)': 56,
  'offsetof(struct tln_exit_rec, path_len)': 60,
  'offsetof(struct tln_exit_rec, data)': 64,
  'sizeof(struct tln_rec_arg)': 16,
  'offsetof(struct tln_rec_arg, type)': 0,
  'offsetof(struct tln_rec_arg, flags)': 1,
  'offsetof(struct tln_rec_arg, len)': 2,
  'offsetof(struct tln_rec_arg, off)': 4,
  'offsetof(struct tln_rec_arg, val)': 8,
  'sizeof(struct tln_rec_sock)': 48,
  'offsetof(struct tln_rec_sock, family)': 0,
  'offsetof(struct tln_rec_sock, protocol)': 2,
  'offsetof(struct tln_rec_sock, sport)': 4,
  'offsetof(struct tln_rec_sock, dport)': 6,
  'offsetof(struct tln_rec_sock, state)': 8,
  'offsetof(struct tln_rec_sock, saddr)': 16,
  'offsetof(struct tln_rec_sock, daddr)': 32,
  'sizeof(struct tln_hook_rec)': 208,
  'offsetof(struct tln_hook_rec, task)': 16,
  'offsetof(struct tln_hook_rec, policy_id)': 56,
  'offsetof(struct tln_hook_rec, hook_id)': 60,
  'offsetof(struct tln_hook_rec, slot)': 62,
  'offsetof(struct tln_hook_rec, selector)': 63,
  'offsetof(struct tln_hook_rec, actions)': 64,
  'offsetof(struct tln_hook_rec, skipped)': 66,
  'offsetof(struct tln_hook_rec, mode)': 68,
  'offsetof(struct tln_hook_rec, nargs)': 69,
  'offsetof(struct tln_hook_rec, bin_len)': 70,
  'offsetof(struct tln_hook_rec, error)': 72,
  'offsetof(struct tln_hook_rec, sensor)': 76,
  'offsetof(struct tln_hook_rec, args)': 80,
  'offsetof(struct tln_hook_rec, sock)': 160,
  'offsetof(struct tln_hook_rec, data)': 208,
  'sizeof(struct tln_proc)': 280,
  'offsetof(struct tln_proc, ppid)': 0,
  'offsetof(struct tln_proc, flags)': 4,
  'offsetof(struct tln_proc, ktime)': 8,
  'offsetof(struct tln_proc, path_len)': 16,
  'offsetof(struct tln_proc, path)': 24,
  'sizeof(struct tln_pending)': 8,
  TLN_REC_EXEC: REC.EXEC,
  TLN_REC_EXIT: REC.EXIT,
  TLN_REC_HOOK: REC.HOOK,
  TLN_REC_F_PROCFS: REC_F.PROCFS,
  TLN_REC_F_TRUNC_PATH: REC_F.TRUNC_PATH,
  TLN_REC_F_TRUNC_ARGS: REC_F.TRUNC_ARGS,
  TLN_REC_F_TRUNC_CWD: REC_F.TRUNC_CWD,
  TLN_REC_F_NO_PROC: REC_F.NO_PROC,
  TLN_ARG_F_TRUNC: ARG_F.TRUNC,
  TLN_ARG_F_NONE: ARG_F.NONE,
  TLN_SEL_NONE: SEL_NONE,
  TLN_SENSOR_TP_FILE: 1,
  TLN_SENSOR_CGROUP_SOCK: 2,
  TLN_SENSOR_LSM_FILE: 3,
  TLN_SENSOR_LSM_SOCK: 4,
  TLN_SENSOR_TP_GENERIC: 5,
  TLN_SENSOR_UPROBE: 6,
  TLN_SRC_NONE: 0,
  TLN_SRC_INT: 1,
  TLN_SRC_USTR: 2,
  TLN_SRC_KSTR: 3,
  TLN_SRC_DATA_LOC: 4,
  TLN_SRC_ARRAY: 5,
  TLN_SRC_REG: 6,
  TLN_SRC_REG_USTR: 7,
  TLN_GEN_STR_MAX: 1024,
  'sizeof(struct tln_gen_arg)': 8,
  'offsetof(struct tln_gen_arg, off)': 0,
  'offsetof(struct tln_gen_arg, size)': 2,
  'offsetof(struct tln_gen_arg, src)': 4,
  'offsetof(struct tln_gen_arg, is_signed)': 5,
  'sizeof(struct tln_gen_conf)': 48,
  'offsetof(struct tln_gen_conf, nargs)': 0,
  'offsetof(struct tln_gen_conf, args)': 8,
  TLN_PROC_F_PROCFS: PROC_F_PROCFS,
  TLN_EVENTS_VERSION,
} as const;

/** enum tln_sensor -> catalog sensor label */
export const SENSOR_NAMES: Record<number, string> = {
  1: 'tln_tp_file',
  2: 'tln_cgroup_sock',
  3: 'tln_lsm_file',
  4: 'tln_lsm_sock',
  5: 'generic_tracepoint',
  6: 'generic_uprobe',
};

/** enum tln_action_id -> Tetragon action name */
export const ACTION_NAMES: Record<number, string> = { 0: 'Post', 2: 'Sigkill', 4: 'Override', 8: 'NoPost', 9: 'Signal' };
export const MODE_NAMES = ['enforce', 'monitor', 'monitor_only'] as const;

/** enum tln_arg_type classes */
const STRING_TYPES = new Set([16, 17, 18, 19, 20]);
const SIGNED_TYPES = new Set([1, 3, 5, 7]);
const INT_TYPES = new Set([1, 2, 3, 4, 5, 6, 7, 8]);
const SOCK_TYPES = new Set([32, 33]);

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
  /** argument values in the order of the hook's args[] */
  args: EvalArg[];
}

export type TlnRecord = ExecRecord | ExitRecord | HookRecord;

const utf8 = new TextDecoder('utf-8', { fatal: false });
const str = (b: Buffer, off: number, len: number) => utf8.decode(b.subarray(off, Math.min(off + len, b.length)));

function task(b: Buffer, o: number): TaskInfo {
  return {
    pid: b.readUInt32LE(o),
    tid: b.readUInt32LE(o + 4),
    ppid: b.readUInt32LE(o + 8),
    uid: b.readUInt32LE(o + 12),
    cgroupId: b.readBigUInt64LE(o + 16),
    startKtime: b.readBigUInt64LE(o + 24),
    nsPid: b.readUInt32LE(o + 32),
  };
}

function bits(mask: number): string[] {
  const out: string[] = [];
  for (const [id, name] of Object.entries(ACTION_NAMES)) if (mask & (1 << Number(id))) out.push(name);
  return out;
}

export function ipString(family: number, a: Buffer): string {
  if (family === 2) return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(a.readUInt16BE(i).toString(16));
  // compress the longest run of zero groups
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return g.join(':');
  return `${g.slice(0, best).join(':')}::${g.slice(best + bestLen).join(':')}`;
}

export function decodeExec(b: Buffer): ExecRecord {
  const flags = b.readUInt32LE(4);
  const d = LAYOUT['offsetof(struct tln_exec_rec, data)'];
  const pl = b.readUInt16LE(56), al = b.readUInt16LE(58), cl = b.readUInt16LE(60);
  const rawArgs = str(b, d + pl, al);
  return {
    type: 'exec',
    ktime: b.readBigUInt64LE(8),
    flags,
    procfs: (flags & REC_F.PROCFS) !== 0,
    ...task(b, 16),
    binary: str(b, d, pl),
    args: al ? rawArgs.split('\0') : [],
    cwd: str(b, d + pl + al, cl),
  };
}

export function decodeExit(b: Buffer): ExitRecord {
  const code = b.readUInt32LE(56);
  const sig = code & 0x7f;
  return {
    type: 'exit',
    ktime: b.readBigUInt64LE(8),
    flags: b.readUInt32LE(4),
    ...task(b, 16),
    binary: str(b, 64, b.readUInt16LE(60)),
    code,
    status: sig === 0 ? (code >> 8) & 0xff : null,
    signal: sig !== 0 ? sig : null,
  };
}

export function decodeHook(b: Buffer): HookRecord {
  const D = LAYOUT['offsetof(struct tln_hook_rec, data)'];
  const nargs = b.readUInt8(69);
  const binLen = b.readUInt16LE(70);
  const sel = b.readUInt8(63);
  const sockOff = LAYOUT['offsetof(struct tln_hook_rec, sock)'];
  const args: EvalArg[] = [];
  for (let i = 0; i < Math.min(nargs, 5); i++) {
    const o = 80 + i * 16;
    const type = b.readUInt8(o), flags = b.readUInt8(o + 1);
    if (flags & ARG_F.NONE || type === 0) {
      args.push({ kind: 'none' });
    } else if (STRING_TYPES.has(type)) {
      args.push({ kind: 'str', value: str(b, D + b.readUInt16LE(o + 4), b.readUInt16LE(o + 2)) });
    } else if (INT_TYPES.has(type)) {
      const v = b.readBigUInt64LE(o + 8);
      args.push({ kind: 'int', value: SIGNED_TYPES.has(type) ? BigInt.asIntN(64, v) : v });
    } else if (SOCK_TYPES.has(type)) {
      const family = b.readUInt16LE(sockOff);
      args.push({
        kind: 'sock',
        family,
        protocol: b.readUInt16LE(sockOff + 2),
        sport: b.readUInt16LE(sockOff + 4),
        dport: b.readUInt16LE(sockOff + 6),
        state: b.readUInt8(sockOff + 8),
        saddr: ipString(family, b.subarray(sockOff + 16, sockOff + 32)),
        daddr: ipString(family, b.subarray(sockOff + 32, sockOff + 48)),
      });
    } else {
      args.push({ kind: 'none' });
    }
  }
  return {
    type: 'hook',
    ktime: b.readBigUInt64LE(8),
    flags: b.readUInt32LE(4),
    ...task(b, 16),
    policyId: b.readUInt32LE(56),
    hookId: b.readUInt16LE(60),
    slot: b.readUInt8(62),
    selector: sel === SEL_NONE ? null : sel,
    actions: bits(b.readUInt16LE(64)),
    skipped: bits(b.readUInt16LE(66)),
    mode: MODE_NAMES[b.readUInt8(68)] ?? 'enforce',
    binary: str(b, D, binLen),
    error: b.readInt32LE(72),
    sensor: SENSOR_NAMES[b.readUInt32LE(76)] ?? `sensor#${b.readUInt32LE(76)}`,
    args,
  };
}

/** Decodes one raw record; null for an unknown type or a short/newer record. */
export function decodeRecord(b: Buffer): TlnRecord | null {
  if (b.length < 16 || b.readUInt8(1) !== TLN_EVENTS_VERSION) return null;
  switch (b.readUInt8(0)) {
    case REC.EXEC:
      return b.length >= 72 ? decodeExec(b) : null;
    case REC.EXIT:
      return b.length >= 64 ? decodeExit(b) : null;
    case REC.HOOK:
      return b.length >= 208 ? decodeHook(b) : null;
    default:
      return null;
  }
}
