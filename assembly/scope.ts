// Scoping: does a policy apply to a process (in a pod or not)?
// Works on the "pod block" bytes of an event record (docs/map-format.md) so
// the evaluator's hot path does not allocate; podMatches() encodes a pod into
// the same bytes.
import * as A from "./abi";
import { KIND_NAMESPACED, TermM, TERM_IN, TERM_NOT_IN, TERM_EXISTS, TERM_DOES_NOT_EXIST } from "./model";
import { PolicyRec } from "./image";
import { ByteWriter } from "./bytes";
import { Node, V_STRING, V_INT, V_FLOAT } from "./value";

export const NS_LABEL = "k8s:io.kubernetes.pod.namespace";

export class TermB {
  op: u8;
  key: ArrayBuffer;
  vals: Array<ArrayBuffer> = new Array<ArrayBuffer>();
  constructor(t: TermM) {
    this.op = t.op;
    this.key = String.UTF8.encode(t.key);
    for (let i = 0; i < t.values.length; i++) this.vals.push(String.UTF8.encode(t.values[i]));
  }
}

function termsB(ts: Array<TermM> | null): Array<TermB> | null {
  if (ts == null) return null;
  const out = new Array<TermB>();
  for (let i = 0; i < ts.length; i++) out.push(new TermB(ts[i]));
  return out;
}

export class ScopeB {
  flags: u8;
  namespaced: bool;
  ns: ArrayBuffer;
  pod: Array<TermB> | null;
  cont: Array<TermB> | null;
  constructor(p: PolicyRec) {
    this.flags = p.scope;
    this.namespaced = p.kind == KIND_NAMESPACED;
    this.ns = String.UTF8.encode(p.namespace);
    this.pod = termsB(p.podSel);
    this.cont = termsB(p.contSel);
  }
}

const NS_KEY: ArrayBuffer = String.UTF8.encode(NS_LABEL);

// ---- the parsed pod block (globals: no allocation per event) ----
let podNs: usize = 0;
let podNsLen: i32 = 0;
let podLabels: usize = 0;
let podNLabels: i32 = 0;
let podHasCont: bool = false;
let podCn: usize = 0;
let podCnLen: i32 = 0;
let podRepo: usize = 0;
let podRepoLen: i32 = 0;
let valPtr: usize = 0;
let valLen: i32 = 0;

/** Parses a pod block at [p, p+len); false if malformed. */
export function parsePod(p: usize, len: i32): bool {
  const end = p + <usize>len;
  let q = p;
  if (q + 2 > end) return false;
  podNsLen = <i32>load<u16>(q);
  podNs = q + 2;
  q = podNs + <usize>podNsLen;
  if (q + 2 > end) return false;
  const nameLen = <i32>load<u16>(q);
  q += 2 + <usize>nameLen;
  if (q + 2 > end) return false;
  podNLabels = <i32>load<u16>(q);
  q += 2;
  podLabels = q;
  for (let i = 0; i < podNLabels; i++) {
    if (q + 2 > end) return false;
    q += 2 + <usize>load<u16>(q);
    if (q + 2 > end) return false;
    q += 2 + <usize>load<u16>(q);
  }
  if (q + 1 > end) return false;
  podHasCont = load<u8>(q) != 0;
  q += 1;
  if (podHasCont) {
    if (q + 2 > end) return false;
    podCnLen = <i32>load<u16>(q);
    podCn = q + 2;
    q = podCn + <usize>podCnLen;
    if (q + 2 > end) return false;
    podRepoLen = <i32>load<u16>(q);
    podRepo = q + 2;
    q = podRepo + <usize>podRepoLen;
  }
  return q <= end;
}

@inline function memeq(p: usize, n: i32, b: ArrayBuffer): bool {
  return n == b.byteLength && memory.compare(p, changetype<usize>(b), <usize>n) == 0;
}

/** finds a label's value (valPtr/valLen); the namespace pseudo-label included */
function podLabel(key: ArrayBuffer): bool {
  if (key.byteLength == NS_KEY.byteLength && memory.compare(changetype<usize>(key), changetype<usize>(NS_KEY), <usize>NS_KEY.byteLength) == 0) {
    valPtr = podNs;
    valLen = podNsLen;
    return true;
  }
  let q = podLabels;
  for (let i = 0; i < podNLabels; i++) {
    const kl = <i32>load<u16>(q);
    const kp = q + 2;
    q = kp + <usize>kl;
    const vl = <i32>load<u16>(q);
    const vp = q + 2;
    q = vp + <usize>vl;
    if (memeq(kp, kl, key)) {
      valPtr = vp;
      valLen = vl;
      return true;
    }
  }
  return false;
}

const NAME_KEY: ArrayBuffer = String.UTF8.encode("name");
const REPO_KEY: ArrayBuffer = String.UTF8.encode("repo");

function containerField(key: ArrayBuffer): bool {
  if (!podHasCont) return false;
  if (memeq(changetype<usize>(key), key.byteLength, NAME_KEY)) {
    valPtr = podCn;
    valLen = podCnLen;
    return true;
  }
  if (memeq(changetype<usize>(key), key.byteLength, REPO_KEY)) {
    valPtr = podRepo;
    valLen = podRepoLen;
    return true;
  }
  return false;
}

function termsMatch(terms: Array<TermB>, container: bool): bool {
  for (let i = 0; i < terms.length; i++) {
    const t = terms[i];
    const found = container ? containerField(t.key) : podLabel(t.key);
    let eq = false;
    if (found && (t.op == TERM_IN || t.op == TERM_NOT_IN)) {
      for (let j = 0; j < t.vals.length; j++) {
        if (memeq(valPtr, valLen, t.vals[j])) {
          eq = true;
          break;
        }
      }
    }
    if (t.op == TERM_IN && !eq) return false;
    if (t.op == TERM_NOT_IN && eq) return false; // NotIn also matches an absent key
    if (t.op == TERM_EXISTS && !found) return false;
    if (t.op == TERM_DOES_NOT_EXIST && found) return false;
  }
  return true;
}

/** Does the policy apply? podPtr 0 = a host process (in no pod); else a pod
 *  block already parsed with parsePod. */
export function scopeApplies(s: ScopeB, inPod: bool): bool {
  if ((s.flags & A.TLN_SCOPE_F_FILTERED) == 0) return true;
  if (!inPod) return (s.flags & A.TLN_SCOPE_F_HOST) != 0;
  if (s.namespaced && !memeq(podNs, podNsLen, s.ns)) return false;
  const pod = s.pod;
  const cont = s.cont;
  if (!s.namespaced && pod == null && cont == null) return false; // hostSelector only
  if (pod != null && !termsMatch(pod, false)) return false;
  if (cont != null && !termsMatch(cont, true)) return false;
  return true;
}

// ---- encoding a PodInfo value tree into a pod block ----

function textOf(n: Node | null): string {
  if (n == null) return "";
  if (n.tag == V_STRING || n.tag == V_INT || n.tag == V_FLOAT) return n.text;
  return "";
}

/** Writes the pod block of a PodInfo object (returns false for null). */
export function writePod(w: ByteWriter, pod: Node): bool {
  if (!pod.isObject) return false;
  w.str(textOf(pod.get("namespace")));
  w.str(textOf(pod.get("name")));
  const labels = pod.get("labels");
  if (labels != null && labels.isObject) {
    w.u16(<u32>labels.length);
    for (let i = 0; i < labels.length; i++) {
      w.str(labels.keyAt(i));
      w.str(textOf(labels.at(i)));
    }
  } else w.u16(0);
  const c = pod.get("container");
  if (c != null && c.isObject) {
    w.u8(1);
    w.str(textOf(c.get("name")));
    w.str(textOf(c.get("repo")));
  } else w.u8(0);
  return true;
}
