// The matchActions entries of a selector, and the names and rate limits they use.
import * as A from "../abi";
import * as M from "../messages";
import { Node } from "../value";
import { Path } from "../diag";
import { parseIntText, parseTyped } from "../parse";
import { ActionM } from "../model";
import { signalValue } from "../names";
import { Ctx } from "./context";
import { strOf, scalarOf, isPresent, boolTrue } from "./nodes";

export function compileAction(cx: Ctx, a: Node, p: Path): ActionM | null {
  const an = a.get("action");
  const s = strOf(an);
  if (an == null) {
    cx.missing(p, "action", M.missingField("action", "Post, NoPost, Sigkill, Signal or Override"));
    return null;
  }
  if (s == null) return null;
  const lc = s.toLowerCase();
  const am = new ActionM();
  if (lc == "post") am.id = A.TLN_ACT_POST;
  else if (lc == "sigkill") am.id = A.TLN_ACT_SIGKILL;
  else if (lc == "signal") am.id = A.TLN_ACT_SIGNAL;
  else if (lc == "override") am.id = A.TLN_ACT_OVERRIDE;
  else if (lc == "nopost") am.id = A.TLN_ACT_NOPOST;
  else {
    if (
      lc == "followfd" || lc == "unfollowfd" || lc == "copyfd" || lc == "geturl" || lc == "dnslookup" ||
      lc == "tracksock" || lc == "untracksock" || lc == "notifyenforcer" ||
      lc == "cleanupenforcernotification" || lc == "set"
    ) cx.err(p.k("action"), M.actionUnsupported(s));
    else cx.err(p.k("action"), M.unknownAction(s));
    return null;
  }
  const name = actionName(am.id);
  let ok = true;

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
  } else if (isPresent(sigN)) cx.warn(p.k("argSig"), M.argIgnored("argSig", name, "Signal"));

  // argError
  const errN = a.get("argError");
  if (am.id == A.TLN_ACT_OVERRIDE) {
    const t = scalarOf(errN);
    if (errN == null || errN.isNull) {
      cx.err(p, M.overrideNeedsArgError());
      ok = false;
    } else if (t != null) {
      const v = parseTyped(t, A.TLN_ARG_INT, "int32");
      if (!v.ok) {
        cx.err(p.k("argError"), M.inValue(t, v.err));
        ok = false;
      } else am.arg = <i32>v.v;
    }
    const def = cx.def;
    if (cx.hook.kind == A.TLN_HOOK_TRACEPOINT || cx.hook.kind == A.TLN_HOOK_UPROBE) {
      cx.err(p.k("action"), M.overrideNotOnHook(cx.hook.kind == A.TLN_HOOK_TRACEPOINT ? "tracepoint" : "uprobe"));
      ok = false;
    } else if (def != null && !def.isSecurity && !def.isSyscall) {
      cx.err(p.k("action"), M.overrideNotAllowed(def.name));
      ok = false;
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
    if (boolTrue(a.get("kernelStackTrace"))) cx.err(p.k("kernelStackTrace"), M.postOptionUnsupported("kernelStackTrace"));
    if (boolTrue(a.get("userStackTrace"))) cx.err(p.k("userStackTrace"), M.postOptionUnsupported("userStackTrace"));
    if (boolTrue(a.get("imaHash"))) cx.err(p.k("imaHash"), M.postOptionUnsupported("imaHash"));
  } else {
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

export function actionName(id: u8): string {
  if (id == A.TLN_ACT_POST) return "Post";
  if (id == A.TLN_ACT_SIGKILL) return "Sigkill";
  if (id == A.TLN_ACT_SIGNAL) return "Signal";
  if (id == A.TLN_ACT_OVERRIDE) return "Override";
  if (id == A.TLN_ACT_NOPOST) return "NoPost";
  return "?";
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
