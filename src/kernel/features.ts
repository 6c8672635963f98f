// What the running kernel can do, probed at run time (never assumed).
// The shim answers for BPF itself; this file adds the host facts around it.
import { existsSync, readFileSync } from 'node:fs';
import type { ProbeResult, Shim } from './shim.js';

export interface Features extends ProbeResult {
  /** mount point of the cgroup v2 hierarchy (where cgroup programs attach), or null */
  cgroup2: string | null;
  /** syscall tracepoints exist (tracefs events/syscalls) */
  syscallTracepoints: boolean;
  /** the tracepoint capability/cap_capable exists (Linux 6.15+): cap_capable served without kprobes */
  capCapableTp?: boolean;
  /** lockdown mode, e.g. "integrity", or null when unknown */
  lockdown: string | null;
}

/** Feature names a catalog entry can require (boolean fields of Features). */
export type FeatureName =
  | 'tracepoint'
  | 'syscallTracepoints'
  | 'capCapableTp'
  | 'tpBtf'
  | 'cgroupSockAddr'
  | 'cgroup2'
  | 'sendSignal'
  | 'overrideReturn'
  | 'setRetval'
  | 'bpfLoop'
  | 'snprintf'
  | 'ringbuf'
  | 'lpmTrie'
  | 'fentry'
  | 'lsm'
  | 'kprobes'
  | 'uprobes'
  | 'btf';

export function has(f: Features, name: FeatureName): boolean {
  const v = (f as unknown as Record<string, unknown>)[name];
  return v !== null && v !== undefined && v !== false;
}

/** the cgroup2 mount point from /proc/self/mounts (hybrid layouts: .../unified) */
export function findCgroup2(): string | null {
  try {
    for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
      const f = line.split(' ');
      if (f[2] === 'cgroup2') return f[1];
    }
  } catch {
    /* no /proc */
  }
  return null;
}

function lockdown(): string | null {
  try {
    const m = /\[(\w+)\]/.exec(readFileSync('/sys/kernel/security/lockdown', 'utf8'));
    return m ? m[1] : null;
  } catch {
    return null;
  }
}

export function probeFeatures(shim: Shim): Features {
  const p = shim.probe();
  const tracefs = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'].find((d) => existsSync(`${d}/events`));
  return {
    ...p,
    cgroup2: findCgroup2(),
    syscallTracepoints: !!tracefs && existsSync(`${tracefs}/events/syscalls/sys_enter_read`),
    capCapableTp: !!tracefs && existsSync(`${tracefs}/events/capability/cap_capable`),
    lockdown: lockdown(),
  };
}

/** One line per feature, for `talon probe`-like output and skip reasons. */
export function describeFeatures(f: Features): string[] {
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  return [
    `kernel ${f.release ?? '?'}, lockdown ${f.lockdown ?? '?'}`,
    `bpf: ${yes(f.bpf)}${f.bpfError ? ` (${f.bpfError})` : ''}, BTF: ${yes(f.btf)}, ringbuf: ${yes(f.ringbuf)}, LPM trie: ${yes(f.lpmTrie)}`,
    `tracepoints: ${yes(f.tracepoint)} (syscalls: ${yes(f.syscallTracepoints)}), tp_btf: ${yes(f.tpBtf)}, uprobes: ${yes(f.uprobes)}`,
    `cgroup sock_addr: ${yes(f.cgroupSockAddr)} (cgroup2 at ${f.cgroup2 ?? 'nowhere'}), bpf_set_retval: ${yes(f.setRetval)}`,
    `bpf_send_signal: ${yes(f.sendSignal)}, bpf_override_return: ${yes(f.overrideReturn)}, bpf_loop: ${yes(f.bpfLoop)}`,
    `kprobes: ${yes(f.kprobes)}, fentry: ${yes(f.fentry)}${f.fentryError ? ` (${f.fentryError})` : ''}`,
    `BPF LSM: ${yes(f.lsm)}${f.lsmError ? ` (${f.lsmError})` : ''}`,
  ];
}
