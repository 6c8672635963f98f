// One truth: the instructions libbpf in wasm computes for this kernel's BTF
// are byte for byte those the system's native libbpf loads into this kernel
// (map fds replaced by map names on both sides). Loads into the real kernel:
// root, and run under the kernel lock:
//   flock /tmp/talon-kernel.lock npx uvu dist/test 'bridge-truth\.test\.js$'
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readBtf } from '../src/bridge/btf.js';
import { bridgeDir } from '../src/bridge/module.js';
import { relocateObjects } from '../src/bridge/relocate.js';
import { BPF_DIR } from '../src/kernel/shim.js';
import { ROOT } from './helpers/cli.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const tmp = mkdtempSync(path.join(tmpdir(), 'talon-bridge-truth-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

function skipReason(): string | null {
  if (process.getuid?.() !== 0) return 'not root (the native side loads into the kernel)';
  if (!existsSync(path.join(bridgeDir(), 'libbpf.wasm'))) return 'bridge not built (bash bridge/build.sh)';
  if (!existsSync(path.join(BPF_DIR(), 'tln_process.bpf.o'))) return 'BPF objects not built';
  if (!existsSync(VMLINUX)) return 'this kernel has no BTF';
  return null;
}

/** ld_imm64 with BPF_PSEUDO_MAP_FD (1) or BPF_PSEUDO_MAP_VALUE (2): imm is a map fd -> the map's name */
function normalise(insns: Buffer, names: Map<number, string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < insns.length; i += 8) {
    const code = insns[i];
    const src = insns[i + 1] >> 4;
    if (code === 0x18 && (src === 1 || src === 2)) {
      const fd = insns.readInt32LE(i + 4);
      out.push(`${insns.subarray(i, i + 4).toString('hex')} map:${names.get(fd) ?? `unknown fd ${fd}`}`);
    } else out.push(insns.subarray(i, i + 8).toString('hex'));
  }
  return out;
}

const skip = skipReason();
if (skip) console.log(`  [skip] bridge truth: ${skip}`);

(skip ? test.skip : test)("bridge and native libbpf load the same instructions for this kernel's BTF", async () => {
  const helper = path.join(tmp, 'bridge-native-insns');
  const cc = spawnSync('cc', ['-O2', '-o', helper, path.join(ROOT, 'test/helpers/bridge-native-insns.c'), '-lbpf']);
  assert.is(cc.status, 0, cc.stderr.toString());
  const files = readdirSync(BPF_DIR())
    .filter((f) => f.endsWith('.bpf.o'))
    .sort();
  const run = spawnSync(
    helper,
    files.map((f) => path.join(BPF_DIR(), f)),
    { maxBuffer: 1 << 26 },
  );
  assert.is(run.status, 0, run.stderr.toString());

  // native: object -> program -> normalised instructions
  const native = new Map<string, Map<string, string[]>>();
  let object = '';
  let fds = new Map<number, string>();
  const notLoaded: string[] = [];
  for (const line of run.stdout.toString().trim().split('\n')) {
    const [kind, a, b] = line.split(' ');
    if (kind === 'object') {
      object = path.basename(a);
      fds = new Map();
      if (b === 'ok') native.set(object, new Map());
      else notLoaded.push(`${object} (errno ${b})`);
    } else if (kind === 'map') fds.set(Number(a), b);
    else if (kind === 'prog') native.get(object)!.set(a, normalise(Buffer.from(b, 'hex'), fds));
  }
  if (notLoaded.length) console.log(`  [note] not loadable natively here, not compared: ${notLoaded.join(', ')}`);
  assert.ok(native.size >= 3, `too few objects loaded natively: ${notLoaded.join(', ')}`);

  const btf = readFileSync(VMLINUX);
  const objects = [...native.keys()].map((name) => ({ name, bytes: readFileSync(path.join(BPF_DIR(), name)) }));
  const wasm = await relocateObjects(btf, objects, readBtf(btf));
  let compared = 0;
  for (const [obj, progs] of native) {
    for (const [prog, insns] of progs) {
      const r = wasm.find((x) => x.object === obj && x.program === prog);
      assert.ok(r?.insns, `${obj} ${prog}: no instructions from the bridge`);
      assert.equal(normalise(Buffer.from(r!.insns!), r!.mapFds), insns, `${obj} ${prog}`);
      compared++;
    }
  }
  assert.is(compared, wasm.length);
  console.log(`  ${compared} programs of ${native.size} objects byte-identical`);
});

test.run();
