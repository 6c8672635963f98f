// The agent's pod registry: the pods, their cgroups. Pods of `talon pod add`
// are persisted in the state directory so they survive agent restarts; pods
// of the container runtime (one entry per container) are the runtime's to
// keep and are set as a whole by their source (src/pods/cri.ts). Changes are
// announced to listeners (the scoping logic) after they happened.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { cgroup2Root, createCgroup, podCgroupPath, removeCgroup, talonCgroupParent } from './cgroup.js';
import { checkLabel, checkName, defaultImage, InvalidName, type Pod, type PodSource } from './pod.js';

export type PodChange = { kind: 'add'; pod: Pod } | { kind: 'update'; pod: Pod; old: Pod } | { kind: 'delete'; pod: Pod };

export interface PodSpec {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  container?: { name?: string; image?: string };
}

const FILE = 'pods.json';

/** The API's container fields as strictly as the CLI's flags: strings, a DNS-label name, an image reference. */
function checkContainer(c: unknown): void {
  if (c === undefined || c === null) return;
  if (typeof c !== 'object' || Array.isArray(c)) throw new InvalidName('container: expected an object {name?, image?}');
  const { name, image, ...rest } = c as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length) throw new InvalidName(`container: unknown field ${JSON.stringify(extra[0])} (expected name, image)`);
  if (name !== undefined && (typeof name !== 'string' || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name))) {
    throw new InvalidName(`invalid container name ${JSON.stringify(name)}: a string of lower-case letters, digits and '-' (at most 63)`);
  }
  if (image !== undefined && (typeof image !== 'string' || !/^[A-Za-z0-9][-A-Za-z0-9._:/@]{0,254}$/.test(image))) {
    throw new InvalidName(`invalid container image ${JSON.stringify(image)}: expected an image reference such as docker.io/library/nginx:1.27`);
  }
}

export class PodRegistry {
  private pods = new Map<string, Pod>();
  /** pods of other sources, by source, then by their own key (the container id for CRI) */
  private external = new Map<PodSource, Map<string, Pod>>();
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

  /** Every pod: those of `talon pod add`, then those of the runtime, by namespace/name (and container). */
  list(): Pod[] {
    const ext = [...this.external.values()].flatMap((m) => [...m.values()]);
    return [...this.pods.values(), ...ext].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
  }

  /** A pod of `talon pod add`. */
  get(namespace: string, name: string): Pod | undefined {
    return this.pods.get(key(namespace, name));
  }

  byCgroupId(id: bigint | string): Pod | undefined {
    const s = id.toString();
    for (const p of this.pods.values()) if (p.cgroupId === s) return p;
    for (const m of this.external.values()) for (const p of m.values()) if (p.cgroupId === s) return p;
    return undefined;
  }

  /** The pods of another source (the container runtime), keyed by the source's own key. */
  listSource(source: PodSource): Pod[] {
    return [...(this.external.get(source)?.values() ?? [])];
  }

  /**
   * Replaces every pod of `source` with `next` (keyed by the source's own
   * key: the container id for CRI): announces the additions, the changes
   * (labels, names, image, cgroup) and the removals. Their cgroups are not
   * this registry's: nothing is created or removed on disk.
   */
  replaceSource(source: PodSource, next: Map<string, Pod>): Promise<PodChange[]> {
    return this.serial(async () => {
      if (source === 'talon') throw new Error('pods of talon pod add are not replaced as a whole');
      const cur = this.external.get(source) ?? new Map<string, Pod>();
      const changes: PodChange[] = [];
      for (const [k, old] of cur) if (!next.has(k)) changes.push({ kind: 'delete', pod: old });
      for (const [k, pod] of next) {
        const old = cur.get(k);
        if (!old) changes.push({ kind: 'add', pod });
        else if (!samePod(old, pod)) changes.push({ kind: 'update', pod, old });
      }
      // a re-created cgroup is a new pod to the kernel: the old id goes first
      const ordered: PodChange[] = [];
      for (const c of changes) {
        if (c.kind === 'update' && c.old.cgroupId !== c.pod.cgroupId) ordered.push({ kind: 'delete', pod: c.old }, { kind: 'add', pod: c.pod });
        else ordered.push(c);
      }
      this.external.set(source, new Map(next));
      for (const c of ordered) await this.emit(c);
      return ordered;
    });
  }

  /** Adds a pod and creates its cgroup. Fails when it exists. */
  add(spec: PodSpec): Promise<Pod> {
    return this.serial(async () => {
      checkName('namespace', spec.namespace);
      checkName('pod name', spec.name);
      checkContainer(spec.container);
      if (spec.labels !== undefined && (typeof spec.labels !== 'object' || spec.labels === null || Array.isArray(spec.labels))) {
        throw new InvalidName('labels: expected an object of label keys to string values');
      }
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
      if (!old) throw new Error(this.notFound(namespace, name));
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
      if (!pod) throw new Error(this.notFound(namespace, name));
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
    for (const p of [...this.pods.values()]) await this.delete(p.namespace, p.name);
  }

  /** "not found", saying so when the pod is the runtime's (changed through Kubernetes, not here) */
  private notFound(namespace: string, name: string): string {
    const ext = this.list().find((p) => p.source && p.source !== 'talon' && p.namespace === namespace && p.name === name);
    if (ext)
      return `pod ${key(namespace, name)} not found among the pods of talon pod add (it is a pod of the container runtime: change it through Kubernetes)`;
    return `pod ${key(namespace, name)} not found`;
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
    const pods = [...this.pods.values()].sort((a, b) => sortKey(a).localeCompare(sortKey(b))).map(({ cgroupPath: _p, cgroupId: _i, ...rest }) => rest);
    await fsp.writeFile(tmp, JSON.stringify({ pods }, null, 2) + '\n', { mode: 0o600 });
    await fsp.rename(tmp, file);
  }
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function sortKey(p: Pod): string {
  return `${key(p.namespace, p.name)}/${p.container.name}/${p.container.id ?? ''}`;
}

function samePod(a: Pod, b: Pod): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
