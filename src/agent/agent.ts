// The talon agent: pods, policies, the kernel, the event pipeline and the API.
//
//   start: preflight (root, BPF) -> state dir -> pods (cgroups recreated) ->
//          kernel (maps, process sensor, ring buffer) -> process cache (/proc)
//          -> policies (--policy-dir: static; persisted: api) -> API server
//   stop:  API server (socket removed) -> policies unloaded -> kernel closed
import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ApiServer, prepareSocketPath, type Connection, type Handler } from '../api/server.js';
import { GrpcServer } from '../api/grpc.js';
import type { HookInfo } from '../api/tetragon-status.js';
import { ApiError, PROTOCOL_VERSION } from '../api/protocol.js';
import { parseServerAddress, formatServerAddress, DEFAULT_SERVER_ADDRESS } from '../api/address.js';
import type { FilterSet } from '../events/filter.js';
import { PodRegistry } from '../pods/registry.js';
import { cgroup2Root, processCgroupId, talonCgroupParent } from '../pods/cgroup.js';
import { CriPods, DEFAULT_POLL_MS } from '../pods/cri.js';
import { InvalidName } from '../pods/pod.js';
import type { Mode } from '../core/types.js';
import { PolicyManager, qualified } from './policies.js';
import { Compiler, DEFAULT_COMPILE_BUDGET } from './compiler.js';
import { EventPipeline } from './pipeline.js';
import { ExportFile, EXPORT_DEFAULTS } from './export.js';
import { AgentMetrics } from './metrics.js';
import { talonVersion } from './version.js';
import { ProcessCache } from './process-cache.js';
import { AgentLock } from './lock.js';
import type { CorePort, KernelPort } from './ports.js';
// the Kubernetes client is big: loaded only with --enable-k8s-api
import type { K8sWatch } from './k8s.js';
import { DEFAULT_TRACING_POLICY_DIR, type LogFormat, type LogLevel } from './options.js';
import { HealthServer } from './health.js';

export const DEFAULT_STATE_DIR = '/var/lib/talon';

export interface AgentOptions {
  /** default /var/lib/talon ($TALON_STATE_DIR) */
  stateDir?: string;
  /** default unix:///run/talon/talon.sock */
  serverAddress?: string;
  /** TCP only: the token clients must send; generated (and written to <state>/token) when absent */
  token?: string;
  /** talon's --policy-dir: *.yaml under it, recursively (domain static) */
  policyDir?: string;
  /** Tetragon's --tracing-policy-dir (read like policyDir); absent: /etc/tetragon/tetragon.tp.d when it exists */
  tracingPolicyDir?: string;
  /** Tetragon's --tracing-policy: single policy files loaded at start (domain static) */
  tracingPolicies?: string[];
  /** serve /healthz on this host:port (Tetragon's --health-server-address; off when absent) */
  healthServerAddress?: string;
  /** for the logger of run.ts (the agent itself logs through `log`) */
  logLevel?: LogLevel;
  logFormat?: LogFormat;
  /** Tetragon's --enable-process-cred, --enable-process-ns, --enable-ancestors */
  enableProcessCred?: boolean;
  enableProcessNs?: boolean;
  enableAncestors?: string[];
  /** namespace for namespaced policies of --policy-dir that name none */
  policyNamespace?: string;
  nodeName?: string;
  /** directory under the cgroup v2 root for the pods (default "talon", or $TALON_CGROUP_PARENT) */
  cgroupParent?: string;
  /** JSON lines of every event (Tetragon's --export-filename) */
  exportFile?: string;
  /** rotate the export file past this size (default 10; 0: never) */
  exportFileMaxSizeMb?: number;
  /** rotated export files kept, FILE.1 .. FILE.N (default 5) */
  exportFileMaxBackups?: number;
  /** serve Prometheus metrics on this host:port (off when absent) */
  metricsServer?: string;
  /** process labels kept on tetragon_* event metrics (Tetragon's --metrics-label-filter; default all) */
  metricsLabelFilter?: string | string[];
  /** Tetragon's gRPC API: unix:///path or host:port (TCP needs the token); '' turns it off.
   * Default: tetragon.sock beside the ws socket (or in the state dir when the ws API is on TCP) */
  grpcServerAddress?: string;
  /** TLS for a TCP gRPC address (PEM files) */
  grpcTls?: { certFile: string; keyFile: string };
  /** pods of the container runtime over CRI (Tetragon's --enable-cri / --cri-endpoint) */
  cri?: { endpoint: string; pollMs?: number };
  /** the command line's parts of cri and k8s (config.ts turns them into those two) */
  enableCri?: boolean;
  criEndpoint?: string;
  criPollMs?: number;
  enableK8sApi?: boolean;
  kubeconfig?: string;
  /** policies and pod metadata from the Kubernetes API (--enable-k8s-api; --kubeconfig, else in-cluster) */
  k8s?: { kubeconfig?: string };
  log?: (msg: string) => void;
  /** time budget of one policy compile, seconds (default 30) */
  policyCompileTimeout?: number;
  /** memory budget of one policy compile, MiB (default 512) */
  policyCompileMemory?: number;
  /** on SIGTERM/SIGINT keep the pinned programs enforcing (Tetragon's --keep-sensors-on-exit) */
  keepSensorsOnExit?: boolean;
  /** `talon agent --cleanup`: remove this state dir's pins and exit */
  cleanup?: boolean;
  /** the core and the kernel; the defaults are the real ones */
  core?: CorePort;
  kernel?: KernelPort | (() => Promise<KernelPort>);
}

/** where the cgroup-parent locks live (the cgroup file system holds no plain files) */
const LOCK_DIR = '/run/talon/locks';

/** The locks of the state dir and the cgroup parent; throws naming the agent that holds one. */
function takeLocks(opts: AgentOptions, cgRoot: string): AgentLock[] {
  const stateDir = resolve(opts.stateDir || process.env.TALON_STATE_DIR || DEFAULT_STATE_DIR);
  const state = AgentLock.take(join(stateDir, 'agent.lock'), `state dir ${stateDir}`);
  try {
    const parent = join(cgRoot, talonCgroupParent(opts.cgroupParent));
    return [state, AgentLock.take(join(LOCK_DIR, `cgroup${parent.replace(/\//g, '%')}.lock`), `cgroup parent ${parent}`)];
  } catch (e) {
    state.release();
    throw e;
  }
}

/** Why the agent cannot start here, or null. */
export function preflight(): string | null {
  if (process.platform !== 'linux') return `talon agent needs Linux (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'talon agent must run as root: it loads BPF programs (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN) and creates cgroups';
  }
  return null;
}

export class Agent {
  readonly node: string;
  readonly stateDir: string;
  readonly pods: PodRegistry;
  readonly policies: PolicyManager;
  readonly procs: ProcessCache;
  readonly pipeline: EventPipeline;
  private server: ApiServer | null = null;
  private grpc: GrpcServer | null = null;
  private exportFile: ExportFile | null = null;
  private metrics: AgentMetrics | null = null;
  /** the container runtime's pods, when --enable-cri */
  cri: CriPods | null = null;
  /** the Kubernetes API watches, when --enable-k8s-api */
  k8s: K8sWatch | null = null;
  private health: HealthServer | null = null;
  /** where the metrics are served (host:port actually bound), '' when off */
  metricsAddress = '';
  private stopped = false;
  private readonly started = Date.now();
  private token: string | undefined;
  private locks: AgentLock[] = [];
  /** events sent and lost per live subscription of the ws API */
  private readonly subCounts = new Map<number, { id: number; sent: number; lost: number }>();

  private constructor(
    private readonly opts: AgentOptions,
    readonly core: CorePort,
    readonly kernel: KernelPort,
    readonly log: (msg: string) => void,
  ) {
    // NODE_NAME: what a DaemonSet passes from spec.nodeName (as for Tetragon)
    this.node = opts.nodeName || process.env.NODE_NAME || hostname();
    this.stateDir = opts.stateDir || process.env.TALON_STATE_DIR || DEFAULT_STATE_DIR;
    this.pods = new PodRegistry(this.stateDir, { parent: opts.cgroupParent });
    this.policies = new PolicyManager(core, kernel, this.pods, this.stateDir, log);
    // the real core compiles in a worker (a huge policy never blocks the API); a test's core in-line
    if (!opts.core) {
      this.policies.compiler = new Compiler({
        timeoutMs: Math.round((opts.policyCompileTimeout ?? DEFAULT_COMPILE_BUDGET.timeoutMs / 1000) * 1000),
        memoryMb: opts.policyCompileMemory ?? DEFAULT_COMPILE_BUDGET.memoryMb,
      });
    }
    this.procs = new ProcessCache(this.node);
    this.pipeline = new EventPipeline(this.node, this.procs, this.pods, this.policies);
    this.pipeline.detail = { cred: opts.enableProcessCred, ns: opts.enableProcessNs, ancestors: opts.enableAncestors };
  }

  /** Starts an agent. Throws with a clear message when it cannot run here. */
  static async start(opts: AgentOptions = {}): Promise<Agent> {
    const log = opts.log ?? ((m: string) => process.stderr.write(`talon agent: ${m}\n`));
    const address = parseServerAddress(opts.serverAddress || DEFAULT_SERVER_ADDRESS);
    if (!opts.kernel) {
      const why = preflight();
      if (why) throw new Error(why);
    }
    const cgRoot = cgroup2Root(); // throws when there is no cgroup v2
    // one agent per state dir, cgroup parent and socket, decided before anything is loaded
    const locks = takeLocks(opts, cgRoot);
    let kernel: KernelPort;
    try {
      if (address.kind === 'unix') await prepareSocketPath(address.path);
      if (typeof opts.kernel === 'function') kernel = await opts.kernel();
      else if (opts.kernel) kernel = opts.kernel;
      else
        kernel = await (
          await import('./kernel.js')
        ).KernelAdapter.open({ stateDir: resolve(opts.stateDir || process.env.TALON_STATE_DIR || DEFAULT_STATE_DIR) });
    } catch (e) {
      for (const l of locks) l.release();
      throw e;
    }
    const core = opts.core ?? (await import('./core.js')).corePort;
    const agent = new Agent(opts, core, kernel, log);
    agent.locks = locks;
    try {
      await agent.init(address);
    } catch (e) {
      await agent.stop().catch(() => undefined);
      throw e;
    }
    return agent;
  }

  private async init(address: ReturnType<typeof parseServerAddress>): Promise<void> {
    await fsp.mkdir(this.stateDir, { recursive: true, mode: 0o700 });
    if (this.opts.exportFile) {
      const mb = this.opts.exportFileMaxSizeMb ?? EXPORT_DEFAULTS.maxSizeMb;
      const ex = new ExportFile(this.opts.exportFile, {
        maxBytes: Math.round(mb * 1024 * 1024),
        maxBackups: this.opts.exportFileMaxBackups ?? EXPORT_DEFAULTS.maxBackups,
      });
      this.exportFile = ex;
      this.pipeline.addSink((ev) => ex.write(ev));
      this.log(`exporting events to ${ex.path} (rotated at ${mb} MB, ${this.opts.exportFileMaxBackups ?? EXPORT_DEFAULTS.maxBackups} backups)`);
    }
    if (this.opts.metricsServer) {
      const m = new AgentMetrics({
        policies: () => this.policies.list(),
        lost: () => this.lostRecords(),
        dropped: () => (this.server?.dropped ?? 0) + (this.grpc?.dropped ?? 0),
        differential: () => this.pipeline.differential,
        version: talonVersion(),
        node: this.node,
        hooks: (id) => this.hookInfo(id),
        records: () => this.pipeline.stats.records,
        processCache: () => this.procs.size,
        losses: () => this.losses(),
        labelFilter: this.opts.metricsLabelFilter,
      });
      this.metrics = m;
      this.pipeline.addSink((ev) => m.onEvent(ev));
      this.metricsAddress = await m.listen(this.opts.metricsServer);
      this.log(`metrics on http://${this.metricsAddress}/metrics`);
    }
    // pods first: their cgroups must exist before policies are scoped
    const pods = await this.pods.load();
    this.kernel.setPodCgroups(
      pods.map((p) => BigInt(p.cgroupId)),
      [],
    );
    this.pods.onChange((c) => this.policies.onPodChange(c));
    // the API's pods first (labels, owners), so that the runtime's first list already carries them
    if (this.opts.k8s) {
      const { K8sWatch } = await import('./k8s.js');
      this.k8s = new K8sWatch(this, this.opts.k8s);
      await this.k8s.startPods();
    }
    if (this.opts.cri) {
      this.cri = new CriPods(this.pods, { ...this.opts.cri, log: this.log, podMeta: (uid) => this.k8s?.podMeta(uid) });
      const r = await this.cri.start();
      this.log(
        `CRI: ${r.runtime} (API ${r.version}) at ${this.opts.cri.endpoint}: ${r.pods} containers in pods, polled every ${this.opts.cri.pollMs ?? DEFAULT_POLL_MS} ms`,
      );
    }
    // processes already running (the kernel's process table has them too)
    const root = this.pods.cgroupRoot;
    this.procs.scan((pid) => processCgroupId(pid, root)?.toString() ?? null);
    this.kernel.onRecords((recs) => this.pipeline.handle(recs));
    // policies: the static ones, then those added through the API before a restart
    const ns = this.opts.policyNamespace ?? 'default';
    if (this.opts.tracingPolicyDir !== undefined) await this.policies.loadDir(this.opts.tracingPolicyDir, ns);
    else if (await isDir(DEFAULT_TRACING_POLICY_DIR)) await this.policies.loadDir(DEFAULT_TRACING_POLICY_DIR, ns);
    if (this.opts.policyDir && this.opts.policyDir !== this.opts.tracingPolicyDir) await this.policies.loadDir(this.opts.policyDir, ns);
    for (const f of this.opts.tracingPolicies ?? []) await this.policies.loadFile(f, ns);
    await this.policies.loadPersisted();
    if (this.k8s) await this.k8s.startPolicies();
    // every policy is in this run's programs: an earlier run's pinned ones may go now
    for (const m of this.kernel.handOver?.() ?? []) this.log(m);
    // the API last: when the socket exists, the agent is ready
    let token: string | undefined;
    const grpcAddress = this.grpcAddressOf(address);
    if (address.kind === 'tcp' || grpcAddress?.kind === 'tcp') {
      token = this.opts.token || (await this.ensureToken());
      this.token = token;
    }
    // gRPC before ws: a client that sees the ws socket finds both
    if (grpcAddress) {
      this.grpc = new GrpcServer({
        address: grpcAddress,
        token,
        tls: this.opts.grpcTls,
        handlers: this.handlers(),
        hooks: (id) => this.hookInfo(id),
        version: talonVersion(),
      });
      await this.grpc.listen();
      this.log(`Tetragon gRPC API on ${this.grpc.address}`);
    }
    this.server = new ApiServer({ address, token, handlers: this.handlers() });
    await this.server.listen();
    if (this.opts.healthServerAddress) {
      this.health = new HealthServer(() => this.healthStatus());
      this.log(`health endpoint on http://${await this.health.listen(this.opts.healthServerAddress)}/healthz`);
    }
    this.log(`ready: node ${this.node}, API on ${this.serverAddress}, state in ${this.stateDir}, ${this.policies.all().length} policies, ${pods.length} pods`);
  }

  get serverAddress(): string {
    if (!this.server) return '';
    const a = parseServerAddress(this.server.address);
    if (a.kind === 'tcp' && a.port === 0 && this.server.port) return formatServerAddress({ ...a, port: this.server.port });
    return this.server.address;
  }

  /** Where Tetragon's gRPC API listens ('' when off). */
  get grpcServerAddress(): string {
    return this.grpc?.address ?? '';
  }

  private grpcAddressOf(ws: ReturnType<typeof parseServerAddress>): ReturnType<typeof parseServerAddress> | null {
    const a = this.opts.grpcServerAddress;
    if (a === '') return null;
    if (a !== undefined) return parseServerAddress(a);
    return { kind: 'unix', path: join(ws.kind === 'unix' ? dirname(ws.path) : this.stateDir, 'tetragon.sock') };
  }

  /** The hooks of a policy in spec order, as Tetragon's counters name them. */
  private hookInfo(id: number): HookInfo[] {
    const p = this.policies.all().find((x) => x.id === id);
    return p ? p.spec.hooks.map((h) => ({ name: h.name, kind: h.kind, actions: h.actions })) : [];
  }

  /** The token TCP clients need (null for a unix socket). */
  get apiToken(): string | null {
    return this.token ?? null;
  }

  private async ensureToken(): Promise<string> {
    const f = join(this.stateDir, 'token');
    const t = randomBytes(24).toString('base64url');
    await fsp.writeFile(f, t + '\n', { mode: 0o600 });
    await fsp.chmod(f, 0o600);
    this.log(`API token written to ${f} (clients: --token or TALON_TOKEN)`);
    return t;
  }

  private lostRecords(): number {
    try {
      return this.kernel.lost();
    } catch {
      return 0; // closed
    }
  }

  /** What /healthz answers: running while its API is up (policy states are listed, not judged). */
  private healthStatus(): { ok: boolean; body: Record<string, unknown> } {
    const states: Record<string, number> = {};
    for (const p of this.policies.all()) states[p.state] = (states[p.state] ?? 0) + 1;
    const ok = this.server !== null && !this.stopped;
    return {
      ok,
      body: { status: ok ? 'HEALTH_STATUS_RUNNING' : 'HEALTH_STATUS_STOPPED', node: this.node, version: talonVersion(), policies: states },
    };
  }

  /** Events lost, by where: the kernel's ring buffer (full), the agent's queue between the ring-buffer
   *  thread and the pipeline (bounded: when full the thread waits and the ring buffer takes the
   *  loss, so it stays 0), subscribers that fell behind (ws and gRPC). */
  losses(): { ringbuf: number; queue: number; subscribers: number } {
    return { ringbuf: this.lostRecords(), queue: 0, subscribers: (this.server?.dropped ?? 0) + (this.grpc?.dropped ?? 0) };
  }

  /** Status as `status` reports it. */
  status(): Record<string, unknown> {
    const lost = this.lostRecords();
    const states: Record<string, number> = { enabled: 0, disabled: 0, load_error: 0, error: 0 };
    for (const p of this.policies.all()) states[p.state] = (states[p.state] ?? 0) + 1;
    return {
      protocol: PROTOCOL_VERSION,
      version: talonVersion(),
      node: this.node,
      pid: process.pid,
      uptime: Math.round((Date.now() - this.started) / 1000),
      serverAddress: this.serverAddress,
      grpcServerAddress: this.grpcServerAddress || null,
      stateDir: this.stateDir,
      policies: this.policies.all().length,
      policyStates: states,
      pods: this.pods.list().length,
      processes: this.procs.size,
      kernel: this.kernel.features(),
      events: {
        ...this.pipeline.stats,
        lost,
        dropped: this.server?.dropped ?? 0,
        identityMissed: this.pipeline.identityMissed,
        losses: this.losses(),
        subscriberCounts: [...this.subCounts.values()],
      },
      differential: this.pipeline.differential,
      export: this.exportFile
        ? { file: this.exportFile.path, lines: this.exportFile.lines, rotations: this.exportFile.rotations, error: this.exportFile.lastError }
        : null,
      metrics: this.metricsAddress || null,
      cri: this.cri ? { endpoint: this.opts.cri!.endpoint, polls: this.cri.polls, containers: this.pods.listSource('cri').length } : null,
      k8s: this.k8s ? { server: this.k8s.server, eventsPosted: this.k8s.eventsPosted } : null,
    };
  }

  private handlers(): Record<string, Handler> {
    const str = (p: Record<string, unknown>, k: string, required = true): string | undefined => {
      const v = p[k];
      if (v === undefined || v === null) {
        if (required) throw new ApiError('bad_request', `missing parameter ${k}`);
        return undefined;
      }
      if (typeof v !== 'string') throw new ApiError('bad_request', `parameter ${k} must be a string`);
      return v;
    };
    const mode = (p: Record<string, unknown>): Mode | undefined => {
      const m = str(p, 'mode', false);
      if (m !== undefined && m !== 'enforce' && m !== 'monitor') throw new ApiError('bad_request', `mode must be enforce or monitor, not ${JSON.stringify(m)}`);
      return m as Mode | undefined;
    };
    const podOf = (p: Record<string, unknown>) => {
      const pod = this.pods.get(str(p, 'namespace')!, str(p, 'name')!);
      if (!pod) throw new ApiError('not_found', `pod ${p.namespace}/${p.name} not found`);
      return pod;
    };
    const wrap = async <T>(fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn();
      } catch (e) {
        if (e instanceof ApiError) throw e;
        const m = (e as Error).message;
        if (e instanceof InvalidName) throw new ApiError('invalid', m);
        if (/already exists/.test(m)) throw new ApiError('exists', m);
        if (/not found/.test(m)) throw new ApiError('not_found', m);
        if (/^invalid /.test(m)) throw new ApiError('invalid', m);
        throw e;
      }
    };
    return {
      status: () => this.status(),
      'policy.add': async (p) => {
        const r = await this.policies.add({
          text: str(p, 'yaml')!,
          file: str(p, 'file', false) ?? 'policy.yaml',
          namespace: str(p, 'namespace', false) || 'default',
          mode: mode(p),
          domain: 'api',
        });
        for (const w of r.warnings) this.log(w);
        for (const x of r.policies) this.log(`added ${qualified(x.spec)} (${x.mode}) through the API`);
        return { policies: r.policies.map((x) => this.policies.status(x)), warnings: r.warnings };
      },
      'policy.enable': async (p) => {
        const x = await this.policies.enable(str(p, 'name')!, str(p, 'namespace', false));
        this.log(`enabled ${qualified(x.spec)}`);
        return { policy: this.policies.status(x) };
      },
      'policy.disable': async (p) => {
        const x = await this.policies.disable(str(p, 'name')!, str(p, 'namespace', false));
        this.log(`disabled ${qualified(x.spec)} (programs unloaded)`);
        return { policy: this.policies.status(x) };
      },
      'policy.delete': async (p) => {
        const ns = str(p, 'namespace', false);
        const k8s = this.policies.all().find((x) => x.unit.domain === 'k8s' && x.spec.name === p.name && (ns === undefined || x.spec.namespace === ns));
        // the API would not learn of it, and the policy would stay gone until its spec changed there
        if (k8s)
          throw new ApiError(
            'invalid',
            `tracing policy ${qualified(k8s.spec)} comes from the Kubernetes API: delete it there (kubectl delete ${k8s.spec.kind.toLowerCase()} ...)`,
          );
        const x = await this.policies.delete(str(p, 'name')!, ns);
        this.log(`deleted ${qualified(x.spec)}`);
        return { policy: this.policies.status(x) };
      },
      'policy.setMode': async (p) => {
        const m = mode(p);
        if (!m) throw new ApiError('bad_request', 'missing parameter mode');
        const x = await this.policies.setMode(str(p, 'name')!, str(p, 'namespace', false), m);
        this.log(`${qualified(x.spec)} is now in ${x.mode} mode${x.loaded ? '' : ` (applied when enabled; it is ${x.state})`}`);
        return { policy: this.policies.status(x) };
      },
      // hooks per policy id: what Tetragon's status (tp list -o json) names its counters by;
      // API objects that did not compile are listed too (load_error)
      'policy.list': () => {
        const policies = this.policies.list();
        return {
          policies: [...policies, ...(this.k8s?.failedStatus() ?? [])],
          hooks: Object.fromEntries(policies.map((p) => [p.id, this.hookInfo(p.id)])),
          events_lost: this.losses(),
        };
      },
      'pod.add': (p) =>
        wrap(async () => {
          const labels = (p.labels ?? {}) as Record<string, string>;
          if (typeof labels !== 'object' || labels === null || Array.isArray(labels) || Object.values(labels).some((v) => typeof v !== 'string'))
            throw new ApiError('bad_request', 'labels must map strings to strings');
          const c = (p.container ?? undefined) as { name?: string; image?: string } | undefined;
          const pod = await this.pods.add({ namespace: str(p, 'namespace')!, name: str(p, 'name')!, labels, container: c });
          this.log(`pod ${pod.namespace}/${pod.name} added (cgroup id ${pod.cgroupId})`);
          return { pod };
        }),
      'pod.label': (p) =>
        wrap(async () => {
          const changes: Record<string, string | null> = {};
          const set = p.set ?? {};
          const remove = p.remove ?? [];
          if (typeof set !== 'object' || set === null || Array.isArray(set))
            throw new ApiError('bad_request', 'set: expected an object of label keys to string values');
          if (!Array.isArray(remove) || remove.some((k) => typeof k !== 'string')) throw new ApiError('bad_request', 'remove: expected a list of label keys');
          for (const [k, v] of Object.entries(set as Record<string, unknown>)) {
            if (typeof v !== 'string') throw new ApiError('bad_request', `set: the value of label ${JSON.stringify(k)} must be a string`);
            changes[k] = v;
          }
          for (const k of remove as string[]) changes[k] = null;
          const pod = await this.pods.label(str(p, 'namespace')!, str(p, 'name')!, changes);
          return { pod };
        }),
      'pod.delete': (p) =>
        wrap(async () => {
          const pod = await this.pods.delete(str(p, 'namespace')!, str(p, 'name')!);
          this.log(`pod ${pod.namespace}/${pod.name} deleted`);
          return { pod };
        }),
      'pod.get': (p) => ({ pod: podOf(p) }),
      'pod.list': () => ({ pods: this.pods.list() }),
      'events.subscribe': (p, conn: Connection) => {
        let id = 0;
        // a subscriber that falls behind loses events (the agent's memory stays bounded) and is told
        // how many before its next event; the counts show in status, tp list -o json and metrics
        const counts = { id: 0, sent: 0, lost: 0 };
        // batch: true (talon's client): many notifications per frame, in order (ApiServer.notify)
        const batch = p.batch === true;
        let untold = 0;
        let retry: NodeJS.Timeout | null = null;
        /** the loss notice, when the client has room again; retried until then (no event may come) */
        const tell = (): boolean => {
          if (untold === 0) return true;
          if (!conn.notify({ subscription: id, lost: untold }, batch)) {
            retry ??= setInterval(() => {
              if (tell() && retry) {
                clearInterval(retry);
                retry = null;
              }
            }, 100);
            return false;
          }
          untold = 0;
          return true;
        };
        const deliver = (event: Record<string, unknown>): void => {
          if (!tell() || !conn.notify({ subscription: id, event }, batch)) {
            untold++;
            counts.lost++;
            return;
          }
          counts.sent++;
        };
        try {
          id = this.pipeline.subscribe((p.filter ?? {}) as FilterSet, deliver);
        } catch (e) {
          throw new ApiError('invalid', (e as Error).message);
        }
        counts.id = id;
        this.subCounts.set(id, counts);
        conn.onClose(() => {
          if (retry) clearInterval(retry);
          this.pipeline.unsubscribe(id);
          this.subCounts.delete(id);
        });
        return { subscription: id };
      },
      'events.unsubscribe': (p) => {
        const id = Number(p.subscription);
        if (!this.pipeline.unsubscribe(id)) throw new ApiError('not_found', `no subscription ${id}`);
        return {};
      },
    };
  }

  /**
   * `talon agent --cleanup`: removes the pins an agent of this state dir left (crash,
   * --keep-sensors-on-exit); refused while that agent runs (its lock). The number of links unpinned.
   */
  static async cleanup(opts: AgentOptions): Promise<{ dir: string; links: number }> {
    const why = preflight();
    if (why) throw new Error(why);
    const stateDir = resolve(opts.stateDir || process.env.TALON_STATE_DIR || DEFAULT_STATE_DIR);
    const lock = AgentLock.take(join(stateDir, 'agent.lock'), `state dir ${stateDir}`);
    try {
      const { pinDirFor, removePins } = await import('../kernel/pins.js');
      const dir = pinDirFor(stateDir);
      return { dir, links: removePins(dir) };
    } finally {
      lock.release();
    }
  }

  /**
   * Stops: API closed (socket removed), policies unloaded, kernel closed (its pins removed).
   * Pods stay (persisted). keep: the pinned programs stay attached and enforcing instead.
   */
  async stop(opts: { keep?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const errors: string[] = [];
    const step = async (what: string, fn: () => unknown) => {
      try {
        await fn();
      } catch (e) {
        errors.push(`${what}: ${(e as Error).message}`);
      }
    };
    await step('k8s', () => this.k8s?.stop());
    await step('cri', () => this.cri?.stop());
    await step('api', () => this.server?.close());
    await step('grpc', () => this.grpc?.close());
    await step('metrics', () => this.metrics?.close());
    await step('health', () => this.health?.close());
    if (opts.keep && this.kernel.leave) {
      await step('kernel', () => this.kernel.leave!());
    } else {
      await step('policies', () => this.policies.close());
      await step('kernel', () => this.kernel.close());
    }
    await step('export', () => this.exportFile?.close());
    await step('compiler', () => this.policies.compiler?.close());
    for (const l of this.locks) l.release();
    if (errors.length) throw new Error(`stop: ${errors.join('; ')}`);
  }
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isDirectory();
  } catch {
    return false;
  }
}
