// Policies and pod metadata from the Kubernetes API (--enable-k8s-api), with
// @kubernetes/client-node's informers (list, then watch from the list's
// resourceVersion; re-listed after an error):
//   - TracingPolicy and TracingPolicyNamespaced (cilium.io/v1alpha1): loaded
//     as the API returns them, domain "k8s"; a change replaces the policy, a
//     delete removes it. A policy that does not compile or load is reported
//     as a Warning Event on the policy object and listed by `tp list` with
//     state load_error.
//   - the Pods of this node (fieldSelector spec.nodeName): their labels
//     (which change after the sandbox was made) and owners (the workload)
//     for the container runtime's pods (src/pods/cri.ts).
import * as k8s from '@kubernetes/client-node';
import type { Agent } from './agent.js';
import { ApiError, type PolicyStatus } from '../api/protocol.js';
import { qualified } from './policies.js';

const GROUP = 'cilium.io';
const VERSION = 'v1alpha1';
const KINDS = [
  { kind: 'TracingPolicy', plural: 'tracingpolicies', namespaced: false },
  { kind: 'TracingPolicyNamespaced', plural: 'tracingpoliciesnamespaced', namespaced: true },
] as const;

type Obj = { apiVersion?: string; kind?: string; metadata?: k8s.V1ObjectMeta; spec?: unknown };

/** A policy object the agent could not compile: listed by `tp list` beside the loaded ones. */
interface Failed {
  kind: string;
  name: string;
  namespace: string | null;
  error: string;
}

export interface PodMeta {
  labels: Record<string, string>;
  workload: { name: string; kind: string };
}

/** KubeConfig from --kubeconfig, else the in-cluster service account. */
export function kubeConfig(file?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (file) {
    try {
      kc.loadFromFile(file);
    } catch (e) {
      throw new Error(`--kubeconfig ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
  } else {
    if (!process.env.KUBERNETES_SERVICE_HOST) {
      throw new Error('--enable-k8s-api: not in a cluster (KUBERNETES_SERVICE_HOST is unset): give --kubeconfig');
    }
    kc.loadFromCluster();
  }
  if (!kc.getCurrentCluster()) throw new Error(`--kubeconfig ${file}: no current cluster`);
  return kc;
}

/**
 * The workload of a pod from its owners, as Tetragon names it: the
 * Deployment of a ReplicaSet-owned pod whose ReplicaSet is "<deployment>-<pod-template-hash>",
 * else the owner's kind and name, else the pod itself.
 */
export function workloadOfPod(pod: k8s.V1Pod): { name: string; kind: string } {
  const name = pod.metadata?.name ?? '';
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller) ?? pod.metadata?.ownerReferences?.[0];
  if (!owner) return { name, kind: 'Pod' };
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) return { name: owner.name.slice(0, -hash.length - 1), kind: 'Deployment' };
  return { name: owner.name, kind: owner.kind };
}

export class K8sWatch {
  private readonly kc: k8s.KubeConfig;
  private readonly core: k8s.CoreV1Api;
  private readonly custom: k8s.CustomObjectsApi;
  private informers: k8s.Informer<k8s.KubernetesObject>[] = [];
  private pods = new Map<string, PodMeta>();
  private failed = new Map<string, Failed>();
  /** policy key -> the object's spec last loaded (a status-only update changes nothing) */
  private loadedSpec = new Map<string, string>();
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;
  /** events posted, for status and tests */
  eventsPosted = 0;

  constructor(
    private readonly agent: Agent,
    opts: { kubeconfig?: string },
  ) {
    this.kc = kubeConfig(opts.kubeconfig);
    this.core = this.kc.makeApiClient(k8s.CoreV1Api);
    this.custom = this.kc.makeApiClient(k8s.CustomObjectsApi);
  }

  get server(): string {
    return this.kc.getCurrentCluster()?.server ?? '';
  }

  /** Labels and workload of a pod of this node, by uid (undefined: the API has not shown it). */
  podMeta(uid: string): PodMeta | undefined {
    return this.pods.get(uid);
  }

  /** Watches this node's pods; resolves after the first list. */
  async startPods(): Promise<void> {
    const field = `spec.nodeName=${this.agent.node}`;
    const path = `/api/v1/pods?fieldSelector=${encodeURIComponent(field)}`;
    const listed = deferred();
    const inf = k8s.makeInformer(this.kc, path, () => this.core.listPodForAllNamespaces({ fieldSelector: field }).then(listed.ok));
    const put = (p: k8s.V1Pod) => {
      const uid = p.metadata?.uid;
      if (!uid) return;
      this.pods.set(uid, { labels: { ...(p.metadata?.labels ?? {}) }, workload: workloadOfPod(p) });
      void this.agent.cri?.sync().catch(() => undefined);
    };
    inf.on('add', put);
    inf.on('update', put);
    inf.on('delete', (p: k8s.V1Pod) => {
      if (p.metadata?.uid) this.pods.delete(p.metadata.uid);
    });
    await this.run(inf as unknown as k8s.Informer<k8s.KubernetesObject>, `pods of node ${this.agent.node}`, listed);
    this.agent.log(`Kubernetes API ${this.server}: ${this.pods.size} pods on node ${this.agent.node}`);
  }

  /** Watches both policy kinds; resolves after their first lists were loaded. */
  async startPolicies(): Promise<void> {
    for (const k of KINDS) {
      const listed = deferred();
      const inf = k8s.makeInformer(this.kc, `/apis/${GROUP}/${VERSION}/${k.plural}`, () =>
        this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: k.plural }).then(listed.ok),
      ) as unknown as k8s.Informer<Obj & k8s.KubernetesObject>;
      inf.on('add', (o) => void this.serial(() => this.apply(k.kind, o)));
      inf.on('update', (o) => void this.serial(() => this.apply(k.kind, o)));
      inf.on('delete', (o) => void this.serial(() => this.remove(k.kind, o)));
      await this.run(inf as unknown as k8s.Informer<k8s.KubernetesObject>, `${k.plural}.${GROUP}`, listed);
    }
    await this.serial(async () => undefined);
    this.agent.log(`Kubernetes API: watching ${KINDS.map((k) => `${k.plural}.${GROUP}`).join(' and ')}`);
  }

  /** Policy objects that did not compile, as `tp list` shows them (state load_error). */
  failedStatus(): PolicyStatus[] {
    return [...this.failed.values()].map((f) => ({
      id: 0,
      name: f.name,
      namespace: f.namespace,
      kind: f.kind,
      domain: 'k8s',
      file: fileOf(f.kind, f.name, f.namespace),
      state: 'load_error',
      error: f.error,
      mode: 'enforce',
      filterId: 0,
      filtered: false,
      host: false,
      pods: [],
      hooks: [],
      sensors: [],
      kernelMemory: 0,
      programMemory: 0,
      counters: { post: 0, enforce: 0, monitor: 0, nopost: 0 },
      selectors: [],
      programs: [],
    }));
  }

  /**
   * Starts an informer and waits for its first list (at most `START_TIMEOUT_MS`:
   * the agent does not start without the API it was asked to follow); an
   * error later re-lists after a second.
   */
  private async run(inf: k8s.Informer<k8s.KubernetesObject>, what: string, listed: Deferred): Promise<void> {
    let lastError = '';
    inf.on('error', (err: unknown) => {
      if (this.stopped) return; // stop() aborts the watch, which reports an abort
      const m = (err as Error)?.message ?? String(err);
      if (m !== lastError) this.agent.log(`Kubernetes API: ${what}: ${m} (retrying)`);
      lastError = m;
      setTimeout(() => {
        if (!this.stopped) void inf.start().catch(() => undefined);
      }, 1000).unref();
    });
    inf.on('connect', () => (lastError = ''));
    this.informers.push(inf);
    try {
      await inf.start();
    } catch (e) {
      throw new Error(`Kubernetes API ${this.server}: ${what}: ${(e as Error).message}`);
    }
    const ok = await Promise.race([listed.promise.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), START_TIMEOUT_MS).unref())]);
    if (!ok) throw new Error(`Kubernetes API ${this.server}: cannot list ${what}${lastError ? `: ${lastError}` : ''}`);
  }

  private async apply(kind: string, o: Obj): Promise<void> {
    const name = o.metadata?.name ?? '';
    const ns = kind === 'TracingPolicyNamespaced' ? (o.metadata?.namespace ?? 'default') : null;
    const key = keyOf(kind, name, ns);
    const spec = JSON.stringify(o.spec ?? null);
    // a status or metadata update, or the re-list after a reconnect: nothing to do (a failed spec stays failed until it changes)
    if (this.loadedSpec.get(key) === spec) return;
    await this.unload(kind, name, ns);
    this.loadedSpec.set(key, spec);
    const file = fileOf(kind, name, ns);
    try {
      const r = await this.agent.policies.add({ text: JSON.stringify(o), file, namespace: ns ?? 'default', domain: 'k8s' });
      this.failed.delete(key);
      for (const w of r.warnings) this.agent.log(w);
      for (const p of r.policies) {
        if (p.state === 'load_error') await this.event(kind, o, 'Warning', 'LoadError', `talon on ${this.agent.node}: load_error: ${p.error ?? ''}`);
        else this.agent.log(`loaded ${qualified(p.spec)} (${p.mode}) from the Kubernetes API`);
      }
    } catch (e) {
      const diags = e instanceof ApiError ? (e.diagnostics ?? []) : [];
      const error = [(e as Error).message, ...diags].join('\n');
      this.failed.set(key, { kind, name, namespace: ns, error });
      this.agent.log(`${file}: not loaded: ${error}`);
      await this.event(kind, o, 'Warning', 'LoadError', `talon on ${this.agent.node}: not loaded: ${error}`);
    }
  }

  private async remove(kind: string, o: Obj): Promise<void> {
    const name = o.metadata?.name ?? '';
    const ns = kind === 'TracingPolicyNamespaced' ? (o.metadata?.namespace ?? 'default') : null;
    this.loadedSpec.delete(keyOf(kind, name, ns));
    this.failed.delete(keyOf(kind, name, ns));
    await this.unload(kind, name, ns);
  }

  /** Removes the agent's k8s policy of that name, if it has one (policies of other domains stay). */
  private async unload(kind: string, name: string, ns: string | null): Promise<void> {
    const p = this.agent.policies
      .all()
      .find((x) => x.unit.domain === 'k8s' && x.spec.name === name && (x.spec.namespace ?? null) === ns && x.spec.kind === kind);
    if (!p) return;
    await this.agent.policies.delete(name, ns ?? undefined);
    this.agent.log(`removed ${qualified(p.spec)} (Kubernetes API)`);
  }

  /** An Event on the policy object, where `kubectl describe` and `kubectl get events` show it. */
  private async event(kind: string, o: Obj, type: 'Warning' | 'Normal', reason: string, message: string): Promise<void> {
    const name = o.metadata?.name ?? '';
    // events of cluster-scoped objects live in "default", as the API's own controllers put them
    const namespace = kind === 'TracingPolicyNamespaced' ? (o.metadata?.namespace ?? 'default') : 'default';
    const now = new Date();
    const body: k8s.CoreV1Event = {
      metadata: { generateName: `${name}.`, namespace },
      involvedObject: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind,
        name,
        ...(kind === 'TracingPolicyNamespaced' ? { namespace } : {}),
        uid: o.metadata?.uid,
        resourceVersion: o.metadata?.resourceVersion,
      },
      reason,
      // the API limits an event message to 1 KiB
      message: message.length > 1024 ? `${message.slice(0, 1021)}...` : message,
      type,
      source: { component: 'talon', host: this.agent.node },
      reportingComponent: 'talon',
      reportingInstance: this.agent.node,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    try {
      await this.core.createNamespacedEvent({ namespace, body });
      this.eventsPosted++;
    } catch (e) {
      this.agent.log(`Kubernetes API: cannot post the event for ${kind} ${name}: ${(e as Error).message}`);
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const inf of this.informers) await inf.stop();
    this.informers = [];
  }
}

/** How long the agent's start waits for the first list of each resource. */
const START_TIMEOUT_MS = 15_000;

interface Deferred {
  promise: Promise<void>;
  ok: <T>(v: T) => T;
}

function deferred(): Deferred {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return {
    promise,
    ok: <T>(v: T) => {
      resolve();
      return v;
    },
  };
}

function keyOf(kind: string, name: string, ns: string | null): string {
  return `${kind}/${ns ?? ''}/${name}`;
}

/** What `tp list` shows as the policy's file: where it came from. */
function fileOf(kind: string, name: string, ns: string | null): string {
  return `k8s:${kind.toLowerCase()}/${ns ? `${ns}/` : ''}${name}`;
}
