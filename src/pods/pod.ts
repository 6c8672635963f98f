// A pod as policies' selectors see it: a namespace, a name, labels and one
// container (name + image) in one cgroup v2 directory. `talon pod add` makes
// such a pod itself (source "talon": a cgroup directory, no runtime); a pod
// of the container runtime (source "cri") is one entry per container, each
// with the container's own cgroup, as the kernel sees a Kubernetes pod.
import type { PodInfo } from '../core/types.js';

export type PodSource = 'talon' | 'cri';

export interface Pod {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  container: {
    name: string;
    image: string;
    /** the runtime's container id as Kubernetes writes it ("containerd://<id>"); CRI pods only */
    id?: string;
    /** the image the container runs, by digest or id (image_ref); CRI pods only */
    imageId?: string;
    /** RFC 3339; CRI pods only */
    started?: string;
  };
  /** absent: "talon" (pods persisted before CRI pods existed) */
  source?: PodSource;
  /** the owner that made the pod (Deployment, DaemonSet, ...), else the pod itself */
  workload?: { name: string; kind: string };
  /** random id, like a Kubernetes pod uid */
  uid: string;
  /** absolute cgroup v2 directory */
  cgroupPath: string;
  /** cgroup id (inode number of cgroupPath), decimal */
  cgroupId: string;
  /**
   * the pod's own cgroup id (the parent of its containers' cgroups, named for the pod by the
   * kubelet), decimal; CRI pods only: containers made there later are covered from their start
   */
  podCgroupId?: string;
  /** RFC 3339 */
  created: string;
}

const NAME_RE = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const LABEL_NAME_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE_RE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** A pod, namespace or label argument that is not valid: the user's input (exit 2 in the CLI), not a bug. */
export class InvalidName extends Error {}

/** Throws unless `s` is a valid pod or namespace name (DNS subdomain, as in Kubernetes). */
export function checkName(what: string, s: string): void {
  if (!NAME_RE.test(s) || s.includes('..')) {
    throw new InvalidName(`invalid ${what} ${JSON.stringify(s)}: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`);
  }
}

/** Throws unless `key`=`value` is a valid Kubernetes label. */
export function checkLabel(key: string, value: string): void {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : '';
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if ((slash >= 0 && !NAME_RE.test(prefix)) || !LABEL_NAME_RE.test(name)) {
    throw new InvalidName(`invalid label key ${JSON.stringify(key)}`);
  }
  if (!LABEL_VALUE_RE.test(value)) throw new InvalidName(`invalid label value ${JSON.stringify(value)} for ${key}`);
}

/** "ns/name" or "name" (namespace from `defaultNs`). */
export function parsePodRef(ref: string, defaultNs = 'default'): { namespace: string; name: string } {
  const parts = ref.split('/');
  if (parts.length > 2 || parts.some((p) => p === '')) {
    throw new InvalidName(`invalid pod ${JSON.stringify(ref)}: expected <namespace>/<name> or <name>`);
  }
  const [namespace, name] = parts.length === 2 ? parts : [defaultNs, parts[0]];
  checkName('namespace', namespace);
  checkName('pod name', name);
  return { namespace, name };
}

/** Parses `k=v` label arguments (repeatable flag values). */
export function parseLabels(args: string | string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const list = args === undefined ? [] : Array.isArray(args) ? args : [args];
  for (const a of list) {
    const s = String(a);
    const eq = s.indexOf('=');
    if (eq <= 0) throw new InvalidName(`invalid label ${JSON.stringify(s)}: expected key=value`);
    const k = s.slice(0, eq);
    const v = s.slice(eq + 1);
    checkLabel(k, v);
    out[k] = v;
  }
  return out;
}

/** Image repository (what containerSelector's `repo` matches): the reference without tag or digest. */
export function imageRepo(image: string): string {
  let s = image;
  const at = s.indexOf('@');
  if (at >= 0) s = s.slice(0, at);
  const slash = s.lastIndexOf('/');
  const colon = s.lastIndexOf(':');
  if (colon > slash) s = s.slice(0, colon);
  return s;
}

/** The default image of a pod's container when none is given. */
export function defaultImage(podName: string): string {
  return `localhost/${podName}:latest`;
}

// Pod objects are replaced, never changed, when a pod changes (registry, CRI): what is made of
// one is made once and frozen. Each event asks for both; the core keeps its encoding of a
// PodInfo by object, so a new object per event would encode the pod again each time.
const infos = new WeakMap<Pod, PodInfo>();
const jsons = new WeakMap<Pod, Readonly<Record<string, unknown>>>();

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** The pod as the Wasm core's scoping sees it (one frozen object per Pod object). */
export function podInfo(p: Pod): PodInfo {
  let info = infos.get(p);
  if (info === undefined) {
    info = deepFreeze({
      namespace: p.namespace,
      name: p.name,
      labels: { ...p.labels },
      container: { name: p.container.name, repo: imageRepo(p.container.image) },
    });
    infos.set(p, info);
  }
  return info;
}

/** Tetragon's `process.pod` object for events (one frozen object per Pod object, shared by its events). */
export function podJson(p: Pod): Readonly<Record<string, unknown>> {
  let j = jsons.get(p);
  if (j === undefined) {
    j = deepFreeze(podJsonOf(p));
    jsons.set(p, j);
  }
  return j;
}

function podJsonOf(p: Pod): Record<string, unknown> {
  const c = p.container;
  return {
    namespace: p.namespace,
    name: p.name,
    uid: p.uid,
    container: {
      id: c.id ?? `talon://${p.cgroupId}`,
      name: c.name,
      image: { id: c.imageId || c.image, name: c.image },
      ...(c.started ? { start_time: c.started } : {}),
    },
    pod_labels: { ...p.labels },
    workload: p.workload?.name ?? p.name,
    workload_kind: p.workload?.kind ?? 'Pod',
  };
}

/** Where a pod comes from ("talon" for pods of `talon pod add`). */
export function podSource(p: Pod): PodSource {
  return p.source ?? 'talon';
}
