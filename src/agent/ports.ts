// What the agent needs from the Wasm core and from the kernel loader, as
// narrow interfaces. src/agent/core.ts and src/agent/kernel.ts adapt the real
// modules to them; the tests can also plug in fakes to check the agent's own
// logic (scoping diffs, persistence) without BPF.
import type { TlnRecord } from '../kernel/records.js';
import type { CompileOptions, CompileResult, EvalArg, EvalEvent, HookContext, Mode, ModeChange, PodInfo, PolicySpec, Verdict } from '../core/types.js';

export interface CorePort {
  compile(docs: unknown[], opts: CompileOptions): CompileResult;
  inspectImage(image: Uint8Array): PolicySpec[];
  podMatches(image: Uint8Array, policyIndex: number, pod: PodInfo | null): boolean;
  newEvaluator(image: Uint8Array): EvaluatorPort;
}

export interface EvaluatorPort {
  evaluate(ev: EvalEvent): Verdict;
  setRuntimeMode(policyIndex: number, mode: Mode): ModeChange;
  /** the core's kernel-record path (src/core Evaluator has it; test doubles may not) */
  evaluateHookRecord?(raw: Uint8Array, ctx: HookContext): number;
  lastVerdict?(code: number): Verdict;
  lastHookArgs?(): EvalArg[];
  lastHookReturn?(): EvalArg;
}

/** Per-selector counters of one loaded policy. */
export type { PolicyCounters } from '../api/protocol.js';
import type { PolicyCounters } from '../api/protocol.js';

export type { ProgramStat } from '../api/protocol.js';
import type { ProgramStat } from '../api/protocol.js';

export interface LoadedPolicyPort {
  /** kernel mechanisms serving the hooks, e.g. ["tln_file:tracepoint", "tln_sock:cgroup"] */
  readonly sensors: string[];
  /** bytes of kernel memory (memlock) of the policy's own maps */
  kernelMemory(): number;
  /** bytes of kernel memory (memlock) of the policy's programs */
  programMemory(): number;
  /** adds/removes cgroup ids in the policy's pod filter */
  setFilterCgroups(add: bigint[], remove: bigint[]): void;
  /** adds/removes pods' own cgroups whose new containers take the policy at once (before the agent sees them) */
  setInheritCgroups(add: bigint[], remove: bigint[]): void;
  /** writes the run-time mode into the policy's conf map */
  setMode(mode: 'enforce' | 'monitor'): void;
  /** the kernel's counters per selector over all hooks in order; the last entry: hooks without selectors */
  selectorCounters(): PolicyCounters[];
  /** ids of its BPF programs (as bpftool shows them) */
  programIds(): number[];
  /** its programs with the kernel's run statistics (counted while kernel.bpf_stats_enabled is 1) */
  programStats(): ProgramStat[];
  /** detaches and closes everything of this policy */
  unload(): Promise<void> | void;
}

/** A decoded ring-buffer record (src/kernel/records.ts). */
export type KernelRecord = TlnRecord;

export interface KernelFeatures {
  [feature: string]: boolean | string | undefined;
}

export interface KernelPort {
  features(): KernelFeatures;
  /** the sensors that would serve the policy's hooks here (shown for a policy that is not loaded) */
  sensorsFor?(spec: PolicySpec): string[];
  /** what loads but differs from what the policy asks, per hook (return: true without a return value) */
  loadWarnings?(spec: PolicySpec): string[];
  /** loads one policy of an image under an agent-assigned id */
  loadPolicy(image: Uint8Array, spec: PolicySpec, policyId: number): Promise<LoadedPolicyPort>;
  /** the global set of pod cgroups (what "in no pod" means for host scoping) */
  setPodCgroups(add: bigint[], remove: bigint[]): void;
  /** starts delivering records */
  onRecords(cb: (recs: KernelRecord[]) => void): void;
  /** records the kernel could not deliver (ring buffer full) */
  lost(): number;
  close(): Promise<void> | void;
  /** ends the overlap with an earlier run's pinned programs (removes them); log lines */
  handOver?(): string[];
  /** stops without detaching what is pinned (enforcement stays on for the next agent) */
  leave?(): void;
}
