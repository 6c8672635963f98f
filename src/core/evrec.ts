// Reads the argument slots of an evaluator event record (docs/map-format.md
// §4.1, struct tln_evrec / tln_evrec_slot in bpf/include/tln_evrec.h) that the
// core wrote from a kernel hook record: the host's copy of the values the core
// decoded, for the Tetragon JSON. Offsets from the generated mirror only.
import * as G from '../abi/generated.js';
import type { EvalArg } from './types.js';

const R = G.tln_evrec;
const S = G.tln_evrec_slot;
const STR_LEN = S.str + G.tln_evrec_str.len;
/** argument types whose slot holds a struct's bytes (records.ts decodes them), not text: what the
 * generic programs write into data[] with TLN_ARG_F_DATA */
export const STRUCT_TYPES: ReadonlySet<number> = new Set([
  G.TLN_ARG_CRED,
  G.TLN_ARG_USER_NAMESPACE,
  G.TLN_ARG_BPF_ATTR,
  G.TLN_ARG_BPF_PROG,
  G.TLN_ARG_BPF_MAP,
  G.TLN_ARG_PERF_EVENT,
]);
const SIGNED: ReadonlySet<number> = new Set([G.TLN_ARG_INT, G.TLN_ARG_SINT8, G.TLN_ARG_SINT16, G.TLN_ARG_SINT64]);
const NONE: EvalArg = Object.freeze({ kind: 'none' }) as EvalArg;
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** IPv4 dotted quad for AF_INET, else IPv6 text (longest zero run as "::") of 16 bytes */
export function ipString(family: number, a: Uint8Array): string {
  if (family === 2) return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((a[i] << 8) | a[i + 1]).toString(16));
  let best = -1,
    bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return g.join(':');
  return `${g.slice(0, best).join(':')}::${g.slice(best + bestLen).join(':')}`;
}

/** the value in the evaluator record slot at `s` */
function slotValue(m: Uint8Array, dv: DataView, p: number, s: number): EvalArg {
  switch (m[s + S.kind]) {
    case G.TLN_EVREC_ARG_INT: {
      const v = dv.getBigUint64(s + S.value, true);
      return { kind: 'int', value: SIGNED.has(m[s + S.type]) ? BigInt.asIntN(64, v) : v };
    }
    case G.TLN_EVREC_ARG_STR: {
      const off = p + dv.getUint32(s + S.str + G.tln_evrec_str.off, true);
      const b = m.subarray(off, off + dv.getUint32(s + STR_LEN, true));
      // char_buf: binary bytes (a copy: the core's memory is reused), as Tetragon's bytes_arg
      // a cred, user namespace or BPF object: its struct (decodeCredArg, decodeUserNs, ...), not evaluated
      if (STRUCT_TYPES.has(m[s + S.type])) return { kind: 'str', value: '', bytes: b.slice() };
      if (m[s + S.type] === G.TLN_ARG_CHAR_BUF)
        return { kind: 'str', value: utf8.decode(b), bytes: b.slice(), origSize: dv.getBigUint64(s + S.orig_size, true) };
      return { kind: 'str', value: utf8.decode(b) };
    }
    case G.TLN_EVREC_ARG_SOCK: {
      const family = dv.getUint16(s + S.family, true);
      return {
        kind: 'sock',
        family,
        protocol: dv.getUint16(s + S.protocol16, true) || m[s + S.protocol],
        sport: dv.getUint16(s + S.sport, true),
        dport: dv.getUint16(s + S.dport, true),
        state: m[s + S.state],
        saddr: ipString(family, m.subarray(s + S.saddr, s + S.saddr + 16)),
        daddr: ipString(family, m.subarray(s + S.daddr, s + S.daddr + 16)),
        ...(m[s + S.sock_type] ? { sockType: m[s + S.sock_type] } : {}),
      };
    }
    default:
      return NONE;
  }
}

/** The argument values (not the return slot) of the record at `p` in `m`. */
export function evrecArgs(m: Uint8Array, p: number): EvalArg[] {
  const dv = new DataView(m.buffer, m.byteOffset);
  const nargs = m[p + R.nargs];
  const out = new Array<EvalArg>(nargs);
  for (let i = 0; i < nargs; i++) out[i] = slotValue(m, dv, p, p + R.sizeof + i * S.sizeof);
  return out;
}

/** The return value slot (after the arguments) of the record at `p` in `m`: kind none when the record has none. */
export function evrecReturn(m: Uint8Array, p: number): EvalArg {
  const dv = new DataView(m.buffer, m.byteOffset);
  return slotValue(m, dv, p, p + R.sizeof + m[p + R.nargs] * S.sizeof);
}

const utf8e = new TextEncoder();
const podBlocks = new WeakMap<object, Uint8Array>();

/** The pod block of the evaluator record (docs/map-format.md §4.1), cached per PodInfo object (PodInfo objects are not changed once made). */
export function podBlock(pod: { namespace: string; name: string; labels: Record<string, string>; container?: { name: string; repo: string } }): Uint8Array {
  const cached = podBlocks.get(pod);
  if (cached !== undefined) return cached;
  const parts: Uint8Array[] = [];
  const u16 = (v: number) => parts.push(new Uint8Array([v & 0xff, (v >> 8) & 0xff]));
  const str = (s: string) => {
    const b = utf8e.encode(s);
    u16(b.length);
    parts.push(b);
  };
  str(pod.namespace);
  str(pod.name);
  const labels = pod.labels;
  const keys = labels !== null && typeof labels === 'object' ? Object.keys(labels) : [];
  u16(keys.length);
  for (const k of keys) {
    str(k);
    const v = labels[k];
    str(typeof v === 'string' ? v : '');
  }
  const c = pod.container;
  if (c !== undefined && c !== null && typeof c === 'object') {
    parts.push(new Uint8Array([1]));
    str(c.name);
    str(c.repo);
  } else parts.push(new Uint8Array([0]));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  podBlocks.set(pod, out);
  return out;
}

/** Parses dotted-quad IPv4 (no leading zeros) into out[0..4]. */
export function parseIPv4(s: string, out: Uint8Array, off: number): boolean {
  let part = 0;
  let val = 0;
  let digits = 0;
  let lead0 = false;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || part > 3) return false;
      if (lead0 && digits > 1) return false;
      out[off + part] = val;
      part++;
      val = 0;
      digits = 0;
      lead0 = false;
      continue;
    }
    if (c < 48 || c > 57) return false;
    if (digits === 0 && c === 48) lead0 = true;
    val = val * 10 + (c - 48);
    digits++;
    if (val > 255 || digits > 3) return false;
  }
  return part === 4;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parses IPv6 text (with "::" and an optional dotted IPv4 tail) into out[0..16]. */
export function parseIPv6(s: string, out: Uint8Array): boolean {
  const n = s.length;
  if (n < 2) return false;
  const groups: number[] = [];
  let gap = -1;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (i === n) {
      out.fill(0, 0, 16);
      return true;
    }
  }
  while (i < n) {
    if (groups.length >= 8) return false;
    let j = i;
    let sawDot = false;
    while (j < n && s.charCodeAt(j) !== 58) {
      if (s.charCodeAt(j) === 46) sawDot = true;
      j++;
    }
    if (sawDot) {
      const v4 = new Uint8Array(4);
      if (j !== n || groups.length > 6 || !parseIPv4(s.slice(i, j), v4, 0)) return false;
      groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      i = j;
      break;
    }
    if (j === i || j - i > 4) return false;
    let g = 0;
    for (let k = i; k < j; k++) {
      const d = hexVal(s.charCodeAt(k));
      if (d < 0) return false;
      g = (g << 4) | d;
    }
    groups.push(g);
    i = j;
    if (i < n) {
      i++;
      if (i < n && s.charCodeAt(i) === 58) {
        if (gap >= 0) return false;
        gap = groups.length;
        i++;
      } else if (i === n) {
        return false;
      }
    }
  }
  if (gap < 0 ? groups.length !== 8 : groups.length >= 8) return false;
  const full = new Array<number>(8).fill(0);
  if (gap < 0) for (let k = 0; k < 8; k++) full[k] = groups[k];
  else {
    const tail = groups.length - gap;
    for (let k = 0; k < gap; k++) full[k] = groups[k];
    for (let k = 0; k < tail; k++) full[8 - tail + k] = groups[gap + k];
  }
  for (let k = 0; k < 8; k++) {
    out[2 * k] = full[k] >> 8;
    out[2 * k + 1] = full[k] & 0xff;
  }
  return true;
}
