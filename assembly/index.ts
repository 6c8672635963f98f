// Entry points of the Wasm core. The host (src/core/wasm.ts, through
// @assemblyscript/loader) hands an input over as an ArrayBuffer it allocated and
// pinned (setInput), or, on the per-event paths, writes it into the buffers that
// inputPtr()/recordPtr() return; it calls one function and reads the results as
// an ArrayBuffer (outBuffer) and a string (textString: JSON or a message).
// All state lives in globals, so the host may run __collect() between calls.
import * as A from "./abi";
import { abiTableJson, mapNamesJson } from "./abi";
import * as M from "./messages";
import { readTree } from "./value";
import { Diagnostics, Path } from "./diag";
import { Compiler, CompileOpts } from "./compile";
import { PolicyM, KIND_NAMESPACED } from "./model";
import { writeImage, readImage, MapRec } from "./image";
import { ByteReader, ByteWriter } from "./bytes";
import { MapUpdates, decideRuntimeMode, modeUpdate, cgroupSetUpdates, TLN_MAP_POD_CGROUPS } from "./updates";
import { jstr, jbool } from "./json";
import { ScopeB, scopeApplies, parsePod, writePod } from "./scope";
import { Evaluator, modeName, V_INVALID } from "./evaluator";
import { encodeEvent } from "./event";
import { hookRecordToEvent, hookEventPtr as hookEventAddr } from "./hookrec";
import { actionName } from "./compile";
import { kindName } from "./compile/hooks";
import { OPTION_NAMES } from "./compile/index";
import { argTypesJson } from "./argtypes";
import { opsJson } from "./operators";
import { actionsJson } from "./compile/actions";

let inBuf = new ArrayBuffer(1024);
let recBuf = new ArrayBuffer(1024);
let outBuf = new ArrayBuffer(0);
let textStr = "";
let evaluator: Evaluator | null = null;

function setText(s: string): void {
  textStr = s;
}

/** the next call's input: a buffer the host allocated (and keeps pinned while it is the input) */
export function setInput(buf: ArrayBuffer): void {
  inBuf = buf;
}

/** a buffer of at least len bytes for the next call's input */
export function inputPtr(len: i32): usize {
  if (inBuf.byteLength < len) inBuf = new ArrayBuffer(max(len, inBuf.byteLength * 2));
  return changetype<usize>(inBuf);
}
/** the event record buffer of evaluateRecord (kept across calls) */
export function recordPtr(len: i32): usize {
  if (recBuf.byteLength < len) recBuf = new ArrayBuffer(max(len, recBuf.byteLength * 2));
  return changetype<usize>(recBuf);
}
/** the result bytes of the last call (the host copies them out) */
export function outBuffer(): ArrayBuffer {
  return outBuf;
}
/** the result text of the last call (JSON or a message) */
export function textString(): string {
  return textStr;
}

// ---- compile ----

/** input: value tree [docs[], {defaultNamespace, mode?}].
 *  1: image in out, diagnostics JSON in text; 0: errors (no image);
 *  -1: invalid options (message in text). */
export function compile(len: i32): i32 {
  const root = readTree(changetype<usize>(inBuf), len);
  outBuf = new ArrayBuffer(0);
  if (!root.isArray || root.length < 1 || !root.at(0).isArray) {
    setText(M.compileInput());
    return -1;
  }
  const opts = new CompileOpts();
  if (root.length > 1) {
    const o = root.at(1);
    const dn = o.get("defaultNamespace");
    if (dn != null && dn.isString) opts.defaultNamespace = dn.text;
    const mo = o.get("mode");
    if (mo != null && !mo.isNull) {
      const m = mo.isString ? mo.text : "";
      if (m == "enforce") opts.mode = A.TLN_MODE_ENFORCE;
      else if (m == "monitor") opts.mode = A.TLN_MODE_MONITOR;
      else {
        setText(M.badLoadMode(mo.isString ? mo.text : mo.text.length > 0 ? mo.text : "?"));
        return -1;
      }
    }
  }
  const docs = root.at(0);
  const d = new Diagnostics();
  const c = new Compiler(d, opts);
  const pols = new Array<PolicyM>();
  const seen = new Map<string, i32>();
  for (let i = 0; i < docs.length; i++) {
    d.doc = i;
    const p = c.compileDoc(docs.at(i));
    if (p == null) continue;
    if (p.name.length > 0) {
      const key = (p.kind == KIND_NAMESPACED ? p.namespace : "") + "\x00" + p.name;
      if (seen.has(key)) {
        d.error(Path.root().k("metadata").k("name"), M.duplicatePolicy(p.name, p.kind == KIND_NAMESPACED ? p.namespace : "", seen.get(key)));
      } else seen.set(key, i);
    }
    pols.push(p);
  }
  setText(d.toJson());
  if (d.errors > 0) return 0;
  outBuf = writeImage(pols);
  return 1;
}

// ---- inspect ----

const ENF_MASK: u16 = (1 << A.TLN_ACT_SIGKILL) | (1 << A.TLN_ACT_OVERRIDE) | (1 << A.TLN_ACT_SIGNAL);

/** input: image bytes. 1: PolicySpec[] JSON (map entries as offsets) in text; 0: error message. */
export function inspect(len: i32): i32 {
  const img = readImage(changetype<usize>(inBuf), len);
  if (!img.ok) {
    setText(img.err);
    return 0;
  }
  const out = new Array<string>();
  for (let i = 0; i < img.policies.length; i++) {
    const p = img.policies[i];
    const hooks = new Array<string>();
    for (let h = 0; h < p.hooks.length; h++) {
      const hr = p.hooks[h];
      const acts = new Array<string>();
      const order: StaticArray<u8> = [A.TLN_ACT_SIGKILL, A.TLN_ACT_SIGNAL, A.TLN_ACT_OVERRIDE];
      for (let k = 0; k < order.length; k++) {
        if ((hr.actions & (<u16>1 << order[k])) != 0) acts.push(jstr(actionName(order[k])));
      }
      const tags = new Array<string>();
      for (let t = 0; t < hr.tags.length; t++) tags.push(jstr(hr.tags[t]));
      const kind = kindName(hr.kind);
      hooks.push(
        '{"name":' + jstr(hr.call) + ',"kind":"' + kind + '","hookId":' + hr.hookId.toString() + ',"slot":' +
          h.toString() + ',"selectors":' + hr.nsel.toString() + ',"returnFilters":' +
          jbool((hr.flags & A.TLN_HOOK_F_RET_FILTERS) != 0) + ',"actions":[' + acts.join(",") + '],"message":' +
          jstr(hr.message) + ',"tags":[' + tags.join(",") + '],"return":' + jbool((hr.flags & A.TLN_HOOK_F_RETURN) != 0) +
          ',"syscall":' + jbool((hr.flags & A.TLN_HOOK_F_SYSCALL) != 0) +
          ',"args":' + hookArgsJson(changetype<usize>(inBuf), p.map(A.TLN_MAP_HOOKS), h) + genericHookJson(hr.kind, hr.call) +
          ',"spec":' + (hr.spec.length > 0 ? hr.spec : "null") + "}",
      );
    }
    const maps = new Array<string>();
    for (let m = 0; m < p.maps.length; m++) {
      const mr = p.maps[m];
      maps.push(
        '{"name":' + jstr(mr.name) + ',"type":' + mr.type.toString() + ',"keySize":' + mr.keySize.toString() +
          ',"valueSize":' + mr.valueSize.toString() + ',"maxEntries":' + mr.maxEntries.toString() + ',"flags":' +
          mr.flags.toString() + ',"count":' + mr.count.toString() + ',"offset":' + mr.entriesOff.toString() +
          ',"length":' + (mr.count * mr.entrySize).toString() + "}",
      );
    }
    const namespaced = p.kind == KIND_NAMESPACED;
    out.push(
      '{"index":' + i.toString() + ',"name":' + jstr(p.name) + ',"namespace":' + (namespaced ? jstr(p.namespace) : "null") +
        ',"kind":"' + (namespaced ? "TracingPolicyNamespaced" : "TracingPolicy") + '","mode":"' + modeName(p.mode) +
        '","filtered":' + jbool((p.scope & A.TLN_SCOPE_F_FILTERED) != 0) + ',"host":' +
        jbool((p.scope & A.TLN_SCOPE_F_FILTERED) == 0 || (p.scope & A.TLN_SCOPE_F_HOST) != 0) + ',"hooks":[' +
        hooks.join(",") + '],"spec":' + (p.spec.length > 0 ? p.spec : "null") + ',"maps":[' + maps.join(",") + "]}",
    );
  }
  setText("[" + out.join(",") + "]");
  return 1;
}

/** the args[] of hook `slot` from its tln_hooks entry: [{"index":i,"type":t}, ...] */
function hookArgsJson(base: usize, m: MapRec | null, slot: i32): string {
  const out = new Array<string>();
  if (m == null || m.keySize != 4 || m.valueSize < A.HOOK_SIZE) return "[]";
  for (let i = 0; i < m.count; i++) {
    const e = base + <usize>(m.entriesOff + i * m.entrySize);
    if (<i32>load<u32>(e) != slot) continue;
    const v = e + 4;
    const n = min(<i32>load<u8>(v + A.HOOK_NARGS), A.TLN_MAX_ARGS);
    for (let a = 0; a < n; a++) {
      const ap = v + A.HOOK_ARGS + <usize>(a * A.HOOK_ARG_SIZE);
      out.push('{"index":' + load<u8>(ap + A.HOOK_ARG_INDEX).toString() + ',"type":' + load<u8>(ap + A.HOOK_ARG_TYPE).toString() + "}");
    }
    break;
  }
  return "[" + out.join(",") + "]";
}

/** what the loader attaches a generic hook to: "subsystem/event" or "path:symbol" split */
function genericHookJson(kind: u8, call: string): string {
  if (kind == A.TLN_HOOK_TRACEPOINT) {
    const i = call.indexOf("/");
    return ',"tracepoint":{"subsystem":' + jstr(i < 0 ? call : call.substring(0, i)) + ',"event":' + jstr(i < 0 ? "" : call.substring(i + 1)) + "}";
  }
  if (kind == A.TLN_HOOK_UPROBE) {
    const i = call.lastIndexOf(":");
    return ',"uprobe":{"path":' + jstr(i < 0 ? "" : call.substring(0, i)) + ',"symbol":' + jstr(i < 0 ? call : call.substring(i + 1)) + "}";
  }
  return "";
}

// ---- scoping ----

/** input: u32 image length, image, value tree of PodInfo | null.
 *  1 applies, 0 does not, -1 bad image / index (message in text). */
export function podMatches(len: i32, index: i32): i32 {
  const base = changetype<usize>(inBuf);
  if (len < 4) {
    setText(M.imageTruncated());
    return -1;
  }
  const ilen = <i32>load<u32>(base);
  if (ilen > len - 4) {
    setText(M.imageTruncated());
    return -1;
  }
  const img = readImage(base + 4, ilen);
  if (!img.ok) {
    setText(img.err);
    return -1;
  }
  if (index < 0 || index >= img.policies.length) {
    setText(M.noSuchPolicy(index, img.policies.length));
    return -1;
  }
  const pod = readTree(base + 4 + <usize>ilen, len - 4 - ilen);
  const s = new ScopeB(img.policies[index]);
  let inPod = false;
  if (pod.isObject) {
    // every container the pod has or will have: only a policy that does not choose among them
    const every = pod.get("everyContainer");
    if (every != null && every.isTrue && s.cont != null && s.cont!.length > 0) return 0;
    const w = new ByteWriter(256);
    writePod(w, pod);
    inPod = parsePod(w.ptr, w.len);
    // w stays reachable until the end of this call (no collection during a call)
    return scopeApplies(s, inPod) ? 1 : 0;
  }
  return scopeApplies(s, false) ? 1 : 0;
}

// ---- evaluator ----

/** input: image bytes. 1 ok; 0 bad image (message in text). */
export function evalCreate(len: i32): i32 {
  const copy = new ArrayBuffer(len);
  memory.copy(changetype<usize>(copy), changetype<usize>(inBuf), <usize>len);
  const e = new Evaluator(copy);
  if (e.err.length > 0) {
    setText(e.err);
    evaluator = null;
    return 0;
  }
  evaluator = e;
  return 1;
}

/** evaluates the record in recordPtr(); the hot path (no allocation) */
export function evalRecord(len: i32): i32 {
  const e = evaluator;
  if (e == null) return V_INVALID;
  return e.evaluate(changetype<usize>(recBuf), len);
}

/** input: EvalEvent value tree -> record bytes in out */
export function evalEncode(len: i32): i32 {
  const ev = readTree(changetype<usize>(inBuf), len);
  outBuf = encodeEvent(ev);
  return outBuf.byteLength;
}

/** input: EvalEvent value tree; evaluates it; Verdict JSON in text; returns the code */
export function evalEvent(len: i32): i32 {
  const e = evaluator;
  if (e == null) return V_INVALID;
  const ev = readTree(changetype<usize>(inBuf), len);
  const rec = encodeEvent(ev);
  const code = e.evaluate(changetype<usize>(rec), rec.byteLength);
  setText(e.verdictJson(code));
  return code;
}

/** Verdict JSON of the last evaluation into text */
export function evalVerdict(code: i32): void {
  const e = evaluator;
  if (e == null) return;
  setText(e.verdictJson(code));
}

/** 1 when some selector of the evaluator's image reads the process context block (the host may leave it out otherwise) */
export function evalReadsContext(): i32 {
  const e = evaluator;
  if (e == null) return 0;
  for (let i = 0; i < e.policies.length; i++) {
    const hs = e.policies[i].specs;
    for (let j = 0; j < hs.length; j++) for (let k = 0; k < hs[j].length; k++) if (hs[j][k] != null) return 1;
  }
  return 0;
}

/** why the last evaluation could not decide a selector, into text ("" when it decided all) */
export function evalUnknown(): void {
  const e = evaluator;
  setText(e == null ? "" : e.unknownWhy);
}

/** address of the match buffer of the last evaluation (docs/map-format.md §4.2); 0 without an evaluator */
export function evalMatchesPtr(): usize {
  const e = evaluator;
  return e == null ? 0 : changetype<usize>(e.matchBuf);
}

/** input: UTF-8 mode text; ModeChange JSON in text */
export function evalSetMode(index: i32, len: i32): void {
  const e = evaluator;
  if (e == null) return;
  const mode = String.UTF8.decodeUnsafe(changetype<usize>(inBuf), <usize>len);
  setText(e.setMode(index, mode));
}

// ---- kernel hook records (struct tln_hook_rec, bpf/include/tln_events.h) ----

/** input: a raw hook record (recLen bytes, as the BPF program wrote it), then
 *  struct tln_evctx + its data (ctxLen bytes, bpf/include/tln_evrec.h).
 *  Decodes and evaluates it: the verdict code, V_INVALID for a record that is
 *  not a hook record. The decoded event stays at hookEventPtr(). */
export function evalHookRecord(recLen: i32, ctxLen: i32): i32 {
  const e = evaluator;
  if (e == null) return V_INVALID;
  const base = changetype<usize>(inBuf);
  const n = hookRecordToEvent(base, recLen, base + <usize>recLen, ctxLen);
  if (n < 0) return V_INVALID;
  return e.evaluate(hookEventAddr(), n);
}

/** input: a raw hook record; decodes it (no process context) to hookEventPtr(); its length, -1 when not a hook record */
export function decodeHookRecord(recLen: i32): i32 {
  return hookRecordToEvent(changetype<usize>(inBuf), recLen, 0, 0);
}

/** the evaluator event record (docs/map-format.md §4.1) of the last evalHookRecord / decodeHookRecord */
export function hookEventPtr(): usize {
  return hookEventAddr();
}

// ---- ABI ----

/** the language tables (README's table is generated from them): hook kinds, argument types, operators, actions, options */
export function language(): void {
  const kinds = new Array<string>();
  const ks: StaticArray<u8> = [A.TLN_HOOK_KPROBE, A.TLN_HOOK_TRACEPOINT, A.TLN_HOOK_UPROBE, A.TLN_HOOK_FENTRY, A.TLN_HOOK_LSM, A.TLN_HOOK_USDT];
  for (let i = 0; i < ks.length; i++) kinds.push('["' + kindName(ks[i]) + '",' + ks[i].toString() + "]");
  const opts = new Array<string>();
  for (let i = 0; i < OPTION_NAMES.length; i++) opts.push(jstr(OPTION_NAMES[i]));
  setText(
    '{"hookKinds":[' + kinds.join(",") + '],"argTypes":' + argTypesJson() + ',"operators":' + opsJson() + ',"actions":' + actionsJson() +
      ',"options":[' + opts.join(",") + "]}",
  );
}

export function abiTable(): void {
  setText(abiTableJson());
}
export function mapNames(): void {
  setText(mapNamesJson());
}


// ---- map updates that follow a core decision (docs/map-format.md §7) ----

/** input: str policy name, str mode, then the policy's maps as inspectImage lists
 *  them: u32 count, per map str name, u32 key size, u32 value size, u32 entry count,
 *  entries. 1: the updates that put the policy in that run-time mode, in out;
 *  0: the mode is refused (message in text); -1: bad input (message in text). */
export function modeUpdates(len: i32): i32 {
  outBuf = new ArrayBuffer(0);
  const r = new ByteReader(changetype<usize>(inBuf), len);
  const name = r.str();
  const mode = r.str();
  const nmaps = <i32>r.u32();
  let conf: usize = 0;
  for (let i = 0; i < nmaps && !r.bad; i++) {
    const mname = r.str();
    const k = <i32>r.u32();
    const v = <i32>r.u32();
    const n = <i32>r.u32();
    const size = <i64>n * (<i64>k + <i64>v);
    if (size > <i64>(len - r.pos) || !r.has(<i32>size)) break;
    if (mname == A.TLN_MAP_POLICY && k == 4 && v == A.CONF_SIZE && n >= 1) conf = r.base + <usize>(r.pos + k);
    r.pos += <i32>size;
  }
  if (r.bad || conf == 0) {
    setText(M.noPolicyConf());
    return -1;
  }
  const d = decideRuntimeMode(name, load<u8>(conf + <usize>A.CONF_MODE), mode);
  if (d.mode < 0) {
    setText(d.err);
    return 0;
  }
  const u = new MapUpdates();
  modeUpdate(u, conf, <u8>d.mode);
  outBuf = u.finish();
  return 1;
}

/** input: u32 n added, u32 n removed, the added then the removed cgroup ids (u64).
 *  which 0: a policy's tln_pod_filter; 1: the shared tln_pod_cgroups. Updates in out. */
export function cgroupUpdates(len: i32, which: i32): i32 {
  const base = changetype<usize>(inBuf);
  outBuf = new ArrayBuffer(0);
  if (len < 8) return -1;
  const nadd = <i32>load<u32>(base);
  const nrem = <i32>load<u32>(base + 4);
  if (nadd < 0 || nrem < 0 || 8 + (<i64>nadd + <i64>nrem) * 8 > <i64>len) return -1;
  const u = new MapUpdates();
  cgroupSetUpdates(u, which == 0 ? A.TLN_MAP_POD_FILTER : TLN_MAP_POD_CGROUPS, base + 8, nadd, base + 8 + <usize>(nadd * 8), nrem);
  outBuf = u.finish();
  return 1;
}
