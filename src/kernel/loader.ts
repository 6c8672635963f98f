// The loader: from a policy's map image (PolicySpec, from the Wasm core's
// inspectImage) to programs running in this kernel, through the shim.
//
//   Kernel.open()      probe features, mount bpffs/tracefs/securityfs when missing,
//                      create the shared maps (ring buffer, process table, pod
//                      cgroups, pending signals), load the process sensor, fill the
//                      process table from /proc, start the ring-buffer consumer.
//   loadPolicy()       choose an implementation per hook (catalog.ts), create the
//                      policy's maps from its MapSpecs, load one instance of each
//                      BPF object the hooks need (reusing those map fds, policy id and
//                      hook slots as rodata, only the needed programs), attach.
//
// No pinning: every map, program and link lives in an fd of this process, so
// nothing outlives the agent; close()/unload() release them early.
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { HookSpec, MapSpec, PolicySpec } from '../core/types.js';
import { chooseImpl, whyNotAction, type HookImpl } from './catalog.js';
import { describeFeatures, has, probeFeatures, type Features } from './features.js';
import { unsupportedReasons } from './support.js';
import { decodeRecord, LAYOUT, PROC_F_PROCFS, REC_F, type ExecRecord, type TlnRecord } from './records.js';
import { BPF_DIR, loadShim, type LoadedObject, type Shim, type ShimError } from './shim.js';
import { readFormat, tracepointConf, uprobeConf } from './tracefs.js';

/** BPF_MAP_TYPE_* (kernel UAPI) */
export const MAP_TYPE = {
  HASH: 1,
  ARRAY: 2,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  RINGBUF: 27,
} as const;
const BPF_F_NO_PREALLOC = 1;
const BPF_NOEXIST = 1;
const PERCPU_TYPES = new Set<number>([MAP_TYPE.PERCPU_HASH, MAP_TYPE.PERCPU_ARRAY, MAP_TYPE.LRU_PERCPU_HASH]);

/** A kernel feature this host lacks (typed: callers and tests skip on it). */
export class NotSupportedError extends Error {
  readonly code = 'ENOTSUP';
  constructor(message: string, readonly feature: string) {
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

/** Maps shared by every program (shapes must match bpf/lib/tln_maps.h, values tln_events.h). */
interface SharedMapDef {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}
const sharedMapDefs = (ringBytes: number): Record<string, SharedMapDef> => ({
  tln_events: { type: MAP_TYPE.RINGBUF, keySize: 0, valueSize: 0, maxEntries: ringBytes, flags: 0 },
  tln_lost: { type: MAP_TYPE.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 },
  tln_procs: {
    type: MAP_TYPE.HASH,
    keySize: 4,
    valueSize: LAYOUT['sizeof(struct tln_proc)'],
    maxEntries: 65536,
    flags: BPF_F_NO_PREALLOC,
  },
  tln_pod_cgroups: { type: MAP_TYPE.HASH, keySize: 8, valueSize: 1, maxEntries: 32768, flags: BPF_F_NO_PREALLOC },
  tln_pending: { type: MAP_TYPE.LRU_HASH, keySize: 8, valueSize: LAYOUT['sizeof(struct tln_pending)'], maxEntries: 4096, flags: 0 },
});

/** maps of a policy image a program instance cannot run without */
const REQUIRED_IMAGE_MAPS = ['tln_policy', 'tln_hooks', 'tln_stats'];

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

export interface SelectorStats {
  post: bigint;
  enforce: bigint;
  monitor: bigint;
  nopost: bigint;
}

interface Instance {
  object: string;
  obj: LoadedObject;
  links: number[];
}

const u32le = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const u64le = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, n));
  return b;
};

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

  /** kernel memory of its maps and programs (memlock), shared maps excluded */
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

  /** the mode the programs read at every hit: 0 enforce, 1 monitor, 2 monitor_only */
  mode(): number {
    const v = this.kernel.shim.mapLookup(this.fd('tln_policy'), u32le(0), 8);
    return v ? v.readUInt8(0) : -1;
  }

  /** changes the mode in place (no reload): the next hit sees it */
  setMode(mode: 0 | 1 | 2): void {
    if (mode !== 0 && mode !== 1 && mode !== 2) throw new RangeError(`mode ${mode}: expected 0, 1 or 2`);
    const fd = this.fd('tln_policy');
    const v = this.kernel.shim.mapLookup(fd, u32le(0), 8);
    if (!v) throw new Error(`policy ${this.spec.name}: tln_policy has no entry`);
    v.writeUInt8(mode, 0);
    this.kernel.shim.mapUpdate(fd, u32le(0), v, 0);
  }

  /** adds/removes cgroup ids of the policy's pods (tln_pod_filter) */
  setFilterCgroups(add: bigint[], remove: bigint[]): void {
    const fd = this.fd('tln_pod_filter');
    const one = Buffer.from([1]);
    for (const id of remove) this.kernel.shim.mapDelete(fd, u64le(id));
    for (const id of add) this.kernel.shim.mapUpdate(fd, u64le(id), one, 0);
  }

  /** cgroup ids in the policy's filter */
  filterCgroups(): bigint[] {
    const fd = this.fd('tln_pod_filter');
    const out: bigint[] = [];
    let k: Buffer | null = null;
    while ((k = this.kernel.shim.mapNextKey(fd, k, 8))) out.push(k.readBigUInt64LE(0));
    return out;
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

  /** program fd per instance, for inspection (bpftool, run counts) */
  programs(): { object: string; name: string; fd: number }[] {
    return this.instances.flatMap((i) => Object.entries(i.obj.progs).map(([name, fd]) => ({ object: i.object, name, fd })));
  }

  /** detaches and frees everything of this policy */
  unload(): void {
    if (this.closed) return;
    this.closed = true;
    releaseAll(this.kernel.shim, this.instances, this.mapFds);
    this.kernel.forget(this);
  }
}

/** struct tln_gen_conf of a tracepoint or uprobe hook; throws with the reason it cannot be served */
function genericConf(h: HookSpec): Buffer {
  if (h.kind === 'tracepoint') {
    if (!h.tracepoint) throw new Error('the image names no tracepoint');
    const fields = readFormat(h.tracepoint.subsystem, h.tracepoint.event);
    if (typeof fields === 'string') throw new Error(fields);
    return tracepointConf(h, fields);
  }
  if (!h.uprobe) throw new Error('the image names no uprobe');
  const { path } = h.uprobe;
  // libbpf looks bare library names up in the library path; a path must exist
  if (path.includes('/') && !existsSync(path)) throw new Error(`uprobe binary ${path} does not exist`);
  return uprobeConf(h);
}

/** why libbpf could not attach a uprobe, in the user's terms */
function uprobeAttachError(h: HookSpec, se: ShimError): string {
  const { path, symbol } = h.uprobe!;
  if (se.code === 'ENOENT') {
    return existsSync(path)
      ? `symbol "${symbol}" not found in ${path} (neither its .dynsym nor its .symtab has it)`
      : `uprobe binary ${path} not found`;
  }
  return `attach uprobe ${path}:${symbol}: ${se.message}${se.libbpf ? `\n${se.libbpf}` : ''}`;
}

function releaseAll(shim: Shim, instances: Instance[], mapFds: Map<string, number>): void {
  for (const inst of instances) for (const l of inst.links) shim.linkDestroy(l);
  for (const inst of instances) shim.objClose(inst.obj.handle);
  for (const fd of mapFds.values()) shim.closeFd(fd);
  instances.length = 0;
  mapFds.clear();
}

/** the agent's view of the kernel: shared maps, the process sensor, loaded policies */
export class Kernel {
  readonly cgroupRoot: string;
  /** processes found in /proc at open (procfs: true) */
  readonly procfs: ExecRecord[] = [];
  private readonly shared = new Map<string, number>();
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
    const need: [keyof Features, string][] = [
      ['bpf', 'the bpf() syscall'],
      ['btf', 'kernel BTF (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF)'],
      ['ringbuf', 'BPF ring buffers (5.8+)'],
      ['lpmTrie', 'LPM trie maps'],
    ];
    for (const [k, what] of need) {
      if (!features[k]) {
        throw new NotSupportedError(`this kernel lacks ${what}; probed: ${describeFeatures(features).join('; ')}`, String(k));
      }
    }
    const bpfDir = opts.bpfDir ?? BPF_DIR();
    if (!existsSync(join(bpfDir, 'tln_process.bpf.o'))) {
      throw new Error(`BPF objects not built: ${bpfDir}/tln_process.bpf.o is missing (run: bash scripts/build-native.sh)`);
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
    for (const [name, d] of Object.entries(sharedMapDefs(ringBytes))) {
      this.shared.set(name, this.shim.mapCreate(d.type, name, d.keySize, d.valueSize, d.maxEntries, d.flags));
    }
  }

  private loadProcessSensor(): void {
    if (!this.features.tpBtf) {
      throw new NotSupportedError(
        `the process sensor needs BTF tracepoints (tp_btf): ${this.features.tpBtfError ?? 'not available'}`,
        'tpBtf',
      );
    }
    const path = join(this.bpfDir, 'tln_process.bpf.o');
    let obj: LoadedObject;
    try {
      obj = this.shim.objLoad(path, { name: 'tln_process', reuse: Object.fromEntries(this.shared) });
    } catch (e) {
      const se = e as ShimError;
      throw new LoadError(`process sensor: ${se.message}`, '(process sensor)', se.log, se.libbpf, se.errno);
    }
    const inst: Instance = { object: 'tln_process.bpf.o', obj, links: [] };
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
      let ppid = 0, uid = 0, cwd = '', args: string[] = [], cgroupId = 0n;
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

  /** replaces the set of cgroup ids that belong to any pod (scope "in no pod") */
  setPodCgroups(ids: bigint[]): void {
    const next = new Set(ids);
    const fd = this.shared.get('tln_pod_cgroups')!;
    for (const id of this.podCgroups) if (!next.has(id)) this.shim.mapDelete(fd, u64le(id));
    for (const id of next) if (!this.podCgroups.has(id)) this.shim.mapUpdate(fd, u64le(id), Buffer.from([1]), 0);
    this.podCgroups.clear();
    for (const id of next) this.podCgroups.add(id);
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
  loadPolicy(spec: PolicySpec, policyId: number): LoadedPolicy {
    if (this.closed) throw new Error('kernel is closed');
    const fail = (msg: string, e?: ShimError): never => {
      throw new LoadError(`policy ${spec.name}: ${msg}`, spec.name, e?.log, e?.libbpf, e?.errno);
    };
    if (!Number.isInteger(policyId) || policyId < 0 || policyId > 0xffffffff) fail(`policy id ${policyId} is not a u32`);
    for (const m of REQUIRED_IMAGE_MAPS) if (!spec.maps.some((x) => x.name === m)) fail(`the image has no ${m} map`);
    if (!spec.hooks.length) fail('no hooks');
    for (const why of unsupportedReasons(spec, this.features)) fail(why);
    // 1. an implementation per hook, and what it can enforce
    interface Planned {
      impl: HookImpl;
      slot: number;
      name: string;
      hook: HookSpec;
      /** generic hooks: struct tln_gen_conf (where the arguments are) */
      conf?: Buffer;
    }
    const planned: Planned[] = [];
    for (const h of spec.hooks) {
      const c = chooseImpl(h.hookId, h.name, this.features);
      if (!c.ok) fail(c.reason);
      const impl = (c as { impl: HookImpl }).impl;
      if (h.returnFilters) {
        fail(`hook ${h.name}: matchReturnArgs needs the return value, which ${impl.sensor} (${impl.mechanism}) does not see on this kernel`);
      }
      for (const a of h.actions) {
        if (a === 'Post' || a === 'NoPost') continue;
        if (!impl.actions.includes(a)) {
          const why = whyNotAction(h.hookId, a, this.features);
          const hint =
            a === 'Override'
              ? `an Override needs BPF LSM, fmod_ret or bpf_override_return, none of which this kernel offers${why ? ` (${why})` : ''}`
              : `${impl.sensor} supports ${impl.actions.join(', ')}`;
          fail(`hook ${h.name}: action ${a} cannot be carried out by ${impl.sensor} (${impl.mechanism}): ${hint}`);
        }
      }
      if (!this.features.sendSignal && h.actions.some((a) => a === 'Sigkill' || a === 'Signal')) {
        fail(`hook ${h.name}: Sigkill/Signal need bpf_send_signal, which this kernel lacks`);
      }
      let conf: Buffer | undefined;
      if (impl.confVar) {
        try {
          conf = genericConf(h);
        } catch (e) {
          fail(`hook ${h.name}: ${(e as Error).message}`);
        }
      }
      planned.push({ impl, slot: h.slot, name: h.name, hook: h, conf });
    }
    // 2. instances: one per object, a second one when a hook id repeats
    interface Plan {
      impl: HookImpl[];
      /** the hook each impl serves (same order) */
      hooks: HookSpec[];
      slots: Record<string, number>;
      conf: Record<string, Buffer>;
      programs: Set<string>;
      object: string;
    }
    const plans: Plan[] = [];
    for (const p of planned) {
      let plan = plans.find((x) => x.object === p.impl.object && !(p.impl.slotVar in x.slots));
      if (!plan) {
        plan = { impl: [], hooks: [], slots: {}, conf: {}, programs: new Set(), object: p.impl.object! };
        plans.push(plan);
      }
      plan.impl.push(p.impl);
      plan.hooks.push(p.hook);
      plan.slots[p.impl.slotVar] = p.slot;
      if (p.impl.confVar && p.conf) plan.conf[p.impl.confVar] = p.conf;
      for (const prog of p.impl.programs) plan.programs.add(prog.name);
    }
    // 3. the policy's maps from its image
    const mapFds = new Map<string, number>();
    const instances: Instance[] = [];
    try {
      for (const m of spec.maps) mapFds.set(m.name, this.createImageMap(spec, m));
      const str = spec.maps.find((m) => m.name === 'tln_str');
      const strCap = str ? Math.max(1, Math.min(255, str.keySize - 5)) : 255;
      const reuse: Record<string, number> = { ...Object.fromEntries(this.shared), ...Object.fromEntries(mapFds) };
      // 4. load and attach each instance
      for (const plan of plans) {
        const rodata: Record<string, number | Buffer> = { tln_policy_id: policyId, tln_str_cap: strCap, ...plan.slots, ...plan.conf };
        if (plan.object === 'tln_sock.bpf.o') rodata.tln_has_set_retval = this.features.setRetval ? 1 : 0;
        let obj: LoadedObject;
        try {
          obj = this.shim.objLoad(join(this.bpfDir, plan.object), {
            name: plan.object.replace(/\.bpf\.o$/, ''),
            rodata,
            reuse,
            programs: [...plan.programs],
          });
        } catch (e) {
          const se = e as ShimError;
          return fail(`load ${plan.object} (${[...plan.programs].join(', ')}): ${se.message}${se.libbpf ? `\n${se.libbpf}` : ''}`, se);
        }
        const inst: Instance = { object: plan.object, obj, links: [] };
        instances.push(inst);
        for (const [k, impl] of plan.impl.entries()) {
          const hook = plan.hooks[k];
          for (const prog of impl.programs) {
            for (const at of prog.attach) {
              try {
                if (at.kind === 'tracepoint') inst.links.push(this.shim.attachTracepoint(obj.handle, prog.name, at.category, at.name));
                else if (at.kind === 'cgroup') inst.links.push(this.shim.attachCgroup(obj.handle, prog.name, this.cgroupRoot));
                else if (at.kind === 'hook-tracepoint') {
                  const tp = hook.tracepoint!;
                  inst.links.push(this.shim.attachTracepoint(obj.handle, prog.name, tp.subsystem, tp.event));
                } else if (at.kind === 'hook-uprobe') {
                  const up = hook.uprobe!;
                  inst.links.push(this.shim.attachUprobe(obj.handle, prog.name, up.path, up.symbol, false, -1));
                } else inst.links.push(this.shim.attach(obj.handle, prog.name));
              } catch (e) {
                const se = e as ShimError;
                if (at.kind === 'hook-uprobe') return fail(`hook ${hook.name}: ${uprobeAttachError(hook, se)}`, se);
                return fail(`attach ${prog.name}: ${se.message}`, se);
              }
            }
          }
        }
      }
    } catch (e) {
      releaseAll(this.shim, instances, mapFds);
      if (e instanceof LoadError) throw e;
      const se = e as ShimError;
      throw new LoadError(`policy ${spec.name}: ${se.message}`, spec.name, se.log, se.libbpf, se.errno);
    }
    const lp = new LoadedPolicy(
      this,
      policyId,
      spec,
      mapFds,
      instances,
      planned.map((p) => ({ slot: p.slot, name: p.name, sensor: p.impl.sensor })),
    );
    this.loaded.add(lp);
    return lp;
  }

  /** creates one image map and fills it (batch update, else one by one) */
  private createImageMap(spec: PolicySpec, m: MapSpec): number {
    if (!m.name.startsWith('tln_')) throw new Error(`map ${m.name}: image map names start with tln_`);
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
