// Just enough of a BTF reader (the format of /sys/kernel/btf/vmlinux) to tell
// what a target kernel offers besides CO-RE: its function names (the LSM hooks
// as bpf_lsm_*) and its enums (helper ids, map types, attach types). libbpf in
// the bridge does the relocation itself; this never interprets struct layouts.

const BTF_MAGIC = 0xeb9f;
const KIND = { ENUM: 6, FUNC: 12, ENUM64: 19 } as const;

export interface BtfInfo {
  /** number of types (type ids 1..count) */
  count: number;
  /** names of BTF_KIND_FUNC types */
  funcs: Set<string>;
  /** enum name -> enumerator name -> value (ENUM and ENUM64; values as numbers, ENUM64 low 53 bits) */
  enums: Map<string, Map<string, number>>;
}

export class BtfError extends Error {}

/** bytes per type record after the 12-byte common header, by kind (vlen: bits 0-15 of info) */
function extraBytes(kind: number, vlen: number): number {
  switch (kind) {
    case 1:
      return 4; // INT
    case 3:
      return 12; // ARRAY
    case 4:
    case 5:
      return 12 * vlen; // STRUCT, UNION members
    case 6:
      return 8 * vlen; // ENUM
    case 13:
      return 8 * vlen; // FUNC_PROTO params
    case 14:
      return 4; // VAR
    case 15:
      return 12 * vlen; // DATASEC
    case 17:
      return 4; // DECL_TAG
    case 19:
      return 12 * vlen; // ENUM64
    case 2:
    case 7:
    case 8:
    case 9:
    case 10:
    case 11:
    case 12:
    case 16:
    case 18:
      return 0;
    default:
      throw new BtfError(`unknown BTF kind ${kind}`);
  }
}

export function readBtf(bytes: Uint8Array): BtfInfo {
  if (bytes.length < 24) throw new BtfError('too short for a BTF header');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint16(0, true) !== BTF_MAGIC) throw new BtfError('not a raw BTF file (no 0xeB9F magic; an ELF needs `bpftool btf dump file F format raw` first)');
  const hdrLen = v.getUint32(4, true);
  const typeOff = hdrLen + v.getUint32(8, true);
  const typeEnd = typeOff + v.getUint32(12, true);
  const strOff = hdrLen + v.getUint32(16, true);
  const strEnd = strOff + v.getUint32(20, true);
  if (typeEnd > bytes.length || strEnd > bytes.length) throw new BtfError('BTF sections run past the end of the file');
  const name = (off: number): string => {
    const at = strOff + off;
    const end = bytes.indexOf(0, at);
    return Buffer.from(bytes.subarray(at, end < 0 || end > strEnd ? strEnd : end)).toString('latin1');
  };
  const info: BtfInfo = { count: 0, funcs: new Set(), enums: new Map() };
  let p = typeOff;
  while (p < typeEnd) {
    const nameOff = v.getUint32(p, true);
    const word = v.getUint32(p + 4, true);
    const kind = (word >>> 24) & 0x1f;
    const vlen = word & 0xffff;
    const body = p + 12;
    if (kind === KIND.FUNC) info.funcs.add(name(nameOff));
    else if (kind === KIND.ENUM || kind === KIND.ENUM64) {
      const values = info.enums.get(name(nameOff)) ?? new Map<string, number>();
      const rec = kind === KIND.ENUM ? 8 : 12;
      for (let i = 0; i < vlen; i++) {
        const e = body + i * rec;
        const lo = kind === KIND.ENUM ? v.getInt32(e + 4, true) : v.getUint32(e + 4, true);
        const hi = kind === KIND.ENUM ? 0 : v.getUint32(e + 8, true);
        values.set(name(v.getUint32(e, true)), hi * 2 ** 32 + lo);
      }
      if (name(nameOff) !== '') info.enums.set(name(nameOff), values);
    }
    p = body + extraBytes(kind, vlen);
    info.count++;
  }
  return info;
}

/** the value of enumerator `item` of enum `enumName`, or undefined */
export function enumValue(info: BtfInfo, enumName: string, item: string): number | undefined {
  return info.enums.get(enumName)?.get(item);
}

/**
 * The raw BTF of a file: the file itself when it is raw BTF
 * (/sys/kernel/btf/vmlinux, `bpftool btf dump file X format raw`), or the
 * `.BTF` section of a little-endian ELF64 file (an uncompressed vmlinux).
 */
export function rawBtf(bytes: Uint8Array): Uint8Array {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 2 && v.getUint16(0, true) === BTF_MAGIC) return bytes;
  const isElf = bytes.length >= 64 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
  if (!isElf) throw new BtfError('neither raw BTF (0xeB9F magic) nor an ELF file');
  if (bytes[4] !== 2 || bytes[5] !== 1) throw new BtfError('only little-endian ELF64 files are read');
  const shoff = Number(v.getBigUint64(0x28, true));
  const shentsize = v.getUint16(0x3a, true);
  const shnum = v.getUint16(0x3c, true);
  const shstrndx = v.getUint16(0x3e, true);
  const sec = (i: number) => {
    const at = shoff + i * shentsize;
    return { name: v.getUint32(at, true), offset: Number(v.getBigUint64(at + 0x18, true)), size: Number(v.getBigUint64(at + 0x20, true)) };
  };
  if (shoff + shnum * shentsize > bytes.length) throw new BtfError('ELF section headers run past the end of the file');
  const names = sec(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const s = sec(i);
    const at = names.offset + s.name;
    const end = bytes.indexOf(0, at);
    if (Buffer.from(bytes.subarray(at, end)).toString('latin1') === '.BTF') return bytes.subarray(s.offset, s.offset + s.size);
  }
  throw new BtfError('the ELF file has no .BTF section (a kernel built without CONFIG_DEBUG_INFO_BTF)');
}
