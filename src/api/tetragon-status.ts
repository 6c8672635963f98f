// talon's policy status in Tetragon's terms: TracingPolicyStatus (gRPC
// ListTracingPolicies) and the selector action counters that Tetragon's
// metrics export. One mapping, used by the gRPC API and the metrics.
import type { PolicyStatus } from './protocol.js';

type Json = Record<string, unknown>;

/** What the status mapping needs of each hook of a policy, in spec order. */
export interface HookInfo {
  /** "security_file_permission", "syscalls/sys_enter_openat", "/bin/bash:readline" */
  name: string;
  kind: 'kprobe' | 'tracepoint' | 'uprobe' | 'fentry' | 'lsmhook' | 'usdt';
  /** enforcement actions of its selectors (Sigkill, Signal, Override) */
  actions: string[];
}

/** Tetragon's TracingPolicyActionCounters fields talon can fill. */
export interface ActionCounters {
  post: number;
  signal: number;
  monitor_signal: number;
  override: number;
  monitor_override: number;
  nopost: number;
}

/** Tetragon's names of the hook ("kprobe:<call>", "tracepoint:<subsys>/<event>", "uprobe:<path>:<symbol>"). */
export function hookLabel(h: Pick<HookInfo, 'name' | 'kind'>): string {
  return `${h.kind}:${h.name}`;
}

/**
 * talon's kernel counts enforcement carried out (enforce) and skipped in
 * monitor mode (monitor) per selector; Tetragon splits them by action. A hook
 * whose only enforcement action is Override counts as override, any other
 * (Sigkill, Signal) as signal, as Tetragon counts Sigkill.
 */
export function splitCounters(c: { post: number; enforce: number; monitor: number; nopost: number }, actions: string[]): ActionCounters {
  const override = actions.includes('Override') && !actions.some((a) => a === 'Sigkill' || a === 'Signal');
  return {
    post: c.post,
    signal: override ? 0 : c.enforce,
    monitor_signal: override ? 0 : c.monitor,
    override: override ? c.enforce : 0,
    monitor_override: override ? c.monitor : 0,
    nopost: c.nopost,
  };
}

export interface SelectorCounters {
  /** hookLabel() */
  hook: string;
  /** index of the hook among the policy's hooks of its kind (Tetragon's hook_index) */
  hookIndex: number;
  selectorIndex: number;
  counters: ActionCounters;
}

/** The policy's per-selector counters in Tetragon's shape (hooks without selectors have none, as in Tetragon). */
export function selectorCounters(p: PolicyStatus, hooks: HookInfo[]): SelectorCounters[] {
  const out: SelectorCounters[] = [];
  const perKind = new Map<string, number>();
  const index = new Map<string, { info: HookInfo; idx: number }>();
  for (const h of hooks) {
    const i = perKind.get(h.kind) ?? 0;
    perKind.set(h.kind, i + 1);
    if (!index.has(h.name)) index.set(h.name, { info: h, idx: i });
  }
  for (const s of p.selectors) {
    if (s.hook === null || s.selector === null) continue;
    const h = index.get(s.hook);
    const info = h?.info ?? { name: s.hook, kind: 'kprobe' as const, actions: [] };
    out.push({ hook: hookLabel(info), hookIndex: h?.idx ?? 0, selectorIndex: s.selector, counters: splitCounters(s, info.actions) });
  }
  return out;
}

const STATE: Record<string, string> = {
  enabled: 'TP_STATE_ENABLED',
  disabled: 'TP_STATE_DISABLED',
  load_error: 'TP_STATE_LOAD_ERROR',
  error: 'TP_STATE_ERROR',
};
const MODE: Record<string, string> = { enforce: 'TP_MODE_ENFORCE', monitor: 'TP_MODE_MONITOR', monitor_only: 'TP_MODE_MONITOR_ONLY' };

/** Tetragon's domain of a policy: talon's "api" policies are Tetragon's "grpc" ones. */
export function tetragonDomain(d: string): string {
  return d === 'api' ? 'grpc' : d;
}

/** PolicyStatus -> Tetragon's TracingPolicyStatus (protojson: int64 as strings, enum names). */
export function tracingPolicyStatus(p: PolicyStatus, hooks: HookInfo[]): Json {
  const sel = selectorCounters(p, hooks);
  const total: ActionCounters = { post: 0, signal: 0, monitor_signal: 0, override: 0, monitor_override: 0, nopost: 0 };
  // the policy's totals include hooks without selectors, as talon's kernel counts them
  const actionsOf = (hook: string | null) => hooks.find((h) => h.name === hook)?.actions ?? hooks.flatMap((h) => h.actions);
  for (const s of p.selectors) {
    const c = splitCounters(s, actionsOf(s.hook));
    for (const k of Object.keys(total) as (keyof ActionCounters)[]) total[k] += c[k];
  }
  const counters = (c: ActionCounters): Json => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, String(v)]));
  const perKind = new Map<string, number>();
  return {
    id: String(p.id),
    name: p.name,
    namespace: p.namespace ?? '',
    info: p.file,
    sensors: p.sensors,
    enabled: p.state === 'enabled',
    filter_id: String(p.filterId),
    error: p.error ?? '',
    state: STATE[p.state] ?? 'TP_STATE_UNKNOWN',
    kernel_memory_bytes: String(p.kernelMemory),
    mode: MODE[p.mode] ?? 'TP_MODE_UNKNOWN',
    stats: {
      action_counters: counters(total),
      selector_action_counters: sel.map((s) => ({
        hook: s.hook,
        hook_index: s.hookIndex,
        selector_index: s.selectorIndex,
        action_counters: counters(s.counters),
      })),
    },
    domain: tetragonDomain(p.domain),
    hook_statuses: hooks.map((h) => {
      const i = perKind.get(h.kind) ?? 0;
      perKind.set(h.kind, i + 1);
      return {
        section: `${h.kind}s`,
        state: p.state === 'enabled' ? 'STATUS_LOADED' : 'STATUS_UNSPECIFIED',
        hook_description: hookLabel(h),
        hook_idx: i,
      };
    }),
  };
}
