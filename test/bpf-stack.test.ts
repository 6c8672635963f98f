// scripts/bpf-stack.mjs, the build's combined-stack check: a chain of BPF
// functions whose frames (rounded to 32) add up past 512 bytes is refused with
// the chain named, one under the limit passes. It guards programs this host
// cannot load (BPF LSM, fentry), so it must find calls across sections too.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, tempDir } from './helpers/common.js';

const clang = spawnSync('clang', ['--version']).status === 0;

/** a program in its own section calling a .text function that calls another, each with an n-byte buffer */
const source = (n: number) => `
typedef unsigned long u64;
#define SEC(x) __attribute__((section(x), used))
static long (*probe_read)(void *dst, unsigned size, const void *src) = (void *)4;
static __attribute__((noinline)) int leaf(const void *p) {
  volatile char b[${n}];
  probe_read((void *)b, sizeof(b), p);
  return b[3];
}
__attribute__((noinline)) int mid(const void *p) {
  volatile char b[${n}];
  probe_read((void *)b, sizeof(b), p);
  return b[5] + leaf(p);
}
SEC("tracepoint/x/y") int prog(void *ctx) {
  volatile char b[${n}];
  probe_read((void *)b, sizeof(b), ctx);
  return b[1] + mid(ctx);
}
char LICENSE[] SEC("license") = "GPL";
`;

function run(n: number): { code: number | null; out: string } {
  const t = tempDir('talon-stack-');
  try {
    writeFileSync(join(t.dir, 'p.c'), source(n));
    const cc = spawnSync('clang', ['-O2', '-target', 'bpf', '-fstack-size-section', '-c', join(t.dir, 'p.c'), '-o', join(t.dir, 'p.o')], { encoding: 'utf8' });
    assert.is(cc.status, 0, cc.stderr);
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts/bpf-stack.mjs'), join(t.dir, 'p.o')], {
      encoding: 'utf8',
      env: { ...process.env, TALON_STACK_VERBOSE: '1' },
    });
    return { code: r.status, out: r.stdout + r.stderr };
  } finally {
    t.remove();
  }
}

if (!clang) {
  test.skip('bpf-stack: needs clang (scripts/setup.sh installs it)');
} else {
  test('three frames of 200 bytes (3 x 224 rounded) are over 512: refused, the chain named', () => {
    const r = run(200);
    assert.is(r.code, 1, r.out);
    assert.match(r.out, /over \d+ B +p\.o prog \d+ -> mid \d+ -> leaf \d+/);
    assert.match(r.out, /1 program\(s\) over the verifier's 512-byte combined stack/);
  });

  test('three frames of 100 bytes pass, with the same chain found', () => {
    const r = run(100);
    assert.is(r.code, 0, r.out);
    assert.match(r.out, /ok +\d+ B +p\.o prog \d+ -> mid \d+ -> leaf \d+/);
  });
}

test.run();
