// The selector filters beyond the seed's: matchNamespaces, matchNamespaceChanges,
// matchCapabilities, matchCapabilityChanges. They are checked here and carried in
// the hook's spec record (spec.ts); the selector is marked TLN_SEL_F_SPEC_ONLY.
import * as M from "../messages";
import { Node } from "../value";
import { Path } from "../diag";
import { opLookup } from "../operators";
import * as A from "../abi";
import { parseTyped } from "../parse";
import { capabilityValue, namespaceValue } from "../names";
import { Ctx } from "./context";
import { strOf, scalarOf, objOf, listOf } from "./nodes";
import { NsFilterM, CapFilterM } from "../model";

export const MAX_NS_VALUES: i32 = 4;
export const MAX_NS_ENTRIES: i32 = 10;

/** operator of an In/NotIn filter; false (reported) when it is anything else */
function inNotIn(cx: Ctx, f: Node, p: Path, filter: string): bool {
  const opN = f.get("operator");
  const opS = strOf(opN);
  if (opN == null) {
    cx.missing(p, "operator", M.missingField("operator", "In or NotIn"));
    return false;
  }
  if (opS == null) return false;
  const op = opLookup(opS);
  if (op != A.TLN_OP_IN && op != A.TLN_OP_NOT_IN) {
    cx.err(p.k("operator"), M.inNotInOnly(filter, opS));
    return false;
  }
  return true;
}

function values(cx: Ctx, f: Node, p: Path): Array<string> {
  const out = new Array<string>();
  const vl = listOf(f.get("values"));
  if (vl == null) {
    if (f.get("values") == null) cx.missing(p, "values", M.missingField("values", "the values to compare"));
    return out;
  }
  for (let i = 0; i < vl.length; i++) {
    const t = scalarOf(vl.at(i));
    out.push(t == null ? "" : t);
  }
  return out;
}

export function compileNamespaces(cx: Ctx, l: Node, p: Path): void {
  for (let i = 0; i < l.length; i++) {
    const f = objOf(l.at(i));
    if (f == null) continue;
    const fp = p.i(i);
    if (i >= MAX_NS_ENTRIES) {
      cx.err(fp, M.tooManyFilterEntries("matchNamespaces", l.length, MAX_NS_ENTRIES));
      break;
    }
    const nsN = f.get("namespace");
    const ns = strOf(nsN);
    if (nsN == null) cx.missing(fp, "namespace", M.missingField("namespace", "Uts, Ipc, Mnt, Pid, Net, Cgroup, User ..."));
    else if (ns != null && namespaceValue(ns) < 0) cx.err(fp.k("namespace"), M.badNamespaceType(ns));
    inNotIn(cx, f, fp, "matchNamespaces");
    const vs = values(cx, f, fp);
    if (vs.length > MAX_NS_VALUES) cx.err(fp.k("values"), M.tooManyFilterValues("matchNamespaces", vs.length, MAX_NS_VALUES));
    for (let j = 0; j < vs.length; j++) {
      const t = vs[j];
      if (t == "host_ns") continue;
      const v = parseTyped(t, A.TLN_ARG_UINT32, "inode number");
      if (!v.ok) cx.err(fp.k("values").i(j), M.badNamespaceValue(t));
    }
  }
}

export function compileNamespaceChanges(cx: Ctx, l: Node, p: Path): void {
  for (let i = 0; i < l.length; i++) {
    const f = objOf(l.at(i));
    if (f == null) continue;
    const fp = p.i(i);
    if (i >= 1) {
      cx.err(fp, M.tooManyFilterEntries("matchNamespaceChanges", l.length, 1));
      break;
    }
    inNotIn(cx, f, fp, "matchNamespaceChanges");
    const vs = values(cx, f, fp);
    for (let j = 0; j < vs.length; j++) if (namespaceValue(vs[j]) < 0) cx.err(fp.k("values").i(j), M.badNamespaceType(vs[j]));
  }
}

/** matchCapabilities / matchCapabilityChanges */
export function compileCapabilities(cx: Ctx, l: Node, p: Path, filter: string): void {
  for (let i = 0; i < l.length; i++) {
    const f = objOf(l.at(i));
    if (f == null) continue;
    const fp = p.i(i);
    if (filter == "matchCapabilityChanges" && i >= 1) {
      cx.err(fp, M.tooManyFilterEntries(filter, l.length, 1));
      break;
    }
    const ty = strOf(f.get("type"));
    if (ty != null) {
      const lc = ty.toLowerCase();
      if (lc != "effective" && lc != "inheritable" && lc != "permitted") cx.err(fp.k("type"), M.badCapType(ty));
    }
    inNotIn(cx, f, fp, filter);
    const vs = values(cx, f, fp);
    for (let j = 0; j < vs.length; j++) if (capabilityValue(vs[j]) < 0) cx.err(fp.k("values").i(j), M.badCapability(vs[j]));
  }
}

// ---- the same filters as the evaluator reads them (compile/seleval.ts) ----

function opOf(f: Node): i32 {
  const s = strOf(f.get("operator"));
  return s == null ? 0 : opLookup(s);
}

/** matchNamespaces: [[type, op, host_ns listed (0/1), [inums]], ...] */
export function nsEvalJson(l: Node): string {
  const out = new Array<string>();
  for (let i = 0; i < l.length; i++) {
    const f = objOf(l.at(i));
    if (f == null) continue;
    const ns = strOf(f.get("namespace"));
    let host = 0;
    const vals = new Array<string>();
    const vl = listOf(f.get("values"));
    if (vl != null) {
      for (let j = 0; j < vl.length; j++) {
        const t = scalarOf(vl.at(j));
        if (t == null) continue;
        if (t == "host_ns") host = 1;
        else {
          const v = parseTyped(t, A.TLN_ARG_UINT32, "inode number");
          if (v.ok) vals.push(v.v.toString());
        }
      }
    }
    out.push("[" + (ns == null ? -1 : namespaceValue(ns)).toString() + "," + opOf(f).toString() + "," + host.toString() + ",[" + vals.join(",") + "]]");
  }
  return "[" + out.join(",") + "]";
}

/** matchNamespaceChanges: [op, [types]] */
export function nsChangesEvalJson(l: Node): string {
  const f = l.length > 0 ? objOf(l.at(0)) : null;
  if (f == null) return "null";
  const types = new Array<string>();
  const vl = listOf(f.get("values"));
  if (vl != null) {
    for (let j = 0; j < vl.length; j++) {
      const t = scalarOf(vl.at(j));
      if (t != null && namespaceValue(t) >= 0) types.push(namespaceValue(t).toString());
    }
  }
  return "[" + opOf(f).toString() + ",[" + types.join(",") + "]]";
}

/** matchCapabilities / matchCapabilityChanges: [[set (0 permitted, 1 effective, 2 inheritable), op, isNamespaceCapability, "mask"], ...] */
export function capsEvalJson(l: Node): string {
  const out = new Array<string>();
  for (let i = 0; i < l.length; i++) {
    const f = objOf(l.at(i));
    if (f == null) continue;
    const ty = strOf(f.get("type"));
    const lc = ty == null ? "effective" : ty.toLowerCase();
    const set = lc == "permitted" ? 0 : lc == "inheritable" ? 2 : 1;
    let mask: u64 = 0;
    const vl = listOf(f.get("values"));
    if (vl != null) {
      for (let j = 0; j < vl.length; j++) {
        const t = scalarOf(vl.at(j));
        const c = t == null ? -1 : capabilityValue(t);
        if (c >= 0) mask |= (<u64>1) << <u64>c;
      }
    }
    const nsc = f.get("isNamespaceCapability");
    out.push("[" + set.toString() + "," + opOf(f).toString() + "," + (nsc != null && nsc.isTrue ? "1" : "0") + ',"' + mask.toString() + '"]');
  }
  return "[" + out.join(",") + "]";
}

// ---- the same filters as the kernel reads them (struct tln_ns_filter / tln_cap_filter) ----

/** matchNamespaces entries for the selector struct; null when one does not fit it (then only the spec record holds them) */
export function nsKernel(l: Node): Array<NsFilterM> | null {
  const out = new Array<NsFilterM>();
  for (let i = 0; i < l.length; i++) {
    const f = objOf(l.at(i));
    if (f == null) continue;
    const ns = strOf(f.get("namespace"));
    const t = ns == null ? -1 : namespaceValue(ns);
    if (t < 0 || t >= <i32>A.TLN_NS_TYPES || out.length >= A.TLN_MAX_NS_FILTERS) return null;
    const m = new NsFilterM();
    m.ns = <u8>t;
    m.op = <u8>opOf(f);
    const vl = listOf(f.get("values"));
    if (vl != null) {
      for (let j = 0; j < vl.length; j++) {
        const v = scalarOf(vl.at(j));
        if (v == null) continue;
        if (v == "host_ns") m.host = 1;
        else {
          const pv = parseTyped(v, A.TLN_ARG_UINT32, "inode number");
          if (pv.ok) m.vals.push(<u32>pv.v);
        }
      }
    }
    if (m.vals.length > A.TLN_MAX_NS_VALUES) return null;
    out.push(m);
  }
  return out;
}

/** the matchNamespaceChanges entry (one at most) for the selector struct: a tln_ns_filter with change set */
export function nsChangesKernel(l: Node): NsFilterM | null {
  const f = l.length > 0 ? objOf(l.at(0)) : null;
  if (f == null) return null;
  const m = new NsFilterM();
  m.change = 1;
  m.op = <u8>opOf(f);
  const vl = listOf(f.get("values"));
  if (vl != null) {
    for (let j = 0; j < vl.length; j++) {
      const t = scalarOf(vl.at(j));
      const v = t == null ? -1 : namespaceValue(t);
      if (v >= 0 && v < <i32>A.TLN_NS_TYPES) m.chmask = m.chmask | <u16>(<u16>1 << <u16>v);
    }
  }
  return m;
}

/** matchCapabilities entries for the selector struct; null when they do not fit it */
export function capsKernel(l: Node): Array<CapFilterM> | null {
  const out = new Array<CapFilterM>();
  for (let i = 0; i < l.length; i++) {
    const f = objOf(l.at(i));
    if (f == null) continue;
    if (out.length >= A.TLN_MAX_CAP_FILTERS) return null;
    const ty = strOf(f.get("type"));
    const lc = ty == null ? "effective" : ty.toLowerCase();
    const c = new CapFilterM();
    c.set = lc == "permitted" ? 0 : lc == "inheritable" ? 2 : 1;
    c.op = <u8>opOf(f);
    const nsc = f.get("isNamespaceCapability");
    c.nscap = nsc != null && nsc.isTrue ? 1 : 0;
    const vl = listOf(f.get("values"));
    if (vl != null) {
      for (let j = 0; j < vl.length; j++) {
        const t = scalarOf(vl.at(j));
        const v = t == null ? -1 : capabilityValue(t);
        if (v >= 0) c.mask |= (<u64>1) << <u64>v;
      }
    }
    out.push(c);
  }
  return out;
}
