// The loader: from a policy's map image (PolicySpec, from the Wasm core's
// inspectImage) to programs running in this kernel, through the shim.
//
//   Kernel.open()      probe features, mount bpffs/tracefs/securityfs when missing,
//                      create the shared maps (ring buffer, process table, pod
//                      cgroups, pending signals), load the process sensor, fill the
//                      process table from /proc, start the ring-buffer consumer.
//   loadPolicy()       performs the policy's load plan (plan.ts: an implementation
//                      per hook, instances, rodata, attach points): creates the
//                      policy's maps from its MapSpecs, loads each instance (reusing
//                      those map fds; the policy id as rodata), attaches.
//
// No pinning: every map, program and link lives in an fd of this process, so
// nothing outlives the agent; close()/unload() release them early.
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { MapSpec, MapUpdate, PolicySpec } from '../core/types.js';
import { podCgroupUpdates } from '../core/index.js';
import { applyUpdates, LoadedPolicy, PERCPU_TYPES, releaseAll, u32le, type Instance } from './policy.js';
import { describeFeatures, has, probeFeatures, type Features } from './features.js';
import {
  checkKernel,
  checkProcessSensor,
  PROCESS_SENSOR,
  MAP_TYPE,
  planLoad,
  rateLimitMap,
  realHost,
  sharedMaps,
  type AttachPoint,
  type PlanHost,
} from './plan.js';
import { decodeRecord, LAYOUT, PROC_F_PROCFS, REC_F, type ExecRecord, type TlnRecord } from './records.js';
import { BPF_DIR, loadShim, type LoadedObject, type Shim, type ShimError } from './shim.js';

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

/** A policy that cannot be loaded: what, why, and the verifier log when there is one. */
export class LoadError extends Error {
  constructor(
    message: string,
    readonly policy: string,
    readonly log?: string,
    readonly libbpf?: string,
    readonly errno?: number,
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
}

/** why libbpf could not attach a uprobe, in the user's terms */
function uprobeAttachError(path: string, symbol: string, se: ShimError): string {
  if (se.code === 'ENOENT') {
    return existsSync(path) ? `symbol "${symbol}" not found in ${path} (neither its .dynsym nor its .symtab has it)` : `uprobe binary ${path} not found`;
  }
  return `attach uprobe ${path}:${symbol}: ${se.message}${se.libbpf ? `\n${se.libbpf}` : ''}`;
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
  private ring = 0;
  private closed = false;
  private readonly exitHandler = () => this.close();

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
      k.createShared(opts.ringBytes ?? 4 << 20);
      if (opts.processSensor !== false) k.loadProcessSensor();
      if (opts.procfs !== false) k.fillFromProc();
      k.ring = shim.ringbufOpen(k.shared.get('tln_events')!, (bufs) => k.dispatch(bufs));
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
    for (const prog of Object.keys(obj.progs)) inst.links.push(this.shim.attach(obj.handle, prog));
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
      v.writeUInt32LE(PROC_F_PROCFS, 4);
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

  /** replaces the set of cgroup ids that belong to any pod (scope "in no pod"); updates from the core */
  setPodCgroups(ids: bigint[]): void {
    const next = new Set(ids);
    const add = [...next].filter((id) => !this.podCgroups.has(id));
    const remove = [...this.podCgroups].filter((id) => !next.has(id));
    this.applyMapUpdates(podCgroupUpdates(add, remove));
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

  /** kernel memory of the shared maps and the process sensor */
  memoryBytes(): number {
    let t = 0;
    for (const fd of this.shared.values()) t += this.shim.fdMemlock(fd);
    for (const inst of this.procInstances) {
      for (const [n, fd] of Object.entries(inst.obj.maps)) if (!this.shared.has(n) && fd >= 0) t += this.shim.fdMemlock(fd);
      for (const fd of Object.values(inst.obj.progs)) t += this.shim.fdMemlock(fd);
    }
    return t;
  }

  /**
   * Loads a policy: one instance of each BPF object its hooks need. Throws
   * LoadError (verifier log attached) for anything this kernel cannot serve:
   * never a silent no-op.
   */
  loadPolicy(spec: PolicySpec, policyId: number, host: PlanHost = realHost): LoadedPolicy {
    if (this.closed) throw new Error('kernel is closed');
    const fail = (msg: string, e?: ShimError): never => {
      throw new LoadError(`policy ${spec.name}: ${msg}`, spec.name, e?.log, e?.libbpf, e?.errno);
    };
    if (!Number.isInteger(policyId) || policyId < 0 || policyId > 0xffffffff) fail(`policy id ${policyId} is not a u32`);
    const plan = planLoad(spec, this.features, host);
    if (!plan.ok) return fail(plan.reason);
    // the plan's maps, then each instance: load with those map fds, attach
    const mapFds = new Map<string, number>();
    const instances: Instance[] = [];
    try {
      for (const m of plan.maps) mapFds.set(m.name, this.createImageMap(spec, m));
      const rl = rateLimitMap(plan.maps);
      mapFds.set(rl.name, this.shim.mapCreate(rl.type, rl.name, rl.keySize, rl.valueSize, rl.maxEntries, rl.flags));
      const reuse: Record<string, number> = { ...Object.fromEntries(this.shared), ...Object.fromEntries(mapFds) };
      for (const ip of plan.instances) {
        let obj: LoadedObject;
        try {
          obj = this.shim.objLoad(join(this.bpfDir, ip.object), {
            name: ip.name,
            rodata: { tln_policy_id: policyId, ...ip.rodata },
            reuse,
            programs: ip.programs,
          });
        } catch (e) {
          const se = e as ShimError;
          return fail(`load ${ip.object} (${ip.programs.join(', ')}): ${se.message}${se.libbpf ? `\n${se.libbpf}` : ''}`, se);
        }
        const inst: Instance = { object: ip.object, obj, links: [] };
        instances.push(inst);
        for (const { program, hook, at } of ip.attach) {
          try {
            inst.links.push(this.attachOne(obj, program, at));
          } catch (e) {
            const se = e as ShimError;
            if (at.kind === 'uprobe') return fail(`hook ${hook}: ${uprobeAttachError(at.path, at.symbol, se)}`, se);
            return fail(`attach ${program}: ${se.message}`, se);
          }
        }
      }
    } catch (e) {
      releaseAll(this.shim, instances, mapFds);
      if (e instanceof LoadError) throw e;
      const se = e as ShimError;
      throw new LoadError(`policy ${spec.name}: ${se.message}`, spec.name, se.log, se.libbpf, se.errno);
    }
    const lp = new LoadedPolicy(this, policyId, spec, mapFds, instances, plan.hooks);
    this.loaded.add(lp);
    return lp;
  }

  /** one attach point of the plan; the link fd */
  private attachOne(obj: LoadedObject, program: string, at: AttachPoint): number {
    switch (at.kind) {
      case 'tracepoint':
        return this.shim.attachTracepoint(obj.handle, program, at.category, at.name);
      case 'cgroup':
        return this.shim.attachCgroup(obj.handle, program, this.cgroupRoot);
      case 'uprobe':
        return this.shim.attachUprobe(obj.handle, program, at.path, at.symbol, false, -1);
      case 'auto':
        return this.shim.attach(obj.handle, program);
    }
  }

  /** creates one image map and fills it (batch update, else one by one) */
  private createImageMap(spec: PolicySpec, m: MapSpec): number {
    let fd: number;
    try {
      fd = this.shim.mapCreate(m.type, m.name, m.keySize, m.valueSize, Math.max(1, m.maxEntries), m.flags);
    } catch (e) {
      throw new LoadError(`policy ${spec.name}: ${(e as Error).message}`, spec.name, undefined, undefined, (e as ShimError).errno);
    }
    if (!m.count) return fd;
    try {
      const esz = m.keySize + m.valueSize;
      const percpu = PERCPU_TYPES.has(m.type);
      const ncpu = percpu ? this.shim.numPossibleCpus() : 1;
      const stride = percpu ? Math.ceil(m.valueSize / 8) * 8 : m.valueSize;
      const keys = Buffer.alloc(m.count * m.keySize);
      const vals = Buffer.alloc(m.count * stride * ncpu);
      const src = Buffer.from(m.entries.buffer, m.entries.byteOffset, m.entries.byteLength);
      for (let i = 0; i < m.count; i++) {
        src.copy(keys, i * m.keySize, i * esz, i * esz + m.keySize);
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
          this.shim.mapUpdate(fd, keys.subarray(i * m.keySize, (i + 1) * m.keySize), vals.subarray(i * vsz, (i + 1) * vsz), 0);
        }
      }
    } catch (e) {
      this.shim.closeFd(fd);
      throw new LoadError(`policy ${spec.name}: fill map ${m.name}: ${(e as Error).message}`, spec.name);
    }
    return fd;
  }

  /** @internal a policy unloaded itself */
  forget(p: LoadedPolicy): void {
    this.loaded.delete(p);
  }

  /** unloads every policy, stops the consumer, frees the shared maps; idempotent */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    process.removeListener('exit', this.exitHandler);
    for (const p of [...this.loaded]) p.unload();
    if (this.ring) this.shim.ringbufClose(this.ring);
    this.ring = 0;
    releaseAll(this.shim, this.procInstances, new Map());
    for (const fd of this.shared.values()) this.shim.closeFd(fd);
    this.shared.clear();
    this.subscribers.clear();
    this.rawSubscribers.clear();
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
