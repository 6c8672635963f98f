// Run a command inside a pod's cgroup, like `kubectl exec`: a shell moves
// itself into the cgroup and then execs the command, so the command's very
// first instruction already runs in the pod.
import { spawn, type StdioOptions } from 'node:child_process';
import { constants } from 'node:os';
import { join } from 'node:path';

const SCRIPT = 'echo $$ > "$0" && exec "$@"';

export interface ExecOptions {
  stdio?: StdioOptions;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** called with the child's pid once it is running (it is in the pod after it exec'd) */
  onSpawn?: (pid: number) => void;
}

/** Exit status the way a shell reports it: the code, or 128 + signal number. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (signal) return 128 + (constants.signals[signal] ?? 0);
  return code ?? 0;
}

/**
 * Runs argv[0] with argv[1..] inside `cgroupPath` and resolves with its exit
 * status (128 + signal when killed: 137 for SIGKILL). Rejects only when the
 * command cannot be started at all; a missing command gives 127 as in a shell.
 */
export function execInCgroup(cgroupPath: string, argv: string[], opts: ExecOptions = {}): Promise<number> {
  if (argv.length === 0) return Promise.reject(new Error('exec: no command given'));
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', SCRIPT, join(cgroupPath, 'cgroup.procs'), ...argv], {
      stdio: opts.stdio ?? 'inherit',
      cwd: opts.cwd,
      env: opts.env,
    });
    child.once('error', reject);
    child.once('spawn', () => {
      if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    });
    child.once('close', (code, signal) => resolve(exitStatus(code, signal)));
  });
}
