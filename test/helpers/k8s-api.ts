// A list/watch server speaking the Kubernetes API's JSON for the resources
// talon watches, as @kubernetes/client-node reads it (no kube-apiserver can
// run on these machines: none is packaged, none builds here):
//   GET  /api/v1/pods[?fieldSelector=spec.nodeName=N]                 -> PodList
//   GET  /apis/cilium.io/v1alpha1/tracingpolicies                      -> TracingPolicyList
//   GET  /apis/cilium.io/v1alpha1/tracingpoliciesnamespaced            -> TracingPolicyNamespacedList
//   ...?watch=true&resourceVersion=R  -> a chunked stream of {"type","object"} lines after R
//   POST /api/v1/namespaces/NS/events                                  -> 201 Event (recorded)
// Objects get what the real server sets (uid, resourceVersion, generation,
// creationTimestamp, managedFields), and a watch without a resourceVersion is
// refused as a 1.32 server on etcd 3.4 refuses it, so a client that skips
// the list fails here too.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Obj = { apiVersion?: string; kind?: string; metadata: Record<string, any>; spec?: any; [k: string]: any };

interface Resource {
  path: string;
  listKind: string;
  apiVersion: string;
  objects: Map<string, Obj>;
}

export class FakeKubeApi {
  private server: Server | null = null;
  private rv = 100;
  private readonly resources: Resource[] = [
    { path: '/api/v1/pods', listKind: 'PodList', apiVersion: 'v1', objects: new Map() },
    { path: '/apis/cilium.io/v1alpha1/tracingpolicies', listKind: 'TracingPolicyList', apiVersion: 'cilium.io/v1alpha1', objects: new Map() },
    {
      path: '/apis/cilium.io/v1alpha1/tracingpoliciesnamespaced',
      listKind: 'TracingPolicyNamespacedList',
      apiVersion: 'cilium.io/v1alpha1',
      objects: new Map(),
    },
  ];
  private history: { rv: number; res: Resource; type: string; obj: Obj }[] = [];
  private watchers = new Set<{ res: Resource; node: string | null; write: (type: string, obj: Obj) => void; end: () => void }>();
  /** Events posted by the agent */
  readonly events: Obj[] = [];
  /** every request line, for the tests ("GET /api/v1/pods?...") */
  readonly requests: string[] = [];
  port = 0;

  async listen(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** A kubeconfig file for this server (plain http, no credentials). */
  writeKubeconfig(dir: string): string {
    const f = join(dir, 'kubeconfig');
    writeFileSync(
      f,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: fake',
        '  cluster:',
        `    server: http://127.0.0.1:${this.port}`,
        // client-node refuses plain http unless told so
        '    insecure-skip-tls-verify: true',
        'users:',
        '- name: talon',
        '  user: {}',
        'contexts:',
        '- name: fake',
        '  context: {cluster: fake, user: talon}',
        'current-context: fake',
        '',
      ].join('\n'),
    );
    return f;
  }

  private res(kind: string): Resource {
    const path = {
      Pod: '/api/v1/pods',
      TracingPolicy: '/apis/cilium.io/v1alpha1/tracingpolicies',
      TracingPolicyNamespaced: '/apis/cilium.io/v1alpha1/tracingpoliciesnamespaced',
    }[kind];
    const r = this.resources.find((x) => x.path === path);
    if (!r) throw new Error(`fake API: unknown kind ${kind}`);
    return r;
  }

  /** Creates or replaces an object (kubectl apply): server metadata set, watchers told. */
  apply(obj: Obj): Obj {
    const r = this.res(obj.kind!);
    const key = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const old = r.objects.get(key);
    const rv = ++this.rv;
    const specChanged = !old || JSON.stringify(old.spec) !== JSON.stringify(obj.spec);
    const stored: Obj = {
      ...obj,
      apiVersion: obj.apiVersion ?? r.apiVersion,
      metadata: {
        ...obj.metadata,
        uid: old?.metadata.uid ?? obj.metadata.uid ?? randomUUID(),
        resourceVersion: String(rv),
        generation: (old?.metadata.generation ?? 0) + (specChanged ? 1 : 0),
        creationTimestamp: old?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        managedFields: [
          {
            apiVersion: obj.apiVersion ?? r.apiVersion,
            fieldsType: 'FieldsV1',
            fieldsV1: { 'f:spec': {} },
            manager: 'kubectl-client-side-apply',
            operation: 'Update',
            time: new Date().toISOString(),
          },
        ],
      },
    };
    r.objects.set(key, stored);
    this.emit(r, old ? 'MODIFIED' : 'ADDED', stored, rv);
    return stored;
  }

  delete(kind: string, name: string, namespace?: string): void {
    const r = this.res(kind);
    const key = `${namespace ?? ''}/${name}`;
    const old = r.objects.get(key);
    if (!old) throw new Error(`fake API: no ${kind} ${key}`);
    r.objects.delete(key);
    const rv = ++this.rv;
    this.emit(r, 'DELETED', { ...old, metadata: { ...old.metadata, resourceVersion: String(rv) } }, rv);
  }

  private emit(res: Resource, type: string, obj: Obj, rv: number): void {
    this.history.push({ rv, res, type, obj });
    for (const w of this.watchers) if (w.res === res && matchesNode(obj, w.node)) w.write(type, obj);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const status = (code: number, reason: string, message: string) =>
      send(code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
    const ev = /^\/api\/v1\/namespaces\/([^/]+)\/events$/.exec(url.pathname);
    if (ev && req.method === 'POST') {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        try {
          const e = JSON.parse(body) as Obj;
          if (e.metadata?.namespace && e.metadata.namespace !== ev[1])
            return status(400, 'BadRequest', 'the namespace of the object does not match the namespace on the request');
          const name = e.metadata?.name ?? `${e.metadata?.generateName ?? 'event.'}${randomUUID().slice(0, 8)}`;
          const stored = {
            ...e,
            kind: 'Event',
            apiVersion: 'v1',
            metadata: { ...e.metadata, name, namespace: ev[1], uid: randomUUID(), resourceVersion: String(++this.rv) },
          };
          this.events.push(stored);
          send(201, stored);
        } catch {
          status(400, 'BadRequest', 'invalid JSON');
        }
      });
      return;
    }
    const r = this.resources.find((x) => x.path === url.pathname);
    if (!r || req.method !== 'GET') return status(404, 'NotFound', `the server could not find the requested resource (${req.method} ${url.pathname})`);
    const field = url.searchParams.get('fieldSelector');
    let node: string | null = null;
    if (field) {
      const m = /^spec\.nodeName=(.*)$/.exec(field);
      if (!m || r.path !== '/api/v1/pods') return status(400, 'BadRequest', `field label not supported: ${field}`);
      node = m[1];
    }
    if (url.searchParams.get('watch') !== 'true') {
      const items = [...r.objects.values()].filter((o) => matchesNode(o, node));
      return send(200, { kind: r.listKind, apiVersion: r.apiVersion, metadata: { resourceVersion: String(this.rv) }, items });
    }
    const since = url.searchParams.get('resourceVersion');
    if (!since) return status(400, 'BadRequest', 'resourceVersion is required for a watch here (list first)');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // the API server answers a watch at once, before any event
    res.flushHeaders();
    const write = (type: string, obj: Obj) => res.write(JSON.stringify({ type, object: obj }) + '\n');
    for (const h of this.history) if (h.res === r && h.rv > Number(since) && matchesNode(h.obj, node)) write(h.type, h.obj);
    const w = { res: r, node, write, end: () => res.end() };
    this.watchers.add(w);
    req.on('close', () => this.watchers.delete(w));
  }

  /** Ends every open watch (as the server does when a watch times out); the server stays up. */
  dropWatches(): void {
    for (const w of this.watchers) w.end();
    this.watchers.clear();
  }

  async close(): Promise<void> {
    for (const w of this.watchers) w.end();
    this.watchers.clear();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}

function matchesNode(o: Obj, node: string | null): boolean {
  return node === null || o.spec?.nodeName === node;
}

/** A Pod object as the API returns it for a pod the kubelet runs on `node`. */
export function podObject(p: {
  namespace: string;
  name: string;
  uid: string;
  labels: Record<string, string>;
  node: string;
  owner?: { kind: string; name: string };
}): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.namespace,
      uid: p.uid,
      labels: p.labels,
      ...(p.owner
        ? {
            ownerReferences: [{ apiVersion: 'apps/v1', kind: p.owner.kind, name: p.owner.name, uid: randomUUID(), controller: true, blockOwnerDeletion: true }],
          }
        : {}),
    },
    spec: { nodeName: p.node, containers: [{ name: 'spaceship', image: 'localhost/talon-test:1' }] },
    status: { phase: 'Running' },
  };
}
