// The agent API protocol: JSON text frames over a WebSocket (see docs/agent.md).

/** Bumped on incompatible changes; `status` reports it. */
export const PROTOCOL_VERSION = 1;

export interface Request {
  id: number;
  method: string;
  params?: Record<string, unknown>;
}

export interface ErrorBody {
  /** stable machine-readable code */
  code: ErrorCode;
  /** one line for humans */
  message: string;
  /** policy diagnostics, already rendered `file:line:col: severity: message` */
  diagnostics?: string[];
}

export type ErrorCode = 'bad_request' | 'unknown_method' | 'not_found' | 'exists' | 'invalid' | 'failed';

export type Response = { id: number; result: unknown } | { id: number; error: ErrorBody };

/** An event of a subscription, or (lost) how many of its events were dropped since the last notice
 *  because the client did not read them fast enough. */
export type Notification = { subscription: number; event: Record<string, unknown> } | { subscription: number; lost: number };

export type ServerMessage = Response | Notification;

/**
 * A frame of a connection with a `batch: true` subscription holds one message as above, or
 * several notifications, one per line, in the order they happened (one frame per event costs
 * more than the event). Every message is JSON.stringify's text, which has no raw newline, and
 * an event notification reads `{"subscription":N,"event":{...}}`: a client may take the event's
 * text out as it is (`eventText`), without parsing it.
 */
export function eventText(line: string, subscription: number): string | null {
  const pre = `{"subscription":${subscription},"event":`;
  return line.startsWith(pre) && line.endsWith('}') ? line.slice(pre.length, -1) : null;
}

/** Thrown by method handlers to send a specific error code. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly diagnostics?: string[],
  ) {
    super(message);
  }
}

/** Header a TCP client puts its token in: `Authorization: Bearer <token>`. */
export const AUTH_HEADER = 'authorization';

import type { EffectiveMode } from '../core/types.js';

// ---- policy status: what `tp list` and ListTracingPolicies serve (built by src/agent/policies.ts) ----

/** static: --policy-dir; api: talon's and Tetragon's APIs (tp add); k8s: the Kubernetes API's TracingPolicy objects */
export type Domain = 'static' | 'api' | 'k8s';
export type PolicyState = 'enabled' | 'disabled' | 'load_error' | 'error';

/** One BPF program and the kernel's run statistics for it (as `tetra debug progs` shows them). */
export interface ProgramStat {
  id: number;
  name: string;
  /** runs counted since load (only while kernel.bpf_stats_enabled is 1) */
  run_cnt: number;
  /** ns spent in it over those runs */
  run_time_ns: number;
}

export interface PolicyCounters {
  post: number;
  enforce: number;
  monitor: number;
  nopost: number;
}

export interface PolicyStatus {
  id: number;
  name: string;
  namespace: string | null;
  kind: string;
  domain: Domain;
  file: string;
  state: PolicyState;
  error?: string;
  /** why it did not load: unsupported (refused by the load plan), limit (talon's capacity), kernel (the kernel refused what the plan chose), other */
  errorKind?: 'unsupported' | 'limit' | 'kernel' | 'other';
  verifierLog?: string;
  /** load-time warnings (e.g. return: true on a hook whose implementation here sees no return value) */
  warnings?: string[];
  mode: EffectiveMode;
  /** 0: no pod filter (the policy applies everywhere), else the policy id */
  filterId: number;
  filtered: boolean;
  host: boolean;
  /** "ns/name" of the pods the policy applies to (filtered policies) */
  pods: string[];
  hooks: string[];
  sensors: string[];
  /** memlock bytes of its own BPF maps (Tetragon's KERNELMEMORY) */
  kernelMemory: number;
  /** memlock bytes of its BPF programs */
  programMemory: number;
  /** sums over the selectors (NPOST, NENFORCE, NMONITOR) */
  counters: PolicyCounters;
  /** the kernel's counters per selector */
  selectors: SelectorStatus[];
  /** its BPF programs (bpftool prog show id N) with the kernel's run statistics: run_cnt and
   * run_time_ns grow only while kernel.bpf_stats_enabled is 1 (as for `tetra debug progs`) */
  programs: ProgramStat[];
}

/** One entry of the policy's kernel counters (`tln_stats`). */
export interface SelectorStatus extends PolicyCounters {
  /** index in the kernel's counters: the policy's selectors over all hooks, in order */
  index: number;
  /** the hook of the selector (null: the entry of hooks without selectors) */
  hook: string | null;
  /** 0-based selector index within its hook (null: hooks without selectors) */
  selector: number | null;
  /** e.g. "security_file_permission/0" or "(no selector)" */
  label: string;
}
