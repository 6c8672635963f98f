// A small client of the Kubernetes Container Runtime Interface (runtime.v1,
// proto/cri/api.proto) over grpc-js: what the agent reads (sandboxes,
// containers, their status with the runtime's verbose info) and what the
// tests and the quickstart need to create pods the way the kubelet does.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO_DIR = fileURLToPath(new URL('../../../proto', import.meta.url));

/** Tetragon's default --cri-endpoint. */
export const DEFAULT_CRI_ENDPOINT = 'unix:///run/containerd/containerd.sock';

type Json = Record<string, unknown>;

export interface CriSandbox {
  id: string;
  metadata: { name: string; uid: string; namespace: string; attempt?: number };
  state: 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
  created_at?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface CriContainer {
  id: string;
  pod_sandbox_id: string;
  metadata: { name: string; attempt?: number };
  image?: { image?: string };
  image_ref?: string;
  state: 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';
  created_at?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface CriContainerStatus {
  status: {
    id: string;
    metadata?: { name: string };
    state: CriContainer['state'];
    image?: { image?: string };
    image_ref?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    started_at?: string;
  };
  /** verbose only: JSON strings keyed by topic ("info" holds pid and runtimeSpec) */
  info?: Record<string, string>;
}

/** unix:///path, unix:/path, /path (as Tetragon and crictl accept them) -> a grpc-js target. */
export function criTarget(endpoint: string): string {
  const e = endpoint.trim();
  if (e.startsWith('unix://')) return `unix://${e.slice('unix://'.length)}`;
  if (e.startsWith('unix:')) return `unix://${e.slice('unix:'.length)}`;
  if (e.startsWith('/')) return `unix://${e}`;
  throw new Error(`invalid CRI endpoint ${JSON.stringify(endpoint)}: expected unix:///path/to/socket`);
}

let ctor: grpc.ServiceClientConstructor | null = null;

function runtimeService(): grpc.ServiceClientConstructor {
  if (ctor) return ctor;
  const def = protoLoader.loadSync(['cri/api.proto'], {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: false,
    includeDirs: [PROTO_DIR],
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { runtime: { v1: { RuntimeService: grpc.ServiceClientConstructor } } };
  ctor = pkg.runtime.v1.RuntimeService;
  return ctor;
}

export class CriClient {
  private readonly client: grpc.Client;

  constructor(
    readonly endpoint: string,
    private readonly timeoutMs = 10_000,
  ) {
    const C = runtimeService();
    this.client = new C(criTarget(endpoint), grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  }

  /** One unary call; rejects with "CRI <Method>: <details>". */
  call<T = Json>(method: string, req: Json, timeoutMs = this.timeoutMs): Promise<T> {
    return new Promise((resolve, reject) => {
      const fn = (
        this.client as unknown as Record<string, (r: Json, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v: T) => void) => void>
      )[method];
      if (typeof fn !== 'function') return reject(new Error(`CRI ${method}: not in proto/cri/api.proto`));
      fn.call(this.client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        // grpc-js appends an empty "Resolution note" to connection errors
        if (err) reject(new Error(`CRI ${method} (${this.endpoint}): ${(err.details || err.message).replace(/\.? *Resolution note: *$/, '')}`));
        else resolve(res);
      });
    });
  }

  async version(): Promise<{ runtime_name: string; runtime_version: string; runtime_api_version: string }> {
    return this.call('Version', { version: 'v1' });
  }

  async listSandboxes(): Promise<CriSandbox[]> {
    const r = await this.call<{ items?: CriSandbox[] }>('ListPodSandbox', {});
    return r.items ?? [];
  }

  async listContainers(): Promise<CriContainer[]> {
    const r = await this.call<{ containers?: CriContainer[] }>('ListContainers', {});
    return r.containers ?? [];
  }

  async containerStatus(id: string, verbose = true): Promise<CriContainerStatus> {
    return this.call('ContainerStatus', { container_id: id, verbose });
  }

  close(): void {
    this.client.close();
  }
}

/**
 * What the runtime's verbose ContainerStatus info says about where the
 * container runs: its init pid and the OCI spec's linux.cgroupsPath
 * (containerd's "info" key; CRI-O puts the same under "info" too).
 */
export function containerRuntimeInfo(st: CriContainerStatus): { pid: number | null; cgroupsPath: string | null } {
  const raw = st.info?.info;
  if (!raw) return { pid: null, cgroupsPath: null };
  try {
    const j = JSON.parse(raw) as { pid?: number; runtimeSpec?: { linux?: { cgroupsPath?: string } } };
    return { pid: typeof j.pid === 'number' && j.pid > 0 ? j.pid : null, cgroupsPath: j.runtimeSpec?.linux?.cgroupsPath ?? null };
  } catch {
    return { pid: null, cgroupsPath: null };
  }
}
