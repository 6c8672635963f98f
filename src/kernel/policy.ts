// One policy in the kernel (what Kernel.loadPolicy returns): its image maps
// (behind its units in the shared outer maps), the shared programs serving its
// hooks, its own instances (generic hooks). A run-time mode change arrives as
// the core's map updates, applied by map name (applyMapUpdates); the pods it
// applies to go to the shared cgroup -> units map (dispatch.ts).
import type { MapUpdate, PolicySpec } from '../core/types.js';
import { modeUpdates } from '../core/index.js';
import type { Kernel } from './loader.js';
import { MAP_TYPE } from './plan.js';
import type { LoadedObject, Shim } from './shim.js';

export const PERCPU_TYPES = new Set<number>([MAP_TYPE.PERCPU_HASH, MAP_TYPE.PERCPU_ARRAY, MAP_TYPE.LRU_PERCPU_HASH]);

export interface SelectorStats {
  post: bigint;
  enforce: bigint;
  monitor: bigint;
  nopost: bigint;
}

/** @internal one loaded BPF object and its links */
export interface Instance {
  object: string;
  obj: LoadedObject;
  links: number[];
}

export const u32le = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

/** A map an update may name: its fd and BPF map type. */
export interface UpdatableMap {
  fd: number;
  type: number;
}

/**
 * Applies the core's updates in order, each to the map it names (`maps`); a
 * per-CPU map gets the value on every CPU. Throws on an unknown map name
 * before touching any map.
 */
export function applyUpdates(shim: Shim, maps: (name: string) => UpdatableMap | undefined, updates: MapUpdate[], owner: string): void {
  const targets = updates.map((u) => {
    const m = maps(u.map);
    if (!m) throw new Error(`${owner}: no map ${u.map} for a map update`);
    return m;
  });
  let ncpu = 0;
  updates.forEach((u, i) => {
    const { fd, type } = targets[i];
    const key = Buffer.from(u.key.buffer, u.key.byteOffset, u.key.byteLength);
    if (u.value === null) {
      shim.mapDelete(fd, key);
      return;
    }
    let value = Buffer.from(u.value.buffer, u.value.byteOffset, u.value.byteLength);
    if (PERCPU_TYPES.has(type)) {
      ncpu ||= shim.numPossibleCpus();
      const stride = Math.ceil(value.length / 8) * 8;
      const all = Buffer.alloc(stride * ncpu);
      for (let c = 0; c < ncpu; c++) value.copy(all, c * stride);
      value = all;
    }
    shim.mapUpdate(fd, key, value, 0);
  });
}

/** One policy in the kernel: its maps, program instances and links. */
export class LoadedPolicy {
  /** catalog sensors serving its hooks, e.g. ['tln_tp_file', 'tln_cgroup_sock'] */
  readonly sensors: string[];
  private closed = false;

  constructor(
    private readonly kernel: Kernel,
    readonly id: number,
    readonly spec: PolicySpec,
    private readonly mapFds: Map<string, number>,
    private readonly instances: Instance[],
    readonly hookSensors: { slot: number; name: string; sensor: string }[],
    /** its dispatch units (bits of the masks, indexes of the outer maps) */
    readonly units: number[] = [],
    /** the shared instances serving its hooks (Kernel groups) */
    private readonly groups: string[] = [],
  ) {
    this.sensors = [...new Set(hookSensors.map((h) => h.sensor))];
  }

  get name(): string {
    return this.spec.name;
  }

  private fd(name: string): number {
    if (this.closed) throw new Error(`policy ${this.spec.name} (id ${this.id}) is unloaded`);
    const fd = this.mapFds.get(name);
    if (fd === undefined) throw new Error(`policy ${this.spec.name}: no map ${name}`);
    return fd;
  }

  /** kernel memory of its own maps (memlock): its image maps and those of its own instances */
  mapBytes(): number {
    const shim = this.kernel.shim;
    let total = 0;
    for (const fd of this.mapFds.values()) total += shim.fdMemlock(fd);
    for (const inst of this.instances) {
      for (const [name, fd] of Object.entries(inst.obj.maps)) {
        if (this.mapFds.has(name) || this.kernel.isSharedMap(name) || fd < 0) continue;
        total += shim.fdMemlock(fd);
      }
    }
    return total;
  }

  /** kernel memory of its maps and its own programs (memlock); shared maps and shared programs excluded */
  memoryBytes(): number {
    const shim = this.kernel.shim;
    let total = 0;
    for (const fd of this.mapFds.values()) total += shim.fdMemlock(fd);
    for (const inst of this.instances) {
      for (const [name, fd] of Object.entries(inst.obj.maps)) {
        if (this.mapFds.has(name) || this.kernel.isSharedMap(name) || fd < 0) continue;
        total += shim.fdMemlock(fd);
      }
      for (const fd of Object.values(inst.obj.progs)) total += shim.fdMemlock(fd);
    }
    return total;
  }

  /** the mode the programs read at every hit: 0 enforce, 1 monitor, 2 monitor_only (struct tln_policy_conf.mode, byte 0) */
  mode(): number {
    const v = this.kernel.shim.mapLookup(this.fd('tln_policy'), u32le(0), 8);
    return v ? v.readUInt8(0) : -1;
  }

  /** applies map updates the core wrote (modeUpdates, podFilterUpdates ...) to this policy's maps */
  applyMapUpdates(updates: MapUpdate[]): void {
    if (this.closed) throw new Error(`policy ${this.spec.name} (id ${this.id}) is unloaded`);
    const types = new Map(this.spec.maps.map((m) => [m.name, m.type]));
    applyUpdates(
      this.kernel.shim,
      (name) => {
        const fd = this.mapFds.get(name);
        return fd === undefined ? undefined : { fd, type: types.get(name) ?? 0 };
      },
      updates,
      `policy ${this.spec.name}`,
    );
  }

  /** changes the run-time mode in place (no reload), as the core decides it: the next hit sees it */
  setMode(mode: 0 | 1 | 'enforce' | 'monitor'): void {
    const name = mode === 0 ? 'enforce' : mode === 1 ? 'monitor' : mode;
    if (name !== 'enforce' && name !== 'monitor') throw new RangeError(`mode ${String(mode)}: expected 0 (enforce) or 1 (monitor)`);
    this.applyMapUpdates(modeUpdates(this.spec, name));
    this.kernel.dispatcher.bump();
  }

  /** adds/removes cgroup ids of the policy's pods (the core's scope decision) in the shared cgroup -> units map */
  setFilterCgroups(add: bigint[], remove: bigint[]): void {
    if (this.closed) throw new Error(`policy ${this.spec.name} (id ${this.id}) is unloaded`);
    this.kernel.dispatcher.setPolicyCgroups(this.units, add, remove);
  }

  /** adds/removes pods' own cgroups: a cgroup made in one (a new container) takes the policy's units in the kernel (tln_cgroup_mkdir) */
  setInheritCgroups(add: bigint[], remove: bigint[]): void {
    if (this.closed) throw new Error(`policy ${this.spec.name} (id ${this.id}) is unloaded`);
    this.kernel.dispatcher.setPolicyInherit(this.units, add, remove);
  }

  /** cgroup ids the policy's pod filter holds */
  filterCgroups(): bigint[] {
    if (this.closed) throw new Error(`policy ${this.spec.name} (id ${this.id}) is unloaded`);
    return this.kernel.dispatcher.cgroupsOf(this.units);
  }

  /** counters per global selector index; the last entry counts hooks without selectors */
  stats(): SelectorStats[] {
    const fd = this.fd('tln_stats');
    const info = this.kernel.shim.mapInfo(fd);
    const percpu = PERCPU_TYPES.has(info.type);
    const ncpu = percpu ? this.kernel.shim.numPossibleCpus() : 1;
    const stride = percpu ? Math.ceil(info.valueSize / 8) * 8 : info.valueSize;
    const out: SelectorStats[] = [];
    for (let i = 0; i < info.maxEntries; i++) {
      const v = this.kernel.shim.mapLookup(fd, u32le(i), stride * ncpu);
      const s: SelectorStats = { post: 0n, enforce: 0n, monitor: 0n, nopost: 0n };
      if (v) {
        for (let c = 0; c < ncpu; c++) {
          const o = c * stride;
          s.post += v.readBigUInt64LE(o);
          s.enforce += v.readBigUInt64LE(o + 8);
          s.monitor += v.readBigUInt64LE(o + 16);
          s.nopost += v.readBigUInt64LE(o + 24);
        }
      }
      out.push(s);
    }
    return out;
  }

  /** the programs serving it: the shared ones of its hook kinds (they serve other policies too), then its own */
  programs(): { object: string; name: string; fd: number; shared: boolean }[] {
    return [
      ...this.groups.flatMap((g) => this.kernel.groupPrograms(g).map((p) => ({ ...p, shared: true }))),
      ...this.instances.flatMap((i) => Object.entries(i.obj.progs).map(([name, fd]) => ({ object: i.object, name, fd, shared: false }))),
    ];
  }

  /** @internal its own instances (Kernel.leave releases their links without detaching) */
  instancesForLeave(): Instance[] {
    return this.instances;
  }

  /** leaves the masks, then frees its maps, its instances and its share of the shared programs */
  unload(): void {
    if (this.closed) return;
    this.closed = true;
    this.kernel.unloadPolicy(this, this.units, this.groups, this.instances, this.mapFds);
  }
}

/** destroys the links (`unpin` first removes a link's pin, else it would stay attached), closes the objects and maps */
export function releaseAll(shim: Shim, instances: Instance[], mapFds: Map<string, number>, unpin?: (link: number) => void): void {
  for (const inst of instances)
    for (const l of inst.links) {
      unpin?.(l);
      shim.linkDestroy(l);
    }
  for (const inst of instances) shim.objClose(inst.obj.handle);
  for (const fd of mapFds.values()) shim.closeFd(fd);
  instances.length = 0;
  mapFds.clear();
}
