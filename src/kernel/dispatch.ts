// The dispatch state the shared hook programs read (bpf/include/tln_events.h):
// which units exist (a unit is one policy's set of hooks, at most one of each
// dispatch kind: bit n of every mask, index n of the outer image maps), which
// units have which hook kind, and which apply to which cgroup. Every change
// bumps the epoch that cached file verdicts carry, so none outlives it.
// The scope decisions themselves are the core's (the agent passes the
// cgroups a policy applies to); this only turns them into bit masks.
//
// One kind of entry is made in the kernel: a pod's own cgroup marked
// TLN_CG_F_INHERIT hands its units to every cgroup made in it
// (tln_cgroup_mkdir: a new container), which sets that entry's bit in cgbits
// itself. Such an entry (TLN_CG_F_INHERITED) is kept, bit included, until the
// agent takes it over with the container, or the cgroup goes.
import { readlinkSync } from 'node:fs';
import { MAX_UNITS } from './plan.js';
import { LAYOUT } from './records.js';
import type { Shim } from './shim.js';

const L = LAYOUT;
const CG_F_POD = L.TLN_CG_F_POD;
const CG_F_INHERIT = L.TLN_CG_F_INHERIT;
const CG_F_INHERITED = L.TLN_CG_F_INHERITED;
const CG_SIZE = L['sizeof(struct tln_cgroup)'];
const CG_UNITS = L['offsetof(struct tln_cgroup, units)'];
const CG_FLAGS = L['offsetof(struct tln_cgroup, flags)'];
const BITS_OFF = L['offsetof(struct tln_dispatch, cgbits)'];
const NO_SLOT = 0xff;

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const u64 = (n: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, n));
  return b;
};

/** /proc/PID/ns names in Tetragon's namespace type order (Uts 0 .. User 9, tln_rec_proc.ns) */
export const NS_NAMES = ['uts', 'ipc', 'mnt', 'pid', 'pid_for_children', 'net', 'time', 'time_for_children', 'cgroup', 'user'] as const;

/**
 * The init process's namespace inode numbers (Tetragon's host_ns), 0 where absent. Where pid 1's
 * links cannot be read (a sandbox whose pid 1 is not dumpable), the agent's own: it runs in the
 * host's namespaces (a DaemonSet with hostPID), and says so in `hostNsFrom`.
 */
export function hostNamespaces(proc = '/proc'): { inums: number[]; from: string } {
  const read = (pid: string, n: string): number | null => {
    try {
      const m = /\[(\d+)\]$/.exec(readlinkSync(`${proc}/${pid}/ns/${n}`));
      return m ? Number(m[1]) : 0;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 0 : null;
    }
  };
  const init = NS_NAMES.map((n) => read('1', n));
  if (init.every((v) => v !== null)) return { inums: init as number[], from: `${proc}/1/ns` };
  return { inums: NS_NAMES.map((n) => read('self', n) ?? 0), from: `${proc}/self/ns (${proc}/1/ns is not readable)` };
}

export interface DispatchMaps {
  dispatch: number;
  units: number;
  cgroups: number;
}

/** The loader's copy of the dispatch maps; it writes the kernel's after every change. */
export class Dispatch {
  private readonly owners: (object | null)[] = new Array<object | null>(MAX_UNITS).fill(null);
  private all = 0n;
  private host = 0n;
  private readonly hooks: bigint[] = new Array<bigint>(L.TLN_DHOOKS).fill(0n);
  private epoch = 0n;
  /** cgroup id -> the units of filtered policies that apply there, whether it is a pod's, and whether
   * it is a pod's own cgroup whose new children take its units (then `units` are those) */
  private readonly cgroups = new Map<bigint, { units: bigint; pod: boolean; inherit?: boolean }>();
  /** a cgroup was marked inherit: the kernel may hold entries this copy does not */
  private inheriting = false;

  constructor(
    private readonly shim: Shim,
    private readonly maps: DispatchMaps,
    /** the host's namespaces (matchNamespaces host_ns, isNamespaceCapability), by type id, and where they were read */
    readonly hostNs: { inums: number[]; from: string } = hostNamespaces(),
  ) {
    this.write();
  }

  /** n free units for `owner`, or null when fewer are free */
  alloc(owner: object, n: number): number[] | null {
    const free: number[] = [];
    for (let i = 0; i < MAX_UNITS && free.length < n; i++) if (this.owners[i] === null) free.push(i);
    if (free.length < n) return null;
    for (const i of free) this.owners[i] = owner;
    return free;
  }

  /** units in use */
  used(): number {
    return this.owners.filter((o) => o !== null).length;
  }

  /** a unit's policy id and hook slot per dispatch kind (0xff: none) */
  setUnit(unit: number, policyId: number, slots: number[]): void {
    const v = Buffer.alloc(L['sizeof(struct tln_unit)']);
    v.writeUInt32LE(policyId >>> 0, L['offsetof(struct tln_unit, policy_id)']);
    for (let dh = 0; dh < L.TLN_DHOOKS; dh++) v[L['offsetof(struct tln_unit, slots)'] + dh] = slots[dh] ?? NO_SLOT;
    this.shim.mapUpdate(this.maps.units, u32(unit), v, 0);
  }

  /** the units take part: their hook kinds and scope go into the masks */
  enable(units: number[], kinds: number[], scope: { filtered: boolean; host: boolean }): void {
    const m = mask(units);
    for (const dh of kinds) this.hooks[dh] |= m;
    if (!scope.filtered) this.all |= m;
    else if (scope.host) this.host |= m;
    this.write();
  }

  /** the units stop taking part (first, before their maps go), then are free again */
  release(units: number[]): void {
    const m = mask(units);
    const keep = ~m;
    this.all &= keep;
    this.host &= keep;
    for (let dh = 0; dh < this.hooks.length; dh++) this.hooks[dh] &= keep;
    this.write();
    for (const [id, c] of [...this.cgroups]) if (c.units & m) this.setCgroup(id, c.units & keep, c.pod, c.inherit);
    // entries tln_cgroup_mkdir made from the units' pods: the units may go to another policy next
    for (const [id, e] of this.kernelMade()) if (e.units & m) this.putKernel(id, e.units & keep, e.flags);
    for (const u of units) {
      this.owners[u] = null;
      this.shim.mapUpdate(this.maps.units, u32(u), Buffer.alloc(L['sizeof(struct tln_unit)'], NO_SLOT).fill(0, 0, 4), 0);
    }
  }

  /** the cgroups a filtered policy (its units) applies to: added, removed */
  setPolicyCgroups(units: number[], add: bigint[], remove: bigint[]): void {
    const m = mask(units);
    for (const id of remove) {
      const c = this.cgroups.get(id);
      if (c) this.setCgroup(id, c.units & ~m, c.pod);
    }
    for (const id of add) {
      const c = this.entry(id);
      this.setCgroup(id, (c?.units ?? 0n) | m, c?.pod ?? false, c?.inherit);
    }
    this.write();
  }

  /** pods' own cgroups whose new children (containers) take the units at once, in the kernel: added, removed */
  setPolicyInherit(units: number[], add: bigint[], remove: bigint[]): void {
    const m = mask(units);
    for (const id of remove) {
      const c = this.cgroups.get(id);
      if (c?.inherit) this.setCgroup(id, c.units & ~m, true, true);
    }
    for (const id of add) {
      const c = this.cgroups.get(id);
      this.setCgroup(id, (c?.inherit ? c.units : 0n) | m, true, true);
      this.inheriting = true;
    }
    this.write();
  }

  /** cgroups of pods: host-scope policies skip them */
  setPods(add: bigint[], remove: bigint[]): void {
    for (const id of remove) {
      const c = this.cgroups.get(id);
      if (c) this.setCgroup(id, c.units, false);
    }
    for (const id of add) this.setCgroup(id, this.entry(id)?.units ?? 0n, true);
    this.write();
  }

  /** cgroups where any of the units applies */
  cgroupsOf(units: number[]): bigint[] {
    const m = mask(units);
    return [...this.cgroups].filter(([, c]) => c.units & m).map(([id]) => id);
  }

  /** the kernel's entry for a cgroup (tln_cgroups), made here or by tln_cgroup_mkdir; null when there is none */
  kernelEntry(id: bigint): { units: bigint; flags: number; listed: boolean } | null {
    const e = this.getKernel(id);
    if (!e) return null;
    const d = this.shim.mapLookup(this.maps.dispatch, u32(0), L['sizeof(struct tln_dispatch)'])!;
    const b = cgBit(id);
    return { ...e, listed: (d[BITS_OFF + b.byte] & b.mask) !== 0 };
  }

  /** voids every cached file verdict (mode changes and the like) */
  bump(): void {
    this.write();
  }

  /** one entry of tln_cgroups; the bits in tln_dispatch follow at the next write() (an entry is added before its bit is set, removed after) */
  private setCgroup(id: bigint, units: bigint, pod: boolean, inherit = false): void {
    // a pod's own cgroup is one only while a policy is inherited from it
    if (inherit && units === 0n) pod = inherit = false;
    if (units === 0n && !pod) {
      if (this.cgroups.delete(id)) this.shim.mapDelete(this.maps.cgroups, u64(id));
      return;
    }
    this.cgroups.set(id, inherit ? { units, pod, inherit } : { units, pod });
    this.putKernel(id, units, (pod ? CG_F_POD : 0) | (inherit ? CG_F_INHERIT : 0));
  }

  /** the kernel's tln_cgroups entry */
  private getKernel(id: bigint): { units: bigint; flags: number } | null {
    const v = this.shim.mapLookup(this.maps.cgroups, u64(id), CG_SIZE);
    return v ? { units: v.readBigUInt64LE(CG_UNITS), flags: v.readUInt32LE(CG_FLAGS) } : null;
  }

  private putKernel(id: bigint, units: bigint, flags: number): void {
    const v = Buffer.alloc(CG_SIZE);
    v.writeBigUInt64LE(units, CG_UNITS);
    v.writeUInt32LE(flags, CG_FLAGS);
    this.shim.mapUpdate(this.maps.cgroups, u64(id), v, 0);
  }

  /** this copy's entry, else one tln_cgroup_mkdir made (a new container the agent now takes over: its units stay) */
  private entry(id: bigint): { units: bigint; pod: boolean; inherit?: boolean } | undefined {
    const c = this.cgroups.get(id);
    if (c || !this.inheriting) return c;
    const e = this.getKernel(id);
    return e && e.flags & CG_F_INHERITED ? { units: e.units, pod: true } : undefined;
  }

  /** the entries of tln_cgroups this copy does not hold: tln_cgroup_mkdir's (none before a cgroup was marked inherit) */
  private kernelMade(): [bigint, { units: bigint; flags: number }][] {
    const out: [bigint, { units: bigint; flags: number }][] = [];
    if (!this.inheriting) return out;
    for (let k = this.shim.mapNextKey(this.maps.cgroups, null, 8); k; k = this.shim.mapNextKey(this.maps.cgroups, k, 8)) {
      const id = k.readBigUInt64LE(0);
      const e = this.cgroups.has(id) ? null : this.getKernel(id);
      if (e && e.flags & CG_F_INHERITED) out.push([id, e]);
    }
    return out;
  }

  /** the masks and a new epoch, in one value */
  private write(): void {
    this.epoch++;
    const v = Buffer.alloc(L['sizeof(struct tln_dispatch)']);
    v.writeBigUInt64LE(this.all, L['offsetof(struct tln_dispatch, all)']);
    v.writeBigUInt64LE(this.host, L['offsetof(struct tln_dispatch, host)']);
    this.hooks.forEach((h, i) => v.writeBigUInt64LE(h, L['offsetof(struct tln_dispatch, hooks)'] + 8 * i));
    v.writeBigUInt64LE(this.epoch, L['offsetof(struct tln_dispatch, epoch)']);
    this.hostNs.inums.forEach((n, i) => v.writeUInt32LE(n >>> 0, L['offsetof(struct tln_dispatch, host_ns)'] + 4 * i));
    // the cgroups with an entry, as bits: a task whose bit is clear skips the hash lookup
    const setBit = (id: bigint) => {
      const b = cgBit(id);
      v[BITS_OFF + b.byte] |= b.mask;
    };
    for (const id of this.cgroups.keys()) setBit(id);
    // tln_cgroup_mkdir adds entries (then their bits) while this runs: the bits of those it made
    // before, and a look after the write for one made meanwhile, whose bit the write may have
    // undone (then once more)
    const seen = new Set<bigint>();
    let missed = this.kernelMade();
    for (;;) {
      for (const [id] of missed) {
        seen.add(id);
        setBit(id);
      }
      this.shim.mapUpdate(this.maps.dispatch, u32(0), v, 0);
      missed = this.kernelMade().filter(([id]) => !seen.has(id));
      if (missed.length === 0) return;
    }
  }
}

/** where a cgroup's bit is in tln_dispatch.cgbits (bit id % TLN_CG_BITS, as tln_cg_listed reads it) */
function cgBit(id: bigint): { byte: number; mask: number } {
  const b = Number(id % BigInt(L.TLN_CG_BITS));
  return { byte: b >> 3, mask: 1 << (b & 7) };
}

export function mask(units: number[]): bigint {
  let m = 0n;
  for (const u of units) m |= 1n << BigInt(u);
  return m;
}
