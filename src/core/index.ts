// The typed API of the Wasm policy core. This file only marshals: every
// decision (selector semantics, scoping, modes, value parsing, limits) is made
// inside assembly/. See docs/map-format.md for the formats crossing the boundary.
import { Core, withShared, encodeTree } from './wasm.js';
import type {
  CompileOptions,
  CompileResult,
  Diagnostic,
  EvalEvent,
  MapSpec,
  ModeChange,
  PodInfo,
  PolicySpec,
  Verdict,
} from './types.js';

export type * from './types.js';

/** evaluateEncoded results */
export const VERDICT_CODES = { invalid: -1, none: 0, post: 1, signal: 2, override: 3, kill: 4 } as const;

/**
 * Compiles Tetragon policy documents (plain JS values from `yaml`) into an image.
 * `image` is null when any diagnostic is an error.
 */
export function compile(docs: unknown[], opts: CompileOptions): CompileResult {
  return withShared((core) => {
    const len = core.input(encodeTree([docs, { defaultNamespace: opts.defaultNamespace, mode: opts.mode ?? null }]));
    const rc = core.x.compile(len);
    if (rc < 0) throw new TypeError(core.text());
    const diagnostics = JSON.parse(core.text()) as Diagnostic[];
    return { image: rc === 1 ? core.out() : null, diagnostics };
  });
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

/** Every size, offset and enum value assembly/abi.ts mirrors from tln_abi.h. */
export function abiTable(): Record<string, number> {
  return withShared((core) => {
    core.x.abiTable();
    return JSON.parse(core.text()) as Record<string, number>;
  });
}

/** The map names (TLN_MAP_*) assembly/abi.ts mirrors. */
export function abiMapNames(): Record<string, string> {
  return withShared((core) => {
    core.x.mapNames();
    return JSON.parse(core.text()) as Record<string, string>;
  });
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

  constructor(image: Uint8Array) {
    this.core = new Core();
    const len = this.core.input(image);
    if (this.core.x.evalCreate(len) !== 1) throw new Error(`Evaluator: ${this.core.text()}`);
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

  /** The Verdict of the last evaluateEncoded call. */
  lastVerdict(code: number): Verdict {
    this.core.x.evalVerdict(code);
    const v = JSON.parse(this.core.text()) as Verdict;
    this.core.collect();
    return v;
  }
}
