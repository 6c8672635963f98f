// Byte buffers: a growable little-endian writer and helpers over raw memory.

export class ByteWriter {
  buf: ArrayBuffer;
  len: i32 = 0;

  constructor(cap: i32 = 256) {
    this.buf = new ArrayBuffer(cap);
  }

  @inline get ptr(): usize {
    return changetype<usize>(this.buf);
  }

  reserve(n: i32): void {
    const need = this.len + n;
    let cap = this.buf.byteLength;
    if (need <= cap) return;
    while (cap < need) cap = cap << 1;
    const nb = new ArrayBuffer(cap); // zero-filled
    memory.copy(changetype<usize>(nb), changetype<usize>(this.buf), <usize>this.len);
    this.buf = nb;
  }

  u8(v: u32): void {
    this.reserve(1);
    store<u8>(this.ptr + <usize>this.len, <u8>v);
    this.len += 1;
  }
  u16(v: u32): void {
    this.reserve(2);
    store<u16>(this.ptr + <usize>this.len, <u16>v);
    this.len += 2;
  }
  u32(v: u32): void {
    this.reserve(4);
    store<u32>(this.ptr + <usize>this.len, v);
    this.len += 4;
  }
  i32(v: i32): void {
    this.u32(<u32>v);
  }
  u64(v: u64): void {
    this.reserve(8);
    store<u64>(this.ptr + <usize>this.len, v);
    this.len += 8;
  }
  zeros(n: i32): void {
    this.reserve(n);
    memory.fill(this.ptr + <usize>this.len, 0, <usize>n);
    this.len += n;
  }
  /** zero padding up to a multiple of `a` */
  align(a: i32): void {
    const r = this.len % a;
    if (r != 0) this.zeros(a - r);
  }
  bytes(src: usize, n: i32): void {
    this.reserve(n);
    memory.copy(this.ptr + <usize>this.len, src, <usize>n);
    this.len += n;
  }
  buffer(b: ArrayBuffer): void {
    this.bytes(changetype<usize>(b), b.byteLength);
  }
  /** u16 byte length + UTF-8 bytes (no terminator, no padding) */
  str(s: string): void {
    const b = String.UTF8.encode(s);
    this.u16(<u32>b.byteLength);
    this.buffer(b);
  }
  /** u32 byte length + UTF-8 bytes: for texts that can pass 64 KiB (a spec record with thousands of values) */
  lstr(s: string): void {
    const b = String.UTF8.encode(s);
    this.u32(<u32>b.byteLength);
    this.buffer(b);
  }
  patchU32(at: i32, v: u32): void {
    store<u32>(this.ptr + <usize>at, v);
  }
  patchU8(at: i32, v: u32): void {
    store<u8>(this.ptr + <usize>at, <u8>v);
  }
  toBuffer(): ArrayBuffer {
    const out = new ArrayBuffer(this.len);
    memory.copy(changetype<usize>(out), this.ptr, <usize>this.len);
    return out;
  }
}

/** Bounds-checked sequential reader over [base, base+size). Sets `bad` on overrun. */
export class ByteReader {
  base: usize;
  size: i32;
  pos: i32 = 0;
  bad: bool = false;
  constructor(base: usize, size: i32) {
    this.base = base;
    this.size = size;
  }
  has(n: i32): bool {
    if (n < 0 || this.pos < 0 || <i64>this.pos + <i64>n > <i64>this.size) {
      this.bad = true;
      return false;
    }
    return true;
  }
  u8(): u32 {
    if (!this.has(1)) return 0;
    const v = <u32>load<u8>(this.base + <usize>this.pos);
    this.pos += 1;
    return v;
  }
  u16(): u32 {
    if (!this.has(2)) return 0;
    const v = <u32>load<u16>(this.base + <usize>this.pos);
    this.pos += 2;
    return v;
  }
  u32(): u32 {
    if (!this.has(4)) return 0;
    const v = load<u32>(this.base + <usize>this.pos);
    this.pos += 4;
    return v;
  }
  u64(): u64 {
    if (!this.has(8)) return 0;
    const v = load<u64>(this.base + <usize>this.pos);
    this.pos += 8;
    return v;
  }
  str(): string {
    return this.text(<i32>this.u16());
  }
  /** the text Writer.lstr wrote */
  lstr(): string {
    const n = this.u32();
    if (n > <u32>this.size) {
      this.bad = true;
      return "";
    }
    return this.text(<i32>n);
  }
  private text(n: i32): string {
    if (!this.has(n)) return "";
    const s = String.UTF8.decodeUnsafe(this.base + <usize>this.pos, <usize>n);
    this.pos += n;
    return s;
  }
  /** moves to offset p (marks the reader bad when p is outside) */
  seek(p: i32): void {
    if (p < 0 || p > this.size) this.bad = true;
    else this.pos = p;
  }
  skip(n: i32): void {
    if (this.has(n)) this.pos += n;
  }
  align(a: i32): void {
    const r = this.pos % a;
    if (r != 0) this.skip(a - r);
  }
}

/** FNV-1a step */
@inline export function fnv(h: u32, b: u32): u32 {
  return (h ^ b) * 16777619;
}
export const FNV_SEED: u32 = 2166136261;

@inline export function mix64(x: u64): u64 {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccd;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53;
  x ^= x >> 33;
  return x;
}
