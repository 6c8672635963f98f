// The BPF LSM implementations (bpf/tln_lsm.bpf.c) on a kernel that has BPF LSM:
// scripts/vm.sh boots Debian's kernel with lsm=...,bpf in QEMU (TCG) and runs
// test/vm/lsm-guest.ts inside it against this checkout (the guest sees the
// host's root read-only). The guest checks that the catalog picks the LSM
// implementations, and that Sigkill, Override (EPERM/EACCES as the verdict),
// truncate, mmap and tcp_connect enforce in a test cgroup only.
// Skipped, with the reason, only when the VM cannot run here (not root, not
// x86_64 Linux, no qemu/kernel package obtainable); otherwise it runs for real.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BPF_DIR, SHIM_PATH, repoRoot } from '../src/kernel/shim.js';

const S = suite('vm: BPF LSM implementations in a QEMU guest (kernel with lsm=...,bpf)');
const ROOT = repoRoot();
const VM = join(ROOT, 'scripts', 'vm.sh');
const GUEST = join(ROOT, 'dist', 'test', 'vm', 'lsm-guest.js');
/** the whole guest run, boot included (TCG: node is slow, keep the guest script small) */
const TIMEOUT_S = 240;

interface GuestResult {
  kernel?: string;
  results: { name: string; ok: boolean; why?: string; ms: number }[];
  notes: string[];
  ms: number;
}

/** why the VM cannot run here, or null; prepares it (packages, kernel, initramfs) when it can */
function vmSkipReason(): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return `needs x86_64 Linux (this is ${process.platform}/${process.arch})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root (the VM setup installs packages and the guest loads BPF)';
  const t0 = Date.now();
  const r = spawnSync('bash', [VM, 'prepare'], { encoding: 'utf8', timeout: 900_000 });
  if (r.status === 3) return (r.stderr.match(/vm: cannot run here: (.*)/)?.[1] ?? r.stderr.trim()) || 'scripts/vm.sh prepare refused';
  if (r.status !== 0) throw new Error(`scripts/vm.sh prepare failed (status ${r.status}, ${r.signal ?? ''}):\n${r.stderr}`);
  const s = (Date.now() - t0) / 1000;
  if (s > 2) console.log(`  vm prepared in ${s.toFixed(1)}s`);
  return null;
}

function runGuest(): Promise<{ code: number | null; out: string; wallMs: number }> {
  return new Promise((resolve) => {
    const args = [VM, 'run', '--timeout', String(TIMEOUT_S)];
    if (process.env.TALON_VM_BPF_DIR) args.push('-e', `TALON_VM_BPF_DIR=${process.env.TALON_VM_BPF_DIR}`);
    args.push('--cwd', ROOT, '--', 'node', GUEST);
    const t0 = Date.now();
    const p = spawn('bash', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code, out, wallMs: Date.now() - t0 }));
  });
}

let skip: string | null = null;
let prepareError: string | null = null;
try {
  skip = vmSkipReason();
} catch (e) {
  prepareError = (e as Error).message;
}

if (prepareError) {
  const msg = prepareError;
  S('the VM can be prepared', () => assert.unreachable(msg));
} else if (skip) {
  console.log(`  [skip] vm tests: ${skip}`);
  S.skip(`BPF LSM in a VM (skipped: ${skip})`, () => {});
} else {
  let guest: GuestResult | undefined;
  let run: { code: number | null; out: string; wallMs: number } | undefined;

  S('build: the shim, the BPF objects (tln_lsm.bpf.o included) and the guest script exist', () => {
    for (const f of [SHIM_PATH(), join(BPF_DIR(), 'tln_process.bpf.o'), join(BPF_DIR(), 'tln_lsm.bpf.o'), GUEST]) {
      assert.ok(existsSync(f), `${f} is missing: run bash scripts/build-native.sh and npm run build:ts`);
    }
  });

  S('the guest boots, runs the LSM checks and reports', async () => {
    run = await runGuest();
    const m = /^TALON-VM-RESULT (.*)$/m.exec(run.out);
    if (!m) console.log(run.out);
    assert.ok(m, `no result line from the guest (vm.sh exit ${run.code}); console above`);
    guest = JSON.parse(m![1]) as GuestResult;
    const up = /^vm: up ([\d.]+)s/m.exec(run.out)?.[1];
    console.log(
      `  guest kernel ${guest.kernel}: booted to /init in ${up ?? '?'}s (guest clock), guest script ${(guest.ms / 1000).toFixed(1)}s, whole VM run ${(run.wallMs / 1000).toFixed(1)}s wall`,
    );
    for (const n of guest.notes.filter((x) => !/^(kernel|bpf:|tracepoints|cgroup sock|bpf_send|kprobes|BPF LSM)/.test(x))) console.log(`  note: ${n}`);
  });

  S('every guest check passed', () => {
    assert.ok(guest, 'no guest result');
    for (const r of guest!.results) console.log(`  ${r.ok ? 'ok' : 'FAILED'} (${r.ms} ms) ${r.name}${r.ok ? '' : `\n      ${r.why}`}`);
    const failed = guest!.results.filter((r) => !r.ok);
    assert.ok(guest!.results.length >= 6, `only ${guest!.results.length} checks ran`);
    assert.is(failed.length, 0, `${failed.length} guest check(s) failed (listed above): ${failed.map((r) => r.name).join('; ')}`);
    assert.is(run?.code, 0, 'vm.sh exit status (the guest script exits 0 when all passed)');
  });
}

S.run();
