// tln_events.h is the one definition of the ring-buffer records: compile it
// with the host C compiler, print every size/offset/constant the TypeScript
// decoder uses (src/kernel/records.ts LAYOUT), and compare. No root needed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAYOUT } from '../src/kernel/records.js';
import { repoRoot } from '../src/kernel/shim.js';

const S = suite('kernel: tln_events.h layout vs records.ts');

function cc(): string | null {
  for (const c of [process.env.CC, 'cc', 'gcc', 'clang']) {
    if (c && spawnSync(c, ['--version']).status === 0) return c;
  }
  return null;
}

const compiler = cc();
if (!compiler) {
  console.log('  [skip] no C compiler (cc/gcc/clang) for the layout check');
  S.skip('layout check (no C compiler)', () => {});
} else {
  S('every size, offset and constant matches', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tln-abi-'));
    try {
      const lines = Object.keys(LAYOUT).map((k) => `  printf("%s=%lld\\n", ${JSON.stringify(k)}, (long long)(${k}));`);
      const src = `#include <stdio.h>\n#include <stddef.h>\n#include "tln_abi.h"\n#include "tln_events.h"\nint main(void) {\n${lines.join('\n')}\n  return 0;\n}\n`;
      writeFileSync(join(dir, 'probe.c'), src);
      const inc = join(repoRoot(), 'bpf', 'include');
      const b = spawnSync(compiler, ['-I', inc, '-o', join(dir, 'probe'), join(dir, 'probe.c')], { encoding: 'utf8' });
      assert.is(b.status, 0, `compile: ${b.stderr}`);
      const r = spawnSync(join(dir, 'probe'), { encoding: 'utf8' });
      assert.is(r.status, 0);
      const got: Record<string, number> = {};
      for (const l of r.stdout.trim().split('\n')) {
        const i = l.lastIndexOf('=');
        got[l.slice(0, i)] = Number(l.slice(i + 1));
      }
      for (const [k, v] of Object.entries(LAYOUT)) assert.is(v, got[k], `${k}: records.ts says ${v}, tln_events.h says ${got[k]}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  S('fixed parts are multiples of 8 bytes', () => {
    for (const [k, v] of Object.entries(LAYOUT)) if (k.startsWith('sizeof(')) assert.is(v % 8, 0, k);
  });
}

S.run();
