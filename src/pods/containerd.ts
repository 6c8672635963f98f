// A private containerd for the CRI test suites and the quickstart: Debian's containerd + runc with
// every path in one temporary directory (its own socket, root, state, runc
// root, no CNI), an image built here from a static pause binary (no
// registry), and pods made over CRI the way the kubelet makes them
// (host network, cgroup parent /<top>/kubepods/besteffort/pod<uid>).
// stop() leaves nothing: sandboxes removed, containerd and its shims killed
// by pid, mounts under the directory unmounted, the cgroup tops removed in
// every hierarchy, the directory deleted. Needs root.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CriClient } from './cri-client.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Why containerd cannot run here, or null. */
export function containerdMissing(): string | null {
  if (process.getuid?.() !== 0) return 'needs root';
  if (process.platform !== 'linux') return 'needs Linux';
  for (const bin of ['containerd', 'containerd-shim-runc-v2', 'runc', 'ctr', 'gcc']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) return `${bin} is not installed (scripts/setup.sh installs containerd and runc)`;
  }
  return null;
}

export const TEST_IMAGE = 'localhost/talon-test:1';

/** The fake /etc/shadow of the test image (the host's is never read by the tests' containers). */
export const IMAGE_SHADOW = 'root:*:19000:0:99999:7:::\n';

const PAUSE_C = `#include <signal.h>
#include <unistd.h>
static void done(int s) { (void)s; _exit(0); }
int main(void) { signal(SIGTERM, done); signal(SIGINT, done); for (;;) pause(); }
`;

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function ociArch(): string {
  const m = process.arch;
  return m === 'x64' ? 'amd64' : m === 'arm64' ? 'arm64' : m;
}

/** Writes an OCI image archive (one layer: /pause, /etc with a fake shadow, /usr symlinks) and returns its path. */
export function buildImageArchive(dir: string, name = TEST_IMAGE): string {
  const rootfs = join(dir, 'rootfs');
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  for (const d of ['usr', 'tmp', 'proc', 'sys', 'dev', 'work']) mkdirSync(join(rootfs, d), { recursive: true });
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  chmodSync(join(rootfs, 'work'), 0o1777);
  // the host's programs come in through a read-only bind mount of /usr (merged /usr layout)
  for (const l of ['bin', 'lib', 'lib64', 'sbin']) symlinkSync(`usr/${l}`, join(rootfs, l));
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\n');
  writeFileSync(join(rootfs, 'etc', 'shadow'), IMAGE_SHADOW, { mode: 0o640 });
  writeFileSync(join(dir, 'pause.c'), PAUSE_C);
  execFileSync('gcc', ['-static', '-O2', '-o', join(rootfs, 'pause'), join(dir, 'pause.c')]);
  const layout = join(dir, 'oci');
  const blobs = join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const layerTar = join(dir, 'layer.tar');
  execFileSync('tar', ['--owner=0', '--group=0', '--numeric-owner', '--sort=name', '--mtime=@0', '-C', rootfs, '-cf', layerTar, '.']);
  const layer = readFileSync(layerTar);
  const blob = (b: Buffer) => {
    const d = sha256(b);
    writeFileSync(join(blobs, d), b);
    return { digest: `sha256:${d}`, size: b.length };
  };
  const l = blob(layer);
  const config = blob(
    Buffer.from(
      JSON.stringify({
        architecture: ociArch(),
        os: 'linux',
        config: { Cmd: ['/pause'], WorkingDir: '/' },
        rootfs: { type: 'layers', diff_ids: [l.digest] },
      }),
    ),
  );
  const manifest = blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l }],
      }),
    ),
  );
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          platform: { architecture: ociArch(), os: 'linux' },
          annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': name.split(':').pop() },
        },
      ],
    }),
  );
  const archive = join(dir, 'image.tar');
  execFileSync('tar', ['-C', layout, '-cf', archive, '.']);
  return archive;
}

function config(dir: string): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${dir}/root"
state = "${dir}/state"
oom_score = 0

[grpc]
  address = "${dir}/containerd.sock"

[ttrpc]
  address = "${dir}/containerd.sock.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"

[${cri}]
  sandbox_image = "${TEST_IMAGE}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[${cri}.cni]
  conf_dir = "${dir}/cni/conf"
  bin_dir = "${dir}/cni/bin"

[${cri}.containerd]
  snapshotter = "overlayfs"

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
  Root = "${dir}/runc"
`;
}

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
  labels: Record<string, string>;
  sandboxId: string;
  config: Record<string, unknown>;
}

export class Containerd {
  readonly client: CriClient;
  readonly endpoint: string;
  private pods: PodRef[] = [];
  private stderr = '';

  private constructor(
    readonly dir: string,
    private readonly child: ChildProcess,
    /** the first directory under every cgroup hierarchy's root that holds this run's pods */
    readonly cgroupTop: string,
  ) {
    this.endpoint = `unix://${join(dir, 'containerd.sock')}`;
    this.client = new CriClient(this.endpoint, 30_000);
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-20_000);
    });
  }

  /** Starts containerd, waits for CRI, imports the test image. Cleans up itself when that fails. */
  static async start(): Promise<Containerd> {
    const dir = mkdtempSync(join(tmpdir(), 'talon-ctrd-'));
    for (const d of ['cni/conf', 'cni/bin', 'logs', 'img']) mkdirSync(join(dir, d), { recursive: true });
    writeFileSync(join(dir, 'config.toml'), config(dir));
    const child = spawn('containerd', ['--config', join(dir, 'config.toml')], { stdio: ['ignore', 'ignore', 'pipe'] });
    const c = new Containerd(dir, child, `talon-ctrd-${process.pid}`);
    try {
      const end = Date.now() + 20_000;
      for (;;) {
        try {
          await c.client.version();
          break;
        } catch (e) {
          if (child.exitCode !== null || Date.now() > end) throw new Error(`containerd did not start: ${(e as Error).message}\n${c.stderr}`);
          await sleep(50);
        }
      }
      const archive = buildImageArchive(join(dir, 'img'));
      execFileSync('ctr', ['--address', join(dir, 'containerd.sock'), '-n', 'k8s.io', 'images', 'import', archive], { stdio: 'pipe' });
      return c;
    } catch (e) {
      await c.stop();
      throw e;
    }
  }

  get log(): string {
    return this.stderr;
  }

  /** RunPodSandbox as the kubelet sends it for a host-network pod (no hostname: the UTS namespace is the node's). */
  async runPod(namespace: string, name: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): Promise<PodRef> {
    const uid = randomUUID();
    const config = {
      metadata: { name, uid, namespace, attempt: 0 },
      log_directory: join(this.dir, 'logs', `${namespace}_${name}_${uid}`),
      labels: { ...labels, 'io.kubernetes.pod.name': name, 'io.kubernetes.pod.namespace': namespace, 'io.kubernetes.pod.uid': uid },
      annotations,
      linux: {
        cgroup_parent: `/${this.cgroupTop}/kubepods/besteffort/pod${uid}`,
        security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } },
      },
    };
    mkdirSync(config.log_directory, { recursive: true });
    const r = await this.client.call<{ pod_sandbox_id: string }>('RunPodSandbox', { config });
    const ref = { namespace, name, uid, labels, sandboxId: r.pod_sandbox_id, config };
    this.pods.push(ref);
    return ref;
  }

  /** CreateContainer (+ StartContainer unless `start` is false): runs /pause with the host's /usr mounted read-only. */
  async createContainer(
    pod: PodRef,
    name: string,
    opts: { start?: boolean; image?: string; command?: string[]; mounts?: { container_path: string; host_path: string; readonly: boolean }[] } = {},
  ): Promise<string> {
    const config = {
      metadata: { name, attempt: 0 },
      image: { image: opts.image ?? TEST_IMAGE },
      command: opts.command ?? ['/pause'],
      working_dir: '/work',
      mounts: [{ container_path: '/usr', host_path: '/usr', readonly: true }, ...(opts.mounts ?? [])],
      labels: {
        'io.kubernetes.container.name': name,
        'io.kubernetes.pod.name': pod.name,
        'io.kubernetes.pod.namespace': pod.namespace,
        'io.kubernetes.pod.uid': pod.uid,
      },
      log_path: `${name}/0.log`,
      linux: { security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
    };
    const r = await this.client.call<{ container_id: string }>('CreateContainer', { pod_sandbox_id: pod.sandboxId, config, sandbox_config: pod.config });
    if (opts.start !== false) await this.startContainer(r.container_id);
    return r.container_id;
  }

  async startContainer(id: string): Promise<void> {
    await this.client.call('StartContainer', { container_id: id });
  }

  /** ExecSync, as `kubectl exec` reaches the runtime: exit status 128 + signal when the command was killed. */
  async exec(containerId: string, cmd: string[], timeoutS = 20): Promise<{ code: number; stdout: string; stderr: string }> {
    const r = await this.client.call<{ stdout: Buffer; stderr: Buffer; exit_code: number }>(
      'ExecSync',
      { container_id: containerId, cmd, timeout: timeoutS },
      (timeoutS + 10) * 1000,
    );
    return { code: r.exit_code ?? 0, stdout: Buffer.from(r.stdout ?? []).toString(), stderr: Buffer.from(r.stderr ?? []).toString() };
  }

  /** StopPodSandbox + RemovePodSandbox (its containers go with it). */
  async removePod(pod: PodRef): Promise<void> {
    await this.client.call('StopPodSandbox', { pod_sandbox_id: pod.sandboxId });
    await this.client.call('RemovePodSandbox', { pod_sandbox_id: pod.sandboxId });
    this.pods = this.pods.filter((p) => p !== pod);
  }

  /** Removes everything this run made, also after failures; never throws. Returns what it had to force. */
  async stop(): Promise<string[]> {
    const forced: string[] = [];
    for (const p of [...this.pods]) {
      await this.removePod(p).catch((e) => forced.push(`pod ${p.namespace}/${p.name}: ${(e as Error).message}`));
    }
    this.client.close();
    if (this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      const exited = await Promise.race([new Promise((r) => this.child.once('exit', r)).then(() => true), sleep(5000).then(() => false)]);
      if (!exited) {
        forced.push('containerd: SIGKILL');
        this.child.kill('SIGKILL');
        await new Promise((r) => this.child.once('exit', r));
      }
    }
    // shims outlive containerd and ignore SIGTERM: kill them (and anything else of ours) by pid
    for (const pid of pidsMentioning(this.dir)) {
      forced.push(`pid ${pid}: SIGKILL`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await sleep(100);
    for (const mp of mountsUnder(this.dir).reverse()) {
      spawnSync('umount', ['-l', mp]);
    }
    for (const root of cgroupRoots()) removeTree(join(root, this.cgroupTop));
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch (e) {
      forced.push(`rm ${this.dir}: ${(e as Error).message}`);
    }
    return forced;
  }
}

/** Pids whose command line names `dir` (containerd, its shims, runc). */
export function pidsMentioning(dir: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(dir)) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Mount points at or below `dir`. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((mp): mp is string => !!mp && (mp === dir || mp.startsWith(`${dir}/`)));
}

/** Every cgroup hierarchy's mount point (v1 controllers and v2). */
export function cgroupRoots(): string[] {
  const base = '/sys/fs/cgroup';
  if (existsSync(join(base, 'cgroup.controllers'))) return [base];
  return readdirSync(base)
    .map((n) => join(base, n))
    .filter((p) => {
      try {
        return statSync(p).isDirectory();
      } catch {
        return false;
      }
    });
}

function removeTree(p: string): void {
  let kids: string[] = [];
  try {
    kids = readdirSync(p, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return;
  }
  for (const k of kids) removeTree(join(p, k));
  try {
    rmdirSync(p);
  } catch {
    /* busy: reported by the suites' leftover check */
  }
}

/** Leftovers of this run: cgroup tops, processes naming a talon-ctrd directory of this run. */
export function containerdLeftovers(c: { dir: string; cgroupTop: string }): string[] {
  const out: string[] = [];
  for (const root of cgroupRoots()) if (existsSync(join(root, c.cgroupTop))) out.push(join(root, c.cgroupTop));
  for (const pid of pidsMentioning(c.dir)) out.push(`pid ${pid}`);
  for (const mp of mountsUnder(c.dir)) out.push(`mount ${mp}`);
  if (existsSync(c.dir)) out.push(c.dir);
  return out;
}
