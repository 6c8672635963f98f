#!/usr/bin/env node
// gen-abi: the C headers in bpf/include/ are the one definition of every byte
// format talon shares; this script parses them and writes every mirror:
//   assembly/abi/generated.ts  constants and offsets for the Wasm core
//   src/abi/generated.ts       the same for the TypeScript host
//   test/helpers/abi-probe.c   a C program printing what the C compiler says
//                              of every constant, size and offset (the tests
//                              compare it with the two modules above)
// Usage: node scripts/gen-abi.mjs          write the files
//        node scripts/gen-abi.mjs --check  exit 1 if a committed file differs
// The headers follow strict rules (see their top comments): fixed-width
// __u8/__u16/__u32/__u64/__s16/__s32 and char fields, arrays of numeric or
// macro size, nested structs, anonymous unions, numeric and string #defines,
// enums with explicit values. Anything else is an error, not a guess.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const HEADERS = ['bpf/include/tln_abi.h', 'bpf/include/tln_events.h', 'bpf/include/tln_evrec.h', 'bpf/include/tln_usdt.h'];
const SELF = 'scripts/gen-abi.mjs';

const PRIMS = {
  __u8: { size: 1, as: 'u8' },
  __u16: { size: 2, as: 'u16' },
  __u32: { size: 4, as: 'u32' },
  __u64: { size: 8, as: 'u64' },
  __s16: { size: 2, as: 'i16' },
  __s32: { size: 4, as: 'i32' },
  char: { size: 1, as: 'u8' },
};

// AssemblyScript types of constants no field comment names (see asTypes below)
const AS_TYPE_OVERRIDES = { TLN_IMAGE_MAGIC_0: 'u32', TLN_IMAGE_MAGIC_1: 'u32', TLN_IMAGE_VERSION: 'u32' };

function fail(file, msg) {
  throw new Error(`gen-abi: ${file}: ${msg}`);
}

/** Parses one header: defines (numeric, string), enums, structs, and the comment of each field. */
export function parseHeader(file, text, model) {
  // keep field comments: replace each comment by a marker the struct parser can read
  const comments = [];
  let src = text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (c) => {
    comments.push(c);
    return ` @C${comments.length - 1}@ `;
  });
  const lines = src.split('\n');
  const body = [];
  for (const line of lines) {
    const t = line.trim();
    if (!t.startsWith('#')) {
      body.push(line);
      continue;
    }
    const d = /^#define\s+([A-Z][A-Z0-9_]*)\s+(.*)$/.exec(t.replace(/@C\d+@/g, '').trim());
    if (d) {
      const [, name, raw] = d;
      const v = raw.trim();
      let m;
      if ((m = /^(0x[0-9a-fA-F]+|\d+)u?$/.exec(v))) model.defines.push({ file, name, value: Number(m[1]), text: m[1] });
      else if ((m = /^"([^"\\]*)"$/.exec(v))) model.defines.push({ file, name, value: m[1] });
      else fail(file, `#define ${name}: unsupported value ${v}`);
    } else if (/^#define\s+[A-Z][A-Z0-9_]*\(/.test(t)) {
      // function-like macros (TLN_ACTBIT) are code, not layout
    } else if (!/^#(ifndef|ifdef|ifn?def|endif|else|include|define\s+TLN_[A-Z_]+_H\s*$)/.test(t) && !/^#define\s+TLN_[A-Z_]+_H$/.test(t)) {
      fail(file, `unsupported preprocessor line: ${t}`);
    }
  }
  // anonymous unions (no braces inside) become one marker, so the struct regex sees one body
  src = body.join('\n').replace(/union\s*\{([^{}]*)\}\s*;/g, (_m, u) => `@UNION<${u.replace(/;/g, "#")}>;`);
  const re = /\b(enum|struct)\s+(tln_[a-z0-9_]+)\s*\{([\s\S]*?)\}\s*;/g;
  let m;
  while ((m = re.exec(src))) {
    const [, kind, name, inner] = m;
    if (kind === 'enum') {
      const members = [];
      for (const part of inner.split(',')) {
        const p = part.replace(/@C\d+@/g, '').trim();
        if (!p) continue;
        const e = /^(TLN_[A-Z0-9_]+)\s*=\s*(0x[0-9a-fA-F]+|\d+)$/.exec(p);
        if (!e) fail(file, `enum ${name}: member "${p}" has no explicit value`);
        members.push({ name: e[1], value: Number(e[2]) });
      }
      model.enums.push({ file, name, members });
    } else {
      model.structs.push({ file, name, fields: parseFields(file, name, inner, comments, model) });
    }
  }
}

function parseFields(file, sname, inner, comments, model) {
  const fields = [];
  // one declaration per ';'; a comment after the ';' belongs to the field before it
  const parts = inner.split(';');
  for (let i = 0; i < parts.length; i++) {
    let p = parts[i];
    // comments at the start of this part trail the previous field
    const lead = /^\s*((?:@C\d+@\s*)+)/.exec(p);
    if (lead && fields.length) fields[fields.length - 1].comment += lead[1].replace(/@C(\d+)@/g, (_x, n) => comments[n]);
    p = p.replace(/@C\d+@/g, '').trim();
    if (!p) continue;
    const u = /^@UNION<([\s\S]*)>$/.exec(p);
    if (u) {
      const members = u[1].split('#').map((s) => s.replace(/@C\d+@/g, '').trim()).filter(Boolean).map((d) => parseDecl(file, sname, d, model));
      fields.push({ union: members, comment: '' });
      continue;
    }
    fields.push({ ...parseDecl(file, sname, p, model), comment: '' });
  }
  return fields;
}

function parseDecl(file, sname, d, model) {
  const m = /^(?:(struct)\s+(tln_[a-z0-9_]+)|(__u8|__u16|__u32|__u64|__s16|__s32|char))\s+([a-z_][a-z0-9_]*)\s*(?:\[\s*([A-Z0-9_]*)\s*\])?$/.exec(d);
  if (!m) fail(file, `struct ${sname}: unsupported field "${d}"`);
  const [, isStruct, sub, prim, name, dim] = m;
  let count = 1;
  let flex = false;
  if (dim !== undefined) {
    if (dim === '') flex = true;
    else if (/^\d+$/.test(dim)) count = Number(dim);
    else {
      const def = model.defines.find((x) => x.name === dim);
      if (!def || typeof def.value !== 'number') fail(file, `struct ${sname}.${name}: unknown array size ${dim}`);
      count = def.value;
    }
  }
  return { name, type: isStruct ? { struct: sub } : { prim }, count, flex, dim: dim ?? null };
}

/** Sizes and offsets with C's natural alignment. */
export function layout(model) {
  const out = new Map();
  const sizeAlign = (t) => {
    if (t.prim) return { size: PRIMS[t.prim].size, align: PRIMS[t.prim].size };
    const s = out.get(t.struct);
    if (!s) throw new Error(`gen-abi: struct ${t.struct} used before its definition`);
    return { size: s.size, align: s.align };
  };
  for (const s of model.structs) {
    let off = 0;
    let align = 1;
    const offsets = [];
    const place = (f, at) => {
      const { size, align: a } = sizeAlign(f.type);
      const o = Math.ceil(at / a) * a;
      return { o, a, end: o + (f.flex ? 0 : size * f.count), elem: size };
    };
    for (const f of s.fields) {
      if (f.union) {
        const a = Math.max(...f.union.map((x) => sizeAlign(x.type).align));
        const o = Math.ceil(off / a) * a;
        let end = o;
        for (const x of f.union) {
          const p = place(x, o);
          offsets.push({ field: x, off: p.o, elem: p.elem });
          end = Math.max(end, p.end);
        }
        align = Math.max(align, a);
        off = end;
        continue;
      }
      const p = place(f, off);
      offsets.push({ field: f, off: p.o, elem: p.elem });
      align = Math.max(align, p.a);
      off = p.end;
    }
    const size = Math.ceil(off / align) * align;
    out.set(s.name, { name: s.name, file: s.file, size, align, fields: offsets });
  }
  return out;
}

export function readModel(root = ROOT) {
  const model = { defines: [], enums: [], structs: [] };
  for (const h of HEADERS) parseHeader(h, readFileSync(path.join(root, h), 'utf8'), model);
  return model;
}

/** Every value keyed by its C spelling: constant name, "sizeof(struct x)", "offsetof(struct x, f)". */
export function abiTable(model, lay) {
  const t = {};
  for (const d of model.defines) t[d.name] = d.value;
  for (const e of model.enums) for (const m of e.members) t[m.name] = m.value;
  for (const s of lay.values()) {
    t[`sizeof(struct ${s.name})`] = s.size;
    for (const f of s.fields) t[`offsetof(struct ${s.name}, ${f.field.name})`] = f.off;
  }
  return t;
}

/** AssemblyScript type of each constant: the type of the field whose comment names its enum or prefix. */
function asTypes(model) {
  const byEnum = new Map();
  const byPrefix = [];
  for (const s of model.structs) {
    for (const f of s.fields.flatMap((x) => x.union ?? [x])) {
      if (!f.type.prim || !f.comment) continue;
      const as = PRIMS[f.type.prim].as;
      for (const e of f.comment.matchAll(/enum (tln_[a-z0-9_]+)/g)) if (!byEnum.has(e[1])) byEnum.set(e[1], as);
      for (const p of f.comment.matchAll(/\b(TLN_[A-Z0-9_]+?)(\*|\b)/g)) byPrefix.push({ p: p[1], star: p[2] === '*', as });
    }
  }
  const types = {};
  for (const e of model.enums) for (const m of e.members) types[m.name] = byEnum.get(e.name) ?? 'i32';
  for (const d of model.defines) {
    if (typeof d.value === 'string') continue;
    const hit = byPrefix.find((x) => (x.star ? d.name.startsWith(x.p) : d.name === x.p));
    types[d.name] = AS_TYPE_OVERRIDES[d.name] ?? hit?.as ?? 'i32';
  }
  return types;
}

const up = (s) => s.toUpperCase();

function banner(comment) {
  return `${comment} GENERATED by ${SELF} from ${HEADERS.join(', ')}: do not edit.\n${comment} Change the header, then run \`node ${SELF}\` (npm run build does).\n`;
}

function genAssembly(model, lay) {
  const types = asTypes(model);
  const o = [banner('//')];
  for (const h of HEADERS) {
    o.push(`// ---- ${h} ----`, '');
    for (const d of model.defines.filter((x) => x.file === h)) {
      o.push(typeof d.value === 'string' ? `export const ${d.name}: string = ${JSON.stringify(d.value)};` : `export const ${d.name}: ${types[d.name]} = ${d.text};`);
    }
    for (const e of model.enums.filter((x) => x.file === h)) {
      o.push('', `// enum ${e.name}`);
      for (const m of e.members) o.push(`export const ${m.name}: ${types[m.name]} = ${m.value};`);
    }
    for (const s of [...lay.values()].filter((x) => x.file === h)) {
      o.push('', `// struct ${s.name} (${s.size} bytes)`, `export const ${up(s.name)}_SIZEOF: i32 = ${s.size};`);
      for (const f of s.fields) o.push(`export const ${up(s.name)}_OFF_${up(f.field.name)}: i32 = ${f.off};`);
    }
    o.push('');
  }
  const table = abiTable(model, lay);
  o.push('/** Every value above as JSON, keyed by its C spelling (test/abi.test.ts compares it with the C compiler). */');
  o.push('export function abiTableJson(): string {');
  o.push('  const o = new Array<string>();');
  for (const k of Object.keys(table)) {
    const ident = identOf(k);
    o.push(typeof table[k] === 'string' ? `  o.push('"${k}":"' + ${ident} + '"');` : `  o.push('"${k}":' + ${ident}.toString());`);
  }
  o.push('  return "{" + o.join(",") + "}";', '}', '');
  return o.join('\n');
}

function identOf(k) {
  let m;
  if ((m = /^sizeof\(struct (\w+)\)$/.exec(k))) return `${up(m[1])}_SIZEOF`;
  if ((m = /^offsetof\(struct (\w+), (\w+)\)$/.exec(k))) return `${up(m[1])}_OFF_${up(m[2])}`;
  return k;
}

function genTypeScript(model, lay) {
  const o = [banner('//')];
  for (const h of HEADERS) {
    o.push(`// ---- ${h} ----`, '');
    for (const d of model.defines.filter((x) => x.file === h)) o.push(`export const ${d.name} = ${typeof d.value === 'string' ? JSON.stringify(d.value) : d.text};`);
    for (const e of model.enums.filter((x) => x.file === h)) {
      o.push('', `/** enum ${e.name} */`, `export const ${e.name} = {`);
      for (const m of e.members) o.push(`  ${m.name}: ${m.value},`);
      o.push('} as const;');
      for (const m of e.members) o.push(`export const ${m.name} = ${e.name}.${m.name};`);
    }
    for (const s of [...lay.values()].filter((x) => x.file === h)) {
      o.push('', `/** struct ${s.name}: sizeof and the offset of each field */`, `export const ${s.name} = {`, `  sizeof: ${s.size},`);
      for (const f of s.fields) o.push(`  ${f.field.name}: ${f.off},`);
      o.push('} as const;');
    }
    o.push('');
  }
  const table = abiTable(model, lay);
  o.push('/** Every value above keyed by its C spelling (test/abi.test.ts compares it with the C compiler). */');
  o.push('export const ABI_TABLE: Readonly<Record<string, number | string>> = {');
  for (const [k, v] of Object.entries(table)) o.push(`  ${JSON.stringify(k)}: ${typeof v === 'string' ? JSON.stringify(v) : v},`);
  o.push('};', '');
  return o.join('\n');
}

function genProbe(model, lay) {
  const table = abiTable(model, lay);
  const o = [banner('/*').replace(/\n\/\*/g, '\n *').replace(/\n$/, '\n */\n')];
  o.push('/* Prints every constant, size and offset of the headers as one JSON object,');
  o.push(' * as the host C compiler sees them. Built and run by test/abi.test.ts:');
  o.push(' *   cc -I bpf/include -o probe test/helpers/abi-probe.c */');
  o.push('#include <stddef.h>', '#include <stdio.h>');
  for (const h of HEADERS) o.push(`#include "${path.basename(h)}"`);
  o.push('', '#define P(name, expr) printf("%s\\"%s\\":%lld", first ? "" : ",", name, (long long)(expr)), first = 0');
  o.push('#define S(name, expr) printf("%s\\"%s\\":\\"%s\\"", first ? "" : ",", name, expr), first = 0', '');
  o.push('int main(void)', '{', '\tint first = 1;', '', '\tprintf("{");');
  for (const [k, v] of Object.entries(table)) o.push(`\t${typeof v === 'string' ? 'S' : 'P'}(${JSON.stringify(k)}, ${k});`);
  o.push('\tprintf("}\\n");', '\treturn 0;', '}', '');
  return o.join('\n');
}

export function generate(root = ROOT) {
  const model = readModel(root);
  const lay = layout(model);
  return {
    'assembly/abi/generated.ts': genAssembly(model, lay),
    'src/abi/generated.ts': genTypeScript(model, lay),
    'test/helpers/abi-probe.c': genProbe(model, lay),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = generate();
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [rel, text] of Object.entries(files)) {
    const abs = path.join(ROOT, rel);
    let old = null;
    try {
      old = readFileSync(abs, 'utf8');
    } catch {
      // absent: written below
    }
    if (old === text) continue;
    if (check) {
      console.error(`gen-abi: ${rel} differs from what ${SELF} generates`);
      stale++;
    } else {
      mkdirSync(path.dirname(abs), { recursive: true });
      writeFileSync(abs, text);
      console.log(`gen-abi: wrote ${rel}`);
    }
  }
  process.exit(stale ? 1 : 0);
}
