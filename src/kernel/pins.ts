// Pins: what enforces outlives the agent. Every link the loader creates (the shared
// programs of each hook kind, the generic hooks' instances, the process sensor) is
// pinned in bpffs under the agent's directory, one sub-directory per agent run
// (a "generation"). A link holds its program, the program its maps (the outer maps
// hold the inner per-policy maps), so the pinned links keep the whole enforcement
// path alive after a crash (kill -9) or a stop that keeps it (--keep-sensors-on-exit).
//
// A restarted agent loads everything fresh beside the pinned generations (both
// enforce for a moment) and only then removes them (handOver): no gap.
//
//   /sys/fs/bpf/talon/<state id>/<abi>-<pid>-<ms>/<n>_<program>
//
// <state id> comes from the state dir, so two isolated agents never share pins;
// <abi> is a hash of the ABI layouts (src/abi), so a generation of another talon
// version is recognised (and said so in the log).
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LAYOUT } from './records.js';
import type { Shim } from './shim.js';

export const BPFFS_TALON = '/sys/fs/bpf/talon';

/** the ABI of this build: a short hash of every layout constant the kernel side shares */
export const ABI_TAG = createHash('sha256').update(JSON.stringify(LAYOUT)).digest('hex').slice(0, 12);

/** the bpffs directory of the agent whose state dir is `stateDir` */
export function pinDirFor(stateDir: string): string {
  return join(BPFFS_TALON, createHash('sha256').update(resolve(stateDir)).digest('hex').slice(0, 16));
}

/** a pinned generation of an earlier agent run */
export interface Generation {
  dir: string;
  abi: string;
  pid: number;
  links: number;
}

function generations(dir: string): Generation[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.map((n) => {
    const m = /^([0-9a-f]+)-(\d+)-\d+$/.exec(n);
    let links = 0;
    try {
      links = readdirSync(join(dir, n)).length;
    } catch {
      /* not a directory */
    }
    return { dir: join(dir, n), abi: m?.[1] ?? '?', pid: m ? Number(m[2]) : 0, links };
  });
}

/** Removes every pin under `dir` (all generations) and the directory; the number of links unpinned. */
export function removePins(dir: string): number {
  const n = generations(dir).reduce((t, g) => t + g.links, 0);
  rmSync(dir, { recursive: true, force: true });
  try {
    rmdirSync(BPFFS_TALON); // only when no other agent's directory is left
  } catch {
    /* not empty, or absent */
  }
  return n;
}

/** This agent run's pins: a generation directory, the links pinned in it. */
export class Pins {
  readonly generation: string;
  /** generations of earlier runs found at open: they enforce until handOver() */
  readonly previous: Generation[];
  private readonly paths = new Map<number, string>();
  private seq = 0;
  /** links the kernel could not pin (their enforcement ends with this process) */
  readonly unpinnable: string[] = [];

  constructor(
    private readonly shim: Shim,
    readonly dir: string,
  ) {
    this.previous = generations(dir);
    this.generation = join(dir, `${ABI_TAG}-${process.pid}-${Date.now()}`);
    mkdirSync(this.generation, { recursive: true, mode: 0o700 });
  }

  /** pins a new link; a kernel that cannot pin this link type is noted, not fatal (the link works while we run) */
  pin(link: number, program: string): void {
    const path = join(this.generation, `${++this.seq}_${program}`);
    try {
      this.shim.linkPin(link, path);
      this.paths.set(link, path);
    } catch (e) {
      this.unpinnable.push(`${program}: ${(e as Error).message}`);
    }
  }

  /** the link's pin goes (the link itself detaches when its fd closes) */
  unpin(link: number): void {
    const p = this.paths.get(link);
    if (p === undefined) return;
    this.paths.delete(link);
    try {
      unlinkSync(p);
    } catch {
      /* removed from outside (talon agent --cleanup) */
    }
  }

  /** Removes the earlier generations: called once this run's programs are attached (overlap, no gap). */
  handOver(): Generation[] {
    const gone: Generation[] = [];
    for (const g of this.previous.splice(0)) {
      rmSync(g.dir, { recursive: true, force: true });
      gone.push(g);
    }
    return gone;
  }

  /** a clean stop: this run's pins and directory go (earlier generations not handed over stay) */
  removeOwn(): void {
    for (const l of [...this.paths.keys()]) this.unpin(l);
    rmSync(this.generation, { recursive: true, force: true });
    for (const d of [this.dir, BPFFS_TALON]) {
      try {
        rmdirSync(d);
      } catch {
        /* not empty */
      }
    }
  }
}
