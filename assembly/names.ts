// Symbolic values accepted in policies: protocols, address families, TCP
// states, signals. Each also accepts its number.
import { parseIntText } from "./parse";

function numberIn(t: string, max: i64): i64 {
  const v = parseIntText(t);
  if (!v.ok || v.neg || v.mag > <u64>max) return -1;
  return <i64>v.mag;
}

const PROTO_NAMES: StaticArray<string> = [
  "IPPROTO_IP", "IPPROTO_ICMP", "IPPROTO_TCP", "IPPROTO_UDP", "IPPROTO_IPV6", "IPPROTO_ICMPV6",
  "IPPROTO_SCTP", "IPPROTO_UDPLITE", "IPPROTO_RAW", "IPPROTO_MPTCP",
];
const PROTO_VALUES: StaticArray<i32> = [0, 1, 6, 17, 41, 58, 132, 136, 255, 262];

export function protocolValue(t: string): i64 {
  for (let i = 0; i < PROTO_NAMES.length; i++) if (PROTO_NAMES[i] == t) return PROTO_VALUES[i];
  return numberIn(t, 65535);
}

const FAMILY_NAMES: StaticArray<string> = ["AF_UNSPEC", "AF_UNIX", "AF_LOCAL", "AF_INET", "AF_INET6"];
const FAMILY_VALUES: StaticArray<i32> = [0, 1, 1, 2, 10];

export function familyValue(t: string): i64 {
  for (let i = 0; i < FAMILY_NAMES.length; i++) if (FAMILY_NAMES[i] == t) return FAMILY_VALUES[i];
  return numberIn(t, 65535);
}

const STATE_NAMES: StaticArray<string> = [
  "TCP_ESTABLISHED", "TCP_SYN_SENT", "TCP_SYN_RECV", "TCP_FIN_WAIT1", "TCP_FIN_WAIT2",
  "TCP_TIME_WAIT", "TCP_CLOSE", "TCP_CLOSE_WAIT", "TCP_LAST_ACK", "TCP_LISTEN", "TCP_CLOSING",
  "TCP_NEW_SYN_RECV",
];

export function stateValue(t: string): i64 {
  for (let i = 0; i < STATE_NAMES.length; i++) if (STATE_NAMES[i] == t) return i + 1;
  return numberIn(t, 255);
}

const SIG_NAMES: StaticArray<string> = [
  "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL",
  "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD",
  "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ",
  "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
];

/** 1..64 or a SIGxxx name (SIGHUP..SIGSYS, "SIGIOT" = 6); -1 if invalid */
export function signalValue(t: string): i32 {
  for (let i = 0; i < SIG_NAMES.length; i++) if (SIG_NAMES[i] == t) return i + 1;
  if (t == "SIGIOT") return 6;
  const v = numberIn(t, 64);
  if (v < 1) return -1;
  return <i32>v;
}

// capability names (linux/capability.h), position = capability number
const CAPS: StaticArray<string> = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
  "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
];

/** capability number of CAP_X (case-insensitive), or -1 */
export function capabilityValue(t: string): i32 {
  const u = t.toUpperCase();
  for (let i = 0; i < CAPS.length; i++) if (CAPS[i] == u) return i;
  return -1;
}

// namespace types of matchNamespaces, Tetragon's ids (uts=0 ... user=9)
const NS: StaticArray<string> = ["Uts", "Ipc", "Mnt", "Pid", "PidForChildren", "Net", "Time", "TimeForChildren", "Cgroup", "User"];

/** the process.ns key of a namespace type id (Tetragon's JSON names) */
export function namespaceName(t: i32): string {
  const keys = ["uts", "ipc", "mnt", "pid", "pid_for_children", "net", "time", "time_for_children", "cgroup", "user"];
  return t >= 0 && t < keys.length ? keys[t] : "?";
}

/** namespace type id (case-insensitive), or -1 */
export function namespaceValue(t: string): i32 {
  const l = t.toLowerCase();
  for (let i = 0; i < NS.length; i++) if (NS[i].toLowerCase() == l) return i;
  return -1;
}

/** FileType values -> S_IFMT >> 12 (sock 12, lnk 10, reg 8, blk 6, dir 4, chr 2, fifo 1), or -1 */
export function fileTypeValue(t: string): i32 {
  const l = t.toLowerCase();
  if (l == "sock" || l == "socket") return 12;
  if (l == "lnk" || l == "link") return 10;
  if (l == "reg" || l == "regular") return 8;
  if (l == "blk" || l == "block") return 6;
  if (l == "dir") return 4;
  if (l == "chr" || l == "char") return 2;
  if (l == "fifo" || l == "pipe") return 1;
  return -1;
}
