// The loader: from a policy's map image (PolicySpec, from the Wasm core's
// inspectImage) to programs running in this kernel, through the shim.
//
//   Kernel.open()      probe features, mount bpffs/tracefs/securityfs when missing,
//                      create the shared maps (ring buffer, process table, pod
//                      cgroups, pending signals), load the process sensor, fill the
//                      process table from /proc, start the ring-buffer consumer.
//   loadPolicy()       performs the policy's load plan (plan.ts: an implementation
//                      per hook, shared programs, units, attach points): creates the
//                      policy's maps from its MapSpecs and puts them in the outer
//                      maps at its units, loads the shared programs of a hook kind
//                      when the first policy needs them (one instance for every
//                      policy), then sets the dispatch masks (dispatch.ts).
//
// Without pinDir every map, program and link lives in an fd of this process, so
// nothing outlives it. With pinDir (the agent) every link is pinned (pins.ts):
// enforcement outlives a crash; handOver() removes an earlier run's pins once this
// run's programs are attached; close() removes this run's, leave() keeps them.
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { MapSpec, MapUpdate, PolicySpec } from '../core/types.js';
import { Dispatch } from './dispatch.js';
import { applyUpdates, LoadedPolicy, PERCPU_TYPES, releaseAll, u32le, type Instance } from './policy.js';
import { describeFeatures, has, probeFeatures, type Features } from './features.js';
import {
  checkKernel,
  checkProcessSensor,
  INNER_MAPS,
  MAX_UNITS,
  PROCESS_SENSOR,
  MAP_TYPE,
  REPLACED_IMAGE_MAPS,
  type InnerShape,
  type SharedPlan,
  planLoad,
  rateLimitMap,
  realHost,
  sharedMaps,
  type AttachPoint,
  type PlanHost,
} from './plan.js';
import { decodeRecord, LAYOUT, PROC_F_EXEC, PROC_F_PROCFS, REC_F, type ExecRecord, type TlnRecord } from './records.js';
import { BPF_DIR, loadShim, recordsOf, type LoadedObject, type Shim, type ShimError } from './shim.js';
import { Pins, type Generation } from './pins.js';

const BPF_NOEXIST = 1;

/** A kernel feature this host lacks (typed: callers and tests skip on it). */
export class NotSupportedError extends Error {
  readonly code = 'ENOTSUP';
  constructor(
    message: string,
    readonly feature: string,
  ) {
    super(message);
    this.name = 'NotSupportedError';
  }
}

/**
 * Why a policy did not load: `unsupported` (the load plan refused it before
 * anything was loaded: this kernel or talon's programs cannot serve it),
 * `limit` (a capacity of talon's maps is used up), `kernel` (the kernel
 * refused what the plan chose: verifier, attach, map update; a bug to report).
 */
export type LoadErrorKind = 'unsupported' | 'limit' | 'kernel';

/** A policy that cannot be loaded: what, why, and the verifier log when there is one. */
export class LoadError extends Error {
  constructor(
    message: string,
    readonly policy: string,
    readonly log?: string,
    readonly libbpf?: string,
    readonly errno?: number,
    readonly kind: LoadErrorKind = 'kernel',
  ) {
    super(message);
    this.name = 'LoadError';
  }
}

export interface KernelOptions {
  /** folder with the BPF objects (default bpf/.output of the repository) */
  bpfDir?: string;
  /** ring buffer size in bytes (power of 2, multiple of the page size); default 4 MiB */
  ringBytes?: number;
  /** load the process sensor (exec/fork/exit); default true */
  processSensor?: boolean;
  /** fill the process table from /proc; default true */
  procfs?: boolean;
  /** pin every link under this bpffs directory (pins.ts): enforcement survives this process */
  pinDir?: string;
}

/** why libbpf could not attach a uprobe, in the user's terms */
function uprobeAttachError(path: string, symbol: string, se: ShimError, offset = 0, refCtr = 0): string {
  const where = symbol ? `${symbol}${offset ? `+0x${offset.toString(16)}` : ''}` : `offset 0x${offset.toString(16)}`;
  if (se.code === 'ENOENT') {
    if (!existsSync(path)) return `uprobe binary ${path} not found`;
    if (symbol) return `symbol "${symbol}" not found in ${path} (neither its .dynsym nor its .symtab has it)`;
  }
  // the kernel refuses an offset past the file's end, and a semaphore another uprobe there counts differently
  return `attach uprobe ${path}:${where}${refCtr ? ` (semaphore at file offset 0x${refCtr.toString(16)})` : ''}: ${se.message}${se.libbpf ? `\n${se.libbpf}` : ''}`;
}

/** the agent's view of the kernel: shared maps, the process sensor, loaded policies */
export class Kernel {
  readonly cgroupRoot: string;
  /** processes found in /proc at open (procfs: true) */
  readonly procfs: ExecRecord[] = [];
  private readonly shared = new Map<string, number>();
  private readonly sharedTypes = new Map<string, number>();
  private readonly procInstances: Instance[] = [];
  private readonly loaded = new Set<LoadedPolicy>();
  private readonly subscribers = new Set<(r: TlnRecord[]) => void>();
  private readonly rawSubscribers = new Set<(r: Buffer[]) => void>();
  private readonly podCgroups = new Set<bigint>();
  /** shared program instances by SharedPlan.key, with the number of policies using them */
  private readonly groups = new Map<string, { inst: Instance; refs: number }>();
  private dispatchState: Dispatch | null = null;
  private ring = 0;
  private closed = false;
  /** the pins of this run (opts.pinDir), null when nothing is pinned */
  pins: Pins | null = null;
  // a process that ends without stopping (a crash) leaves pinned enforcement on
  private readonly exitHandler = () => (this.pins ? this.leave() : this.close());
  private readonly unpin = (l: number) => this.pins?.unpin(l);

  private constructor(
    readonly shim: Shim,
    readonly features: Features,
    readonly bpfDir: string,
  ) {
    this.cgroupRoot = features.cgroup2 ?? '';
  }

  /** Opens the kernel side; refuses clearly when not root or BPF is unavailable. */
  static async open(opts: KernelOptions = {}): Promise<Kernel> {
    if (process.platform !== 'linux') throw new NotSupportedError(`talon's kernel side needs Linux (this is ${process.platform})`, 'linux');
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      throw new NotSupportedError('loading BPF programs needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN): run as root', 'root');
    }
    const shim = loadShim();
    // mounts a fresh machine may lack
    const mounts: [fs: 'bpf' | 'tracefs' | 'securityfs', dir: string][] = [
      ['bpf', '/sys/fs/bpf'],
      ['tracefs', '/sys/kernel/tracing'],
      ['securityfs', '/sys/kernel/security'],
    ];
    for (const [fs, dir] of mounts) {
      try {
        shim.ensureMount(fs, dir);
      } catch (e) {
        if (fs === 'tracefs') throw new NotSupportedError(`cannot mount tracefs on ${dir}: ${(e as Error).message}`, 'tracefs');
      }
    }
    const features = probeFeatures(shim);
    const refused = checkKernel(features);
    if (refused) throw new NotSupportedError(refused.reason, String(refused.feature));
    const bpfDir = opts.bpfDir ?? BPF_DIR();
    if (!existsSync(join(bpfDir, PROCESS_SENSOR.object))) {
      throw new Error(`BPF objects not built: ${bpfDir}/${PROCESS_SENSOR.object} is missing (run: bash scripts/build-native.sh)`);
    }
    const k = new Kernel(shim, features, bpfDir);
    try {
      if (opts.pinDir) k.pins = new Pins(shim, opts.pinDir);
      k.createShared(opts.ringBytes ?? 4 << 20);
      if (opts.processSensor !== false) k.loadProcessSensor();
      if (opts.procfs !== false) k.fillFromProc();
      k.ring = shim.ringbufOpen(k.shared.get('tln_events')!, (data, ends) => k.dispatch(recordsOf(data, ends)));
    } catch (e) {
      k.close();
      throw e;
    }
    process.once('exit', k.exitHandler);
    return k;
  }

  isSharedMap(name: string): boolean {
    return this.shared.has(name);
  }

  private createShared(ringBytes: number): void {
    for (const d of sharedMaps(ringBytes)) {
      this.shared.set(d.name, this.shim.mapCreate(d.type, d.name, d.keySize, d.valueSize, d.maxEntries, d.flags));
      this.sharedTypes.set(d.name, d.type);
    }
    // the outer maps: a template inner map gives the kernel their shape
    for (const sh of INNER_MAPS) {
      const tmpl = this.shim.mapCreate(sh.type, sh.image, sh.keySize, sh.valueSize, 1, sh.flags);
      try {
        this.shared.set(sh.outer, this.shim.mapCreate(MAP_TYPE.ARRAY_OF_MAPS, sh.outer, 4, 4, MAX_UNITS, 0, tmpl));
        this.sharedTypes.set(sh.outer, MAP_TYPE.ARRAY_OF_MAPS);
      } finally {
        this.shim.closeFd(tmpl);
      }
    }
    this.dispatchState = new Dispatch(this.shim, {
      dispatch: this.shared.get('tln_dispatch')!,
      units: this.shared.get('tln_units')!,
      cgroups: this.shared.get('tln_cgroups')!,
    });
  }

  /** @internal the dispatch state (units, masks, cgroups) */
  get dispatcher(): Dispatch {
    if (!this.dispatchState || this.closed) throw new Error('kernel is closed');
    return this.dispatchState;
  }

  private loadProcessSensor(): void {
    const refused = checkProcessSensor(this.features);
    if (refused) throw new NotSupportedError(refused.reason, String(refused.feature));
    const path = join(this.bpfDir, PROCESS_SENSOR.object);
    let obj: LoadedObject;
    try {
      obj = this.shim.objLoad(path, { name: PROCESS_SENSOR.name, reuse: Object.fromEntries(this.shared) });
    } catch (e) {
      const se = e as ShimError;
      throw new LoadError(`process sensor: ${se.message}`, '(process sensor)', se.log, se.libbpf, se.errno);
    }
    const inst: Instance = { object: PROCESS_SENSOR.object, obj, links: [] };
    this.procInstances.push(inst);
    for (const prog of Object.keys(obj.progs)) {
      const l = this.shim.attach(obj.handle, prog);
      inst.links.push(l);
      this.pins?.pin(l, prog);
    }
  }

  /** processes older than the agent: the table gets them, marked procFS */
  private fillFromProc(): void {
    const fd = this.shared.get('tln_procs')!;
    const V = LAYOUT['sizeof(struct tln_proc)'];
    const pathOff = LAYOUT['offsetof(struct tln_proc, path)'];
    let cg2dev = -1;
    try {
      cg2dev = this.cgroupRoot ? statSync(this.cgroupRoot).dev : -1;
    } catch {
      /* no cgroup2 */
    }
    for (const ent of readdirSync('/proc')) {
      if (!/^\d+$/.test(ent)) continue;
      const pid = Number(ent);
      let exe: string;
      try {
        exe = readlinkSync(`/proc/${pid}/exe`);
      } catch {
        continue; // kernel thread, or gone
      }
      let ppid = 0,
        uid = 0,
        cwd = '',
        args: string[] = [],
        cgroupId = 0n;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) || 0;
        const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        uid = m ? Number(m[1]) : 0;
        cwd = readlinkSync(`/proc/${pid}/cwd`);
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        args = cmd.length ? cmd.replace(/\0$/, '').split('\0') : [];
        const cg = /^0::(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
        if (cg && cg2dev >= 0) cgroupId = BigInt(statSync(join(this.cgroupRoot, cg[1]), { bigint: true }).ino);
      } catch {
        /* raced with exit: keep what we have */
      }
      const v = Buffer.alloc(V);
      v.writeUInt32LE(ppid, 0);
      v.writeUInt32LE(PROC_F_PROCFS | PROC_F_EXEC, 4);
      procBaseline(pid, v);
      const p = Buffer.from(exe).subarray(0, LAYOUT.TLN_BIN_MAX - 1);
      v.writeUInt16LE(p.length, 16);
      p.copy(v, pathOff);
      try {
        this.shim.mapUpdate(fd, u32le(pid), v, BPF_NOEXIST);
      } catch {
        /* already there (exec'd meanwhile) or table full */
      }
      this.procfs.push({
        type: 'exec',
        ktime: 0n,
        flags: REC_F.PROCFS,
        procfs: true,
        pid,
        tid: pid,
        ppid,
        uid,
        cgroupId,
        startKtime: 0n,
        nsPid: 0,
        binary: exe,
        args,
        cwd,
      });
    }
  }

  private dispatch(bufs: Buffer[]): void {
    for (const cb of this.rawSubscribers) {
      try {
        cb(bufs);
      } catch (e) {
        console.error('talon: raw record subscriber failed:', e);
      }
    }
    if (!this.subscribers.size) return;
    const recs: TlnRecord[] = [];
    for (const b of bufs) {
      const r = decodeRecord(b);
      if (r) recs.push(r);
    }
    for (const cb of this.subscribers) {
      try {
        cb(recs);
      } catch (e) {
        console.error('talon: record subscriber failed:', e);
      }
    }
  }

  /** decoded records, in batches; returns an unsubscribe function */
  onRecords(cb: (records: TlnRecord[]) => void): () => void {
    this.subscribers.add(cb);
    return () => this.subscribers.delete(cb);
  }

  /** raw records (tln_events.h bytes), in batches */
  onRawRecords(cb: (records: Buffer[]) => void): () => void {
    this.rawSubscribers.add(cb);
    return () => this.rawSubscribers.delete(cb);
  }

  /** records dropped because the ring buffer was full */
  lostRecords(): bigint {
    const v = this.shim.mapLookup(this.shared.get('tln_lost')!, u32le(0), 8);
    return v ? v.readBigUInt64LE(0) : 0n;
  }

  /** replaces the set of cgroup ids that belong to any pod (scope "in no pod": tln_cgroups entries marked pod) */
  setPodCgroups(ids: bigint[]): void {
    const next = new Set(ids);
    const add = [...next].filter((id) => !this.podCgroups.has(id));
    const remove = [...this.podCgroups].filter((id) => !next.has(id));
    this.dispatcher.setPods(add, remove);
    this.podCgroups.clear();
    for (const id of next) this.podCgroups.add(id);
  }

  /** applies map updates the core wrote to the shared maps (by name, no layout known here) */
  applyMapUpdates(updates: MapUpdate[]): void {
    if (this.closed) throw new Error('kernel is closed');
    applyUpdates(
      this.shim,
      (name) => {
        const fd = this.shared.get(name);
        return fd === undefined ? undefined : { fd, type: this.sharedTypes.get(name) ?? 0 };
      },
      updates,
      'shared maps',
    );
  }

  addPodCgroups(ids: bigint[]): void {
    this.setPodCgroups([...this.podCgroups, ...ids]);
  }

  removePodCgroups(ids: bigint[]): void {
    const rm = new Set(ids);
    this.setPodCgroups([...this.podCgroups].filter((i) => !rm.has(i)));
  }

  getPodCgroups(): bigint[] {
    return [...this.podCgroups];
  }

  policies(): LoadedPolicy[] {
    return [...this.loaded];
  }

  /** kernel memory of the shared maps, the shared programs and the process sensor */
  memoryBytes(): number {
    let t = 0;
    for (const fd of this.shared.values()) t += this.shim.fdMemlock(fd);
    for (const inst of [...this.procInstances, ...[...this.groups.values()].map((g) => g.inst)]) {
      for (const [n, fd] of Object.entries(inst.obj.maps)) if (!this.shared.has(n) && fd >= 0) t += this.shim.fdMemlock(fd);
      for (const fd of Object.values(inst.obj.progs)) t += this.shim.fdMemlock(fd);
    }
    return t;
  }

  /**
   * Loads a policy: its image maps behind its units in the outer maps, the
   * shared programs of its hook kinds (loaded once, for every policy), its own
   * instances for generic hooks, then its bits in the dispatch masks. Throws
   * LoadError (verifier log attached) for anything this kernel cannot serve:
   * never a silent no-op.
   */
  loadPolicy(spec: PolicySpec, policyId: number, host: PlanHost = realHost): LoadedPolicy {
    if (this.closed) throw new Error('kernel is closed');
    const fail = (msg: string, e?: ShimError, kind: LoadErrorKind = 'kernel'): never => {
      throw new LoadError(`policy ${spec.name}: ${msg}`, spec.name, e?.log, e?.libbpf, e?.errno, kind);
    };
    if (!Number.isInteger(policyId) || policyId < 0 || policyId > 0xffffffff) fail(`policy id ${policyId} is not a u32`, undefined, 'limit');
    const plan = planLoad(spec, this.features, host);
    if (!plan.ok) return fail(plan.reason, undefined, 'unsupported');
    const owner = {};
    const units = this.dispatcher.alloc(owner, plan.units.length);
    if (!units) {
      return fail(
        `no free dispatch unit: ${this.dispatcher.used()} of ${MAX_UNITS} are in use (a unit per policy, one more per repeated hook kind)`,
        undefined,
        'limit',
      );
    }
    const mapFds = new Map<string, number>();
    const instances: Instance[] = [];
    const groups: string[] = [];
    try {
      // 1. the image maps, behind each of its units
      for (const m of plan.maps) {
        if (REPLACED_IMAGE_MAPS[m.name]) continue;
        mapFds.set(
          m.name,
          this.createImageMap(
            spec,
            m,
            INNER_MAPS.find((x) => x.image === m.name)!,
          ),
        );
      }
      const rl = rateLimitMap(plan.maps);
      mapFds.set(rl.name, this.shim.mapCreate(rl.type, rl.name, rl.keySize, rl.valueSize, rl.maxEntries, rl.flags));
      units.forEach((u, i) => {
        for (const sh of INNER_MAPS) {
          const fd = mapFds.get(sh.image);
          if (fd !== undefined) this.shim.mapUpdate(this.shared.get(sh.outer)!, u32le(u), u32le(fd), 0);
        }
        this.dispatcher.setUnit(u, policyId, plan.units[i]);
      });
      // 2. the shared programs of its hook kinds
      for (const sp of plan.shared) {
        this.acquireGroup(sp, fail);
        groups.push(sp.key);
      }
      // 3. its own instances (generic hooks), reading its maps through its first unit
      const reuse: Record<string, number> = Object.fromEntries(this.shared);
      for (const ip of plan.instances) {
        let obj: LoadedObject;
        try {
          obj = this.shim.objLoad(join(this.bpfDir, ip.object), {
            name: ip.name,
            rodata: { ...ip.rodata, tln_gen_unit: units[0] },
            reuse,
            programs: ip.programs,
            ...(ip.attachTargets ? { attachTargets: ip.attachTargets } : {}),
          });
        } catch (e) {
          const se = e as ShimError;
          return fail(`load ${ip.object} (${ip.programs.join(', ')}): ${se.message}${se.libbpf ? `\n${se.libbpf}` : ''}`, se);
        }
        const inst: Instance = { object: ip.object, obj, links: [] };
        instances.push(inst);
        for (const { program, hook, at } of ip.attach) {
          try {
            const l = this.attachOne(obj, program, at);
            if (l >= 0) inst.links.push(l);
          } catch (e) {
            const se = e as ShimError;
            if (at.kind === 'uprobe') return fail(`hook ${hook}: ${uprobeAttachError(at.path, at.symbol, se, at.offset, at.refCtrOffset)}`, se);
            return fail(`attach ${program}: ${se.message}`, se);
          }
        }
      }
      // 4. live: its bits in the masks
      this.dispatcher.enable(units, [...new Set(plan.shared.map((x) => x.dhook))], { filtered: spec.filtered, host: spec.host });
    } catch (e) {
      this.dropUnits(units);
      for (const g of groups) this.releaseGroup(g);
      releaseAll(this.shim, instances, mapFds, this.unpin);
      if (e instanceof LoadError) throw e;
      const se = e as ShimError;
      throw new LoadError(`policy ${spec.name}: ${se.message}`, spec.name, se.log, se.libbpf, se.errno);
    }
    const lp = new LoadedPolicy(this, policyId, spec, mapFds, instances, plan.hooks, units, groups);
    this.loaded.add(lp);
    return lp;
  }

  /** the units leave the masks, their outer entries go, they are free again */
  private dropUnits(units: number[]): void {
    if (!this.dispatchState) return;
    this.dispatchState.release(units);
    for (const u of units) {
      for (const sh of INNER_MAPS) {
        try {
          this.shim.mapDelete(this.shared.get(sh.outer)!, u32le(u));
        } catch {
          /* not set */
        }
      }
    }
  }

  /** the shared instance of a plan's hook kind: loaded and attached by its first user */
  private acquireGroup(sp: SharedPlan, fail: (msg: string, e?: ShimError) => never): void {
    const g = this.groups.get(sp.key);
    if (g) {
      g.refs++;
      return;
    }
    let obj: LoadedObject;
    try {
      obj = this.shim.objLoad(join(this.bpfDir, sp.object), {
        name: sp.name,
        rodata: sp.rodata,
        reuse: Object.fromEntries(this.shared),
        programs: sp.programs,
      });
    } catch (e) {
      const se = e as ShimError;
      return fail(`load ${sp.object} (${sp.programs.join(', ')}): ${se.message}${se.libbpf ? `\n${se.libbpf}` : ''}`, se);
    }
    const inst: Instance = { object: sp.object, obj, links: [] };
    try {
      for (const { program, at } of sp.attach) {
        const l = this.attachOne(obj, program, at);
        if (l >= 0) inst.links.push(l);
      }
    } catch (e) {
      releaseAll(this.shim, [inst], new Map(), this.unpin);
      const se = e as ShimError;
      return fail(`attach ${sp.object}: ${se.message}`, se);
    }
    this.groups.set(sp.key, { inst, refs: 1 });
  }

  private releaseGroup(key: string): void {
    const g = this.groups.get(key);
    if (!g || --g.refs > 0) return;
    this.groups.delete(key);
    releaseAll(this.shim, [g.inst], new Map(), this.unpin);
  }

  /** @internal the programs of a shared instance */
  groupPrograms(key: string): { object: string; name: string; fd: number }[] {
    const g = this.groups.get(key);
    return g ? Object.entries(g.inst.obj.progs).map(([name, fd]) => ({ object: g.inst.object, name, fd })) : [];
  }

  /** @internal a policy unloads itself: masks first, then its maps and programs */
  unloadPolicy(p: LoadedPolicy, units: number[], groups: string[], instances: Instance[], mapFds: Map<string, number>): void {
    this.dropUnits(units);
    for (const g of groups) this.releaseGroup(g);
    releaseAll(this.shim, instances, mapFds, this.unpin);
    this.loaded.delete(p);
  }

  /** one attach point of the plan, pinned when this run pins; the link, -1 for an optional tracepoint this kernel does not have */
  private attachOne(obj: LoadedObject, program: string, at: AttachPoint): number {
    const l = this.attachRaw(obj, program, at);
    if (l >= 0) this.pins?.pin(l, program);
    return l;
  }

  private attachRaw(obj: LoadedObject, program: string, at: AttachPoint): number {
    switch (at.kind) {
      case 'tracepoint':
        if (at.optional && !existsSync(join('/sys/kernel/tracing/events', at.category, at.name))) return -1;
        return this.shim.attachTracepoint(obj.handle, program, at.category, at.name);
      case 'cgroup':
        return this.shim.attachCgroup(obj.handle, program, this.cgroupRoot);
      case 'uprobe':
        return this.shim.attachUprobe(obj.handle, program, at.path, at.symbol, at.retprobe === true, -1, at.offset ?? 0, at.refCtrOffset ?? 0);
      case 'kprobe':
        return this.shim.attachKprobe(obj.handle, program, at.function, at.retprobe === true);
      case 'auto':
        return this.shim.attach(obj.handle, program);
    }
  }

  /** creates one image map in the shape of its kind (keys zero-padded to it) and fills it (batch update, else one by one) */
  private createImageMap(spec: PolicySpec, m: MapSpec, shape: InnerShape): number {
    let fd: number;
    const ksz = shape.keySize;
    try {
      fd = this.shim.mapCreate(shape.type, m.name, ksz, m.valueSize, Math.max(1, m.maxEntries), shape.flags);
    } catch (e) {
      throw new LoadError(`policy ${spec.name}: ${(e as Error).message}`, spec.name, undefined, undefined, (e as ShimError).errno);
    }
    if (!m.count) return fd;
    try {
      const esz = m.keySize + m.valueSize;
      const percpu = PERCPU_TYPES.has(m.type);
      const ncpu = percpu ? this.shim.numPossibleCpus() : 1;
      const stride = percpu ? Math.ceil(m.valueSize / 8) * 8 : m.valueSize;
      const keys = Buffer.alloc(m.count * ksz);
      const vals = Buffer.alloc(m.count * stride * ncpu);
      const src = Buffer.from(m.entries.buffer, m.entries.byteOffset, m.entries.byteLength);
      for (let i = 0; i < m.count; i++) {
        src.copy(keys, i * ksz, i * esz, i * esz + m.keySize);
        for (let c = 0; c < ncpu; c++) src.copy(vals, (i * ncpu + c) * stride, i * esz + m.keySize, (i + 1) * esz);
      }
      let done = false;
      if (m.type !== MAP_TYPE.LPM_TRIE) {
        try {
          done = this.shim.mapUpdateBatch(fd, keys, vals, m.count) === m.count;
        } catch {
          done = false;
        }
      }
      if (!done) {
        const vsz = stride * ncpu;
        for (let i = 0; i < m.count; i++) {
          this.shim.mapUpdate(fd, keys.subarray(i * ksz, (i + 1) * ksz), vals.subarray(i * vsz, (i + 1) * vsz), 0);
        }
      }
    } catch (e) {
      this.shim.closeFd(fd);
      throw new LoadError(`policy ${spec.name}: fill map ${m.name}: ${(e as Error).message}`, spec.name);
    }
    return fd;
  }

  /** unloads every policy, stops the consumer, frees the shared maps; idempotent */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    process.removeListener('exit', this.exitHandler);
    for (const p of [...this.loaded]) p.unload();
    for (const g of this.groups.values()) releaseAll(this.shim, [g.inst], new Map(), this.unpin);
    this.groups.clear();
    this.dispatchState = null;
    if (this.ring) this.shim.ringbufClose(this.ring);
    this.ring = 0;
    releaseAll(this.shim, this.procInstances, new Map(), this.unpin);
    for (const fd of this.shared.values()) this.shim.closeFd(fd);
    this.shared.clear();
    this.subscribers.clear();
    this.rawSubscribers.clear();
    this.pins?.removeOwn();
  }

  /**
   * Stops without detaching: the pinned links keep enforcing (with the maps they hold)
   * after this process; the next agent hands over from them. Links that could not be
   * pinned end with the process. Idempotent; the kernel is closed for this process.
   */
  leave(): void {
    if (this.closed) return;
    if (!this.pins) return this.close();
    this.closed = true;
    process.removeListener('exit', this.exitHandler);
    if (this.ring) this.shim.ringbufClose(this.ring);
    this.ring = 0;
    const all = [...this.procInstances, ...[...this.groups.values()].map((g) => g.inst), ...[...this.loaded].flatMap((p) => p.instancesForLeave())];
    for (const inst of all) for (const l of inst.links) this.shim.linkRelease(l);
    this.subscribers.clear();
    this.rawSubscribers.clear();
  }

  /** Removes the pins of earlier agent runs once this run's programs are attached (the overlap ends). */
  handOver(): Generation[] {
    return this.pins?.handOver() ?? [];
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** the features as readable lines */
  describe(): string[] {
    return describeFeatures(this.features);
  }

  /** true when the named feature is there (for callers that pick behaviour) */
  has(name: Parameters<typeof has>[1]): boolean {
    return has(this.features, name);
  }
}

/** Tetragon's namespace types in order (Uts 0 .. User 9) as /proc/PID/ns names */
const PROC_NS = ['uts', 'ipc', 'mnt', 'pid', 'pid_for_children', 'net', 'time', 'time_for_children', 'cgroup', 'user'];

/**
 * A process older than the agent: its pid in its namespace, capability sets and
 * namespaces from /proc into its process table entry v (what the process sensor
 * records at fork / exec: the *Changes baseline, isNamespacePID of ancestors).
 */
function procBaseline(pid: number, v: Buffer): void {
  try {
    const st = readFileSync(`/proc/${pid}/status`, 'utf8');
    const nspid = /^NSpid:[ \t]+([\d \t]+)$/m.exec(st);
    if (nspid) v.writeUInt32LE(Number(nspid[1].trim().split(/\s+/).pop()), LAYOUT['offsetof(struct tln_proc, ns_pid)']);
    const caps = LAYOUT['offsetof(struct tln_proc, caps)'];
    ['CapPrm', 'CapEff', 'CapInh'].forEach((k, i) => {
      const m = new RegExp(`^${k}:\\s+([0-9a-f]+)$`, 'm').exec(st);
      if (m) v.writeBigUInt64LE(BigInt('0x' + m[1]), caps + 8 * i);
    });
    const ns = LAYOUT['offsetof(struct tln_proc, ns)'];
    PROC_NS.forEach((n, t) => {
      try {
        const m = /\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/${n}`));
        if (m) v.writeUInt32LE(Number(m[1]), ns + 4 * t);
      } catch {
        /* the kernel has no such namespace type */
      }
    });
  } catch {
    /* raced with exit */
  }
}
