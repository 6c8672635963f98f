// USDT probes (systemtap's sys/sdt.h, as Tetragon's usdts read them): the
// probes of an ELF file from its .note.stapsdt notes (provider, name, pc,
// semaphore, argument specs), each argument spec ("-4@%edi", "8@-8(%rbp)",
// "4@$5", "-1@-96(%rbp,%rax,8)") parsed into the struct tln_usdt_arg the
// uprobe program reads it by (bpf/include/tln_usdt.h), and the rodata of a
// usdt hook's instance. Pure functions of the file's bytes: tested without root.
import { LAYOUT } from './records.js';
import { EM_X86_64, fileOffsetOf, type ElfFile } from './elf.js';

const SHT_NOTE = 7;
const NT_STAPSDT = 3;

/** One argument of a probe, as its spec says and as the program reads it. */
export interface UsdtArg {
  /** the spec as written in the note, e.g. "-4@%edi" */
  spec: string;
  kind: number; // enum tln_usdt_kind
  size: number;
  signed: boolean;
  regOff: number;
  idxOff: number;
  scale: number;
  /** CONST: the value; DEREF/SIB: the displacement */
  valOff: bigint;
}

export interface UsdtProbe {
  provider: string;
  name: string;
  /** virtual address of the probe (prelink-adjusted), and its offset in the file */
  pc: bigint;
  pcOffset: bigint | null;
  /** the semaphore's virtual address (0: none) and its offset in the file */
  semaphore: bigint;
  semaphoreOffset: bigint | null;
  /** the argument specs, space-separated, as in the note */
  args: string;
}

const align4 = (n: number) => (n + 3) & ~3;

/** The USDT probes of an ELF file (its .note.stapsdt notes); [] when it has none. */
export function usdtProbes(elf: ElfFile): UsdtProbe[] {
  const b = elf.bytes;
  const out: UsdtProbe[] = [];
  // prelinked files moved .stapsdt.base: each note says where it was, adjust by the difference
  const base = elf.sections.find((s) => s.name === '.stapsdt.base');
  for (const sec of elf.sections) {
    if (sec.type !== SHT_NOTE || sec.name !== '.note.stapsdt') continue;
    let o = Number(sec.offset);
    const end = o + Number(sec.size);
    if (end > b.length) throw new Error('.note.stapsdt runs past the end of the file');
    while (o + 12 <= end) {
      const namesz = b.readUInt32LE(o);
      const descsz = b.readUInt32LE(o + 4);
      const type = b.readUInt32LE(o + 8);
      const nameAt = o + 12;
      const descAt = nameAt + align4(namesz);
      const next = descAt + align4(descsz);
      if (next > end) throw new Error('a .note.stapsdt note runs past its section');
      const owner = b.toString('latin1', nameAt, nameAt + Math.max(0, namesz - 1));
      if (owner === 'stapsdt' && type === NT_STAPSDT && descsz >= 24) {
        let pc = b.readBigUInt64LE(descAt);
        const noteBase = b.readBigUInt64LE(descAt + 8);
        let sema = b.readBigUInt64LE(descAt + 16);
        if (base && noteBase) {
          pc += base.addr - noteBase;
          if (sema) sema += base.addr - noteBase;
        }
        const strs = b.toString('latin1', descAt + 24, descAt + descsz).split('\0');
        out.push({
          provider: strs[0] ?? '',
          name: strs[1] ?? '',
          pc,
          pcOffset: fileOffsetOf(elf, pc),
          semaphore: sema,
          semaphoreOffset: sema ? fileOffsetOf(elf, sema) : null,
          args: strs[2] ?? '',
        });
      }
      o = next;
    }
  }
  return out;
}

// x86-64 registers by every name a spec may use for them (the value is read from the full register and cut to the spec's size)
const X86_REGS: Record<string, number> = {};
function regNames(off: number, ...names: string[]) {
  for (const n of names) X86_REGS[n] = off;
}
regNames(LAYOUT.TLN_PTREGS_AX, 'rax', 'eax', 'ax', 'al');
regNames(LAYOUT.TLN_PTREGS_BX, 'rbx', 'ebx', 'bx', 'bl');
regNames(LAYOUT.TLN_PTREGS_CX, 'rcx', 'ecx', 'cx', 'cl');
regNames(LAYOUT.TLN_PTREGS_DX, 'rdx', 'edx', 'dx', 'dl');
regNames(LAYOUT.TLN_PTREGS_SI, 'rsi', 'esi', 'si', 'sil');
regNames(LAYOUT.TLN_PTREGS_DI, 'rdi', 'edi', 'di', 'dil');
regNames(LAYOUT.TLN_PTREGS_BP, 'rbp', 'ebp', 'bp', 'bpl');
regNames(LAYOUT.TLN_PTREGS_SP, 'rsp', 'esp', 'sp', 'spl');
regNames(LAYOUT.TLN_PTREGS_IP, 'rip');
const HIGH: [number, number][] = [
  [8, LAYOUT.TLN_PTREGS_R8],
  [9, LAYOUT.TLN_PTREGS_R9],
  [10, LAYOUT.TLN_PTREGS_R10],
  [11, LAYOUT.TLN_PTREGS_R11],
  [12, LAYOUT.TLN_PTREGS_R12],
  [13, LAYOUT.TLN_PTREGS_R13],
  [14, LAYOUT.TLN_PTREGS_R14],
  [15, LAYOUT.TLN_PTREGS_R15],
];
for (const [n, off] of HIGH) regNames(off, `r${n}`, `r${n}d`, `r${n}w`, `r${n}b`);

function reg(name: string, spec: string): number {
  const off = X86_REGS[name];
  if (off === undefined) throw new Error(`USDT argument "${spec}": register %${name} is not one talon reads`);
  return off;
}

function num(t: string, spec: string): bigint {
  if (!/^[-+]?(0x[0-9a-fA-F]+|\d+)$/.test(t)) throw new Error(`USDT argument "${spec}": "${t}" is not a number (symbolic operands are not supported)`);
  const neg = t.startsWith('-');
  const v = BigInt(t.replace(/^[-+]/, ''));
  return neg ? -v : v;
}

/** Parses one x86-64 argument spec of a USDT note ("-4@%edi", "8@-8(%rbp)", ...); throws with the reason. */
export function parseUsdtArg(spec: string): UsdtArg {
  const m = /^(-?)([1248])@(.+)$/.exec(spec);
  if (!m) throw new Error(`USDT argument "${spec}": expected <size>@<operand> with size 1, 2, 4 or 8 (negative: signed)`);
  const base = { spec, size: Number(m[2]), signed: m[1] === '-', regOff: 0, idxOff: 0, scale: 0, valOff: 0n };
  const op = m[3]!;
  let r: RegExpExecArray | null;
  if ((r = /^%([a-z0-9]+)$/.exec(op))) return { ...base, kind: LAYOUT.TLN_USDT_REG, regOff: reg(r[1]!, spec) };
  if ((r = /^\$(.+)$/.exec(op))) return { ...base, kind: LAYOUT.TLN_USDT_CONST, valOff: num(r[1]!, spec) };
  if ((r = /^([^(]*)\(%([a-z0-9]+)\)$/.exec(op))) {
    return { ...base, kind: LAYOUT.TLN_USDT_DEREF, regOff: reg(r[2]!, spec), valOff: r[1] ? num(r[1], spec) : 0n };
  }
  if ((r = /^([^(]*)\(%([a-z0-9]+),%([a-z0-9]+)(?:,([1248]))?\)$/.exec(op))) {
    const scale = Math.log2(Number(r[4] ?? '1'));
    return { ...base, kind: LAYOUT.TLN_USDT_SIB, regOff: reg(r[2]!, spec), idxOff: reg(r[3]!, spec), scale, valOff: r[1] ? num(r[1], spec) : 0n };
  }
  throw new Error(`USDT argument "${spec}": operand "${op}" is not a register, a constant or a memory reference talon reads`);
}

/** The argument specs of a probe, in order. */
export function usdtArgs(probe: Pick<UsdtProbe, 'args'>, machine: number): string[] {
  const specs = probe.args.trim() === '' ? [] : probe.args.trim().split(/\s+/);
  if (specs.length > 0 && machine !== EM_X86_64) throw new Error(`USDT argument specs are read on x86-64 only (this file's machine is ${machine})`);
  return specs;
}

/** struct tln_usdt_conf: per position of the hook's args[], where the note's argument `index` is. */
export function usdtConf(args: UsdtArg[]): Buffer {
  const buf = Buffer.alloc(LAYOUT['sizeof(struct tln_usdt_conf)']);
  const esz = LAYOUT['sizeof(struct tln_usdt_arg)'];
  const at = (f: string) => LAYOUT[`offsetof(struct tln_usdt_arg, ${f})` as keyof typeof LAYOUT] as number;
  args.forEach((a, i) => {
    const o = LAYOUT['offsetof(struct tln_usdt_conf, args)'] + i * esz;
    buf.writeUInt8(a.kind, o + at('kind'));
    buf.writeUInt8(a.size, o + at('size'));
    buf.writeUInt8(a.signed ? 1 : 0, o + at('is_signed'));
    buf.writeUInt8(a.scale, o + at('scale'));
    buf.writeUInt16LE(a.regOff, o + at('reg_off'));
    buf.writeUInt16LE(a.idxOff, o + at('idx_off'));
    buf.writeBigUInt64LE(BigInt.asUintN(64, a.valOff), o + at('val_off'));
  });
  return buf;
}
