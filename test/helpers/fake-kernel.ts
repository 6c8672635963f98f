// A KernelPort that only records what the agent asks of it: tests of the
// agent's own logic (scoping diffs, persistence, API) without BPF.
import type { PolicySpec } from '../../src/core/types.js';
import type { TlnRecord } from '../../src/kernel/records.js';
import type { KernelPort, LoadedPolicyPort, PolicyCounters, ProgramStat } from '../../src/agent/ports.js';

export class FakeLoadedPolicy implements LoadedPolicyPort {
  readonly sensors = ['fake'];
  readonly filter = new Set<string>();
  /** pods' own cgroups whose new containers inherit the policy */
  readonly inherit = new Set<string>();
  mode: 'enforce' | 'monitor' | null = null;
  unloaded = false;
  /** counters per selector, as the kernel's tln_stats would hold them (tests set them) */
  stats: PolicyCounters[] = [];
  constructor(
    readonly spec: PolicySpec,
    readonly id: number,
  ) {}
  kernelMemory(): number {
    return 0;
  }
  programMemory(): number {
    return 0;
  }
  setFilterCgroups(add: bigint[], remove: bigint[]): void {
    for (const id of remove) this.filter.delete(id.toString());
    for (const id of add) this.filter.add(id.toString());
  }
  setInheritCgroups(add: bigint[], remove: bigint[]): void {
    for (const id of remove) this.inherit.delete(id.toString());
    for (const id of add) this.inherit.add(id.toString());
  }
  setMode(mode: 'enforce' | 'monitor'): void {
    this.mode = mode;
  }
  selectorCounters(): PolicyCounters[] {
    return this.stats;
  }
  programIds(): number[] {
    return [];
  }
  programStats(): ProgramStat[] {
    return [];
  }
  unload(): void {
    this.unloaded = true;
  }
}

export class FakeKernel implements KernelPort {
  readonly loaded: FakeLoadedPolicy[] = [];
  /** when set, loading a policy of this name fails like the loader would (with a verifier log) */
  failLoad: { name: string; message: string; log?: string } | null = null;
  readonly podCgroups = new Set<string>();
  private cb: ((r: TlnRecord[]) => void) | null = null;
  closed = false;

  features(): Record<string, boolean> {
    return { fake: true };
  }
  async loadPolicy(_image: Uint8Array, spec: PolicySpec, policyId: number): Promise<LoadedPolicyPort> {
    if (this.failLoad && this.failLoad.name === spec.name) {
      throw Object.assign(new Error(this.failLoad.message), { log: this.failLoad.log });
    }
    const p = new FakeLoadedPolicy(spec, policyId);
    this.loaded.push(p);
    return p;
  }
  setPodCgroups(add: bigint[], remove: bigint[]): void {
    for (const id of remove) this.podCgroups.delete(id.toString());
    for (const id of add) this.podCgroups.add(id.toString());
  }
  onRecords(cb: (recs: TlnRecord[]) => void): void {
    this.cb = cb;
  }
  /** feeds records as if the ring buffer delivered them */
  deliver(recs: TlnRecord[]): void {
    this.cb?.(recs);
  }
  lost(): number {
    return 0;
  }
  close(): void {
    this.closed = true;
  }
  /** the live (not unloaded) policy named `name` */
  policy(name: string): FakeLoadedPolicy | undefined {
    return this.loaded.filter((p) => p.spec.name === name && !p.unloaded).pop();
  }
}
