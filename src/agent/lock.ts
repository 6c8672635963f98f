// One agent per host resource: a lock file per state dir and per cgroup parent, taken before
// anything is loaded. The file holds the holder's pid and its start time (so a recycled pid of
// a dead agent is not mistaken for a live one); a stale file (holder gone) is taken over.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** clock ticks since boot when the process started (field 22 of /proc/PID/stat), or null */
function startTime(pid: number): string | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: count from the last ')'
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** The agent's claim on one resource. Thrown errors name the holder. */
export class AgentLock {
  private constructor(
    readonly file: string,
    private readonly stamp: string,
  ) {}

  /** Takes the lock at `file` for `what` (e.g. "state dir /var/lib/talon"), or throws naming the holder. */
  static take(file: string, what: string): AgentLock {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const stamp = `${process.pid} ${startTime(process.pid) ?? '?'}\n`;
    for (let attempt = 0; attempt < 2; attempt++) {
      let fd: number;
      try {
        fd = openSync(file, 'wx', 0o600);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot lock ${what} (${file}): ${(e as Error).message}`);
        let held = '';
        try {
          held = readFileSync(file, 'utf8');
        } catch {
          continue; // released meanwhile
        }
        const [pidText, start] = held.trim().split(' ');
        const pid = Number(pidText);
        if (Number.isInteger(pid) && pid > 0 && startTime(pid) !== null && startTime(pid) === start) {
          throw new Error(
            `another talon agent (pid ${pid}) is running with ${what} (lock ${file}); stop it first, or give this one its own --state-dir and cgroup parent`,
          );
        }
        // the holder is gone: a stale lock of a crashed agent
        try {
          unlinkSync(file);
        } catch {
          /* another agent took it over first: the next open says who */
        }
        continue;
      }
      writeSync(fd, stamp);
      closeSync(fd);
      return new AgentLock(file, stamp);
    }
    throw new Error(`cannot lock ${what} (${file}): it changes hands; is another agent starting?`);
  }

  /** Removes the file when it is still ours. */
  release(): void {
    try {
      if (readFileSync(this.file, 'utf8') === this.stamp) unlinkSync(this.file);
    } catch {
      /* already gone */
    }
  }
}
