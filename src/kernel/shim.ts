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
  /** a uprobe (or uretprobe) on `symbol` of the ELF file `path`; pid -1: every process */
  attachUprobe(handle: number, prog: string, path: string, symbol: string, retprobe: boolean, pid: number): number;
  linkDestroy(link: number): void;
  mapCreate(type: number, name: string, keySize: number, valueSize: number, maxEntries: number, flags: number): number;
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
  ringbufOpen(fd: number, cb: (records: Buffer[]) => void): number;
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
