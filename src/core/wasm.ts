// Loads the Wasm policy core (build/talon.wasm) with @assemblyscript/loader and
// moves bytes in and out of it. Nothing here knows about policies: values go in
// as a generic value tree, results come back as bytes or JSON text produced by
// the core. Inputs, results and messages cross as the loader's managed objects
// (pinned ArrayBuffers in, ArrayBuffer and string out); only the per-event
// paths (hook records, evaluator records) write straight into buffers the core
// keeps, because a managed allocation per event would cost more than the
// evaluation itself.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { instantiateSync, type ASUtil } from '@assemblyscript/loader';

/** Raw exports of build/talon.wasm (see assembly/index.ts). */
export interface CoreExports extends Record<string, unknown> {
  memory: WebAssembly.Memory;
  setInput(buf: number): void;
  inputPtr(len: number): number;
  recordPtr(len: number): number;
  outBuffer(): number;
  textString(): number;
  compile(len: number): number;
  inspect(len: number): number;
  podMatches(len: number, index: number): number;
  evalCreate(len: number): number;
  evalRecord(len: number): number;
  evalEncode(len: number): number;
  evalEvent(len: number): number;
  evalVerdict(code: number): void;
  evalUnknown(): void;
  evalReadsContext(): number;
  language(): void;
  evalMatchesPtr(): number;
  evalSetMode(index: number, len: number): void;
  evalHookRecord(recLen: number, ctxLen: number): number;
  decodeHookRecord(recLen: number): number;
  hookEventPtr(): number;
  abiTable(): void;
  mapNames(): void;
  // map updates (assembly/updates.ts)
  modeUpdates(len: number): number;
  cgroupUpdates(len: number, which: number): number;
}

let cachedModule: WebAssembly.Module | null = null;
let initialPages = 0;

function leb(b: Uint8Array, at: { p: number }): number {
  let v = 0;
  for (let shift = 0; ; shift += 7) {
    const x = b[at.p++];
    v += (x & 0x7f) * 2 ** shift;
    if (!(x & 0x80)) return v;
  }
}

/** the initial pages the module declares for its imported memory (asconfig.json: importMemory) */
function importedMemoryPages(b: Uint8Array): number {
  const at = { p: 8 };
  while (at.p < b.length) {
    const id = b[at.p++];
    const size = leb(b, at);
    const end = at.p + size;
    if (id === 2) {
      for (let n = leb(b, at); n > 0; n--) {
        for (let k = 0; k < 2; k++) {
          const len = leb(b, at); // module and field names
          at.p += len;
        }
        const kind = b[at.p++];
        if (kind === 0) leb(b, at);
        else if (kind === 1 || kind === 2) {
          if (kind === 1) at.p++; // reftype
          const flags = b[at.p++];
          const min = leb(b, at);
          if (flags & 1) leb(b, at);
          if (kind === 2) return min;
        } else at.p += 2; // global: valtype, mutability
      }
    }
    at.p = end;
  }
  throw new Error(`${wasmPath()}: the core imports no memory (build it with npm run build:wasm)`);
}

/** build/talon.wasm, or $TALON_WASM when set */
export function wasmPath(): string {
  return process.env.TALON_WASM ?? fileURLToPath(new URL('../../../build/talon.wasm', import.meta.url));
}

function wasmModule(): WebAssembly.Module {
  if (cachedModule === null) {
    const bytes = readFileSync(wasmPath());
    initialPages = importedMemoryPages(bytes);
    cachedModule = new WebAssembly.Module(bytes);
  }
  return cachedModule;
}

const utf8 = new TextEncoder();

/** One instance of the core with its own memory and state. */
export class Core {
  readonly x: CoreExports & ASUtil;
  private view: Uint8Array;
  /** the pinned ArrayBuffer that is the core's current input (0: none) */
  private pinned = 0;

  /** budget: the most memory this instance may grow to (bytes; the engine refuses growth past it) */
  constructor(readonly budget = coreMemoryBudget) {
    let self: Core | null = null;
    const module = wasmModule();
    const pages = Math.max(initialPages, Math.min(MAX_PAGES, Math.floor(budget / 65536)));
    const memory = new WebAssembly.Memory({ initial: initialPages, maximum: pages });
    const { exports } = instantiateSync<CoreExports>(module, {
      env: {
        memory,
        abort: (msg: number, file: number, line: number, col: number) => {
          const m = self && msg ? self.x.__getString(msg) : '?';
          const f = self && file ? self.x.__getString(file) : '?';
          throw new Error(`talon core aborted: ${m} (${f}:${line}:${col})`);
        },
      },
    });
    this.x = exports;
    this.view = new Uint8Array(this.x.memory.buffer);
    self = this;
  }

  /** the current memory view (memory may have grown since the last call) */
  mem(): Uint8Array {
    if (this.view.buffer !== this.x.memory.buffer) this.view = new Uint8Array(this.x.memory.buffer);
    return this.view;
  }

  /** makes bytes the core's input (a managed buffer, pinned until the next input); returns their length */
  input(bytes: Uint8Array): number {
    const p = this.x.__pin(this.x.__newArrayBuffer(bytes as unknown as ArrayBuffer));
    this.x.setInput(p);
    if (this.pinned !== 0) this.x.__unpin(this.pinned);
    this.pinned = p;
    return bytes.length;
  }

  /** copies bytes into the core's own input buffer: the per-event path, no allocation once it is big enough */
  inputRaw(bytes: Uint8Array): number {
    const p = this.x.inputPtr(bytes.length);
    this.mem().set(bytes, p);
    return bytes.length;
  }

  /** result text (JSON or a message) of the last call */
  text(): string {
    return this.x.__getString(this.x.textString());
  }

  /** a copy of the result bytes of the last call */
  out(): Uint8Array {
    return new Uint8Array(this.x.__getArrayBuffer(this.x.outBuffer()));
  }

  /** frees what the last calls allocated (no Wasm frame is live here); the pinned input survives */
  collect(): void {
    this.x.__collect();
  }
}

/** The core's memory budget: asconfig.json's maximumMemory (8192 pages). A compile that needs more
 *  is refused (CoreBudgetError) instead of trapping at the 4 GiB limit of wasm32. */
export const CORE_MEMORY_BUDGET = 8192 * 65536;
const MAX_PAGES = 8192;
let coreMemoryBudget = CORE_MEMORY_BUDGET;

/** Past this the shared instance is dropped after the call, so one large compile does not keep
 *  its memory for the life of the process (Wasm memory never shrinks). */
const RECYCLE_AT = 64 * 1048576;

/** The core ran out of its memory budget: the input is too large, not a bug. */
export class CoreBudgetError extends Error {}

/** A trap at (or near) the memory maximum is the allocator failing to grow. */
function budgetExceeded(core: Core, e: unknown): boolean {
  return e instanceof WebAssembly.RuntimeError && core.x.memory.buffer.byteLength + Math.min(16 * 1048576, core.budget / 4) >= core.budget;
}

let shared: Core | null = null;
/** Sets the memory budget of the instances created from now on (a compile worker's budget); the shared one is renewed. */
export function setCoreMemoryBudget(bytes: number): void {
  coreMemoryBudget = Math.min(CORE_MEMORY_BUDGET, bytes);
  shared = null;
}
let lastBytes = 0;

/** bytes of Wasm memory the shared instance had at the end of the last call (the bench and the bound test read it) */
export function coreMemoryOfLastCall(): number {
  return lastBytes;
}

/** the instance shared by compile, inspectImage, podMatches and abiTable */
export function sharedCore(): Core {
  if (shared === null) shared = new Core();
  return shared;
}

/** Runs f on the shared instance; after a trap, the next call gets a fresh instance. */
export function withShared<T>(f: (core: Core) => T): T {
  const core = sharedCore();
  try {
    return f(core);
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError || (e instanceof Error && e.message.startsWith('talon core aborted'))) shared = null;
    if (budgetExceeded(core, e)) throw new CoreBudgetError(`the input needs more than ${Math.round(core.budget / 1048576)} MiB of policy-core memory`);
    throw e;
  } finally {
    lastBytes = core.x.memory.buffer.byteLength;
    if (shared === core) {
      if (core.x.memory.buffer.byteLength > RECYCLE_AT) shared = null;
      else core.collect();
    }
  }
}

// ---- value tree (docs/map-format.md, "value tree") ----

const T_NULL = 0;
const T_FALSE = 1;
const T_TRUE = 2;
const T_INT = 3;
const T_FLOAT = 4;
const T_STRING = 5;
const T_ARRAY = 6;
const T_OBJECT = 7;

class TreeWriter {
  buf = new Uint8Array(4096);
  dv = new DataView(this.buf.buffer);
  len = 0;

  private need(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
    this.dv = new DataView(nb.buffer);
  }
  tag(t: number): void {
    this.need(1);
    this.buf[this.len++] = t;
  }
  u32(v: number): void {
    this.need(4);
    this.dv.setUint32(this.len, v, true);
    this.len += 4;
  }
  text(s: string): void {
    // worst case 3 bytes per UTF-16 unit
    this.need(4 + s.length * 3);
    const r = utf8.encodeInto(s, this.buf.subarray(this.len + 4));
    this.dv.setUint32(this.len, r.written, true);
    this.len += 4 + r.written;
  }
  value(v: unknown): void {
    if (v === null || v === undefined) this.tag(T_NULL);
    else if (v === false) this.tag(T_FALSE);
    else if (v === true) this.tag(T_TRUE);
    else if (typeof v === 'bigint') {
      this.tag(T_INT);
      this.text(v.toString());
    } else if (typeof v === 'number') {
      if (Number.isInteger(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER) {
        this.tag(T_INT);
        this.text(String(v === 0 ? 0 : v));
      } else {
        this.tag(T_FLOAT);
        this.text(String(v));
      }
    } else if (typeof v === 'string') {
      this.tag(T_STRING);
      this.text(v);
    } else if (Array.isArray(v)) {
      this.tag(T_ARRAY);
      this.u32(v.length);
      for (const item of v) this.value(item);
    } else if (typeof v === 'object') {
      const keys = Object.keys(v as object);
      this.tag(T_OBJECT);
      this.u32(keys.length);
      for (const k of keys) {
        this.text(k);
        this.value((v as Record<string, unknown>)[k]);
      }
    } else this.tag(T_NULL);
  }
}

/** Encodes any plain JS value as a value tree. */
export function encodeTree(v: unknown): Uint8Array {
  const w = new TreeWriter();
  w.value(v);
  return w.buf.subarray(0, w.len);
}
