// The image: every BPF map of every policy, in the layouts of tln_abi.h.
// Container format documented in docs/map-format.md; writer and reader here.
import * as A from "./abi";
import * as M from "./messages";
import { ByteWriter, ByteReader } from "./bytes";
import { PolicyM, HookM, SelectorM, FilterM, ActionM, TermM } from "./model";

export const HEADER_SIZE: i32 = 16;
export const SECTION_FIXED: i32 = 24;
export const MAP_HEADER_SIZE: i32 = 48;

export const SCOPE_F_POD: u8 = 1;
export const SCOPE_F_CONTAINER: u8 = 2;
export const SCOPE_F_HOST_SEL: u8 = 4;

// ---- writer ---------------------------------------------------------------------

function mapHeader(w: ByteWriter, name: string, type: u32, keySize: i32, valueSize: i32, maxEntries: i32, flags: u32, count: i32): i32 {
  const start = w.len;
  w.u32(0); // size, patched by endMap
  w.u32(type);
  w.u32(<u32>keySize);
  w.u32(<u32>valueSize);
  w.u32(<u32>maxEntries);
  w.u32(flags);
  w.u32(<u32>count);
  w.u32(0); // reserved
  const nb = String.UTF8.encode(name);
  w.buffer(nb);
  w.zeros(16 - nb.byteLength);
  return start;
}

function endMap(w: ByteWriter, start: i32): void {
  w.align(8);
  w.patchU32(start, <u32>(w.len - start));
}

function writeTerms(w: ByteWriter, terms: Array<TermM> | null): void {
  if (terms == null) return;
  for (let i = 0; i < terms.length; i++) {
    const t = terms[i];
    w.u8(t.op);
    w.u8(0);
    w.u16(<u32>t.values.length);
    w.str(t.key);
    for (let j = 0; j < t.values.length; j++) w.str(t.values[j]);
  }
}

function writeFilter(w: ByteWriter, f: FilterM): void {
  w.u8(f.op);
  w.u8(f.slot);
  w.u8(f.type);
  w.u8(<u32>f.vals.length);
  w.u8(f.set);
  w.u8(f.flags);
  w.zeros(2);
  for (let i = 0; i < A.TLN_MAX_VALUES; i++) w.u64(i < f.vals.length ? f.vals[i] : 0);
}

function writeAction(w: ByteWriter, a: ActionM): void {
  w.u8(a.id);
  w.u8(a.rlScope);
  w.u8(a.flags);
  w.zeros(1);
  w.i32(a.arg);
  w.u64(a.rateNs);
}

function writeSelector(w: ByteWriter, s: SelectorM): void {
  const start = w.len;
  w.u8(<u32>s.filters.length);
  w.u8(<u32>s.actions.length);
  w.u8(s.pidOp);
  w.u8(<u32>s.pids.length);
  w.u8(s.pidFlags);
  w.u8(s.binOp);
  w.u8(s.binSet);
  w.u8(s.flags);
  for (let i = 0; i < A.TLN_MAX_PIDS; i++) w.u32(i < s.pids.length ? s.pids[i] : 0);
  for (let i = 0; i < A.TLN_MAX_FILTERS; i++) {
    if (i < s.filters.length) writeFilter(w, s.filters[i]);
    else w.zeros(A.FILTER_SIZE);
  }
  for (let i = 0; i < A.TLN_MAX_ACTIONS; i++) {
    if (i < s.actions.length) writeAction(w, s.actions[i]);
    else w.zeros(A.ACTION_SIZE);
  }
  // v3: the process filters beyond the first matchPIDs entry (the compiler keeps only what fits)
  w.u8(<u32>s.pidx.length);
  w.u8(<u32>s.nsf.length);
  w.u8(<u32>s.capf.length);
  w.zeros(5);
  for (let i = 0; i < A.TLN_MAX_CAP_FILTERS; i++) {
    if (i < s.capf.length) {
      const c = s.capf[i];
      w.u8(c.set);
      w.u8(c.op);
      w.u8(c.nscap);
      w.u8(c.change);
      w.zeros(4);
      w.u64(c.mask);
    } else w.zeros(A.TLN_CAP_FILTER_SIZEOF);
  }
  for (let i = 0; i < A.TLN_MAX_PIDX; i++) {
    if (i < s.pidx.length) {
      const e = s.pidx[i];
      w.u8(e.pidOp);
      w.u8(e.pidFlags);
      w.u8(<u32>e.pids.length);
      w.u8(0);
      for (let k = 0; k < A.TLN_MAX_PIDS; k++) w.u32(k < e.pids.length ? e.pids[k] : 0);
      w.u32(0);
    } else w.zeros(A.TLN_PID_ENTRY_SIZEOF);
  }
  for (let i = 0; i < A.TLN_MAX_NS_FILTERS; i++) {
    if (i < s.nsf.length) {
      const n = s.nsf[i];
      w.u8(n.ns);
      w.u8(n.op);
      w.u8(n.host);
      w.u8(<u32>n.vals.length);
      for (let k = 0; k < A.TLN_MAX_NS_VALUES; k++) w.u32(k < n.vals.length ? n.vals[k] : 0);
      w.u16(n.chmask);
      w.u8(n.change);
      w.u8(0);
    } else w.zeros(A.TLN_NS_FILTER_SIZEOF);
  }
  assert(w.len - start == A.SEL_SIZE);
}

function writeHookValue(w: ByteWriter, h: HookM, firstSel: i32): void {
  const start = w.len;
  w.u16(h.id);
  w.u8(h.kind);
  w.u8(h.flags);
  w.u8(<u32>h.args.length);
  w.u8(<u32>h.selectors.length);
  w.u8(<u32>firstSel);
  w.u8(h.retType);
  for (let i = 0; i < A.TLN_MAX_ARGS; i++) {
    if (i < h.args.length) {
      w.u8(h.args[i].index);
      w.u8(h.args[i].type);
    } else w.zeros(2);
  }
  w.zeros(6);
  assert(w.len - start == A.HOOK_SIZE);
}

const NMAPS: i32 = 9;

function writePolicy(w: ByteWriter, p: PolicyM): void {
  const start = w.len;
  const nsel = p.nselectors;
  w.u32(0); // size
  w.u8(p.kind);
  w.u8(p.mode);
  w.u8(p.scope);
  w.u8(<u32>p.hooks.length);
  w.u8(<u32>NMAPS);
  w.zeros(3);
  const offsAt = w.len;
  w.u32(0); // scope_off
  w.u32(0); // hooks_off
  w.u32(0); // maps_off
  w.str(p.name);
  w.str(p.namespace);
  w.lstr(p.spec); // v3: the policy's spec record, u32 length
  w.align(4);

  // scope block
  w.patchU32(offsAt, <u32>(w.len - start));
  let sf: u8 = 0;
  if (p.podSel != null) sf |= SCOPE_F_POD;
  if (p.contSel != null) sf |= SCOPE_F_CONTAINER;
  if (p.hostSel) sf |= SCOPE_F_HOST_SEL;
  w.u8(sf);
  w.u8(0);
  w.u16(p.podSel == null ? 0 : <u32>p.podSel!.length);
  w.u16(p.contSel == null ? 0 : <u32>p.contSel!.length);
  w.u16(0);
  writeTerms(w, p.podSel);
  writeTerms(w, p.contSel);
  w.align(4);

  // hook descriptors
  w.patchU32(offsAt + 4, <u32>(w.len - start));
  for (let i = 0; i < p.hooks.length; i++) {
    const h = p.hooks[i];
    w.u16(h.id);
    w.u16(h.actionsMask);
    w.u8(h.kind);
    w.u8(h.flags);
    w.u8(<u32>h.selectors.length);
    w.u8(<u32>h.tags.length);
    w.str(h.call);
    w.str(h.message);
    for (let j = 0; j < h.tags.length; j++) w.str(h.tags[j]);
    w.lstr(h.spec); // v3: the hook's spec record, u32 length
    w.align(4);
  }
  w.align(8);

  // maps
  w.patchU32(offsAt + 8, <u32>(w.len - start));

  // tln_policy
  let m = mapHeader(w, A.TLN_MAP_POLICY, A.BPF_MAP_TYPE_ARRAY, 4, A.CONF_SIZE, 1, 0, 1);
  w.u32(0);
  w.u8(p.mode);
  w.u8(p.scope);
  w.u8(<u32>p.hooks.length);
  w.u8(0);
  w.u32(<u32>nsel);
  endMap(w, m);

  // tln_hooks
  m = mapHeader(w, A.TLN_MAP_HOOKS, A.BPF_MAP_TYPE_ARRAY, 4, A.HOOK_SIZE, max(p.hooks.length, 1), 0, p.hooks.length);
  let first = 0;
  for (let i = 0; i < p.hooks.length; i++) {
    w.u32(<u32>i);
    writeHookValue(w, p.hooks[i], first);
    first += p.hooks[i].selectors.length;
  }
  endMap(w, m);

  // tln_sels
  m = mapHeader(w, A.TLN_MAP_SELS, A.BPF_MAP_TYPE_ARRAY, 4, A.SEL_SIZE, max(nsel, 1), 0, nsel);
  let k = 0;
  for (let i = 0; i < p.hooks.length; i++) {
    const h = p.hooks[i];
    for (let j = 0; j < h.selectors.length; j++) {
      w.u32(<u32>k);
      k++;
      writeSelector(w, h.selectors[j]);
    }
  }
  endMap(w, m);

  // tln_str
  const sets = p.sets;
  let ks = 5 + sets.maxStr;
  ks = (ks + 3) & ~3;
  m = mapHeader(w, A.TLN_MAP_STR, A.BPF_MAP_TYPE_LPM_TRIE, ks, 1, max(sets.str.length, 1), A.BPF_F_NO_PREALLOC, sets.str.length);
  for (let i = 0; i < sets.str.length; i++) {
    const e = sets.str[i];
    const n = e.data.byteLength;
    w.u32(<u32>(8 + 8 * n));
    w.u8(e.set);
    w.buffer(e.data);
    w.zeros(ks - 5 - n);
    w.u8(1);
  }
  endMap(w, m);

  // tln_addr4
  m = mapHeader(w, A.TLN_MAP_ADDR4, A.BPF_MAP_TYPE_LPM_TRIE, A.ADDR4_KEY_SIZE, 1, max(sets.a4.length, 1), A.BPF_F_NO_PREALLOC, sets.a4.length);
  for (let i = 0; i < sets.a4.length; i++) {
    const e = sets.a4[i];
    w.u32(<u32>(8 + e.plen));
    w.u8(e.set);
    for (let j = 0; j < 4; j++) w.u8(e.addr[j]);
    w.zeros(3);
    w.u8(1);
  }
  endMap(w, m);

  // tln_addr6
  m = mapHeader(w, A.TLN_MAP_ADDR6, A.BPF_MAP_TYPE_LPM_TRIE, A.ADDR6_KEY_SIZE, 1, max(sets.a6.length, 1), A.BPF_F_NO_PREALLOC, sets.a6.length);
  for (let i = 0; i < sets.a6.length; i++) {
    const e = sets.a6[i];
    w.u32(<u32>(8 + e.plen));
    w.u8(e.set);
    for (let j = 0; j < 16; j++) w.u8(e.addr[j]);
    w.zeros(3);
    w.u8(1);
  }
  endMap(w, m);

  // tln_u64set
  m = mapHeader(w, A.TLN_MAP_U64SET, A.BPF_MAP_TYPE_HASH, A.U64SET_KEY_SIZE, 1, max(sets.u64.length, 1), 0, sets.u64.length);
  for (let i = 0; i < sets.u64.length; i++) {
    const e = sets.u64[i];
    w.u8(e.set);
    w.zeros(7);
    w.u64(e.value);
    w.u8(1);
  }
  endMap(w, m);

  // tln_stats: zero-initialised by the kernel, no entries written
  m = mapHeader(w, A.TLN_MAP_STATS, A.BPF_MAP_TYPE_ARRAY, 4, A.SEL_STATS_SIZE, nsel + 1, 0, 0);
  endMap(w, m);

  // tln_pod_filter: filled at run time by the agent
  m = mapHeader(w, A.TLN_MAP_POD_FILTER, A.BPF_MAP_TYPE_HASH, 8, 1, A.TLN_POD_FILTER_MAX, A.BPF_F_NO_PREALLOC, 0);
  endMap(w, m);

  w.align(8);
  w.patchU32(start, <u32>(w.len - start));
}

export function writeImage(pols: Array<PolicyM>): ArrayBuffer {
  const w = new ByteWriter(4096);
  w.u32(A.TLN_IMAGE_MAGIC_0);
  w.u32(A.TLN_IMAGE_MAGIC_1);
  w.u32(A.TLN_IMAGE_VERSION);
  w.u32(<u32>pols.length);
  for (let i = 0; i < pols.length; i++) writePolicy(w, pols[i]);
  return w.toBuffer();
}

// ---- reader ---------------------------------------------------------------------

export class MapRec {
  name: string = "";
  type: u32 = 0;
  keySize: i32 = 0;
  valueSize: i32 = 0;
  maxEntries: u32 = 0;
  flags: u32 = 0;
  count: i32 = 0;
  /** offset of the first entry from the image start */
  entriesOff: i32 = 0;
  get entrySize(): i32 {
    return this.keySize + this.valueSize;
  }
}

export class HookRec {
  hookId: u16 = 0;
  actions: u16 = 0;
  kind: u8 = 0;
  flags: u8 = 0;
  nsel: i32 = 0;
  call: string = "";
  message: string = "";
  tags: Array<string> = new Array<string>();
  spec: string = "";
}

export class PolicyRec {
  index: i32 = 0;
  offset: i32 = 0;
  name: string = "";
  namespace: string = "";
  spec: string = "";
  kind: u8 = 0;
  mode: u8 = 0;
  scope: u8 = 0;
  podSel: Array<TermM> | null = null;
  contSel: Array<TermM> | null = null;
  hostSel: bool = false;
  hooks: Array<HookRec> = new Array<HookRec>();
  maps: Array<MapRec> = new Array<MapRec>();

  map(name: string): MapRec | null {
    for (let i = 0; i < this.maps.length; i++) if (this.maps[i].name == name) return this.maps[i];
    return null;
  }
}

export class ImageRec {
  ok: bool = false;
  err: string = "";
  policies: Array<PolicyRec> = new Array<PolicyRec>();
}

function readTerms(r: ByteReader, n: i32): Array<TermM> {
  const out = new Array<TermM>();
  for (let i = 0; i < n && !r.bad; i++) {
    const op = <u8>r.u8();
    r.u8();
    const nv = <i32>r.u16();
    const key = r.str();
    const vals = new Array<string>();
    for (let j = 0; j < nv && !r.bad; j++) vals.push(r.str());
    out.push(new TermM(op, key, vals));
  }
  return out;
}

/** Parses and bounds-checks an image in memory at [base, base+len). */
export function readImage(base: usize, len: i32): ImageRec {
  const img = new ImageRec();
  const r = new ByteReader(base, len);
  const m0 = r.u32();
  const m1 = r.u32();
  if (r.bad || m0 != A.TLN_IMAGE_MAGIC_0 || m1 != A.TLN_IMAGE_MAGIC_1) {
    img.err = M.imageBadMagic();
    return img;
  }
  const ver = r.u32();
  if (ver != A.TLN_IMAGE_VERSION) {
    img.err = M.imageBadVersion(ver, A.TLN_IMAGE_VERSION);
    return img;
  }
  const np = <i32>r.u32();
  let off = HEADER_SIZE;
  for (let i = 0; i < np; i++) {
    if (off + SECTION_FIXED > len) {
      img.err = M.imageTruncated();
      return img;
    }
    const size = <i32>load<u32>(base + <usize>off);
    if (size < SECTION_FIXED || off + size > len || (size & 7) != 0) {
      img.err = M.imageTruncated();
      return img;
    }
    const s = new ByteReader(base + <usize>off, size);
    const p = new PolicyRec();
    p.index = i;
    p.offset = off;
    s.u32();
    p.kind = <u8>s.u8();
    p.mode = <u8>s.u8();
    p.scope = <u8>s.u8();
    const nhooks = <i32>s.u8();
    const nmaps = <i32>s.u8();
    s.skip(3);
    const scopeOff = <i32>s.u32();
    const hooksOff = <i32>s.u32();
    const mapsOff = <i32>s.u32();
    p.name = s.str();
    p.namespace = s.str();
    p.spec = s.lstr();

    s.seek(scopeOff);
    const sf = <u8>s.u8();
    s.u8();
    const npod = <i32>s.u16();
    const ncont = <i32>s.u16();
    s.u16();
    const pod = readTerms(s, npod);
    const cont = readTerms(s, ncont);
    if ((sf & SCOPE_F_POD) != 0) p.podSel = pod;
    if ((sf & SCOPE_F_CONTAINER) != 0) p.contSel = cont;
    p.hostSel = (sf & SCOPE_F_HOST_SEL) != 0;

    s.seek(hooksOff);
    for (let h = 0; h < nhooks && !s.bad; h++) {
      const hr = new HookRec();
      hr.hookId = <u16>s.u16();
      hr.actions = <u16>s.u16();
      hr.kind = <u8>s.u8();
      hr.flags = <u8>s.u8();
      hr.nsel = <i32>s.u8();
      const nt = <i32>s.u8();
      hr.call = s.str();
      hr.message = s.str();
      for (let t = 0; t < nt; t++) hr.tags.push(s.str());
      hr.spec = s.lstr();
      s.align(4);
      p.hooks.push(hr);
    }

    s.seek(mapsOff);
    for (let k = 0; k < nmaps && !s.bad; k++) {
      const mstart = s.pos;
      const msize = <i32>s.u32();
      const mr = new MapRec();
      mr.type = s.u32();
      mr.keySize = <i32>s.u32();
      mr.valueSize = <i32>s.u32();
      mr.maxEntries = s.u32();
      mr.flags = s.u32();
      mr.count = <i32>s.u32();
      s.u32();
      if (!s.has(16)) break;
      let nl = 0;
      while (nl < 16 && load<u8>(base + <usize>(off + s.pos + nl)) != 0) nl++;
      mr.name = String.UTF8.decodeUnsafe(base + <usize>(off + s.pos), <usize>nl);
      s.skip(16);
      mr.entriesOff = off + s.pos;
      const need = <i64>mr.count * (<i64>mr.keySize + <i64>mr.valueSize);
      if (
        msize < MAP_HEADER_SIZE || mr.keySize < 0 || mr.valueSize < 0 || mr.count < 0 ||
        <i64>MAP_HEADER_SIZE + need > <i64>msize || <i64>mstart + <i64>msize > <i64>size
      ) {
        s.bad = true;
        break;
      }
      p.maps.push(mr);
      s.seek(mstart + msize);
    }
    if (s.bad) {
      img.err = M.imageTruncated();
      return img;
    }
    img.policies.push(p);
    off += size;
  }
  img.ok = true;
  return img;
}
