// Prometheus metrics of the agent (prom-client), served on
// `--metrics-server ADDR` at /metrics, like Tetragon's metrics server. Names
// follow Tetragon's with a talon_ prefix. Event metrics are counted as events
// leave the pipeline; policy, kernel and differential metrics are read from
// the agent at every scrape (so they are always current and cost nothing
// between scrapes).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { eventKind, eventType } from '../events/filter.js';
import type { PolicyStatus } from './policies.js';

type Json = Record<string, unknown>;

/** What the metrics read from the agent at scrape time. */
export interface MetricsSource {
  policies(): PolicyStatus[];
  /** records the kernel could not put in the ring buffer */
  lost(): number;
  /** events not delivered to slow API clients */
  dropped(): number;
  differential(): { checked: number; agreed: number; disagreed: number };
  version: string;
}

/** "127.0.0.1:2112", "[::1]:2112", ":2112" (every interface, as Tetragon) -> host ('' for all) and port. */
export function parseMetricsAddress(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(s.trim());
  if (!m) throw new Error(`metrics server address ${JSON.stringify(s)}: expected host:port, e.g. 127.0.0.1:2112`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`metrics server address ${JSON.stringify(s)}: port out of range`);
  return { host: m[1] ?? m[2] ?? '', port };
}

const STATES = ['enabled', 'disabled', 'load_error', 'error'] as const;

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly events: Counter<'type' | 'namespace' | 'pod' | 'binary'>;
  private readonly policyEvents: Counter<'policy' | 'hook' | 'namespace' | 'pod'>;
  private server: Server | null = null;

  constructor(private readonly src: MetricsSource) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 'talon_' });
    new Gauge({ name: 'talon_build_info', help: 'Build information about talon', labelNames: ['version'], registers: [r] }).set({ version: src.version }, 1);
    this.events = new Counter({
      name: 'talon_events_total',
      help: 'Events emitted by the agent, by type and process',
      labelNames: ['type', 'namespace', 'pod', 'binary'],
      registers: [r],
    });
    this.policyEvents = new Counter({
      name: 'talon_policy_events_total',
      help: 'Policy events (kprobe, tracepoint, uprobe) emitted by the agent, by policy and hook',
      labelNames: ['policy', 'hook', 'namespace', 'pod'],
      registers: [r],
    });
    // the kernel's per-policy counters (tln_stats), read at scrape time
    const perPolicy = (name: string, help: string, labelNames: string[], fill: (g: Gauge<string>, p: PolicyStatus) => void, counter = false) => {
      const collect = function (this: Gauge<string> | Counter<string>) {
        this.reset();
        for (const p of src.policies()) fill(this as Gauge<string>, p);
      };
      if (counter) {
        new Counter({ name, help, labelNames, registers: [r], collect: collect as never });
      } else {
        new Gauge({ name, help, labelNames, registers: [r], collect: collect as never });
      }
    };
    const pl = (p: PolicyStatus) => ({ policy: p.name, policy_namespace: p.namespace ?? '' });
    perPolicy(
      'talon_policy_actions_total',
      'Kernel counters of each policy: post (events posted), enforce (Sigkill/Signal/Override carried out), monitor (enforcement skipped in monitor mode), nopost',
      ['policy', 'policy_namespace', 'action'],
      (c, p) => {
        for (const a of ['post', 'enforce', 'monitor', 'nopost'] as const) (c as unknown as Counter<string>).inc({ ...pl(p), action: a }, p.counters[a]);
      },
      true,
    );
    perPolicy('talon_tracingpolicy_kernel_memory_bytes', 'Kernel memory (memlock) of the BPF maps of each policy', ['policy', 'policy_namespace'], (g, p) =>
      g.set(pl(p), p.kernelMemory),
    );
    // the kernel's BPF statistics per program (as `tetra debug progs`); they grow only while
    // kernel.bpf_stats_enabled is 1
    const prog = (name: string, help: string, key: 'run_cnt' | 'run_time_ns') =>
      perPolicy(
        name,
        help,
        ['policy', 'policy_namespace', 'program', 'program_id'],
        (c, p) => {
          for (const x of p.programs) (c as unknown as Counter<string>).inc({ ...pl(p), program: x.name, program_id: String(x.id) }, x[key]);
        },
        true,
      );
    prog('talon_policy_program_runs_total', 'Runs of each BPF program of each policy (kernel.bpf_stats_enabled=1 only)', 'run_cnt');
    prog('talon_policy_program_run_time_ns_total', 'Time spent in each BPF program of each policy, ns (kernel.bpf_stats_enabled=1 only)', 'run_time_ns');
    perPolicy('talon_tracingpolicy_mode', 'Mode of each policy (1 for its current mode)', ['policy', 'policy_namespace', 'mode'], (g, p) =>
      g.set({ ...pl(p), mode: p.mode }, 1),
    );
    new Gauge({
      name: 'talon_tracingpolicy_loaded',
      help: 'Tracing policies by state',
      labelNames: ['state'],
      registers: [r],
      collect() {
        this.reset();
        const n: Record<string, number> = Object.fromEntries(STATES.map((s) => [s, 0]));
        for (const p of src.policies()) n[p.state] = (n[p.state] ?? 0) + 1;
        for (const [state, v] of Object.entries(n)) this.set({ state }, v);
      },
    });
    new Counter({
      name: 'talon_ringbuf_lost_events_total',
      help: 'Records the kernel could not put in the ring buffer (it was full)',
      registers: [r],
      collect() {
        this.reset();
        this.inc(src.lost());
      },
    });
    new Counter({
      name: 'talon_events_dropped_total',
      help: 'Events not delivered to API clients that did not read them in time',
      registers: [r],
      collect() {
        this.reset();
        this.inc(src.dropped());
      },
    });
    new Counter({
      name: 'talon_evaluator_checks_total',
      help: 'Kernel verdicts checked against the Wasm evaluator, by result (agreed, disagreed)',
      labelNames: ['result'],
      registers: [r],
      collect() {
        this.reset();
        const d = src.differential();
        this.inc({ result: 'agreed' }, d.agreed);
        this.inc({ result: 'disagreed' }, d.disagreed);
      },
    });
  }

  /** Counts one event leaving the pipeline. */
  onEvent(ev: Json): void {
    const k = eventKind(ev);
    if (!k) return;
    const body = ev[k] as Json;
    const proc = (body?.process ?? {}) as Json;
    const pod = (proc.pod ?? null) as Json | null;
    const namespace = typeof pod?.namespace === 'string' ? pod.namespace : '';
    const podName = typeof pod?.name === 'string' ? pod.name : '';
    this.events.inc({ type: eventType(ev) ?? k, namespace, pod: podName, binary: typeof proc.binary === 'string' ? proc.binary : '' });
    if (typeof body.policy_name === 'string') {
      const hook =
        k === 'process_kprobe'
          ? `kprobe:${body.function_name}`
          : k === 'process_tracepoint'
            ? `tracepoint:${body.subsys}/${body.event}`
            : k === 'process_uprobe'
              ? `uprobe:${body.path}:${body.symbol}`
              : k.replace(/^process_/, '');
      this.policyEvents.inc({ policy: body.policy_name, hook, namespace, pod: podName });
    }
  }

  /** The text a scrape gets. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Serves GET /metrics on host:port; resolves with the address actually bound. */
  async listen(address: string): Promise<string> {
    const { host, port } = parseMetricsAddress(address);
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' || (path !== '/metrics' && path !== '/')) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('talon: metrics are at /metrics\n');
        return;
      }
      this.text().then(
        (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body),
        (e) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`talon: metrics: ${(e as Error).message}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host || undefined, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const a = server.address() as AddressInfo;
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return Promise.resolve();
    s.closeAllConnections?.();
    return new Promise((r) => s.close(() => r()));
  }
}
