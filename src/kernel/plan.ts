// The load plan: what loading one policy into this kernel means, decided
// without a single syscall. Given the policy's spec (from the core's
// inspectImage) and the probed features, planLoad picks an implementation per
// hook (catalog.ts), groups the hooks into BPF object instances, and lists
// per instance the programs to load, the rodata constants and the attach
// points; or it returns why this kernel cannot serve the policy. The loader
// (loader.ts) then only performs the plan through the shim. Like cilium/ebpf's
// spec vs. collection: this half is the same on every host given the same
// inputs, so tests feed it plain feature objects and need no root.
import { callNotFoundSkip, returnRefusal, unsupportedReasons } from './support.js';
import { existsSync } from 'node:fs';
import type { HookSpec, MapSpec, PolicySpec } from '../core/types.js';
import { chooseImpl, whyNotAction, type HookImpl } from './catalog.js';
import { describeFeatures, type FeatureName, type Features } from './features.js';
import { LAYOUT } from './records.js';
import {
  kprobeConf,
  openExitConf,
  capCapableConf,
  readFormat,
  registerReturnConf,
  syscallConf,
  syscallReturnConf,
  hasReturnCopy,
  rawTpConf,
  resolveConf,
  hasResolve,
  tracepointConf,
  uprobeConf,
  type FormatField,
} from './tracefs.js';
import { sockCloseConf, sockSendConf } from './sockconf.js';
import { kernelBtf, type Btf } from './btf.js';
import { expandListHooks } from './lists.js';
import { checkDigests, realUprobeHost, uprobeTarget, usdtInstances, type UprobeHost, type UsdtInstance } from './uprobes.js';

/** BPF_MAP_TYPE_* (kernel UAPI) */
export const MAP_TYPE = {
  HASH: 1,
  ARRAY: 2,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  ARRAY_OF_MAPS: 12,
  RINGBUF: 27,
} as const;
const BPF_F_NO_PREALLOC = 1;
/** arrays in a map-in-map may differ in max_entries (kernel 5.10+) */
const BPF_F_INNER_MAP = 1 << 12;
/** units: one policy's hooks, at most one of each dispatch kind (bit n of the masks, index n of the outer maps) */
export const MAX_UNITS = LAYOUT.TLN_MAX_UNITS;
/** entries of the per-file verdict cache (an LRU: old files drop out) */
const FCACHE_ENTRIES = 4096;

/** A map the loader creates itself (not from an image). */
export interface SharedMapDef {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

/** Maps shared by every program (shapes must match bpf/lib/tln_maps.h, values tln_events.h). */
export function sharedMaps(ringBytes: number): SharedMapDef[] {
  return [
    { name: 'tln_events', type: MAP_TYPE.RINGBUF, keySize: 0, valueSize: 0, maxEntries: ringBytes, flags: 0 },
    { name: 'tln_lost', type: MAP_TYPE.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 },
    {
      name: 'tln_procs',
      type: MAP_TYPE.HASH,
      keySize: 4,
      valueSize: LAYOUT['sizeof(struct tln_proc)'],
      maxEntries: 65536,
      flags: BPF_F_NO_PREALLOC,
    },
    { name: 'tln_pending', type: MAP_TYPE.LRU_HASH, keySize: 8, valueSize: LAYOUT['sizeof(struct tln_pending)'], maxEntries: 4096, flags: 0 },
    // dispatch: which units apply where (bpf/lib/tln_maps.h)
    { name: 'tln_dispatch', type: MAP_TYPE.ARRAY, keySize: 4, valueSize: LAYOUT['sizeof(struct tln_dispatch)'], maxEntries: 1, flags: 0 },
    { name: 'tln_units', type: MAP_TYPE.ARRAY, keySize: 4, valueSize: LAYOUT['sizeof(struct tln_unit)'], maxEntries: MAX_UNITS, flags: 0 },
    {
      name: 'tln_cgroups',
      type: MAP_TYPE.HASH,
      keySize: 8,
      valueSize: LAYOUT['sizeof(struct tln_cgroup)'],
      maxEntries: LAYOUT.TLN_POD_FILTER_MAX,
      flags: BPF_F_NO_PREALLOC,
    },
    { name: 'tln_renames', type: MAP_TYPE.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 },
    { name: 'tln_fcache', type: MAP_TYPE.LRU_HASH, keySize: 8, valueSize: LAYOUT['sizeof(struct tln_fcache)'], maxEntries: FCACHE_ENTRIES, flags: 0 },
  ];
}

/**
 * The one shape of every inner map of an image map kind (the kernel requires
 * equal type, key/value sizes and flags in a map-in-map): arrays keep the
 * image's max_entries (BPF_F_INNER_MAP), string keys take the full struct
 * tln_str_key (image keys are zero-padded: an LPM key's bytes past its prefix
 * are not compared). `outer` is the shared ARRAY_OF_MAPS indexed by unit
 * (bpf/lib/tln_eval.h). The image's pod filter has none: the shared
 * tln_cgroups replaces it.
 */
export interface InnerShape {
  image: string;
  outer: string;
  type: number;
  keySize: number;
  valueSize: number;
  flags: number;
}
export const INNER_MAPS: InnerShape[] = [
  { image: 'tln_policy', outer: 'tln_o_policy', type: MAP_TYPE.ARRAY, keySize: 4, valueSize: LAYOUT['sizeof(struct tln_policy_conf)'], flags: BPF_F_INNER_MAP },
  { image: 'tln_hooks', outer: 'tln_o_hooks', type: MAP_TYPE.ARRAY, keySize: 4, valueSize: LAYOUT['sizeof(struct tln_hook)'], flags: BPF_F_INNER_MAP },
  { image: 'tln_sels', outer: 'tln_o_sels', type: MAP_TYPE.ARRAY, keySize: 4, valueSize: LAYOUT['sizeof(struct tln_selector)'], flags: BPF_F_INNER_MAP },
  { image: 'tln_str', outer: 'tln_o_str', type: MAP_TYPE.LPM_TRIE, keySize: LAYOUT['sizeof(struct tln_str_key)'], valueSize: 1, flags: BPF_F_NO_PREALLOC },
  {
    image: 'tln_addr4',
    outer: 'tln_o_addr4',
    type: MAP_TYPE.LPM_TRIE,
    keySize: LAYOUT['sizeof(struct tln_addr4_key)'],
    valueSize: 1,
    flags: BPF_F_NO_PREALLOC,
  },
  {
    image: 'tln_addr6',
    outer: 'tln_o_addr6',
    type: MAP_TYPE.LPM_TRIE,
    keySize: LAYOUT['sizeof(struct tln_addr6_key)'],
    valueSize: 1,
    flags: BPF_F_NO_PREALLOC,
  },
  { image: 'tln_u64set', outer: 'tln_o_u64set', type: MAP_TYPE.HASH, keySize: LAYOUT['sizeof(struct tln_u64set_key)'], valueSize: 1, flags: 0 },
  { image: 'tln_stats', outer: 'tln_o_stats', type: MAP_TYPE.ARRAY, keySize: 4, valueSize: LAYOUT['sizeof(struct tln_sel_stats)'], flags: BPF_F_INNER_MAP },
  { image: 'tln_ratelimit', outer: 'tln_o_rl', type: MAP_TYPE.LRU_HASH, keySize: 16, valueSize: 8, flags: 0 },
];
/** image maps with no inner map: what replaces them */
export const REPLACED_IMAGE_MAPS: Record<string, string> = { tln_pod_filter: 'tln_cgroups (shared cgroup -> units map)' };

/**
 * The policy's rate-limit table (tln_ratelimit, bpf/lib/tln_eval.h), sized by
 * its image: 8192 entries when an action of its selectors (tln_sels) has a
 * rateLimit, else 1 (the kernel rounds an LRU up to one per CPU). A preallocated
 * LRU of 8192 cost 720 KB of every policy, used or not. One table serves all the
 * policy's instances: its keys hold the policy-global selector index.
 */
export function rateLimitMap(maps: MapSpec[]): SharedMapDef {
  const sels = maps.find((m) => m.name === 'tln_sels');
  let used = false;
  if (sels) {
    const b = Buffer.from(sels.entries.buffer, sels.entries.byteOffset, sels.entries.byteLength);
    const esz = sels.keySize + sels.valueSize;
    const nact = LAYOUT['offsetof(struct tln_selector, nactions)'];
    const acts = LAYOUT['offsetof(struct tln_selector, actions)'];
    const asz = LAYOUT['sizeof(struct tln_action)'];
    const rl = LAYOUT['offsetof(struct tln_action, rate_limit_ns)'];
    for (let i = 0; i < sels.count && !used; i++) {
      const v = i * esz + sels.keySize;
      for (let a = 0; a < b[v + nact]; a++) if (b.readBigUInt64LE(v + acts + a * asz + rl) !== 0n) used = true;
    }
  }
  return { name: 'tln_ratelimit', type: MAP_TYPE.LRU_HASH, keySize: 16, valueSize: 8, maxEntries: used ? 8192 : 1, flags: 0 };
}

/** Why this kernel (or this spec) cannot be served: `feature` names what is missing when a feature is. */
export interface Refusal {
  ok: false;
  reason: string;
  /** 'unsupported': the kernel lacks something; 'invalid': the spec itself cannot be loaded anywhere */
  kind: 'unsupported' | 'invalid';
  feature?: FeatureName | 'bpf';
}

/** The features every talon kernel side needs before anything is loaded; null when all are there. */
export function checkKernel(f: Features): Refusal | null {
  const need: [keyof Features, string][] = [
    ['bpf', 'the bpf() syscall'],
    ['btf', 'kernel BTF (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF)'],
    ['ringbuf', 'BPF ring buffers (5.8+)'],
    ['lpmTrie', 'LPM trie maps'],
  ];
  for (const [k, what] of need) {
    if (!f[k]) {
      return { ok: false, kind: 'unsupported', feature: k as FeatureName, reason: `this kernel lacks ${what}; probed: ${describeFeatures(f).join('; ')}` };
    }
  }
  return null;
}

/** The process sensor the agent loads once, for every policy: the loader loads it, the offline check (src/bridge) checks it. */
export const PROCESS_SENSOR = {
  object: 'tln_process.bpf.o',
  name: 'tln_process',
  programs: ['tln_exec', 'tln_fork', 'tln_exit', 'tln_cgroup_mkdir', 'tln_cgroup_rmdir'],
} as const;

/** The process sensor (exec/fork/exit) needs tp_btf; null when it can load. */
export function checkProcessSensor(f: Features): Refusal | null {
  if (f.tpBtf) return null;
  return {
    ok: false,
    kind: 'unsupported',
    feature: 'tpBtf',
    reason: `the process sensor needs BTF tracepoints (tp_btf): ${f.tpBtfError ?? 'not available'}`,
  };
}

/** Where one program of an instance is attached. */
export type AttachPoint =
  | { kind: 'tracepoint'; category: string; name: string; optional?: boolean }
  | { kind: 'cgroup' } // the cgroup v2 root
  // symbol "": `offset` is the file offset; refCtrOffset: a semaphore's file offset (0/absent: none)
  | { kind: 'uprobe'; path: string; symbol: string; retprobe?: boolean; offset?: number; refCtrOffset?: number }
  | { kind: 'kprobe'; function: string; retprobe?: boolean }
  | { kind: 'auto' }; // the program's section says where

export interface PlannedAttach {
  program: string;
  /** the hook it serves (attach errors are reported in its terms) */
  hook: string;
  at: AttachPoint;
}

/** A shared instance: the programs of one dispatch kind, loaded once for every policy with such a hook. */
export interface SharedPlan {
  /** `${object}#${dhook}`: one instance per key while any policy uses it */
  key: string;
  dhook: number;
  object: string;
  name: string;
  programs: string[];
  rodata: Record<string, number | Buffer>;
  attach: PlannedAttach[];
}

/** One instance of a BPF object: the programs to load, their read-only config, their attach points. */
export interface InstancePlan {
  /** file in the BPF directory, e.g. tln_file.bpf.o */
  object: string;
  /** libbpf object name, e.g. tln_file */
  name: string;
  programs: string[];
  /** `const volatile` globals; the loader adds tln_gen_unit (the policy's unit, assigned at load) */
  rodata: Record<string, number | Buffer>;
  /** fentry/fmod_ret/lsm programs: program -> the function or LSM hook it attaches to */
  attachTargets?: Record<string, string>;
  attach: PlannedAttach[];
}

export interface LoadPlan {
  ok: true;
  /** the policy's maps, created from its image before any instance is loaded */
  maps: MapSpec[];
  /** the shared programs its hooks need (loaded by the first policy that needs them) */
  shared: SharedPlan[];
  /** per-hook instances of its own (generic tracepoints/uprobes) */
  instances: InstancePlan[];
  /** per unit the hook slot of each dispatch kind (0xff: none); at least one unit */
  units: number[][];
  /** which sensor serves each hook */
  hooks: { slot: number; name: string; sensor: string; mechanism: HookImpl['mechanism'] }[];
  /** hooks left out, each with the sentence saying why (a missing function with ignore.callNotFound) */
  skipped: string[];
}

/** What the plan reads from the host besides the features (tracefs formats, files); replaceable in tests. */
export interface PlanHost {
  /** the fields of a tracepoint's format, or why they cannot be read */
  tracepointFormat(subsystem: string, event: string): FormatField[] | string;
  /** the kernel's BTF (resolve), or why it cannot be read */
  btf?(): Btf | string;
  fileExists(path: string): boolean;
  /** ELF and digest reads of uprobe/usdt binaries (default: the real files) */
  uprobe?: UprobeHost;
}

export const realHost: PlanHost = {
  tracepointFormat: (s, e) => readFormat(s, e),
  btf: () => kernelBtf(),
  fileExists: (p) => existsSync(p),
  uprobe: realUprobeHost,
};

/** maps of a policy image a program instance cannot run without */
const REQUIRED_IMAGE_MAPS = ['tln_policy', 'tln_hooks', 'tln_stats'];

/** struct tln_gen_conf of a tracepoint or uprobe hook; throws with the reason it cannot be served */
function genericConf(h: HookSpec, host: PlanHost, impl: HookImpl): Buffer {
  // the mappings onto other hooks read no function arguments: nothing for a resolve walk to start from
  if (impl.calls && hasResolve(h))
    throw new Error(
      `${impl.sensor} (${impl.mechanism}) reads ${h.name}'s arguments from another hook, not its BTF prototype: resolve, btfType and linux_binprm need kprobes, fentry or BPF LSM`,
    );
  if (impl.calls?.includes('tcp_close')) return sockCloseConf(h);
  if (impl.calls?.includes('tcp_sendmsg')) return sockSendConf(h);
  if (impl.calls?.includes('cap_capable')) {
    const fields = host.tracepointFormat('capability', 'cap_capable');
    if (typeof fields === 'string') throw new Error(`cap_capable is served by tracepoint capability/cap_capable: ${fields}`);
    return capCapableConf(h, fields);
  }
  if (impl.calls) {
    // a function mapped onto the open syscalls' exits: their formats are the same
    const fields = host.tracepointFormat('syscalls', 'sys_exit_openat');
    if (typeof fields === 'string') throw new Error(`${h.name} is served at syscalls/sys_exit_openat: ${fields}`);
    return openExitConf(h, fields);
  }
  if (h.kind === 'kprobe' && h.spec?.syscall) {
    const event = `sys_enter_${h.spec.syscall}`;
    const fields = host.tracepointFormat('syscalls', event);
    if (typeof fields === 'string') throw new Error(`syscall ${h.spec.syscall} is served by tracepoint syscalls/${event}: ${fields}`);
    const conf = syscallConf(h, fields);
    // returnCopy buffers are filled by the call: copied at its exit, as return: true is judged there
    if ((!h.return && !hasReturnCopy(h)) || !impl.programs.some((p) => p.atReturn)) return conf;
    const exit = `sys_exit_${h.spec.syscall}`;
    const exitFields = host.tracepointFormat('syscalls', exit);
    if (typeof exitFields === 'string') throw new Error(`the return value of syscall ${h.spec.syscall} is read at tracepoint syscalls/${exit}: ${exitFields}`);
    return syscallReturnConf(conf, h, exitFields);
  }
  const btf = () => host.btf?.() ?? 'no BTF reader on this host';
  if (h.kind === 'tracepoint' && impl.btfTarget) return resolveConf(rawTpConf(h), h, hasResolve(h) ? btf() : '');
  const ret = h.return === true && impl.programs.some((p) => p.atReturn);
  // kprobes, fentries and LSM hooks read the function's arguments the same way
  if (h.kind === 'kprobe' || impl.btfTarget) {
    const conf = resolveConf(kprobeConf(h), h, hasResolve(h) ? btf() : '');
    return ret ? registerReturnConf(conf, h, false) : conf;
  }
  if (h.kind === 'tracepoint') {
    if (!h.tracepoint) throw new Error('the image names no tracepoint');
    const fields = host.tracepointFormat(h.tracepoint.subsystem, h.tracepoint.event);
    if (typeof fields === 'string') throw new Error(fields);
    return tracepointConf(h, fields);
  }
  if (!h.uprobe) throw new Error('the image names no uprobe');
  const { path } = h.uprobe;
  // libbpf looks bare library names up in the library path; a path must exist
  if (path.includes('/') && !host.fileExists(path)) throw new Error(`uprobe binary ${path} does not exist`);
  const uh = host.uprobe ?? realUprobeHost;
  checkDigests(h, uh);
  uprobeTarget(h, uh);
  return ret ? registerReturnConf(uprobeConf(h), h, true) : uprobeConf(h);
}

/** the programs of `impl` hook `h` needs: those at the function's exit only for return: true */
export function programsFor(impl: Pick<HookImpl, 'programs'>, h: Pick<HookSpec, 'return' | 'args' | 'spec'>): HookImpl['programs'] {
  return impl.programs.filter((p) => !p.atReturn || h.return === true || hasReturnCopy(h));
}

/** The attach points of one program of `impl` serving hook `h`. */
function attachPoints(impl: HookImpl, h: HookSpec, host: PlanHost): PlannedAttach[] {
  const out: PlannedAttach[] = [];
  for (const prog of programsFor(impl, h)) {
    for (const at of prog.attach) {
      // a syscall this kernel (or arch) does not have, e.g. open on arm64
      if (at.kind === 'tracepoint' && at.optional && typeof host.tracepointFormat(at.category, at.name) === 'string') continue;
      let p: AttachPoint;
      if (at.kind === 'hook-tracepoint') p = { kind: 'tracepoint', category: h.tracepoint!.subsystem, name: h.tracepoint!.event };
      else if (at.kind === 'hook-uprobe' || at.kind === 'hook-uretprobe') {
        // resolved (and checked) by genericConf before
        const t = uprobeTarget(h, host.uprobe ?? realUprobeHost);
        p = { kind: 'uprobe', path: h.uprobe!.path, symbol: t.symbol };
        if (t.offset) p.offset = t.offset;
        if (t.refCtrOffset) p.refCtrOffset = t.refCtrOffset;
        if (at.kind === 'hook-uretprobe') p.retprobe = true;
      } else if (at.kind === 'hook-syscall') p = { kind: 'tracepoint', category: 'syscalls', name: `sys_enter_${h.spec!.syscall}` };
      else if (at.kind === 'hook-syscall-exit') p = { kind: 'tracepoint', category: 'syscalls', name: `sys_exit_${h.spec!.syscall}` };
      else if (at.kind === 'hook-kprobe') p = { kind: 'kprobe', function: h.name };
      else if (at.kind === 'hook-kretprobe') p = { kind: 'kprobe', function: h.name, retprobe: true };
      // the target was set before load (InstancePlan.attachTargets): libbpf attaches there
      else if (at.kind === 'btf-target') p = { kind: 'auto' };
      // its sites: planned per instance (usdtInstances)
      else if (at.kind === 'hook-usdt') continue;
      else p = at.kind === 'tracepoint' ? { kind: 'tracepoint', category: at.category, name: at.name } : at;
      out.push({ program: prog.name, hook: h.name, at: p });
    }
  }
  return out;
}

/**
 * Plans loading one policy: an implementation per hook, one instance per BPF
 * object (a second one when two hooks need the same slot of one object),
 * rodata and attach points per instance. Refuses, with the reason, anything
 * this kernel cannot carry out: never a plan that silently does less.
 */
export function planLoad(spec: PolicySpec, features: Features, host: PlanHost = realHost): LoadPlan | Refusal {
  const invalid = (reason: string): Refusal => ({ ok: false, kind: 'invalid', reason });
  const unsupported = (reason: string, feature?: FeatureName): Refusal => ({ ok: false, kind: 'unsupported', reason, ...(feature ? { feature } : {}) });
  for (const m of REQUIRED_IMAGE_MAPS) if (!spec.maps.some((x) => x.name === m)) return invalid(`the image has no ${m} map`);
  if (!spec.hooks.length) return invalid('no hooks');
  // what talon's BPF programs or this kernel cannot serve: refused whole, never a partial load
  const reasons = unsupportedReasons(spec, features);
  if (reasons.length > 0) return unsupported(reasons.join('; '));
  // 1. an implementation per hook, and what it can enforce
  const chosen: { impl: HookImpl; hook: HookSpec; conf?: Buffer; usdt?: UsdtInstance[] }[] = [];
  // a list hook is served as one hook per list value (lists.ts)
  const skipped: string[] = [];
  const btf = () => host.btf?.() ?? 'no BTF reader on this host';
  for (const h of expandListHooks(spec)) {
    const skip = callNotFoundSkip(h, btf);
    if (skip) {
      skipped.push(skip);
      continue;
    }
    const c = chooseImpl(h.hookId, h.name, features, h);
    if (!c.ok) return unsupported(c.reason);
    const impl = c.impl;
    const noReturn = returnRefusal(h, impl);
    if (noReturn) return unsupported(`hook ${h.name}: ${noReturn}`);
    for (const a of h.actions) {
      if (a === 'Post' || a === 'NoPost') continue;
      if (!impl.actions.includes(a)) {
        const why = whyNotAction(h.hookId, a, features, h);
        const hint =
          a === 'Override'
            ? `an Override needs BPF LSM, fmod_ret or bpf_override_return, none of which this kernel offers${why ? ` (${why})` : ''}`
            : `${impl.sensor} supports ${impl.actions.join(', ')}`;
        return unsupported(`hook ${h.name}: action ${a} cannot be carried out by ${impl.sensor} (${impl.mechanism}): ${hint}`);
      }
    }
    if (!features.sendSignal && h.actions.some((a) => a === 'Sigkill' || a === 'Signal')) {
      return unsupported(`hook ${h.name}: Sigkill/Signal need bpf_send_signal, which this kernel lacks`, 'sendSignal');
    }
    let conf: Buffer | undefined;
    let usdt: UsdtInstance[] | undefined;
    if (impl.confVar) {
      try {
        if (h.kind === 'usdt') usdt = usdtInstances(h, host.uprobe ?? realUprobeHost);
        else conf = genericConf(h, host, impl);
        if (conf && h.member) conf.writeUInt16LE(h.member, LAYOUT['offsetof(struct tln_gen_conf, member)']);
      } catch (e) {
        return unsupported(`hook ${h.name}: ${(e as Error).message}`);
      }
    }
    chosen.push({ impl, hook: h, conf, usdt });
  }
  for (const m of spec.maps) if (!m.name.startsWith('tln_')) return invalid(`map ${m.name}: image map names start with tln_`);
  // 2. instances: one per object, a second one when a slot variable repeats
  for (const m of spec.maps) {
    if (REPLACED_IMAGE_MAPS[m.name]) continue;
    const shape = INNER_MAPS.find((x) => x.image === m.name);
    if (!shape) return invalid(`map ${m.name}: not a map talon's programs know`);
    if (m.type !== shape.type || m.valueSize !== shape.valueSize || m.keySize > shape.keySize) {
      return invalid(
        `map ${m.name}: type ${m.type}, key ${m.keySize}, value ${m.valueSize} do not fit the programs' (type ${shape.type}, key <= ${shape.keySize}, value ${shape.valueSize})`,
      );
    }
  }
  // 2. shared programs per dispatch kind; per-hook instances for generic hooks; units
  const shared: SharedPlan[] = [];
  const instances: InstancePlan[] = [];
  const perKind = new Map<number, number[]>();
  for (const { impl, hook, conf, usdt } of chosen) {
    const object = impl.object!;
    const name = object.replace(/\.bpf\.o$/, '');
    // a USDT probe: an instance per group of its sites (each reads the arguments as its notes say)
    for (const g of usdt ?? []) {
      const path = hook.spec!.usdt!.path;
      instances.push({
        object,
        name,
        programs: impl.programs.map((p) => p.name),
        rodata: { [impl.slotVar]: hook.slot, [impl.confVar!]: g.gen, tln_usdt: g.usdt },
        attach: g.offsets.map((offset) => ({
          program: impl.programs[0]!.name,
          hook: hook.name,
          at: { kind: 'uprobe', path, symbol: '', offset, ...(g.refCtrOffset ? { refCtrOffset: g.refCtrOffset } : {}) },
        })),
      });
    }
    if (usdt) continue;
    if (impl.dhook === undefined) {
      const inst: InstancePlan = {
        object,
        name,
        programs: programsFor(impl, hook).map((p) => p.name),
        rodata: { [impl.slotVar]: hook.slot },
        attach: attachPoints(impl, hook, host),
      };
      // a BTF tracepoint's target is its event (libbpf finds btf_trace_<event>)
      const target = hook.kind === 'tracepoint' && hook.tracepoint ? hook.tracepoint.event : hook.name;
      if (impl.btfTarget) for (const prog of impl.programs) (inst.attachTargets ??= {})[prog.name] = target;
      if (impl.confVar && conf) inst.rodata[impl.confVar] = conf;
      if (inst.attach.length === 0) return unsupported(`hook ${hook.name}: none of the tracepoints ${impl.sensor} attaches to exists on this kernel`);
      instances.push(inst);
      continue;
    }
    const slots = perKind.get(impl.dhook) ?? [];
    slots.push(hook.slot);
    perKind.set(impl.dhook, slots);
    const key = `${object}#${impl.dhook}`;
    if (shared.some((x) => x.key === key)) continue;
    const sp: SharedPlan = {
      key,
      dhook: impl.dhook,
      object,
      name,
      programs: impl.programs.map((p) => p.name),
      rodata: {},
      attach: attachPoints(impl, hook, host),
    };
    if (object === 'tln_sock.bpf.o') sp.rodata.tln_has_set_retval = features.setRetval ? 1 : 0;
    shared.push(sp);
  }
  const nunits = Math.max(1, ...[...perKind.values()].map((v) => v.length));
  if (nunits > MAX_UNITS) return invalid(`${nunits} hooks of one kind: talon serves at most ${MAX_UNITS}`);
  const units: number[][] = [];
  for (let u = 0; u < nunits; u++) {
    const row: number[] = [];
    for (let dh = 0; dh < LAYOUT.TLN_DHOOKS; dh++) row.push(perKind.get(dh)?.[u] ?? 0xff);
    units.push(row);
  }
  return {
    ok: true,
    maps: spec.maps,
    shared,
    instances,
    units,
    hooks: chosen.map(({ impl, hook }) => ({ slot: hook.slot, name: hook.name, sensor: impl.sensor, mechanism: impl.mechanism })),
    skipped,
  };
}
