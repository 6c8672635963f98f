// The agent's pod registry: the pods, their cgroups, persisted in the state
// directory so they survive agent restarts. Changes are announced to
// listeners (the scoping logic) after they happened.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { cgroup2Root, createCgroup, podCgroupPath, removeCgroup, talonCgroupParent } from './cgroup.js';
import { checkLabel, checkName, defaultImage, type Pod } from './pod.js';

export type PodChange = { kind: 'add'; pod: Pod } | { kind: 'update'; pod: Pod; old: Pod } | { kind: 'delete'; pod: Pod };

export interface PodSpec {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  container?: { name?: string; image?: string };
}

const FILE = 'pods.json';

export class PodRegistry {
  private pods = new Map<string, Pod>();
  private listeners: ((c: PodChange) => void | Promise<void>)[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  readonly cgroupRoot: string;
  /** directory under the cgroup root holding the pods ("talon") */
  readonly parent: string;

  constructor(
    readonly stateDir: string,
    opts: { cgroupRoot?: string; parent?: string } = {},
  ) {
    this.cgroupRoot = opts.cgroupRoot ?? cgroup2Root();
    this.parent = talonCgroupParent(opts.parent);
  }

  /** The top directory of talon's cgroups (removed again when empty). */
  get talonCgroupDir(): string {
    return join(this.cgroupRoot, this.parent);
  }

  onChange(fn: (c: PodChange) => void | Promise<void>): void {
    this.listeners.push(fn);
  }

  /** Reads the persisted pods and (re)creates their cgroups; ids are re-read. */
  async load(): Promise<Pod[]> {
    let saved: Pod[] = [];
    try {
      saved = JSON.parse(await fsp.readFile(join(this.stateDir, FILE), 'utf8')).pods ?? [];
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`read ${join(this.stateDir, FILE)}: ${(e as Error).message}`);
    }
    for (const p of saved) {
      const cgroupPath = podCgroupPath(p.namespace, p.name, this.cgroupRoot, this.parent);
      const id = await createCgroup(cgroupPath);
      this.pods.set(key(p.namespace, p.name), { ...p, cgroupPath, cgroupId: id.toString() });
    }
    await this.save();
    return this.list();
  }

  list(): Pod[] {
    return [...this.pods.values()].sort((a, b) => key(a.namespace, a.name).localeCompare(key(b.namespace, b.name)));
  }

  get(namespace: string, name: string): Pod | undefined {
    return this.pods.get(key(namespace, name));
  }

  byCgroupId(id: bigint | string): Pod | undefined {
    const s = id.toString();
    for (const p of this.pods.values()) if (p.cgroupId === s) return p;
    return undefined;
  }

  /** Adds a pod and creates its cgroup. Fails when it exists. */
  add(spec: PodSpec): Promise<Pod> {
    return this.serial(async () => {
      checkName('namespace', spec.namespace);
      checkName('pod name', spec.name);
      const labels = { ...(spec.labels ?? {}) };
      for (const [k, v] of Object.entries(labels)) checkLabel(k, v);
      const k = key(spec.namespace, spec.name);
      if (this.pods.has(k)) throw new Error(`pod ${k} already exists`);
      const cgroupPath = podCgroupPath(spec.namespace, spec.name, this.cgroupRoot, this.parent);
      const id = await createCgroup(cgroupPath);
      const pod: Pod = {
        namespace: spec.namespace,
        name: spec.name,
        labels,
        container: {
          name: spec.container?.name || spec.name,
          image: spec.container?.image || defaultImage(spec.name),
        },
        uid: randomUUID(),
        cgroupPath,
        cgroupId: id.toString(),
        created: new Date().toISOString(),
      };
      this.pods.set(k, pod);
      await this.save();
      await this.emit({ kind: 'add', pod });
      return pod;
    });
  }

  /** Sets (value string) or removes (value null) labels of a pod. */
  label(namespace: string, name: string, changes: Record<string, string | null>): Promise<Pod> {
    return this.serial(async () => {
      const k = key(namespace, name);
      const old = this.pods.get(k);
      if (!old) throw new Error(`pod ${k} not found`);
      const labels = { ...old.labels };
      for (const [lk, v] of Object.entries(changes)) {
        if (v === null) delete labels[lk];
        else {
          checkLabel(lk, v);
          labels[lk] = v;
        }
      }
      const pod: Pod = { ...old, labels };
      this.pods.set(k, pod);
      await this.save();
      await this.emit({ kind: 'update', pod, old });
      return pod;
    });
  }

  /** Deletes a pod: its processes are killed and its cgroup removed. */
  delete(namespace: string, name: string): Promise<Pod> {
    return this.serial(async () => {
      const k = key(namespace, name);
      const pod = this.pods.get(k);
      if (!pod) throw new Error(`pod ${k} not found`);
      // scoping first, so that no policy keeps an id the kernel may reuse
      this.pods.delete(k);
      await this.emit({ kind: 'delete', pod });
      await removeCgroup(pod.cgroupPath, this.talonCgroupDir);
      await this.save();
      return pod;
    });
  }

  /** Deletes every pod (used by tests and the quickstart, not on agent stop). */
  async deleteAll(): Promise<void> {
    for (const p of this.list()) await this.delete(p.namespace, p.name);
  }

  private async emit(c: PodChange): Promise<void> {
    for (const fn of this.listeners) await fn(c);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async save(): Promise<void> {
    await fsp.mkdir(this.stateDir, { recursive: true, mode: 0o700 });
    const file = join(this.stateDir, FILE);
    const tmp = `${file}.tmp`;
    const pods = this.list().map(({ cgroupPath: _p, cgroupId: _i, ...rest }) => rest);
    await fsp.writeFile(tmp, JSON.stringify({ pods }, null, 2) + '\n', { mode: 0o600 });
    await fsp.rename(tmp, file);
  }
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
