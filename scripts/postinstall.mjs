// After `npm install` of the packed talon: the tarball ships the built core,
// TypeScript, BPF objects and the shim built on the packing machine. The shim
// is a native addon over the system libbpf: check that it loads here, and say
// how to rebuild it when it does not (another Node ABI, no libbpf). Never fails
// the install: `talon compile` and `talon dry-run` need no shim at all.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(path.join(root, 'dist', 'src'))) process.exit(0); // a checkout: scripts/setup.sh builds
const addon = path.join(root, 'shim', 'build', 'Release', 'tln_shim.node');
try {
  createRequire(import.meta.url)(addon);
} catch (e) {
  process.stderr.write(
    `talon: the native shim does not load here (${e instanceof Error ? e.message.split('\n')[0] : e}).\n` +
      `  compile and dry-run work; the agent needs it: install libbpf (Debian: libbpf1 libbpf-dev clang llvm bpftool)\n` +
      `  and rebuild with: bash ${path.join(root, 'scripts', 'build-native.sh')}\n`,
  );
}
