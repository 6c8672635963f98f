// Prometheus metrics of the agent (prom-client), served on
// `--metrics-server ADDR` at /metrics, like Tetragon's metrics server.
// Metrics Tetragon has carry Tetragon's names and labels (tetragon_*, from
// Tetragon's pkg/metrics, pkg/observer and pkg/process), so its dashboards
// and alerts work unchanged; what only talon has is talon_*; the standard
// process_* / nodejs_* metrics are unprefixed. Event metrics are counted as
// events leave the pipeline; policy, kernel and differential metrics are
// read from the agent at every scrape (always current, free between scrapes).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { eventKind, eventType } from '../events/filter.js';
import { selectorCounters, type HookInfo } from '../api/tetragon-status.js';
import type { PolicyStatus } from './policies.js';

type Json = Record<string, unknown>;

/** Labels in name order, as Tetragon's (Go) exposition prints them; prom-client keeps the order given. */
const sorted = (l: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(l).sort(([a], [b]) => (a < b ? -1 : 1)));

/** What the metrics read from the agent at scrape time. */
export interface MetricsSource {
  policies(): PolicyStatus[];
  /** records the kernel could not put in the ring buffer */
  lost(): number;
  /** events not delivered to slow API clients */
  dropped(): number;
  differential(): { checked: number; agreed: number; disagreed: number };
  version: string;
  /** node_name of the event metrics (default: the events' own node_name) */
  node?: string;
  /** hooks of a policy in spec order (for Tetragon's selector action names) */
  hooks?(policyId: number): HookInfo[];
  /** ring-buffer records received */
  records?(): number;
  /** entries of the process cache */
  processCache?(): number;
  /** events lost by where (see Agent.losses) */
  losses?(): { ringbuf: number; queue: number; subscribers: number };
  /** Tetragon's --metrics-label-filter: the process labels kept (comma list or array) */
  labelFilter?: string | string[];
}

/** "127.0.0.1:2112", "[::1]:2112", ":2112" (every interface, as Tetragon) -> host ('' for all) and port. */
export function parseMetricsAddress(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(s.trim());
  if (!m) throw new Error(`metrics server address ${JSON.stringify(s)}: expected host:port, e.g. 127.0.0.1:2112`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`metrics server address ${JSON.stringify(s)}: port out of range`);
  return { host: m[1] ?? m[2] ?? '', port };
}

/** Tetragon's process labels of event metrics. */
export const PROCESS_LABELS = ['namespace', 'workload', 'pod', 'binary', 'node_name'] as const;
type ProcessLabel = (typeof PROCESS_LABELS)[number];

/** Tetragon's --metrics-label-filter default: every process label but node_name. */
export const DEFAULT_METRICS_LABEL_FILTER = 'namespace,workload,pod,binary';

/**
 * Parses --metrics-label-filter as Tetragon does: a comma list of the labels
 * that keep their value (the others are present but empty); unknown names are
 * ignored; an empty list empties them all.
 */
export function parseMetricsLabelFilter(f: string | string[] = DEFAULT_METRICS_LABEL_FILTER): Set<ProcessLabel> {
  const names = (Array.isArray(f) ? f : f.split(',')).map((x) => x.trim());
  return new Set(PROCESS_LABELS.filter((l) => names.includes(l)));
}

/** Tetragon's policy states as its tracingpolicy_loaded metric names them (all reported, 0 when none). */
const STATES = ['load_error', 'error', 'disabled', 'enabled', 'skipped', 'partially_enabled'] as const;

/** Tetragon's selector action names, in its order. */
const SELECTOR_ACTIONS = ['post', 'signal', 'monitor_signal', 'override', 'monitor_override', 'nopost'] as const;

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly events: Counter<string>;
  private readonly policyEvents: Counter<string>;
  private readonly keep: Set<ProcessLabel>;
  private server: Server | null = null;

  constructor(private readonly src: MetricsSource) {
    const r = this.registry;
    this.keep = parseMetricsLabelFilter(src.labelFilter);
    collectDefaultMetrics({ register: r });
    new Gauge({ name: 'talon_build_info', help: 'Build information about talon', labelNames: ['version'], registers: [r] }).set({ version: src.version }, 1);
    // labels in Tetragon's (alphabetical) order, so the lines read as Tetragon's
    this.events = new Counter({
      name: 'tetragon_events_total',
      help: 'The total number of Tetragon events',
      labelNames: ['binary', 'namespace', 'node_name', 'pod', 'type', 'workload'],
      registers: [r],
    });
    this.policyEvents = new Counter({
      name: 'tetragon_policy_events_total',
      help: 'Policy events calls observed.',
      labelNames: ['binary', 'hook', 'namespace', 'node_name', 'pod', 'policy', 'workload'],
      registers: [r],
    });
    const gauge = (name: string, help: string, labelNames: string[], collect: (g: Gauge<string>) => void) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [r],
        collect() {
          this.reset();
          collect(this);
        },
      });
    const counter = (name: string, help: string, labelNames: string[], collect: (c: Counter<string>) => void) =>
      new Counter({
        name,
        help,
        labelNames,
        registers: [r],
        collect() {
          this.reset();
          collect(this);
        },
      });
    const pl = (p: PolicyStatus) => ({ policy: p.name, policy_namespace: p.namespace ?? '' });
    counter(
      'tetragon_tracingpolicy_selector_actions_total',
      'The total number of tracing policy actions observed per selector.',
      ['action', 'hook', 'hook_index', 'policy', 'policy_namespace', 'selector_index', 'selector_label'],
      (c) => {
        for (const p of src.policies()) {
          for (const s of selectorCounters(p, src.hooks?.(p.id) ?? [])) {
            for (const action of SELECTOR_ACTIONS) {
              const n = s.counters[action];
              // as Tetragon: only the counters that moved
              if (n > 0)
                c.inc(
                  sorted({ action, hook: s.hook, hook_index: String(s.hookIndex), ...pl(p), selector_index: String(s.selectorIndex), selector_label: '' }),
                  n,
                );
            }
          }
        }
      },
    );
    gauge(
      'tetragon_tracingpolicy_kernel_memory_bytes',
      "The amount of kernel memory in bytes used by policy's sensors non-shared BPF maps (memlock).",
      ['policy', 'policy_namespace'],
      (g) => {
        for (const p of src.policies()) g.set(pl(p), p.kernelMemory);
      },
    );
    gauge('tetragon_tracingpolicy_loaded', 'The number of loaded tracing policy by state.', ['state'], (g) => {
      const n: Record<string, number> = Object.fromEntries(STATES.map((s) => [s, 0]));
      for (const p of src.policies()) n[p.state] = (n[p.state] ?? 0) + 1;
      for (const [state, v] of Object.entries(n)) g.set({ state }, v);
    });
    counter('tetragon_observer_ringbuf_events_received_total', 'Number of perf events Tetragon ring buffer received.', [], (c) => c.inc(src.records?.() ?? 0));
    counter('tetragon_observer_ringbuf_events_lost_total', 'Number of perf events Tetragon ring buffer lost.', [], (c) => c.inc(src.lost()));
    // the kernel side counts a record it could not reserve (ring buffer full), for every kind of record together
    counter('tetragon_bpf_missed_events_total', 'Number of Tetragon perf events that are failed to be sent from the kernel.', ['error', 'msg_op'], (c) => {
      const n = src.lost();
      if (n > 0) c.inc({ error: 'ENOSPC', msg_op: 'all' }, n);
    });
    counter('tetragon_notify_overflowed_events_total', 'The total number of events dropped because listener buffer was full', [], (c) => c.inc(src.dropped()));
    gauge('tetragon_process_cache_size', 'The size of the process cache', [], (g) => g.set(src.processCache?.() ?? 0));
    // talon only
    counter(
      'talon_events_lost_total',
      'Events lost, by where: ringbuf (kernel ring buffer full), queue (agent queue), subscriber (a client that fell behind)',
      ['where'],
      (c) => {
        const l = src.losses?.();
        if (!l) return;
        c.inc({ where: 'ringbuf' }, l.ringbuf);
        c.inc({ where: 'queue' }, l.queue);
        c.inc({ where: 'subscriber' }, l.subscribers);
      },
    );
    counter(
      'talon_policy_actions_total',
      'Kernel counters of each policy: post (events posted), enforce (Sigkill/Signal/Override carried out), monitor (enforcement skipped in monitor mode), nopost',
      ['policy', 'policy_namespace', 'action'],
      (c) => {
        for (const p of src.policies()) for (const a of ['post', 'enforce', 'monitor', 'nopost'] as const) c.inc({ ...pl(p), action: a }, p.counters[a]);
      },
    );
    // the kernel's BPF statistics per program (as `tetra debug progs`); they grow only while
    // kernel.bpf_stats_enabled is 1
    const prog = (name: string, help: string, key: 'run_cnt' | 'run_time_ns') =>
      counter(name, help, ['policy', 'policy_namespace', 'program', 'program_id'], (c) => {
        for (const p of src.policies()) for (const x of p.programs) c.inc({ ...pl(p), program: x.name, program_id: String(x.id) }, x[key]);
      });
    prog('talon_policy_program_runs_total', 'Runs of each BPF program of each policy (kernel.bpf_stats_enabled=1 only)', 'run_cnt');
    prog('talon_policy_program_run_time_ns_total', 'Time spent in each BPF program of each policy, ns (kernel.bpf_stats_enabled=1 only)', 'run_time_ns');
    gauge('talon_tracingpolicy_mode', 'Mode of each policy (1 for its current mode)', ['policy', 'policy_namespace', 'mode'], (g) => {
      for (const p of src.policies()) g.set({ ...pl(p), mode: p.mode }, 1);
    });
    counter('talon_evaluator_checks_total', 'Kernel verdicts checked against the Wasm evaluator, by result (agreed, disagreed)', ['result'], (c) => {
      const d = src.differential();
      c.inc({ result: 'agreed' }, d.agreed);
      c.inc({ result: 'disagreed' }, d.disagreed);
    });
  }

  /** Counts one event leaving the pipeline. */
  onEvent(ev: Json): void {
    const k = eventKind(ev);
    if (!k) return;
    const body = ev[k] as Json;
    const proc = (body?.process ?? {}) as Json;
    const pod = (proc.pod ?? null) as Json | null;
    const str = (v: unknown) => (typeof v === 'string' ? v : '');
    const all: Record<ProcessLabel, string> = {
      namespace: str(pod?.namespace),
      workload: str(pod?.workload),
      pod: str(pod?.name),
      binary: str(proc.binary),
      node_name: this.src.node ?? str(ev.node_name),
    };
    const labels = Object.fromEntries(PROCESS_LABELS.map((l) => [l, this.keep.has(l) ? all[l] : '']));
    this.events.inc(sorted({ ...labels, type: eventType(ev) ?? k }));
    if (typeof body.policy_name === 'string') {
      // Tetragon's hook names (pkg/grpc/tracing)
      const hook =
        k === 'process_kprobe'
          ? `kprobe:${body.function_name}`
          : k === 'process_tracepoint'
            ? `tracepoint:${body.subsys}/${body.event}`
            : k === 'process_uprobe'
              ? `uprobe:${body.path}/${body.symbol}`
              : k === 'process_lsm'
                ? `lsm:${body.function_name}`
                : k.replace(/^process_/, '');
      this.policyEvents.inc(sorted({ ...labels, policy: body.policy_name, hook }));
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
