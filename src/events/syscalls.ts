// x86_64 syscall names by number, for the compact rendering of raw_syscalls/sys_enter
// events ("☎  syscall <name>"); the table is the Wasm core's (assembly/syscalls.ts).
import { SYSCALLS_X86_64 } from '../../assembly/syscalls.js';

export { SYSCALLS_X86_64 };

/** The name of x86_64 syscall nr, or null. */
export function syscallName(nr: number): string | null {
  if (!Number.isInteger(nr) || nr < 0 || nr >= SYSCALLS_X86_64.length) return null;
  return SYSCALLS_X86_64[nr] || null;
}
