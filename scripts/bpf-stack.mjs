#!/usr/bin/env node
// Checks the combined stack of every BPF program at build time: the verifier
// refuses a program whose deepest chain of bpf-to-bpf calls uses more than 512
// bytes of stack (each frame rounded up to 32). Programs this host cannot load
// (BPF LSM, fentry) would otherwise fail only in the VM suites.
//   node scripts/bpf-stack.mjs OBJ...   (objects built with -fstack-size-section)
// Prints the deepest chain per program; exit 1 when one is over the limit.
import { execFileSync } from 'node:child_process';

const LIMIT = 512;
const round = (n) => Math.ceil(Math.max(n, 1) / 32) * 32;
const tool = (names, args) => {
  for (const n of names) {
    try {
      return execFileSync(n, args, { encoding: 'utf8', maxBuffer: 256 << 20 });
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
    }
  }
  throw new Error(`none of ${names.join(', ')} is installed (Debian package llvm)`);
};

function check(obj) {
  const sizes = new Map();
  let fn = null;
  for (const line of tool(['llvm-readobj', 'llvm-readobj-14', 'llvm-readobj-16'], ['--stack-sizes', obj]).split('\n')) {
    const f = /Functions: \[(\w+)\]/.exec(line);
    if (f) fn = f[1];
    const s = /Size: 0x([0-9A-Fa-f]+)/.exec(line);
    if (s && fn) (sizes.set(fn, parseInt(s[1], 16)), (fn = null));
  }
  // functions by section and first instruction; calls with their targets
  const funcs = []; // { name, section, start }
  const calls = []; // { section, at, imm, reloc }
  let section = '';
  const lines = tool(['llvm-objdump', 'llvm-objdump-14', 'llvm-objdump-16'], ['-dr', obj]).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const sec = /^Disassembly of section (\S+):/.exec(l);
    if (sec) section = sec[1];
    const sym = /^([0-9a-f]+) <([^>]+)>:/.exec(l);
    if (sym && !sym[2].startsWith('LBB')) funcs.push({ name: sym[2], section, start: parseInt(sym[1], 16) / 8 });
    // 0x85 with src_reg 1 (BPF_PSEUDO_CALL): a call of another BPF function, not a helper
    const call = /^\s+(\d+):\s+85 10 00 00 ((?:[0-9a-f]{2} ){3}[0-9a-f]{2})\s/.exec(l);
    if (call) {
      const imm = Buffer.from(call[2].replace(/ /g, ''), 'hex').readInt32LE(0);
      const rel = /R_BPF_64_32\s+(\S+)/.exec(lines[i + 1] ?? '');
      calls.push({ section, at: Number(call[1]), imm, reloc: rel ? rel[1] : null });
    }
  }
  const owner = (section, at) => {
    let best = null;
    for (const f of funcs) if (f.section === section && f.start <= at && (!best || f.start > best.start)) best = f;
    return best;
  };
  const callees = new Map(funcs.map((f) => [f.name, new Set()]));
  for (const c of calls) {
    const from = owner(c.section, c.at);
    let to = null;
    if (c.reloc === null) to = owner(c.section, c.at + 1 + c.imm);
    else if (c.reloc.startsWith('.')) to = owner(c.reloc, c.imm + 1);
    else to = funcs.find((f) => f.name === c.reloc) ?? null;
    if (from && to) callees.get(from.name).add(to.name);
  }
  const memo = new Map();
  const deepest = (name, seen = new Set()) => {
    if (memo.has(name)) return memo.get(name);
    if (seen.has(name)) throw new Error(`${obj}: recursion through ${name}`);
    seen.add(name);
    let best = { bytes: 0, chain: [] };
    for (const c of callees.get(name) ?? []) {
      const d = deepest(c, seen);
      if (d.bytes > best.bytes) best = d;
    }
    seen.delete(name);
    const own = sizes.get(name) ?? 0;
    const r = { bytes: round(own) + best.bytes, chain: [`${name} ${own}`, ...best.chain] };
    memo.set(name, r);
    return r;
  };
  let bad = 0;
  for (const f of funcs.filter((x) => x.section !== '.text')) {
    const d = deepest(f.name);
    const over = d.bytes > LIMIT;
    if (over || process.env.TALON_STACK_VERBOSE) console.log(`${over ? 'over' : 'ok  '} ${d.bytes} B  ${obj.split('/').pop()} ${d.chain.join(' -> ')}`);
    if (over) bad++;
  }
  return bad;
}

let bad = 0;
for (const obj of process.argv.slice(2)) bad += check(obj);
if (bad > 0) {
  console.error(`bpf-stack: ${bad} program(s) over the verifier's ${LIMIT}-byte combined stack (frames rounded to 32)`);
  process.exit(1);
}
