// One selector: matchArgs / matchReturnArgs (which argument, which operator),
// matchBinaries, matchPIDs, and the matchActions list. Filter values are
// parsed in values.ts, each action in actions.ts.
import * as A from "../abi";
import * as M from "../messages";
import { Node, V_INT } from "../value";
import { Path } from "../diag";
import { argTypeName, category, isSeedType, CAT_CAPS, CAT_INT, CAT_STR, CAT_FILE, CAT_SOCKADDR_UN } from "../argtypes";
import {
  opLookup, opName, opsFor, opIn, opList, allOpNames, isNegated, isSeedOp, OP_UNKNOWN, OP_UNSUPPORTED, BIN_OPS,
} from "../operators";
import { fileTypeValue } from "../names";
import { compileNamespaces, compileNamespaceChanges, compileCapabilities, nsEvalJson, nsChangesEvalJson, capsEvalJson, nsKernel, nsChangesKernel, capsKernel } from "./filters";
import { SelEval } from "./seleval";
import { CelParse } from "../cel";
import { addNeed, autoAtLoad, NEED_AUTO_TRACEPOINT } from "./spec";
import { dataType } from "./args";
import { parseTyped, parseIntText } from "../parse";
import { SelectorM, FilterM } from "../model";
import { Ctx } from "./context";
import { strOf, scalarOf, objOf, listOf, boolTrue, smallInt } from "./nodes";
import { compileValues, strSetOf } from "./values";
import { compileAction, actionName, isSeedAction } from "./actions";

/** marks the selector as holding something only the spec record carries */
function specOnly(cx: Ctx, sel: SelectorM, what: string): void {
  sel.flags |= A.TLN_SEL_F_SPEC_ONLY;
  addNeed(cx.hook.needs, what);
}

/** a filter the kernel holds in the selector struct, but the evaluator decides from the spec record (with the rest of the selector) */
function specEval(sel: SelectorM): void {
  sel.flags |= A.TLN_SEL_F_SPEC_ONLY;
}

/** a filter BPF and the evaluator implement goes into the selector struct; any other only into the spec */
function keepFilter(cx: Ctx, sel: SelectorM, fm: FilterM): void {
  if (fm.specOnly) specOnly(cx, sel, "list:NAME values");
  else if (!isSeedOp(fm.op)) specOnly(cx, sel, "operator " + opName(fm.op));
  else if (autoAtLoad(cx.hook, fm.type)) specOnly(cx, sel, NEED_AUTO_TRACEPOINT);
  else if (!isSeedType(fm.type)) specOnly(cx, sel, "filters on " + argTypeName(fm.type) + " arguments");
  else sel.filters.push(fm);
}

export function compileSelector(cx: Ctx, s: Node, p: Path, canReturn: bool, ndata: i32 = 0): SelectorM {
  const sel = new SelectorM();
  const ev = new SelEval();
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
      if (fm != null) {
        keepFilter(cx, sel, fm);
        ev.filters.push(fm);
      }
    }
  }
  const md = listOf(s.get("matchData"));
  if (md != null && md.length > 0) {
    const mp = p.k("matchData");
    for (let i = 0; i < md.length; i++) {
      const f = objOf(md.at(i));
      if (f == null) continue;
      if (i + (ma == null ? 0 : ma.length) >= A.TLN_MAX_ARG_FILTERS) {
        cx.err(mp.i(i), M.tooManyArgFilters(md.length + (ma == null ? 0 : ma.length), A.TLN_MAX_ARG_FILTERS));
        break;
      }
      compileDataFilter(cx, f, mp.i(i), ndata);
      ev.ndata++;
    }
    specOnly(cx, sel, "matchData");
  }
  const mr = listOf(s.get("matchReturnArgs"));
  if (mr != null && mr.length > 0) {
    const mp = p.k("matchReturnArgs");
    if (!canReturn) cx.err(mp, hook.kind == A.TLN_HOOK_LSM ? M.actionNotOnHook("matchReturnArgs", "lsmhook") : M.returnArgsNeedReturn());
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
          keepFilter(cx, sel, fm);
          ev.filters.push(fm);
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
      ev.children = boolTrue(b.get("followChildren"));
    }
  }
  const mpb = listOf(s.get("matchParentBinaries"));
  if (mpb != null && mpb.length > 0) {
    const mp = p.k("matchParentBinaries");
    for (let i = 0; i < mpb.length; i++) {
      const b = objOf(mpb.at(i));
      if (b == null) continue;
      if (i >= 1) {
        cx.err(mp.i(i), M.tooManyBinaryFilters(mpb.length));
        break;
      }
      compileBinaries(cx, b, mp.i(i), ev.parent); // checked; its sets are kept for the loader and the evaluator
    }
    specOnly(cx, sel, "matchParentBinaries");
  }
  const nsl = listOf(s.get("matchNamespaces"));
  if (nsl != null && nsl.length > 0) {
    compileNamespaces(cx, nsl, p.k("matchNamespaces"));
    ev.ns = nsEvalJson(nsl);
    const k = nsKernel(nsl);
    if (k != null) {
      sel.nsf = k;
      specEval(sel);
    } else specOnly(cx, sel, "matchNamespaces beyond " + A.TLN_MAX_NS_FILTERS.toString() + " entries of " + A.TLN_MAX_NS_VALUES.toString() + " values");
  }
  const nsc = listOf(s.get("matchNamespaceChanges"));
  if (nsc != null && nsc.length > 0) {
    compileNamespaceChanges(cx, nsc, p.k("matchNamespaceChanges"));
    ev.nsch = nsChangesEvalJson(nsc);
    const k = nsChangesKernel(nsc);
    if (k != null && sel.nsf.length < A.TLN_MAX_NS_FILTERS) {
      sel.nsf.push(k);
      specEval(sel);
    } else specOnly(cx, sel, "matchNamespaceChanges beside " + A.TLN_MAX_NS_FILTERS.toString() + " matchNamespaces entries");
  }
  const caps = listOf(s.get("matchCapabilities"));
  if (caps != null && caps.length > 0) {
    compileCapabilities(cx, caps, p.k("matchCapabilities"), "matchCapabilities");
    ev.caps = capsEvalJson(caps);
    const k = capsKernel(caps);
    if (k != null) {
      sel.capf = k;
      specEval(sel);
    } else specOnly(cx, sel, "more than " + A.TLN_MAX_CAP_FILTERS.toString() + " matchCapabilities entries");
  }
  const capc = listOf(s.get("matchCapabilityChanges"));
  if (capc != null && capc.length > 0) {
    compileCapabilities(cx, capc, p.k("matchCapabilityChanges"), "matchCapabilityChanges");
    ev.capch = capsEvalJson(capc);
    const k = capsKernel(capc);
    if (k != null && k.length + sel.capf.length <= A.TLN_MAX_CAP_FILTERS) {
      for (let i = 0; i < k.length; i++) {
        k[i].change = 1;
        sel.capf.push(k[i]);
      }
      specEval(sel);
    } else specOnly(cx, sel, "more than " + A.TLN_MAX_CAP_FILTERS.toString() + " matchCapabilities and matchCapabilityChanges entries");
  }
  const mw = s.get("matchWorkloads");
  if (mw != null && !mw.isNull) {
    specOnly(cx, sel, "matchWorkloads");
    ev.workloads = true;
  }

  const mpid = listOf(s.get("matchPIDs"));
  if (mpid != null) {
    const mp = p.k("matchPIDs");
    for (let i = 0; i < mpid.length; i++) {
      const b = objOf(mpid.at(i));
      if (b == null) continue;
      // Tetragon ANDs several entries; the selector struct holds the first in pid_op/pids, the next in pidx[], the spec all
      const e = i >= 1 ? new SelectorM() : sel;
      compilePids(cx, b, mp.i(i), e);
      ev.pids.push(e);
      if (i >= 1) {
        if (i < A.TLN_MAX_PID_ENTRIES) {
          if (e.pidOp != 0) sel.pidx.push(e);
          specEval(sel);
        } else specOnly(cx, sel, "more than " + A.TLN_MAX_PID_ENTRIES.toString() + " matchPIDs entries");
      }
      // followForks reads the ancestors (and with isNamespacePID their namespace pids) the kernel puts in the record
      if ((e.pidFlags & A.TLN_PID_F_FOLLOW_FORKS) != 0) specEval(sel);
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
      ev.actions.push(am);
      if (isSeedAction(am.id)) sel.actions.push(am);
      else specOnly(cx, sel, "action " + actionName(am.id));
    }
  }
  const mra = listOf(s.get("matchReturnActions"));
  if (mra != null && mra.length > 0) {
    const mp = p.k("matchReturnActions");
    if (!canReturn && hook.kind != A.TLN_HOOK_UPROBE) cx.err(mp, M.returnArgsNeedReturn());
    for (let i = 0; i < mra.length; i++) {
      const a = objOf(mra.at(i));
      if (a == null) continue;
      if (i >= A.TLN_MAX_ACTIONS) {
        cx.err(mp.i(i), M.tooManyActions(mra.length, A.TLN_MAX_ACTIONS));
        break;
      }
      const am = compileAction(cx, a, mp.i(i));
      if (am != null) {
        mask |= <u16>(1 << am.id);
        ev.retActions.push(am);
      }
    }
    // kept in the selector struct after matchActions when they fit (the kernel and the
    // evaluator run them when the record has the return value); else the spec record only
    let fits = sel.actions.length + ev.retActions.length <= A.TLN_MAX_ACTIONS && ev.actions.length == sel.actions.length;
    for (let i = 0; i < ev.retActions.length && fits; i++) if (!isSeedAction(ev.retActions[i].id)) fits = false;
    if (fits) {
      for (let i = 0; i < ev.retActions.length; i++) {
        const ra = ev.retActions[i];
        ra.flags |= A.TLN_ACTION_F_RETURN;
        sel.actions.push(ra);
      }
    } else specOnly(cx, sel, "matchReturnActions");
  }
  if ((sel.flags & A.TLN_SEL_F_SPEC_ONLY) != 0) sel.evalJson = ev.json(sel);
  let entryActs = 0;
  for (let i = 0; i < sel.actions.length; i++) if ((sel.actions[i].flags & A.TLN_ACTION_F_RETURN) == 0) entryActs++;
  if (entryActs == 0) mask |= 1 << A.TLN_ACT_POST;
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
    const opPeek = strOf(f.get("operator"));
    const twoArgs = opPeek != null && opLookup(opPeek) == <i32>A.TLN_OP_CAPABILITIES_GAINED;
    if (argsN != null && twoArgs) {
      if (argsN.length != 2) {
        cx.err(p.k("args"), M.capsGainedArgs(argsN.length));
        ok = false;
      } else {
        for (let k = 0; k < 2; k++) {
          const pos = smallInt(argsN.at(k));
          if (pos < 0 || pos >= hook.args.length) {
            cx.err(p.k("args").i(k), M.argsPositionOutOfRange(argsN.at(k).text, hook.args.length));
            ok = false;
          } else if (k == 0) slot = pos;
          else fm.slot2 = <u8>pos;
        }
      }
    } else if (opPeek != null && opLookup(opPeek) == <i32>A.TLN_OP_CEL_EXPR) {
      // CelExpr reads arg0..argN itself: no index
      slot = 0;
    } else if (argsN != null) {
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
      } else if (hook.kind == A.TLN_HOOK_TRACEPOINT && idx < hook.args.length) {
        // Tetragon: on tracepoints, index is a position in args[] (a larger one names a
        // format field declared in args[], as older examples write it)
        slot = idx;
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
    if (slot >= 0 && slot < hook.args.length) {
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
  if (opu == A.TLN_OP_CEL_EXPR) {
    if (!celValues(cx, f, p)) return null;
    fm.strs.push(scalarOf(listOf(f.get("values"))!.at(0))!);
    return fm;
  }
  if (!ok || type == 0) return null; // slot problems already reported
  let cat = category(type);
  if (type == A.TLN_ARG_AUTO && hook.kind == A.TLN_HOOK_TRACEPOINT && !ret) {
    // Tetragon types an auto tracepoint field from the tracepoint's format at load (so does the
    // agent: NEED_AUTO_TRACEPOINT); offline the values say which comparison is meant (all integers: an integer field)
    cat = autoCategory(f);
  }
  const allowed = opsFor(cat, ret);
  if (!opIn(opu, allowed)) {
    cx.err(opp, M.operatorTypeMismatch(opName(opu), argDesc, argTypeName(type), opList(allowed)));
    return null;
  }
  if (opu == A.TLN_OP_FILE_TYPE || opu == A.TLN_OP_NOT_FILE_TYPE) {
    fileTypes(cx, f, p, fm);
    return fm;
  }
  if (opu == A.TLN_OP_CAPABILITIES_GAINED) return fm; // no values: compares two arguments
  if (opu == A.TLN_OP_SUBSTRING || opu == A.TLN_OP_SUBSTRING_IGN_CASE) {
    const vl = listOf(f.get("values"));
    if (vl != null) for (let i = 0; i < vl.length; i++) {
      const t = scalarOf(vl.at(i));
      if (t != null && t.length >= 100) cx.err(p.k("values").i(i), M.substringTooLong(t));
      if (t != null) fm.strs.push(t);
    }
    if (vl == null || vl.length == 0) cx.err(p.k("values"), M.opNeedsValues(opName(opu)));
    return fm; // the spec record carries the values (no BPF set for them)
  }
  let vcat = cat;
  if (cat == CAT_CAPS) vcat = CAT_INT;
  else if (cat == CAT_FILE || (cat == CAT_SOCKADDR_UN && opu != A.TLN_OP_FAMILY)) vcat = CAT_STR;
  compileValues(cx, f, p, fm, vcat, argDesc);
  return fm;
}

/** the category an auto-typed tracepoint field is compared in: integers when every value is one */
function autoCategory(f: Node): i32 {
  const vl = listOf(f.get("values"));
  if (vl == null || vl.length == 0) return CAT_INT;
  for (let i = 0; i < vl.length; i++) {
    const t = scalarOf(vl.at(i));
    if (t == null || !parseIntText(t).ok) return CAT_STR;
  }
  return CAT_INT;
}

function fileTypes(cx: Ctx, f: Node, p: Path, fm: FilterM): void {
  const vl = listOf(f.get("values"));
  if (vl == null || vl.length == 0) {
    cx.err(p.k("values"), M.opNeedsValues(opName(fm.op)));
    return;
  }
  for (let i = 0; i < vl.length; i++) {
    const t = scalarOf(vl.at(i));
    if (t == null) continue;
    const v = fileTypeValue(t);
    if (v < 0) cx.err(p.k("values").i(i), M.badFileType(t));
    else fm.vals.push(<u64>v);
  }
}

/** CelExpr: one expression, parsed (assembly/cel.ts): outside the supported subset is an error at the value */
function celValues(cx: Ctx, f: Node, p: Path): bool {
  const vl = listOf(f.get("values"));
  const n = vl == null ? 0 : vl.length;
  if (n != 1) {
    cx.err(p.k("values"), M.celNeedsOneValue(n));
    return false;
  }
  const e = scalarOf(vl!.at(0));
  if (e == null) return false;
  if (e.trim().length == 0) {
    cx.err(p.k("values").i(0), M.celSyntax(e, "the expression is empty"));
    return false;
  }
  const cp = new CelParse(e);
  cp.parse();
  if (cp.err.length > 0) {
    cx.err(p.k("values").i(0), M.celSyntax(e, cp.err));
    return false;
  }
  if (cp.maxArg >= cx.hook.args.length) {
    cx.err(p.k("values").i(0), M.celSyntax(e, "arg" + cp.maxArg.toString() + " names no args[] entry (the hook has " + cx.hook.args.length.toString() + ")"));
    return false;
  }
  return true;
}

/** matchData entry: index names a data[] entry (checked here; carried in the spec record) */
function compileDataFilter(cx: Ctx, f: Node, p: Path, ndata: i32): void {
  const idxN = f.get("index");
  const idx = smallInt(idxN);
  if (idxN == null) {
    cx.missing(p, "index", M.filterNeedsIndex());
    return;
  }
  if (idx < 0 || idx >= ndata) {
    cx.err(p.k("index"), M.argsPositionOutOfRange(idxN.text, ndata));
    return;
  }
  const opS = strOf(f.get("operator"));
  if (opS == null) {
    if (f.get("operator") == null) cx.missing(p, "operator", M.missingField("operator", "the comparison"));
    return;
  }
  const op = opLookup(opS);
  if (op < 0) {
    cx.err(p.k("operator"), M.unknownOperator(opS, allOpNames()));
    return;
  }
  const t = dataType(cx.hookNode, idx);
  if (t == 0) return;
  const allowed = opsFor(category(t), false);
  if (allowed.length > 0 && !opIn(<u8>op, allowed)) cx.err(p.k("operator"), M.operatorTypeMismatch(opName(<u8>op), "data " + idx.toString(), argTypeName(t), opList(allowed)));
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
    if (isNegated(opu)) sel.flags |= A.TLN_SEL_F_BIN_NEGATE;
  }
  if (boolTrue(b.get("followChildren"))) {
    if (opu != A.TLN_OP_IN && opu != A.TLN_OP_NOT_IN) cx.err(p.k("followChildren"), M.inNotInOnly("followChildren", opName(opu)));
    sel.flags |= A.TLN_SEL_F_SPEC_ONLY;
    addNeed(cx.hook.needs, "matchBinaries followChildren");
  }
}

export function compilePids(cx: Ctx, b: Node, p: Path, sel: SelectorM): void {
  const opN = b.get("operator");
  const opS = strOf(opN);
  if (opN == null) cx.missing(p, "operator", M.missingField("operator", "In or NotIn"));
  if (boolTrue(b.get("followForks"))) sel.pidFlags |= A.TLN_PID_F_FOLLOW_FORKS;
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
