// x86_64 syscall names by number, for the compact rendering of raw_syscalls/sys_enter
// events ("☎  syscall <name>"); the table is the Wasm core's (assembly/syscalls.ts).
import { SYSCALLS_X86_64 } from '../../assembly/syscalls.js';

export { SYSCALLS_X86_64 };

/** The name of x86_64 syscall nr, or null. */
export function syscallName(nr: number): string | null {
  if (!Number.isInteger(nr) || nr < 0 || nr >= SYSCALLS_X86_64.length) return null;
  return SYSCALLS_X86_64[nr] || null;
}

/** bit 31 of a syscall64 value: the syscall of a 32-bit (compat) task, as Tetragon marks it (Is32Bit) */
const SYSCALL64_32BIT = 0x80000000n;
const COMPAT_ABIS = new Set(['i386', 'arm32']);

/** Tetragon's SyscallId of a syscall64 value (the agent's events): the id and the ABI it belongs to */
export function syscallId(v: bigint): { id: number; abi: string } {
  const compat = (v & SYSCALL64_32BIT) !== 0n;
  const abi = process.arch === 'arm64' ? (compat ? 'arm32' : 'arm64') : compat ? 'i386' : 'x64';
  return { id: Number(v & 0x7fffffffn), abi };
}

/** The syscall64 value of a SyscallId (dry-run of recorded events): syscallId's inverse */
export function syscall64Value(id: bigint, abi: unknown): bigint {
  return typeof abi === 'string' && COMPAT_ABIS.has(abi) ? id | SYSCALL64_32BIT : id;
}
