// The agent's process cache: what it knows about each process (binary,
// arguments, cwd, parent, pod cgroup), from exec records of the kernel and a
// /proc scan at start. Events get their `process` and `parent` from here.
import { readFileSync, readlinkSync, readdirSync } from 'node:fs';

export interface ProcEntry {
  pid: number;
  ppid: number;
  uid: number;
  cwd: string;
  binary: string;
  /** argv[1..], each as given */
  args: string[];
  /** Tetragon's flags: "execve clone", "procFS", ... */
  flags: string;
  /** CLOCK_MONOTONIC/boot-relative start in ns (the exec id uses it) */
  ktime: bigint;
  /** wall clock start, RFC 3339 */
  startTime: string;
  execId: string;
  /** cgroup v2 id, decimal; null when unknown */
  cgroupId: string | null;
  /** time of exit (ms since epoch), for eviction */
  exitedAt?: number;
  /** exec in place: the image this one replaced (Tetragon's parent of such an exec) */
  image?: ProcEntry;
  /** the parent's exec id when it is no longer the entry of ppid (a replaced image's own parent) */
  parentExecId?: string;
  /** --enable-process-cred / --enable-process-ns: read from /proc at exec (proc-identity.ts) */
  cap?: Record<string, unknown>;
  processCredentials?: Record<string, unknown>;
  ns?: Record<string, unknown>;
}

/** Tetragon's exec id: base64 of "node:ktime:pid". */
export function execId(node: string, ktime: bigint, pid: number): string {
  return Buffer.from(`${node}:${ktime}:${pid}`).toString('base64');
}

/** Tetragon's `arguments` string: argv[1..] joined by spaces, arguments with blanks or quotes quoted. */
export function joinArguments(args: string[]): string {
  return args.map((a) => (a === '' || /[\s"\\]/.test(a) || /[^\x20-\x7e]/.test(a) ? JSON.stringify(a) : a)).join(' ');
}

/** ns between the monotonic clock's zero and the Unix epoch, to turn ktime into wall time. */
export function monotonicOffsetNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
}

export function isoFromKtime(ktime: bigint, offsetNs: bigint): string {
  const ns = ktime + offsetNs;
  const ms = Number(ns / 1_000_000n);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`);
}

const KEEP_EXITED_MS = 30_000;
const MAX_ENTRIES = 65_536;

export class ProcessCache {
  private byPid = new Map<number, ProcEntry>();
  readonly offsetNs = monotonicOffsetNs();
  /** processes scanned at start, and exec records seen */
  scanned = 0;
  execs = 0;
  exits = 0;

  constructor(readonly node: string) {}

  get size(): number {
    return this.byPid.size;
  }

  get(pid: number): ProcEntry | undefined {
    return this.byPid.get(pid);
  }

  /** The entry of `pid`, reading /proc when the cache has none (a process started before us and missed by the scan). */
  lookup(pid: number, cgroupOf?: (pid: number) => string | null): ProcEntry | undefined {
    const e = this.byPid.get(pid);
    if (e) return e;
    const p = readProc(pid, this.node, this.offsetNs, cgroupOf);
    if (p) this.put(p);
    return p ?? undefined;
  }

  /** Scans /proc for the processes already running. */
  scan(cgroupOf?: (pid: number) => string | null): number {
    let n = 0;
    for (const d of safeReaddir('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      const p = readProc(Number(d), this.node, this.offsetNs, cgroupOf);
      if (p && !this.byPid.has(p.pid)) {
        this.put(p);
        n++;
      }
    }
    this.scanned += n;
    return n;
  }

  /** Records an exec (a new image in process `pid`). */
  exec(e: Omit<ProcEntry, 'execId' | 'startTime' | 'flags'> & { flags?: string }): ProcEntry {
    // one level of replaced images is kept: the replaced one keeps its parent's exec id only
    if (e.image) {
      e.image.parentExecId = e.image.image?.execId ?? e.image.parentExecId ?? this.byPid.get(e.image.ppid)?.execId;
      e.image.image = undefined;
    }
    const entry: ProcEntry = {
      ...e,
      flags: e.flags ?? 'execve clone',
      execId: execId(this.node, e.ktime, e.pid),
      startTime: isoFromKtime(e.ktime, this.offsetNs),
    };
    this.put(entry);
    this.execs++;
    return entry;
  }

  /** Marks a process as exited; it is kept a while for late events and children. */
  exit(pid: number): ProcEntry | undefined {
    const e = this.byPid.get(pid);
    if (e) e.exitedAt = Date.now();
    if (++this.exits % 1024 === 0) this.evict();
    return e;
  }

  private put(e: ProcEntry): void {
    this.byPid.delete(e.pid);
    this.byPid.set(e.pid, e);
    if (this.byPid.size > MAX_ENTRIES) this.evict();
  }

  /** Drops processes that exited a while ago, then the oldest when still too many. */
  evict(now = Date.now()): void {
    for (const [pid, e] of this.byPid) {
      if (e.exitedAt !== undefined && now - e.exitedAt > KEEP_EXITED_MS) this.byPid.delete(pid);
    }
    while (this.byPid.size > MAX_ENTRIES) {
      const first = this.byPid.keys().next();
      if (first.done) break;
      this.byPid.delete(first.value);
    }
  }
}

function safeReaddir(p: string): string[] {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
}

const CLK_TCK = 100n; // USER_HZ on every Linux architecture talon supports

/** Reads one process from /proc; null when it is gone or a kernel thread. */
export function readProc(pid: number, node: string, offsetNs: bigint, cgroupOf?: (pid: number) => string | null): ProcEntry | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rp = stat.lastIndexOf(')');
    const f = stat.slice(rp + 2).split(' ');
    // f[0] = state (field 3), f[1] = ppid (4), f[19] = starttime (22)
    const ppid = Number(f[1]);
    const ktime = (BigInt(f[19]) * 1_000_000_000n) / CLK_TCK;
    let binary = '';
    try {
      binary = readlinkSync(`/proc/${pid}/exe`);
    } catch {
      return null; // kernel thread (or gone)
    }
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (argv.length && argv[argv.length - 1] === '') argv.pop();
    let cwd = '/';
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      /* keep / */
    }
    let uid = 0;
    const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m) uid = Number(m[1]);
    return {
      pid,
      ppid,
      uid,
      cwd,
      binary: binary.replace(/ \(deleted\)$/, ''),
      args: argv.slice(1),
      flags: 'procFS',
      ktime,
      startTime: isoFromKtime(ktime, offsetNs),
      execId: execId(node, ktime, pid),
      cgroupId: cgroupOf ? cgroupOf(pid) : null,
    };
  } catch {
    return null;
  }
}
