// Helpers of the bridge tests: BTF files edited in one string (a renamed
// field, a missing function), and the 6.1 guest kernel's BTF from the Debian
// package scripts/vm.sh caches.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A copy of a raw BTF with the string `from` (a whole entry of the string
 * table) renamed to `to`, of the same length: every type, member or function
 * of that name is renamed, nothing else moves.
 */
export function renameBtfString(btf: Uint8Array, from: string, to: string): Buffer {
  if (from.length !== to.length) throw new Error('renameBtfString keeps the length');
  const b = Buffer.from(btf);
  const hdr = b.readUInt32LE(4);
  const strs = b.subarray(hdr + b.readUInt32LE(16), hdr + b.readUInt32LE(16) + b.readUInt32LE(20));
  const at = strs.indexOf(Buffer.from(`\0${from}\0`, 'latin1'));
  if (at < 0) throw new Error(`"${from}" is not in the BTF's string table`);
  Buffer.from(to, 'latin1').copy(strs, at + 1);
  return b;
}

/**
 * The vmlinux (ELF with .BTF) of the Debian kernel package scripts/vm.sh
 * downloads into its cache ($TALON_VM_CACHE/debs, default /var/cache/talon-vm):
 * Debian ships only the compressed bzImage (boot/vmlinuz-*), whose payload is
 * an xz stream after the setup code; it is found by its magic and unpacked,
 * once, to /tmp/talon-bridge-guest/. Returns the path, or why it cannot.
 */
export function guestVmlinux(): { path: string } | { skip: string } {
  const cache = process.env.TALON_VM_CACHE ?? '/var/cache/talon-vm';
  const debs = join(cache, 'debs');
  const deb = existsSync(debs)
    ? readdirSync(debs)
        .filter((f) => /^linux-image-.*\.deb$/.test(f))
        .sort()
        .pop()
    : undefined;
  if (!deb) return { skip: `no linux-image .deb in ${debs} (run: scripts/vm.sh prepare)` };
  const out = join('/tmp/talon-bridge-guest', deb.replace(/\.deb$/, ''));
  const vmlinux = join(out, 'vmlinux');
  if (existsSync(vmlinux)) return { path: vmlinux };
  mkdirSync(out, { recursive: true });
  const tar = spawnSync('sh', ['-c', `dpkg-deb --fsys-tarfile "$0" | tar -x -C "$1" --wildcards './boot/vmlinuz-*'`, join(debs, deb), out]);
  if (tar.status !== 0) return { skip: `cannot unpack ${deb}: ${tar.stderr.toString().trim()}` };
  const boot = join(out, 'boot');
  const vmlinuz = readFileSync(join(boot, readdirSync(boot)[0]));
  const at = vmlinuz.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  if (at < 0) return { skip: `${deb}: no xz payload in the bzImage` };
  // xz stops at the end of its stream and complains about the trailing bytes; the output is whole
  const xz = spawnSync('xz', ['-dc'], { input: vmlinuz.subarray(at), maxBuffer: 1 << 28 });
  if (!xz.stdout || xz.stdout.length < 1 << 20) return { skip: `${deb}: xz could not unpack the kernel` };
  writeFileSync(vmlinux + '.tmp', xz.stdout);
  spawnSync('mv', [vmlinux + '.tmp', vmlinux]);
  return { path: vmlinux };
}
