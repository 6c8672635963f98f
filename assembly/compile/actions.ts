// The matchActions entries of a selector, and the names and rate limits they use.
import * as A from "../abi";
import * as M from "../messages";
import { Node } from "../value";
import { Path } from "../diag";
import { parseIntText, parseTyped } from "../parse";
import { ActionM } from "../model";
import { signalValue } from "../names";
import { Ctx } from "./context";
import { addNeed } from "./spec";
import { strOf, scalarOf, isPresent, boolTrue, smallInt } from "./nodes";

export function compileAction(cx: Ctx, a: Node, p: Path): ActionM | null {
  const an = a.get("action");
  const s = strOf(an);
  if (an == null) {
    cx.missing(p, "action", M.missingField("action", "Post, NoPost, Sigkill, Signal or Override"));
    return null;
  }
  if (s == null) return null;
  const am = new ActionM();
  const id = actionIdOf(s);
  if (id < 0) {
    const lc = s.toLowerCase();
    // removed from Tetragon at HEAD (unsafe fd tracking); refused there too
    if (lc == "followfd" || lc == "unfollowfd" || lc == "copyfd") cx.err(p.k("action"), M.actionRemoved(s));
    else cx.err(p.k("action"), M.unknownAction(s));
    return null;
  }
  am.id = <u8>id;
  const name = actionName(am.id);
  let ok = true;
  const kind = cx.hook.kind;
  ok = compileActionArgs(cx, a, p, am, name, kind) && ok;

  // argSig
  const sigN = a.get("argSig");
  if (am.id == A.TLN_ACT_SIGNAL) {
    const t = scalarOf(sigN);
    if (sigN == null || sigN.isNull) {
      cx.err(p, M.signalNeedsArgSig());
      ok = false;
    } else if (t != null) {
      const v = signalValue(t);
      if (v < 0) {
        cx.err(p.k("argSig"), M.badSignal(t));
        ok = false;
      } else am.arg = v;
    }
  } else if (am.id == A.TLN_ACT_NOTIFY_ENFORCER) {
    const t = scalarOf(sigN);
    if (t != null && signalValue(t) < 0) {
      cx.err(p.k("argSig"), M.badSignal(t));
      ok = false;
    } else if (t != null) am.sig = signalValue(t);
  } else if (isPresent(sigN)) cx.warn(p.k("argSig"), M.argIgnored("argSig", name, "Signal"));

  // argError
  const errN = a.get("argError");
  if (am.id == A.TLN_ACT_OVERRIDE) {
    const t = scalarOf(errN);
    const uprobeAlt = cx.hook.kind == A.TLN_HOOK_UPROBE &&
      (isPresent(a.get("argRegs")) || isPresent(a.get("argNewSymbol")) || isPresent(a.get("argNewAddr")) || isPresent(a.get("argNewOffset")));
    if (uprobeAlt && (errN == null || errN.isNull)) {
      // uprobe override by registers or a new target: no error value
    } else if (errN == null || errN.isNull) {
      cx.err(p, M.overrideNeedsArgError());
      ok = false;
    } else if (t != null) {
      const v = parseTyped(t, A.TLN_ARG_INT, "int32");
      if (!v.ok) {
        cx.err(p.k("argError"), M.inValue(t, v.err));
        ok = false;
      } else am.arg = <i32>v.v;
    }
    if (cx.hook.kind == A.TLN_HOOK_TRACEPOINT || cx.hook.kind == A.TLN_HOOK_USDT) {
      cx.err(p.k("action"), M.overrideNotOnHook(cx.hook.kind == A.TLN_HOOK_TRACEPOINT ? "tracepoint" : "usdt"));
      ok = false;
    } else if (cx.hook.kind == A.TLN_HOOK_KPROBE || cx.hook.kind == A.TLN_HOOK_FENTRY) {
      // Tetragon: only syscalls (error-injection allow-list) and security_* hooks
      const c = cx.hook.call;
      if (!c.startsWith("security_") && (cx.hook.flags & A.TLN_HOOK_F_SYSCALL) == 0 && !c.startsWith("list:")) {
        cx.err(p.k("action"), M.overrideNotAllowed(c));
        ok = false;
      }
    }
  } else if (am.id == A.TLN_ACT_NOTIFY_ENFORCER) {
    const t = scalarOf(errN);
    if (t != null) {
      const v = parseTyped(t, A.TLN_ARG_INT, "int32");
      if (!v.ok) {
        cx.err(p.k("argError"), M.inValue(t, v.err));
        ok = false;
      } else am.arg = <i32>v.v;
    }
  } else if (isPresent(errN)) cx.warn(p.k("argError"), M.argIgnored("argError", name, "Override"));

  // rate limit
  const rlN = a.get("rateLimit");
  const rsN = a.get("rateLimitScope");
  if (am.id == A.TLN_ACT_POST) {
    const t = scalarOf(rlN);
    if (t != null) {
      const ns = rateLimitNs(t);
      if (ns == 0) {
        cx.err(p.k("rateLimit"), M.badRateLimit(t));
        ok = false;
      } else am.rateNs = ns;
    }
    const sc = strOf(rsN);
    if (sc != null) {
      if (sc == "thread") am.rlScope = A.TLN_RL_THREAD;
      else if (sc == "process") am.rlScope = A.TLN_RL_PROCESS;
      else if (sc == "global") am.rlScope = A.TLN_RL_GLOBAL;
      else {
        cx.err(p.k("rateLimitScope"), M.badRateLimitScope(sc));
        ok = false;
      }
      if (t == null) cx.warn(p.k("rateLimitScope"), M.scopeWithoutRateLimit());
    }
    // stack traces and IMA hashes: kprobes and LSM hooks (Tetragon's rule); carried in the spec record
    if (boolTrue(a.get("kernelStackTrace")) || boolTrue(a.get("userStackTrace"))) {
      if (kind != A.TLN_HOOK_KPROBE && kind != A.TLN_HOOK_FENTRY && kind != A.TLN_HOOK_UPROBE && kind != A.TLN_HOOK_TRACEPOINT) {
        cx.err(p.k(boolTrue(a.get("kernelStackTrace")) ? "kernelStackTrace" : "userStackTrace"), M.stackTraceNotOnHook(hookKindName(kind)));
        ok = false;
      }
    }
    if (boolTrue(a.get("imaHash")) && kind != A.TLN_HOOK_LSM && kind != A.TLN_HOOK_KPROBE && kind != A.TLN_HOOK_FENTRY) {
      cx.err(p.k("imaHash"), M.imaHashNotOnHook(hookKindName(kind)));
      ok = false;
    }
    // what the event would carry that no BPF program collects yet: refused at load, never a Post without it
    for (let i = 0; i < POST_ONLY.length; i++) if (boolTrue(a.get(POST_ONLY[i]))) addNeed(cx.hook.needs, "Post " + POST_ONLY[i]);
  } else {
    for (let i = 0; i < POST_ONLY.length; i++) {
      if (boolTrue(a.get(POST_ONLY[i]))) cx.warn(p.k(POST_ONLY[i]), M.argIgnored(POST_ONLY[i], name, "Post"));
    }
    if (isPresent(rlN)) {
      cx.err(p.k("rateLimit"), M.rateLimitOnlyPost(name));
      ok = false;
    }
    if (isPresent(rsN)) {
      cx.err(p.k("rateLimitScope"), M.rateLimitOnlyPost(name));
      ok = false;
    }
  }
  return ok ? am : null;
}

const POST_ONLY: StaticArray<string> = ["kernelStackTrace", "userStackTrace", "imaHash"];

const ACTION_NAMES: StaticArray<string> = [
  "Post", "Sigkill", "Override", "GetUrl", "DnsLookup", "NoPost", "Signal", "TrackSock", "UntrackSock",
  "NotifyEnforcer", "CleanupEnforcerNotification", "Set",
];
const ACTION_IDS: StaticArray<u8> = [
  A.TLN_ACT_POST, A.TLN_ACT_SIGKILL, A.TLN_ACT_OVERRIDE, A.TLN_ACT_GETURL, A.TLN_ACT_DNSLOOKUP, A.TLN_ACT_NOPOST,
  A.TLN_ACT_SIGNAL, A.TLN_ACT_TRACKSOCK, A.TLN_ACT_UNTRACKSOCK, A.TLN_ACT_NOTIFY_ENFORCER,
  A.TLN_ACT_CLEANUP_ENFORCER_NOTIFICATION, A.TLN_ACT_SET,
];

/** enum tln_action_id of a Tetragon action name (case-insensitive), or -1 */
export function actionIdOf(s: string): i32 {
  const lc = s.toLowerCase();
  for (let i = 0; i < ACTION_NAMES.length; i++) if (ACTION_NAMES[i].toLowerCase() == lc) return <i32>ACTION_IDS[i];
  return -1;
}

/** the actions as JSON [[name, id, served by the BPF programs], ...] */
export function actionsJson(): string {
  const o = new Array<string>();
  for (let i = 0; i < ACTION_NAMES.length; i++) o.push('["' + ACTION_NAMES[i] + '",' + ACTION_IDS[i].toString() + "," + (isSeedAction(ACTION_IDS[i]) ? "true" : "false") + "]");
  return "[" + o.join(",") + "]";
}

export function actionNames(): string {
  return ACTION_NAMES.join(", ");
}

export function actionName(id: u8): string {
  for (let i = 0; i < ACTION_IDS.length; i++) if (ACTION_IDS[i] == id) return ACTION_NAMES[i];
  return "?";
}

/** the actions the seed's BPF programs and evaluator carry out */
export function isSeedAction(id: u8): bool {
  return id == A.TLN_ACT_POST || id == A.TLN_ACT_SIGKILL || id == A.TLN_ACT_SIGNAL || id == A.TLN_ACT_OVERRIDE ||
    id == A.TLN_ACT_NOPOST;
}

export function hookKindName(kind: u8): string {
  if (kind == A.TLN_HOOK_KPROBE) return "kprobe";
  if (kind == A.TLN_HOOK_TRACEPOINT) return "tracepoint";
  if (kind == A.TLN_HOOK_UPROBE) return "uprobe";
  if (kind == A.TLN_HOOK_FENTRY) return "fentry";
  if (kind == A.TLN_HOOK_LSM) return "lsmhook";
  if (kind == A.TLN_HOOK_USDT) return "usdt";
  return "?";
}

/** a required action argument, or null (reported) */
function needArg(cx: Ctx, a: Node, p: Path, name: string, field: string, hint: string): Node | null {
  const n = a.get(field);
  if (n == null || n.isNull) {
    cx.missing(p, field, M.actionNeedsArg(name, field, hint));
    return null;
  }
  return n;
}

/** the arguments of the actions added after the seed: argUrl, argFqdn, argSock, argIndex/argValue,
 * argRegs/argNew*, and where Tetragon allows each action. Returns false on an error. */
function compileActionArgs(cx: Ctx, a: Node, p: Path, am: ActionM, name: string, kind: u8): bool {
  let ok = true;
  const id = am.id;
  if (id == A.TLN_ACT_GETURL || id == A.TLN_ACT_DNSLOOKUP) {
    const f = id == A.TLN_ACT_GETURL ? "argUrl" : "argFqdn";
    const n = needArg(cx, a, p, name, f, id == A.TLN_ACT_GETURL ? "the URL to fetch" : "the name to look up");
    if (n == null) ok = false;
    else {
      const t = strOf(n);
      if (t != null && t.length == 0) {
        cx.err(p.k(f), M.emptyActionArg(name, f));
        ok = false;
      }
    }
    if (kind == A.TLN_HOOK_UPROBE || kind == A.TLN_HOOK_USDT) {
      cx.err(p.k("action"), M.actionNotOnHook(name, hookKindName(kind)));
      ok = false;
    }
  } else if (id == A.TLN_ACT_TRACKSOCK || id == A.TLN_ACT_UNTRACKSOCK) {
    // argSock defaults to 0 (the CRD's zero value), as in Tetragon's examples
    const n = a.get("argSock");
    if (n != null && !n.isNull) {
      const v = smallInt(n);
      if (v < 0 || v >= A.TLN_MAX_ARGS) {
        cx.err(p.k("argSock"), M.badActionArgIndex(name, "argSock", n.text));
        ok = false;
      } else am.arg = v;
    }
  } else if (id == A.TLN_ACT_NOTIFY_ENFORCER) {
    if (kind == A.TLN_HOOK_UPROBE || kind == A.TLN_HOOK_USDT) {
      cx.err(p.k("action"), M.actionNotOnHook(name, hookKindName(kind)));
      ok = false;
    }
    cx.pol.notifiesEnforcer = true;
  } else if (id == A.TLN_ACT_SET) {
    if (kind != A.TLN_HOOK_USDT) {
      cx.err(p.k("action"), M.actionNotOnHook(name, hookKindName(kind)));
      ok = false;
    }
    const n = needArg(cx, a, p, name, "argIndex", "the USDT argument to write");
    if (n != null) {
      const v = smallInt(n);
      if (v < 0 || v > 255) {
        cx.err(p.k("argIndex"), M.badActionArgIndex(name, "argIndex", n.text));
        ok = false;
      } else am.arg = v;
    } else ok = false;
    const vn = needArg(cx, a, p, name, "argValue", "the value to write");
    if (vn == null) ok = false;
    else {
      const t = scalarOf(vn);
      if (t != null) {
        const v = parseTyped(t, A.TLN_ARG_SINT64, "int64");
        if (!v.ok) {
          cx.err(p.k("argValue"), M.inValue(t, v.err));
          ok = false;
        }
      }
    }
  } else if (id == A.TLN_ACT_OVERRIDE && kind == A.TLN_HOOK_UPROBE) {
    // uprobes: argError or argRegs, and at most one of argNewSymbol / argNewAddr / argNewOffset
    let news = 0;
    if (isPresent(a.get("argNewSymbol"))) news++;
    if (isPresent(a.get("argNewAddr"))) news++;
    if (isPresent(a.get("argNewOffset"))) news++;
    if (news > 1) {
      cx.err(p, M.overrideOneNewTarget());
      ok = false;
    }
    const regs = a.get("argRegs");
    if (regs != null && regs.isArray) {
      for (let i = 0; i < regs.length; i++) {
        const r = strOf(regs.at(i));
        if (r == null) continue;
        const eq = r.indexOf("=");
        if (eq <= 0 || eq == r.length - 1) {
          cx.err(p.k("argRegs").i(i), M.badArgReg(r));
          ok = false;
        }
      }
    }
  }
  if (id != A.TLN_ACT_OVERRIDE) {
    const ov: StaticArray<string> = ["argRegs", "argNewSymbol", "argNewAddr", "argNewOffset"];
    for (let i = 0; i < ov.length; i++) if (isPresent(a.get(ov[i]))) cx.warn(p.k(ov[i]), M.argIgnored(ov[i], name, "Override"));
  } else if (kind != A.TLN_HOOK_UPROBE) {
    const ov: StaticArray<string> = ["argRegs", "argNewSymbol", "argNewAddr", "argNewOffset"];
    for (let i = 0; i < ov.length; i++) if (isPresent(a.get(ov[i]))) {
      cx.err(p.k(ov[i]), M.overrideUprobeOnly(ov[i]));
      ok = false;
    }
  }
  if (kind == A.TLN_HOOK_LSM) {
    // Tetragon's isValidLsmSelectors: Post, NoPost, Sigkill, Signal, Override only
    if (id != A.TLN_ACT_POST && id != A.TLN_ACT_NOPOST && id != A.TLN_ACT_SIGKILL && id != A.TLN_ACT_SIGNAL && id != A.TLN_ACT_OVERRIDE) {
      cx.err(p.k("action"), M.actionNotOnHook(name, "lsmhook"));
      ok = false;
    }
  }
  return ok;
}

/** "N" (seconds), "Ns", "Nm", "Nh" -> ns; 0 when invalid */
export function rateLimitNs(t: string): u64 {
  if (t.length == 0) return 0;
  let mult: u64 = 1000000000;
  let num = t;
  const last = t.charCodeAt(t.length - 1) | 0x20;
  if (last == 115 /* s */) num = t.substring(0, t.length - 1);
  else if (last == 109 /* m */) {
    num = t.substring(0, t.length - 1);
    mult = 60 * 1000000000;
  } else if (last == 104 /* h */) {
    num = t.substring(0, t.length - 1);
    mult = 3600 * <u64>1000000000;
  }
  if (num.length == 0) return 0;
  for (let i = 0; i < num.length; i++) {
    const c = num.charCodeAt(i);
    if (c < 48 || c > 57) return 0;
  }
  const v = parseIntText(num);
  if (!v.ok || v.mag == 0 || v.mag > 1000000000) return 0;
  return v.mag * mult;
}
