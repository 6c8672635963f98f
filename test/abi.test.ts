// assembly/abi.ts must mirror bpf/include/tln_abi.h: compile the header with
// the host C compiler, print every size/offset/constant, compare.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { abiTable, abiMapNames, compile, inspectImage } from '../src/core/index.js';
import { ROOT, filePolicy, OPTS } from './helpers/core.js';

const HEADER = path.join(ROOT, 'bpf/include/tln_abi.h');

function probe(): Record<string, number | string> {
  const dir = path.join(ROOT, '.talon-test');
  mkdirSync(dir, { recursive: true });
  const exe = path.join(dir, 'abi-probe');
  execFileSync('cc', ['-Wall', '-Werror', '-I', path.join(ROOT, 'bpf/include'), '-o', exe, path.join(ROOT, 'test/helpers/abi-probe.c')]);
  return JSON.parse(execFileSync(exe, { encoding: 'utf8' }));
}

const c = probe();
const wasm = abiTable();

test('every value of the C probe equals the Wasm mirror', () => {
  for (const [k, v] of Object.entries(c)) {
    if (typeof v === 'string') continue;
    assert.is(wasm[k], v, k);
  }
});

test('the mirror has no value the probe does not check', () => {
  for (const k of Object.keys(wasm)) assert.ok(k in c, `${k} is in abiTable() but not in test/helpers/abi-probe.c`);
});

test('every numeric #define and enum member of the header is mirrored', () => {
  const h = readFileSync(HEADER, 'utf8');
  const names = new Set<string>();
  for (const m of h.matchAll(/^#define\s+(TLN_[A-Z0-9_]+)\s+(?:0x[0-9a-fA-F]+u?|\d+)\b/gm)) names.add(m[1]);
  for (const m of h.matchAll(/^\s+(TLN_[A-Z0-9_]+)\s*=\s*\d+,/gm)) names.add(m[1]);
  assert.ok(names.size > 80, `parsed ${names.size} names`);
  for (const n of names) assert.ok(n in wasm, `${n} (tln_abi.h) is missing from assembly/abi.ts`);
});

test('every struct of the header has its size mirrored; map values are multiples of 8', () => {
  const h = readFileSync(HEADER, 'utf8');
  const structs = [...h.matchAll(/^struct (tln_[a-z0-9_]+) \{/gm)].map((m) => m[1]);
  assert.ok(structs.length >= 10);
  for (const s of structs) {
    const size = wasm[`sizeof(struct ${s})`];
    assert.type(size, 'number', s);
    const packed = s === 'tln_hook_arg' || s === 'tln_str_key' || s === 'tln_addr4_key' || s === 'tln_addr6_key';
    if (!packed) assert.is(size % 8, 0, `${s} size ${size}`);
  }
});

test('map names: header, mirror and images agree', () => {
  const names = abiMapNames();
  for (const [k, v] of Object.entries(c)) if (typeof v === 'string') assert.is(names[k], v, k);
  const img = compile([filePolicy([{}])], OPTS).image!;
  assert.equal(
    inspectImage(img)[0].maps.map((m) => m.name),
    ['TLN_MAP_POLICY', 'TLN_MAP_HOOKS', 'TLN_MAP_SELS', 'TLN_MAP_STR', 'TLN_MAP_ADDR4', 'TLN_MAP_ADDR6', 'TLN_MAP_U64SET', 'TLN_MAP_STATS', 'TLN_MAP_POD_FILTER'].map((k) => c[k]),
  );
  for (const n of Object.values(names)) assert.ok(n.length <= 15, n);
});

test.run();
