// The selectors the evaluator decides from the hook's spec record ("eval",
// written by compile/seleval.ts): every selector with TLN_SEL_F_SPEC_ONLY.
// Read once when the Evaluator is made.
import { Node } from "./value";
import { readJson } from "./jsonread";
import { CelN, CelParse } from "./cel";
import * as A from "./abi";

export class SpecPid {
  op: u8 = 0;
  flags: u8 = 0;
  vals: Array<u32> = new Array<u32>();
}
export class SpecBin {
  op: u8 = 0;
  set: u8 = 0;
  children: bool = false;
}
export class SpecNs {
  t: i32 = 0;
  op: u8 = 0;
  host: bool = false;
  vals: Array<u32> = new Array<u32>();
}
export class SpecCap {
  set: i32 = 1;
  op: u8 = 0;
  nsCap: bool = false;
  mask: u64 = 0;
}
export class SpecFilter {
  slot: u8 = 0;
  op: u8 = 0;
  type: u8 = 0;
  flags: u8 = 0;
  set: u8 = 0;
  vals: StaticArray<u64> = new StaticArray<u64>(0);
  strs: Array<string> = new Array<string>();
  slot2: u8 = 0;
  /** values from a list:NAME the image does not carry */
  listOnly: bool = false;
  cel: CelN | null = null;
}
export class SpecAct {
  id: u8 = 0;
  arg: i32 = 0;
  sig: i32 = 0;
  rateNs: u64 = 0;
  rlScope: u8 = 0;
}
export class SpecSel {
  pids: Array<SpecPid> = new Array<SpecPid>();
  bin: SpecBin | null = null;
  pbin: SpecBin | null = null;
  ns: Array<SpecNs> = new Array<SpecNs>();
  nschOp: u8 = 0;
  nschTypes: Array<i32> = new Array<i32>();
  caps: Array<SpecCap> = new Array<SpecCap>();
  capch: Array<SpecCap> = new Array<SpecCap>();
  workloads: bool = false;
  filters: Array<SpecFilter> = new Array<SpecFilter>();
  ndata: i32 = 0;
  acts: Array<SpecAct> = new Array<SpecAct>();
  racts: Array<SpecAct> = new Array<SpecAct>();
}

function num(n: Node | null): i64 {
  if (n == null) return 0;
  return I64.parseInt(n.text, 10);
}
function unum(n: Node | null): u64 {
  if (n == null) return 0;
  return U64.parseInt(n.text, 10);
}
function arr(n: Node | null): Node | null {
  return n != null && n.isArray ? n : null;
}

function bin(n: Node | null): SpecBin | null {
  const a = arr(n);
  if (a == null || a.length < 3) return null;
  const b = new SpecBin();
  b.op = <u8>num(a.at(0));
  b.set = <u8>num(a.at(1));
  b.children = num(a.at(2)) != 0;
  return b;
}

function caps(n: Node | null): Array<SpecCap> {
  const out = new Array<SpecCap>();
  const a = arr(n);
  if (a == null) return out;
  for (let i = 0; i < a.length; i++) {
    const e = a.at(i);
    if (!e.isArray || e.length < 4) continue;
    const c = new SpecCap();
    c.set = <i32>num(e.at(0));
    c.op = <u8>num(e.at(1));
    c.nsCap = num(e.at(2)) != 0;
    c.mask = unum(e.at(3));
    out.push(c);
  }
  return out;
}

function acts(n: Node | null): Array<SpecAct> {
  const out = new Array<SpecAct>();
  const a = arr(n);
  if (a == null) return out;
  for (let i = 0; i < a.length; i++) {
    const e = a.at(i);
    if (!e.isArray || e.length < 5) continue;
    const x = new SpecAct();
    x.id = <u8>num(e.at(0));
    x.arg = <i32>num(e.at(1));
    x.sig = <i32>num(e.at(2));
    x.rateNs = unum(e.at(3));
    x.rlScope = <u8>num(e.at(4));
    out.push(x);
  }
  return out;
}

function selOf(o: Node): SpecSel {
  const s = new SpecSel();
  const pids = arr(o.get("pids"));
  if (pids != null) {
    for (let i = 0; i < pids.length; i++) {
      const e = pids.at(i);
      if (!e.isArray || e.length < 3) continue;
      const p = new SpecPid();
      p.op = <u8>num(e.at(0));
      p.flags = <u8>num(e.at(1));
      const v = arr(e.at(2));
      if (v != null) for (let j = 0; j < v.length; j++) p.vals.push(<u32>num(v.at(j)));
      s.pids.push(p);
    }
  }
  s.bin = bin(o.get("bin"));
  s.pbin = bin(o.get("pbin"));
  const ns = arr(o.get("ns"));
  if (ns != null) {
    for (let i = 0; i < ns.length; i++) {
      const e = ns.at(i);
      if (!e.isArray || e.length < 4) continue;
      const x = new SpecNs();
      x.t = <i32>num(e.at(0));
      x.op = <u8>num(e.at(1));
      x.host = num(e.at(2)) != 0;
      const v = arr(e.at(3));
      if (v != null) for (let j = 0; j < v.length; j++) x.vals.push(<u32>num(v.at(j)));
      s.ns.push(x);
    }
  }
  const nsch = arr(o.get("nsch"));
  if (nsch != null && nsch.length >= 2) {
    s.nschOp = <u8>num(nsch.at(0));
    const v = arr(nsch.at(1));
    if (v != null) for (let j = 0; j < v.length; j++) s.nschTypes.push(<i32>num(v.at(j)));
  }
  s.caps = caps(o.get("caps"));
  s.capch = caps(o.get("capch"));
  const wl = o.get("wl");
  s.workloads = wl != null && wl.isTrue;
  const fl = arr(o.get("f"));
  if (fl != null) {
    for (let i = 0; i < fl.length; i++) {
      const e = fl.at(i);
      if (!e.isArray || e.length < 9) continue;
      const f = new SpecFilter();
      f.slot = <u8>num(e.at(0));
      f.op = <u8>num(e.at(1));
      f.type = <u8>num(e.at(2));
      f.flags = <u8>num(e.at(3));
      f.set = <u8>num(e.at(4));
      const v = arr(e.at(5));
      if (v != null) {
        const vals = new StaticArray<u64>(v.length);
        for (let j = 0; j < v.length; j++) vals[j] = unum(v.at(j));
        f.vals = vals;
      }
      const ss = arr(e.at(6));
      if (ss != null) for (let j = 0; j < ss.length; j++) f.strs.push(ss.at(j).text);
      f.slot2 = <u8>num(e.at(7));
      f.listOnly = num(e.at(8)) != 0;
      if (f.op == A.TLN_OP_CEL_EXPR && f.strs.length == 1) {
        const cp = new CelParse(f.strs[0]);
        const n = cp.parse();
        if (cp.err.length == 0) f.cel = n;
      }
      s.filters.push(f);
    }
  }
  s.ndata = <i32>num(o.get("data"));
  s.acts = acts(o.get("a"));
  s.racts = acts(o.get("ra"));
  return s;
}

/** the spec-evaluated selectors of a hook, by selector index (null: none, or the struct decides) */
export function specSelectors(spec: string): Array<SpecSel | null> {
  const out = new Array<SpecSel | null>();
  if (spec.indexOf('"eval":') < 0) return out;
  const root = readJson(spec);
  if (root == null) return out;
  const ev = root.get("eval");
  if (ev == null || !ev.isArray) return out;
  for (let i = 0; i < ev.length; i++) {
    const o = ev.at(i);
    out.push(o.isObject ? selOf(o) : null);
  }
  return out;
}
