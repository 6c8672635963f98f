// Run a command inside a pod, like `kubectl exec`, confined as a container runtime would confine
// it, so that it cannot leave the pod's cgroup (and so the pod's policies):
//   - a shell moves itself into the pod's cgroup and execs unshare: the command's very first
//     instruction already runs in the pod;
//   - new user (identity-mapped: uids and files look as on the host), cgroup, mount and pid
//     namespaces: the pod's cgroup is the root of its cgroup namespace, so the kernel refuses a
//     move to any cgroup outside it, from any mount of cgroupfs; the pid namespace hides (and
//     protects) the host's processes, the agent among them;
//   - in the private mount namespace, the cgroup v2 mount shows only the pod, read-only (no
//     child cgroup to move into), and the agent's socket and state directories are covered;
//   - no nested user namespaces (user.max_user_namespaces = 0 in the pod's), and a container
//     runtime's default capabilities only: no CAP_SYS_ADMIN to mount, unshare or setns back out.
import { spawn, type StdioOptions } from 'node:child_process';
import { readlinkSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { cgroup2Root } from './cgroup.js';

/** Docker's default capability set: what a container's root keeps */
export const POD_CAPABILITIES = [
  'chown',
  'dac_override',
  'fowner',
  'fsetid',
  'kill',
  'setgid',
  'setuid',
  'setpcap',
  'net_bind_service',
  'net_raw',
  'sys_chroot',
  'mknod',
  'audit_write',
  'setfcap',
];

// $0: the pod's cgroup.procs, $1: the inner script; then the command
const OUTER =
  'c=$1; shift; echo $$ > "$0" && exec unshare --user --cgroup --mount --propagation private --pid --fork --kill-child --mount-proc -- /bin/sh -c "$c" sh "$@"';
// runs as pid 1 of the pod's pid namespace; its uid map is written from outside (fd 3 says when),
// then it execs itself again, because the capabilities of a user namespace's root are granted at exec
const WAIT_MAP = 'read go <&3 && exec 3<&- && exec /bin/sh -c "$TALON_POD_SETUP" sh "$@"';

/** the setup inside the namespaces: the cgroup mount, covered directories, limits, capabilities */
function setupScript(cgroupMount: string, hide: string[]): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const steps = [
    'unset TALON_POD_SETUP',
    'echo 0 > /proc/sys/user/max_user_namespaces',
    // a mount of the same cgroupfs straight over its own root is refused (EBUSY): a tmpfs in between
    `mount -t tmpfs -o ro,size=4k talon-pod ${q(cgroupMount)}`,
    `mount -t cgroup2 -o ro,nosuid,nodev,noexec talon-pod ${q(cgroupMount)}`,
    // a directory under an empty tmpfs, a file (a socket) under /dev/null: connect() is refused
    ...hide.map(
      (d) => `{ if [ -d ${q(d)} ]; then mount -t tmpfs -o ro,size=4k talon-pod ${q(d)}; elif [ -e ${q(d)} ]; then mount --bind /dev/null ${q(d)}; fi; }`,
    ),
    // not exec'd: pid 1 of a pid namespace ignores signals, the command must not be it
    `setpriv --bounding-set=-all,${POD_CAPABILITIES.map((c) => '+' + c).join(',')} --inh-caps=-all -- "$@"`,
  ];
  return steps.join(' && ');
}

export interface ExecOptions {
  stdio?: StdioOptions;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** called with the child's pid once it is running (it is in the pod after it exec'd) */
  onSpawn?: (pid: number) => void;
  /** what the command must not reach: directories (the agent's state) and sockets (its APIs) */
  hide?: string[];
}

/** Exit status the way a shell reports it: the code, or 128 + signal number. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (signal) return 128 + (constants.signals[signal] ?? 0);
  return code ?? 0;
}

/** Waits until pid has its own user namespace, then maps every uid and gid to itself. */
async function mapIdentity(pid: number): Promise<void> {
  const own = readlinkSync('/proc/self/ns/user');
  for (let i = 0; i < 2000; i++) {
    let ns: string;
    try {
      ns = readlinkSync(`/proc/${pid}/ns/user`);
    } catch {
      throw new Error('the command ended before its namespaces were set up');
    }
    if (ns !== own) {
      writeFileSync(`/proc/${pid}/uid_map`, '0 0 4294967295\n');
      writeFileSync(`/proc/${pid}/gid_map`, '0 0 4294967295\n');
      return;
    }
    await new Promise((r) => setTimeout(r, i < 50 ? 1 : 10));
  }
  throw new Error('unshare did not create the pod namespaces within 20 s');
}

/**
 * Runs argv[0] with argv[1..] inside `cgroupPath`, confined (see the top of this file), and
 * resolves with its exit status (128 + signal when killed: 137 for SIGKILL). Rejects only when
 * the command cannot be started at all; a missing command gives 127 as in a shell.
 */
export function execInCgroup(cgroupPath: string, argv: string[], opts: ExecOptions = {}): Promise<number> {
  if (argv.length === 0) return Promise.reject(new Error('exec: no command given'));
  const base = opts.stdio ?? 'inherit';
  const stdio: StdioOptions = Array.isArray(base) ? [...base.slice(0, 3), 'pipe'] : [base, base, base, 'pipe'];
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', OUTER, join(cgroupPath, 'cgroup.procs'), WAIT_MAP, ...argv], {
      stdio,
      cwd: opts.cwd,
      env: { ...(opts.env ?? process.env), TALON_POD_SETUP: setupScript(cgroup2Root(), opts.hide ?? []) },
    });
    const go = child.stdio[3] as Writable;
    go.on('error', () => undefined); // the child ended early: its exit status tells
    child.once('error', reject);
    child.once('spawn', () => {
      if (child.pid === undefined) return;
      const pid = child.pid;
      opts.onSpawn?.(pid);
      mapIdentity(pid).then(
        () => go.end('go\n'),
        (e: Error) => {
          child.kill('SIGKILL');
          reject(new Error(`cannot confine the command in the pod: ${e.message}`));
        },
      );
    });
    child.once('close', (code, signal) => resolve(exitStatus(code, signal)));
  });
}
