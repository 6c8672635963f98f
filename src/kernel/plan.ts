// The load plan: what loading one policy into this kernel means, decided
// without a single syscall. Given the policy's spec (from the core's
// inspectImage) and the probed features, planLoad picks an implementation per
// hook (catalog.ts), groups the hooks into BPF object instances, and lists
// per instance the programs to load, the rodata constants and the attach
// points; or it returns why this kernel cannot serve the policy. The loader
// (loader.ts) then only performs the plan through the shim. Like cilium/ebpf's
// spec vs. collection: this half is the same on every host given the same
// inputs, so tests feed it plain feature objects and need no root.
import { unsupportedReasons } from './support.js';
import { existsSync } from 'node:fs';
import type { HookSpec, MapSpec, PolicySpec } from '../core/types.js';
import { chooseImpl, whyNotAction, type HookImpl } from './catalog.js';
import { describeFeatures, type FeatureName, type Features } from './features.js';
import { LAYOUT } from './records.js';
import { readFormat, tracepointConf, uprobeConf, type FormatField } from './tracefs.js';

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
    { name: 'tln_pod_cgroups', type: MAP_TYPE.HASH, keySize: 8, valueSize: 1, maxEntries: 32768, flags: BPF_F_NO_PREALLOC },
    { name: 'tln_pending', type: MAP_TYPE.LRU_HASH, keySize: 8, valueSize: LAYOUT['sizeof(struct tln_pending)'], maxEntries: 4096, flags: 0 },
  ];
}

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
export const PROCESS_SENSOR = { object: 'tln_process.bpf.o', name: 'tln_process', programs: ['tln_exec', 'tln_fork', 'tln_exit'] } as const;

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
  | { kind: 'tracepoint'; category: string; name: string }
  | { kind: 'cgroup' } // the cgroup v2 root
  | { kind: 'uprobe'; path: string; symbol: string }
  | { kind: 'auto' }; // the program's section says where

export interface PlannedAttach {
  program: string;
  /** the hook it serves (attach errors are reported in its terms) */
  hook: string;
  at: AttachPoint;
}

/** One instance of a BPF object: the programs to load, their read-only config, their attach points. */
export interface InstancePlan {
  /** file in the BPF directory, e.g. tln_file.bpf.o */
  object: string;
  /** libbpf object name, e.g. tln_file */
  name: string;
  programs: string[];
  /** `const volatile` globals; the loader adds tln_policy_id (agent-assigned, not part of the plan) */
  rodata: Record<string, number | Buffer>;
  attach: PlannedAttach[];
}

export interface LoadPlan {
  ok: true;
  /** the policy's maps, created from its image before any instance is loaded */
  maps: MapSpec[];
  instances: InstancePlan[];
  /** which sensor serves each hook */
  hooks: { slot: number; name: string; sensor: string; mechanism: HookImpl['mechanism'] }[];
}

/** What the plan reads from the host besides the features (tracefs formats, files); replaceable in tests. */
export interface PlanHost {
  /** the fields of a tracepoint's format, or why they cannot be read */
  tracepointFormat(subsystem: string, event: string): FormatField[] | string;
  fileExists(path: string): boolean;
}

export const realHost: PlanHost = {
  tracepointFormat: (s, e) => readFormat(s, e),
  fileExists: (p) => existsSync(p),
};

/** maps of a policy image a program instance cannot run without */
const REQUIRED_IMAGE_MAPS = ['tln_policy', 'tln_hooks', 'tln_stats'];

/** struct tln_gen_conf of a tracepoint or uprobe hook; throws with the reason it cannot be served */
function genericConf(h: HookSpec, host: PlanHost): Buffer {
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
  return uprobeConf(h);
}

/** The attach points of one program of `impl` serving hook `h`. */
function attachPoints(impl: HookImpl, h: HookSpec): PlannedAttach[] {
  const out: PlannedAttach[] = [];
  for (const prog of impl.programs) {
    for (const at of prog.attach) {
      let p: AttachPoint;
      if (at.kind === 'hook-tracepoint') p = { kind: 'tracepoint', category: h.tracepoint!.subsystem, name: h.tracepoint!.event };
      else if (at.kind === 'hook-uprobe') p = { kind: 'uprobe', path: h.uprobe!.path, symbol: h.uprobe!.symbol };
      else p = at;
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
  const chosen: { impl: HookImpl; hook: HookSpec; conf?: Buffer }[] = [];
  for (const h of spec.hooks) {
    const c = chooseImpl(h.hookId, h.name, features);
    if (!c.ok) return unsupported(c.reason);
    const impl = c.impl;
    if (h.returnFilters) {
      return unsupported(`hook ${h.name}: matchReturnArgs needs the return value, which ${impl.sensor} (${impl.mechanism}) does not see on this kernel`);
    }
    for (const a of h.actions) {
      if (a === 'Post' || a === 'NoPost') continue;
      if (!impl.actions.includes(a)) {
        const why = whyNotAction(h.hookId, a, features);
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
    if (impl.confVar) {
      try {
        conf = genericConf(h, host);
      } catch (e) {
        return unsupported(`hook ${h.name}: ${(e as Error).message}`);
      }
    }
    chosen.push({ impl, hook: h, conf });
  }
  for (const m of spec.maps) if (!m.name.startsWith('tln_')) return invalid(`map ${m.name}: image map names start with tln_`);
  // 2. instances: one per object, a second one when a slot variable repeats
  const str = spec.maps.find((m) => m.name === 'tln_str');
  const strCap = str ? Math.max(1, Math.min(255, str.keySize - 5)) : 255;
  const instances: InstancePlan[] = [];
  for (const { impl, hook, conf } of chosen) {
    const object = impl.object!;
    let inst = instances.find((x) => x.object === object && !(impl.slotVar in x.rodata));
    if (!inst) {
      inst = { object, name: object.replace(/\.bpf\.o$/, ''), programs: [], rodata: { tln_str_cap: strCap }, attach: [] };
      if (object === 'tln_sock.bpf.o') inst.rodata.tln_has_set_retval = features.setRetval ? 1 : 0;
      instances.push(inst);
    }
    inst.rodata[impl.slotVar] = hook.slot;
    if (impl.confVar && conf) inst.rodata[impl.confVar] = conf;
    for (const prog of impl.programs) if (!inst.programs.includes(prog.name)) inst.programs.push(prog.name);
    inst.attach.push(...attachPoints(impl, hook));
  }
  return {
    ok: true,
    maps: spec.maps,
    instances,
    hooks: chosen.map(({ impl, hook }) => ({ slot: hook.slot, name: hook.name, sensor: impl.sensor, mechanism: impl.mechanism })),
  };
}
