// Tracepoint formats (tracefs events/<subsystem>/<event>/format) and the
// per-instance configuration of the generic hook programs (struct
// tln_gen_conf in bpf/include/tln_events.h): where each declared argument of a
// tracepoint or uprobe hook is and how the program reads it. Field offsets are
// kernel-specific, so this is decided here, at load, never in the image.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HookSpec } from '../core/types.js';
import { LAYOUT } from './records.js';
import { resolvePath, type Btf } from './btf.js';

/** one `field:` line of a format file */
export interface FormatField {
  /** the C declaration as printed, e.g. "const char * filename", "__data_loc char[] comm" */
  decl: string;
  name: string;
  offset: number;
  size: number;
  signed: boolean;
  /** what kind of value the field holds */
  shape: 'int' | 'pointer' | 'char-pointer' | 'char-array' | 'array' | 'data-loc-string' | 'data-loc';
}

/** enum tln_src (bpf/include/tln_events.h, checked by test/kernel-abi.test.ts through LAYOUT) */
export const SRC = {
  NONE: LAYOUT.TLN_SRC_NONE,
  INT: LAYOUT.TLN_SRC_INT,
  USTR: LAYOUT.TLN_SRC_USTR,
  KSTR: LAYOUT.TLN_SRC_KSTR,
  DATA_LOC: LAYOUT.TLN_SRC_DATA_LOC,
  ARRAY: LAYOUT.TLN_SRC_ARRAY,
  REG: LAYOUT.TLN_SRC_REG,
  REG_USTR: LAYOUT.TLN_SRC_REG_USTR,
  REG_KSTR: LAYOUT.TLN_SRC_REG_KSTR,
  REG_FILE: LAYOUT.TLN_SRC_REG_FILE,
  REG_PATH: LAYOUT.TLN_SRC_REG_PATH,
  REG_FD: LAYOUT.TLN_SRC_REG_FD,
  FD: LAYOUT.TLN_SRC_FD,
  SOCK: LAYOUT.TLN_SRC_SOCK,
  UBUF: LAYOUT.TLN_SRC_UBUF,
  KBUF: LAYOUT.TLN_SRC_KBUF,
  BPRM: LAYOUT.TLN_SRC_BPRM,
  P_SOCK: LAYOUT.TLN_SRC_P_SOCK,
  P_SOCKET: LAYOUT.TLN_SRC_P_SOCKET,
  P_SKB: LAYOUT.TLN_SRC_P_SKB,
  P_SOCKADDR: LAYOUT.TLN_SRC_P_SOCKADDR,
  P_CRED: LAYOUT.TLN_SRC_P_CRED,
  P_USERNS: LAYOUT.TLN_SRC_P_USERNS,
  P_NETDEV: LAYOUT.TLN_SRC_P_NETDEV,
} as const;

/** how a pointer-read argument type is found and checked: its source, and the BTF struct (or union) it points to */
interface PtrSrc {
  src: number;
  struct: string;
  union?: boolean;
}
/** socket-kind, cred, user namespace, net_device and BPF-object argument types read through a pointer (kprobes, fentries, LSM hooks, raw tracepoints), their source and BTF struct */
const PTR_SRCS: ReadonlyMap<number, PtrSrc> = new Map([
  [LAYOUT.TLN_ARG_SOCK, { src: LAYOUT.TLN_SRC_P_SOCK, struct: 'sock' }],
  [LAYOUT.TLN_ARG_SOCKET, { src: LAYOUT.TLN_SRC_P_SOCKET, struct: 'socket' }],
  [LAYOUT.TLN_ARG_SKB, { src: LAYOUT.TLN_SRC_P_SKB, struct: 'sk_buff' }],
  [LAYOUT.TLN_ARG_SOCKADDR, { src: LAYOUT.TLN_SRC_P_SOCKADDR, struct: 'sockaddr' }],
  [LAYOUT.TLN_ARG_CRED, { src: LAYOUT.TLN_SRC_P_CRED, struct: 'cred' }],
  [LAYOUT.TLN_ARG_USER_NAMESPACE, { src: LAYOUT.TLN_SRC_P_USERNS, struct: 'user_namespace' }],
  [LAYOUT.TLN_ARG_NET_DEVICE, { src: LAYOUT.TLN_SRC_P_NETDEV, struct: 'net_device' }],
  [LAYOUT.TLN_ARG_BPF_ATTR, { src: LAYOUT.TLN_SRC_P_BPFATTR, struct: 'bpf_attr', union: true }],
  [LAYOUT.TLN_ARG_BPF_PROG, { src: LAYOUT.TLN_SRC_P_BPFPROG, struct: 'bpf_prog' }],
  [LAYOUT.TLN_ARG_BPF_MAP, { src: LAYOUT.TLN_SRC_P_BPFMAP, struct: 'bpf_map' }],
  [LAYOUT.TLN_ARG_PERF_EVENT, { src: LAYOUT.TLN_SRC_P_PERFEV, struct: 'perf_event' }],
]);

const GEN_CONF_SIZE = LAYOUT['sizeof(struct tln_gen_conf)'];
const GEN_ARG_SIZE = LAYOUT['sizeof(struct tln_gen_arg)'];
const GEN_ARGS_OFF = LAYOUT['offsetof(struct tln_gen_conf, args)'];
/** uprobe arguments read from registers: 0..5 */
export const UPROBE_MAX_ARG = 5;

/** enum tln_arg_type values the generic programs read */
export const ARG_INT_TYPES = new Set([1, 2, 3, 4, 5, 6, 7, 8]);
/** and a capability number (an int; tln_int_conv widens it as one), on kprobes and raw tracepoints */
const fnIntType = (t: number) => ARG_INT_TYPES.has(t) || t === LAYOUT.TLN_ARG_CAPABILITY;
export const ARG_STRING = 19;
const ARG_FILE = 16;
const ARG_PATH = 17;
const ARG_FD = 18;
export const ARG_SOCK = LAYOUT.TLN_ARG_SOCK;
/** a declared position nothing reads: its slot stays TLN_SRC_NONE (no value) */
const ARG_NOP = LAYOUT.TLN_ARG_NOP;
const ARG_CHAR_BUF = LAYOUT.TLN_ARG_CHAR_BUF;
/** left by typeAutoArgs on a field no type fits (or on a policy compiled without the formats) */
const ARG_AUTO = LAYOUT.TLN_ARG_AUTO;
const ARG_LINUX_BINPRM = LAYOUT.TLN_ARG_LINUX_BINPRM;
/** raw_syscalls' id field (the core allows it there only); the program adds the 32-bit bit */
const ARG_SYSCALL64 = LAYOUT.TLN_ARG_SYSCALL64;
/** TP_PROTO arguments a raw tracepoint program reads (the kernel's limit is 12) */
const RAW_TP_MAX_ARG = 11;
const GEN_BUFS_OFF = LAYOUT['offsetof(struct tln_gen_conf, bufs)'];
const GEN_BUF_SIZE = LAYOUT['sizeof(struct tln_gen_buf)'];

/** args[i] as written in the policy: Tetragon's char_buf attributes */
function writtenArg(hook: Pick<HookSpec, 'spec'>, i: number): { sizeArgIndex?: unknown; returnCopy?: unknown; resolve?: unknown; btfType?: unknown } {
  const l = (hook.spec?.spec as { args?: unknown } | undefined)?.args;
  const a = Array.isArray(l) ? (l[i] as Record<string, unknown> | null) : null;
  return a && typeof a === 'object' ? a : {};
}

/** does a char_buf argument of the hook copy its bytes at the exit (returnCopy)? */
export function hasReturnCopy(hook: Pick<HookSpec, 'args' | 'spec'>): boolean {
  return (hook.args ?? []).some((a, i) => a.type === ARG_CHAR_BUF && writtenArg(hook, i).returnCopy === true);
}

const TRACEFS_DIRS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

/** the tracefs directory with events/, or null */
export function tracefsDir(): string | null {
  return TRACEFS_DIRS.find((d) => existsSync(join(d, 'events'))) ?? null;
}

function shapeOf(decl: string, size: number): FormatField['shape'] {
  const d = decl.replace(/\s+/g, ' ').trim();
  if (d.startsWith('__data_loc ')) return /\bchar\b/.test(d) ? 'data-loc-string' : 'data-loc';
  if (/\[[^\]]*\]\s*$/.test(d)) return /\bchar\b/.test(d) ? 'char-array' : 'array';
  if (d.includes('*')) return /\bchar\b/.test(d) ? 'char-pointer' : 'pointer';
  return size >= 1 && size <= 8 ? 'int' : 'array';
}

/** Parses a format file's text: its fields in order, common_* fields included (Tetragon's indexes). */
export function parseFormat(text: string): FormatField[] {
  const out: FormatField[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*field:(.*?);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/.exec(line);
    if (!m) continue;
    const decl = m[1].trim();
    const size = Number(m[3]);
    // the name: the last identifier before an optional [N]
    const nm = /([A-Za-z_][A-Za-z0-9_]*)\s*(\[[^\]]*\])?\s*$/.exec(decl);
    out.push({ decl, name: nm ? nm[1] : decl, offset: Number(m[2]), size, signed: m[4] === '1', shape: shapeOf(decl, size) });
  }
  return out;
}

/** The fields of tracepoint subsystem/event, or an error text naming what is missing. */
export function readFormat(subsystem: string, event: string, dir = tracefsDir()): FormatField[] | string {
  if (!dir) return 'tracefs is not mounted (no /sys/kernel/tracing/events)';
  const file = join(dir, 'events', subsystem, event, 'format');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      return existsSync(join(dir, 'events', subsystem))
        ? `tracepoint ${subsystem}/${event} does not exist on this kernel (no ${file})`
        : `tracepoint subsystem ${subsystem} does not exist on this kernel (no ${join(dir, 'events', subsystem)})`;
    }
    return `cannot read ${file}: ${(e as Error).message}`;
  }
  const fields = parseFormat(text);
  if (!fields.length) return `${file} lists no fields`;
  return fields;
}

/** Tetragon's integer type names by sign and size (the core's argtypes.ts knows them all) */
const INT_TYPE_NAMES: Readonly<Record<string, string>> = {
  s1: 'int8',
  u1: 'uint8',
  s2: 'int16',
  u2: 'uint16',
  s4: 'int32',
  u4: 'uint32',
  s8: 'int64',
  u8: 'uint64',
};

/** the sign and size of C integer spellings a format declares (syscall fields are stored as 8 bytes, declared as the syscall's own type) */
const C_INTS: Readonly<Record<string, string>> = {
  char: 's1',
  'signed char': 's1',
  'unsigned char': 'u1',
  bool: 'u1',
  _Bool: 'u1',
  short: 's2',
  'unsigned short': 'u2',
  umode_t: 'u2',
  int: 's4',
  'signed int': 's4',
  'unsigned int': 'u4',
  unsigned: 'u4',
  pid_t: 's4',
  uid_t: 'u4',
  gid_t: 'u4',
  qid_t: 'u4',
  key_serial_t: 's4',
  clockid_t: 's4',
  timer_t: 's4',
  mqd_t: 's4',
  rwf_t: 's4',
  long: 's8',
  'unsigned long': 'u8',
  'long long': 's8',
  'unsigned long long': 'u8',
  size_t: 'u8',
  ssize_t: 's8',
  off_t: 's8',
  loff_t: 's8',
  key_t: 's4',
  time_t: 's8',
  aio_context_t: 'u8',
};
for (const n of [8, 16, 32, 64]) {
  for (const p of ['__u', 'u']) (C_INTS as Record<string, string>)[`${p}${n}`] = `u${n / 8}`;
  for (const p of ['__s', 's']) (C_INTS as Record<string, string>)[`${p}${n}`] = `s${n / 8}`;
}

/** the integer type a field's declaration names ("unsigned int fd" -> uint32), else by the format's size and sign */
function intTypeOf(f: FormatField): string | null {
  const words = f.decl
    .replace(/\b(const|volatile)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .split(' ')
    .slice(0, -1)
    .join(' ')
    .replace(/\b(signed|unsigned) (short|long long|long) int$/, '$1 $2')
    .replace(/\b(short|long long|long) int$/, '$1');
  const c = C_INTS[words];
  return INT_TYPE_NAMES[c ?? `${f.signed ? 's' : 'u'}${f.size}`] ?? null;
}

/**
 * The type an auto argument gets from its format field, as Tetragon's loader types it:
 * integers as declared (else by size and sign), char pointers, char arrays and __data_loc
 * char[] as strings, other pointers as their address (uint64); null for what no type reads
 * (struct arrays, __data_loc of other types).
 */
export function autoTypeOf(f: FormatField): string | null {
  switch (f.shape) {
    case 'int':
      return intTypeOf(f);
    case 'char-pointer':
    case 'data-loc-string':
    case 'char-array':
      return 'string';
    case 'pointer':
      return 'uint64';
    default:
      return null;
  }
}

const obj = (v: unknown): Record<string, unknown> | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);

/**
 * Gives every auto (or untyped: the CRD default is auto) argument of the document's tracepoints
 * (not raw ones: those are BTF arguments) the type of its field in this kernel's format, in place,
 * before the agent compiles it, so that the kernel reads, filters and reports it as that type.
 * Returns what it typed ("syscalls/sys_enter_lseek args[0] (index 7): uint32"); a field it cannot
 * type, or a tracepoint whose format it cannot read, stays auto and the load says why.
 */
export function typeAutoArgs(doc: unknown, formatOf: (subsystem: string, event: string) => FormatField[] | string = readFormat): string[] {
  const typed: string[] = [];
  const tps = obj(obj(doc)?.spec)?.tracepoints;
  if (!Array.isArray(tps)) return typed;
  for (const tp of tps) {
    const t = obj(tp);
    if (!t || t.raw === true || typeof t.subsystem !== 'string' || typeof t.event !== 'string' || !Array.isArray(t.args)) continue;
    let fields: FormatField[] | string | undefined;
    t.args.forEach((a, i) => {
      const arg = obj(a);
      if (!arg || (arg.type !== undefined && arg.type !== null && arg.type !== 'auto') || typeof arg.index !== 'number') return;
      fields ??= formatOf(t.subsystem as string, t.event as string);
      const f = typeof fields === 'string' ? undefined : fields[arg.index];
      const type = f ? autoTypeOf(f) : null;
      if (type === null) return;
      arg.type = type;
      typed.push(`${t.subsystem}/${t.event} args[${i}] (index ${arg.index}): ${type}`);
    });
  }
  return typed;
}

function put(buf: Buffer, i: number, off: number, size: number, src: number, signed: boolean): void {
  const o = GEN_ARGS_OFF + i * GEN_ARG_SIZE;
  buf.writeUInt16LE(off, o + LAYOUT['offsetof(struct tln_gen_arg, off)']);
  buf.writeUInt16LE(size, o + LAYOUT['offsetof(struct tln_gen_arg, size)']);
  buf.writeUInt8(src, o + LAYOUT['offsetof(struct tln_gen_arg, src)']);
  buf.writeUInt8(signed ? 1 : 0, o + LAYOUT['offsetof(struct tln_gen_arg, is_signed)']);
}

const TYPE_WORDS: Record<number, string> = {
  [ARG_STRING]: 'string',
  [ARG_FILE]: 'file',
  [ARG_PATH]: 'path',
  [ARG_FD]: 'fd',
  [ARG_LINUX_BINPRM]: 'linux_binprm',
  [LAYOUT.TLN_ARG_SOCK]: 'sock',
  [LAYOUT.TLN_ARG_SOCKET]: 'socket',
  [LAYOUT.TLN_ARG_SKB]: 'skb',
  [LAYOUT.TLN_ARG_SOCKADDR]: 'sockaddr',
  [LAYOUT.TLN_ARG_CRED]: 'cred',
  [LAYOUT.TLN_ARG_USER_NAMESPACE]: 'user_namespace',
  [LAYOUT.TLN_ARG_NET_DEVICE]: 'net_device',
  [LAYOUT.TLN_ARG_CAPABILITY]: 'capability',
  [LAYOUT.TLN_ARG_BPF_ATTR]: 'bpf_attr',
  [LAYOUT.TLN_ARG_BPF_PROG]: 'bpf_prog',
  [LAYOUT.TLN_ARG_BPF_MAP]: 'bpf_map',
  [LAYOUT.TLN_ARG_PERF_EVENT]: 'perf_event',
};
export const typeWord = (t: number) => TYPE_WORDS[t] ?? (ARG_INT_TYPES.has(t) ? 'integer' : `type #${t}`);

/**
 * struct tln_gen_conf of a tracepoint hook: each declared argument matched
 * with its format field. Throws an Error with the reason when an argument
 * cannot be read (index beyond the format, a string type on a non-string field ...).
 */
export function tracepointConf(hook: HookSpec, fields: FormatField[], bufFields?: FormatField[]): Buffer {
  const tp = hook.tracepoint!;
  const args = hook.args ?? [];
  const buf = Buffer.alloc(GEN_CONF_SIZE);
  buf.writeUInt8(args.length, LAYOUT['offsetof(struct tln_gen_conf, nargs)']);
  // syscall tracepoints get their pointers straight from user space
  const user = tp.subsystem === 'syscalls';
  args.forEach((a, i) => {
    if (a.type === ARG_NOP) return;
    const f = fields[a.index];
    const where = `tracepoint ${tp.subsystem}/${tp.event} args[${i}] (index ${a.index})`;
    if (!f) throw new Error(`${where}: the tracepoint has ${fields.length} fields (0-${fields.length - 1}, common_* fields included), see its format file`);
    const field = `field ${a.index} "${f.decl}"`;
    if (fnIntType(a.type) || a.type === ARG_SYSCALL64) {
      if (f.shape === 'int' || f.shape === 'pointer' || f.shape === 'char-pointer') {
        if (f.size < 1 || f.size > 8) throw new Error(`${where}: ${field} is ${f.size} bytes, not an integer`);
        put(buf, i, f.offset, f.size, SRC.INT, f.signed);
        return;
      }
      throw new Error(`${where}: ${field} is not an integer (declare it as string if it holds characters)`);
    }
    if (a.type === ARG_FD) {
      // an fd of the calling task, judged by the path of its file
      if (f.shape !== 'int' || f.size < 1 || f.size > 8) throw new Error(`${where}: ${field} is not an integer, so not an fd`);
      put(buf, i, f.offset, f.size, SRC.FD, f.signed);
      return;
    }
    if (a.type === ARG_STRING) {
      switch (f.shape) {
        case 'char-pointer':
          put(buf, i, f.offset, 8, user ? SRC.USTR : SRC.KSTR, false);
          return;
        case 'data-loc-string':
          put(buf, i, f.offset, 4, SRC.DATA_LOC, false);
          return;
        case 'char-array':
          put(buf, i, f.offset, f.size, SRC.ARRAY, false);
          return;
        default:
          throw new Error(`${where}: ${field} is not a string (a char pointer, char array or __data_loc char[]); declare an integer type`);
      }
    }
    if (a.type === ARG_CHAR_BUF && bufFields) {
      // a syscall's buffer (write's buf, read's buf): user memory, the count in another argument or the return value
      if (f.shape !== 'pointer' && f.shape !== 'char-pointer') throw new Error(`${where}: ${field} is not a pointer, so not a char_buf`);
      const w = writtenArg(hook, i);
      const o = GEN_BUFS_OFF + i * GEN_BUF_SIZE;
      if (w.returnCopy === true) {
        buf.writeUInt8(LAYOUT.TLN_GEN_B_RETCOPY, o + LAYOUT['offsetof(struct tln_gen_buf, flags)']);
      } else {
        const sz = typeof w.sizeArgIndex === 'number' ? w.sizeArgIndex : 0;
        const lf = sz > 0 ? bufFields[sz - 1] : undefined;
        if (!lf) throw new Error(`${where}: a char_buf needs sizeArgIndex (the argument holding its size) or returnCopy`);
        if (lf.shape !== 'int' || lf.size < 1 || lf.size > 8) throw new Error(`${where}: sizeArgIndex ${sz} names "${lf.decl}", not an integer`);
        buf.writeUInt16LE(lf.offset, o + LAYOUT['offsetof(struct tln_gen_buf, len_off)']);
        buf.writeUInt8(lf.size, o + LAYOUT['offsetof(struct tln_gen_buf, len_size)']);
      }
      put(buf, i, f.offset, 8, SRC.UBUF, false);
      return;
    }
    const ptr: PtrSrc | undefined = a.type === ARG_LINUX_BINPRM ? { src: SRC.BPRM, struct: 'linux_binprm' } : PTR_SRCS.get(a.type);
    if (ptr) {
      // a kernel pointer field of the struct the type reads (cap_capable's cred, net_dev_queue's skb)
      if (user) throw new Error(`${where}: a syscall tracepoint's pointers are user memory; ${typeWord(a.type)} arguments are read from the kernel's`);
      const m = /^(?:const\s+)?(?:struct|union)\s+([A-Za-z_][A-Za-z0-9_]*)\s*\*/.exec(f.decl);
      if (f.shape !== 'pointer' || f.size !== 8 || !m || m[1] !== ptr.struct)
        throw new Error(
          `${where}: ${field} is not a ${ptr.union ? 'union' : 'struct'} ${ptr.struct} pointer, which a ${typeWord(a.type)} argument is read from`,
        );
      put(buf, i, f.offset, 8, ptr.src, false);
      return;
    }
    if (a.type === ARG_AUTO)
      throw new Error(`${where}: type auto takes the type of ${field} from this kernel's format at load, and no type talon reads fits it; declare the type`);
    if (a.type === ARG_CHAR_BUF)
      throw new Error(`${where}: char_buf arguments are read on syscall hooks only (sys_X with syscall: true), not from a tracepoint's fields yet`);
    throw new Error(`${where}: ${typeWord(a.type)} arguments cannot be read from a tracepoint`);
  });
  if (hasReturnCopy(hook)) {
    const fo = LAYOUT['offsetof(struct tln_gen_conf, flags)'];
    buf.writeUInt8(buf.readUInt8(fo) | LAYOUT.TLN_GEN_F_RETCOPY, fo);
  }
  return buf;
}

/**
 * struct tln_gen_conf of a kprobe on a syscall served by its sys_enter_X
 * tracepoint: function argument i is the format's field after __syscall_nr.
 */
export function syscallConf(hook: HookSpec, fields: FormatField[]): Buffer {
  const sc = hook.spec?.syscall ?? hook.name;
  const nr = fields.findIndex((f) => f.name === '__syscall_nr');
  if (nr < 0) throw new Error(`tracepoint syscalls/sys_enter_${sc} has no __syscall_nr field: not a syscall entry tracepoint`);
  const nargs = fields.length - nr - 1;
  const args = hook.args ?? [];
  for (const [i, a] of args.entries()) {
    if (a.index >= nargs) {
      throw new Error(`args[${i}] (index ${a.index}): syscall ${sc} has ${nargs} argument${nargs === 1 ? '' : 's'}${nargs ? ` (0-${nargs - 1})` : ''}`);
    }
  }
  const mapped: HookSpec = {
    ...hook,
    tracepoint: { subsystem: 'syscalls', event: `sys_enter_${sc}` },
    args: args.map((a) => ({ ...a, index: nr + 1 + a.index })),
  };
  try {
    // a char_buf's sizeArgIndex counts the syscall's arguments from 1
    return tracepointConf(mapped, fields, fields.slice(nr + 1));
  } catch (e) {
    // in the kprobe's terms: argument positions, not format fields
    throw new Error(
      `syscall ${sc} (tracepoint syscalls/sys_enter_${sc}): ${(e as Error).message.replace(/^tracepoint \S+ args\[(\d+)\] \(index \d+\)/, (_m, i) => `args[${i}] (index ${args[Number(i)].index})`)}`,
    );
  }
}

/** cap_capable(cred, targ_ns, cap, opts): its arguments in the fields of tracepoint capability/cap_capable */
const CAP_CAPABLE_FIELDS = ['cred', 'target_ns', 'cap'];

/**
 * struct tln_gen_conf of cap_capable served by the tracepoint capability/cap_capable (fired as the
 * function returns): function argument i is the field CAP_CAPABLE_FIELDS[i]; return: true reads
 * the ret field in the same program (TLN_GEN_F_RET_HERE).
 */
export function capCapableConf(hook: HookSpec, fields: FormatField[]): Buffer {
  const args = hook.args ?? [];
  const mapped: HookSpec = {
    ...hook,
    tracepoint: { subsystem: 'capability', event: 'cap_capable' },
    args: args.map((a, i) => {
      const name = CAP_CAPABLE_FIELDS[a.index];
      const at = name ? fields.findIndex((f) => f.name === name) : -1;
      if (at < 0)
        throw new Error(
          `args[${i}] (index ${a.index}): tracepoint capability/cap_capable gives cap_capable's arguments 0 (cred), 1 (targ_ns) and 2 (cap)${name ? `, but this kernel's has no ${name} field` : ''}; opts (3) is not available`,
        );
      return { ...a, index: at };
    }),
  };
  let conf: Buffer;
  try {
    conf = tracepointConf(mapped, fields);
  } catch (e) {
    throw new Error(
      `cap_capable (tracepoint capability/cap_capable): ${(e as Error).message.replace(/^tracepoint \S+ args\[(\d+)\] \(index \d+\)/, (_m, i) => `args[${i}] (index ${args[Number(i)].index})`)}`,
    );
  }
  if (hook.return !== true) return conf;
  return withRetField(conf, fields, LAYOUT.TLN_GEN_F_RET_HERE, 'tracepoint capability/cap_capable has no integer ret field: the return value cannot be read');
}

/** a copy of conf whose return value is the tracepoint's integer `ret` field, with the flag that says who reads it */
function withRetField(conf: Buffer, fields: FormatField[], flag: number, missing: string): Buffer {
  const ret = fields.find((f) => f.name === 'ret');
  if (!ret || ret.shape !== 'int' || ret.size < 1 || ret.size > 8) throw new Error(missing);
  const out = Buffer.from(conf);
  const o = LAYOUT['offsetof(struct tln_gen_conf, ret)'];
  out.writeUInt16LE(ret.offset, o + LAYOUT['offsetof(struct tln_gen_arg, off)']);
  out.writeUInt16LE(ret.size, o + LAYOUT['offsetof(struct tln_gen_arg, size)']);
  out.writeUInt8(SRC.INT, o + LAYOUT['offsetof(struct tln_gen_arg, src)']);
  out.writeUInt8(1, o + LAYOUT['offsetof(struct tln_gen_arg, is_signed)']);
  const fo = LAYOUT['offsetof(struct tln_gen_conf, flags)'];
  out.writeUInt8(out.readUInt8(fo) | flag, fo);
  return out;
}

/**
 * Adds the return value's source to the conf of a return: true syscall hook:
 * the `ret` field of its syscalls/sys_exit_X tracepoint, read by the exit program.
 */
export function syscallReturnConf(conf: Buffer, hook: HookSpec, exitFields: FormatField[]): Buffer {
  const sc = hook.spec?.syscall ?? hook.name;
  return withRetField(conf, exitFields, LAYOUT.TLN_GEN_F_RETURN, `tracepoint syscalls/sys_exit_${sc} has no integer ret field: not a syscall exit tracepoint`);
}

/**
 * Adds the return value's source to the conf of a return: true uprobe or
 * kprobe: the return register, an integer, or for returnArg type string a
 * pointer to a string in user (uprobe) or kernel (kprobe) memory.
 */
export function registerReturnConf(conf: Buffer, hook: HookSpec, user: boolean): Buffer {
  const t = hook.spec?.spec?.returnArg as { type?: unknown } | undefined;
  const type = String(t?.type ?? 'int').toLowerCase();
  const src = type === 'string' ? (user ? SRC.REG_USTR : SRC.REG_KSTR) : SRC.REG;
  const out = Buffer.from(conf);
  const o = LAYOUT['offsetof(struct tln_gen_conf, ret)'];
  out.writeUInt16LE(0, o + LAYOUT['offsetof(struct tln_gen_arg, off)']);
  out.writeUInt16LE(8, o + LAYOUT['offsetof(struct tln_gen_arg, size)']);
  out.writeUInt8(src, o + LAYOUT['offsetof(struct tln_gen_arg, src)']);
  const fo = LAYOUT['offsetof(struct tln_gen_conf, flags)'];
  out.writeUInt8(out.readUInt8(fo) | LAYOUT.TLN_GEN_F_RETURN, fo);
  return out;
}

/** how one declared argument of a hook is read; `where` names it for errors */
export type ArgReader = (put: (off: number, size: number, src: number, signed: boolean) => void, a: { index: number; type: number }, where: string) => void;

/**
 * struct tln_gen_conf of a hook whose arguments are read one by one:
 * nargs, flags, and each declared argument through `read` (positions that
 * nothing reads, type nop, stay TLN_SRC_NONE). `label` prefixes the errors.
 */
export function genConf(hook: HookSpec, label: string, read: ArgReader, flags = 0): Buffer {
  const args = hook.args ?? [];
  const buf = Buffer.alloc(GEN_CONF_SIZE);
  buf.writeUInt8(args.length, LAYOUT['offsetof(struct tln_gen_conf, nargs)']);
  buf.writeUInt8(flags, LAYOUT['offsetof(struct tln_gen_conf, flags)']);
  args.forEach((a, i) => {
    if (a.type === ARG_NOP) return;
    read((off, size, src, signed) => put(buf, i, off, size, src, signed), a, `${label}${hook.name} args[${i}] (index ${a.index})`);
  });
  return buf;
}

/**
 * struct tln_gen_conf of a kprobe on a kernel function: arguments 0-5 from the
 * registers; strings are kernel memory; file, path and fd arguments are read
 * as the file's full path.
 */
export function kprobeConf(hook: HookSpec): Buffer {
  // linux_binprm: its file (bprm->file), through a resolve walk the loader adds (resolveConf)
  const srcs: Record<number, number> = {
    [ARG_STRING]: SRC.REG_KSTR,
    [ARG_FILE]: SRC.REG_FILE,
    [ARG_PATH]: SRC.REG_PATH,
    [ARG_FD]: SRC.REG_FD,
    [ARG_LINUX_BINPRM]: SRC.REG_FILE,
  };
  return genConf(hook, 'kprobe ', (put, a, where) => {
    if (a.index > UPROBE_MAX_ARG) throw new Error(`${where}: only the first ${UPROBE_MAX_ARG + 1} arguments are in registers`);
    if (fnIntType(a.type)) put(a.index, 8, SRC.REG, false);
    else if (srcs[a.type] !== undefined) put(a.index, 8, srcs[a.type], false);
    else if (PTR_SRCS.has(a.type)) put(a.index, 8, PTR_SRCS.get(a.type)!.src, false);
    else
      throw new Error(
        `${where}: ${typeWord(a.type)} arguments cannot be read by talon's generic kprobe yet (integers, capability, string, file, path, fd, linux_binprm, sock, socket, skb, sockaddr, cred, user_namespace, net_device, bpf_attr, bpf_prog, bpf_map, perf_event)`,
      );
  });
}

/**
 * struct tln_gen_conf of fd_install(fd, file) or security_file_open(file)
 * served at an open syscall's exit: the return value is the new fd; a file
 * argument is the file behind it. Failed opens (no file) give no event.
 */
export function openExitConf(hook: HookSpec, fields: FormatField[]): Buffer {
  const ret = fields.find((f) => f.name === 'ret');
  if (!ret) throw new Error('syscalls/sys_exit_openat has no ret field');
  // the function's own argument positions: fd_install(unsigned int fd, struct file *file), security_file_open(struct file *file)
  const fileIndex = hook.name === 'fd_install' ? 1 : 0;
  const fdIndex = hook.name === 'fd_install' ? 0 : -1;
  return genConf(
    hook,
    '',
    (put, a, where) => {
      if (a.index === fileIndex) {
        if (a.type !== ARG_FILE && a.type !== ARG_FD) throw new Error(`${where}: argument ${fileIndex} is the struct file *; declare it as file`);
        put(ret.offset, ret.size, SRC.FD, true);
      } else if (a.index === fdIndex) {
        if (!ARG_INT_TYPES.has(a.type)) throw new Error(`${where}: argument ${fdIndex} is the fd; declare it as an integer type`);
        put(ret.offset, ret.size, SRC.INT, true);
      } else {
        throw new Error(`${where}: ${hook.name} has ${hook.name === 'fd_install' ? 'arguments 0 (fd) and 1 (file)' : 'argument 0 (file)'} only`);
      }
    },
    LAYOUT.TLN_GEN_F_NEED_FILE,
  );
}

/**
 * struct tln_gen_conf of a raw: true tracepoint served by a BTF tracepoint: the
 * program's context is the TP_PROTO arguments, 8 bytes each; index is the position.
 */
export function rawTpConf(hook: HookSpec): Buffer {
  return genConf(hook, 'raw tracepoint ', (put, a, where) => {
    if (a.index > RAW_TP_MAX_ARG) throw new Error(`${where}: a tracepoint has at most ${RAW_TP_MAX_ARG + 1} arguments`);
    if (fnIntType(a.type)) put(a.index * 8, 8, SRC.INT, false);
    else if (a.type === ARG_STRING) put(a.index * 8, 8, SRC.KSTR, false);
    else if (a.type === ARG_LINUX_BINPRM) put(a.index * 8, 8, SRC.BPRM, false);
    else if (PTR_SRCS.has(a.type)) put(a.index * 8, 8, PTR_SRCS.get(a.type)!.src, false);
    else
      throw new Error(
        `${where}: ${typeWord(a.type)} arguments cannot be read from a raw tracepoint yet (integers, capability, string, linux_binprm, sock, socket, skb, sockaddr, cred, user_namespace, net_device, bpf_attr, bpf_prog, bpf_map, perf_event)`,
      );
  });
}

/** struct tln_gen_conf of a uprobe hook: arguments from the registers. */
export function uprobeConf(hook: HookSpec): Buffer {
  return genConf(hook, 'uprobe ', (put, a, where) => {
    if (a.index > UPROBE_MAX_ARG) throw new Error(`${where}: only the first ${UPROBE_MAX_ARG + 1} arguments are in registers`);
    if (ARG_INT_TYPES.has(a.type)) put(a.index, 8, SRC.REG, false);
    else if (a.type === ARG_STRING) put(a.index, 8, SRC.REG_USTR, false);
    else throw new Error(`${where}: ${typeWord(a.type)} arguments cannot be read from a uprobe`);
  });
}

const GEN_RES_OFF = LAYOUT['offsetof(struct tln_gen_conf, res)'];
const GEN_RES_SIZE = LAYOUT['sizeof(struct tln_gen_res)'];
const RES_STEPS = LAYOUT.TLN_RES_STEPS;

/** does any argument of the hook have a resolve path? */
export function hasResolve(hook: Pick<HookSpec, 'args' | 'spec' | 'kind'>): boolean {
  return (hook.args ?? []).some((a, i) => {
    if (a.type === ARG_LINUX_BINPRM && hook.kind !== 'tracepoint') return true; // its file, walked from the struct
    const w = writtenArg(hook, i);
    return (typeof w.resolve === 'string' && w.resolve !== '') || (typeof w.btfType === 'string' && w.btfType !== '');
  });
}

/**
 * Fills struct tln_gen_res of every argument with a resolve path in a kprobe, fentry, LSM or raw
 * tracepoint conf: the path walked in this kernel's BTF from the argument's prototype type, checked
 * against the declared type (an integer ends at an integer or a pointer, a string at a char array
 * or char pointer, a file at a struct file pointer, a path at a struct path). Throws the reason.
 */
export function resolveConf(conf: Buffer, hook: HookSpec, btf: Btf | string): Buffer {
  if (!hasResolve(hook)) return conf;
  if (typeof btf === 'string') throw new Error(`resolve walks the kernel's BTF: ${btf}`);
  const raw = hook.kind === 'tracepoint';
  const fn = raw ? hook.tracepoint!.event : hook.kind === 'lsmhook' ? `bpf_lsm_${hook.name}` : hook.name;
  const proto = btf.prototype(fn, raw);
  if (!proto) throw new Error(`resolve needs the prototype of ${raw ? `btf_trace_${fn}` : fn} in the kernel's BTF, which has none`);
  (hook.args ?? []).forEach((a, i) => {
    const w = writtenArg(hook, i);
    const arg = `args[${i}] (index ${a.index})`;
    const given = (v: unknown): v is string => typeof v === 'string' && v !== '';
    const binprm = a.type === ARG_LINUX_BINPRM && !raw;
    if (binprm && given(w.resolve)) throw new Error(`${arg}: a linux_binprm argument is read as the file it executes; resolve on it is not read yet`);
    // a linux_binprm of a function: the struct's file member, read as a file (Tetragon: bprm->file's path)
    const path = binprm ? 'file' : w.resolve;
    if (!given(path)) {
      if (given(w.btfType)) throw new Error(`${arg}: btfType without resolve casts nothing talon reads (give the member path to read)`);
      return;
    }
    const where = `${arg} resolve "${path}"`;
    const pt = proto[a.index];
    if (pt === undefined) throw new Error(`${where}: ${fn} has ${proto.length} arguments`);
    const cast = given(w.btfType) ? btf.findStruct(w.btfType) : 0;
    if (given(w.btfType) && (!cast || btf.shape(cast) !== 'struct'))
      throw new Error(`${arg} btfType "${w.btfType}": the kernel's BTF has no struct or union of that name`);
    const r = resolvePath(btf, pt, path, cast);
    if (typeof r === 'string') throw new Error(`${arg}: ${r}`);
    if (r.steps.length > RES_STEPS) throw new Error(`${where}: ${r.steps.length} steps, talon walks at most ${RES_STEPS}`);
    const end = btf.spell(r.type);
    const shape = btf.shape(r.type);
    const pointee = btf.pointee(r.type);
    const last = r.steps[r.steps.length - 1];
    let fits: boolean;
    if (fnIntType(a.type)) fits = shape === 'int' || shape === 'ptr';
    else if (a.type === ARG_STRING) fits = btf.isCharArray(r.type) || (shape === 'ptr' && btf.shape(pointee) === 'int' && btf.sizeOf(pointee) === 1);
    else if ((a.type === ARG_FILE || binprm) && !raw) fits = shape === 'ptr' && btf.name(pointee) === 'file';
    else if (a.type === ARG_PATH && !raw)
      fits = (shape === 'ptr' && btf.name(pointee) === 'path') || (shape === 'struct' && btf.name(r.type) === 'path' && !last.load);
    else if (PTR_SRCS.has(a.type)) fits = shape === 'ptr' && btf.name(pointee) === PTR_SRCS.get(a.type)!.struct;
    else
      throw new Error(
        `${where}: a resolved ${typeWord(a.type)} argument is not read yet (integers, capability, string${raw ? '' : ', file, path'}, sock, socket, skb, sockaddr, cred, user_namespace, net_device, bpf_attr, bpf_prog, bpf_map, perf_event)`,
      );
    if (!fits) throw new Error(`${where}: ends at ${end}, which a ${typeWord(a.type)} argument cannot be read from`);
    const o = GEN_RES_OFF + i * GEN_RES_SIZE;
    let loads = 0;
    r.steps.forEach((st, k) => {
      conf.writeUInt32LE(st.off, o + LAYOUT['offsetof(struct tln_gen_res, off)'] + 4 * k);
      if (st.load) loads |= 1 << k;
    });
    conf.writeUInt8(r.steps.length, o + LAYOUT['offsetof(struct tln_gen_res, n)']);
    conf.writeUInt8(loads, o + LAYOUT['offsetof(struct tln_gen_res, loads)']);
    conf.writeUInt8(shape === 'ptr' ? 8 : r.size, o + LAYOUT['offsetof(struct tln_gen_res, size)']);
    conf.writeUInt8(r.signed ? 1 : 0, o + LAYOUT['offsetof(struct tln_gen_res, is_signed)']);
  });
  return conf;
}
