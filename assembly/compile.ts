// Policy documents (value trees) -> policy models, with every problem reported.
// Shape (field names, JSON types, required-ness of plain fields) is checked by
// the host's schema; here a node of the wrong shape is skipped silently and
// everything about meaning is checked: enums, value syntax, limits, cross-field
// rules. All message texts live in messages.ts.
import * as A from "./abi";
import * as M from "./messages";
import { Node, V_INT, V_FLOAT, V_STRING } from "./value";
import { Diagnostics, Path } from "./diag";
import { HookDef, findHook, hookNames } from "./hooks";
import {
  argTypeOf, isKnownUnsupportedType, argTypeNames, argTypeName, category, CAT_INT, CAT_STR,
} from "./argtypes";
import {
  opLookup, opName, opsFor, opIn, opList, allOpNames, isNegated, OP_UNKNOWN, OP_UNSUPPORTED, BIN_OPS,
} from "./operators";
import {
  parseIntText, parseTyped, normalize, lessEq, rangeColon, parseCidr, isIntType,
} from "./parse";
import {
  PolicyM, HookM, HookArgM, SelectorM, FilterM, ActionM, TermM, KIND_CLUSTER, KIND_NAMESPACED,
  TERM_IN, TERM_NOT_IN, TERM_EXISTS, TERM_DOES_NOT_EXIST,
} from "./model";
import { protocolValue, familyValue, stateValue, signalValue } from "./names";

export const MAX_U64_ENTRIES: i32 = 65536; // InMap/NotInMap values per policy (ranges expanded)
export const MAX_MESSAGE: i32 = 256;
export const MAX_TAGS: i32 = 16;
/** uprobe args: the first 6 integer-register arguments (x86-64 and arm64 ABIs) */
export const MAX_UPROBE_ARG: i32 = 5;

/** the hook sections of spec; a policy uses one of them (Tetragon's rule) */
const HOOK_SECTIONS: StaticArray<string> = ["kprobes", "tracepoints", "uprobes"];
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

export class CompileOpts {
  defaultNamespace: string = "";
  mode: i32 = -1; // -1 none, else TLN_MODE_ENFORCE / TLN_MODE_MONITOR
}

// ---- node helpers -------------------------------------------------------------

function strOf(n: Node | null): string | null {
  if (n == null || n.tag != V_STRING) return null;
  return n.text;
}

/** a scalar usable as a value (string or number), as text */
function scalarOf(n: Node | null): string | null {
  if (n == null) return null;
  if (n.tag == V_STRING || n.tag == V_INT || n.tag == V_FLOAT) return n.text;
  return null;
}

function isPresent(n: Node | null): bool {
  return n != null && !n.isNull;
}

function objOf(n: Node | null): Node | null {
  if (n == null || !n.isObject) return null;
  return n;
}

function listOf(n: Node | null): Node | null {
  if (n == null || !n.isArray) return null;
  return n;
}

function boolTrue(n: Node | null): bool {
  return n != null && n.isTrue;
}

/** small non-negative int node -> value, or -1 */
function smallInt(n: Node | null): i32 {
  if (n == null || n.tag != V_INT) return -1;
  const v = parseIntText(n.text);
  if (!v.ok || v.neg || v.mag > 1000000) return -1;
  return <i32>v.mag;
}

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

// ---- the compiler ---------------------------------------------------------------

export class Compiler {
  d: Diagnostics;
  opts: CompileOpts;
  // per policy
  pol: PolicyM = new PolicyM();
  hook: HookM = new HookM();
  def: HookDef | null = null;
  u64Count: i32 = 0;

  constructor(d: Diagnostics, opts: CompileOpts) {
    this.d = d;
    this.opts = opts;
  }

  err(p: Path, msg: string): void {
    this.d.error(p, msg);
  }
  /** a required field absent from the map at p */
  missing(p: Path, field: string, msg: string): void {
    this.d.missing(p, field, msg);
  }
  warn(p: Path, msg: string): void {
    this.d.warning(p, msg);
  }

  /** one document; null when the document is empty or hopelessly malformed */
  compileDoc(doc: Node): PolicyM | null {
    if (doc.isNull || !doc.isObject) return null;
    const root = Path.root();
    const pol = new PolicyM();
    this.pol = pol;
    this.u64Count = 0;

    // apiVersion, kind
    const av = doc.get("apiVersion");
    if (av == null) this.missing(root, "apiVersion", M.missingField("apiVersion", "cilium.io/v1alpha1"));
    else {
      const s = strOf(av);
      if (s != null && s != "cilium.io/v1alpha1") this.err(root.k("apiVersion"), M.badApiVersion(s));
    }
    const kn = doc.get("kind");
    if (kn == null) this.missing(root, "kind", M.missingField("kind", "TracingPolicy or TracingPolicyNamespaced"));
    else {
      const s = strOf(kn);
      if (s != null) {
        if (s == "TracingPolicy") pol.kind = KIND_CLUSTER;
        else if (s == "TracingPolicyNamespaced") pol.kind = KIND_NAMESPACED;
        else this.err(root.k("kind"), M.badKind(s));
      }
    }

    // metadata
    const md = objOf(doc.get("metadata"));
    const mdp = root.k("metadata");
    if (md == null) {
      if (doc.get("metadata") == null) this.missing(root, "metadata", M.missingField("metadata", "metadata.name"));
    } else {
      const nn = md.get("name");
      if (nn == null) this.missing(mdp, "name", M.missingField("name", "the policy name"));
      else {
        const s = strOf(nn);
        if (s != null) {
          pol.name = s;
          if (!isDnsSubdomain(s)) this.err(mdp.k("name"), M.badPolicyName(s));
        }
      }
      const ns = md.get("namespace");
      if (isPresent(ns)) {
        const s = strOf(ns);
        if (s != null) {
          if (pol.kind == KIND_CLUSTER) this.err(mdp.k("namespace"), M.clusterWithNamespace(s));
          else {
            pol.namespace = s;
            if (!isDnsLabel(s)) this.err(mdp.k("namespace"), M.badNamespace(s));
          }
        }
      }
    }
    if (pol.kind == KIND_NAMESPACED && pol.namespace.length == 0) {
      pol.namespace = this.opts.defaultNamespace;
      if (!isDnsLabel(pol.namespace)) this.err(mdp, M.badDefaultNamespace(pol.namespace));
    }

    // spec
    const spec = objOf(doc.get("spec"));
    const sp = root.k("spec");
    let specMode: i32 = A.TLN_MODE_ENFORCE;
    if (spec == null) {
      if (doc.get("spec") == null) this.missing(root, "spec", M.missingField("spec", "spec.kprobes"));
    } else {
      specMode = this.compileOptions(spec, sp);
      this.compileScope(spec, sp);
      // one kind of hook per policy, as Tetragon (the first non-empty section wins)
      let first = "";
      for (let s = 0; s < HOOK_SECTIONS.length; s++) {
        const name = HOOK_SECTIONS[s];
        const l = listOf(spec.get(name));
        if (l == null || l.length == 0) continue;
        if (first.length == 0) first = name;
        else this.err(sp.k(name), M.mixedHookKinds(first, name));
      }
      const kp = listOf(spec.get("kprobes"));
      if (kp != null) {
        const kpp = sp.k("kprobes");
        for (let i = 0; i < kp.length; i++) {
          const h = objOf(kp.at(i));
          if (h == null) continue;
          if (i >= A.TLN_MAX_HOOKS) {
            this.err(kpp.i(i), M.tooManyHooks(kp.length, A.TLN_MAX_HOOKS));
            break;
          }
          this.compileKprobe(h, kpp.i(i));
        }
      }
      const tp = listOf(spec.get("tracepoints"));
      if (tp != null) {
        const tpp = sp.k("tracepoints");
        for (let i = 0; i < tp.length; i++) {
          const h = objOf(tp.at(i));
          if (h == null) continue;
          if (pol.hooks.length >= A.TLN_MAX_HOOKS) {
            this.err(tpp.i(i), M.tooManyHooksOf(pol.hooks.length + tp.length - i, "tracepoints", A.TLN_MAX_HOOKS));
            break;
          }
          this.compileTracepoint(h, tpp.i(i));
        }
      }
      const up = listOf(spec.get("uprobes"));
      if (up != null) {
        const upp = sp.k("uprobes");
        if (up.length > 0 && pol.kind == KIND_NAMESPACED) this.err(upp, M.uprobesNamespaced());
        for (let i = 0; i < up.length; i++) {
          const h = objOf(up.at(i));
          if (h == null) continue;
          this.compileUprobe(h, upp.i(i));
        }
      }
      if (pol.hooks.length == 0 && first.length == 0) this.warn(sp, M.noHooks());
    }

    // mode: spec option < load-time option; monitor_only without enforcement actions
    let enforcing = false;
    const enf: u16 = (1 << A.TLN_ACT_SIGKILL) | (1 << A.TLN_ACT_SIGNAL) | (1 << A.TLN_ACT_OVERRIDE);
    for (let i = 0; i < pol.hooks.length; i++) if ((pol.hooks[i].actionsMask & enf) != 0) enforcing = true;
    let mode = this.opts.mode >= 0 ? this.opts.mode : specMode;
    if (!enforcing) {
      if (this.opts.mode >= 0) this.warn(root, M.loadModeOnMonitorOnly(pol.name, this.opts.mode == A.TLN_MODE_ENFORCE ? "enforce" : "monitor"));
      mode = A.TLN_MODE_MONITOR_ONLY;
    }
    pol.mode = <u8>mode;
    return pol;
  }

  // ---- spec.options ----

  compileOptions(spec: Node, sp: Path): i32 {
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
        if (seenMode) this.err(p.k("name"), M.duplicateOption(name));
        seenMode = true;
        const v = scalarOf(o.get("value"));
        if (v == null) {
          if (o.get("value") == null) this.err(p, M.optionNeedsValue(name, "enforce or monitor"));
          continue;
        }
        if (v == "enforce") mode = A.TLN_MODE_ENFORCE;
        else if (v == "monitor") mode = A.TLN_MODE_MONITOR;
        else this.err(p.k("value"), M.badPolicyMode(v));
      } else if (
        name == "disable-kprobe-multi" || name == "disable-uprobe-multi" || name == "override-method" ||
        name == "sleepable-preload-size"
      ) {
        this.err(p.k("name"), M.optionUnsupported(name));
      } else {
        this.err(p.k("name"), M.unknownOption(name));
      }
    }
    return mode;
  }

  // ---- scoping ----

  compileScope(spec: Node, sp: Path): void {
    const pol = this.pol;
    const ps = spec.get("podSelector");
    if (isPresent(ps) && ps!.isObject) pol.podSel = this.labelSelector(ps!, sp.k("podSelector"), false);
    const cs = spec.get("containerSelector");
    if (isPresent(cs) && cs!.isObject) pol.contSel = this.labelSelector(cs!, sp.k("containerSelector"), true);
    const hs = spec.get("hostSelector");
    if (isPresent(hs) && hs!.isObject) {
      const hp = sp.k("hostSelector");
      if (pol.kind == KIND_NAMESPACED) this.err(hp, M.hostSelectorNamespaced());
      else {
        const t = this.labelSelector(hs!, hp, false);
        if (t.length > 0) this.err(hp, M.hostSelectorNotEmpty());
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

  labelSelector(sel: Node, p: Path, container: bool): Array<TermM> {
    const terms = new Array<TermM>();
    const ml = objOf(sel.get("matchLabels"));
    if (ml != null) {
      const mlp = p.k("matchLabels");
      for (let i = 0; i < ml.length; i++) {
        const key = ml.keyAt(i);
        const v = scalarOf(ml.at(i));
        if (v == null) continue;
        if (!this.checkLabelKey(key, mlp.k(key), container)) continue;
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
          if (e.get("key") == null) this.missing(ep, "key", M.missingField("key", "a label key"));
          if (e.get("operator") == null) this.missing(ep, "operator", M.missingField("operator", "In, NotIn, Exists or DoesNotExist"));
          continue;
        }
        if (!this.checkLabelKey(key, ep.k("key"), container)) continue;
        let op: u8 = 0;
        if (opn == "In") op = TERM_IN;
        else if (opn == "NotIn") op = TERM_NOT_IN;
        else if (opn == "Exists") op = TERM_EXISTS;
        else if (opn == "DoesNotExist") op = TERM_DOES_NOT_EXIST;
        else {
          this.err(ep.k("operator"), M.badLabelOperator(opn));
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
          if (vl != null) this.err(ep.k("values"), M.labelOpNeedsValues(opn));
          else this.missing(ep, "values", M.labelOpNeedsValues(opn));
          continue;
        }
        if ((op == TERM_EXISTS || op == TERM_DOES_NOT_EXIST) && vals.length > 0) {
          this.err(ep.k("values"), M.labelOpTakesNoValues(opn));
          continue;
        }
        terms.push(new TermM(op, key, vals));
      }
    }
    return terms;
  }

  checkLabelKey(key: string, p: Path, container: bool): bool {
    if (container) {
      if (key != "name" && key != "repo") {
        this.err(p, M.badContainerKey(key));
        return false;
      }
      return true;
    }
    if (key.length == 0) {
      this.err(p, M.emptyLabelKey());
      return false;
    }
    return true;
  }

  // ---- kprobes ----

  compileKprobe(h: Node, hp: Path): void {
    const hook = new HookM();
    this.hook = hook;
    hook.kind = A.TLN_HOOK_KPROBE;
    const callN = h.get("call");
    const call = strOf(callN);
    let def: HookDef | null = null;
    if (callN == null) this.missing(hp, "call", M.missingField("call", "the kernel function to hook"));
    else if (call != null) {
      hook.call = call;
      if (call.startsWith("list:")) this.err(hp.k("call"), M.listsUnsupported(call));
      else {
        def = findHook(call);
        if (def == null) this.err(hp.k("call"), M.unknownCall(call, hookNames()));
      }
    }
    this.def = def;
    if (def != null) hook.id = def.id;

    if (boolTrue(h.get("syscall"))) {
      if (def != null && !def.isSyscall) this.err(hp.k("syscall"), M.notASyscall(def.name));
      else hook.flags |= A.TLN_HOOK_F_SYSCALL;
    }
    const isReturn = boolTrue(h.get("return"));
    const ra = objOf(h.get("returnArg"));
    if (isReturn) {
      hook.flags |= A.TLN_HOOK_F_RETURN;
      if (ra == null && h.get("returnArg") == null) this.err(hp.k("return"), M.returnNeedsReturnArg());
    }
    if (ra != null) {
      const rap = hp.k("returnArg");
      if (!isReturn) this.warn(rap, M.returnArgWithoutReturn());
      const tn = strOf(ra.get("type"));
      if (tn != null) {
        const t = argTypeOf(tn);
        if (t == 0 || !isIntType(t)) {
          if (t == 0 && !isKnownUnsupportedType(tn)) this.err(rap.k("type"), M.unknownArgType(tn, argTypeNames()));
          else this.err(rap.k("type"), M.returnTypeUnsupported(tn));
        } else hook.retType = t;
      } else if (ra.get("type") == null) this.missing(rap, "type", M.missingField("type", "int"));
    }
    if (isPresent(h.get("returnArgAction"))) this.err(hp.k("returnArgAction"), M.returnArgActionUnsupported());
    this.compileHookBody(h, hp, hook, def, isReturn);
    this.pol.hooks.push(hook);
  }

  /** message, tags, args and selectors of any hook (this.hook is `hook`) */
  compileHookBody(h: Node, hp: Path, hook: HookM, def: HookDef | null, isReturn: bool): void {
    const msg = strOf(h.get("message"));
    if (msg != null) {
      if (msg.length > MAX_MESSAGE) this.err(hp.k("message"), M.messageTooLong(msg.length, MAX_MESSAGE));
      hook.message = msg;
    }
    const tags = listOf(h.get("tags"));
    if (tags != null) {
      for (let i = 0; i < tags.length; i++) {
        const t = strOf(tags.at(i));
        if (t == null) continue;
        if (hook.tags.length >= MAX_TAGS) {
          this.err(hp.k("tags").i(i), M.tooManyTags(tags.length, MAX_TAGS));
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
          this.err(p, M.tooManyArgs(al.length, A.TLN_MAX_ARGS));
          break;
        }
        const idxN = a.get("index");
        const idx = smallInt(idxN);
        if (idxN == null) {
          this.missing(p, "index", M.missingField("index", hook.kind == A.TLN_HOOK_TRACEPOINT ? "the field position in the tracepoint's format, common_* fields included" : "the function argument position"));
        }
        const tn = strOf(a.get("type"));
        let t: u8 = 0;
        if (tn != null) {
          t = argTypeOf(tn);
          if (t == 0) {
            if (isKnownUnsupportedType(tn)) this.err(p.k("type"), M.argTypeUnsupported(tn));
            else this.err(p.k("type"), M.unknownArgType(tn, argTypeNames()));
          }
        } else if (a.get("type") == null) this.missing(p, "type", M.missingField("type", "the argument type"));
        if (idx < 0) {
          if (idxN != null && idxN.tag == V_INT) this.err(p.k("index"), M.badArgIndex(idxN.text));
          hook.args.push(new HookArgM(255, t)); // keeps positions aligned
          continue;
        }
        for (let j = 0; j < hook.args.length; j++) {
          if (<i32>hook.args[j].index == idx) {
            this.err(p.k("index"), M.duplicateArgIndex(idx, j));
            break;
          }
        }
        if (hook.kind != A.TLN_HOOK_KPROBE) {
          if (!this.checkGenericArg(hook.kind, idx, t, tn, p)) {
            hook.args.push(new HookArgM(<u8>min(idx, 255), 0)); // filters on it say nothing more
            continue;
          }
        } else if (def != null) {
          if (idx >= def.params.length) {
            this.err(p.k("index"), M.argIndexOutOfSignature(idx, def.name, def.params.length, this.signature(def)));
          } else if (t != 0) {
            const want = def.params[idx];
            const ok = isIntType(want) ? isIntType(t) : t == want;
            if (!ok) {
              this.err(p.k("type"), M.argTypeMismatch(idx, def.name, def.paramDecl[idx], tn!, isIntType(want) ? "an integer type such as " + argTypeName(want) : argTypeName(want)));
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
          this.err(slp.i(i), M.tooManySelectors(sl.length, A.TLN_MAX_SELECTORS));
          break;
        }
        hook.selectors.push(this.compileSelector(s, slp.i(i), isReturn && hook.retType != 0));
      }
    } else {
      hook.actionsMask |= 1 << A.TLN_ACT_POST; // every hit posts
    }
  }

  // ---- tracepoints and uprobes ----

  /** an args[] entry of a tracepoint or uprobe: index range and a type the programs can read */
  checkGenericArg(kind: u8, idx: i32, t: u8, tn: string | null, p: Path): bool {
    if (kind == A.TLN_HOOK_UPROBE && idx > MAX_UPROBE_ARG) {
      this.err(p.k("index"), M.uprobeArgIndex(idx, MAX_UPROBE_ARG + 1));
      return false;
    }
    if (kind == A.TLN_HOOK_TRACEPOINT && idx > 255) {
      this.err(p.k("index"), M.tracepointArgIndex(idx));
      return false;
    }
    if (t != 0 && !isIntType(t) && t != A.TLN_ARG_STRING) {
      this.err(p.k("type"), M.argTypeNotOnHook(tn!, kind == A.TLN_HOOK_TRACEPOINT ? "a tracepoint" : "a uprobe"));
      return false;
    }
    return true;
  }

  compileTracepoint(h: Node, hp: Path): void {
    const hook = new HookM();
    this.hook = hook;
    this.def = null;
    hook.kind = A.TLN_HOOK_TRACEPOINT;
    hook.id = A.TLN_HOOK_GENERIC_TRACEPOINT;
    const sub = this.tracefsName(h, hp, "subsystem", "the tracepoint's subsystem, e.g. syscalls");
    const ev = this.tracefsName(h, hp, "event", "the tracepoint's event, e.g. sys_enter_openat");
    hook.call = sub + "/" + ev;
    if (boolTrue(h.get("raw"))) this.err(hp.k("raw"), M.rawTracepointUnsupported());
    this.compileHookBody(h, hp, hook, null, false);
    this.pol.hooks.push(hook);
  }

  /** subsystem / event: required, a tracefs directory name */
  tracefsName(h: Node, hp: Path, field: string, hint: string): string {
    const n = h.get(field);
    const s = strOf(n);
    if (n == null) {
      this.missing(hp, field, M.missingField(field, hint));
      return "";
    }
    if (s == null) return "";
    if (!isTracefsName(s)) this.err(hp.k(field), M.badTracefsName(field, s));
    return s;
  }

  compileUprobe(h: Node, hp: Path): void {
    const hook = new HookM();
    this.hook = hook;
    this.def = null;
    hook.kind = A.TLN_HOOK_UPROBE;
    hook.id = A.TLN_HOOK_GENERIC_UPROBE;
    const pathN = h.get("path");
    const path = strOf(pathN);
    if (pathN == null) this.missing(hp, "path", M.missingField("path", "the binary or library to probe, e.g. /bin/bash"));
    else if (path != null && path.length == 0) this.err(hp.k("path"), M.emptyUprobePath());
    for (let i = 0; i < UPROBE_UNSUPPORTED.length; i++) {
      const f = UPROBE_UNSUPPORTED[i];
      if (isPresent(h.get(f))) this.err(hp.k(f), M.uprobeFieldUnsupported(f));
    }
    if (boolTrue(h.get("return")) || isPresent(h.get("returnArg"))) {
      this.err(hp.k(boolTrue(h.get("return")) ? "return" : "returnArg"), M.uprobeReturnUnsupported());
    }
    // symbols: one hook each
    const symN = h.get("symbols");
    const syms = listOf(symN);
    const names = new Array<string>();
    if (symN == null) {
      if (!isPresent(h.get("offsets")) && !isPresent(h.get("addrs"))) this.missing(hp, "symbols", M.missingField("symbols", "the functions to probe, e.g. [readline]"));
    } else if (syms != null) {
      if (syms.length == 0) this.err(hp.k("symbols"), M.noUprobeSymbols());
      for (let i = 0; i < syms.length; i++) {
        const s = strOf(syms.at(i));
        if (s == null) continue;
        const sp = hp.k("symbols").i(i);
        if (s.length == 0 || s.indexOf(":") >= 0 || s.indexOf("/") >= 0) {
          this.err(sp, M.badUprobeSymbol(s));
          continue;
        }
        if (names.includes(s)) {
          this.err(sp, M.duplicateUprobeSymbol(s));
          continue;
        }
        names.push(s);
      }
    }
    this.compileHookBody(h, hp, hook, null, false);
    const pol = this.pol;
    for (let i = 0; i < names.length; i++) {
      if (pol.hooks.length >= A.TLN_MAX_HOOKS) {
        this.err(hp.k("symbols").i(i), M.tooManyHooksOf(pol.hooks.length + names.length - i, "uprobe symbols", A.TLN_MAX_HOOKS));
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

  signature(def: HookDef): string {
    return def.name + "(" + def.paramDecl.join(", ") + ")";
  }

  // ---- selectors ----

  compileSelector(s: Node, p: Path, canReturn: bool): SelectorM {
    const sel = new SelectorM();
    const hook = this.hook;

    const ma = listOf(s.get("matchArgs"));
    if (ma != null) {
      const mp = p.k("matchArgs");
      for (let i = 0; i < ma.length; i++) {
        const f = objOf(ma.at(i));
        if (f == null) continue;
        if (i >= A.TLN_MAX_ARG_FILTERS) {
          this.err(mp.i(i), M.tooManyArgFilters(ma.length, A.TLN_MAX_ARG_FILTERS));
          break;
        }
        const fm = this.compileArgFilter(f, mp.i(i), false);
        if (fm != null) sel.filters.push(fm);
      }
    }
    const mr = listOf(s.get("matchReturnArgs"));
    if (mr != null && mr.length > 0) {
      const mp = p.k("matchReturnArgs");
      if (!canReturn) this.err(mp, M.returnArgsNeedReturn());
      else {
        for (let i = 0; i < mr.length; i++) {
          const f = objOf(mr.at(i));
          if (f == null) continue;
          if (sel.filters.length >= A.TLN_MAX_FILTERS) {
            this.err(mp.i(i), M.tooManyFilters(A.TLN_MAX_FILTERS));
            break;
          }
          const fm = this.compileArgFilter(f, mp.i(i), true);
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
          this.err(mp.i(i), M.tooManyBinaryFilters(mb.length));
          break;
        }
        this.compileBinaries(b, mp.i(i), sel);
      }
    }

    const mpid = listOf(s.get("matchPIDs"));
    if (mpid != null) {
      const mp = p.k("matchPIDs");
      for (let i = 0; i < mpid.length; i++) {
        const b = objOf(mpid.at(i));
        if (b == null) continue;
        if (i >= 1) {
          this.err(mp.i(i), M.tooManyPidFilters(mpid.length));
          break;
        }
        this.compilePids(b, mp.i(i), sel);
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
          this.err(mp.i(i), M.tooManyActions(mact.length, A.TLN_MAX_ACTIONS));
          break;
        }
        const am = this.compileAction(a, mp.i(i));
        if (am == null) continue;
        const bit: u16 = <u16>(1 << am.id);
        if ((mask & bit) != 0) {
          this.err(mp.i(i).k("action"), M.duplicateAction(actionName(am.id)));
          continue;
        }
        if (
          (am.id == A.TLN_ACT_POST && (mask & (1 << A.TLN_ACT_NOPOST)) != 0) ||
          (am.id == A.TLN_ACT_NOPOST && (mask & (1 << A.TLN_ACT_POST)) != 0)
        ) {
          this.err(mp.i(i).k("action"), M.postAndNoPost());
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
  compileArgFilter(f: Node, p: Path, ret: bool): FilterM | null {
    const hook = this.hook;
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
          this.err(p.k("args"), M.argsFormOne(argsN.length));
          ok = false;
        } else {
          const pos = smallInt(argsN.at(0));
          if (pos < 0 || pos >= hook.args.length) {
            this.err(p.k("args").i(0), M.argsPositionOutOfRange(argsN.at(0).text, hook.args.length));
            ok = false;
          } else slot = pos;
        }
      } else if (idxN != null) {
        const idx = smallInt(idxN);
        if (idx < 0) {
          if (idxN.tag == V_INT) this.err(p.k("index"), M.badArgIndex(idxN.text));
          ok = false;
        } else {
          for (let j = 0; j < hook.args.length; j++) {
            if (<i32>hook.args[j].index == idx) {
              slot = j;
              break;
            }
          }
          if (slot < 0) {
            this.err(p.k("index"), M.indexNotInArgs(idx, this.declaredIndexes()));
            ok = false;
          }
        }
      } else {
        this.missing(p, "index", M.filterNeedsIndex());
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
      this.missing(p, "operator", M.missingField("operator", "the comparison"));
      return null;
    }
    if (opS == null) return null;
    const opp = p.k("operator");
    const op = opLookup(opS);
    if (op == OP_UNKNOWN) {
      this.err(opp, M.unknownOperator(opS, allOpNames()));
      return null;
    }
    if (op == OP_UNSUPPORTED) {
      this.err(opp, M.operatorUnsupported(opS));
      return null;
    }
    const opu = <u8>op;
    if (opu == A.TLN_OP_IN || opu == A.TLN_OP_NOT_IN) {
      this.err(opp, M.inNotForArgs(opName(opu), ret ? "matchReturnArgs" : "matchArgs"));
      return null;
    }
    fm.op = opu;
    fm.flags = isNegated(opu) ? A.TLN_FILTER_F_NEGATE : 0;
    fm.type = type;
    if (!ok || type == 0) return null; // slot problems already reported
    const cat = category(type);
    const allowed = opsFor(cat, ret);
    if (!opIn(opu, allowed)) {
      this.err(opp, M.operatorTypeMismatch(opName(opu), argDesc, argTypeName(type), opList(allowed)));
      return null;
    }
    this.compileValues(f, p, fm, cat, argDesc);
    return fm;
  }

  declaredIndexes(): string {
    const a = new Array<string>();
    for (let j = 0; j < this.hook.args.length; j++) {
      const ix = this.hook.args[j].index;
      if (ix != 255) a.push(ix.toString());
    }
    return a.length == 0 ? "none" : a.join(", ");
  }

  /** values of a filter; all reported problems carry the value's path */
  compileValues(f: Node, p: Path, fm: FilterM, cat: i32, argDesc: string): void {
    const op = fm.op;
    const name = opName(op);
    const vn = f.get("values");
    const vl = listOf(vn);
    const vp = p.k("values");
    const texts = new Array<string>();
    const paths = new Array<Path>();
    if (vl != null) {
      for (let i = 0; i < vl.length; i++) {
        const t = scalarOf(vl.at(i));
        if (t == null) continue;
        texts.push(t);
        paths.push(vp.i(i));
      }
    }
    const n = texts.length;

    // operators without values
    if (
      op == A.TLN_OP_SPORT_PRIV || op == A.TLN_OP_NOT_SPORT_PRIV || op == A.TLN_OP_DPORT_PRIV ||
      op == A.TLN_OP_NOT_DPORT_PRIV
    ) {
      if (n > 0) this.err(vp, M.opTakesNoValues(name));
      return;
    }
    if (n == 0) {
      if (vl != null) this.err(vp, M.opNeedsValues(name));
      else this.missing(p, "values", M.opNeedsValues(name));
      return;
    }
    const typeName = argTypeName(fm.type);

    if (cat == CAT_INT || fm.isReturn) {
      if (op == A.TLN_OP_IN_MAP || op == A.TLN_OP_NOT_IN_MAP) {
        this.intSet(fm, texts, paths, typeName);
        return;
      }
      if (op == A.TLN_OP_IN_RANGE || op == A.TLN_OP_NOT_IN_RANGE) {
        if (n > A.TLN_MAX_INLINE) {
          this.err(vp, M.tooManyRanges(n, A.TLN_MAX_INLINE, name));
          return;
        }
        for (let i = 0; i < n; i++) {
          const t = texts[i];
          const c = rangeColon(t);
          if (t.startsWith("list:")) {
            this.err(paths[i], M.listsUnsupported(t));
            continue;
          }
          if (c < 0) {
            this.err(paths[i], M.notARange(t));
            continue;
          }
          const lo = parseTyped(t.substring(0, c), fm.type, typeName);
          const hi = parseTyped(t.substring(c + 1), fm.type, typeName);
          if (!lo.ok) {
            this.err(paths[i], M.inValue(t, lo.err));
            continue;
          }
          if (!hi.ok) {
            this.err(paths[i], M.inValue(t, hi.err));
            continue;
          }
          const a = normalize(lo.v, fm.type);
          const b = normalize(hi.v, fm.type);
          if (!lessEq(a, b, fm.type)) {
            this.err(paths[i], M.emptyRange(t));
            continue;
          }
          fm.vals.push(a);
          fm.vals.push(b);
        }
        return;
      }
      // Equal, NotEqual, GT, LT, Mask: inline values
      if (n > A.TLN_MAX_INLINE) {
        this.err(vp, M.tooManyInline(n, A.TLN_MAX_INLINE, name, typeName, op == A.TLN_OP_EQUAL ? "InMap" : op == A.TLN_OP_NOT_EQUAL ? "NotInMap" : ""));
        return;
      }
      for (let i = 0; i < n; i++) {
        const t = texts[i];
        const v = parseTyped(t, fm.type, typeName);
        if (!v.ok) {
          this.err(paths[i], M.inValue(t, v.err));
          continue;
        }
        fm.vals.push(normalize(v.v, fm.type));
      }
      return;
    }

    if (cat == CAT_STR) {
      this.stringSet(fm, op, texts, paths, name, vp);
      return;
    }

    // sock / sockaddr
    if (
      op == A.TLN_OP_SADDR || op == A.TLN_OP_DADDR || op == A.TLN_OP_NOT_SADDR || op == A.TLN_OP_NOT_DADDR
    ) {
      this.addrSet(fm, texts, paths, vp);
      return;
    }
    if (n > A.TLN_MAX_INLINE) {
      this.err(vp, M.tooManySockValues(n, A.TLN_MAX_INLINE, name));
      return;
    }
    if (op == A.TLN_OP_SPORT || op == A.TLN_OP_DPORT || op == A.TLN_OP_NOT_SPORT || op == A.TLN_OP_NOT_DPORT) {
      for (let i = 0; i < n; i++) {
        const t = texts[i];
        const c = t.indexOf(":");
        let lo: i32 = -1, hi: i32 = -1;
        if (c < 0) {
          lo = portValue(t);
          hi = lo;
        } else {
          lo = portValue(t.substring(0, c));
          hi = portValue(t.substring(c + 1));
        }
        if (lo < 0 || hi < 0) {
          this.err(paths[i], M.badPort(t));
          continue;
        }
        if (lo > hi) {
          this.err(paths[i], M.emptyRange(t));
          continue;
        }
        fm.vals.push(<u64>lo);
        fm.vals.push(<u64>hi);
      }
      return;
    }
    for (let i = 0; i < n; i++) {
      const t = texts[i];
      let v: i64 = -1;
      if (op == A.TLN_OP_PROTOCOL) v = protocolValue(t);
      else if (op == A.TLN_OP_FAMILY) v = familyValue(t);
      else if (op == A.TLN_OP_STATE) v = stateValue(t);
      if (v < 0) {
        this.err(paths[i], op == A.TLN_OP_PROTOCOL ? M.badProtocol(t) : op == A.TLN_OP_FAMILY ? M.badFamily(t) : M.badState(t));
        continue;
      }
      fm.vals.push(<u64>v);
    }
  }

  intSet(fm: FilterM, texts: Array<string>, paths: Array<Path>, typeName: string): void {
    const sets = this.pol.sets;
    let canon = "U" + fm.type.toString();
    for (let i = 0; i < texts.length; i++) canon += "\x00" + texts[i];
    const have = sets.existing(canon);
    if (have > 0) {
      fm.set = <u8>have;
      return;
    }
    // parse everything first
    const los = new Array<u64>();
    const his = new Array<u64>();
    let total: i64 = 0;
    let bad = false;
    for (let i = 0; i < texts.length; i++) {
      const t = texts[i];
      if (t.startsWith("list:")) {
        this.err(paths[i], M.listsUnsupported(t));
        bad = true;
        continue;
      }
      const c = rangeColon(t);
      let lo: u64 = 0, hi: u64 = 0;
      if (c < 0) {
        const v = parseTyped(t, fm.type, typeName);
        if (!v.ok) {
          this.err(paths[i], M.inValue(t, v.err));
          bad = true;
          continue;
        }
        lo = normalize(v.v, fm.type);
        hi = lo;
      } else {
        const a = parseTyped(t.substring(0, c), fm.type, typeName);
        const b = parseTyped(t.substring(c + 1), fm.type, typeName);
        if (!a.ok || !b.ok) {
          this.err(paths[i], M.inValue(t, !a.ok ? a.err : b.err));
          bad = true;
          continue;
        }
        lo = normalize(a.v, fm.type);
        hi = normalize(b.v, fm.type);
        if (!lessEq(lo, hi, fm.type)) {
          this.err(paths[i], M.emptyRange(t));
          bad = true;
          continue;
        }
      }
      const span = hi - lo; // modular: works for signed too
      if (span >= <u64>MAX_U64_ENTRIES || total + <i64>span + 1 + <i64>this.u64Count > <i64>MAX_U64_ENTRIES) {
        this.err(paths[i], M.mapTooLarge(t, MAX_U64_ENTRIES));
        bad = true;
        continue;
      }
      total += <i64>span + 1;
      los.push(lo);
      his.push(hi);
    }
    if (bad) return;
    const id = sets.fresh(canon);
    if (id < 0) {
      this.err(paths[0], M.tooManySets(A.TLN_MAX_SETS));
      return;
    }
    fm.set = <u8>id;
    for (let i = 0; i < los.length; i++) {
      let v = los[i];
      while (true) {
        sets.addU64(<u8>id, v);
        if (v == his[i]) break;
        v++;
      }
    }
    this.u64Count += <i32>total;
  }

  stringSet(fm: FilterM, op: u8, texts: Array<string>, paths: Array<Path>, name: string, vp: Path): void {
    // Equal/NotEqual: NUL-terminated; Postfix: reversed
    let kind = "E";
    let max = A.TLN_STR_DATA - 1;
    if (op == A.TLN_OP_PREFIX || op == A.TLN_OP_NOT_PREFIX) {
      kind = "P";
      max = A.TLN_STR_DATA;
    } else if (op == A.TLN_OP_POSTFIX || op == A.TLN_OP_NOT_POSTFIX) {
      kind = "S";
      max = A.TLN_STR_DATA;
    }
    const id = this.strSetOf(kind, max, texts, paths, name);
    if (id > 0) fm.set = <u8>id;
  }

  /** builds (or reuses) a string set; returns its id or 0 */
  strSetOf(kind: string, max: i32, texts: Array<string>, paths: Array<Path>, name: string): i32 {
    const sets = this.pol.sets;
    let canon = kind;
    for (let i = 0; i < texts.length; i++) canon += "\x00" + texts[i];
    const have = sets.existing(canon);
    if (have > 0) return have;
    const datas = new Array<ArrayBuffer>();
    let bad = false;
    for (let i = 0; i < texts.length; i++) {
      const b = String.UTF8.encode(texts[i]);
      const n = b.byteLength;
      if (n > max) {
        this.err(paths[i], M.stringTooLong(texts[i], n, max, name));
        bad = true;
        continue;
      }
      if (kind == "E") {
        const d = new ArrayBuffer(n + 1);
        memory.copy(changetype<usize>(d), changetype<usize>(b), <usize>n);
        datas.push(d);
      } else if (kind == "S") {
        const d = new ArrayBuffer(n);
        const s = changetype<usize>(b);
        const o = changetype<usize>(d);
        for (let j = 0; j < n; j++) store<u8>(o + <usize>j, load<u8>(s + <usize>(n - 1 - j)));
        datas.push(d);
      } else datas.push(b);
    }
    if (bad) return 0;
    const id = sets.fresh(canon);
    if (id < 0) {
      this.err(paths[0], M.tooManySets(A.TLN_MAX_SETS));
      return 0;
    }
    for (let i = 0; i < datas.length; i++) sets.addStr(<u8>id, datas[i]);
    return id;
  }

  addrSet(fm: FilterM, texts: Array<string>, paths: Array<Path>, vp: Path): void {
    const sets = this.pol.sets;
    let canon = "A";
    for (let i = 0; i < texts.length; i++) canon += "\x00" + texts[i];
    const have = sets.existing(canon);
    if (have > 0) {
      fm.set = <u8>have;
      return;
    }
    let bad = false;
    const cidrs = new Array<Cidr2>();
    for (let i = 0; i < texts.length; i++) {
      const t = texts[i];
      const c = parseCidr(t);
      if (!c.ok) {
        this.err(paths[i], t.indexOf("${") >= 0 ? M.unexpandedVariable(t) : c.err);
        bad = true;
        continue;
      }
      if (c.hostBits) this.warn(paths[i], M.cidrHostBits(t, c.plen));
      cidrs.push(new Cidr2(c.family, c.plen, c.addr));
    }
    if (bad) return;
    const id = sets.fresh(canon);
    if (id < 0) {
      this.err(paths[0], M.tooManySets(A.TLN_MAX_SETS));
      return;
    }
    fm.set = <u8>id;
    for (let i = 0; i < cidrs.length; i++) sets.addAddr(<u8>id, cidrs[i].family, cidrs[i].plen, cidrs[i].addr);
  }

  // ---- matchBinaries / matchPIDs ----

  compileBinaries(b: Node, p: Path, sel: SelectorM): void {
    const opN = b.get("operator");
    const opS = strOf(opN);
    if (opN == null) this.missing(p, "operator", M.missingField("operator", "In, NotIn, Prefix, NotPrefix, Postfix or NotPostfix"));
    if (boolTrue(b.get("followChildren"))) this.err(p.k("followChildren"), M.followChildrenUnsupported());
    if (opS == null) return;
    const op = opLookup(opS);
    if (op < 0 || !opIn(<u8>op, BIN_OPS)) {
      this.err(p.k("operator"), M.badBinaryOperator(opS, opList(BIN_OPS)));
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
      if (vl != null) this.err(p.k("values"), M.opNeedsValues(opName(opu)));
      else this.missing(p, "values", M.opNeedsValues(opName(opu)));
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
    const id = this.strSetOf(kind, max, texts, paths, opName(opu));
    if (id > 0) {
      sel.binOp = opu;
      sel.binSet = <u8>id;
    }
  }

  compilePids(b: Node, p: Path, sel: SelectorM): void {
    const opN = b.get("operator");
    const opS = strOf(opN);
    if (opN == null) this.missing(p, "operator", M.missingField("operator", "In or NotIn"));
    if (boolTrue(b.get("followForks"))) this.err(p.k("followForks"), M.followForksUnsupported());
    if (boolTrue(b.get("isNamespacePID"))) sel.pidFlags |= A.TLN_PID_F_NAMESPACE;
    if (opS == null) return;
    const op = opLookup(opS);
    if (op != A.TLN_OP_IN && op != A.TLN_OP_NOT_IN) {
      this.err(p.k("operator"), M.badPidOperator(opS));
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
          this.err(p.k("values").i(i), M.inValue(t, v.err));
          continue;
        }
        vals.push(<u32>v.v);
      }
    }
    if (n == 0) {
      if (vl != null) this.err(p.k("values"), M.opNeedsValues(opName(<u8>op)));
      else this.missing(p, "values", M.opNeedsValues(opName(<u8>op)));
      return;
    }
    if (n > A.TLN_MAX_PIDS) {
      this.err(p.k("values"), M.tooManyPids(n, A.TLN_MAX_PIDS));
      return;
    }
    sel.pidOp = <u8>op;
    sel.pids = vals;
  }

  // ---- matchActions ----

  compileAction(a: Node, p: Path): ActionM | null {
    const an = a.get("action");
    const s = strOf(an);
    if (an == null) {
      this.missing(p, "action", M.missingField("action", "Post, NoPost, Sigkill, Signal or Override"));
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
      ) this.err(p.k("action"), M.actionUnsupported(s));
      else this.err(p.k("action"), M.unknownAction(s));
      return null;
    }
    const name = actionName(am.id);
    let ok = true;

    // argSig
    const sigN = a.get("argSig");
    if (am.id == A.TLN_ACT_SIGNAL) {
      const t = scalarOf(sigN);
      if (sigN == null || sigN.isNull) {
        this.err(p, M.signalNeedsArgSig());
        ok = false;
      } else if (t != null) {
        const v = signalValue(t);
        if (v < 0) {
          this.err(p.k("argSig"), M.badSignal(t));
          ok = false;
        } else am.arg = v;
      }
    } else if (isPresent(sigN)) this.warn(p.k("argSig"), M.argIgnored("argSig", name, "Signal"));

    // argError
    const errN = a.get("argError");
    if (am.id == A.TLN_ACT_OVERRIDE) {
      const t = scalarOf(errN);
      if (errN == null || errN.isNull) {
        this.err(p, M.overrideNeedsArgError());
        ok = false;
      } else if (t != null) {
        const v = parseTyped(t, A.TLN_ARG_INT, "int32");
        if (!v.ok) {
          this.err(p.k("argError"), M.inValue(t, v.err));
          ok = false;
        } else am.arg = <i32>v.v;
      }
      const def = this.def;
      if (this.hook.kind == A.TLN_HOOK_TRACEPOINT || this.hook.kind == A.TLN_HOOK_UPROBE) {
        this.err(p.k("action"), M.overrideNotOnHook(this.hook.kind == A.TLN_HOOK_TRACEPOINT ? "tracepoint" : "uprobe"));
        ok = false;
      } else if (def != null && !def.isSecurity && !def.isSyscall) {
        this.err(p.k("action"), M.overrideNotAllowed(def.name));
        ok = false;
      }
    } else if (isPresent(errN)) this.warn(p.k("argError"), M.argIgnored("argError", name, "Override"));

    // rate limit
    const rlN = a.get("rateLimit");
    const rsN = a.get("rateLimitScope");
    if (am.id == A.TLN_ACT_POST) {
      const t = scalarOf(rlN);
      if (t != null) {
        const ns = rateLimitNs(t);
        if (ns == 0) {
          this.err(p.k("rateLimit"), M.badRateLimit(t));
          ok = false;
        } else am.rateNs = ns;
      }
      const sc = strOf(rsN);
      if (sc != null) {
        if (sc == "thread") am.rlScope = A.TLN_RL_THREAD;
        else if (sc == "process") am.rlScope = A.TLN_RL_PROCESS;
        else if (sc == "global") am.rlScope = A.TLN_RL_GLOBAL;
        else {
          this.err(p.k("rateLimitScope"), M.badRateLimitScope(sc));
          ok = false;
        }
        if (t == null) this.warn(p.k("rateLimitScope"), M.scopeWithoutRateLimit());
      }
      if (boolTrue(a.get("kernelStackTrace"))) this.err(p.k("kernelStackTrace"), M.postOptionUnsupported("kernelStackTrace"));
      if (boolTrue(a.get("userStackTrace"))) this.err(p.k("userStackTrace"), M.postOptionUnsupported("userStackTrace"));
      if (boolTrue(a.get("imaHash"))) this.err(p.k("imaHash"), M.postOptionUnsupported("imaHash"));
    } else {
      if (isPresent(rlN)) {
        this.err(p.k("rateLimit"), M.rateLimitOnlyPost(name));
        ok = false;
      }
      if (isPresent(rsN)) {
        this.err(p.k("rateLimitScope"), M.rateLimitOnlyPost(name));
        ok = false;
      }
    }
    return ok ? am : null;
  }
}

class Cidr2 {
  family: i32;
  plen: i32;
  addr: StaticArray<u8>;
  constructor(family: i32, plen: i32, addr: StaticArray<u8>) {
    this.family = family;
    this.plen = plen;
    this.addr = addr;
  }
}

export function actionName(id: u8): string {
  if (id == A.TLN_ACT_POST) return "Post";
  if (id == A.TLN_ACT_SIGKILL) return "Sigkill";
  if (id == A.TLN_ACT_SIGNAL) return "Signal";
  if (id == A.TLN_ACT_OVERRIDE) return "Override";
  if (id == A.TLN_ACT_NOPOST) return "NoPost";
  return "?";
}

/** decimal port 0..65535, or -1 */
function portValue(t: string): i32 {
  const v = parseIntText(t);
  if (!v.ok || v.neg || v.mag > 65535) return -1;
  return <i32>v.mag;
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
