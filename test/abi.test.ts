// One truth per byte format: bpf/include/tln_abi.h, tln_events.h and
// tln_evrec.h. scripts/gen-abi.mjs computes every size and offset itself and
// writes the mirrors (assembly/abi/generated.ts, src/abi/generated.ts) and the
// C probe (test/helpers/abi-probe.c). Here the host C compiler says what the
// headers mean, and every entry of the generator and of both mirrors must agree
// with it; the committed generated files must be what the generator writes now.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { abiTable, abiMapNames, compile, inspectImage } from '../src/core/index.js';
import * as HOST from '../src/abi/generated.js';
import { ABI_TABLE } from '../src/abi/generated.js';
import { ROOT, filePolicy, OPTS } from './helpers/core.js';

interface Gen {
  HEADERS: string[];
  generate(root?: string): Record<string, string>;
  readModel(root?: string): {
    defines: { name: string }[];
    enums: { name: string; members: { name: string }[] }[];
    structs: { name: string; fields: unknown[] }[];
  };
  layout(model: unknown): Map<string, { name: string; size: number; fields: { field: { name: string }; off: number }[] }>;
  abiTable(model: unknown, lay: unknown): Record<string, number | string>;
}
const gen = (await import(pathToFileURL(path.join(ROOT, 'scripts/gen-abi.mjs')).href)) as Gen;

function probe(): Record<string, number | string> {
  const dir = path.join(ROOT, '.talon-test');
  mkdirSync(dir, { recursive: true });
  const exe = path.join(dir, 'abi-probe');
  execFileSync('cc', ['-Wall', '-Werror', '-I', path.join(ROOT, 'bpf/include'), '-o', exe, path.join(ROOT, 'test/helpers/abi-probe.c')]);
  return JSON.parse(execFileSync(exe, { encoding: 'utf8' }));
}

const c = probe();
const model = gen.readModel(ROOT);
const lay = gen.layout(model);
const computed = gen.abiTable(model, lay);
const wasm = abiTable() as Record<string, number | string>;

function sameTable(name: string, t: Record<string, number | string>): void {
  for (const [k, v] of Object.entries(c)) assert.is(t[k], v, `${name}: ${k} is ${t[k]}, the C compiler says ${v}`);
  for (const k of Object.keys(t)) assert.ok(k in c, `${name}: ${k} is not printed by test/helpers/abi-probe.c`);
}

test('the generator computes every size, offset and value the C compiler gives', () => sameTable('scripts/gen-abi.mjs', computed));
test('src/abi/generated.ts holds exactly the C compiler values', () => sameTable('src/abi/generated.ts', ABI_TABLE));
test('the Wasm core (assembly/abi/generated.ts) holds exactly the C compiler values', () => sameTable('abiTable()', wasm));

test('the host struct objects (src/abi/generated.ts) give the sizes and offsets of the C compiler', () => {
  const host = HOST as unknown as Record<string, Record<string, number>>;
  for (const s of lay.values()) {
    const o = host[s.name];
    assert.type(o, 'object', s.name);
    assert.is(o.sizeof, c[`sizeof(struct ${s.name})`], `sizeof ${s.name}`);
    for (const f of s.fields) assert.is(o[f.field.name], c[`offsetof(struct ${s.name}, ${f.field.name})`], `${s.name}.${f.field.name}`);
  }
});

test('every struct, every field, every #define and enum member of the headers is checked', () => {
  const src = gen.HEADERS.map((h) => readFileSync(path.join(ROOT, h), 'utf8')).join('\n');
  const structs = [...src.matchAll(/^struct (tln_[a-z0-9_]+) \{/gm)].map((m) => m[1]);
  assert.equal(structs.sort(), [...lay.keys()].sort(), 'structs the generator found');
  for (const s of lay.values()) {
    assert.ok(`sizeof(struct ${s.name})` in c, s.name);
    assert.ok(s.fields.length > 0, s.name);
    for (const f of s.fields) assert.ok(`offsetof(struct ${s.name}, ${f.field.name})` in c, `${s.name}.${f.field.name}`);
  }
  // a field count from the text itself: one ';' per field declaration inside each struct body
  for (const m of src.matchAll(/^struct (tln_[a-z0-9_]+) \{([\s\S]*?)^\};/gm)) {
    const decls = m[2]
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .split(';')
      .filter((d) => /\w/.test(d) && !/union\s*\{\s*$/.test(d.trim()) && d.trim() !== '}').length;
    assert.is(lay.get(m[1])!.fields.length, decls, `fields of ${m[1]}`);
  }
  const names = new Set<string>();
  for (const m of src.matchAll(/^#define\s+(TLN_[A-Z0-9_]+)\s+(?:0x[0-9a-fA-F]+u?|\d+|"[^"]*")\s*(?:\/\*.*)?$/gm)) names.add(m[1]);
  for (const m of src.matchAll(/^\s+(TLN_[A-Z0-9_]+)\s*=\s*\d+,/gm)) names.add(m[1]);
  const generated = [...model.defines.map((d) => d.name), ...model.enums.flatMap((e) => e.members.map((m) => m.name))];
  assert.equal([...names].sort(), generated.sort(), 'the constants the generator found are those of the headers');
  for (const n of names) assert.ok(n in c, `${n} is not in the probe`);
});

test('the committed generated files are what scripts/gen-abi.mjs writes now (edit the header, not a copy)', () => {
  for (const [rel, text] of Object.entries(gen.generate(ROOT))) {
    const committed = readFileSync(path.join(ROOT, rel), 'utf8');
    if (committed === text) continue;
    const a = committed.split('\n');
    const b = text.split('\n');
    const i = a.findIndex((l, k) => l !== b[k]);
    assert.unreachable(
      `${rel} differs from the generator's output at line ${i + 1}:\n  committed: ${a[i]}\n  generated: ${b[i]}\n(run node scripts/gen-abi.mjs)`,
    );
  }
});

test('map value structs are multiples of 8 (LPM keys, tln_hook_arg and the tln_evx entry header of a byte stream excepted)', () => {
  const packed = new Set(['tln_hook_arg', 'tln_str_key', 'tln_addr4_key', 'tln_addr6_key', 'tln_evx']);
  for (const s of lay.values()) if (!packed.has(s.name)) assert.is(s.size % 8, 0, `${s.name} size ${s.size}`);
});

test('map names: header, mirror and images agree', () => {
  const names = abiMapNames();
  for (const [k, v] of Object.entries(c)) if (k.startsWith('TLN_MAP_')) assert.is(names[k], v, k);
  const img = compile([filePolicy([{}])], OPTS).image!;
  assert.equal(
    inspectImage(img)[0].maps.map((m) => m.name),
    [
      'TLN_MAP_POLICY',
      'TLN_MAP_HOOKS',
      'TLN_MAP_SELS',
      'TLN_MAP_STR',
      'TLN_MAP_ADDR4',
      'TLN_MAP_ADDR6',
      'TLN_MAP_U64SET',
      'TLN_MAP_STATS',
      'TLN_MAP_POD_FILTER',
    ].map((k) => c[k]),
  );
  for (const n of Object.values(names)) assert.ok(n.length <= 15, n);
});

test.run();
