// The subset of Tetragon's event JSON (`tetra getevents -o json`, protojson with
// proto field names) that talon reads. Every field is optional: protojson leaves
// out zero values, and talon must accept events recorded by any Tetragon version.
// 64-bit integers (long_arg, size_arg, cookie) arrive as JSON strings.

export interface TetragonImage {
  id?: string;
  name?: string;
}

export interface TetragonContainer {
  id?: string;
  name?: string;
  image?: TetragonImage;
  start_time?: string;
  pid?: number;
}

export interface TetragonPod {
  namespace?: string;
  name?: string;
  uid?: string;
  container?: TetragonContainer;
  pod_labels?: Record<string, string>;
  workload?: string;
  workload_kind?: string;
}

export interface TetragonProcess {
  exec_id?: string;
  pid?: number;
  uid?: number;
  cwd?: string;
  binary?: string;
  arguments?: string;
  flags?: string;
  start_time?: string;
  auid?: number;
  pod?: TetragonPod;
  docker?: string;
  parent_exec_id?: string;
  tid?: number;
  cap?: { permitted?: string[]; effective?: string[]; inheritable?: string[] };
  [field: string]: unknown;
}

export interface TetragonSock {
  family?: string;
  type?: string;
  protocol?: string;
  mark?: number;
  priority?: number;
  saddr?: string;
  daddr?: string;
  sport?: number;
  dport?: number;
  cookie?: string | number;
  state?: string;
}

export interface TetragonSkb {
  saddr?: string;
  daddr?: string;
  sport?: number;
  dport?: number;
  proto?: number;
  protocol?: string;
  family?: string;
  [field: string]: unknown;
}

export interface TetragonSockaddr {
  family?: string;
  addr?: string;
  port?: number;
}

export interface TetragonFileArg {
  mount?: string;
  path?: string;
  flags?: string;
  permission?: string;
}

/** KprobeArgument: a oneof, so exactly one of the *_arg fields is set (or none). */
export interface TetragonArg {
  string_arg?: string;
  int_arg?: number;
  uint_arg?: number;
  long_arg?: string | number;
  size_arg?: string | number;
  bytes_arg?: string;
  truncated_bytes_arg?: { bytes_arg?: string; orig_size?: string | number };
  path_arg?: TetragonFileArg;
  file_arg?: TetragonFileArg;
  sock_arg?: TetragonSock;
  skb_arg?: TetragonSkb;
  sockaddr_arg?: TetragonSockaddr;
  label?: string;
  [field: string]: unknown;
}

export interface TetragonKprobe {
  process?: TetragonProcess;
  parent?: TetragonProcess;
  function_name?: string;
  args?: TetragonArg[];
  return?: TetragonArg;
  action?: string;
  return_action?: string;
  policy_name?: string;
  message?: string;
  tags?: string[];
  [field: string]: unknown;
}

export interface TetragonTracepoint {
  process?: TetragonProcess;
  parent?: TetragonProcess;
  subsys?: string;
  event?: string;
  args?: TetragonArg[];
  policy_name?: string;
  action?: string;
  [field: string]: unknown;
}

export interface TetragonUprobe {
  process?: TetragonProcess;
  parent?: TetragonProcess;
  path?: string;
  symbol?: string;
  args?: TetragonArg[];
  policy_name?: string;
  action?: string;
  [field: string]: unknown;
}

export interface TetragonExec {
  process?: TetragonProcess;
  parent?: TetragonProcess;
}

export interface TetragonExit {
  process?: TetragonProcess;
  parent?: TetragonProcess;
  signal?: string;
  status?: number;
  time?: string;
}

export interface TetragonLsm {
  process?: TetragonProcess;
  function_name?: string;
  policy_name?: string;
  args?: TetragonArg[];
  action?: string;
  [field: string]: unknown;
}

export interface TetragonUsdt {
  process?: TetragonProcess;
  path?: string;
  provider?: string;
  name?: string;
  args?: TetragonArg[];
  [field: string]: unknown;
}

export interface TetragonLoader {
  process?: TetragonProcess;
  path?: string;
  buildid?: string;
}

export interface TetragonThrottle {
  type?: string;
  cgroup?: string;
}

/** The `GetEventsResponse` envelope: one event kind plus node and time. */
export interface TetragonEvent {
  process_exec?: TetragonExec;
  process_exit?: TetragonExit;
  process_kprobe?: TetragonKprobe;
  process_tracepoint?: TetragonTracepoint;
  process_uprobe?: TetragonUprobe;
  process_lsm?: TetragonLsm;
  process_usdt?: TetragonUsdt;
  process_loader?: TetragonLoader;
  process_throttle?: TetragonThrottle;
  node_name?: string;
  cluster_name?: string;
  time?: string;
  [field: string]: unknown;
}

/** The event kinds of the envelope, in the order talon looks for them. */
export const EVENT_KINDS = [
  'process_kprobe',
  'process_exec',
  'process_exit',
  'process_tracepoint',
  'process_uprobe',
  'process_lsm',
  'process_usdt',
  'process_loader',
  'process_throttle',
  'rate_limit_info',
  'test',
] as const;

export type EventKind = (typeof EVENT_KINDS)[number];

/** Which event kind an envelope carries, or null when it carries none talon knows. */
export function eventKind(ev: TetragonEvent): EventKind | null {
  for (const k of EVENT_KINDS) {
    if (ev[k] !== undefined && ev[k] !== null) return k;
  }
  return null;
}
