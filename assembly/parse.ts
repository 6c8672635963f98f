// Value syntax: integers (decimal, 0x hex, 0o/leading-0 octal, 0b binary),
// integer ranges "a:b", ports, IPv4/IPv6 addresses and CIDRs.
import * as M from "./messages";
import {
  TLN_ARG_INT, TLN_ARG_UINT32, TLN_ARG_SINT64, TLN_ARG_UINT64, TLN_ARG_SINT8, TLN_ARG_UINT8,
  TLN_ARG_SINT16, TLN_ARG_UINT16, TLN_ARG_CAPABILITY, TLN_ARG_BPF_CMD,
} from "./abi";

/** A parsed integer: sign and magnitude, so u64 and i64 both fit. */
export class IntVal {
  ok: bool = false;
  neg: bool = false;
  mag: u64 = 0;
  err: string = "";
  /** two's complement bits (sign-extended to 64) */
  get bits(): u64 {
    return this.neg ? 0 - this.mag : this.mag;
  }
}

function digit(c: i32, base: i32): i32 {
  let d: i32 = 99;
  if (c >= 48 && c <= 57) d = c - 48;
  else if (c >= 97 && c <= 102) d = c - 87;
  else if (c >= 65 && c <= 70) d = c - 55;
  return d < base ? d : -1;
}

/** Parses integer syntax only (no range check beyond 64-bit magnitude). */
export function parseIntText(text: string): IntVal {
  const r = new IntVal();
  let i = 0;
  const n = text.length;
  if (n == 0) {
    r.err = M.notAnInteger(text);
    return r;
  }
  let c = text.charCodeAt(0);
  if (c == 45 /* - */ || c == 43 /* + */) {
    r.neg = c == 45;
    i = 1;
  }
  let base = 10;
  if (i + 1 < n && text.charCodeAt(i) == 48) {
    const x = text.charCodeAt(i + 1) | 0x20;
    if (x == 120 /* x */) {
      base = 16;
      i += 2;
    } else if (x == 111 /* o */) {
      base = 8;
      i += 2;
    } else if (x == 98 /* b */) {
      base = 2;
      i += 2;
    } else {
      base = 8;
      i += 1;
    }
  }
  if (i >= n) {
    r.err = M.notAnInteger(text);
    return r;
  }
  let mag: u64 = 0;
  for (; i < n; i++) {
    c = text.charCodeAt(i);
    if (c == 95 /* _ */ && i > 0 && i + 1 < n) continue;
    const d = digit(c, base);
    if (d < 0) {
      r.err = base == 8 && c >= 56 && c <= 57 ? M.badOctal(text) : M.notAnInteger(text);
      return r;
    }
    const next = mag * <u64>base + <u64>d;
    if ((next - <u64>d) / <u64>base != mag) {
      r.err = M.intTooLarge(text);
      return r;
    }
    mag = next;
  }
  if (r.neg && mag == 0) r.neg = false;
  r.mag = mag;
  r.ok = true;
  return r;
}

export function typeBits(t: u8): i32 {
  if (t == TLN_ARG_SINT8 || t == TLN_ARG_UINT8) return 8;
  if (t == TLN_ARG_SINT16 || t == TLN_ARG_UINT16) return 16;
  if (t == TLN_ARG_INT || t == TLN_ARG_UINT32 || t == TLN_ARG_CAPABILITY || t == TLN_ARG_BPF_CMD) return 32;
  return 64;
}

export function typeSigned(t: u8): bool {
  return t == TLN_ARG_INT || t == TLN_ARG_SINT64 || t == TLN_ARG_SINT8 || t == TLN_ARG_SINT16 || t == TLN_ARG_CAPABILITY || t == TLN_ARG_BPF_CMD;
}

/** integer-valued types: the seed's (1..8) and syscall64, capability masks, capability, bpf_cmd (9..15) */
export function isIntType(t: u8): bool {
  return t >= TLN_ARG_INT && t <= TLN_ARG_BPF_CMD;
}

/** Checks v against the range of arg type t; returns "" or the message. */
export function checkRange(text: string, v: IntVal, t: u8, typeName: string): string {
  const bits = typeBits(t);
  if (typeSigned(t)) {
    const lim: u64 = (<u64>1) << <u64>(bits - 1); // |min|
    if (v.neg ? v.mag > lim : v.mag > lim - 1) return M.intOutOfRange(text, typeName, signedMin(bits), signedMax(bits));
  } else {
    if (v.neg) return M.intNegativeUnsigned(text, typeName);
    if (bits < 64 && v.mag > ((<u64>1) << <u64>bits) - 1) return M.intOutOfRange(text, typeName, "0", unsignedMax(bits));
  }
  return "";
}

function signedMin(bits: i32): string {
  if (bits == 64) return "-9223372036854775808";
  return (-((<i64>1) << <i64>(bits - 1))).toString();
}
function signedMax(bits: i32): string {
  if (bits == 64) return "9223372036854775807";
  return (((<i64>1) << <i64>(bits - 1)) - 1).toString();
}
function unsignedMax(bits: i32): string {
  if (bits == 64) return "18446744073709551615";
  return (((<u64>1) << <u64>bits) - 1).toString();
}

/** Signed comparison value of a parsed int for type t (bits as the kernel
 *  compares them: sign-extended for signed types, zero-extended otherwise). */
export function normalize(bits: u64, t: u8): u64 {
  const w = typeBits(t);
  if (w == 64) return bits;
  const sh = <u64>(64 - w);
  if (typeSigned(t)) return <u64>((<i64>(bits << sh)) >> <i64>sh);
  return (bits << sh) >> sh;
}

/** Parses an integer and checks it fits type t. */
export class TypedInt {
  ok: bool = false;
  v: u64 = 0;
  err: string = "";
}
export function parseTyped(text: string, t: u8, typeName: string): TypedInt {
  const r = new TypedInt();
  const p = parseIntText(text);
  if (!p.ok) {
    r.err = p.err;
    return r;
  }
  const e = checkRange(text, p, t, typeName);
  if (e.length > 0) {
    r.err = e;
    return r;
  }
  r.v = p.bits;
  r.ok = true;
  return r;
}

/** "lo:hi" split; returns -1 when there is no ':' */
export function rangeColon(text: string): i32 {
  // a leading '-' may be a sign: search from index 1
  return text.indexOf(":", 1);
}

/** Compare two normalized values in the type's signedness. */
export function lessEq(a: u64, b: u64, t: u8): bool {
  return typeSigned(t) ? <i64>a <= <i64>b : a <= b;
}

// ---- addresses --------------------------------------------------------------

export class Cidr {
  ok: bool = false;
  family: i32 = 0; // 4 or 6
  addr: StaticArray<u8> = new StaticArray<u8>(16);
  plen: i32 = 0;
  hostBits: bool = false; // bits beyond the prefix were set (and are cleared)
  err: string = "";
}

/** Parses dotted-quad IPv4 into out[off..off+4]; strict (no leading zeros). */
export function parseIPv4(s: string, out: StaticArray<u8>, off: i32): bool {
  let part = 0;
  let val = 0;
  let digits = 0;
  let lead0 = false;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c == 46) {
      if (digits == 0 || part > 3) return false;
      if (lead0 && digits > 1) return false;
      out[off + part] = <u8>val;
      part++;
      val = 0;
      digits = 0;
      lead0 = false;
      continue;
    }
    if (c < 48 || c > 57) return false;
    if (digits == 0 && c == 48) lead0 = true;
    val = val * 10 + (c - 48);
    digits++;
    if (val > 255 || digits > 3) return false;
  }
  return part == 4;
}

function hexVal(c: i32): i32 {
  return digit(c, 16);
}

/** Parses IPv6 text (with "::" and an optional trailing dotted IPv4). */
export function parseIPv6(s: string, out: StaticArray<u8>): bool {
  const n = s.length;
  if (n < 2) return false;
  const groups = new StaticArray<i32>(8);
  let ng = 0;
  let gap = -1;
  let i = 0;
  if (s.charCodeAt(0) == 58) {
    if (s.charCodeAt(1) != 58) return false;
    gap = 0;
    i = 2;
    if (i == n) {
      for (let k = 0; k < 16; k++) out[k] = 0;
      return true;
    }
  }
  while (i < n) {
    if (ng >= 8) return false;
    // a dotted IPv4 tail?
    let j = i;
    let sawDot = false;
    while (j < n && s.charCodeAt(j) != 58) {
      if (s.charCodeAt(j) == 46) sawDot = true;
      j++;
    }
    if (sawDot) {
      if (j != n || ng > 6) return false;
      const v4 = new StaticArray<u8>(4);
      if (!parseIPv4(s.substring(i, j), v4, 0)) return false;
      groups[ng++] = (<i32>v4[0] << 8) | <i32>v4[1];
      groups[ng++] = (<i32>v4[2] << 8) | <i32>v4[3];
      i = j;
      break;
    }
    if (j == i || j - i > 4) return false;
    let g = 0;
    for (let k = i; k < j; k++) {
      const d = hexVal(s.charCodeAt(k));
      if (d < 0) return false;
      g = (g << 4) | d;
    }
    groups[ng++] = g;
    i = j;
    if (i < n) {
      // at ':'
      i++;
      if (i < n && s.charCodeAt(i) == 58) {
        if (gap >= 0) return false;
        gap = ng;
        i++;
      } else if (i == n) {
        return false; // trailing single ':'
      }
    }
  }
  if (gap < 0) {
    if (ng != 8) return false;
  } else {
    if (ng >= 8) return false;
  }
  const full = new StaticArray<i32>(8);
  if (gap < 0) {
    for (let k = 0; k < 8; k++) full[k] = groups[k];
  } else {
    const tail = ng - gap;
    for (let k = 0; k < gap; k++) full[k] = groups[k];
    for (let k = 0; k < tail; k++) full[8 - tail + k] = groups[gap + k];
  }
  for (let k = 0; k < 8; k++) {
    out[2 * k] = <u8>(full[k] >> 8);
    out[2 * k + 1] = <u8>(full[k] & 0xff);
  }
  return true;
}

export function parseCidr(text: string): Cidr {
  const r = new Cidr();
  let addr = text;
  let plen = -1;
  const slash = text.indexOf("/");
  if (text.indexOf("%") >= 0) {
    r.err = M.addrZone(text);
    return r;
  }
  if (slash >= 0) {
    addr = text.substring(0, slash);
    const ps = text.substring(slash + 1);
    if (ps.length == 0 || ps.length > 3) {
      r.err = M.badPrefixLen(text, ps);
      return r;
    }
    plen = 0;
    for (let i = 0; i < ps.length; i++) {
      const c = ps.charCodeAt(i);
      if (c < 48 || c > 57) {
        r.err = M.badPrefixLen(text, ps);
        return r;
      }
      plen = plen * 10 + (c - 48);
    }
  }
  if (addr.indexOf(":") >= 0) {
    if (!parseIPv6(addr, r.addr)) {
      r.err = M.badAddress(text);
      return r;
    }
    r.family = 6;
    if (plen < 0) plen = 128;
    if (plen > 128) {
      r.err = M.prefixOutOfRange(text, plen, 128);
      return r;
    }
  } else {
    if (!parseIPv4(addr, r.addr, 0)) {
      r.err = M.badAddress(text);
      return r;
    }
    r.family = 4;
    if (plen < 0) plen = 32;
    if (plen > 32) {
      r.err = M.prefixOutOfRange(text, plen, 32);
      return r;
    }
  }
  r.plen = plen;
  // clear host bits
  const nbytes = r.family == 4 ? 4 : 16;
  for (let b = 0; b < nbytes; b++) {
    const keep = plen - b * 8; // bits of this byte inside the prefix
    let mask: i32 = 0xff;
    if (keep <= 0) mask = 0;
    else if (keep < 8) mask = (0xff << (8 - keep)) & 0xff;
    const v = <i32>r.addr[b];
    if ((v & ~mask & 0xff) != 0) r.hostBits = true;
    r.addr[b] = <u8>(v & mask);
  }
  r.ok = true;
  return r;
}

/** Parses an address (no prefix) for the event encoder; family 0 if invalid. */
export function parseAddr(text: string, out: StaticArray<u8>): i32 {
  if (text.indexOf(":") >= 0) return parseIPv6(text, out) ? 6 : 0;
  return parseIPv4(text, out, 0) ? 4 : 0;
}
