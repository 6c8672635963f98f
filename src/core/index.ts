// The typed API of the Wasm policy core. This file only marshals: every
// decision (selector semantics, scoping, modes, value parsing, limits) is made
// inside assembly/. See docs/map-format.md for the formats crossing the boundary.
import { Core, CoreBudgetError, withShared, encodeTree } from './wasm.js';
import * as G from '../abi/generated.js';
import { evrecArgs, evrecReturn, podBlock } from './evrec.js';
import type {
  EvalArg,
  HookContext,
  CompileOptions,
  CompileResult,
  Diagnostic,
  EvalEvent,
  MapSpec,
  MapUpdate,
  Match,
  ModeChange,
  PodInfo,
  PolicySpec,
  Verdict,
  VerdictKind,
} from './types.js';

export type * from './types.js';

/** evaluateEncoded results */
export const VERDICT_CODES = { invalid: -1, none: 0, post: 1, signal: 2, override: 3, kill: 4 } as const;
const VERDICT_KINDS: readonly VerdictKind[] = ['none', 'post', 'signal', 'override', 'kill'];

/** the match buffer (docs/map-format.md §4.2): struct tln_evmatch_hdr, then struct tln_evmatch records */
const MATCH_HDR = G.tln_evmatch_hdr.sizeof;
const MR = G.tln_evmatch;

function u32At(m: Uint8Array, p: number): number {
  return (m[p] | (m[p + 1] << 8) | (m[p + 2] << 16) | (m[p + 3] << 24)) >>> 0;
}

function u16At(m: Uint8Array, p: number): number {
  return m[p] | (m[p + 1] << 8);
}

/** within a policy, what identifies a match's names: hook slot, selector, mode */
function matchKey(m: Uint8Array, r: number): number {
  return u16At(m, r + MR.hook) * 2 ** 24 + u16At(m, r + MR.selector) * 256 + m[r + MR.mode];
}

const utf8 = new TextEncoder();
let decoder: Core | null = null;
let decodes = 0;

/**
 * The argument values of a raw kernel hook record (struct tln_hook_rec + data,
 * bpf/include/tln_events.h), decoded by the core (assembly/hookrec.ts, the one
 * decoder of these records); null when it is not a hook record of this version.
 */
export function decodeHookArgs(raw: Uint8Array): EvalArg[] | null {
  const core = (decoder ??= new Core());
  const n = core.x.decodeHookRecord(core.inputRaw(raw));
  if (n < 0) return null;
  const args = evrecArgs(core.mem(), core.x.hookEventPtr());
  // nothing is allocated per record but the rare growth of a buffer
  if (++decodes % 4096 === 0) core.collect();
  return args;
}

/** What a match record (docs/map-format.md §4.2) does not carry: names, cached per policy, hook, selector and mode. */
interface MatchNames {
  policy: string;
  namespace: string | null;
  actions: string[];
  mode: Match['mode'];
}

/**
 * Compiles Tetragon policy documents (plain JS values from `yaml`) into an image.
 * `image` is null when any diagnostic is an error.
 */
export function compile(docs: unknown[], opts: CompileOptions): CompileResult {
  try {
    return withShared((core) => {
      const len = core.input(encodeTree([docs, { defaultNamespace: opts.defaultNamespace, mode: opts.mode ?? null }]));
      const rc = core.x.compile(len);
      if (rc < 0) throw new TypeError(core.text());
      const diagnostics = JSON.parse(core.text()) as Diagnostic[];
      return { image: rc === 1 ? core.out() : null, diagnostics };
    });
  } catch (e) {
    // too large to compile: an error of the input (its first document), never a trap or garbage
    if (!(e instanceof CoreBudgetError)) throw e;
    return {
      image: null,
      diagnostics: [{ doc: 0, path: [], message: `policy too large to compile: ${e.message} (split it, or shorten its value lists)`, severity: 'error' }],
    };
  }
}

interface RawMap extends Omit<MapSpec, 'entries'> {
  offset: number;
  length: number;
}

/** The loader's view of an image: per policy its identity, scope, hooks and maps. */
export function inspectImage(image: Uint8Array): PolicySpec[] {
  return withShared((core) => {
    const len = core.input(image);
    if (core.x.inspect(len) !== 1) throw new Error(`inspectImage: ${core.text()}`);
    const raw = JSON.parse(core.text()) as (Omit<PolicySpec, 'maps'> & { maps: RawMap[] })[];
    return raw.map((p) => ({
      ...p,
      maps: p.maps.map(({ offset, length, ...m }) => ({ ...m, entries: image.slice(offset, offset + length) })),
    }));
  });
}

/** Does policy `policyIndex` of the image apply to a process of `pod` (null: a host process)? */
export function podMatches(image: Uint8Array, policyIndex: number, pod: PodInfo | null): boolean {
  return withShared((core) => {
    const tree = encodeTree(pod);
    const buf = new Uint8Array(4 + image.length + tree.length);
    new DataView(buf.buffer).setUint32(0, image.length, true);
    buf.set(image, 4);
    buf.set(tree, 4 + image.length);
    const rc = core.x.podMatches(core.input(buf), policyIndex);
    if (rc < 0) throw new Error(`podMatches: ${core.text()}`);
    return rc === 1;
  });
}

/** One language element: its Tetragon name, its enum value, and whether talon's BPF programs serve it. */
export type LanguageEntry = [name: string, id: number, kernel: boolean];

/** The core's language tables: what the README's language table is generated from. */
export interface LanguageTables {
  hookKinds: [name: string, id: number][];
  argTypes: LanguageEntry[];
  operators: LanguageEntry[];
  actions: LanguageEntry[];
  options: string[];
}

export function languageTables(): LanguageTables {
  return withShared((core) => {
    core.x.language();
    return JSON.parse(core.text()) as LanguageTables;
  });
}

/** Every size, offset and enum value assembly/abi.ts mirrors from tln_abi.h. */
export function abiTable(): Record<string, number> & Record<`TLN_MAP_${string}`, string> {
  return withShared((core) => {
    core.x.abiTable();
    return JSON.parse(core.text()) as Record<string, number> & Record<`TLN_MAP_${string}`, string>;
  });
}

/** The map names (TLN_MAP_*) assembly/abi.ts mirrors. */
export function abiMapNames(): Record<string, string> {
  return withShared((core) => {
    core.x.mapNames();
    return JSON.parse(core.text()) as Record<string, string>;
  });
}

// ---- map updates that follow a core decision (docs/map-format.md §7) ----

/** The core's update list (u32 count; per update u8 op, u8 name length, name, u16 key and value lengths, key, value). */
export function decodeMapUpdates(b: Uint8Array): MapUpdate[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const dec = new TextDecoder();
  const n = dv.getUint32(0, true);
  const out: MapUpdate[] = [];
  let p = 4;
  for (let i = 0; i < n; i++) {
    const op = b[p];
    if (op !== 1 && op !== 2) throw new Error(`decodeMapUpdates: update ${i} has op ${op}`);
    const nl = b[p + 1];
    const map = dec.decode(b.subarray(p + 2, p + 2 + nl));
    p += 2 + nl;
    const kl = dv.getUint16(p, true);
    const vl = dv.getUint16(p + 2, true);
    p += 4;
    const key = b.slice(p, p + kl);
    const value = op === 1 ? b.slice(p + kl, p + kl + vl) : null;
    p += kl + vl;
    out.push({ map, key, value });
  }
  if (p !== b.length) throw new Error(`decodeMapUpdates: ${b.length - p} bytes left after ${n} updates`);
  return out;
}

/**
 * The map updates that put a loaded policy in run-time mode `mode` (enforce |
 * monitor), decided by the core from the policy's maps (inspectImage's
 * MapSpecs) by the rule of Evaluator.setRuntimeMode. Throws with the core's
 * reason when the mode is refused (monitor_only policies, unknown modes).
 */
export function modeUpdates(spec: Pick<PolicySpec, 'name' | 'maps'>, mode: string): MapUpdate[] {
  return withShared((core) => {
    const enc = new TextEncoder();
    const str = (s: string): Uint8Array => {
      const t = enc.encode(s);
      const b = new Uint8Array(2 + t.length);
      new DataView(b.buffer).setUint16(0, t.length, true);
      b.set(t, 2);
      return b;
    };
    const parts: Uint8Array[] = [str(spec.name), str(mode), u32s([spec.maps.length])];
    for (const m of spec.maps) parts.push(str(m.name), u32s([m.keySize, m.valueSize, m.count]), m.entries);
    const rc = core.x.modeUpdates(core.input(concat(parts)));
    if (rc !== 1) throw new Error(core.text());
    return decodeMapUpdates(core.out());
  });
}

/** The updates of a policy's pod filter (tln_pod_filter): cgroup ids removed, then added. */
export function podFilterUpdates(add: bigint[], remove: bigint[]): MapUpdate[] {
  return cgroupUpdates(0, add, remove);
}

/** The updates of the shared set of pod cgroups (tln_pod_cgroups: what "in no pod" means). */
export function podCgroupUpdates(add: bigint[], remove: bigint[]): MapUpdate[] {
  return cgroupUpdates(1, add, remove);
}

function cgroupUpdates(which: 0 | 1, add: bigint[], remove: bigint[]): MapUpdate[] {
  return withShared((core) => {
    const b = new Uint8Array(8 + 8 * (add.length + remove.length));
    const dv = new DataView(b.buffer);
    dv.setUint32(0, add.length, true);
    dv.setUint32(4, remove.length, true);
    [...add, ...remove].forEach((id, i) => dv.setBigUint64(8 + 8 * i, BigInt.asUintN(64, id), true));
    if (core.x.cgroupUpdates(core.input(b), which) !== 1) throw new Error('cgroupUpdates: bad input');
    return decodeMapUpdates(core.out());
  });
}

function u32s(xs: number[]): Uint8Array {
  const b = new Uint8Array(4 * xs.length);
  const dv = new DataView(b.buffer);
  xs.forEach((x, i) => dv.setUint32(4 * i, x, true));
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Evaluates events against an image, as the kernel programs would. Keeps
 * rate-limit state (by event timeNs) and run-time modes. Each Evaluator owns a
 * separate instance of the core.
 */
export class Evaluator {
  private readonly core: Core;
  private recPtr = 0;
  private recCap = 0;
  private calls = 0;
  /** the core's match buffer (stable address) and the names of the matches seen so far */
  private readonly matchPtr: number;
  private readonly matchRec: number;
  private readonly names: Map<number, MatchNames>[] = [];
  /** some selector reads what EvalEvent.process / fileTypes carry (else producers may leave them out) */
  readonly readsContext: boolean;

  constructor(image: Uint8Array) {
    this.core = new Core();
    const len = this.core.input(image);
    if (this.core.x.evalCreate(len) !== 1) throw new Error(`Evaluator: ${this.core.text()}`);
    this.matchPtr = this.core.x.evalMatchesPtr();
    const m = this.core.mem();
    this.matchRec = u16At(m, this.matchPtr + G.tln_evmatch_hdr.record_size);
    this.readsContext = this.core.x.evalReadsContext() === 1;
    this.core.collect();
  }

  /** Evaluates one event; the verdict and every match. */
  evaluate(ev: EvalEvent): Verdict {
    const core = this.core;
    core.x.evalEvent(core.input(encodeTree(ev)));
    const v = JSON.parse(core.text()) as Verdict;
    if (++this.calls % 256 === 0) core.collect();
    return v;
  }

  /** Changes a policy's mode at run time (enforce | monitor). */
  setRuntimeMode(policyIndex: number, mode: string): ModeChange {
    const core = this.core;
    core.x.evalSetMode(policyIndex, core.input(new TextEncoder().encode(mode)));
    const r = JSON.parse(core.text()) as ModeChange;
    core.collect();
    return r;
  }

  /** The evaluator event record of an event (docs/map-format.md). */
  encode(ev: EvalEvent): Uint8Array {
    const core = this.core;
    core.x.evalEncode(core.input(encodeTree(ev)));
    const rec = core.out();
    core.collect();
    return rec;
  }

  /** Evaluates an encoded record; returns a verdict code (VERDICT_CODES). Allocates nothing. */
  evaluateEncoded(bytes: Uint8Array): number {
    const n = bytes.length;
    if (n > this.recCap) {
      this.recPtr = this.core.x.recordPtr(n);
      this.recCap = n;
    }
    this.core.mem().set(bytes, this.recPtr);
    return this.core.x.evalRecord(n);
  }

  /**
   * The Verdict of the last evaluateEncoded call (`code` is what it returned).
   * Reads the core's match records in place: no Wasm call, no JSON, nothing to
   * collect. The names of a match (policy, namespace, actions, mode) come from
   * the core's Verdict JSON the first time its (policy, hook, selector, mode)
   * matches, and are cached.
   */
  lastVerdict(code: number): Verdict {
    const verdict = VERDICT_KINDS[code] ?? 'none';
    let m = this.core.mem();
    const n = this.matchCount(m);
    const matches: Match[] = [];
    for (let i = 0; i < n; i++) {
      const r = this.matchPtr + MATCH_HDR + i * this.matchRec;
      const policyIndex = u32At(m, r + MR.policy);
      let nm = this.names[policyIndex]?.get(matchKey(m, r));
      if (nm === undefined) {
        this.learnNames(code);
        m = this.core.mem();
        nm = this.names[policyIndex]?.get(matchKey(m, r));
        if (nm === undefined) throw new Error(`lastVerdict: the core gave no names for match ${i}`);
      }
      const flags = m[r + MR.flags];
      matches.push({
        policy: nm.policy,
        namespace: nm.namespace,
        policyIndex,
        hook: u16At(m, r + MR.hook),
        selector: (u16At(m, r + MR.selector) << 16) >> 16,
        actions: nm.actions.slice(),
        mode: nm.mode,
        enforced: (flags & G.TLN_EVMATCH_F_ENFORCED) !== 0,
        post: (flags & G.TLN_EVMATCH_F_POST) !== 0,
      });
    }
    if (u32At(m, this.matchPtr + G.tln_evmatch_hdr.unknown) !== 0) {
      this.core.x.evalUnknown();
      const why = this.core.text();
      return { verdict, matches, unknown: why };
    }
    return { verdict, matches };
  }

  /** did the last evaluateEncoded call reach a selector it could not decide */
  lastUnknown(): boolean {
    return u32At(this.core.mem(), this.matchPtr + G.tln_evmatch_hdr.unknown) !== 0;
  }

  /** how many selectors matched in the last evaluateEncoded call, silent ones (NoPost, rate limited) included */
  lastMatchCount(): number {
    return this.matchCount(this.core.mem());
  }

  private matchCount(m: Uint8Array): number {
    return u32At(m, this.matchPtr + G.tln_evmatch_hdr.count);
  }

  /**
   * Evaluates a raw kernel hook record (struct tln_hook_rec + data, as the BPF
   * program wrote it) with what the host knows of its process: the core decodes
   * it (kernel bytes -> core -> verdict, no JSON); returns a verdict code
   * (VERDICT_CODES; invalid for a record that is not a hook record). The
   * matches: lastVerdict(code); the decoded arguments: lastHookArgs().
   */
  evaluateHookRecord(raw: Uint8Array, ctx: HookContext): number {
    const core = this.core;
    const pod = ctx.pod ? podBlock(ctx.pod) : null;
    // worst case 3 UTF-8 bytes per UTF-16 unit; the lengths are patched after encoding
    const cap = raw.length + G.tln_evctx.sizeof + 3 * (ctx.binary.length + ctx.hook.length) + (pod ? pod.length : 0);
    const p = core.x.inputPtr(cap);
    const m = core.mem();
    m.set(raw, p);
    const c = p + raw.length;
    const dv = new DataView(m.buffer);
    let at = c + G.tln_evctx.sizeof;
    const bin = utf8.encodeInto(ctx.binary, m.subarray(at)).written;
    at += bin;
    const name = utf8.encodeInto(ctx.hook, m.subarray(at)).written;
    at += name;
    if (pod) m.set(pod, at);
    at += pod ? pod.length : 0;
    dv.setBigUint64(c + G.tln_evctx.time_ns, BigInt.asUintN(64, ctx.timeNs), true);
    dv.setUint32(c + G.tln_evctx.pid, ctx.pid >>> 0, true);
    dv.setUint32(c + G.tln_evctx.binary_len, bin, true);
    dv.setUint32(c + G.tln_evctx.name_len, name, true);
    dv.setUint32(c + G.tln_evctx.pod_len, pod ? pod.length : 0, true);
    return core.x.evalHookRecord(raw.length, at - c);
  }

  /** The argument values the core decoded from the last evaluateHookRecord's record. */
  lastHookArgs(): EvalArg[] {
    return evrecArgs(this.core.mem(), this.core.x.hookEventPtr());
  }

  /** The return value the core decoded from the last evaluateHookRecord's record (kind none: the record has none). */
  lastHookReturn(): EvalArg {
    return evrecReturn(this.core.mem(), this.core.x.hookEventPtr());
  }

  /** caches the names of every match of the last evaluation: record i and the JSON's match i are the same match */
  private learnNames(code: number): void {
    const core = this.core;
    core.x.evalVerdict(code);
    const v = JSON.parse(core.text()) as Verdict;
    core.collect();
    const m = core.mem();
    const n = Math.min(this.matchCount(m), v.matches.length);
    for (let i = 0; i < n; i++) {
      const mt = v.matches[i];
      const r = this.matchPtr + MATCH_HDR + i * this.matchRec;
      const p = u32At(m, r + MR.policy);
      (this.names[p] ??= new Map()).set(matchKey(m, r), {
        policy: mt.policy,
        namespace: mt.namespace,
        actions: mt.actions,
        mode: mt.mode,
      });
    }
  }
}
