// kprobes, tracepoints and uprobes: the hook's own fields, its args[] and the
// limits shared by every kind of hook; selectors are compiled in selectors.ts.
import * as A from "../abi";
import * as M from "../messages";
import { Node, V_INT } from "../value";
import { Path } from "../diag";
import { HookDef, findHook, hookNames } from "../hooks";
import { argTypeOf, isKnownUnsupportedType, argTypeNames, argTypeName } from "../argtypes";
import { isIntType } from "../parse";
import { HookM, HookArgM } from "../model";
import { Ctx } from "./context";
import { strOf, isPresent, objOf, listOf, boolTrue, smallInt } from "./nodes";
import { compileSelector } from "./selectors";

export const MAX_MESSAGE: i32 = 256;
export const MAX_TAGS: i32 = 16;
/** uprobe args: the first 6 integer-register arguments (x86-64 and arm64 ABIs) */
export const MAX_UPROBE_ARG: i32 = 5;

/** UProbeSpec fields talon does not support yet (the schema says so too) */
const UPROBE_UNSUPPORTED: StaticArray<string> = ["offsets", "addrs", "refCtrOffsets", "btfPath", "binaryDigests", "data", "ignore"];

/** a tracefs subsystem or event name: [A-Za-z0-9_]+ */
function isTracefsName(s: string): bool {
  if (s.length == 0 || s.length > 255) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95) continue;
    return false;
  }
  return true;
}

// ---- kprobes ----

export function compileKprobe(cx: Ctx, h: Node, hp: Path): void {
  const hook = new HookM();
  cx.hook = hook;
  hook.kind = A.TLN_HOOK_KPROBE;
  const callN = h.get("call");
  const call = strOf(callN);
  let def: HookDef | null = null;
  if (callN == null) cx.missing(hp, "call", M.missingField("call", "the kernel function to hook"));
  else if (call != null) {
    hook.call = call;
    if (call.startsWith("list:")) cx.err(hp.k("call"), M.listsUnsupported(call));
    else {
      def = findHook(call);
      if (def == null) cx.err(hp.k("call"), M.unknownCall(call, hookNames()));
    }
  }
  cx.def = def;
  if (def != null) hook.id = def.id;

  if (boolTrue(h.get("syscall"))) {
    if (def != null && !def.isSyscall) cx.err(hp.k("syscall"), M.notASyscall(def.name));
    else hook.flags |= A.TLN_HOOK_F_SYSCALL;
  }
  const isReturn = boolTrue(h.get("return"));
  const ra = objOf(h.get("returnArg"));
  if (isReturn) {
    hook.flags |= A.TLN_HOOK_F_RETURN;
    if (ra == null && h.get("returnArg") == null) cx.err(hp.k("return"), M.returnNeedsReturnArg());
  }
  if (ra != null) {
    const rap = hp.k("returnArg");
    if (!isReturn) cx.warn(rap, M.returnArgWithoutReturn());
    const tn = strOf(ra.get("type"));
    if (tn != null) {
      const t = argTypeOf(tn);
      if (t == 0 || !isIntType(t)) {
        if (t == 0 && !isKnownUnsupportedType(tn)) cx.err(rap.k("type"), M.unknownArgType(tn, argTypeNames()));
        else cx.err(rap.k("type"), M.returnTypeUnsupported(tn));
      } else hook.retType = t;
    } else if (ra.get("type") == null) cx.missing(rap, "type", M.missingField("type", "int"));
  }
  if (isPresent(h.get("returnArgAction"))) cx.err(hp.k("returnArgAction"), M.returnArgActionUnsupported());
  compileHookBody(cx, h, hp, hook, def, isReturn);
  cx.pol.hooks.push(hook);
}

/** message, tags, args and selectors of any hook (cx.hook is `hook`) */
export function compileHookBody(cx: Ctx, h: Node, hp: Path, hook: HookM, def: HookDef | null, isReturn: bool): void {
  const msg = strOf(h.get("message"));
  if (msg != null) {
    if (msg.length > MAX_MESSAGE) cx.err(hp.k("message"), M.messageTooLong(msg.length, MAX_MESSAGE));
    hook.message = msg;
  }
  const tags = listOf(h.get("tags"));
  if (tags != null) {
    for (let i = 0; i < tags.length; i++) {
      const t = strOf(tags.at(i));
      if (t == null) continue;
      if (hook.tags.length >= MAX_TAGS) {
        cx.err(hp.k("tags").i(i), M.tooManyTags(tags.length, MAX_TAGS));
        break;
      }
      hook.tags.push(t);
    }
  }

  // args
  const al = listOf(h.get("args"));
  if (al != null) {
    const ap = hp.k("args");
    for (let i = 0; i < al.length; i++) {
      const a = objOf(al.at(i));
      if (a == null) continue;
      const p = ap.i(i);
      if (hook.args.length >= A.TLN_MAX_ARGS) {
        cx.err(p, M.tooManyArgs(al.length, A.TLN_MAX_ARGS));
        break;
      }
      const idxN = a.get("index");
      const idx = smallInt(idxN);
      if (idxN == null) {
        cx.missing(p, "index", M.missingField("index", hook.kind == A.TLN_HOOK_TRACEPOINT ? "the field position in the tracepoint's format, common_* fields included" : "the function argument position"));
      }
      const tn = strOf(a.get("type"));
      let t: u8 = 0;
      if (tn != null) {
        t = argTypeOf(tn);
        if (t == 0) {
          if (isKnownUnsupportedType(tn)) cx.err(p.k("type"), M.argTypeUnsupported(tn));
          else cx.err(p.k("type"), M.unknownArgType(tn, argTypeNames()));
        }
      } else if (a.get("type") == null) cx.missing(p, "type", M.missingField("type", "the argument type"));
      if (idx < 0) {
        if (idxN != null && idxN.tag == V_INT) cx.err(p.k("index"), M.badArgIndex(idxN.text));
        hook.args.push(new HookArgM(255, t)); // keeps positions aligned
        continue;
      }
      for (let j = 0; j < hook.args.length; j++) {
        if (<i32>hook.args[j].index == idx) {
          cx.err(p.k("index"), M.duplicateArgIndex(idx, j));
          break;
        }
      }
      if (hook.kind != A.TLN_HOOK_KPROBE) {
        if (!checkGenericArg(cx, hook.kind, idx, t, tn, p)) {
          hook.args.push(new HookArgM(<u8>min(idx, 255), 0)); // filters on it say nothing more
          continue;
        }
      } else if (def != null) {
        if (idx >= def.params.length) {
          cx.err(p.k("index"), M.argIndexOutOfSignature(idx, def.name, def.params.length, signature(def)));
        } else if (t != 0) {
          const want = def.params[idx];
          const ok = isIntType(want) ? isIntType(t) : t == want;
          if (!ok) {
            cx.err(p.k("type"), M.argTypeMismatch(idx, def.name, def.paramDecl[idx], tn!, isIntType(want) ? "an integer type such as " + argTypeName(want) : argTypeName(want)));
          }
        }
      }
      hook.args.push(new HookArgM(<u8>idx, t));
    }
  }

  // selectors
  const sl = listOf(h.get("selectors"));
  if (sl != null) {
    const slp = hp.k("selectors");
    for (let i = 0; i < sl.length; i++) {
      const s = objOf(sl.at(i));
      if (s == null) continue;
      if (i >= A.TLN_MAX_SELECTORS) {
        cx.err(slp.i(i), M.tooManySelectors(sl.length, A.TLN_MAX_SELECTORS));
        break;
      }
      hook.selectors.push(compileSelector(cx, s, slp.i(i), isReturn && hook.retType != 0));
    }
  } else {
    hook.actionsMask |= 1 << A.TLN_ACT_POST; // every hit posts
  }
}

// ---- tracepoints and uprobes ----

/** an args[] entry of a tracepoint or uprobe: index range and a type the programs can read */
export function checkGenericArg(cx: Ctx, kind: u8, idx: i32, t: u8, tn: string | null, p: Path): bool {
  if (kind == A.TLN_HOOK_UPROBE && idx > MAX_UPROBE_ARG) {
    cx.err(p.k("index"), M.uprobeArgIndex(idx, MAX_UPROBE_ARG + 1));
    return false;
  }
  if (kind == A.TLN_HOOK_TRACEPOINT && idx > 255) {
    cx.err(p.k("index"), M.tracepointArgIndex(idx));
    return false;
  }
  if (t != 0 && !isIntType(t) && t != A.TLN_ARG_STRING) {
    cx.err(p.k("type"), M.argTypeNotOnHook(tn!, kind == A.TLN_HOOK_TRACEPOINT ? "a tracepoint" : "a uprobe"));
    return false;
  }
  return true;
}

export function compileTracepoint(cx: Ctx, h: Node, hp: Path): void {
  const hook = new HookM();
  cx.hook = hook;
  cx.def = null;
  hook.kind = A.TLN_HOOK_TRACEPOINT;
  hook.id = A.TLN_HOOK_GENERIC_TRACEPOINT;
  const sub = tracefsName(cx, h, hp, "subsystem", "the tracepoint's subsystem, e.g. syscalls");
  const ev = tracefsName(cx, h, hp, "event", "the tracepoint's event, e.g. sys_enter_openat");
  hook.call = sub + "/" + ev;
  if (boolTrue(h.get("raw"))) cx.err(hp.k("raw"), M.rawTracepointUnsupported());
  compileHookBody(cx, h, hp, hook, null, false);
  cx.pol.hooks.push(hook);
}

/** subsystem / event: required, a tracefs directory name */
export function tracefsName(cx: Ctx, h: Node, hp: Path, field: string, hint: string): string {
  const n = h.get(field);
  const s = strOf(n);
  if (n == null) {
    cx.missing(hp, field, M.missingField(field, hint));
    return "";
  }
  if (s == null) return "";
  if (!isTracefsName(s)) cx.err(hp.k(field), M.badTracefsName(field, s));
  return s;
}

export function compileUprobe(cx: Ctx, h: Node, hp: Path): void {
  const hook = new HookM();
  cx.hook = hook;
  cx.def = null;
  hook.kind = A.TLN_HOOK_UPROBE;
  hook.id = A.TLN_HOOK_GENERIC_UPROBE;
  const pathN = h.get("path");
  const path = strOf(pathN);
  if (pathN == null) cx.missing(hp, "path", M.missingField("path", "the binary or library to probe, e.g. /bin/bash"));
  else if (path != null && path.length == 0) cx.err(hp.k("path"), M.emptyUprobePath());
  for (let i = 0; i < UPROBE_UNSUPPORTED.length; i++) {
    const f = UPROBE_UNSUPPORTED[i];
    if (isPresent(h.get(f))) cx.err(hp.k(f), M.uprobeFieldUnsupported(f));
  }
  if (boolTrue(h.get("return")) || isPresent(h.get("returnArg"))) {
    cx.err(hp.k(boolTrue(h.get("return")) ? "return" : "returnArg"), M.uprobeReturnUnsupported());
  }
  // symbols: one hook each
  const symN = h.get("symbols");
  const syms = listOf(symN);
  const names = new Array<string>();
  if (symN == null) {
    if (!isPresent(h.get("offsets")) && !isPresent(h.get("addrs"))) cx.missing(hp, "symbols", M.missingField("symbols", "the functions to probe, e.g. [readline]"));
  } else if (syms != null) {
    if (syms.length == 0) cx.err(hp.k("symbols"), M.noUprobeSymbols());
    for (let i = 0; i < syms.length; i++) {
      const s = strOf(syms.at(i));
      if (s == null) continue;
      const sp = hp.k("symbols").i(i);
      if (s.length == 0 || s.indexOf(":") >= 0 || s.indexOf("/") >= 0) {
        cx.err(sp, M.badUprobeSymbol(s));
        continue;
      }
      if (names.includes(s)) {
        cx.err(sp, M.duplicateUprobeSymbol(s));
        continue;
      }
      names.push(s);
    }
  }
  compileHookBody(cx, h, hp, hook, null, false);
  const pol = cx.pol;
  for (let i = 0; i < names.length; i++) {
    if (pol.hooks.length >= A.TLN_MAX_HOOKS) {
      cx.err(hp.k("symbols").i(i), M.tooManyHooksOf(pol.hooks.length + names.length - i, "uprobe symbols", A.TLN_MAX_HOOKS));
      break;
    }
    const x = new HookM();
    x.call = (path != null ? path : "") + ":" + names[i];
    x.id = hook.id;
    x.kind = hook.kind;
    x.flags = hook.flags;
    x.args = hook.args;
    x.retType = hook.retType;
    x.selectors = hook.selectors; // shared: written once per hook, same sets
    x.message = hook.message;
    x.tags = hook.tags;
    x.actionsMask = hook.actionsMask;
    pol.hooks.push(x);
  }
}

export function signature(def: HookDef): string {
  return def.name + "(" + def.paramDecl.join(", ") + ")";
}
