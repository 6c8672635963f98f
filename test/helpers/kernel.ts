// Helpers of the kernel tests: when to skip, test cgroups that are always
// removed, running commands inside them, and PolicySpec images built by hand
// following bpf/include/tln_abi.h (used until the Wasm core can compile YAML).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HookSpec, MapSpec, PolicySpec } from '../../src/core/types.js';
import { BPF_DIR, SHIM_PATH } from '../../src/kernel/shim.js';
import { findCgroup2 } from '../../src/kernel/features.js';
import { LAYOUT } from '../../src/kernel/records.js';

/** bytes of struct tln_selector (the generated layout: the image version's) */
const SEL_SIZE = LAYOUT['sizeof(struct tln_selector)'];

/** Why the kernel tests cannot run here, or null when they can. */
export function kernelSkipReason(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root (loading BPF needs root)';
  if (!existsSync(SHIM_PATH())) return `native shim not built (${SHIM_PATH()}): run bash scripts/build-native.sh`;
  if (!existsSync(join(BPF_DIR(), 'tln_process.bpf.o'))) return 'BPF objects not built: run bash scripts/build-native.sh';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'kernel has no BTF';
  if (!findCgroup2()) return 'no cgroup v2 hierarchy mounted';
  return null;
}

// ---- test cgroups: created under the cgroup v2 root, always removed --------

const live = new Set<TestCgroup>();
let hooked = false;

function cleanupAll(): void {
  for (const cg of [...live]) cg.remove();
}

export class TestCgroup {
  private constructor(
    readonly path: string,
    readonly id: bigint,
  ) {}

  static create(tag: string): TestCgroup {
    const root = findCgroup2();
    if (!root) throw new Error('no cgroup v2 mount');
    const path = join(root, `talon-test-${tag}-${process.pid}-${Date.now() % 100000}`);
    mkdirSync(path);
    const cg = new TestCgroup(path, BigInt(statSync(path, { bigint: true }).ino));
    live.add(cg);
    if (!hooked) {
      hooked = true;
      process.once('exit', cleanupAll);
      for (const sig of ['SIGINT', 'SIGTERM'] as const) {
        process.once(sig, () => {
          cleanupAll();
          process.exit(130);
        });
      }
    }
    return cg;
  }

  /** pids still in the cgroup */
  procs(): number[] {
    try {
      return readFileSync(join(this.path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  private readonly kids: TestCgroup[] = [];

  /** a cgroup made inside this one (as a container's is in its pod's); removed before it */
  child(name: string): TestCgroup {
    const path = join(this.path, name);
    mkdirSync(path);
    const cg = new TestCgroup(path, BigInt(statSync(path, { bigint: true }).ino));
    this.kids.push(cg);
    live.add(cg);
    return cg;
  }

  /** kills what is left, removes the directory (the ones made inside it first); never throws */
  remove(): void {
    if (!live.has(this)) return;
    for (const k of this.kids) k.remove();
    live.delete(this);
    try {
      if (existsSync(join(this.path, 'cgroup.kill'))) writeFileSync(join(this.path, 'cgroup.kill'), '1');
      else for (const p of this.procs()) process.kill(p, 'SIGKILL');
    } catch {
      /* already empty */
    }
    for (let i = 0; i < 200; i++) {
      try {
        rmdirSync(this.path);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        spawnSync('sleep', ['0.01']);
      }
    }
    console.error(`talon test: could not remove ${this.path}`);
  }

  /** runs a shell command whose process joins this cgroup before exec */
  run(cmd: string, timeoutMs = 10000): Promise<RunResult> {
    return run(`echo $$ > ${this.path}/cgroup.procs && exec ${cmd}`, timeoutMs);
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** sh -c cmd, with a hard timeout */
export function run(cmd: string, timeoutMs = 10000): Promise<RunResult> {
  return new Promise((resolve) => {
    const p = spawn('sh', ['-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '',
      stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export { sleep } from './common.js';

/** tln_ programs bpftool lists, as "id name" */
export function bpftoolTlnProgs(): { id: number; name: string }[] {
  const r = spawnSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  const list = JSON.parse(r.stdout || '[]') as { id: number; name?: string }[];
  return list.filter((p) => p.name?.startsWith('tln_')).map((p) => ({ id: p.id, name: p.name! }));
}

// ---- PolicySpec images by hand (bpf/include/tln_abi.h) ---------------------

export const OP = {
  GT: 1,
  LT: 2,
  EQUAL: 3,
  NOT_EQUAL: 4,
  IN: 5,
  NOT_IN: 6,
  PREFIX: 8,
  POSTFIX: 9,
  IN_MAP: 10,
  NOT_IN_MAP: 11,
  MASK: 12,
  SADDR: 13,
  DADDR: 14,
  SPORT: 15,
  DPORT: 16,
  PROTOCOL: 17,
  NOT_SPORT: 18,
  NOT_DPORT: 19,
  NOT_SADDR: 24,
  NOT_DADDR: 25,
  NOT_PREFIX: 26,
  NOT_POSTFIX: 27,
  FAMILY: 28,
  IN_RANGE: 31,
  NOT_IN_RANGE: 32,
} as const;
export const ARG = { INT: 1, UINT32: 2, SINT64: 3, UINT64: 4, FILE: 16, PATH: 17, FD: 18, STRING: 19, SOCK: 32 } as const;
export const ACT = { POST: 0, SIGKILL: 2, OVERRIDE: 4, NOPOST: 8, SIGNAL: 9 } as const;
const ACT_NAME: Record<number, string> = { 0: 'Post', 2: 'Sigkill', 4: 'Override', 8: 'NoPost', 9: 'Signal' };
const NEGATED = new Set<number>([4, 6, 11, 18, 19, 21, 23, 24, 25, 26, 27, 32]);

export interface HFilter {
  op: number;
  slot: number;
  type: number;
  vals?: bigint[];
  strs?: string[];
  cidrs?: string[];
}
export interface HSelector {
  filters: HFilter[];
  actions?: { id: number; arg?: number; rateLimitNs?: bigint; rlScope?: number }[];
  pids?: { op: number; pids: number[]; flags?: number };
  bin?: { op: number; paths: string[] };
}
export interface HHook {
  name: string;
  hookId: number;
  args: { index: number; type: number }[];
  selectors: HSelector[];
}
export interface HPolicy {
  name: string;
  hooks: HHook[];
  mode?: 0 | 1 | 2;
  /** cgroup-scoped (tln_pod_filter) */
  filtered: boolean;
  host?: boolean;
}

const MODE = ['enforce', 'monitor', 'monitor_only'] as const;

function mapSpec(name: string, type: number, keySize: number, valueSize: number, maxEntries: number, flags: number, entries: Buffer[]): MapSpec {
  return { name, type, keySize, valueSize, maxEntries, flags, entries: new Uint8Array(Buffer.concat(entries)), count: entries.length };
}

/** builds the map image of a policy the way tln_abi.h describes it */
export function buildSpec(p: HPolicy): PolicySpec {
  const sels: Buffer[] = [];
  const hooks: Buffer[] = [];
  const strEntries: { set: number; data: Buffer }[] = [];
  const addr4: Buffer[] = [];
  let nextSet = 1;
  const hookSpecs: HookSpec[] = [];
  p.hooks.forEach((h, slot) => {
    const first = sels.length;
    const hb = Buffer.alloc(24);
    hb.writeUInt16LE(h.hookId, 0);
    hb.writeUInt8(1, 2); // kind kprobe
    hb.writeUInt8(0, 3);
    hb.writeUInt8(h.args.length, 4);
    hb.writeUInt8(h.selectors.length, 5);
    hb.writeUInt8(first, 6);
    hb.writeUInt8(0, 7);
    h.args.forEach((a, i) => {
      hb.writeUInt8(a.index, 8 + i * 2);
      hb.writeUInt8(a.type, 9 + i * 2);
    });
    hooks.push(hb);
    const actions = new Set<string>();
    for (const s of h.selectors) {
      const sb = Buffer.alloc(SEL_SIZE);
      sb.writeUInt8(s.filters.length, 0);
      sb.writeUInt8(s.actions?.length ?? 0, 1);
      if (s.pids) {
        sb.writeUInt8(s.pids.op, 2);
        sb.writeUInt8(s.pids.pids.length, 3);
        sb.writeUInt8(s.pids.flags ?? 0, 4);
        s.pids.pids.forEach((v, i) => sb.writeUInt32LE(v, 8 + i * 4));
      }
      if (s.bin) {
        const set = nextSet++;
        sb.writeUInt8(s.bin.op, 5);
        sb.writeUInt8(set, 6);
        for (const path of s.bin.paths) {
          const b = Buffer.from(path);
          const post = s.bin.op === OP.POSTFIX || s.bin.op === OP.NOT_POSTFIX;
          const eq = s.bin.op === OP.IN || s.bin.op === OP.NOT_IN;
          strEntries.push({ set, data: post ? Buffer.from(b).reverse() : eq ? Buffer.concat([b, Buffer.from([0])]) : b });
        }
      }
      s.filters.forEach((f, j) => {
        const o = 24 + j * 72;
        sb.writeUInt8(f.op, o);
        sb.writeUInt8(f.slot, o + 1);
        sb.writeUInt8(f.type, o + 2);
        sb.writeUInt8(f.vals?.length ?? 0, o + 3);
        sb.writeUInt8(NEGATED.has(f.op) ? 1 : 0, o + 5);
        (f.vals ?? []).forEach((v, k) => sb.writeBigUInt64LE(BigInt.asUintN(64, v), o + 8 + k * 8));
        if (f.strs) {
          const set = nextSet++;
          sb.writeUInt8(set, o + 4);
          for (const s2 of f.strs) {
            const b = Buffer.from(s2);
            const post = f.op === OP.POSTFIX || f.op === OP.NOT_POSTFIX;
            const eq = f.op === OP.EQUAL || f.op === OP.NOT_EQUAL;
            strEntries.push({ set, data: post ? Buffer.from(b).reverse() : eq ? Buffer.concat([b, Buffer.from([0])]) : b });
          }
        }
        if (f.cidrs) {
          const set = nextSet++;
          sb.writeUInt8(set, o + 4);
          for (const c of f.cidrs) {
            const [ip, bitsS] = c.split('/');
            const bits = bitsS === undefined ? 32 : Number(bitsS);
            const k = Buffer.alloc(12);
            k.writeUInt32LE(8 + bits, 0);
            k.writeUInt8(set, 4);
            ip.split('.').forEach((x, i) => k.writeUInt8(Number(x), 5 + i));
            addr4.push(Buffer.concat([k, Buffer.from([1])]));
          }
        }
      });
      (s.actions ?? []).forEach((a, k) => {
        const o = 24 + 8 * 72 + k * 16;
        sb.writeUInt8(a.id, o);
        sb.writeUInt8(a.rlScope ?? 0, o + 1);
        sb.writeInt32LE(a.arg ?? 0, o + 4);
        sb.writeBigUInt64LE(a.rateLimitNs ?? 0n, o + 8);
        actions.add(ACT_NAME[a.id]);
      });
      sels.push(sb);
    }
    hookSpecs.push({
      name: h.name,
      kind: 'kprobe',
      hookId: h.hookId,
      slot,
      selectors: h.selectors.length,
      returnFilters: false,
      actions: [...actions],
    });
  });
  const conf = Buffer.alloc(8);
  conf.writeUInt8(p.mode ?? 0, 0);
  conf.writeUInt8((p.filtered ? 1 : 0) | (p.host ? 2 : 0), 1);
  conf.writeUInt8(p.hooks.length, 2);
  conf.writeUInt32LE(sels.length, 4);
  const k4 = (i: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(i);
    return b;
  };
  const maps: MapSpec[] = [
    mapSpec('tln_policy', 2, 4, 8, 1, 0, [Buffer.concat([k4(0), conf])]),
    mapSpec(
      'tln_hooks',
      2,
      4,
      24,
      Math.max(1, hooks.length),
      0,
      hooks.map((h, i) => Buffer.concat([k4(i), h])),
    ),
    mapSpec('tln_stats', 2, 4, 32, sels.length + 1, 0, []),
    mapSpec('tln_pod_filter', 1, 8, 1, 1024, 1, []),
  ];
  if (sels.length)
    maps.push(
      mapSpec(
        'tln_sels',
        2,
        4,
        SEL_SIZE,
        sels.length,
        0,
        sels.map((s, i) => Buffer.concat([k4(i), s])),
      ),
    );
  if (strEntries.length) {
    const longest = Math.max(...strEntries.map((e) => e.data.length));
    const keySize = Math.ceil((5 + longest) / 4) * 4;
    maps.push(
      mapSpec(
        'tln_str',
        11,
        keySize,
        1,
        strEntries.length,
        1,
        strEntries.map((e) => {
          const k = Buffer.alloc(keySize);
          k.writeUInt32LE(8 + 8 * e.data.length, 0);
          k.writeUInt8(e.set, 4);
          e.data.copy(k, 5);
          return Buffer.concat([k, Buffer.from([1])]);
        }),
      ),
    );
  }
  if (addr4.length) maps.push(mapSpec('tln_addr4', 11, 12, 1, addr4.length, 1, addr4));
  return {
    index: 0,
    name: p.name,
    namespace: null,
    kind: 'TracingPolicy',
    mode: MODE[p.mode ?? 0],
    filtered: p.filtered,
    host: !!p.host,
    hooks: hookSpecs,
    maps,
  };
}

// ---- real policies through the Wasm core ----------------------------------

/** seed-like YAML (shared/seeds/policies), loopback CIDRs, scoped by namespace */
export const SEED_YAML = {
  file: `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: "file-monitoring-filtered"
  namespace: "talon-test"
spec:
  kprobes:
  - call: "security_file_permission"
    syscall: false
    return: true
    args:
    - index: 0
      type: "file"
    - index: 1
      type: "int"
    returnArg:
      index: 0
      type: "int"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Prefix"
        values:
        - "/boot"
        - "/root/.ssh"
        - "/etc/shadow"
      - index: 1
        operator: "Equal"
        values:
        - "4"
      matchActions:
      - action: Sigkill
    - matchArgs:
      - index: 0
        operator: "Postfix"
        values:
        - ".talonrc"
        - ".bash_history"
      - index: 1
        operator: "Equal"
        values:
        - "4"
      matchActions:
      - action: Sigkill
`,
  net: `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: "enforce-network-activity-outside-cluster-cidr-range"
  namespace: "talon-test"
spec:
  kprobes:
  - call: "tcp_connect"
    syscall: false
    args:
    - index: 0
      type: "sock"
    selectors:
    - matchArgs:
      - index: 0
        operator: "NotDAddr"
        values:
        - 127.0.0.1
        - 127.10.0.0/16
        - 127.96.0.0/12
      matchActions:
      - action: Sigkill
`,
} as const;

export interface CoreCompiled {
  spec: PolicySpec;
  image: Uint8Array;
  /** the Wasm core module (for its Evaluator) */
  core: typeof import('../../src/core/index.js');
}

/**
 * A seed-like test policy compiled by the Wasm core (src/core) from YAML;
 * null while the core is not built. The caller scopes it to the test cgroup.
 */
export async function compileSeedFull(which: keyof typeof SEED_YAML): Promise<CoreCompiled | null> {
  let core: typeof import('../../src/core/index.js');
  try {
    core = await import('../../src/core/index.js');
  } catch {
    return null;
  }
  const { parse } = await import('yaml');
  let res;
  try {
    res = core.compile([parse(SEED_YAML[which])], { defaultNamespace: 'talon-test' });
  } catch (e) {
    if (/wasm|ENOENT|not built/i.test(String(e))) return null;
    throw e;
  }
  if (!res.image) throw new Error(`the core refused the ${which} test policy: ${JSON.stringify(res.diagnostics)}`);
  const specs = core.inspectImage(res.image);
  if (specs.length !== 1) throw new Error(`expected one policy, got ${specs.length}`);
  return { spec: specs[0], image: res.image, core };
}

export async function compileSeed(which: keyof typeof SEED_YAML): Promise<PolicySpec | null> {
  return (await compileSeedFull(which))?.spec ?? null;
}
