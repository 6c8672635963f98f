// Golden images: the exact bytes of the image of each seed policy, each
// example and each input under test/golden/policies (or, for inputs with
// errors, their diagnostics). Regenerate deliberately with TALON_REGEN=1
// (npm run golden) and review the diff. Also: two separate node processes
// produce identical images.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { compile } from '../src/core/index.js';
import { ROOT, SEEDS, HAVE_SEEDS, EGRESS_SUBST, loadDocs, OPTS } from './helpers/core.js';

const GOLDEN = path.join(ROOT, 'test/golden');
const REGEN = process.env.TALON_REGEN === '1';

interface Input {
  id: string; // golden file stem
  file: string;
  subst: Record<string, string>;
}

function yamlFiles(dir: string): string[] {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
    : [];
}

export function inputs(): Input[] {
  const out: Input[] = [];
  for (const f of yamlFiles(SEEDS)) out.push({ id: `seed-${f.replace(/\.ya?ml$/, '')}`, file: path.join(SEEDS, f), subst: EGRESS_SUBST });
  for (const f of yamlFiles(path.join(ROOT, 'examples')))
    out.push({ id: `example-${f.replace(/\.ya?ml$/, '')}`, file: path.join(ROOT, 'examples', f), subst: {} });
  for (const f of yamlFiles(path.join(GOLDEN, 'policies')))
    out.push({ id: `policy-${f.replace(/\.ya?ml$/, '')}`, file: path.join(GOLDEN, 'policies', f), subst: {} });
  return out;
}

/** xxd-style dump, 16 bytes a line, headed by the sha256 */
function hexdump(b: Uint8Array): string {
  const lines = [`# sha256 ${createHash('sha256').update(b).digest('hex')}, ${b.length} bytes`];
  for (let off = 0; off < b.length; off += 16) {
    const row = b.subarray(off, off + 16);
    const hex = [...row].map((x) => x.toString(16).padStart(2, '0'));
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 4) groups.push(hex.slice(i, i + 4).join(' '));
    const ascii = [...row].map((x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
    lines.push(`${off.toString(16).padStart(8, '0')}  ${groups.join('  ').padEnd(59)}  |${ascii}|`);
  }
  return lines.join('\n') + '\n';
}

function render(inp: Input): string {
  const r = compile(loadDocs(inp.file, inp.subst), OPTS);
  if (r.image) return hexdump(r.image);
  return '# diagnostics (no image)\n' + r.diagnostics.map((d) => JSON.stringify(d)).join('\n') + '\n';
}

for (const inp of inputs()) {
  test(`golden ${inp.id}`, () => {
    const got = render(inp);
    const file = path.join(GOLDEN, `${inp.id}.golden`);
    if (REGEN) {
      writeFileSync(file, got);
      return;
    }
    assert.ok(existsSync(file), `${file} is missing: run TALON_REGEN=1 npm run test:unit (npm run golden) and review it`);
    const want = readFileSync(file, 'utf8');
    if (got !== want) {
      assert.fixture(got, want, `${inp.id}: image bytes changed; if intended, regenerate with TALON_REGEN=1 and review the diff`);
    }
  });
}

test('golden inputs cover the seeds and the error cases', () => {
  const ids = inputs().map((i) => i.id);
  const seeds = ['seed-file_monitoring', 'seed-file_monitoring_enforce', 'seed-network_egress_cluster', 'seed-network_egress_cluster_enforce'];
  if (!HAVE_SEEDS) console.log(`  seed goldens skipped: ${SEEDS} is absent`);
  for (const id of [...(HAVE_SEEDS ? seeds : []), 'policy-errors']) {
    assert.ok(ids.includes(id), id);
  }
  assert.match(render(inputs().find((i) => i.id === 'policy-errors')!), /^# diagnostics/);
});

test('determinism: two separate node processes produce identical images', () => {
  const script = `
    import { createHash } from 'node:crypto';
    import { compile } from ${JSON.stringify(path.join(ROOT, 'dist/src/core/index.js'))};
    import { inputs } from ${JSON.stringify(path.join(ROOT, 'dist/test/golden.test.js'))};
    import { loadDocs, OPTS } from ${JSON.stringify(path.join(ROOT, 'dist/test/helpers/core.js'))};
    const h = createHash('sha256');
    for (const i of inputs()) {
      const r = compile(loadDocs(i.file, i.subst), OPTS);
      h.update(i.id + ':' + (r.image ? createHash('sha256').update(r.image).digest('hex') : JSON.stringify(r.diagnostics)) + '\\n');
    }
    console.log(h.digest('hex'));
  `;
  const run = () =>
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, TALON_NO_RUN: '1' } }).trim();
  const a = run();
  const b = run();
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.is(a, b);
});

if (process.env.TALON_NO_RUN !== '1') test.run();
