// Kprobes on any kernel function, where the kernel has kprobes: scripts/vm.sh
// boots each guest kernel (Debian 6.1 and 6.12) in QEMU (TCG) and runs
// test/vm/kprobe-guest.ts in it, which drives the agent and the CLI: a
// namespaced policy on security_file_open (Sigkill) and fd_install (Post),
// both served by the generic kprobe; the kill happens in a test pod only.
// Skipped, with the reason, only when the VM cannot run here.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { BPF_DIR, SHIM_PATH, repoRoot } from '../src/kernel/shim.js';
import { vmSuites } from './helpers/vm.js';

vmSuites(
  {
    title: 'vm: generic kprobes on kernel functions (agent and CLI in a QEMU guest)',
    guest: join(repoRoot(), 'dist', 'test', 'vm', 'kprobe-guest.js'),
    needs: [SHIM_PATH(), join(BPF_DIR(), 'tln_process.bpf.o'), join(BPF_DIR(), 'tln_generic.bpf.o')],
    timeoutS: 300,
    minChecks: 6,
  },
  suite,
  assert,
);
