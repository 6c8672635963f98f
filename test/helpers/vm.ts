// Helpers of the VM suites: scripts/vm.sh prepares a guest kernel (cached) and
// boots it in QEMU (TCG) to run a guest script of dist/test/vm against this
// checkout, which the guest sees read-only. One suite per guest kernel.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './common.js';

export const VM = join(repoRoot(), 'scripts', 'vm.sh');

/** the guest kernels, each a vm.sh --kernel name (TALON_VM_KERNELS, default "6.1 6.12") */
export const VM_KERNELS = (process.env.TALON_VM_KERNELS ?? '6.1 6.12').split(/[\s,]+/).filter(Boolean);

/** why the VM cannot run here, or null; prepares it (packages, kernel, initramfs) when it can; throws when preparing fails */
export function vmSkipReason(kernel: string): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return `needs x86_64 Linux (this is ${process.platform}/${process.arch})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root (the VM setup installs packages and the guest loads BPF)';
  const t0 = Date.now();
  const r = spawnSync('bash', [VM, 'prepare', '--kernel', kernel], { encoding: 'utf8', timeout: 900_000 });
  if (r.status === 3) return (r.stderr.match(/vm: cannot run here: (.*)/)?.[1] ?? r.stderr.trim()) || 'scripts/vm.sh prepare refused';
  if (r.status !== 0) throw new Error(`scripts/vm.sh prepare failed (status ${r.status}, ${r.signal ?? ''}):\n${r.stderr}`);
  const s = (Date.now() - t0) / 1000;
  if (s > 2) console.log(`  vm prepared in ${s.toFixed(1)}s`);
  return null;
}

export interface GuestRun {
  code: number | null;
  out: string;
  wallMs: number;
}

/** boots `kernel` and runs `node <guest script>` in it with the checkout as working directory */
export function runGuest(kernel: string, script: string, timeoutS: number, env: string[] = []): Promise<GuestRun> {
  return new Promise((resolve) => {
    const args = [VM, 'run', '--kernel', kernel, '--timeout', String(timeoutS)];
    for (const e of env) args.push('-e', e);
    args.push('--cwd', repoRoot(), '--', 'node', script);
    const t0 = Date.now();
    const p = spawn('bash', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code, out, wallMs: Date.now() - t0 }));
  });
}

/** the guest's result line: TALON-VM-RESULT {json} */
export interface GuestResult {
  kernel?: string;
  results: { name: string; ok: boolean; why?: string; ms: number }[];
  notes: string[];
  ms: number;
}

export function guestResult(out: string): GuestResult | null {
  const m = /^TALON-VM-RESULT (.*)$/m.exec(out);
  return m ? (JSON.parse(m[1]) as GuestResult) : null;
}

export interface VmSuiteOpts {
  /** suite title; the kernel is appended */
  title: string;
  /** the guest script, e.g. dist/test/vm/lsm-guest.js */
  guest: string;
  /** files the guest needs (checked before booting) */
  needs: string[];
  /** the whole guest run, boot included (TCG: node is slow) */
  timeoutS: number;
  /** the guest must run at least this many checks */
  minChecks: number;
  env?: string[];
}

/** One uvu suite per guest kernel: boot, run the guest script, every guest check must pass. */
export function vmSuites(o: VmSuiteOpts, suite: typeof import('uvu').suite, assert: typeof import('uvu/assert')): void {
  for (const kernel of VM_KERNELS) {
    const S = suite(`${o.title} (Debian kernel ${kernel})`);
    let skip: string | null = null;
    let prepareError: string | null = null;
    try {
      skip = vmSkipReason(kernel);
    } catch (e) {
      prepareError = (e as Error).message;
    }
    if (prepareError) {
      const msg = prepareError;
      S('the VM can be prepared', () => assert.unreachable(msg));
    } else if (skip) {
      console.log(`  [skip] vm tests: ${skip}`);
      S.skip(`${o.title} (skipped: ${skip})`, () => {});
    } else {
      let guest: GuestResult | null = null;
      let run: GuestRun | undefined;
      S('build: the shim, the BPF objects and the guest script exist', () => {
        for (const f of [...o.needs, o.guest]) assert.ok(existsSync(f), `${f} is missing: run bash scripts/build-native.sh and npm run build:ts`);
      });
      S('the guest boots, runs its checks and reports', async () => {
        run = await runGuest(kernel, o.guest, o.timeoutS, o.env);
        guest = guestResult(run.out);
        if (!guest) console.log(run.out);
        assert.ok(guest, `no result line from the guest (vm.sh exit ${run.code}); console above`);
        assert.ok(guest!.kernel?.startsWith(`${kernel}.`), `the guest ran kernel ${guest!.kernel}, not ${kernel}`);
        const up = /^vm: up ([\d.]+)s/m.exec(run.out)?.[1];
        console.log(
          `  guest kernel ${guest!.kernel}: booted to /init in ${up ?? '?'}s (guest clock), guest script ${(guest!.ms / 1000).toFixed(1)}s, whole VM run ${(run.wallMs / 1000).toFixed(1)}s wall`,
        );
        for (const n of guest!.notes.filter((x) => !/^(kernel|bpf:|tracepoints|cgroup sock|bpf_send|kprobes|BPF LSM)/.test(x))) console.log(`  note: ${n}`);
      });
      S('every guest check passed', () => {
        assert.ok(guest, 'no guest result');
        for (const r of guest!.results) console.log(`  ${r.ok ? 'ok' : 'FAILED'} (${r.ms} ms) ${r.name}${r.ok ? '' : `\n      ${r.why}`}`);
        const failed = guest!.results.filter((r) => !r.ok);
        assert.ok(guest!.results.length >= o.minChecks, `only ${guest!.results.length} checks ran`);
        assert.is(failed.length, 0, `${failed.length} guest check(s) failed (listed above): ${failed.map((r) => r.name).join('; ')}`);
        assert.is(run?.code, 0, 'vm.sh exit status (the guest script exits 0 when all passed)');
      });
    }
    S.run();
  }
}
