// Where a container's processes sit in the cgroup tree, for the layouts the
// kubelet and the runtimes produce:
//   cgroupfs driver:  /kubepods/<qos>/pod<uid>/<containerId>   (containerd, CRI-O)
//   systemd driver:   kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid_>.slice/
//                     cri-containerd-<id>.scope | crio-<id>.scope | docker-<id>.scope
// The OCI spec's linux.cgroupsPath names the systemd case as
// "<slice>:<prefix>:<name>"; both forms are turned into a directory relative
// to the cgroup v2 root, whose inode number is what bpf_get_current_cgroup_id()
// returns for the container's processes.

import { basename, dirname } from 'node:path';

/** Container runtimes by the prefix of their systemd scope / their CRI container id URL scheme. */
export type RuntimeName = 'containerd' | 'cri-o' | 'docker';

const SCOPE_PREFIX: Record<string, RuntimeName> = { 'cri-containerd': 'containerd', crio: 'cri-o', docker: 'docker' };

/** Container ids are 64 lower-case hex digits for containerd, CRI-O and Docker. */
const ID_RE = /^[0-9a-f]{64}$/;

/**
 * The systemd slice name as a path: "kubepods-besteffort-pod1.slice" ->
 * "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice"
 * (systemd nests a slice under every dash-separated prefix of its name).
 */
export function expandSlice(slice: string): string {
  if (slice === '-.slice' || slice === '') return '';
  if (!slice.endsWith('.slice')) throw new Error(`invalid systemd slice ${JSON.stringify(slice)}: expected NAME.slice`);
  const name = slice.slice(0, -'.slice'.length);
  if (name.includes('/') || name.startsWith('-') || name.endsWith('-') || name.includes('--')) {
    throw new Error(`invalid systemd slice ${JSON.stringify(slice)}`);
  }
  const parts = name.split('-');
  const out: string[] = [];
  for (let i = 1; i <= parts.length; i++) out.push(`${parts.slice(0, i).join('-')}.slice`);
  return out.join('/');
}

/**
 * An OCI linux.cgroupsPath as a directory relative to the cgroup v2 root,
 * without a leading slash: cgroupfs "/a/b/<id>" -> "a/b/<id>"; systemd
 * "kubepods-burstable-pod<uid>.slice:cri-containerd:<id>" ->
 * "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope".
 */
export function cgroupsPathToDir(cgroupsPath: string): string {
  const p = cgroupsPath.trim();
  if (p === '') throw new Error('empty cgroupsPath');
  if (p.startsWith('/')) return normalise(p);
  const parts = p.split(':');
  if (parts.length === 3) {
    const [slice, prefix, name] = parts;
    const scope = name.endsWith('.slice') ? name : prefix ? `${prefix}-${name}.scope` : `${name}.scope`;
    const dir = expandSlice(slice || '-.slice');
    return dir ? `${dir}/${scope}` : scope;
  }
  // a relative cgroupfs path (runc takes it relative to its own cgroup; the runtimes pass absolute ones)
  return normalise(p);
}

function normalise(p: string): string {
  const segs = p.split('/').filter((s) => s !== '' && s !== '.');
  if (segs.includes('..')) throw new Error(`invalid cgroup path ${JSON.stringify(p)}: ".." is not allowed`);
  return segs.join('/');
}

export interface CgroupContainerRef {
  /** 64 hex digits */
  containerId: string;
  /** null for a cgroupfs leaf, which does not say which runtime made it */
  runtime: RuntimeName | null;
  /** the pod's uid as Kubernetes writes it (dashes), when the path names it */
  podUid: string | null;
}

/**
 * The container a cgroup path (a directory, or the path of /proc/<pid>/cgroup)
 * belongs to, or null when its last component is no container. Conmon's
 * scopes (crio-conmon-<id>.scope) are not the container.
 */
export function containerOfCgroupPath(path: string): CgroupContainerRef | null {
  const segs = path.split('/').filter(Boolean);
  const last = segs[segs.length - 1];
  if (!last) return null;
  let containerId: string | null = null;
  let runtime: RuntimeName | null = null;
  const scope = /^([a-z-]+)-([0-9a-f]{64})\.scope$/.exec(last);
  if (scope) {
    runtime = SCOPE_PREFIX[scope[1]] ?? null;
    if (!runtime) return null;
    containerId = scope[2];
  } else if (ID_RE.test(last)) {
    containerId = last;
  } else {
    return null;
  }
  return { containerId, runtime, podUid: podUidOfCgroupPath(segs.slice(0, -1).join('/')) };
}

/** The pod uid of a cgroup path: "pod<uid>" (cgroupfs) or "...-pod<uid with _>.slice" (systemd). */
export function podUidOfCgroupPath(path: string): string | null {
  for (const seg of path.split('/').reverse()) {
    let m = /^pod([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(seg);
    if (m) return m[1];
    m = /-pod([0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12})\.slice$/.exec(seg);
    if (m) return m[1].replaceAll('_', '-');
  }
  return null;
}

/**
 * The pod's own cgroup, the parent of a container's, when the kubelet named it for that pod
 * (pod<uid>, ...-pod<uid_>.slice): its other children are this pod's containers only. Null for
 * a parent shared with other pods (a runtime used without the kubelet).
 */
export function podCgroupDir(containerDir: string, uid: string): string | null {
  const parent = dirname(containerDir);
  return uid !== '' && podUidOfCgroupPath(basename(parent)) === uid ? parent : null;
}

/** "containerd://<id>" as Kubernetes and Tetragon write a container id: runtime scheme, then the id. */
export function containerIdUrl(runtime: RuntimeName | string, id: string): string {
  return `${runtime}://${id}`;
}

/** Splits "containerd://<id>" (a pod status containerID) into scheme and id. */
export function parseContainerIdUrl(s: string): { runtime: string; id: string } | null {
  const m = /^([a-z0-9-]+):\/\/([0-9a-f]{64})$/.exec(s);
  return m ? { runtime: m[1], id: m[2] } : null;
}
