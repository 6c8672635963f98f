// Argument type names as Tetragon spells them (KProbeArg.type, all 52 of the
// CRD enum at Tetragon HEAD) -> enum tln_arg_type, and the category that says
// which operators a type takes.
import * as A from "./abi";

const NAMES: StaticArray<string> = [
  "int", "sint32", "int32", "uint32", "long", "sint64", "int64", "ulong", "uint64", "size_t",
  "sint8", "int8", "uint8", "sint16", "int16", "uint16",
  "file", "path", "fd", "string", "filename", "sock", "sockaddr",
  "syscall64", "kernel_cap_t", "cap_inheritable", "cap_permitted", "cap_effective", "capability", "bpf_cmd",
  "char_buf", "char_iovec", "const_buf", "data_loc", "dentry", "linux_binprm", "net_device", "sockaddr_un",
  "skb", "socket",
  "nop", "auto", "bpf_attr", "perf_event", "bpf_map", "bpf_prog", "user_namespace", "cred", "kiocb",
  "iov_iter", "load_info", "module",
];
const TYPES: StaticArray<u8> = [
  A.TLN_ARG_INT, A.TLN_ARG_INT, A.TLN_ARG_INT, A.TLN_ARG_UINT32, A.TLN_ARG_SINT64, A.TLN_ARG_SINT64, A.TLN_ARG_SINT64,
  A.TLN_ARG_UINT64, A.TLN_ARG_UINT64, A.TLN_ARG_UINT64,
  A.TLN_ARG_SINT8, A.TLN_ARG_SINT8, A.TLN_ARG_UINT8, A.TLN_ARG_SINT16, A.TLN_ARG_SINT16, A.TLN_ARG_UINT16,
  A.TLN_ARG_FILE, A.TLN_ARG_PATH, A.TLN_ARG_FD, A.TLN_ARG_STRING, A.TLN_ARG_FILENAME, A.TLN_ARG_SOCK, A.TLN_ARG_SOCKADDR,
  A.TLN_ARG_SYSCALL64, A.TLN_ARG_KERNEL_CAP_T, A.TLN_ARG_CAP_INHERITABLE, A.TLN_ARG_CAP_PERMITTED, A.TLN_ARG_CAP_EFFECTIVE,
  A.TLN_ARG_CAPABILITY, A.TLN_ARG_BPF_CMD,
  A.TLN_ARG_CHAR_BUF, A.TLN_ARG_CHAR_IOVEC, A.TLN_ARG_CONST_BUF, A.TLN_ARG_DATA_LOC, A.TLN_ARG_DENTRY,
  A.TLN_ARG_LINUX_BINPRM, A.TLN_ARG_NET_DEVICE, A.TLN_ARG_SOCKADDR_UN,
  A.TLN_ARG_SKB, A.TLN_ARG_SOCKET,
  A.TLN_ARG_NOP, A.TLN_ARG_AUTO, A.TLN_ARG_BPF_ATTR, A.TLN_ARG_PERF_EVENT, A.TLN_ARG_BPF_MAP, A.TLN_ARG_BPF_PROG,
  A.TLN_ARG_USER_NAMESPACE, A.TLN_ARG_CRED, A.TLN_ARG_KIOCB, A.TLN_ARG_IOV_ITER, A.TLN_ARG_LOAD_INFO, A.TLN_ARG_MODULE,
];

export function argTypeOf(name: string): u8 {
  for (let i = 0; i < NAMES.length; i++) if (NAMES[i] == name) return TYPES[i];
  return A.TLN_ARG_NONE;
}

/** kept for callers of the seed API: every Tetragon type is known now */
export function isKnownUnsupportedType(name: string): bool {
  return false;
}

/** every Tetragon type name with its enum tln_arg_type, as JSON [[name, id, served by the BPF programs], ...] */
export function argTypesJson(): string {
  const o = new Array<string>();
  for (let i = 0; i < NAMES.length; i++) o.push('["' + NAMES[i] + '",' + TYPES[i].toString() + "," + (kernelReadsType(TYPES[i]) ? "true" : "false") + "]");
  return "[" + o.join(",") + "]";
}

export function argTypeNames(): string {
  return NAMES.join(", ");
}

/** canonical name of an enum tln_arg_type, for messages */
export function argTypeName(t: u8): string {
  for (let i = 0; i < TYPES.length; i++) if (TYPES[i] == t) return NAMES[i];
  return "none";
}

export const CAT_NONE: i32 = 0;
export const CAT_INT: i32 = 1;
export const CAT_STR: i32 = 2;
export const CAT_SOCK: i32 = 3;
export const CAT_SOCKADDR: i32 = 4;
/** sockaddr_un: Family and the string operators (on its path) */
export const CAT_SOCKADDR_UN: i32 = 5;
/** file and path: the string operators plus FileType / NotFileType */
export const CAT_FILE: i32 = 6;
/** capability masks: integer operators plus CapabilitiesGained */
export const CAT_CAPS: i32 = 7;

/** the first seed types, whose comparison the BPF programs and the evaluator implement */
export function isSeedType(t: u8): bool {
  return (t >= A.TLN_ARG_INT && t <= A.TLN_ARG_UINT16) || (t >= A.TLN_ARG_FILE && t <= A.TLN_ARG_FILENAME) ||
    t == A.TLN_ARG_SOCK || t == A.TLN_ARG_SOCKADDR || t == A.TLN_ARG_SKB || t == A.TLN_ARG_SOCKET || t == A.TLN_ARG_LINUX_BINPRM ||
    t == A.TLN_ARG_CRED || t == A.TLN_ARG_USER_NAMESPACE || t == A.TLN_ARG_NET_DEVICE || t == A.TLN_ARG_CAPABILITY ||
    isStructType(t);
}

/** read into data[] as a struct (cred, user namespace, BPF objects): shown in events, not compared */
export function isStructType(t: u8): bool {
  return t == A.TLN_ARG_CRED || t == A.TLN_ARG_USER_NAMESPACE || t == A.TLN_ARG_BPF_ATTR || t == A.TLN_ARG_BPF_PROG ||
    t == A.TLN_ARG_BPF_MAP || t == A.TLN_ARG_PERF_EVENT;
}

/** the types the BPF programs read (or, nop, mark as declared and empty) on some hook (char_buf: syscall hooks; syscall64: raw_syscalls) */
export function kernelReadsType(t: u8): bool {
  return isSeedType(t) || t == A.TLN_ARG_NOP || t == A.TLN_ARG_CHAR_BUF || t == A.TLN_ARG_SYSCALL64;
}

export function category(t: u8): i32 {
  if (t >= A.TLN_ARG_INT && t <= A.TLN_ARG_UINT16) return CAT_INT;
  if (t == A.TLN_ARG_SYSCALL64 || t == A.TLN_ARG_CAPABILITY || t == A.TLN_ARG_BPF_CMD) return CAT_INT;
  if (t >= A.TLN_ARG_KERNEL_CAP_T && t <= A.TLN_ARG_CAP_EFFECTIVE) return CAT_CAPS;
  if (t == A.TLN_ARG_FILE || t == A.TLN_ARG_PATH) return CAT_FILE;
  if (t >= A.TLN_ARG_FD && t <= A.TLN_ARG_FILENAME) return CAT_STR;
  if (t == A.TLN_ARG_CHAR_BUF || t == A.TLN_ARG_DATA_LOC || t == A.TLN_ARG_DENTRY || t == A.TLN_ARG_LINUX_BINPRM || t == A.TLN_ARG_NET_DEVICE) return CAT_STR;
  if (t == A.TLN_ARG_SOCKADDR_UN) return CAT_SOCKADDR_UN;
  if (t == A.TLN_ARG_SOCK || t == A.TLN_ARG_SKB || t == A.TLN_ARG_SOCKET) return CAT_SOCK;
  if (t == A.TLN_ARG_SOCKADDR) return CAT_SOCKADDR;
  return CAT_NONE;
}

/** how a value of the type is carried in records: file/path/sockaddr_un paths as strings, capability masks as integers */
export function valueCategory(t: u8): i32 {
  const c = category(t);
  if (c == CAT_FILE || c == CAT_SOCKADDR_UN) return CAT_STR;
  if (c == CAT_CAPS) return CAT_INT;
  return c;
}

/** integer-valued for value parsing (inline ints, ranges, InMap) */
export function isIntCat(cat: i32): bool {
  return cat == CAT_INT || cat == CAT_CAPS;
}
