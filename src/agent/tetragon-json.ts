// Building Tetragon-shaped JSON events (protojson field names) from kernel
// records, the process cache and the pod registry.
import { lstatSync } from 'node:fs';
import { abiTable } from '../core/index.js';
import type { EvalArg, Match } from '../core/types.js';
import type { Pod } from '../pods/pod.js';
import { podJson } from '../pods/pod.js';
import { joinArguments, type ProcEntry } from './process-cache.js';
import { syscallId } from '../events/syscalls.js';
import { decodeBpfMap, decodeBpfProg, decodeCredArg, decodePerfEvent, decodeUserNs, type UserNsArg } from '../kernel/records.js';
import { CAPABILITIES } from '../events/convert.js';
import { credentialsJson } from './proc-identity.js';

/** the initial user namespace's inode number (PROC_USER_INIT_INO): the host's */
const INIT_USER_NS = 0xeffffffd;

export type Json = Record<string, unknown>;

/** Process JSON (`process`/`parent`) from a cache entry. */
export function processJson(e: ProcEntry, pod: Pod | undefined, parentExecId: string | undefined, tid?: number): Json {
  const out: Json = {
    exec_id: e.execId,
    pid: e.pid,
    uid: e.uid,
    cwd: e.cwd,
    binary: e.binary,
    arguments: joinArguments(e.args),
    flags: e.flags,
    start_time: e.startTime,
    auid: 4294967295,
  };
  if (pod) out.pod = podJson(pod);
  if (parentExecId) out.parent_exec_id = parentExecId;
  out.tid = tid ?? e.pid;
  // Tetragon's field order: cap, ns, tid, process_credentials
  if (e.cap) out.cap = e.cap;
  if (e.ns) out.ns = e.ns;
  if (e.processCredentials) out.process_credentials = e.processCredentials;
  return out;
}

// linux/socket.h, linux/in.h, net/tcp_states.h
const FAMILY: Record<number, string> = { 1: 'AF_UNIX', 2: 'AF_INET', 10: 'AF_INET6' };
const SOCK_TYPE: Record<number, string> = { 1: 'SOCK_STREAM', 2: 'SOCK_DGRAM', 3: 'SOCK_RAW', 5: 'SOCK_SEQPACKET' };
const PROTO: Record<number, string> = { 6: 'IPPROTO_TCP', 17: 'IPPROTO_UDP', 132: 'IPPROTO_SCTP', 262: 'IPPROTO_MPTCP' };
const STATE: Record<number, string> = {
  1: 'TCP_ESTABLISHED',
  2: 'TCP_SYN_SENT',
  3: 'TCP_SYN_RECV',
  4: 'TCP_FIN_WAIT1',
  5: 'TCP_FIN_WAIT2',
  6: 'TCP_TIME_WAIT',
  7: 'TCP_CLOSE',
  8: 'TCP_CLOSE_WAIT',
  9: 'TCP_LAST_ACK',
  10: 'TCP_LISTEN',
  11: 'TCP_CLOSING',
  12: 'TCP_NEW_SYN_RECV',
};

/** `ls -l` style permission string of a path ("-rw-r-----"), '' when it cannot be read. */
export function permissionString(path: string): string {
  let mode: number;
  try {
    mode = lstatSync(path).mode;
  } catch {
    return '';
  }
  const t = mode & 0o170000;
  const type = t === 0o040000 ? 'd' : t === 0o120000 ? 'l' : t === 0o020000 ? 'c' : t === 0o060000 ? 'b' : t === 0o010000 ? 'p' : t === 0o140000 ? 's' : '-';
  const rwx = (m: number, special: number, ch: string) => {
    const x = m & 1;
    return `${m & 4 ? 'r' : '-'}${m & 2 ? 'w' : '-'}${special ? (x ? ch : ch.toUpperCase()) : x ? 'x' : '-'}`;
  };
  return type + rwx((mode >> 6) & 7, mode & 0o4000, 's') + rwx((mode >> 3) & 7, mode & 0o2000, 's') + rwx(mode & 7, mode & 0o1000, 't');
}

/** uapi/linux/bpf.h's program and map types and perf_event.h's event types, by number, as Tetragon names them */
const BPF_PROG_TYPES: readonly string[] = [
  'UNSPEC',
  'SOCKET_FILTER',
  'KPROBE',
  'SCHED_CLS',
  'SCHED_ACT',
  'TRACEPOINT',
  'XDP',
  'PERF_EVENT',
  'CGROUP_SKB',
  'CGROUP_SOCK',
  'LWT_IN',
  'LWT_OUT',
  'LWT_XMIT',
  'SOCK_OPS',
  'SK_SKB',
  'CGROUP_DEVICE',
  'SK_MSG',
  'RAW_TRACEPOINT',
  'CGROUP_SOCK_ADDR',
  'LWT_SEG6LOCAL',
  'LIRC_MODE2',
  'SK_REUSEPORT',
  'FLOW_DISSECTOR',
  'CGROUP_SYSCTL',
  'RAW_TRACEPOINT_WRITABLE',
  'CGROUP_SOCKOPT',
  'TRACING',
  'STRUCT_OPS',
  'EXT',
  'LSM',
  'SK_LOOKUP',
  'SYSCALL',
].map((n) => `BPF_PROG_TYPE_${n}`);
const BPF_MAP_TYPES: readonly string[] = [
  'UNSPEC',
  'HASH',
  'ARRAY',
  'PROG_ARRAY',
  'PERF_EVENT_ARRAY',
  'PERCPU_HASH',
  'PERCPU_ARRAY',
  'STACK_TRACE',
  'CGROUP_ARRAY',
  'LRU_HASH',
  'LRU_PERCPU_HASH',
  'LPM_TRIE',
  'ARRAY_OF_MAPS',
  'HASH_OF_MAPS',
  'DEVMAP',
  'SOCKMAP',
  'CPUMAP',
  'XSKMAP',
  'SOCKHASH',
  'CGROUP_STORAGE',
  'REUSEPORT_SOCKARRAY',
  'PERCPU_CGROUP_STORAGE',
  'QUEUE',
  'STACK',
  'SK_STORAGE',
  'DEVMAP_HASH',
  'STRUCT_OPS',
  'RINGBUF',
  'INODE_STORAGE',
  'TASK_STORAGE',
  'BLOOM_FILTER',
].map((n) => `BPF_MAP_TYPE_${n}`);
const PERF_TYPES: readonly string[] = ['HARDWARE', 'SOFTWARE', 'TRACEPOINT', 'HW_CACHE', 'RAW', 'BREAKPOINT', 'MAX'].map((n) => `PERF_TYPE_${n}`);

/** a user namespace as Tetragon's UserNamespace message shows it; the initial one is the host's */
function userNsJson(ns: UserNsArg): Json {
  return { level: ns.level, uid: ns.uid, gid: ns.gid, ns: { inum: ns.inum, ...(ns.inum === INIT_USER_NS ? { is_host: true } : {}) } };
}

/** enum tln_arg_type, from the core's mirror of bpf/include/tln_abi.h */
const T = abiTable();

/**
 * One KprobeArgument from a decoded record value and its argument type as the
 * core compiled it (enum tln_arg_type, HookSpec.args). Integer fields follow
 * protojson: 32-bit ones are numbers, 64-bit ones strings.
 */
export function argJson(a: EvalArg, type: number | undefined, permission: (path: string) => string = permissionString): Json {
  switch (a.kind) {
    case 'none':
      return {};
    case 'int':
      switch (type) {
        case T.TLN_ARG_UINT32:
        case T.TLN_ARG_UINT16:
        case T.TLN_ARG_UINT8:
          return { uint_arg: Number(BigInt.asUintN(32, a.value)) };
        case T.TLN_ARG_SINT64:
          return { long_arg: BigInt.asIntN(64, a.value).toString() };
        case T.TLN_ARG_UINT64:
          return { size_arg: BigInt.asUintN(64, a.value).toString() };
        case T.TLN_ARG_SYSCALL64:
          return { syscall_id: syscallId(a.value) };
        case T.TLN_ARG_CAPABILITY: {
          // name: Tetragon's CapabilitiesType enum, printed by its name (1 is DAC_OVERRIDE there)
          const v = Number(BigInt.asIntN(32, a.value));
          const n = CAPABILITIES[v];
          return { capability_arg: { value: v, ...(n ? { name: n } : {}) } };
        }
        default:
          return { int_arg: Number(BigInt.asIntN(32, a.value)) };
      }
    case 'str':
      switch (type) {
        case T.TLN_ARG_FILE:
        case T.TLN_ARG_FD:
          return { file_arg: { path: a.value, permission: permission(a.value) } };
        case T.TLN_ARG_PATH:
          return { path_arg: { path: a.value, permission: permission(a.value) } };
        case T.TLN_ARG_LINUX_BINPRM:
          return { linux_binprm_arg: { path: a.value, permission: permission(a.value) } };
        case T.TLN_ARG_CRED: {
          const c = a.bytes ? decodeCredArg(a.bytes) : null;
          if (!c) return {};
          return { process_credentials_arg: { ...credentialsJson(c).process_credentials, user_ns: userNsJson(c.userNs) } };
        }
        case T.TLN_ARG_USER_NAMESPACE: {
          const u = a.bytes ? decodeUserNs(a.bytes) : null;
          return u ? { user_ns_arg: userNsJson(u) } : {};
        }
        case T.TLN_ARG_NET_DEVICE:
          return { net_dev_arg: { name: a.value } };
        case T.TLN_ARG_BPF_ATTR:
        case T.TLN_ARG_BPF_PROG: {
          const g = a.bytes ? decodeBpfProg(a.bytes) : null;
          if (!g) return {};
          const v = { ProgType: BPF_PROG_TYPES[g.progType] ?? String(g.progType), InsnCnt: g.insnCnt, ProgName: g.name };
          return type === T.TLN_ARG_BPF_ATTR ? { bpf_attr_arg: v } : { bpf_prog_arg: v };
        }
        case T.TLN_ARG_BPF_MAP: {
          const m = a.bytes ? decodeBpfMap(a.bytes) : null;
          return m
            ? {
                bpf_map_arg: {
                  MapType: BPF_MAP_TYPES[m.mapType] ?? String(m.mapType),
                  KeySize: m.keySize,
                  ValueSize: m.valueSize,
                  MaxEntries: m.maxEntries,
                  MapName: m.name,
                },
              }
            : {};
        }
        case T.TLN_ARG_PERF_EVENT: {
          const e = a.bytes ? decodePerfEvent(a.bytes) : null;
          return e
            ? {
                perf_event_arg: {
                  KprobeFunc: e.kprobeFunc,
                  Type: PERF_TYPES[e.type] ?? String(e.type),
                  Config: e.config.toString(),
                  ProbeOffset: e.probeOffset.toString(),
                },
              }
            : {};
        }
        case T.TLN_ARG_CHAR_BUF: {
          // protojson: bytes in base64; a buffer larger than the copy is truncated_bytes_arg with its size
          const b = a.bytes ?? Buffer.from(a.value);
          const size = a.origSize ?? BigInt(b.length);
          if (size > BigInt(b.length))
            return { truncated_bytes_arg: { ...(b.length ? { bytes_arg: Buffer.from(b).toString('base64') } : {}), orig_size: size.toString() } };
          return { bytes_arg: Buffer.from(b).toString('base64') };
        }
        default:
          return { string_arg: a.value };
      }
    case 'sock':
      if (type === T.TLN_ARG_SOCKADDR) return { sockaddr_arg: { family: FAMILY[a.family] ?? String(a.family), addr: a.saddr, port: a.sport } };
      // the IP header and ports of a packet (Tetragon also fills len, mark, hash... talon reads the addresses only)
      if (type === T.TLN_ARG_SKB)
        return {
          skb_arg: {
            family: FAMILY[a.family] ?? String(a.family),
            protocol: PROTO[a.protocol] ?? String(a.protocol),
            proto: a.protocol,
            saddr: a.saddr,
            daddr: a.daddr,
            sport: a.sport,
            dport: a.dport,
          },
        };
      return {
        sock_arg: {
          family: FAMILY[a.family] ?? String(a.family),
          // the TCP hooks' sockets are streams; a struct sock read whole says which
          type: SOCK_TYPE[a.sockType ?? 1] ?? String(a.sockType),
          protocol: PROTO[a.protocol] ?? String(a.protocol),
          saddr: a.saddr,
          daddr: a.daddr,
          sport: a.sport,
          dport: a.dport,
          state: STATE[a.state] ?? String(a.state),
        },
      };
  }
}

const KPROBE_ACTION: Record<string, string> = {
  Post: 'KPROBE_ACTION_POST',
  Sigkill: 'KPROBE_ACTION_SIGKILL',
  Override: 'KPROBE_ACTION_OVERRIDE',
  NoPost: 'KPROBE_ACTION_NOPOST',
  Signal: 'KPROBE_ACTION_SIGNAL',
  GetUrl: 'KPROBE_ACTION_GETURL',
  DnsLookup: 'KPROBE_ACTION_DNSLOOKUP',
  TrackSock: 'KPROBE_ACTION_TRACKSOCK',
  UntrackSock: 'KPROBE_ACTION_UNTRACKSOCK',
  NotifyEnforcer: 'KPROBE_ACTION_NOTIFYENFORCER',
};

const ENFORCING = new Set(['Sigkill', 'Signal', 'Override', 'NotifyEnforcer', 'Set']);

/** The `action` of an event: the selector's enforcement action if it has one, else Post. Events show it in monitor mode too, as Tetragon's do. */
export function actionOf(actions: string[]): string {
  const a = actions.find((x) => ENFORCING.has(x)) ?? (actions.includes('NoPost') ? 'NoPost' : 'Post');
  return KPROBE_ACTION[a] ?? `KPROBE_ACTION_${a.toUpperCase()}`;
}

export function enforcementActions(actions: string[]): string[] {
  return actions.filter((a) => ENFORCING.has(a)).sort();
}

/** Signal names for exit events. */
const SIGNALS: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  4: 'SIGILL',
  5: 'SIGTRAP',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  10: 'SIGUSR1',
  11: 'SIGSEGV',
  12: 'SIGUSR2',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
  16: 'SIGSTKFLT',
  17: 'SIGCHLD',
  18: 'SIGCONT',
  19: 'SIGSTOP',
  20: 'SIGTSTP',
  21: 'SIGTTIN',
  22: 'SIGTTOU',
  23: 'SIGURG',
  24: 'SIGXCPU',
  25: 'SIGXFSZ',
  26: 'SIGVTALRM',
  27: 'SIGPROF',
  28: 'SIGWINCH',
  29: 'SIGIO',
  30: 'SIGPWR',
  31: 'SIGSYS',
};

export function signalName(n: number): string {
  return SIGNALS[n] ?? `SIG${n}`;
}

/** The match of the evaluator a kernel hit corresponds to (its selector), if any. */
export function matchFor(matches: Match[], selector: number | null, slot: number): Match | undefined {
  return matches.find((m) => m.hook === slot && (selector === null || m.selector === selector)) ?? matches.find((m) => m.hook === slot);
}
