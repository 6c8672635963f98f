// One selector: matchArgs / matchReturnArgs (which argument, which operator),
// matchBinaries, matchPIDs, and the matchActions list. Filter values are
// parsed in values.ts, each action in actions.ts.
import * as A from "../abi";
import * as M from "../messages";
import { Node, V_INT } from "../value";
import { Path } from "../diag";
import { argTypeName, category } from "../argtypes";
import {
  opLookup, opName, opsFor, opIn, opList, allOpNames, isNegated, OP_UNKNOWN, OP_UNSUPPORTED, BIN_OPS,
} from "../operators";
import { parseTyped } from "../parse";
import { SelectorM, FilterM } from "../model";
import { Ctx } from "./context";
import { strOf, scalarOf, objOf, listOf, boolTrue, smallInt } from "./nodes";
import { compileValues, strSetOf } from "./values";
import { compileAction, actionName } from "./actions";

export function compileSelector(cx: Ctx, s: Node, p: Path, canReturn: bool): SelectorM {
  const sel = new SelectorM();
  const hook = cx.hook;

  const ma = listOf(s.get("matchArgs"));
  if (ma != null) {
    const mp = p.k("matchArgs");
    for (let i = 0; i < ma.length; i++) {
      const f = objOf(ma.at(i));
      if (f == null) continue;
      if (i >= A.TLN_MAX_ARG_FILTERS) {
        cx.err(mp.i(i), M.tooManyArgFilters(ma.length, A.TLN_MAX_ARG_FILTERS));
        break;
      }
      const fm = compileArgFilter(cx, f, mp.i(i), false);
      if (fm != null) sel.filters.push(fm);
    }
  }
  const mr = listOf(s.get("matchReturnArgs"));
  if (mr != null && mr.length > 0) {
    const mp = p.k("matchReturnArgs");
    if (!canReturn) cx.err(mp, M.returnArgsNeedReturn());
    else {
      for (let i = 0; i < mr.length; i++) {
        const f = objOf(mr.at(i));
        if (f == null) continue;
        if (sel.filters.length >= A.TLN_MAX_FILTERS) {
          cx.err(mp.i(i), M.tooManyFilters(A.TLN_MAX_FILTERS));
          break;
        }
        const fm = compileArgFilter(cx, f, mp.i(i), true);
        if (fm != null) {
          sel.filters.push(fm);
          hook.flags |= A.TLN_HOOK_F_RET_FILTERS;
        }
      }
    }
  }

  const mb = listOf(s.get("matchBinaries"));
  if (mb != null) {
    const mp = p.k("matchBinaries");
    for (let i = 0; i < mb.length; i++) {
      const b = objOf(mb.at(i));
      if (b == null) continue;
      if (i >= 1) {
        cx.err(mp.i(i), M.tooManyBinaryFilters(mb.length));
        break;
      }
      compileBinaries(cx, b, mp.i(i), sel);
    }
  }

  const mpid = listOf(s.get("matchPIDs"));
  if (mpid != null) {
    const mp = p.k("matchPIDs");
    for (let i = 0; i < mpid.length; i++) {
      const b = objOf(mpid.at(i));
      if (b == null) continue;
      if (i >= 1) {
        cx.err(mp.i(i), M.tooManyPidFilters(mpid.length));
        break;
      }
      compilePids(cx, b, mp.i(i), sel);
    }
  }

  const mact = listOf(s.get("matchActions"));
  let mask: u16 = 0;
  if (mact != null) {
    const mp = p.k("matchActions");
    for (let i = 0; i < mact.length; i++) {
      const a = objOf(mact.at(i));
      if (a == null) continue;
      if (i >= A.TLN_MAX_ACTIONS) {
        cx.err(mp.i(i), M.tooManyActions(mact.length, A.TLN_MAX_ACTIONS));
        break;
      }
      const am = compileAction(cx, a, mp.i(i));
      if (am == null) continue;
      const bit: u16 = <u16>(1 << am.id);
      if ((mask & bit) != 0) {
        cx.err(mp.i(i).k("action"), M.duplicateAction(actionName(am.id)));
        continue;
      }
      if (
        (am.id == A.TLN_ACT_POST && (mask & (1 << A.TLN_ACT_NOPOST)) != 0) ||
        (am.id == A.TLN_ACT_NOPOST && (mask & (1 << A.TLN_ACT_POST)) != 0)
      ) {
        cx.err(mp.i(i).k("action"), M.postAndNoPost());
        continue;
      }
      mask |= bit;
      sel.actions.push(am);
    }
  }
  if (sel.actions.length == 0) mask |= 1 << A.TLN_ACT_POST;
  hook.actionsMask |= mask;
  return sel;
}

/** matchArgs / matchReturnArgs entry */
export function compileArgFilter(cx: Ctx, f: Node, p: Path, ret: bool): FilterM | null {
  const hook = cx.hook;
  const fm = new FilterM();
  let type: u8 = 0;
  let argDesc = "";
  let ok = true;
  if (ret) {
    fm.slot = A.TLN_SLOT_RETURN;
    type = hook.retType;
    argDesc = "the return value";
  } else {
    const argsN = listOf(f.get("args"));
    const idxN = f.get("index");
    let slot = -1;
    if (argsN != null) {
      if (argsN.length != 1) {
        cx.err(p.k("args"), M.argsFormOne(argsN.length));
        ok = false;
      } else {
        const pos = smallInt(argsN.at(0));
        if (pos < 0 || pos >= hook.args.length) {
          cx.err(p.k("args").i(0), M.argsPositionOutOfRange(argsN.at(0).text, hook.args.length));
          ok = false;
        } else slot = pos;
      }
    } else if (idxN != null) {
      const idx = smallInt(idxN);
      if (idx < 0) {
        if (idxN.tag == V_INT) cx.err(p.k("index"), M.badArgIndex(idxN.text));
        ok = false;
      } else {
        for (let j = 0; j < hook.args.length; j++) {
          if (<i32>hook.args[j].index == idx) {
            slot = j;
            break;
          }
        }
        if (slot < 0) {
          cx.err(p.k("index"), M.indexNotInArgs(idx, declaredIndexes(cx)));
          ok = false;
        }
      }
    } else {
      cx.missing(p, "index", M.filterNeedsIndex());
      ok = false;
    }
    if (slot >= 0) {
      fm.slot = <u8>slot;
      type = hook.args[slot].type;
      argDesc = "argument " + hook.args[slot].index.toString();
    }
  }

  const opN = f.get("operator");
  const opS = strOf(opN);
  if (opN == null) {
    cx.missing(p, "operator", M.missingField("operator", "the comparison"));
    return null;
  }
  if (opS == null) return null;
  const opp = p.k("operator");
  const op = opLookup(opS);
  if (op == OP_UNKNOWN) {
    cx.err(opp, M.unknownOperator(opS, allOpNames()));
    return null;
  }
  if (op == OP_UNSUPPORTED) {
    cx.err(opp, M.operatorUnsupported(opS));
    return null;
  }
  const opu = <u8>op;
  if (opu == A.TLN_OP_IN || opu == A.TLN_OP_NOT_IN) {
    cx.err(opp, M.inNotForArgs(opName(opu), ret ? "matchReturnArgs" : "matchArgs"));
    return null;
  }
  fm.op = opu;
  fm.flags = isNegated(opu) ? A.TLN_FILTER_F_NEGATE : 0;
  fm.type = type;
  if (!ok || type == 0) return null; // slot problems already reported
  const cat = category(type);
  const allowed = opsFor(cat, ret);
  if (!opIn(opu, allowed)) {
    cx.err(opp, M.operatorTypeMismatch(opName(opu), argDesc, argTypeName(type), opList(allowed)));
    return null;
  }
  compileValues(cx, f, p, fm, cat, argDesc);
  return fm;
}

export function declaredIndexes(cx: Ctx): string {
  const a = new Array<string>();
  for (let j = 0; j < cx.hook.args.length; j++) {
    const ix = cx.hook.args[j].index;
    if (ix != 255) a.push(ix.toString());
  }
  return a.length == 0 ? "none" : a.join(", ");
}

// ---- matchBinaries / matchPIDs ----

export function compileBinaries(cx: Ctx, b: Node, p: Path, sel: SelectorM): void {
  const opN = b.get("operator");
  const opS = strOf(opN);
  if (opN == null) cx.missing(p, "operator", M.missingField("operator", "In, NotIn, Prefix, NotPrefix, Postfix or NotPostfix"));
  if (boolTrue(b.get("followChildren"))) cx.err(p.k("followChildren"), M.followChildrenUnsupported());
  if (opS == null) return;
  const op = opLookup(opS);
  if (op < 0 || !opIn(<u8>op, BIN_OPS)) {
    cx.err(p.k("operator"), M.badBinaryOperator(opS, opList(BIN_OPS)));
    return;
  }
  const opu = <u8>op;
  const vl = listOf(b.get("values"));
  const texts = new Array<string>();
  const paths = new Array<Path>();
  if (vl != null) {
    for (let i = 0; i < vl.length; i++) {
      const t = scalarOf(vl.at(i));
      if (t == null) continue;
      texts.push(t);
      paths.push(p.k("values").i(i));
    }
  }
  if (texts.length == 0) {
    if (vl != null) cx.err(p.k("values"), M.opNeedsValues(opName(opu)));
    else cx.missing(p, "values", M.opNeedsValues(opName(opu)));
    return;
  }
  let kind = "E";
  let max = A.TLN_STR_DATA - 1;
  if (opu == A.TLN_OP_PREFIX || opu == A.TLN_OP_NOT_PREFIX) {
    kind = "P";
    max = A.TLN_STR_DATA;
  } else if (opu == A.TLN_OP_POSTFIX || opu == A.TLN_OP_NOT_POSTFIX) {
    kind = "S";
    max = A.TLN_STR_DATA;
  }
  const id = strSetOf(cx, kind, max, texts, paths, opName(opu));
  if (id > 0) {
    sel.binOp = opu;
    sel.binSet = <u8>id;
    sel.binFlags = isNegated(opu) ? A.TLN_FILTER_F_NEGATE : 0;
  }
}

export function compilePids(cx: Ctx, b: Node, p: Path, sel: SelectorM): void {
  const opN = b.get("operator");
  const opS = strOf(opN);
  if (opN == null) cx.missing(p, "operator", M.missingField("operator", "In or NotIn"));
  if (boolTrue(b.get("followForks"))) cx.err(p.k("followForks"), M.followForksUnsupported());
  if (boolTrue(b.get("isNamespacePID"))) sel.pidFlags |= A.TLN_PID_F_NAMESPACE;
  if (opS == null) return;
  const op = opLookup(opS);
  if (op != A.TLN_OP_IN && op != A.TLN_OP_NOT_IN) {
    cx.err(p.k("operator"), M.badPidOperator(opS));
    return;
  }
  const vl = listOf(b.get("values"));
  const vals = new Array<u32>();
  let n = 0;
  if (vl != null) {
    for (let i = 0; i < vl.length; i++) {
      const t = scalarOf(vl.at(i));
      if (t == null) continue;
      n++;
      const v = parseTyped(t, A.TLN_ARG_UINT32, "pid");
      if (!v.ok) {
        cx.err(p.k("values").i(i), M.inValue(t, v.err));
        continue;
      }
      vals.push(<u32>v.v);
    }
  }
  if (n == 0) {
    if (vl != null) cx.err(p.k("values"), M.opNeedsValues(opName(<u8>op)));
    else cx.missing(p, "values", M.opNeedsValues(opName(<u8>op)));
    return;
  }
  if (n > A.TLN_MAX_PIDS) {
    cx.err(p.k("values"), M.tooManyPids(n, A.TLN_MAX_PIDS));
    return;
  }
  sel.pidOp = <u8>op;
  sel.pids = vals;
}
