// The BPF LSM implementations (bpf/tln_lsm.bpf.c) on kernels that have BPF LSM:
// scripts/vm.sh boots each of Debian's two guest kernels (bookworm's 6.1 and
// bookworm-backports' 6.12; TALON_VM_KERNELS="6.1 6.12" by default) with
// lsm=...,bpf in QEMU (TCG) and runs test/vm/lsm-guest.ts inside it against
// this checkout (the guest sees the host's root read-only). The guest checks
// that the catalog picks the LSM implementations, and that Sigkill, Override
// (EPERM/EACCES as the verdict), truncate, mmap and tcp_connect enforce in a
// test cgroup only.
// Skipped, with the reason, only when the VM cannot run here (not root, not
// x86_64 Linux, no qemu/kernel package obtainable); otherwise it runs for real.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { BPF_DIR, SHIM_PATH, repoRoot } from '../src/kernel/shim.js';
import { vmSuites } from './helpers/vm.js';

vmSuites(
  {
    title: 'vm: BPF LSM implementations in a QEMU guest (lsm=...,bpf)',
    guest: join(repoRoot(), 'dist', 'test', 'vm', 'lsm-guest.js'),
    needs: [SHIM_PATH(), join(BPF_DIR(), 'tln_process.bpf.o'), join(BPF_DIR(), 'tln_lsm.bpf.o')],
    timeoutS: 240,
    minChecks: 6,
    env: process.env.TALON_VM_BPF_DIR ? [`TALON_VM_BPF_DIR=${process.env.TALON_VM_BPF_DIR}`] : [],
  },
  suite,
  assert,
);
