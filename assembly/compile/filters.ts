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
