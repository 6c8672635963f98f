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
