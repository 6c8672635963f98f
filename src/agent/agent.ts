// The talon agent: pods, policies, the kernel, the event pipeline and the API.
//
//   start: preflight (root, BPF) -> state dir -> pods (cgroups recreated) ->
//          kernel (maps, process sensor, ring buffer) -> process cache (/proc)
//          -> policies (--policy-dir: static; persisted: api) -> API server
//   stop:  API server (socket removed) -> policies unloaded -> kernel closed
import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ApiServer, type Connection, type Handler } from '../api/server.js';
import { GrpcServer } from '../api/grpc.js';
import type { HookInfo } from '../api/tetragon-status.js';
import { ApiError, PROTOCOL_VERSION } from '../api/protocol.js';
import { parseServerAddress, formatServerAddress, DEFAULT_SERVER_ADDRESS } from '../api/address.js';
import type { FilterSet } from '../events/filter.js';
import { PodRegistry } from '../pods/registry.js';
import { cgroup2Root, processCgroupId } from '../pods/cgroup.js';
import type { Mode } from '../core/types.js';
import { PolicyManager, qualified } from './policies.js';
import { EventPipeline } from './pipeline.js';
import { ExportFile, EXPORT_DEFAULTS } from './export.js';
import { AgentMetrics } from './metrics.js';
import { talonVersion } from './version.js';
import { ProcessCache } from './process-cache.js';
import type { CorePort, KernelPort } from './ports.js';

export const DEFAULT_STATE_DIR = '/var/lib/talon';

export interface AgentOptions {
  /** default /var/lib/talon ($TALON_STATE_DIR) */
  stateDir?: string;
  /** default unix:///run/talon/talon.sock */
  serverAddress?: string;
  /** TCP only: the token clients must send; generated (and written to <state>/token) when absent */
  token?: string;
  policyDir?: string;
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
  log?: (msg: string) => void;
  /** the core and the kernel; the defaults are the real ones */
  core?: CorePort;
  kernel?: KernelPort | (() => Promise<KernelPort>);
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
  /** where the metrics are served (host:port actually bound), '' when off */
  metricsAddress = '';
  private stopped = false;
  private readonly started = Date.now();
  private token: string | undefined;

  private constructor(
    private readonly opts: AgentOptions,
    readonly core: CorePort,
    readonly kernel: KernelPort,
    readonly log: (msg: string) => void,
  ) {
    this.node = opts.nodeName || hostname();
    this.stateDir = opts.stateDir || process.env.TALON_STATE_DIR || DEFAULT_STATE_DIR;
    this.pods = new PodRegistry(this.stateDir, { parent: opts.cgroupParent });
    this.policies = new PolicyManager(core, kernel, this.pods, this.stateDir, log);
    this.procs = new ProcessCache(this.node);
    this.pipeline = new EventPipeline(this.node, this.procs, this.pods, this.policies);
  }

  /** Starts an agent. Throws with a clear message when it cannot run here. */
  static async start(opts: AgentOptions = {}): Promise<Agent> {
    const log = opts.log ?? ((m: string) => process.stderr.write(`talon agent: ${m}\n`));
    const address = parseServerAddress(opts.serverAddress || DEFAULT_SERVER_ADDRESS);
    if (!opts.kernel) {
      const why = preflight();
      if (why) throw new Error(why);
    }
    cgroup2Root(); // throws when there is no cgroup v2
    const core = opts.core ?? (await import('./core.js')).corePort;
    let kernel: KernelPort;
    if (typeof opts.kernel === 'function') kernel = await opts.kernel();
    else if (opts.kernel) kernel = opts.kernel;
    else kernel = await (await import('./kernel.js')).KernelAdapter.open();
    const agent = new Agent(opts, core, kernel, log);
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
    // processes already running (the kernel's process table has them too)
    const root = this.pods.cgroupRoot;
    this.procs.scan((pid) => processCgroupId(pid, root)?.toString() ?? null);
    this.kernel.onRecords((recs) => this.pipeline.handle(recs));
    // policies: the static ones, then those added through the API before a restart
    if (this.opts.policyDir) await this.policies.loadDir(this.opts.policyDir, this.opts.policyNamespace ?? 'default');
    await this.policies.loadPersisted();
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
      events: { ...this.pipeline.stats, lost, dropped: this.server?.dropped ?? 0 },
      differential: this.pipeline.differential,
      export: this.exportFile
        ? { file: this.exportFile.path, lines: this.exportFile.lines, rotations: this.exportFile.rotations, error: this.exportFile.lastError }
        : null,
      metrics: this.metricsAddress || null,
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
      'policy.list': () => ({ policies: this.policies.list() }),
      'pod.add': (p) =>
        wrap(async () => {
          const labels = (p.labels ?? {}) as Record<string, string>;
          if (typeof labels !== 'object' || Object.values(labels).some((v) => typeof v !== 'string'))
            throw new ApiError('bad_request', 'labels must map strings to strings');
          const c = (p.container ?? {}) as { name?: string; image?: string };
          const pod = await this.pods.add({ namespace: str(p, 'namespace')!, name: str(p, 'name')!, labels, container: c });
          this.log(`pod ${pod.namespace}/${pod.name} added (cgroup id ${pod.cgroupId})`);
          return { pod };
        }),
      'pod.label': (p) =>
        wrap(async () => {
          const changes: Record<string, string | null> = {};
          for (const [k, v] of Object.entries((p.set ?? {}) as Record<string, unknown>)) changes[k] = String(v);
          for (const k of (p.remove ?? []) as unknown[]) changes[String(k)] = null;
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
        try {
          id = this.pipeline.subscribe((p.filter ?? {}) as FilterSet, (event) => conn.notify({ subscription: id, event }));
        } catch (e) {
          throw new ApiError('invalid', (e as Error).message);
        }
        conn.onClose(() => this.pipeline.unsubscribe(id));
        return { subscription: id };
      },
      'events.unsubscribe': (p) => {
        const id = Number(p.subscription);
        if (!this.pipeline.unsubscribe(id)) throw new ApiError('not_found', `no subscription ${id}`);
        return {};
      },
    };
  }

  /** Stops: API closed (socket removed), policies unloaded, kernel closed. Pods stay (persisted). */
  async stop(): Promise<void> {
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
    await step('api', () => this.server?.close());
    await step('grpc', () => this.grpc?.close());
    await step('metrics', () => this.metrics?.close());
    await step('policies', () => this.policies.close());
    await step('kernel', () => this.kernel.close());
    await step('export', () => this.exportFile?.close());
    if (errors.length) throw new Error(`stop: ${errors.join('; ')}`);
  }
}
