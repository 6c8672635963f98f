// Policy documents (value trees) -> policy models, with every problem reported.
// Shape (field names, JSON types, required-ness of plain fields) is checked by
// the host's schema; here a node of the wrong shape is skipped silently and
// everything about meaning is checked: enums, value syntax, limits, cross-field
// rules. All message texts live in messages.ts.
// This file holds the document level (apiVersion, kind, metadata, spec.options)
// and hands each part of spec to its file: scope.ts, hooks.ts (which calls
// selectors.ts, values.ts, actions.ts). context.ts is the state they share.
import * as A from "../abi";
import * as M from "../messages";
import { Node } from "../value";
import { Diagnostics, Path } from "../diag";
import { PolicyM, ListM, KIND_CLUSTER, KIND_NAMESPACED } from "../model";
import { jstr } from "../json";
import { nodeJson } from "./spec";
import { compileUprobe, compileUsdt } from "./uprobes";
import { Ctx, CompileOpts } from "./context";
import { strOf, scalarOf, isPresent, objOf, listOf } from "./nodes";
import { parseIntText } from "../parse";
import { compileScope } from "./scope";
import { compileKprobe, compileTracepoint, compileLsmHook } from "./hooks";

export { CompileOpts } from "./context";
export { actionName } from "./actions";

/** the hook sections of spec; a policy uses one of them (Tetragon's rule) */
const HOOK_SECTIONS: StaticArray<string> = ["kprobes", "tracepoints", "lsmhooks", "uprobes", "usdts", "fentries"];

// ---- name syntax ----------------------------------------------------------------

function isAlnumLower(c: i32): bool {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
}

/** RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 63 */
export function isDnsLabel(s: string): bool {
  const n = s.length;
  if (n == 0 || n > 63) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (isAlnumLower(c)) continue;
    if (c == 45 && i > 0 && i < n - 1) continue;
    return false;
  }
  return true;
}

/** RFC 1123 subdomain: labels joined by '.', <= 253 */
export function isDnsSubdomain(s: string): bool {
  if (s.length == 0 || s.length > 253) return false;
  const parts = s.split(".");
  for (let i = 0; i < parts.length; i++) if (!isDnsLabel(parts[i])) return false;
  return true;
}

export class Compiler {
  cx: Ctx;

  constructor(d: Diagnostics, opts: CompileOpts) {
    this.cx = new Ctx(d, opts);
  }

  /** one document; null when the document is empty or hopelessly malformed */
  compileDoc(doc: Node): PolicyM | null {
    const cx = this.cx;
    if (doc.isNull || !doc.isObject) return null;
    const root = Path.root();
    const pol = new PolicyM();
    cx.pol = pol;
    cx.u64Count = 0;

    // apiVersion, kind
    const av = doc.get("apiVersion");
    if (av == null) cx.missing(root, "apiVersion", M.missingField("apiVersion", "cilium.io/v1alpha1"));
    else {
      const s = strOf(av);
      if (s != null && s != "cilium.io/v1alpha1") cx.err(root.k("apiVersion"), M.badApiVersion(s));
    }
    const kn = doc.get("kind");
    if (kn == null) cx.missing(root, "kind", M.missingField("kind", "TracingPolicy or TracingPolicyNamespaced"));
    else {
      const s = strOf(kn);
      if (s != null) {
        if (s == "TracingPolicy") pol.kind = KIND_CLUSTER;
        else if (s == "TracingPolicyNamespaced") pol.kind = KIND_NAMESPACED;
        else cx.err(root.k("kind"), M.badKind(s));
      }
    }

    // metadata
    const md = objOf(doc.get("metadata"));
    const mdp = root.k("metadata");
    if (md == null) {
      if (doc.get("metadata") == null) cx.missing(root, "metadata", M.missingField("metadata", "metadata.name"));
    } else {
      const nn = md.get("name");
      if (nn == null) cx.missing(mdp, "name", M.missingField("name", "the policy name"));
      else {
        const s = strOf(nn);
        if (s != null) {
          pol.name = s;
          if (!isDnsSubdomain(s)) cx.err(mdp.k("name"), M.badPolicyName(s));
        }
      }
      const ns = md.get("namespace");
      if (isPresent(ns)) {
        const s = strOf(ns);
        if (s != null) {
          if (pol.kind == KIND_CLUSTER) cx.err(mdp.k("namespace"), M.clusterWithNamespace(s));
          else {
            pol.namespace = s;
            if (!isDnsLabel(s)) cx.err(mdp.k("namespace"), M.badNamespace(s));
          }
        }
      }
    }
    if (pol.kind == KIND_NAMESPACED && pol.namespace.length == 0) {
      pol.namespace = cx.opts.defaultNamespace;
      if (!isDnsLabel(pol.namespace)) cx.err(mdp, M.badDefaultNamespace(pol.namespace));
    }

    // spec
    const spec = objOf(doc.get("spec"));
    const sp = root.k("spec");
    let specMode: i32 = A.TLN_MODE_ENFORCE;
    if (spec == null) {
      if (doc.get("spec") == null) cx.missing(root, "spec", M.missingField("spec", "spec.kprobes"));
    } else {
      specMode = compileOptions(cx, spec, sp);
      compileScope(cx, spec, sp);
      // one kind of hook per policy, as Tetragon (the first non-empty section wins)
      let first = "";
      for (let s = 0; s < HOOK_SECTIONS.length; s++) {
        const name = HOOK_SECTIONS[s];
        const l = listOf(spec.get(name));
        if (l == null || l.length == 0) continue;
        if (first.length == 0) first = name;
        else cx.err(sp.k(name), M.mixedHookKinds(first, name));
      }
      compileLists(cx, spec, sp);
      cx.macros = objOf(spec.get("selectorsMacros"));
      const kp = listOf(spec.get("kprobes"));
      if (kp != null) {
        const kpp = sp.k("kprobes");
        for (let i = 0; i < kp.length; i++) {
          const h = objOf(kp.at(i));
          if (h == null) continue;
          if (i >= A.TLN_MAX_HOOKS) {
            cx.err(kpp.i(i), M.tooManyHooks(kp.length, A.TLN_MAX_HOOKS));
            break;
          }
          compileKprobe(cx, h, kpp.i(i));
        }
      }
      const fe = listOf(spec.get("fentries"));
      if (fe != null) {
        const fep = sp.k("fentries");
        for (let i = 0; i < fe.length; i++) {
          const h = objOf(fe.at(i));
          if (h == null) continue;
          if (pol.hooks.length >= A.TLN_MAX_HOOKS) {
            cx.err(fep.i(i), M.tooManyHooksOf(pol.hooks.length + fe.length - i, "fentries", A.TLN_MAX_HOOKS));
            break;
          }
          compileKprobe(cx, h, fep.i(i), A.TLN_HOOK_FENTRY);
        }
      }
      const lsm = listOf(spec.get("lsmhooks"));
      if (lsm != null) {
        const lp = sp.k("lsmhooks");
        for (let i = 0; i < lsm.length; i++) {
          const h = objOf(lsm.at(i));
          if (h == null) continue;
          if (pol.hooks.length >= A.TLN_MAX_HOOKS) {
            cx.err(lp.i(i), M.tooManyHooksOf(pol.hooks.length + lsm.length - i, "lsmhooks", A.TLN_MAX_HOOKS));
            break;
          }
          compileLsmHook(cx, h, lp.i(i));
        }
      }
      const us = listOf(spec.get("usdts"));
      if (us != null) {
        const usp = sp.k("usdts");
        if (us.length > 0 && pol.kind == KIND_NAMESPACED) cx.err(usp, M.uprobesNamespaced());
        for (let i = 0; i < us.length; i++) {
          const h = objOf(us.at(i));
          if (h == null) continue;
          if (pol.hooks.length >= A.TLN_MAX_HOOKS) {
            cx.err(usp.i(i), M.tooManyHooksOf(pol.hooks.length + us.length - i, "usdts", A.TLN_MAX_HOOKS));
            break;
          }
          compileUsdt(cx, h, usp.i(i));
        }
      }
      const enfl = listOf(spec.get("enforcers"));
      if (enfl != null && enfl.length > 1) cx.err(sp.k("enforcers").i(1), M.enforcersOne(enfl.length));
      if (pol.notifiesEnforcer && (enfl == null || enfl.length == 0)) cx.err(sp, M.notifyWithoutEnforcer());
      pol.spec = policySpecJson(spec);
      const tp = listOf(spec.get("tracepoints"));
      if (tp != null) {
        const tpp = sp.k("tracepoints");
        for (let i = 0; i < tp.length; i++) {
          const h = objOf(tp.at(i));
          if (h == null) continue;
          if (pol.hooks.length >= A.TLN_MAX_HOOKS) {
            cx.err(tpp.i(i), M.tooManyHooksOf(pol.hooks.length + tp.length - i, "tracepoints", A.TLN_MAX_HOOKS));
            break;
          }
          compileTracepoint(cx, h, tpp.i(i));
        }
      }
      const up = listOf(spec.get("uprobes"));
      if (up != null) {
        const upp = sp.k("uprobes");
        if (up.length > 0 && pol.kind == KIND_NAMESPACED) cx.err(upp, M.uprobesNamespaced());
        for (let i = 0; i < up.length; i++) {
          const h = objOf(up.at(i));
          if (h == null) continue;
          compileUprobe(cx, h, upp.i(i));
        }
      }
      if (pol.hooks.length == 0 && first.length == 0) cx.warn(sp, M.noHooks());
    }

    // mode: spec option < load-time option; monitor_only without enforcement actions
    let enforcing = false;
    // Tetragon's HasEnforcementAction: Sigkill, Signal, Override, NotifyEnforcer, Set
    const enf: u16 = (1 << A.TLN_ACT_SIGKILL) | (1 << A.TLN_ACT_SIGNAL) | (1 << A.TLN_ACT_OVERRIDE) |
      (1 << A.TLN_ACT_NOTIFY_ENFORCER) | (1 << A.TLN_ACT_SET);
    for (let i = 0; i < pol.hooks.length; i++) if ((pol.hooks[i].actionsMask & enf) != 0) enforcing = true;
    let mode = cx.opts.mode >= 0 ? cx.opts.mode : specMode;
    if (!enforcing) {
      if (cx.opts.mode >= 0) cx.warn(root, M.loadModeOnMonitorOnly(pol.name, cx.opts.mode == A.TLN_MODE_ENFORCE ? "enforce" : "monitor"));
      mode = A.TLN_MODE_MONITOR_ONLY;
    }
    pol.mode = <u8>mode;
    return pol;
  }
}

// ---- spec.options ----

export function compileOptions(cx: Ctx, spec: Node, sp: Path): i32 {
  let mode: i32 = A.TLN_MODE_ENFORCE;
  const ol = listOf(spec.get("options"));
  if (ol == null) return mode;
  const op = sp.k("options");
  let seenMode = false;
  for (let i = 0; i < ol.length; i++) {
    const o = objOf(ol.at(i));
    if (o == null) continue;
    const name = strOf(o.get("name"));
    if (name == null) continue;
    const p = op.i(i);
    if (name == "policy-mode") {
      if (seenMode) cx.err(p.k("name"), M.duplicateOption(name));
      seenMode = true;
      const v = scalarOf(o.get("value"));
      if (v == null) {
        if (o.get("value") == null) cx.err(p, M.optionNeedsValue(name, "enforce or monitor"));
        continue;
      }
      if (v == "enforce") mode = A.TLN_MODE_ENFORCE;
      else if (v == "monitor") mode = A.TLN_MODE_MONITOR;
      else cx.err(p.k("value"), M.badPolicyMode(v));
    } else if (name == "disable-kprobe-multi" || name == "disable-uprobe-multi") {
      // a flag: Tetragon reads any value as set; talon attaches one program per function anyway
      const v = scalarOf(o.get("value"));
      if (v != null && v != "" && v != "true" && v != "1" && v != "false" && v != "0") cx.err(p.k("value"), M.badOptionValue(name, v, "true or false"));
    } else if (name == "override-method") {
      const v = scalarOf(o.get("value"));
      if (v == null) cx.err(p, M.optionNeedsValue(name, "fmod-ret or override-return"));
      else if (v != "fmod-ret" && v != "override-return") cx.err(p.k("value"), M.badOptionValue(name, v, "fmod-ret or override-return"));
    } else if (name == "sleepable-preload-size") {
      const v = scalarOf(o.get("value"));
      if (v == null) cx.err(p, M.optionNeedsValue(name, "a size in bytes"));
      else {
        const n = parseIntText(v);
        if (!n.ok || n.neg) cx.err(p.k("value"), M.badOptionValue(name, v, "a size in bytes"));
      }
    } else {
      // Tetragon ignores unknown names silently; talon says so
      cx.warn(p.k("name"), M.unknownOptionWarn(name));
    }
  }
  return mode;
}

/** the spec.options names talon reads (others warn, as Tetragon ignores them) */
export const OPTION_NAMES: StaticArray<string> = ["policy-mode", "disable-kprobe-multi", "disable-uprobe-multi", "override-method", "sleepable-preload-size"];

// ---- spec.lists ----

/** spec.lists: named sets of functions (syscalls, generated_syscalls, generated_ftrace) for list:NAME */
export function compileLists(cx: Ctx, spec: Node, sp: Path): void {
  const ll = listOf(spec.get("lists"));
  if (ll == null) return;
  const lp = sp.k("lists");
  for (let i = 0; i < ll.length; i++) {
    const l = objOf(ll.at(i));
    if (l == null) continue;
    const p = lp.i(i);
    const name = strOf(l.get("name"));
    if (l.get("name") == null) cx.missing(p, "name", M.missingField("name", "the list name used as list:NAME"));
    if (name == null) continue;
    if (cx.pol.list(name) != null) cx.err(p.k("name"), M.duplicateList(name));
    const tn = strOf(l.get("type"));
    // no type: a list of function names (Tetragon's ListTypeNone), not of syscalls
    let type = tn == null ? "" : tn.toLowerCase();
    const known = type == "" || type == "syscalls" || type == "generated_syscalls" || type == "generated_ftrace";
    if (!known) cx.err(p.k("type"), M.unknownFieldValue("list type", tn!, "syscalls, generated_syscalls, generated_ftrace"));
    const vals = new Array<string>();
    const vl = listOf(l.get("values"));
    if (vl != null) for (let j = 0; j < vl.length; j++) {
      const v = strOf(vl.at(j));
      if (v != null) vals.push(v);
    }
    const lm = new ListM(name, type, vals);
    // no follow-on error for a type already refused
    if (known && !lm.generated && vals.length == 0) cx.err(p, M.listNeedsValues(name, type));
    cx.pol.lists.push(lm);
  }
}

/** the policy's spec record: every spec field that is not a hook section or scoping */
function policySpecJson(spec: Node): string {
  const out = new Array<string>();
  for (let i = 0; i < spec.length; i++) {
    const k = spec.keyAt(i);
    if (HOOK_SECTIONS.includes(k) || k == "podSelector" || k == "containerSelector" || k == "hostSelector") continue;
    out.push(jstr(k) + ":" + nodeJson(spec.at(i)));
  }
  return "{" + out.join(",") + "}";
}
