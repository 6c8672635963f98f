// Pods of the container runtime, read over CRI: every container of every
// sandbox becomes one pod entry of the registry (namespace, name, uid and
// labels of its sandbox; its own name, image, id and cgroup), so that the
// same scoping as for `talon pod add` pods applies to real containers.
//
// containerd 1.6 has no container event stream in CRI (GetContainerEvents
// came with 1.7), so the runtime is polled: ListPodSandbox + ListContainers
// every `pollMs`, and ContainerStatus (verbose: the OCI spec's cgroupsPath)
// once per new container. Containers are taken in from the CREATED state on,
// as soon as their cgroup exists. A new container of a pod already seen needs
// no poll to be covered: each pod entry names its pod's own cgroup
// (podCgroupId), from which the kernel passes policies to new containers'
// cgroups (docs/kubernetes.md); a pod's first container waits for a poll.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cgroup2Root, cgroupId, processCgroupPath } from './cgroup.js';
import { CriClient, containerRuntimeInfo, type CriContainer, type CriSandbox } from './cri-client.js';
import { cgroupsPathToDir, containerIdUrl, containerOfCgroupPath, podCgroupDir } from './cri-cgroup.js';
import type { Pod } from './pod.js';
import type { PodRegistry } from './registry.js';

export interface CriPodsOptions {
  endpoint: string;
  /** poll interval (ms), default 100 */
  pollMs?: number;
  cgroupRoot?: string;
  log?: (m: string) => void;
  /**
   * Pod metadata the Kubernetes API knows better than the runtime (labels can
   * change after the sandbox was made; the owner gives the workload), by pod uid.
   */
  podMeta?: (uid: string) => { labels?: Record<string, string>; workload?: { name: string; kind: string } } | undefined;
}

/**
 * How often the runtime is listed. containerd creates a container's cgroup
 * some 400 ms before it execs the entrypoint (both inside StartContainer):
 * at 100 ms a poll usually falls in between, which covers the first container
 * of a pod new to the agent from its first instruction (docs/kubernetes.md).
 */
export const DEFAULT_POLL_MS = 100;

/** Labels the kubelet adds to sandboxes and containers for itself; not pod labels. */
const KUBELET_LABEL = /^io\.kubernetes\./;

interface Resolved {
  cgroupPath: string;
  cgroupId: string;
  runtime: string;
  /** the pod's own cgroup id; null: none named for the pod; undefined: not looked up yet */
  podCgroupId?: string | null;
}

export class CriPods {
  readonly client: CriClient;
  private timer: NodeJS.Timeout | null = null;
  private resolved = new Map<string, Resolved>();
  private running: Promise<void> | null = null;
  private runtimeName = 'containerd';
  private lastError = '';
  private readonly cgroupRoot: string;
  /** number of completed polls, for status and tests */
  polls = 0;

  constructor(
    private readonly registry: PodRegistry,
    private readonly opts: CriPodsOptions,
  ) {
    this.client = new CriClient(opts.endpoint);
    this.cgroupRoot = opts.cgroupRoot ?? cgroup2Root();
  }

  /** Connects (Version), lists what runs, then follows the runtime. Throws when the runtime does not answer. */
  async start(): Promise<{ runtime: string; version: string; pods: number }> {
    const v = await this.client.version();
    this.runtimeName = runtimeScheme(v.runtime_name);
    await this.sync();
    this.timer = setInterval(() => void this.sync().catch(() => undefined), this.opts.pollMs ?? DEFAULT_POLL_MS);
    this.timer.unref();
    return { runtime: `${v.runtime_name} ${v.runtime_version}`, version: v.runtime_api_version, pods: this.registry.listSource('cri').length };
  }

  /** One poll (also called by the agent when it wants a fresh view). Concurrent calls share one run. */
  sync(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.syncOnce().finally(() => (this.running = null));
    return this.running;
  }

  private async syncOnce(): Promise<void> {
    let sandboxes: CriSandbox[];
    let containers: CriContainer[];
    try {
      [sandboxes, containers] = await Promise.all([this.client.listSandboxes(), this.client.listContainers()]);
    } catch (e) {
      const m = (e as Error).message;
      if (m !== this.lastError) this.opts.log?.(`CRI: ${m} (pods of the runtime kept as they were)`);
      this.lastError = m;
      throw e;
    }
    if (this.lastError) this.opts.log?.(`CRI: ${this.opts.endpoint} answers again`);
    this.lastError = '';
    const byId = new Map(sandboxes.map((s) => [s.id, s]));
    const next = new Map<string, Pod>();
    const seen = new Set<string>();
    for (const c of containers) {
      if (c.state !== 'CONTAINER_RUNNING' && c.state !== 'CONTAINER_CREATED') continue;
      const sb = byId.get(c.pod_sandbox_id);
      if (!sb || !sb.metadata) continue;
      seen.add(c.id);
      const r = await this.resolve(c);
      if (!r) continue;
      next.set(c.id, this.podOf(sb, c, r));
    }
    for (const id of this.resolved.keys()) if (!seen.has(id)) this.resolved.delete(id);
    await this.registry.replaceSource('cri', next);
    this.polls++;
  }

  /** The cgroup of a container: the spec's cgroupsPath, else the cgroup of its init process. Cached per container. */
  private async resolve(c: CriContainer): Promise<Resolved | null> {
    const have = this.resolved.get(c.id);
    if (have && existsSync(have.cgroupPath)) return have;
    let st;
    try {
      st = await this.client.containerStatus(c.id, true);
    } catch {
      return null; // removed meanwhile
    }
    const info = containerRuntimeInfo(st);
    const candidates: string[] = [];
    if (info.cgroupsPath) {
      try {
        candidates.push(join(this.cgroupRoot, cgroupsPathToDir(info.cgroupsPath)));
      } catch {
        /* an unusual path: the pid's cgroup below */
      }
    }
    if (info.pid) {
      const rel = processCgroupPath(info.pid);
      if (rel) candidates.push(join(this.cgroupRoot, rel));
    }
    for (const dir of candidates) {
      try {
        const ref = containerOfCgroupPath(dir);
        const r: Resolved = { cgroupPath: dir, cgroupId: cgroupId(dir).toString(), runtime: ref?.runtime ?? this.runtimeName };
        this.resolved.set(c.id, r);
        return r;
      } catch {
        /* not there (yet) */
      }
    }
    return null;
  }

  private podOf(sb: CriSandbox, c: CriContainer, r: Resolved): Pod {
    const md = sb.metadata;
    const meta = this.opts.podMeta?.(md.uid);
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(meta?.labels ?? sb.labels ?? {})) if (!KUBELET_LABEL.test(k)) labels[k] = v;
    const image = c.image?.image || c.image_ref || '';
    if (r.podCgroupId === undefined) {
      const dir = podCgroupDir(r.cgroupPath, md.uid);
      try {
        r.podCgroupId = dir ? cgroupId(dir).toString() : null;
      } catch {
        r.podCgroupId = null;
      }
    }
    return {
      namespace: md.namespace,
      name: md.name,
      labels,
      container: {
        name: c.metadata?.name ?? '',
        image,
        id: containerIdUrl(r.runtime, c.id),
        imageId: c.image_ref || image,
        started: nsToIso(c.created_at),
      },
      source: 'cri',
      workload: meta?.workload ?? workloadOf(md.name, labels),
      uid: md.uid,
      cgroupPath: r.cgroupPath,
      cgroupId: r.cgroupId,
      ...(r.podCgroupId ? { podCgroupId: r.podCgroupId } : {}),
      created: nsToIso(sb.created_at) ?? new Date().toISOString(),
    };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.client.close();
  }
}

/** The URL scheme of container ids for a CRI runtime_name ("containerd", "cri-o"). */
export function runtimeScheme(runtimeName: string): string {
  const n = runtimeName.toLowerCase();
  if (n.includes('containerd')) return 'containerd';
  if (n.includes('cri-o') || n === 'crio') return 'cri-o';
  return n.replace(/[^a-z0-9-]/g, '') || 'cri';
}

/**
 * The workload of a pod without the Kubernetes API: a pod named
 * "<deployment>-<pod-template-hash>-<5 chars>" belongs to that Deployment
 * (as the ReplicaSet controller names them); anything else is its own workload.
 */
export function workloadOf(name: string, labels: Record<string, string>): { name: string; kind: string } {
  const hash = labels['pod-template-hash'];
  if (hash) {
    const m = new RegExp(`^(.+)-${hash.replace(/[^a-z0-9]/g, '')}-[a-z0-9]{5}$`).exec(name);
    if (m) return { name: m[1], kind: 'Deployment' };
  }
  return { name, kind: 'Pod' };
}

function nsToIso(ns: string | undefined): string | undefined {
  if (!ns || ns === '0') return undefined;
  try {
    const ms = Number(BigInt(ns) / 1_000_000n);
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  } catch {
    return undefined;
  }
}
