// args[] and data[] of a hook: positions, the 52 Tetragon argument types and the
// attributes that change how an argument is read (resolve, btfType,
// btfTypeModule, sizeArgIndex, returnCopy, maxData, label, source). Everything
// beyond the seed's types and plain reads is recorded as a need of the hook
// (spec.ts), so the loader can refuse what the BPF programs cannot read.
import * as A from "../abi";
import * as M from "../messages";
import { Node, V_INT } from "../value";
import { Path } from "../diag";
import { HookDef } from "../hooks";
import { argTypeOf, argTypeNames, argTypeName, isSeedType, isStructType, category, CAT_SOCK } from "../argtypes";
import { isIntType } from "../parse";
import { HookM, HookArgM } from "../model";
import { Ctx } from "./context";
import { strOf, isPresent, objOf, listOf, boolTrue, smallInt } from "./nodes";
import { addNeed, autoAtLoad, NEED_AUTO_TRACEPOINT } from "./spec";

/** uprobe args: the first 6 integer-register arguments (x86-64 and arm64 ABIs) */
export const MAX_UPROBE_ARG: i32 = 5;

/** a resolve path: identifiers joined by '.', each optionally with [N] */
function isResolvePath(s: string): bool {
  if (s.length == 0 || s.length > 512) return false;
  let start = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ident = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95;
    if (ident) {
      start = false;
      continue;
    }
    if (c == 46 /* . */) {
      if (start) return false;
      start = true;
      continue;
    }
    if (c == 91 /* [ */) {
      if (start) return false;
      let j = i + 1;
      while (j < s.length && s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57) j++;
      if (j == i + 1 || j >= s.length || s.charCodeAt(j) != 93) return false;
      i = j;
      continue;
    }
    return false;
  }
  return !start;
}

/** the attributes of one args[]/data[]/returnArg entry; records needs */
function argAttributes(cx: Ctx, a: Node, p: Path, hook: HookM, t: u8, tn: string, isData: bool): void {
  const resolve = strOf(a.get("resolve"));
  if (resolve != null && resolve.length > 0) {
    if (!isResolvePath(resolve)) cx.err(p.k("resolve"), M.badResolve(resolve));
    else if (hook.kind == A.TLN_HOOK_UPROBE || hook.kind == A.TLN_HOOK_USDT) cx.err(p.k("resolve"), M.resolveNotOnUprobe());
    else addNeed(hook.needs, isData ? "resolve on data[] entries" : "resolve (BTF field paths)");
  }
  const bt = strOf(a.get("btfType"));
  if (bt != null && bt.length > 0) addNeed(hook.needs, isData ? "btfType casts on data[] entries" : "btfType casts");
  const btm = strOf(a.get("btfTypeModule"));
  if (btm != null && btm.length > 0) addNeed(hook.needs, "btfTypeModule (a module's BTF)");
  // char_buf is read on syscall hooks (their entry tracepoint's buffer, the size from
  // another argument or, returnCopy, the return value at the exit)
  const buf = t == A.TLN_ARG_CHAR_BUF && hook.kind == A.TLN_HOOK_KPROBE && hook.syscall.length > 0 && !isData;
  let sized = false;
  const sizeN = a.get("sizeArgIndex");
  if (isPresent(sizeN)) {
    const v = smallInt(sizeN);
    // 0 is the CRD default (no size argument)
    if (v < 0 || v > A.TLN_MAX_ARGS) cx.err(p.k("sizeArgIndex"), M.sizeArgIndexRange(sizeN!.text));
    else if (v > 0) {
      if (t != 0 && t != A.TLN_ARG_CHAR_BUF && t != A.TLN_ARG_CHAR_IOVEC) cx.err(p.k("sizeArgIndex"), M.sizeArgIndexType(tn));
      else if (buf) sized = true;
      else addNeed(hook.needs, "sizeArgIndex");
    }
  }
  const rc = boolTrue(a.get("returnCopy"));
  if (rc && !buf) addNeed(hook.needs, "returnCopy");
  if (boolTrue(a.get("maxData"))) {
    if (t != 0 && t != A.TLN_ARG_CHAR_BUF && t != A.TLN_ARG_CHAR_IOVEC && t != A.TLN_ARG_IOV_ITER) cx.err(p.k("maxData"), M.maxDataType(tn));
    else if (rc) cx.err(p.k("maxData"), M.maxDataReturnCopy());
    else addNeed(hook.needs, "maxData");
  }
  const src = strOf(a.get("source"));
  if (src != null && src.length > 0) {
    if (src != "current_task" && src != "pt_regs") cx.err(p.k("source"), M.badDataSource(src));
    else if (!isData) cx.warn(p.k("source"), M.argIgnored("source", "args[]", "data[]"));
  }
  // nop: a declared position that is read by nothing (Tetragon leaves it out of the event)
  if (t == A.TLN_ARG_NOP) {
    // nothing to read
  } else if (buf) {
    if (!sized && !rc) addNeed(hook.needs, "char_buf without sizeArgIndex or returnCopy");
  } else if ((t == A.TLN_ARG_LINUX_BINPRM || category(t) == CAT_SOCK || t == A.TLN_ARG_SOCKADDR || isStructType(t) ||
      t == A.TLN_ARG_NET_DEVICE || t == A.TLN_ARG_CAPABILITY) && !isData && hook.kind == A.TLN_HOOK_TRACEPOINT &&
      ((hook.flags & A.TLN_HOOK_F_RAW) != 0 || !hook.call.startsWith("syscalls/"))) {
    // a tracepoint's bprm (its file's path), socket, cred, user namespace and device pointers and
    // capability ints, read as on kprobes: a raw one's TP_PROTO arguments, else the format's
    // pointer fields (the loader checks each field's struct type; a syscall's are user memory)
  } else if (t == A.TLN_ARG_SYSCALL64 && !isData && hook.kind == A.TLN_HOOK_TRACEPOINT) {
    // raw_syscalls' id field (the only place it is allowed), read as an integer with the 32-bit bit
  } else if (!isData && autoAtLoad(hook, t)) {
    addNeed(hook.needs, NEED_AUTO_TRACEPOINT);
  } else if (t != 0 && !isSeedType(t)) addNeed(hook.needs, "argument type " + tn);
  else if (t != 0 && (hook.kind == A.TLN_HOOK_TRACEPOINT || hook.kind == A.TLN_HOOK_UPROBE || hook.kind == A.TLN_HOOK_USDT) && !isIntType(t) && t != A.TLN_ARG_STRING) {
    // the seed's tracepoint and uprobe programs read integers and strings only
    addNeed(hook.needs, "argument type " + tn + " on a " + (hook.kind == A.TLN_HOOK_TRACEPOINT ? "tracepoint" : hook.kind == A.TLN_HOOK_UPROBE ? "uprobe" : "hook of this kind"));
  }
}

/** args[]: the positions and types the hook reads (cx.hook is `hook`) */
export function compileArgs(cx: Ctx, h: Node, hp: Path, hook: HookM, def: HookDef | null): void {
  const al = listOf(h.get("args"));
  if (al == null) return;
  const ap = hp.k("args");
  const kprobeLike = hook.kind == A.TLN_HOOK_KPROBE || hook.kind == A.TLN_HOOK_FENTRY;
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
    const typeN = a.get("type");
    let tn = strOf(typeN);
    if (typeN == null) tn = "auto"; // the CRD default
    let t: u8 = 0;
    if (tn != null) {
      t = argTypeOf(tn);
      if (t == 0) cx.err(p.k("type"), M.unknownArgType(tn, argTypeNames()));
      else if (kprobeLike && (t == A.TLN_ARG_AUTO || t == A.TLN_ARG_SYSCALL64)) {
        // Tetragon's validateKprobeType
        if (typeN == null) cx.missing(p, "type", M.missingField("type", "the argument type (auto is not allowed on kprobes)"));
        else cx.err(p.k("type"), M.autoTypeOnKprobe(tn));
        t = 0;
      } else if (t == A.TLN_ARG_SYSCALL64 && hook.kind == A.TLN_HOOK_TRACEPOINT && !hook.call.startsWith("raw_syscalls/")) {
        cx.err(p.k("type"), M.syscall64NotRawSyscalls());
      }
    }
    if (idx < 0) {
      if (idxN != null && idxN.tag == V_INT) cx.err(p.k("index"), M.badArgIndex(idxN.text));
      hook.args.push(new HookArgM(255, t)); // keeps positions aligned
      continue;
    }
    // the same index may appear twice (Tetragon: e.g. two resolve paths of one argument)
    if (hook.kind == A.TLN_HOOK_UPROBE && idx > MAX_UPROBE_ARG) {
      cx.err(p.k("index"), M.uprobeArgIndex(idx, MAX_UPROBE_ARG + 1));
      hook.args.push(new HookArgM(<u8>min(idx, 255), 0));
      continue;
    }
    if (hook.kind == A.TLN_HOOK_TRACEPOINT && idx > 255) {
      cx.err(p.k("index"), M.tracepointArgIndex(idx));
      hook.args.push(new HookArgM(255, 0));
      continue;
    }
    const hasResolve = isPresent(a.get("resolve")) && strOf(a.get("resolve")) != "";
    if (def != null && !hasResolve) {
      if (idx >= def.params.length) {
        cx.err(p.k("index"), M.argIndexOutOfSignature(idx, def.name, def.params.length, def.name + "(" + def.paramDecl.join(", ") + ")"));
      } else if (t != 0 && t != A.TLN_ARG_NOP) {
        const want = def.params[idx];
        const ok = isIntType(want) ? isIntType(t) : t == want;
        if (!ok) {
          cx.err(p.k("type"), M.argTypeMismatch(idx, def.name, def.paramDecl[idx], tn!, isIntType(want) ? "an integer type such as " + argTypeName(want) : argTypeName(want)));
        }
      }
    }
    if (tn != null && t != 0) argAttributes(cx, a, p, hook, t, tn, false);
    hook.args.push(new HookArgM(<u8>idx, t));
  }
}

/** data[]: values read from the task or registers; returns how many (matchData indexes them) */
export function compileData(cx: Ctx, h: Node, hp: Path, hook: HookM): i32 {
  const dl = listOf(h.get("data"));
  if (dl == null || dl.length == 0) return 0;
  const dp = hp.k("data");
  addNeed(hook.needs, "data[]");
  let n = 0;
  for (let i = 0; i < dl.length; i++) {
    const a = objOf(dl.at(i));
    if (a == null) continue;
    const p = dp.i(i);
    if (hook.args.length + n >= A.TLN_MAX_ARGS) {
      cx.err(p, M.tooManyArgsData(hook.args.length + dl.length, A.TLN_MAX_ARGS));
      break;
    }
    n++;
    const idxN = a.get("index");
    if (idxN != null && smallInt(idxN) < 0 && idxN.tag == V_INT) cx.err(p.k("index"), M.badArgIndex(idxN.text));
    const tn0 = strOf(a.get("type"));
    const tn = a.get("type") == null ? "auto" : tn0;
    if (tn == null) continue;
    const t = argTypeOf(tn);
    if (t == 0) {
      cx.err(p.k("type"), M.unknownArgType(tn, argTypeNames()));
      continue;
    }
    argAttributes(cx, a, p, hook, t, tn, true);
  }
  return n;
}

/** the type of data[] entry i (for matchData), 0 when unknown */
export function dataType(h: Node, i: i32): u8 {
  const dl = listOf(h.get("data"));
  if (dl == null || i < 0 || i >= dl.length) return 0;
  const a = objOf(dl.at(i));
  if (a == null) return 0;
  const tn = a.get("type") == null ? "auto" : strOf(a.get("type"));
  return tn == null ? 0 : argTypeOf(tn);
}
