// What Tetragon's --enable-process-cred and --enable-process-ns add to a
// process: credentials and capabilities (process_credentials, cap) and
// namespaces (ns), in Tetragon's JSON. The kernel's exec record carries them
// as they are right after the exec (so a process that exits at once has
// them too); processes found in /proc at start get them from /proc/<pid>
// (one that is gone by then has none: the event leaves them out, and the
// agent counts it in `identityMissed`).
import { readFileSync, readlinkSync } from 'node:fs';
import { CAPABILITIES } from '../events/convert.js';
import type { ExecCred } from '../kernel/records.js';

type Json = Record<string, unknown>;

/** protojson leaves an empty list out */
const list = (k: string, v: string[]): Json => (v.length ? { [k]: v } : {});

/** Tetragon's SecureBitsType names by bit (proto/tetragon/capabilities.proto) */
const SECUREBITS = [
  'SecBitNoRoot',
  'SecBitNoRootLocked',
  'SecBitNoSetUidFixup',
  'SecBitNoSetUidFixupLocked',
  'SecBitKeepCaps',
  'SecBitKeepCapsLocked',
  'SecBitNoCapAmbientRaise',
  'SecBitNoCapAmbientRaiseLocked',
];

const maskNames = (m: bigint): string[] => CAPABILITIES.filter((_, i) => (m >> BigInt(i)) & 1n);

/** `cap` and `process_credentials` in Tetragon's JSON */
export function credentialsJson(c: ExecCred): { cap: Json; process_credentials: Json } {
  const caps = {
    ...list('permitted', maskNames(c.capPermitted)),
    ...list('effective', maskNames(c.capEffective)),
    ...list('inheritable', maskNames(c.capInheritable)),
  };
  const { uid, gid, euid, egid, suid, sgid, fsuid, fsgid } = c;
  const securebits = SECUREBITS.filter((_, i) => (c.securebits >> i) & 1);
  return {
    cap: caps,
    // wrapper fields (UInt32Value): present even when 0, as Tetragon writes them
    process_credentials: { uid, gid, euid, egid, suid, sgid, fsuid, fsgid, ...list('securebits', securebits), caps },
  };
}

/** `cap` and `process_credentials` of a process from /proc/<pid>/status; null when it is gone. */
export function readCredentials(pid: number): { cap: Json; process_credentials: Json } | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const field = (name: string) => new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(status)?.[1].trim().split(/\s+/) ?? [];
  const [uid, euid, suid, fsuid] = field('Uid').map(Number);
  const [gid, egid, sgid, fsgid] = field('Gid').map(Number);
  const mask = (name: string) => BigInt(`0x${field(name)[0] ?? '0'}`);
  // /proc does not show securebits
  return credentialsJson({
    uid,
    gid,
    euid,
    egid,
    suid,
    sgid,
    fsuid,
    fsgid,
    securebits: 0,
    capPermitted: mask('CapPrm'),
    capEffective: mask('CapEff'),
    capInheritable: mask('CapInh'),
  });
}

const NS = ['uts', 'ipc', 'mnt', 'pid', 'pid_for_children', 'net', 'time', 'time_for_children', 'cgroup', 'user'] as const;

let hostNs: Record<string, number> | null = null;

function nsInums(pid: number | 'self' | 1): Record<string, number> | null {
  const out: Record<string, number> = {};
  for (const n of NS) {
    try {
      const m = /\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/${n}`));
      if (m) out[n] = Number(m[1]);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && n !== 'uts') continue; // a namespace this kernel lacks
      return null;
    }
  }
  return out;
}

/** `ns` in Tetragon's JSON from inode numbers by name; is_host where init's is the same */
function nsJson(ns: Record<string, number>): Json {
  hostNs ??= nsInums(1) ?? {};
  return Object.fromEntries(Object.entries(ns).map(([k, inum]) => [k, { inum, ...(hostNs![k] === inum ? { is_host: true } : {}) }]));
}

/**
 * `ns` of a process (Tetragon's Namespaces: inum, and is_host when it is init's); null when it is
 * gone. Where init's namespaces cannot be read (a sandbox), none is marked is_host.
 */
export function readNamespaces(pid: number): Json | null {
  const ns = nsInums(pid);
  return ns ? nsJson(ns) : null;
}

/** `ns` from the kernel's inode numbers by Tetragon's type id (0: a namespace this kernel lacks) */
export function namespacesJson(inums: number[]): Json {
  const byName: Record<string, number> = {};
  NS.forEach((n, i) => {
    if (inums[i]) byName[n] = inums[i];
  });
  return nsJson(byName);
}
