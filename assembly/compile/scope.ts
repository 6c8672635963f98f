// spec.podSelector, containerSelector and hostSelector: label selector terms
// and the policy's scope flags.
import * as A from "../abi";
import * as M from "../messages";
import { Node } from "../value";
import { Path } from "../diag";
import { KIND_NAMESPACED, TermM, TERM_IN, TERM_NOT_IN, TERM_EXISTS, TERM_DOES_NOT_EXIST } from "../model";
import { Ctx } from "./context";
import { strOf, scalarOf, isPresent, objOf, listOf } from "./nodes";

export function compileScope(cx: Ctx, spec: Node, sp: Path): void {
  const pol = cx.pol;
  const ps = spec.get("podSelector");
  if (isPresent(ps) && ps!.isObject) pol.podSel = labelSelector(cx, ps!, sp.k("podSelector"), false);
  const cs = spec.get("containerSelector");
  if (isPresent(cs) && cs!.isObject) pol.contSel = labelSelector(cx, cs!, sp.k("containerSelector"), true);
  const hs = spec.get("hostSelector");
  if (isPresent(hs) && hs!.isObject) {
    const hp = sp.k("hostSelector");
    if (pol.kind == KIND_NAMESPACED) cx.err(hp, M.hostSelectorNamespaced());
    else {
      const t = labelSelector(cx, hs!, hp, false);
      if (t.length > 0) cx.err(hp, M.hostSelectorNotEmpty());
      pol.hostSel = true;
    }
  }
  if (pol.kind == KIND_NAMESPACED) {
    pol.scope = A.TLN_SCOPE_F_FILTERED;
    return;
  }
  const podAll = pol.podSel != null && pol.podSel!.length == 0;
  const contAll = pol.contSel != null && pol.contSel!.length == 0;
  if (pol.podSel == null && pol.contSel == null && !pol.hostSel) pol.scope = 0;
  else if (podAll && contAll && pol.hostSel) pol.scope = 0; // everything, said explicitly
  else pol.scope = A.TLN_SCOPE_F_FILTERED | (pol.hostSel ? A.TLN_SCOPE_F_HOST : 0);
}

export function labelSelector(cx: Ctx, sel: Node, p: Path, container: bool): Array<TermM> {
  const terms = new Array<TermM>();
  const ml = objOf(sel.get("matchLabels"));
  if (ml != null) {
    const mlp = p.k("matchLabels");
    for (let i = 0; i < ml.length; i++) {
      const key = ml.keyAt(i);
      const v = scalarOf(ml.at(i));
      if (v == null) continue;
      if (!checkLabelKey(cx, key, mlp.k(key), container)) continue;
      const vals = new Array<string>();
      vals.push(v);
      terms.push(new TermM(TERM_IN, key, vals));
    }
  }
  const me = listOf(sel.get("matchExpressions"));
  if (me != null) {
    const mep = p.k("matchExpressions");
    for (let i = 0; i < me.length; i++) {
      const e = objOf(me.at(i));
      if (e == null) continue;
      const ep = mep.i(i);
      const key = strOf(e.get("key"));
      const opn = strOf(e.get("operator"));
      if (key == null || opn == null) {
        if (e.get("key") == null) cx.missing(ep, "key", M.missingField("key", "a label key"));
        if (e.get("operator") == null) cx.missing(ep, "operator", M.missingField("operator", "In, NotIn, Exists or DoesNotExist"));
        continue;
      }
      if (!checkLabelKey(cx, key, ep.k("key"), container)) continue;
      let op: u8 = 0;
      if (opn == "In") op = TERM_IN;
      else if (opn == "NotIn") op = TERM_NOT_IN;
      else if (opn == "Exists") op = TERM_EXISTS;
      else if (opn == "DoesNotExist") op = TERM_DOES_NOT_EXIST;
      else {
        cx.err(ep.k("operator"), M.badLabelOperator(opn));
        continue;
      }
      const vals = new Array<string>();
      const vl = listOf(e.get("values"));
      if (vl != null) {
        for (let j = 0; j < vl.length; j++) {
          const v = scalarOf(vl.at(j));
          if (v != null) vals.push(v);
        }
      }
      if ((op == TERM_IN || op == TERM_NOT_IN) && vals.length == 0) {
        if (vl != null) cx.err(ep.k("values"), M.labelOpNeedsValues(opn));
        else cx.missing(ep, "values", M.labelOpNeedsValues(opn));
        continue;
      }
      if ((op == TERM_EXISTS || op == TERM_DOES_NOT_EXIST) && vals.length > 0) {
        cx.err(ep.k("values"), M.labelOpTakesNoValues(opn));
        continue;
      }
      terms.push(new TermM(op, key, vals));
    }
  }
  return terms;
}

export function checkLabelKey(cx: Ctx, key: string, p: Path, container: bool): bool {
  if (container) {
    if (key != "name" && key != "repo") {
      cx.err(p, M.badContainerKey(key));
      return false;
    }
    return true;
  }
  if (key.length == 0) {
    cx.err(p, M.emptyLabelKey());
    return false;
  }
  return true;
}
