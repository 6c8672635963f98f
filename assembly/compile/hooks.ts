// kprobes, fentries, lsmhooks and tracepoints: the hook's own fields and the
// body every hook kind shares (message, tags, args, selectors, spec record).
// Uprobes and USDTs are in uprobes.ts, args[]/data[]/returnArg in args.ts,
// selectors in selectors.ts.
import * as A from "../abi";
import * as M from "../messages";
import { Node } from "../value";
import { Path } from "../diag";
import { HookDef, findHook } from "../hooks";
import { argTypeOf, argTypeNames } from "../argtypes";
import { HookM } from "../model";
import { jstr } from "../json";
import { Ctx } from "./context";
import { strOf, isPresent, objOf, listOf, boolTrue } from "./nodes";
import { compileSelector } from "./selectors";
import { compileArgs, compileData } from "./args";
import { nodeJson, needsJson, addNeed } from "./spec";
import { expandMacros } from "./macros";

export const MAX_MESSAGE: i32 = 256;
export const MAX_TAGS: i32 = 16;

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

/** a kernel symbol: [A-Za-z0-9_.]+ (".isra.0" style suffixes included) */
export function isSymbolName(s: string): bool {
  if (s.length == 0 || s.length > 255) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c == 46) continue;
    return false;
  }
  return true;
}

const SYSCALL_PREFIXES: StaticArray<string> = ["__x64_sys_", "__arm64_sys_", "__ia32_sys_", "__se_sys_", "sys_"];

/** the syscall name without arch prefix, as Tetragon normalises `syscall: true` calls */
export function syscallBase(call: string): string {
  for (let i = 0; i < SYSCALL_PREFIXES.length; i++) {
    const p = SYSCALL_PREFIXES[i];
    if (call.startsWith(p)) return call.substring(p.length);
  }
  return call;
}

/** does the name look like a syscall entry point (any arch prefix)? */
export function looksLikeSyscall(call: string): bool {
  for (let i = 0; i < SYSCALL_PREFIXES.length; i++) if (call.startsWith(SYSCALL_PREFIXES[i])) return true;
  return false;
}

// ---- kprobes and fentries ----

/** one kprobes[] (kind KPROBE) or fentries[] (kind FENTRY) entry */
export function compileKprobe(cx: Ctx, h0: Node, hp: Path, kind: u8 = A.TLN_HOOK_KPROBE): void {
  const h = expandMacros(cx, h0, hp);
  const hook = new HookM();
  cx.hook = hook;
  hook.kind = kind;
  const callN = h.get("call");
  const call = strOf(callN);
  let def: HookDef | null = null;
  if (callN == null) cx.missing(hp, "call", M.missingField("call", "the kernel function to hook"));
  else if (call != null) {
    hook.call = call;
    if (call.startsWith("list:")) {
      const name = call.substring(5);
      const l = cx.pol.list(name);
      if (l == null) cx.err(hp.k("call"), M.unknownList(name, listNames(cx)));
      else {
        if (l.syscalls) hook.flags |= A.TLN_HOOK_F_SYSCALL;
        // a list of named functions: the loader attaches the hook to each (one instance per
        // member); a generated list would be every syscall or function of the kernel at once
        if (l.generated) addNeed(hook.needs, "a generated list (" + l.type + ") in call (" + call + ")");
        else hook.members = l.values;
      }
    } else {
      if (kind == A.TLN_HOOK_KPROBE) def = findHook(call);
      if (def == null && !isSymbolName(call)) cx.err(hp.k("call"), M.badFunctionName(call));
    }
  }
  cx.def = def;
  if (def != null) hook.id = def.id;
  else {
    hook.id = kind == A.TLN_HOOK_FENTRY ? A.TLN_HOOK_GENERIC_FENTRY : A.TLN_HOOK_GENERIC_KPROBE;
  }

  // syscall: true (the CRD's default): the name is normalised, as Tetragon adds the arch prefix
  if (boolTrue(h.get("syscall")) && call != null && !call.startsWith("list:")) {
    if (def != null) {
      // a seed hook is no syscall: Tetragon warns and goes on, and so does talon
      if (!def.isSyscall) cx.warn(hp.k("syscall"), M.notASyscall(def.name));
      else hook.flags |= A.TLN_HOOK_F_SYSCALL;
    } else if (looksLikeSyscall(call)) {
      // only sys_-style names: the CRD defaults syscall to true on every kprobe (fd_install
      // included), and Tetragon adds the arch prefix to sys_ names only
      hook.flags |= A.TLN_HOOK_F_SYSCALL;
      hook.syscall = syscallBase(call);
      if (hook.syscall.length == 0) cx.err(hp.k("call"), M.badSyscallName(call));
    }
  }
  // which mechanism serves a kprobe, fentry or LSM hook on a function is the loader's
  // question (its catalog, from the kernel's features), not a need of the policy
  const isReturn = compileReturn(cx, h, hp, hook);
  if (isPresent(h.get("ignore"))) {
    const ig = objOf(h.get("ignore"));
    if (ig != null && isPresent(ig.get("callNotFound")) && !ig.get("callNotFound")!.isBool) cx.err(hp.k("ignore").k("callNotFound"), M.expectedBool("callNotFound"));
  }
  compileHookBody(cx, h, hp, hook, def, isReturn);
  finishHook(cx, h, hook);
  cx.pol.hooks.push(hook);
}

/** return, returnArg, returnArgAction (kprobes, fentries, uprobes); true when the hook has a return probe */
export function compileReturn(cx: Ctx, h: Node, hp: Path, hook: HookM): bool {
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
      if (t == 0) cx.err(rap.k("type"), M.unknownArgType(tn, argTypeNames()));
      else {
        hook.retType = t;
        // integers; strings where a return probe reads the pointer (uprobes: user memory)
        const strRet = t == A.TLN_ARG_STRING && hook.kind == A.TLN_HOOK_UPROBE;
        if (t > A.TLN_ARG_UINT16 && isReturn && !strRet) addNeed(hook.needs, "returnArg of type " + tn);
      }
    } else if (ra.get("type") == null) cx.missing(rap, "type", M.missingField("type", "int"));
  }
  const rAct = strOf(h.get("returnArgAction"));
  if (rAct != null) {
    const lc = rAct.toLowerCase();
    if (lc != "tracksock" && lc != "untracksock" && lc != "post") {
      cx.err(hp.k("returnArgAction"), M.unknownFieldValue("returnArgAction", rAct, "TrackSock, UntrackSock, Post"));
    } else if (lc != "post") addNeed(hook.needs, "returnArgAction " + rAct);
  }
  return isReturn;
}

function listNames(cx: Ctx): string {
  const n = new Array<string>();
  for (let i = 0; i < cx.pol.lists.length; i++) n.push(cx.pol.lists[i].name);
  return n.length == 0 ? "none" : n.join(", ");
}

/** message, tags, args, data and selectors of any hook (cx.hook is `hook`) */
export function compileHookBody(cx: Ctx, h: Node, hp: Path, hook: HookM, def: HookDef | null, isReturn: bool): void {
  cx.hookNode = h;
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
  compileArgs(cx, h, hp, hook, def);
  const ndata = compileData(cx, h, hp, hook);

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
      hook.selectors.push(compileSelector(cx, s, slp.i(i), isReturn && hook.retType != 0, ndata));
    }
  } else {
    hook.actionsMask |= 1 << A.TLN_ACT_POST; // every hit posts
  }
}

/** the hook's spec record: what it is attached to, the document as compiled, and its needs */
export function finishHook(cx: Ctx, h: Node, hook: HookM, attach: string = ""): void {
  let s = '{"kind":' + jstr(kindName(hook.kind)) + ',"call":' + jstr(hook.call);
  if (hook.syscall.length > 0) s += ',"syscall":' + jstr(hook.syscall);
  if (hook.members.length > 0) s += ',"members":' + membersJson(hook);
  if (attach.length > 0) s += "," + attach;
  s += ',"spec":' + nodeJson(h) + ',"needs":' + needsJson(hook.needs);
  // the selectors the evaluator decides from the spec record (null: the selector struct says it all)
  let anyEval = false;
  const ev = new Array<string>();
  for (let i = 0; i < hook.selectors.length; i++) {
    const e = hook.selectors[i].evalJson;
    if (e.length > 0) anyEval = true;
    ev.push(e.length > 0 ? e : "null");
  }
  if (anyEval) s += ',"eval":[' + ev.join(",") + "]";
  s += "}";
  hook.spec = s;
}

/** a list hook's members, resolved once for the loader and the evaluator: each value as its
 * call, and for a syscall list its name without arch prefix (as syscall: true gives a call) */
function membersJson(hook: HookM): string {
  const sys = (hook.flags & A.TLN_HOOK_F_SYSCALL) != 0;
  const out = new Array<string>();
  for (let i = 0; i < hook.members.length; i++) {
    const v = hook.members[i];
    out.push('{"call":' + jstr(v) + (sys ? ',"syscall":' + jstr(syscallBase(v)) : "") + "}");
  }
  return "[" + out.join(",") + "]";
}

export function kindName(kind: u8): string {
  if (kind == A.TLN_HOOK_KPROBE) return "kprobe";
  if (kind == A.TLN_HOOK_TRACEPOINT) return "tracepoint";
  if (kind == A.TLN_HOOK_UPROBE) return "uprobe";
  if (kind == A.TLN_HOOK_FENTRY) return "fentry";
  if (kind == A.TLN_HOOK_LSM) return "lsmhook";
  if (kind == A.TLN_HOOK_USDT) return "usdt";
  return "?";
}

// ---- LSM hooks ----

export function compileLsmHook(cx: Ctx, h0: Node, hp: Path): void {
  const h = expandMacros(cx, h0, hp);
  const hook = new HookM();
  cx.hook = hook;
  cx.def = null;
  hook.kind = A.TLN_HOOK_LSM;
  hook.id = A.TLN_HOOK_GENERIC_LSM;
  const n = h.get("hook");
  const name = strOf(n);
  if (n == null) cx.missing(hp, "hook", M.missingField("hook", "the LSM hook without security_, e.g. file_open"));
  else if (name != null) {
    if (name.startsWith("security_")) cx.err(hp.k("hook"), M.lsmHookPrefix(name));
    else if (!isSymbolName(name)) cx.err(hp.k("hook"), M.badLsmHook(name));
    hook.call = name;
  }
  compileHookBody(cx, h, hp, hook, null, false);
  finishHook(cx, h, hook);
  cx.pol.hooks.push(hook);
}

// ---- tracepoints ----

export function compileTracepoint(cx: Ctx, h0: Node, hp: Path): void {
  const h = expandMacros(cx, h0, hp);
  const hook = new HookM();
  cx.hook = hook;
  cx.def = null;
  hook.kind = A.TLN_HOOK_TRACEPOINT;
  hook.id = A.TLN_HOOK_GENERIC_TRACEPOINT;
  const sub = tracefsName(cx, h, hp, "subsystem", "the tracepoint's subsystem, e.g. syscalls");
  const ev = tracefsName(cx, h, hp, "event", "the tracepoint's event, e.g. sys_enter_openat");
  hook.call = sub + "/" + ev;
  if (boolTrue(h.get("raw"))) {
    // served by a BTF tracepoint where the kernel has them (the loader refuses it elsewhere)
    hook.flags |= A.TLN_HOOK_F_RAW;
  }
  compileHookBody(cx, h, hp, hook, null, false);
  finishHook(cx, h, hook, '"tracepoint":{"subsystem":' + jstr(sub) + ',"event":' + jstr(ev) + ',"raw":' + (boolTrue(h.get("raw")) ? "true" : "false") + "}");
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

export function signature(def: HookDef): string {
  return def.name + "(" + def.paramDecl.join(", ") + ")";
}
