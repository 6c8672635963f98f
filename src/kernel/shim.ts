// The typed face of the native addon in shim/ (node-api over libbpf; API in shim/module.c).
// It is policy-agnostic: objects, maps, links, the ring buffer and probes.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ProbeResult {
  release?: string;
  bpf: boolean;
  bpfError?: string;
  btf: boolean;
  ringbuf: boolean;
  lpmTrie: boolean;
  lruHash: boolean;
  tracepoint: boolean;
  cgroupSockAddr: boolean;
  sendSignal: boolean;
  overrideReturn: boolean;
  setRetval: boolean;
  bpfLoop: boolean;
  snprintf: boolean;
  tpBtf: boolean;
  tpBtfError?: string;
  fentry: boolean;
  fentryError?: string;
  lsm: boolean;
  lsmError?: string;
  kprobes: boolean;
  uprobes: boolean;
}

export interface LoadedObject {
  handle: number;
  /** program name -> fd (loaded programs only) */
  progs: Record<string, number>;
  /** map name -> fd (reused maps included) */
  maps: Record<string, number>;
}

export interface ObjLoadOptions {
  /** object name (prefix of libbpf's internal map names); must start with tln_ */
  name?: string;
  /** `const volatile` globals in .rodata, set before load; a Buffer sets a struct (exactly its size) */
  rodata?: Record<string, number | bigint | boolean | Buffer>;
  /** map name -> fd of a map created beforehand */
  reuse?: Record<string, number>;
  /** programs to load; the others get autoload off. Absent: all. */
  programs?: string[];
  /** fentry/fmod_ret/lsm programs: program -> the kernel function (or LSM hook) it attaches to */
  attachTargets?: Record<string, string>;
}

export interface MapInfo {
  id: number;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
}

export interface ProgInfo {
  id: number;
  type: number;
  name: string;
  jitedLen: number;
  xlatedLen: number;
  verifiedInsns: number;
  runTimeNs: number;
  runCnt: number;
}

/** An error thrown by the shim: errno, its name, and for loads the verifier log. */
export interface ShimError extends Error {
  errno?: number;
  code?: string;
  log?: string;
  libbpf?: string;
}

export interface Shim {
  probe(): ProbeResult;
  ensureMount(fstype: 'bpf' | 'tracefs' | 'securityfs', target: string): 'present' | 'mounted';
  objLoad(path: string, opts: ObjLoadOptions): LoadedObject;
  objClose(handle: number): void;
  attach(handle: number, prog: string): number;
  attachTracepoint(handle: number, prog: string, category: string, name: string): number;
  attachCgroup(handle: number, prog: string, cgroupPath: string): number;
  /** a uprobe (or uretprobe) on `symbol` (+ `offset`; symbol "": at file offset `offset`) of the ELF file `path`;
   * pid -1: every process; refCtrOffset: the file offset of a semaphore the kernel counts up while attached */
  attachUprobe(handle: number, prog: string, path: string, symbol: string, retprobe: boolean, pid: number, offset?: number, refCtrOffset?: number): number;
  /** a kprobe (or kretprobe) on a kernel function; throws ENOENT when there is no such function */
  attachKprobe(handle: number, prog: string, fn: string, retprobe: boolean): number;
  linkDestroy(link: number): void;
  /** pins the link in bpffs: it stays attached when this process ends (until the pin is removed) */
  linkPin(link: number, path: string): void;
  /** forgets the link without detaching it (a pinned link keeps enforcing after this process) */
  linkRelease(link: number): void;
  /** pins a map (or program) fd in bpffs */
  objPin(fd: number, path: string): void;
  /** the fd of a pinned map, program or link */
  objGet(path: string): number;
  /** innerFd: for ARRAY_OF_MAPS/HASH_OF_MAPS, a map of the inner maps' shape */
  mapCreate(type: number, name: string, keySize: number, valueSize: number, maxEntries: number, flags: number, innerFd?: number): number;
  mapUpdate(fd: number, key: Buffer, value: Buffer, flags?: number): void;
  mapUpdateBatch(fd: number, keys: Buffer, values: Buffer, count: number): number;
  mapLookup(fd: number, key: Buffer, valueSize: number): Buffer | null;
  mapDelete(fd: number, key: Buffer): boolean;
  mapNextKey(fd: number, key: Buffer | null, keySize: number): Buffer | null;
  mapInfo(fd: number): MapInfo;
  progInfo(fd: number): ProgInfo;
  fdMemlock(fd: number): number;
  closeFd(fd: number): void;
  numPossibleCpus(): number;
  /** a batch of records: one Buffer, record i ends at ends[i] and starts where i - 1 ends (recordsOf) */
  ringbufOpen(fd: number, cb: (data: Buffer, ends: Uint32Array) => void): number;
  ringbufClose(id: number): void;
}

/** The repository root: the nearest folder above this file holding package.json. */
export function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(d, 'package.json'))) return d;
    d = resolve(d, '..');
  }
  return process.cwd();
}

export const SHIM_PATH = () => join(repoRoot(), 'shim', 'build', 'Release', 'tln_shim.node');
export const BPF_DIR = () => join(repoRoot(), 'bpf', '.output');

let cached: Shim | null = null;

/** Loads the addon; throws with the build command when it is missing. */
export function loadShim(path = SHIM_PATH()): Shim {
  if (cached) return cached;
  if (!existsSync(path)) {
    throw new Error(`native shim not built: ${path} is missing (run: bash scripts/build-native.sh)`);
  }
  const require = createRequire(import.meta.url);
  cached = require(path) as Shim;
  return cached;
}

/** The records of a ring-buffer batch as views of its one Buffer (no copies). */
export function recordsOf(data: Buffer, ends: Uint32Array): Buffer[] {
  const out = new Array<Buffer>(ends.length);
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    out[i] = data.subarray(start, ends[i]);
    start = ends[i];
  }
  return out;
}
