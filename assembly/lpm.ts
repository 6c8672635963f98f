// Lookup indexes the evaluator builds from an image's side-map entries
// (tln_str, tln_addr4/6, tln_u64set). Each answers exactly what the kernel's
// map lookup answers, without allocating.
import { fnv, FNV_SEED, mix64 } from "./bytes";

function pow2At(n: i32): i32 {
  let c = 16;
  while (c < n * 2) c <<= 1;
  return c;
}

/** tln_str: LPM trie over (set byte, data bytes), byte-granular prefixes.
 *  An entry matches a lookup key when it is a prefix of it. */
export class StrIndex {
  cap: i32;
  hashes: StaticArray<u32>;
  ptrs: StaticArray<usize>; // entry data in the image (after the set byte)
  lens: StaticArray<i32>; // data length, -1 = empty slot
  sets: StaticArray<u8>;
  lenBits: StaticArray<u64> = new StaticArray<u64>(256 * 4); // per set: which data lengths exist
  maxLen: StaticArray<i32> = new StaticArray<i32>(256);

  constructor(n: i32) {
    const cap = pow2At(n);
    this.cap = cap;
    this.hashes = new StaticArray<u32>(cap);
    this.ptrs = new StaticArray<usize>(cap);
    this.lens = new StaticArray<i32>(cap);
    this.sets = new StaticArray<u8>(cap);
    for (let i = 0; i < this.cap; i++) this.lens[i] = -1;
  }

  /** adds the entry whose key is at k (struct tln_str_key with cap data bytes) */
  add(k: usize, cap: i32): void {
    const plen = <i32>load<u32>(k);
    const set = load<u8>(k + 4);
    if (plen < 8 || (plen & 7) != 0) return; // not an entry the compiler writes
    const n = (plen - 8) >> 3;
    if (n > cap || n > 255) return;
    const data = k + 5;
    let h = fnv(FNV_SEED, set);
    for (let i = 0; i < n; i++) h = fnv(h, load<u8>(data + <usize>i));
    let slot = <i32>(h & <u32>(this.cap - 1));
    while (this.lens[slot] >= 0) slot = (slot + 1) & (this.cap - 1);
    this.hashes[slot] = h;
    this.ptrs[slot] = data;
    this.lens[slot] = n;
    this.sets[slot] = set;
    const bi = <i32>set * 4 + (n >> 6);
    this.lenBits[bi] = this.lenBits[bi] | ((<u64>1) << <u64>(n & 63));
    if (n > this.maxLen[set]) this.maxLen[set] = n;
  }

  @inline hasLen(set: u8, n: i32): bool {
    return ((this.lenBits[<i32>set * 4 + (n >> 6)] >> <u64>(n & 63)) & 1) != 0;
  }

  /** compares entry data at slot with the lookup key (p, reversed, NUL appended) */
  private probe(h: u32, set: u8, n: i32, p: usize, len: i32, rev: bool): bool {
    let slot = <i32>(h & <u32>(this.cap - 1));
    while (true) {
      const l = this.lens[slot];
      if (l < 0) return false;
      if (l == n && this.hashes[slot] == h && this.sets[slot] == set) {
        const d = this.ptrs[slot];
        let same = true;
        for (let i = 0; i < n; i++) {
          let b: u8 = 0;
          if (i < len) b = rev ? load<u8>(p + <usize>(len - 1 - i)) : load<u8>(p + <usize>i);
          if (load<u8>(d + <usize>i) != b) {
            same = false;
            break;
          }
        }
        if (same) return true;
      }
      slot = (slot + 1) & (this.cap - 1);
    }
    return false;
  }

  /** Is some entry of `set` a prefix of key = bytes (reversed if rev) [+ NUL]?
   *  The key is cut to 255 data bytes, as struct tln_str_key holds. */
  lookup(set: u8, p: usize, len: i32, rev: bool, nul: bool): bool {
    const max = this.maxLen[set];
    let keyLen = nul ? len + 1 : len;
    if (keyLen > 255) keyLen = 255;
    let h = fnv(FNV_SEED, set);
    if (this.hasLen(set, 0) && this.probe(h, set, 0, p, len, rev)) return true;
    const lim = keyLen < max ? keyLen : max;
    for (let i = 0; i < lim; i++) {
      let b: u8 = 0;
      if (i < len) b = rev ? load<u8>(p + <usize>(len - 1 - i)) : load<u8>(p + <usize>i);
      h = fnv(h, b);
      if (this.hasLen(set, i + 1) && this.probe(h, set, i + 1, p, len, rev)) return true;
    }
    return false;
  }
}

/** tln_addr4 / tln_addr6: bit-granular LPM over (set, address). Addresses are
 *  held as a 128-bit big-endian number (hi, lo); IPv4 in the top 32 bits. */
export class AddrIndex {
  cap: i32;
  his: StaticArray<u64>;
  los: StaticArray<u64>;
  tags: StaticArray<u32>; // set << 8 | plen, 0xffffffff = empty
  plenBits: StaticArray<u64> = new StaticArray<u64>(256 * 3);
  bytes: i32;

  constructor(n: i32, bytes: i32) {
    const cap = pow2At(n);
    this.bytes = bytes;
    this.cap = cap;
    this.his = new StaticArray<u64>(cap);
    this.los = new StaticArray<u64>(cap);
    this.tags = new StaticArray<u32>(cap);
    for (let i = 0; i < this.cap; i++) this.tags[i] = 0xffffffff;
  }

  @inline static mask(plen: i32, hi: u64, lo: u64, outHi: bool): u64 {
    if (outHi) {
      if (plen >= 64) return hi;
      if (plen <= 0) return 0;
      return hi & ~((<u64>-1) >> <u64>plen);
    }
    if (plen >= 128) return lo;
    if (plen <= 64) return 0;
    return lo & ~((<u64>-1) >> <u64>(plen - 64));
  }

  @inline private hash(tag: u32, hi: u64, lo: u64): u32 {
    return <u32>mix64(hi ^ mix64(lo ^ (<u64>tag * 0x9e3779b97f4a7c15)));
  }

  /** adds the entry whose key is at k (struct tln_addr4_key / tln_addr6_key) */
  add(k: usize): void {
    const plen = <i32>load<u32>(k) - 8;
    const set = load<u8>(k + 4);
    if (plen < 0 || plen > this.bytes * 8) return;
    const hi = readHi(k + 5, this.bytes);
    const lo = readLo(k + 5, this.bytes);
    const mh = AddrIndex.mask(plen, hi, lo, true);
    const ml = AddrIndex.mask(plen, hi, lo, false);
    const tag = (<u32>set << 8) | <u32>plen;
    let slot = <i32>(this.hash(tag, mh, ml) & <u32>(this.cap - 1));
    while (this.tags[slot] != 0xffffffff) slot = (slot + 1) & (this.cap - 1);
    this.tags[slot] = tag;
    this.his[slot] = mh;
    this.los[slot] = ml;
    const bi = <i32>set * 3 + (plen >> 6);
    this.plenBits[bi] = this.plenBits[bi] | ((<u64>1) << <u64>(plen & 63));
  }

  lookup(set: u8, hi: u64, lo: u64): bool {
    const maxp = this.bytes * 8;
    for (let w = 0; w < 3; w++) {
      let bits = this.plenBits[<i32>set * 3 + w];
      while (bits != 0) {
        const b = <i32>ctz(bits);
        bits &= bits - 1;
        const plen = w * 64 + b;
        if (plen > maxp) continue;
        const mh = AddrIndex.mask(plen, hi, lo, true);
        const ml = AddrIndex.mask(plen, hi, lo, false);
        const tag = (<u32>set << 8) | <u32>plen;
        let slot = <i32>(this.hash(tag, mh, ml) & <u32>(this.cap - 1));
        while (true) {
          const t = this.tags[slot];
          if (t == 0xffffffff) break;
          if (t == tag && this.his[slot] == mh && this.los[slot] == ml) return true;
          slot = (slot + 1) & (this.cap - 1);
        }
      }
    }
    return false;
  }
}

/** big-endian bytes -> (hi, lo) */
export function readHi(p: usize, bytes: i32): u64 {
  let v: u64 = 0;
  for (let i = 0; i < 8; i++) v = (v << 8) | (i < bytes ? <u64>load<u8>(p + <usize>i) : 0);
  return v;
}
export function readLo(p: usize, bytes: i32): u64 {
  let v: u64 = 0;
  for (let i = 8; i < 16; i++) v = (v << 8) | (i < bytes ? <u64>load<u8>(p + <usize>i) : 0);
  return v;
}

/** tln_u64set: HASH of (set, u64) */
export class U64Index {
  cap: i32;
  vals: StaticArray<u64>;
  sets: StaticArray<u8>; // 0 = empty (set ids start at 1)

  constructor(n: i32) {
    const cap = pow2At(n);
    this.cap = cap;
    this.vals = new StaticArray<u64>(cap);
    this.sets = new StaticArray<u8>(cap);
  }

  add(k: usize): void {
    const set = load<u8>(k);
    const v = load<u64>(k + 8);
    if (set == 0) return;
    let slot = <i32>(<u32>mix64(v ^ <u64>set) & <u32>(this.cap - 1));
    while (this.sets[slot] != 0) slot = (slot + 1) & (this.cap - 1);
    this.sets[slot] = set;
    this.vals[slot] = v;
  }

  has(set: u8, v: u64): bool {
    let slot = <i32>(<u32>mix64(v ^ <u64>set) & <u32>(this.cap - 1));
    while (true) {
      const s = this.sets[slot];
      if (s == 0) return false;
      if (s == set && this.vals[slot] == v) return true;
      slot = (slot + 1) & (this.cap - 1);
    }
    return false;
  }
}
