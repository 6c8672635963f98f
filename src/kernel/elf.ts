// The parts of an ELF file a uprobe needs: its loadable segments (to turn a
// virtual address, a USDT note's pc or an `addrs` entry, into the file offset
// the kernel's uprobe takes), its sections (the USDT notes live in
// .note.stapsdt) and its sha256 (binaryDigests). 64-bit little-endian files
// only (x86-64, arm64): anything else is refused with what it is.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface ElfSegment {
  type: number;
  flags: number;
  offset: bigint;
  vaddr: bigint;
  filesz: bigint;
}

export interface ElfSection {
  name: string;
  type: number;
  addr: bigint;
  offset: bigint;
  size: bigint;
}

export interface ElfFile {
  /** e_machine: 62 x86-64, 183 arm64 */
  machine: number;
  /** e_type: 2 EXEC, 3 DYN */
  type: number;
  segments: ElfSegment[];
  sections: ElfSection[];
  bytes: Buffer;
}

const PT_LOAD = 1;
export const EM_X86_64 = 62;

/** Parses the headers of an ELF file; throws with what is wrong. */
export function parseElf(bytes: Buffer, what = 'the file'): ElfFile {
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${what} is not an ELF file`);
  if (bytes[4] !== 2) throw new Error(`${what} is a 32-bit ELF file: talon reads 64-bit ones only`);
  if (bytes[5] !== 1) throw new Error(`${what} is a big-endian ELF file: talon reads little-endian ones only`);
  const type = bytes.readUInt16LE(16);
  const machine = bytes.readUInt16LE(18);
  const phoff = Number(bytes.readBigUInt64LE(32));
  const shoff = Number(bytes.readBigUInt64LE(40));
  const phentsize = bytes.readUInt16LE(54);
  const phnum = bytes.readUInt16LE(56);
  const shentsize = bytes.readUInt16LE(58);
  const shnum = bytes.readUInt16LE(60);
  const shstrndx = bytes.readUInt16LE(62);
  const fits = (off: number, len: number) => off >= 0 && off + len <= bytes.length;
  if (!fits(phoff, phnum * phentsize) || (phnum > 0 && phentsize < 56)) throw new Error(`${what}: program headers out of the file`);
  if (!fits(shoff, shnum * shentsize) || (shnum > 0 && shentsize < 64)) throw new Error(`${what}: section headers out of the file`);
  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    segments.push({
      type: bytes.readUInt32LE(o),
      flags: bytes.readUInt32LE(o + 4),
      offset: bytes.readBigUInt64LE(o + 8),
      vaddr: bytes.readBigUInt64LE(o + 16),
      filesz: bytes.readBigUInt64LE(o + 32),
    });
  }
  const raw: (Omit<ElfSection, 'name'> & { nameOff: number })[] = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    raw.push({
      nameOff: bytes.readUInt32LE(o),
      type: bytes.readUInt32LE(o + 4),
      addr: bytes.readBigUInt64LE(o + 16),
      offset: bytes.readBigUInt64LE(o + 24),
      size: bytes.readBigUInt64LE(o + 32),
    });
  }
  const strtab = raw[shstrndx];
  const sections: ElfSection[] = raw.map(({ nameOff, ...s }) => {
    let name = '';
    if (strtab) {
      const start = Number(strtab.offset) + nameOff;
      const end = bytes.indexOf(0, start);
      if (start < bytes.length && end > start) name = bytes.toString('latin1', start, end);
    }
    return { name, ...s };
  });
  return { machine, type, segments, sections, bytes };
}

/** Reads and parses an ELF file. */
export function readElf(path: string): ElfFile {
  return parseElf(readFileSync(path), path);
}

/**
 * The file offset of virtual address `addr`: inside a loadable segment, as the
 * kernel maps it (Tetragon's OffsetFromAddr, libbpf's usdt code); null when no
 * segment holds it.
 */
export function fileOffsetOf(elf: Pick<ElfFile, 'segments'>, addr: bigint): bigint | null {
  for (const s of elf.segments) {
    if (s.type !== PT_LOAD) continue;
    if (addr >= s.vaddr && addr < s.vaddr + s.filesz) return addr - s.vaddr + s.offset;
  }
  return null;
}

/** "sha256:<hex>" of a file's bytes (the form of Tetragon's binaryDigests) */
export function fileDigest(path: string): string {
  return 'sha256:' + createHash('sha256').update(readFileSync(path)).digest('hex');
}
