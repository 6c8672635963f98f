// The dispatch state the shared hook programs read (bpf/include/tln_events.h):
// which units exist (a unit is one policy's set of hooks, at most one of each
// dispatch kind: bit n of every mask, index n of the outer image maps), which
// units have which hook kind, and which apply to which cgroup. Every change
// bumps the epoch that cached file verdicts carry, so none outlives it.
// The scope decisions themselves are the core's (the agent passes the
// cgroups a policy applies to); this only turns them into bit masks.
import { readlinkSync } from 'node:fs';
import { MAX_UNITS } from './plan.js';
import { LAYOUT } from './records.js';
import type { Shim } from './shim.js';

const L = LAYOUT;
const CG_F_POD = L.TLN_CG_F_POD;
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
  /** cgroup id -> the units of filtered policies that apply there, and whether it is a pod's */
  private readonly cgroups = new Map<bigint, { units: bigint; pod: boolean }>();

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
    for (const [id, c] of [...this.cgroups]) if (c.units & m) this.setCgroup(id, c.units & keep, c.pod);
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
      const c = this.cgroups.get(id);
      this.setCgroup(id, (c?.units ?? 0n) | m, c?.pod ?? false);
    }
    this.write();
  }

  /** cgroups of pods: host-scope policies skip them */
  setPods(add: bigint[], remove: bigint[]): void {
    for (const id of remove) {
      const c = this.cgroups.get(id);
      if (c) this.setCgroup(id, c.units, false);
    }
    for (const id of add) this.setCgroup(id, this.cgroups.get(id)?.units ?? 0n, true);
    this.write();
  }

  /** cgroups where any of the units applies */
  cgroupsOf(units: number[]): bigint[] {
    const m = mask(units);
    return [...this.cgroups].filter(([, c]) => c.units & m).map(([id]) => id);
  }

  /** voids every cached file verdict (mode changes and the like) */
  bump(): void {
    this.write();
  }

  /** one entry of tln_cgroups; the bits in tln_dispatch follow at the next write() (an entry is added before its bit is set, removed after) */
  private setCgroup(id: bigint, units: bigint, pod: boolean): void {
    if (units === 0n && !pod) {
      if (this.cgroups.delete(id)) this.shim.mapDelete(this.maps.cgroups, u64(id));
      return;
    }
    this.cgroups.set(id, { units, pod });
    const v = Buffer.alloc(L['sizeof(struct tln_cgroup)']);
    v.writeBigUInt64LE(units, L['offsetof(struct tln_cgroup, units)']);
    v.writeUInt32LE(pod ? CG_F_POD : 0, L['offsetof(struct tln_cgroup, flags)']);
    this.shim.mapUpdate(this.maps.cgroups, u64(id), v, 0);
  }

  /** the masks and a new epoch, in one value */
  private write(): void {
    this.epoch++;
    const v = Buffer.alloc(L['sizeof(struct tln_dispatch)']);
    v.writeBigUInt64LE(this.all, L['offsetof(struct tln_dispatch, all)']);
    v.writeBigUInt64LE(this.host, L['offsetof(struct tln_dispatch, host)']);
    this.hooks.forEach((h, i) => v.writeBigUInt64LE(h, L['offsetof(struct tln_dispatch, hooks)'] + 8 * i));
    v.writeBigUInt64LE(this.epoch, L['offsetof(struct tln_dispatch, epoch)']);
    // the cgroups with an entry, as bits: a task whose bit is clear skips the hash lookup
    const bits = L['offsetof(struct tln_dispatch, cgbits)'];
    for (const id of this.cgroups.keys()) {
      const b = Number(id % BigInt(L.TLN_CG_BITS));
      v[bits + (b >> 3)] |= 1 << (b & 7);
    }
    this.hostNs.inums.forEach((n, i) => v.writeUInt32LE(n >>> 0, L['offsetof(struct tln_dispatch, host_ns)'] + 4 * i));
    this.shim.mapUpdate(this.maps.dispatch, u32(0), v, 0);
  }
}

export function mask(units: number[]): bigint {
  let m = 0n;
  for (const u of units) m |= 1n << BigInt(u);
  return m;
}
