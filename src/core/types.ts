// The contract between the TypeScript host and the Wasm policy core.
// The host only marshals: every decision about policies (selector semantics,
// scoping, modes, value parsing, limits) is made inside assembly/.

/** A diagnostic from compiling policies. `path` addresses the YAML node. */
export interface Diagnostic {
  /** 0-based index of the document in the `docs` array passed to compile */
  doc: number;
  /** e.g. ['spec', 'kprobes', 0, 'selectors', 1, 'matchArgs', 0, 'operator'] */
  path: (string | number)[];
  message: string;
  severity: 'error' | 'warning';
  /** set when the error is a required field absent from the map at `path`: its name */
  missing?: string;
}

export type Mode = 'enforce' | 'monitor';
export type EffectiveMode = 'enforce' | 'monitor' | 'monitor_only';

export interface CompileOptions {
  /** namespace for TracingPolicyNamespaced documents without metadata.namespace */
  defaultNamespace: string;
  /** load-time mode (overrides spec.options policy-mode) */
  mode?: Mode;
}

export interface CompileResult {
  /** null when any diagnostic has severity 'error' */
  image: Uint8Array | null;
  diagnostics: Diagnostic[];
}

/** One BPF map of a policy, as the loader must create it. */
export interface MapSpec {
  name: string; // tln_*
  type: number; // BPF_MAP_TYPE_* (kernel UAPI value)
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number; // BPF_F_* map flags
  /** entries, `count` of them, each keySize + valueSize bytes, key first */
  entries: Uint8Array;
  count: number;
}

export interface HookSpec {
  /** kprobe call ("security_file_permission"), "subsystem/event" or "path:symbol" */
  name: string;
  /** also 'fentry', 'lsmhook', 'usdt' since image v2 (spec.kind says the same); such hooks have needs */
  kind: 'kprobe' | 'tracepoint' | 'uprobe' | 'fentry' | 'lsmhook' | 'usdt';
  hookId: number; // enum tln_hook_id
  slot: number;
  selectors: number;
  returnFilters: boolean;
  /** enforcement actions used by this hook's selectors, e.g. ['Sigkill'] */
  actions: string[];
  /** the hook's `message` ('' when none), copied into its events */
  message?: string;
  /** the hook's `tags` */
  tags?: string[];
  /** `return: true` (events carry the return value) */
  return?: boolean;
  /** `syscall: true` */
  syscall?: boolean;
  /** the hook's args[] in spec order: `index` as written (function argument position, or
   * for a tracepoint the field position in its format), `type` an enum tln_arg_type */
  args?: { index: number; type: number }[];
  /** kind 'tracepoint': where to attach (name is "subsystem/event") */
  tracepoint?: { subsystem: string; event: string };
  /** kind 'uprobe': where to attach (name is "path:symbol"; one hook per symbol) */
  uprobe?: { path: string; symbol: string };
  /** the hook's spec record (docs/map-format.md §2.3): everything the document says about it,
   * and `needs`, the features it uses that talon's BPF programs do not implement yet */
  spec?: HookSpecRecord | null;
  /** set by the loader for one value of a call: "list:NAME" hook (src/kernel/lists.ts): 1 + its index */
  member?: number;
}

export interface HookSpecRecord {
  kind: string;
  call: string;
  /** syscall: true: the syscall name without arch prefix */
  syscall?: string;
  /** call: "list:NAME" (not generated): the list's values, each as a call (syscall lists: and its name without arch prefix) */
  members?: { call: string; syscall?: string }[];
  tracepoint?: { subsystem: string; event: string; raw: boolean };
  uprobe?: { path: string; symbol: string; offset?: string; addr?: string; refCtrOffset?: string };
  usdt?: { path: string; provider: string; name: string };
  /** the hook as written (selector macros expanded) */
  spec: Record<string, unknown>;
  needs: string[];
}

export interface PolicySpec {
  index: number;
  name: string;
  /** null for cluster-wide TracingPolicy */
  namespace: string | null;
  kind: 'TracingPolicy' | 'TracingPolicyNamespaced';
  mode: EffectiveMode;
  /** does the policy scope by pods (filter map used)? */
  filtered: boolean;
  /** does it apply to processes in no pod? */
  host: boolean;
  hooks: HookSpec[];
  /** the policy's spec record: options, lists, enforcers, nodeSelector, loader, selectorsMacros */
  spec?: Record<string, unknown> | null;
  maps: MapSpec[];
}

/** A pod as the scoping logic sees it. */
export interface PodInfo {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  container?: { name: string; repo: string };
  /** podMatches: the question is about every container the pod has or will get (no `container`) */
  everyContainer?: boolean;
}

/** An argument value, normalised from a Tetragon event or a kernel record. */
export type EvalArg =
  | { kind: 'int'; value: bigint }
  | {
      kind: 'str';
      value: string;
      /** char_buf from kernel records: the bytes as read, and the size the call had (more when truncated) */
      bytes?: Uint8Array;
      origSize?: bigint;
    }
  | {
      kind: 'sock';
      family: number; // AF_INET 2, AF_INET6 10
      protocol: number; // IPPROTO_TCP 6
      state: number;
      saddr: string;
      daddr: string;
      sport: number;
      dport: number;
      /** kernel records of a struct sock read whole: SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_RAW 3 (not evaluated) */
      sockType?: number;
    }
  | { kind: 'none' };

/** An event as the evaluator sees it. */
export interface EvalEvent {
  kind: 'kprobe' | 'tracepoint' | 'uprobe' | 'lsm' | 'fentry' | 'lsmhook' | 'usdt';
  /** function_name, "subsys/event", "path:symbol", or the LSM hook (lsm: function_name, e.g. file_open) */
  hook: string;
  timeNs: bigint;
  pid: number;
  tid: number;
  binary: string;
  /** null: a host process (in no pod) */
  pod: PodInfo | null;
  /** in the order of the hook's spec args[] (as Tetragon exports them) */
  args: EvalArg[];
  ret?: EvalArg;
  /** what the event says of its process beyond pid and binary; a field left out means the event does not say
   * (one object per process and parent: the record writer caches its bytes by identity) */
  process?: EvalProcess;
  /** by argument position: the file's type (S_IFMT >> 12) where the event says it; null elsewhere */
  fileTypes?: (number | null)[];
}

/** A namespace as Tetragon records it (process.ns.<type>). */
export interface EvalNamespace {
  inum: number;
  isHost: boolean;
}

/** A process's capability sets as bit masks (bit n = capability n). */
export interface EvalCaps {
  permitted?: bigint;
  effective?: bigint;
  inheritable?: bigint;
}

/** The process context the selectors beyond matchPIDs/matchBinaries read (struct tln_evx, bpf/include/tln_evrec.h). */
export interface EvalProcess {
  parent?: { binary: string; pid: number };
  /** the parent's parent first */
  ancestors?: { binary: string; pid: number }[];
  /** parent and ancestors are the whole chain up to init (followForks/followChildren can be decided) */
  ancestorsAll?: boolean;
  /** by Tetragon's namespace type id: Uts, Ipc, Mnt, Pid, PidForChildren, Net, Time, TimeForChildren, Cgroup, User; null where not recorded */
  ns?: (EvalNamespace | null)[];
  caps?: EvalCaps;
  /** the pid inside the process's pid namespace */
  nsPid?: number;
  /** namespaces / capabilities at the time of the call, where the producer knows them (matchNamespaceChanges, matchCapabilityChanges) */
  nsNow?: (EvalNamespace | null)[];
  capsNow?: EvalCaps;
}

/** What the host knows of the process behind a kernel hook record (Evaluator.evaluateHookRecord). */
export interface HookContext {
  /** wall-clock ns of the record (its ktime plus the boot offset), for rate limits */
  timeNs: bigint;
  pid: number;
  /** the process binary as the host knows it */
  binary: string;
  /** the hook name: function_name, "subsys/event" or "path:symbol" */
  hook: string;
  /** null: a host process (in no pod) */
  pod: PodInfo | null;
}

export type VerdictKind = 'kill' | 'override' | 'signal' | 'post' | 'none';

export interface Match {
  policy: string;
  namespace: string | null;
  policyIndex: number;
  hook: number; // hook slot in the policy
  selector: number; // 0-based selector index within the hook
  actions: string[]; // Tetragon action names: Sigkill, Signal, Override, Post, NoPost
  mode: EffectiveMode;
  /** an enforcement action is carried out (mode enforce) */
  enforced: boolean;
  /** an event is emitted (no NoPost, not rate limited) */
  post: boolean;
}

export interface Verdict {
  verdict: VerdictKind;
  matches: Match[];
  /** set when a selector could not be decided on this event, with why (e.g. "no process.ns in the event"); the verdict is then what the other selectors give */
  unknown?: string;
}

/** What a run-time mode change resolves to. */
export type ModeChange = { ok: true; mode: EffectiveMode } | { ok: false; error: string };

/**
 * One change to a BPF map that follows a core decision (a run-time mode, a pod
 * filter change), as the core writes it: the loader applies it by map name,
 * knowing no layout. `value` null: delete the key.
 */
export interface MapUpdate {
  map: string;
  key: Uint8Array;
  value: Uint8Array | null;
}
