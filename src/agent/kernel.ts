// The kernel loader (src/kernel) behind the agent's KernelPort.
import {
  ABI_TAG,
  pinDirFor,
  Kernel,
  callNotFoundSkip,
  chooseImpl,
  kernelBtf,
  kernelCheck,
  type LoadedPolicy,
  type Shim,
  type TlnRecord,
} from '../kernel/index.js';
import type { PolicySpec } from '../core/types.js';
import { expandListHooks } from '../kernel/lists.js';
import type { KernelPort, LoadedPolicyPort, PolicyCounters, ProgramStat } from './ports.js';

class LoadedAdapter implements LoadedPolicyPort {
  constructor(
    private readonly lp: LoadedPolicy,
    private readonly shim: Shim,
  ) {}
  get sensors(): string[] {
    return this.lp.sensors;
  }
  kernelMemory(): number {
    // Tetragon's KERNELMEMORY is the maps': the policy's own (its image maps behind its
    // units); the shared maps and programs serve every policy and are not counted here
    return this.lp.mapBytes();
  }
  programMemory(): number {
    // the programs serving the policy (the shared ones serve other policies too)
    let n = 0;
    for (const p of this.lp.programs()) n += this.shim.fdMemlock(p.fd);
    return n;
  }
  setFilterCgroups(add: bigint[], remove: bigint[]): void {
    this.lp.setFilterCgroups(add, remove);
  }
  setInheritCgroups(add: bigint[], remove: bigint[]): void {
    this.lp.setInheritCgroups(add, remove);
  }
  setMode(mode: 'enforce' | 'monitor'): void {
    this.lp.setMode(mode);
  }
  selectorCounters(): PolicyCounters[] {
    return this.lp.stats().map((s) => ({ post: Number(s.post), enforce: Number(s.enforce), monitor: Number(s.monitor), nopost: Number(s.nopost) }));
  }
  programIds(): number[] {
    return this.lp.programs().map((p) => this.shim.progInfo(p.fd).id);
  }
  programStats(): ProgramStat[] {
    return this.lp.programs().map((p) => {
      const i = this.shim.progInfo(p.fd);
      return { id: i.id, name: p.name, run_cnt: i.runCnt, run_time_ns: i.runTimeNs };
    });
  }
  unload(): void {
    this.lp.unload();
  }
}

export class KernelAdapter implements KernelPort {
  private constructor(readonly kernel: Kernel) {}

  /** Opens the kernel (throws NotSupportedError when not root or BPF is unavailable); pinDir: links pinned there. */
  static async open(opts: { stateDir?: string } = {}): Promise<KernelAdapter> {
    return new KernelAdapter(await Kernel.open(opts.stateDir ? { pinDir: pinDirFor(opts.stateDir) } : {}));
  }

  /** Ends the overlap with an earlier run's pinned programs (they go now); what happened, for the log. */
  handOver(): string[] {
    const pins = this.kernel.pins;
    if (!pins) return [];
    const out = pins.unpinnable.map((u) => `warning: link not pinned (its enforcement ends with the agent): ${u}`);
    for (const g of this.kernel.handOver()) {
      out.push(
        g.abi === ABI_TAG
          ? `took over from the pinned programs of an earlier agent (pid ${g.pid}, ${g.links} links): this agent's were attached first, then those removed`
          : `pinned programs of another talon version (ABI ${g.abi}, this one ${ABI_TAG}; pid ${g.pid}, ${g.links} links): loaded fresh beside them, then removed them`,
      );
    }
    return out;
  }

  /** Stops without detaching: pinned enforcement stays for the next agent. */
  leave(): void {
    this.kernel.leave();
  }

  /** Processes found in /proc when the kernel side was opened. */
  procfsRecords(): TlnRecord[] {
    return this.kernel.procfs;
  }

  features(): Record<string, boolean | string | undefined> {
    const out: Record<string, boolean | string | undefined> = {};
    for (const [k, v] of Object.entries(this.kernel.features)) if (typeof v === 'boolean' || typeof v === 'string') out[k] = v;
    return out;
  }

  sensorsFor(spec: PolicySpec): string[] {
    const out = new Set<string>();
    for (const h of expandListHooks(spec)) {
      if (callNotFoundSkip(h, kernelBtf)) continue;
      const c = chooseImpl(h.hookId, h.name, this.kernel.features, h);
      if (c.ok) out.add(c.impl.sensor);
    }
    return [...out];
  }

  loadWarnings(spec: PolicySpec): string[] {
    // the hooks the load leaves out (ignore.callNotFound on a function this kernel lacks) are said first
    const skipped: string[] = [];
    const kept = expandListHooks(spec).filter((h) => {
      const skip = callNotFoundSkip(h, kernelBtf);
      if (skip) skipped.push(skip);
      return !skip;
    });
    return [...skipped, ...kernelCheck({ ...spec, hooks: kept }, this.kernel.features).flatMap((h) => h.warnings)];
  }

  async loadPolicy(_image: Uint8Array, spec: PolicySpec, policyId: number): Promise<LoadedPolicyPort> {
    return new LoadedAdapter(this.kernel.loadPolicy(spec, policyId), this.kernel.shim);
  }

  setPodCgroups(add: bigint[], remove: bigint[]): void {
    if (add.length) this.kernel.addPodCgroups(add);
    if (remove.length) this.kernel.removePodCgroups(remove);
  }

  onRecords(cb: (recs: TlnRecord[]) => void): void {
    this.kernel.onRecords(cb);
  }

  lost(): number {
    return Number(this.kernel.lostRecords());
  }

  close(): void {
    this.kernel.close();
  }
}
