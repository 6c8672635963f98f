// Argument type names as Tetragon spells them (KProbeArg.type) -> enum tln_arg_type.
import {
  TLN_ARG_NONE, TLN_ARG_INT, TLN_ARG_UINT32, TLN_ARG_SINT64, TLN_ARG_UINT64, TLN_ARG_SINT8,
  TLN_ARG_UINT8, TLN_ARG_SINT16, TLN_ARG_UINT16, TLN_ARG_FILE, TLN_ARG_PATH, TLN_ARG_FD,
  TLN_ARG_STRING, TLN_ARG_FILENAME, TLN_ARG_SOCK, TLN_ARG_SOCKADDR,
} from "./abi";

const NAMES: StaticArray<string> = [
  "int", "sint32", "int32", "uint32", "long", "sint64", "int64", "ulong", "uint64", "size_t",
  "sint8", "int8", "uint8", "sint16", "int16", "uint16",
  "file", "path", "fd", "string", "filename", "sock", "sockaddr",
];
const TYPES: StaticArray<u8> = [
  TLN_ARG_INT, TLN_ARG_INT, TLN_ARG_INT, TLN_ARG_UINT32, TLN_ARG_SINT64, TLN_ARG_SINT64, TLN_ARG_SINT64,
  TLN_ARG_UINT64, TLN_ARG_UINT64, TLN_ARG_UINT64,
  TLN_ARG_SINT8, TLN_ARG_SINT8, TLN_ARG_UINT8, TLN_ARG_SINT16, TLN_ARG_SINT16, TLN_ARG_UINT16,
  TLN_ARG_FILE, TLN_ARG_PATH, TLN_ARG_FD, TLN_ARG_STRING, TLN_ARG_FILENAME, TLN_ARG_SOCK, TLN_ARG_SOCKADDR,
];

/** Tetragon types talon does not handle (yet). */
const UNSUPPORTED: StaticArray<string> = [
  "auto", "char_buf", "char_iovec", "skb", "socket", "sockaddr_un", "nop", "bpf_attr", "perf_event",
  "bpf_map", "user_namespace", "capability", "kiocb", "iov_iter", "cred", "const_buf", "load_info",
  "module", "syscall64", "kernel_cap_t", "cap_inheritable", "cap_permitted", "cap_effective",
  "linux_binprm", "data_loc", "net_device", "bpf_cmd", "dentry", "bpf_prog",
];

export function argTypeOf(name: string): u8 {
  for (let i = 0; i < NAMES.length; i++) if (NAMES[i] == name) return TYPES[i];
  return TLN_ARG_NONE;
}

export function isKnownUnsupportedType(name: string): bool {
  for (let i = 0; i < UNSUPPORTED.length; i++) if (UNSUPPORTED[i] == name) return true;
  return false;
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

export function category(t: u8): i32 {
  if (t >= TLN_ARG_INT && t <= TLN_ARG_UINT16) return CAT_INT;
  if (t >= TLN_ARG_FILE && t <= TLN_ARG_FILENAME) return CAT_STR;
  if (t == TLN_ARG_SOCK) return CAT_SOCK;
  if (t == TLN_ARG_SOCKADDR) return CAT_SOCKADDR;
  return CAT_NONE;
}
