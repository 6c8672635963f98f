// The agent's options, spelled as Tetragon spells its flags, in one table:
// the command line (src/cli/agent/agent.ts registers every entry), Tetragon's
// configuration files (tetragon.yaml, tetragon.conf.d drop-ins, --config-dir)
// and the help all come from it. A new option is one entry here (and its
// field in AgentOptions).
//
// Precedence, lowest first, as Tetragon's: /etc/tetragon/tetragon.yaml,
// /etc/tetragon/tetragon.conf.d/*, the --config-dir directory, the command
// line. A key no entry knows is an error with its file:line:col.
// Reading the files is in config.ts (loaded by `talon agent` only: yaml costs start-up time).
import type { AgentOptions } from './agent.js';

export type OptionKind = 'string' | 'number' | 'count' | 'bool' | 'list';

export interface AgentOptionSpec {
  /** the flag without dashes; also its key in config files */
  name: string;
  /** other spellings accepted for it (flags and config keys) */
  aliases?: string[];
  kind: OptionKind;
  help: string;
  /** allowed values (string options) */
  choices?: readonly string[];
  /** extra check of a value; returns what is wrong, or null */
  check?: (v: string) => string | null;
  /** puts the checked value into the options */
  apply: (o: AgentOptions, v: never) => void;
}

const hostPort = (v: string) => (/^(\[[^\]]+\]|[^:]*):\d+$/.test(v) ? null : `must be host:port (e.g. 127.0.0.1:2112), not "${v}"`);

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Tetragon's --enable-ancestors event kinds */
export const ANCESTOR_KINDS = ['base', 'kprobe', 'tracepoint', 'uprobe', 'lsm', 'usdt'] as const;

/** Tetragon's default tracing policy directory (read when it exists). */
export const DEFAULT_TRACING_POLICY_DIR = '/etc/tetragon/tetragon.tp.d';
/** Tetragon's configuration files, read when they exist and --config-dir is not given. */
export const DEFAULT_CONFIG_FILE = '/etc/tetragon/tetragon.yaml';
export const DEFAULT_CONFIG_DROPINS = '/etc/tetragon/tetragon.conf.d';

/** Every option of `talon agent`, in the order of its --help. */
export const AGENT_OPTIONS: AgentOptionSpec[] = [
  {
    name: 'config-dir',
    kind: 'string',
    help: `Tetragon-style configuration directory: one file per option named for it holding its value, and/or *.yaml files of option: value (default: ${DEFAULT_CONFIG_FILE} and ${DEFAULT_CONFIG_DROPINS}/ when they exist)`,
    apply: () => undefined, // read before the others (resolveAgentOptions)
  },
  {
    name: 'tracing-policy-dir',
    kind: 'string',
    help: `Load every *.yaml under this directory, recursively, at start (domain "static"; default ${DEFAULT_TRACING_POLICY_DIR} when it exists)`,
    apply: (o, v: string) => (o.tracingPolicyDir = v),
  },
  {
    name: 'policy-dir',
    kind: 'string',
    help: "talon's name for a policy directory: read like --tracing-policy-dir (both may be given)",
    apply: (o, v: string) => (o.policyDir = v),
  },
  {
    name: 'tracing-policy',
    kind: 'list',
    help: 'Load this policy file at start (domain "static"; repeatable, comma separated)',
    apply: (o, v: string[]) => (o.tracingPolicies = v),
  },
  {
    name: 'server-address',
    kind: 'string',
    help: 'API address: unix:///path (mode 0600) or host:port (needs a token) (default unix:///run/talon/talon.sock)',
    apply: (o, v: string) => (o.serverAddress = v),
  },
  {
    name: 'grpc-server-address',
    kind: 'string',
    help: 'Tetragon\'s gRPC API (FineGuidanceSensors): unix:///path (mode 0600) or host:port (needs the token); "" turns it off (default: tetragon.sock beside the API socket)',
    apply: (o, v: string) => (o.grpcServerAddress = v),
  },
  {
    name: 'server-tls-cert-file',
    kind: 'string',
    help: 'TLS certificate for a TCP gRPC address',
    apply: (o, v: string) => (o.grpcTls = { keyFile: '', ...o.grpcTls, certFile: v }),
  },
  {
    name: 'server-tls-key-file',
    kind: 'string',
    help: 'TLS key for a TCP gRPC address',
    apply: (o, v: string) => (o.grpcTls = { certFile: '', ...o.grpcTls, keyFile: v }),
  },
  {
    name: 'state-dir',
    kind: 'string',
    help: 'Pods, API policies and the token live here (default $TALON_STATE_DIR, else /var/lib/talon)',
    apply: (o, v: string) => (o.stateDir = v),
  },
  {
    name: 'token',
    kind: 'string',
    help: 'Token TCP clients must send (default: generated, written to <state dir>/token)',
    apply: (o, v: string) => (o.token = v),
  },
  { name: 'node-name', kind: 'string', help: 'Node name in events (default: the host name)', apply: (o, v: string) => (o.nodeName = v) },
  {
    name: 'export-filename',
    aliases: ['export-file'],
    kind: 'string',
    help: 'Also append every event to this file, one JSON object per line (mode 0600)',
    apply: (o, v: string) => (o.exportFile = v),
  },
  {
    name: 'export-file-max-size-mb',
    kind: 'number',
    help: 'Rotate the export file when it would grow past this size (0: never) (default 10)',
    apply: (o, v: number) => (o.exportFileMaxSizeMb = v),
  },
  {
    name: 'export-file-max-backups',
    aliases: ['export-file-rotation-max-backups'],
    kind: 'count',
    help: 'Rotated export files to keep: FILE.1 (newest) .. FILE.N (default 5)',
    apply: (o, v: number) => (o.exportFileMaxBackups = v),
  },
  {
    name: 'metrics-server',
    kind: 'string',
    check: hostPort,
    help: 'Serve Prometheus metrics on host:port at /metrics (e.g. 127.0.0.1:2112; off by default)',
    apply: (o, v: string) => (o.metricsServer = v),
  },
  {
    name: 'metrics-label-filter',
    kind: 'string',
    help: "Labels of Tetragon's metrics to fill, comma-separated (Tetragon's default: namespace,workload,pod,binary)",
    apply: (o, v: string) => (o.metricsLabelFilter = v),
  },
  {
    name: 'health-server-address',
    kind: 'string',
    check: hostPort,
    help: "Serve a health endpoint on host:port at /healthz (Tetragon's is :6789; off by default)",
    apply: (o, v: string) => (o.healthServerAddress = v),
  },
  {
    name: 'enable-process-cred',
    kind: 'bool',
    help: 'Events carry process_credentials and cap (read by the kernel at the exec; from /proc for processes running at start)',
    apply: (o, v: boolean) => (o.enableProcessCred = v),
  },
  {
    name: 'enable-process-ns',
    kind: 'bool',
    help: 'Events carry ns: the namespaces of the process (read by the kernel at the exec; from /proc for processes running at start)',
    apply: (o, v: boolean) => (o.enableProcessNs = v),
  },
  {
    name: 'enable-ancestors',
    kind: 'list',
    choices: ANCESTOR_KINDS,
    help: `Events of these kinds carry ancestors (the parent's parent and up), comma separated: ${ANCESTOR_KINDS.join(', ')} (base: exec and exit)`,
    apply: (o, v: string[]) => (o.enableAncestors = v),
  },
  {
    name: 'policy-compile-timeout',
    kind: 'number',
    check: (v) => (Number(v) > 0 ? null : 'must be more than 0 seconds'),
    help: 'Time budget of one policy compile, in seconds (compiles run off the API thread); past it the add is refused (default 30)',
    apply: (o, v: number) => (o.policyCompileTimeout = v),
  },
  {
    name: 'policy-compile-memory',
    kind: 'number',
    check: (v) => (Number(v) >= 16 ? null : 'must be at least 16 (MiB)'),
    help: "Memory budget of one policy compile, in MiB: the policy core's memory and the compile's JS heap each (default 512, the core's maximum); past it the add is refused",
    apply: (o, v: number) => (o.policyCompileMemory = v),
  },
  {
    name: 'keep-sensors-on-exit',
    kind: 'bool',
    help: 'On SIGTERM/SIGINT leave the programs pinned and enforcing (the next agent takes over with no gap); default: a stop removes them. A crash (kill -9) always leaves them',
    apply: (o, v: boolean) => (o.keepSensorsOnExit = v),
  },
  {
    name: 'cleanup',
    kind: 'bool',
    help: "Remove the pinned programs and maps of this state dir's agent (left by a crash or --keep-sensors-on-exit) and exit; refused while that agent runs",
    apply: (o, v: boolean) => (o.cleanup = v),
  },
  {
    name: 'enable-cri',
    kind: 'bool',
    help: 'Pods from the container runtime over CRI: every container of its pods is scoped like a pod',
    apply: (o, v: boolean) => (o.enableCri = v),
  },
  {
    name: 'cri-endpoint',
    kind: 'string',
    help: 'CRI socket (with --enable-cri; default unix:///run/containerd/containerd.sock)',
    apply: (o, v: string) => (o.criEndpoint = v),
  },
  {
    name: 'cri-poll-interval',
    kind: 'count',
    help: 'How often the runtime is asked for new containers, in ms (with --enable-cri; default 100, at least 10)',
    apply: (o, v: number) => (o.criPollMs = v),
  },
  {
    name: 'enable-k8s-api',
    kind: 'bool',
    help: 'TracingPolicy / TracingPolicyNamespaced objects and pod labels from the Kubernetes API',
    apply: (o, v: boolean) => (o.enableK8sApi = v),
  },
  {
    name: 'kubeconfig',
    kind: 'string',
    help: 'Kubeconfig file for --enable-k8s-api (default: the in-cluster service account)',
    apply: (o, v: string) => (o.kubeconfig = v),
  },
  {
    name: 'log-level',
    kind: 'string',
    choices: LOG_LEVELS,
    help: 'Log level: debug, info, warn or error (default info)',
    apply: (o, v: string) => (o.logLevel = v as LogLevel),
  },
  {
    name: 'log-format',
    kind: 'string',
    choices: LOG_FORMATS,
    help: 'Log format: text or json (default text)',
    apply: (o, v: string) => (o.logFormat = v as LogFormat),
  },
];

/** Flag names (all spellings) of the agent options that take a value / that are booleans. */
export const AGENT_OPTION_VALUE_FLAGS = AGENT_OPTIONS.filter((o) => o.kind !== 'bool').flatMap((o) => [o.name, ...(o.aliases ?? [])]);
export const AGENT_OPTION_BOOLEAN_FLAGS = AGENT_OPTIONS.filter((o) => o.kind === 'bool').flatMap((o) => [o.name, ...(o.aliases ?? [])]);
