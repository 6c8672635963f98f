// cgroup v2 directories for pods: where the hierarchy is, how to make a
// directory for a pod, read its id, put a process in it and remove it again.
import { promises as fsp, readFileSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';

/**
 * The directory under the cgroup v2 root that holds talon's pods: `talon`,
 * or $TALON_CGROUP_PARENT (tests use their own, so that they never touch the
 * pods of an agent running on the same machine). Must start with "talon".
 */
export function talonCgroupParent(p = process.env.TALON_CGROUP_PARENT || 'talon'): string {
  if (!/^talon[-_.a-zA-Z0-9]*$/.test(p)) throw new Error(`cgroup parent ${JSON.stringify(p)}: expected a name starting with "talon"`);
  return p;
}

let cachedRoot: string | null = null;

/**
 * The cgroup v2 mount point. `TALON_CGROUP2_ROOT` overrides it; otherwise the
 * first cgroup2 mount in /proc/self/mountinfo wins, preferring the hybrid
 * layout's /sys/fs/cgroup/unified. Throws when there is no cgroup v2.
 */
export function cgroup2Root(): string {
  if (process.env.TALON_CGROUP2_ROOT) return process.env.TALON_CGROUP2_ROOT;
  if (cachedRoot) return cachedRoot;
  let mounts: string[] = [];
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      // <id> <parent> <maj:min> <root> <mount point> <opts> [optional...] - <fstype> <source> <superopts>
      const sep = line.indexOf(' - ');
      if (sep < 0) continue;
      const fstype = line.slice(sep + 3).split(' ')[0];
      if (fstype !== 'cgroup2') continue;
      const mp = line.slice(0, sep).split(' ')[4];
      if (mp) mounts.push(mp.replace(/\\040/g, ' '));
    }
  } catch {
    mounts = [];
  }
  const pick = mounts.find((m) => m === '/sys/fs/cgroup/unified') ?? mounts.find((m) => m === '/sys/fs/cgroup') ?? mounts[0];
  if (!pick) throw new Error('cgroup v2: no cgroup2 file system is mounted (looked in /proc/self/mountinfo)');
  cachedRoot = pick;
  return pick;
}

/** The cgroup directory of pod `ns/name`. */
export function podCgroupPath(namespace: string, name: string, root = cgroup2Root(), parent = talonCgroupParent()): string {
  return join(root, parent, 'pods', namespace, name);
}

/** cgroup id of a cgroup v2 directory: its inode number (= bpf_get_current_cgroup_id()). */
export function cgroupId(path: string): bigint {
  return statSync(path, { bigint: true }).ino;
}

/** cgroup id of the cgroup v2 group a process is in, or null when unknown. */
export function processCgroupId(pid: number, root = cgroup2Root()): bigint | null {
  const rel = processCgroupPath(pid);
  if (rel === null) return null;
  try {
    return cgroupId(join(root, rel));
  } catch {
    return null;
  }
}

/** The cgroup v2 path ("0::/x/y") of a process, relative to the root. */
export function processCgroupPath(pid: number): string | null {
  try {
    for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
      if (line.startsWith('0::')) return line.slice(3);
    }
  } catch {
    /* the process is gone */
  }
  return null;
}

/** Creates the directory (and its parents). Returns its cgroup id. */
export async function createCgroup(path: string): Promise<bigint> {
  await fsp.mkdir(path, { recursive: true });
  return cgroupId(path);
}

/** Pids in a cgroup (not in its children). */
export async function cgroupPids(path: string): Promise<number[]> {
  try {
    const text = await fsp.readFile(join(path, 'cgroup.procs'), 'utf8');
    return text.split('\n').filter(Boolean).map(Number);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Moves a process into a cgroup. */
export async function moveToCgroup(path: string, pid: number): Promise<void> {
  await fsp.writeFile(join(path, 'cgroup.procs'), `${pid}\n`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Kills every process in the cgroup (cgroup.kill where the kernel has it,
 * else SIGKILL pid by pid), waits until it is empty and removes it. Then
 * removes its parents up to and including `stopAt`'s first component under
 * the root, as long as they are empty. Missing directories are fine.
 */
export async function removeCgroup(path: string, stopAt: string): Promise<void> {
  try {
    statSync(path);
  } catch {
    await removeEmptyParents(dirname(path), stopAt);
    return;
  }
  for (const child of await subdirs(path)) await removeCgroup(join(path, child), path);
  const deadline = Date.now() + 5000;
  for (;;) {
    const pids = await cgroupPids(path);
    if (pids.length === 0) break;
    try {
      await fsp.writeFile(join(path, 'cgroup.kill'), '1');
    } catch {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
    if (Date.now() > deadline) throw new Error(`remove cgroup ${path}: processes ${pids.join(' ')} do not exit`);
    await sleep(20);
  }
  // a dying process can keep the cgroup busy for a moment after it left cgroup.procs
  for (let i = 0; ; i++) {
    try {
      await fsp.rmdir(path);
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') break;
      if (code !== 'EBUSY' || i > 250) throw new Error(`remove cgroup ${path}: ${(e as Error).message}`);
      await sleep(20);
    }
  }
  await removeEmptyParents(dirname(path), stopAt);
}

/** rmdir `dir` and its parents while they are empty, not going above `top`. */
export async function removeEmptyParents(dir: string, top: string): Promise<void> {
  let d = dir;
  while (d.length >= top.length && d.startsWith(top)) {
    try {
      if ((await subdirs(d)).length > 0) return;
      await fsp.rmdir(d);
    } catch {
      return;
    }
    if (d === top) return;
    d = dirname(d);
  }
}

async function subdirs(path: string): Promise<string[]> {
  try {
    const ents = await fsp.readdir(path, { withFileTypes: true });
    return ents.filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}
