// The evaluator: image + event record -> verdict, reading the very map entries
// the kernel programs read (tln_hooks, tln_sels, tln_str, tln_addr4/6,
// tln_u64set). Indexes are built once; evaluating a record allocates nothing.
import * as A from "./abi";
import * as M from "./messages";
import { readImage, PolicyRec, MapRec } from "./image";
import { ScopeB, scopeApplies, parsePod } from "./scope";
import { StrIndex, AddrIndex, U64Index, readHi, readLo } from "./lpm";
import { category, CAT_INT, CAT_STR, CAT_SOCK, CAT_SOCKADDR, CAT_FILE } from "./argtypes";
import { normalize, typeSigned } from "./parse";
import { fnv, FNV_SEED, mix64 } from "./bytes";
import { jstr, jbool } from "./json";
import { decideRuntimeMode } from "./updates";
import { actionName } from "./compile/actions";
import {
  REC_HEADER, REC_SLOT, REC_MAX_ARGS, R_SIZE, R_HOOK_ID, R_KIND, R_NARGS, R_TIME, R_PID, R_TID,
  R_BIN_OFF, R_BIN_LEN, R_POD_OFF, R_POD_LEN, R_NAME_OFF, R_NAME_LEN, S_KIND, S_PROTOCOL, S_STATE, S_FAMILY, S_VALUE,
  S_STR_LEN, S_SPORT, S_DPORT, S_SADDR, S_DADDR, ARG_INT, ARG_STR, ARG_SOCK,
} from "./event";

// verdict codes of evaluateEncoded
export const V_INVALID: i32 = -1;
export const V_NONE: i32 = 0;
export const V_POST: i32 = 1;
export const V_SIGNAL: i32 = 2;
export const V_OVERRIDE: i32 = 3;
export const V_KILL: i32 = 4;

export const MAX_MATCHES: i32 = A.TLN_EVMATCH_MAX;
// the match buffer (docs/map-format.md §4.2, struct tln_evmatch_hdr then
// MAX_MATCHES struct tln_evmatch in bpf/include/tln_evrec.h): the host reads it
// in place (no JSON, no allocation)
export const MATCH_HDR: i32 = A.TLN_EVMATCH_HDR_SIZEOF;
export const MATCH_REC: i32 = A.TLN_EVMATCH_SIZEOF;
const RL_CAP: i32 = 4096; // rate-limit table slots (power of 2)
const RL_PROBE: i32 = 8;

export function modeName(m: u8): string {
  if (m == A.TLN_MODE_ENFORCE) return "enforce";
  if (m == A.TLN_MODE_MONITOR) return "monitor";
  return "monitor_only";
}

class PolicyE {
  rec: PolicyRec;
  scope: ScopeB;
  runMode: u8;
  hookPtrs: StaticArray<usize>;
  /** UTF-8 of each hook's name (slot order): generic hooks match events by it */
  hookNames: Array<ArrayBuffer>;
  selPtrs: StaticArray<usize>;
  str: StrIndex;
  a4: AddrIndex;
  a6: AddrIndex;
  u64: U64Index;

  constructor(base: usize, p: PolicyRec) {
    const ms = p.map(A.TLN_MAP_STR);
    const str = new StrIndex(ms == null ? 0 : ms.count);
    if (ms != null && ms.keySize >= 5) {
      for (let i = 0; i < ms.count; i++) str.add(base + <usize>(ms.entriesOff + i * ms.entrySize), ms.keySize - 5);
    }
    const m4 = p.map(A.TLN_MAP_ADDR4);
    const a4 = new AddrIndex(m4 == null ? 0 : m4.count, 4);
    if (m4 != null && m4.keySize >= A.ADDR4_KEY_SIZE) {
      for (let i = 0; i < m4.count; i++) a4.add(base + <usize>(m4.entriesOff + i * m4.entrySize));
    }
    const m6 = p.map(A.TLN_MAP_ADDR6);
    const a6 = new AddrIndex(m6 == null ? 0 : m6.count, 16);
    if (m6 != null && m6.keySize >= A.ADDR6_KEY_SIZE) {
      for (let i = 0; i < m6.count; i++) a6.add(base + <usize>(m6.entriesOff + i * m6.entrySize));
    }
    const mu = p.map(A.TLN_MAP_U64SET);
    const u64 = new U64Index(mu == null ? 0 : mu.count);
    if (mu != null && mu.keySize >= A.U64SET_KEY_SIZE) {
      for (let i = 0; i < mu.count; i++) u64.add(base + <usize>(mu.entriesOff + i * mu.entrySize));
    }
    this.rec = p;
    this.scope = new ScopeB(p);
    this.runMode = p.mode;
    this.hookPtrs = valuePtrs(base, p.map(A.TLN_MAP_HOOKS), A.HOOK_SIZE);
    const names = new Array<ArrayBuffer>();
    for (let i = 0; i < p.hooks.length; i++) names.push(String.UTF8.encode(p.hooks[i].call));
    this.hookNames = names;
    this.selPtrs = valuePtrs(base, p.map(A.TLN_MAP_SELS), A.SEL_SIZE);
    this.str = str;
    this.a4 = a4;
    this.a6 = a6;
    this.u64 = u64;
  }
}

/** value pointers of an ARRAY map, indexed by key; 0 where missing */
function valuePtrs(base: usize, m: MapRec | null, valueSize: i32): StaticArray<usize> {
  if (m == null || m.keySize != 4 || m.valueSize < valueSize) return new StaticArray<usize>(0);
  const out = new StaticArray<usize>(m.maxEntries < 4096 ? <i32>m.maxEntries : 4096);
  for (let i = 0; i < m.count; i++) {
    const e = base + <usize>(m.entriesOff + i * m.entrySize);
    const k = <i32>load<u32>(e);
    if (k >= 0 && k < out.length) out[k] = e + 4;
  }
  return out;
}

function initMatchBuf(): StaticArray<u8> {
  const b = new StaticArray<u8>(MATCH_HDR + MAX_MATCHES * MATCH_REC);
  store<u32>(changetype<usize>(b) + <usize>A.TLN_EVMATCH_HDR_OFF_RECORD_SIZE, <u32>MATCH_REC);
  return b;
}

export class Evaluator {
  image: ArrayBuffer;
  policies: Array<PolicyE> = new Array<PolicyE>();
  err: string = "";

  // rate limiting (Post rateLimit), keyed by a 64-bit hash
  rlKeys: StaticArray<u64> = new StaticArray<u64>(RL_CAP);
  rlTimes: StaticArray<u64> = new StaticArray<u64>(RL_CAP);
  rlUsed: StaticArray<u8> = new StaticArray<u8>(RL_CAP);

  // matches of the last evaluation
  nmatches: i32 = 0;
  mPolicy: StaticArray<i32> = new StaticArray<i32>(MAX_MATCHES);
  mHook: StaticArray<i32> = new StaticArray<i32>(MAX_MATCHES);
  mSel: StaticArray<i32> = new StaticArray<i32>(MAX_MATCHES);
  mSelPtr: StaticArray<usize> = new StaticArray<usize>(MAX_MATCHES);
  mEnforced: StaticArray<u8> = new StaticArray<u8>(MAX_MATCHES);
  mPost: StaticArray<u8> = new StaticArray<u8>(MAX_MATCHES);
  mMode: StaticArray<u8> = new StaticArray<u8>(MAX_MATCHES);
  /** the same matches as records, for the host (never reallocated: its address is stable) */
  matchBuf: StaticArray<u8> = initMatchBuf();

  // the record being evaluated
  rp: usize = 0;
  rlen: i32 = 0;
  nargs: i32 = 0;
  argBase: usize = 0;
  retSlot: usize = 0;
  timeNs: u64 = 0;
  pid: u32 = 0;
  tid: u32 = 0;
  binPtr: usize = 0;
  binLen: i32 = 0;
  namePtr: usize = 0;
  nameLen: i32 = 0;
  inPod: bool = false;
  argsHash: u64 = 0;
  argsHashed: bool = false;
  /** the last evaluation reached a selector it cannot decide (TLN_SEL_F_SPEC_ONLY) */
  unknownSel: bool = false;

  constructor(image: ArrayBuffer) {
    this.image = image;
    const base = changetype<usize>(image);
    const img = readImage(base, image.byteLength);
    if (!img.ok) this.err = img.err;
    else for (let i = 0; i < img.policies.length; i++) this.policies.push(new PolicyE(base, img.policies[i]));
  }

  /** run-time mode change; returns the JSON of a ModeChange */
  setMode(index: i32, mode: string): string {
    if (index < 0 || index >= this.policies.length) {
      return '{"ok":false,"error":' + jstr(M.noSuchPolicy(index, this.policies.length)) + "}";
    }
    const p = this.policies[index];
    // the same rule decides the kernel's map updates (index.ts modeUpdates)
    const d = decideRuntimeMode(p.rec.name, p.rec.mode, mode);
    if (d.mode < 0) return '{"ok":false,"error":' + jstr(d.err) + "}";
    p.runMode = <u8>d.mode;
    return '{"ok":true,"mode":"' + modeName(p.runMode) + '"}';
  }

  // ---- record access ----

  /** validates the record header and every offset in it */
  private load(p: usize, len: i32): bool {
    if (len < REC_HEADER + REC_SLOT) return false;
    const size = <i32>load<u32>(p + R_SIZE);
    if (size > len || size < REC_HEADER + REC_SLOT) return false;
    const nargs = <i32>load<u8>(p + R_NARGS);
    if (nargs > REC_MAX_ARGS || REC_HEADER + (nargs + 1) * REC_SLOT > size) return false;
    for (let i = 0; i <= nargs; i++) {
      const s = p + <usize>(REC_HEADER + i * REC_SLOT);
      if (load<u8>(s + S_KIND) == ARG_STR) {
        const off = <u64>load<u32>(s + S_VALUE);
        const n = <u64>load<u32>(s + S_STR_LEN);
        if (off + n > <u64>size) return false;
      }
    }
    const bo = <u64>load<u32>(p + R_BIN_OFF);
    const bl = <u64>load<u32>(p + R_BIN_LEN);
    if (bo + bl > <u64>size) return false;
    const po = <u64>load<u32>(p + R_POD_OFF);
    const pl = <u64>load<u32>(p + R_POD_LEN);
    if (po + pl > <u64>size) return false;
    const no = <u64>load<u32>(p + R_NAME_OFF);
    const nl = <u64>load<u32>(p + R_NAME_LEN);
    if (no + nl > <u64>size) return false;
    this.namePtr = p + <usize>no;
    this.nameLen = <i32>nl;
    this.rp = p;
    this.rlen = size;
    this.nargs = nargs;
    this.argBase = p + REC_HEADER;
    this.retSlot = p + <usize>(REC_HEADER + nargs * REC_SLOT);
    this.timeNs = load<u64>(p + R_TIME);
    this.pid = load<u32>(p + R_PID);
    this.tid = load<u32>(p + R_TID);
    this.binPtr = p + <usize>bo;
    this.binLen = <i32>bl;
    this.inPod = po != 0;
    if (this.inPod && !parsePod(p + <usize>po, <i32>pl)) return false;
    this.argsHashed = false;
    return true;
  }

  /** Evaluates the record at p; returns the verdict code. */
  evaluate(p: usize, len: i32): i32 {
    this.nmatches = 0;
    this.unknownSel = false;
    store<u32>(changetype<usize>(this.matchBuf) + <usize>A.TLN_EVMATCH_HDR_OFF_COUNT, 0);
    if (!this.load(p, len)) return V_INVALID;
    const hookId = load<u16>(p + R_HOOK_ID);
    const kind = load<u8>(p + R_KIND);
    let verdict = V_NONE;
    if (hookId == 0) return verdict;
    for (let pi = 0; pi < this.policies.length; pi++) {
      const pol = this.policies[pi];
      let applies = -1; // computed lazily: most policies do not have the hook
      const hp = pol.hookPtrs;
      for (let hi = 0; hi < hp.length; hi++) {
        const h = hp[hi];
        if (h == 0) continue;
        if (load<u16>(h + A.HOOK_HOOK_ID) != hookId || load<u8>(h + A.HOOK_KIND) != kind) continue;
        if (hookId >= A.TLN_HOOK_GENERIC_TRACEPOINT && !this.sameName(pol, hi)) continue; // tracepoint/uprobe: by name
        if (applies < 0) applies = scopeApplies(pol.scope, this.inPod) ? 1 : 0;
        if (applies == 0) break;
        const v = this.evalHook(pol, pi, hi, h);
        if (v > verdict) verdict = v;
      }
    }
    return verdict;
  }

  /** is the event's hook name that of hook hi ("subsystem/event", "path:symbol")? */
  private sameName(pol: PolicyE, hi: i32): bool {
    if (hi >= pol.hookNames.length) return false;
    const n = pol.hookNames[hi];
    return n.byteLength == this.nameLen && memory.compare(changetype<usize>(n), this.namePtr, <usize>this.nameLen) == 0;
  }

  private evalHook(pol: PolicyE, pi: i32, hi: i32, h: usize): i32 {
    const nsel = <i32>load<u8>(h + A.HOOK_NSELECTORS);
    const first = <i32>load<u8>(h + A.HOOK_FIRST_SEL);
    if (nsel == 0) return this.record(pol, pi, hi, -1, 0);
    for (let s = 0; s < nsel; s++) {
      const k = first + s;
      if (k >= pol.selPtrs.length) break;
      const sp = pol.selPtrs[k];
      if (sp == 0) continue;
      if (this.selectorMatches(pol, sp)) {
        // a selector with filters or actions only in the spec record cannot be decided here:
        // say so (the match is marked unknown) instead of a wrong match or no-match
        if ((load<u8>(sp + A.SEL_FLAGS) & A.TLN_SEL_F_SPEC_ONLY) != 0) this.unknownSel = true;
        return this.record(pol, pi, hi, s, sp);
      }
    }
    return V_NONE;
  }

  /** records a match, runs its actions; returns its verdict code */
  private record(pol: PolicyE, pi: i32, hi: i32, sel: i32, sp: usize): i32 {
    const mode = pol.runMode;
    let post = true;
    let enf = V_NONE;
    let acts: u16 = 0; // bit 1 << action id; Post when the selector has none
    if (sp != 0) {
      const na = <i32>load<u8>(sp + A.SEL_NACTIONS);
      for (let i = 0; i < na && i < A.TLN_MAX_ACTIONS; i++) {
        const a = sp + A.SEL_ACTIONS + <usize>(i * A.ACTION_SIZE);
        const id = load<u8>(a + A.ACTION_ID);
        if (id < 16) acts |= <u16>1 << id;
        if (id == A.TLN_ACT_SIGKILL) enf = max(enf, V_KILL);
        else if (id == A.TLN_ACT_OVERRIDE) enf = max(enf, V_OVERRIDE);
        else if (id == A.TLN_ACT_SIGNAL) enf = max(enf, V_SIGNAL);
        else if (id == A.TLN_ACT_NOPOST) post = false;
        else if (id == A.TLN_ACT_POST) {
          const rl = load<u64>(a + A.ACTION_RATE_LIMIT_NS);
          if (rl != 0 && this.rateLimited(pi, hi, sel, load<u8>(a + A.ACTION_RL_SCOPE), rl)) post = false;
        }
      }
    }
    const enforced = enf != V_NONE && mode == A.TLN_MODE_ENFORCE;
    const n = this.nmatches;
    if (n < MAX_MATCHES) {
      this.mPolicy[n] = pi;
      this.mHook[n] = hi;
      this.mSel[n] = sel;
      this.mSelPtr[n] = sp;
      this.mEnforced[n] = enforced ? 1 : 0;
      this.mPost[n] = post ? 1 : 0;
      this.mMode[n] = mode;
      this.nmatches = n + 1;
      const mb = changetype<usize>(this.matchBuf);
      const r = mb + <usize>(MATCH_HDR + n * MATCH_REC);
      store<u32>(r + <usize>A.TLN_EVMATCH_OFF_POLICY, <u32>pi);
      store<u16>(r + <usize>A.TLN_EVMATCH_OFF_HOOK, <u16>hi);
      store<i16>(r + <usize>A.TLN_EVMATCH_OFF_SELECTOR, <i16>sel);
      store<u16>(r + <usize>A.TLN_EVMATCH_OFF_ACTIONS, acts == 0 ? <u16>1 << A.TLN_ACT_POST : acts);
      store<u8>(r + <usize>A.TLN_EVMATCH_OFF_MODE, mode);
      store<u8>(r + <usize>A.TLN_EVMATCH_OFF_FLAGS, (enforced ? A.TLN_EVMATCH_F_ENFORCED : 0) | (post ? A.TLN_EVMATCH_F_POST : 0));
      store<u32>(mb + <usize>A.TLN_EVMATCH_HDR_OFF_COUNT, <u32>(n + 1));
    }
    if (enforced) return enf;
    return post ? V_POST : V_NONE;
  }

  private hashArgs(): u64 {
    if (this.argsHashed) return this.argsHash;
    let h: u64 = 0x51ed2701;
    for (let i = 0; i < this.nargs; i++) {
      const s = this.argBase + <usize>(i * REC_SLOT);
      const k = load<u8>(s + S_KIND);
      h = mix64(h ^ <u64>k);
      if (k == ARG_INT) h = mix64(h ^ load<u64>(s + S_VALUE));
      else if (k == ARG_STR) {
        // the first 40 bytes of each argument, as Tetragon's rate-limit key
        const p = this.rp + <usize>load<u32>(s + S_VALUE);
        let n = <i32>load<u32>(s + S_STR_LEN);
        if (n > 40) n = 40;
        let f = FNV_SEED;
        for (let j = 0; j < n; j++) f = fnv(f, load<u8>(p + <usize>j));
        h = mix64(h ^ <u64>f ^ (<u64>n << 32));
      } else if (k == ARG_SOCK) {
        for (let j = 0; j < 56; j += 8) h = mix64(h ^ load<u64>(s + <usize>j));
      }
    }
    this.argsHash = h;
    this.argsHashed = true;
    return h;
  }

  private rateLimited(pi: i32, hi: i32, sel: i32, scope: u8, rl: u64): bool {
    let who: u64 = 0;
    if (scope == A.TLN_RL_THREAD) who = <u64>this.tid;
    else if (scope == A.TLN_RL_PROCESS) who = <u64>this.pid | (<u64>1 << 40);
    let key = mix64(this.hashArgs() ^ mix64((<u64>pi << 32) | (<u64>hi << 16) | <u64>(sel & 0xffff)) ^ mix64(who ^ (<u64>scope << 48)));
    if (key == 0) key = 1;
    const now = this.timeNs;
    const base = <i32>(<u32>key & <u32>(RL_CAP - 1));
    let victim = base;
    let oldest: u64 = <u64>-1;
    for (let i = 0; i < RL_PROBE; i++) {
      const s = (base + i) & (RL_CAP - 1);
      if (this.rlUsed[s] == 0) {
        victim = s;
        oldest = 0;
        break;
      }
      if (this.rlKeys[s] == key) {
        const last = this.rlTimes[s];
        if (now >= last && now - last < rl) return true;
        this.rlTimes[s] = now;
        return false;
      }
      if (this.rlTimes[s] < oldest) {
        oldest = this.rlTimes[s];
        victim = s;
      }
    }
    this.rlUsed[victim] = 1;
    this.rlKeys[victim] = key;
    this.rlTimes[victim] = now;
    return false;
  }

  // ---- selector matching ----

  private selectorMatches(pol: PolicyE, sp: usize): bool {
    const pidOp = load<u8>(sp + A.SEL_PID_OP);
    if (pidOp != 0) {
      const np = <i32>load<u8>(sp + A.SEL_NPIDS);
      let found = false;
      for (let i = 0; i < np && i < A.TLN_MAX_PIDS; i++) {
        if (load<u32>(sp + A.SEL_PIDS + <usize>(i * 4)) == this.pid) {
          found = true;
          break;
        }
      }
      if (found != (pidOp == A.TLN_OP_IN)) return false;
    }
    const binOp = load<u8>(sp + A.SEL_BIN_OP);
    if (binOp != 0) {
      const set = load<u8>(sp + A.SEL_BIN_SET);
      let found = false;
      if (binOp == A.TLN_OP_IN || binOp == A.TLN_OP_NOT_IN) found = pol.str.lookup(set, this.binPtr, this.binLen, false, true);
      else if (binOp == A.TLN_OP_PREFIX || binOp == A.TLN_OP_NOT_PREFIX) found = pol.str.lookup(set, this.binPtr, this.binLen, false, false);
      else found = pol.str.lookup(set, this.binPtr, this.binLen, true, false);
      const neg = (load<u8>(sp + A.SEL_FLAGS) & A.TLN_SEL_F_BIN_NEGATE) != 0;
      if (found == neg) return false;
    }
    const nf = <i32>load<u8>(sp + A.SEL_NFILTERS);
    for (let i = 0; i < nf && i < A.TLN_MAX_FILTERS; i++) {
      if (!this.filterMatches(pol, sp + A.SEL_FILTERS + <usize>(i * A.FILTER_SIZE))) return false;
    }
    return true;
  }

  private filterMatches(pol: PolicyE, f: usize): bool {
    const op = load<u8>(f + A.FILTER_OP);
    const slot = load<u8>(f + A.FILTER_SLOT);
    const type = load<u8>(f + A.FILTER_TYPE);
    const nvals = min(<i32>load<u8>(f + A.FILTER_NVALS), A.TLN_MAX_VALUES);
    const set = load<u8>(f + A.FILTER_SET);
    const neg = (load<u8>(f + A.FILTER_FLAGS) & A.TLN_FILTER_F_NEGATE) != 0;
    const vals = f + A.FILTER_VALS;
    let s: usize;
    if (slot == A.TLN_SLOT_RETURN) s = this.retSlot;
    else if (<i32>slot < this.nargs) s = this.argBase + <usize>(<i32>slot * REC_SLOT);
    else return false; // the event lacks the argument
    const kind = load<u8>(s + S_KIND);
    let cat = category(type);
    if (cat == CAT_FILE) cat = CAT_STR; // file and path compare by path, as strings
    let found = false;

    if (cat == CAT_INT) {
      if (kind != ARG_INT) return false;
      const v = normalize(load<u64>(s + S_VALUE), type);
      const signed = typeSigned(type);
      if (op == A.TLN_OP_IN_MAP || op == A.TLN_OP_NOT_IN_MAP) {
        found = pol.u64.has(set, v);
      } else if (op == A.TLN_OP_IN_RANGE || op == A.TLN_OP_NOT_IN_RANGE) {
        for (let i = 0; i + 1 < nvals; i += 2) {
          const lo = load<u64>(vals + <usize>(i * 8));
          const hi = load<u64>(vals + <usize>(i * 8 + 8));
          if (signed ? <i64>lo <= <i64>v && <i64>v <= <i64>hi : lo <= v && v <= hi) {
            found = true;
            break;
          }
        }
      } else {
        for (let i = 0; i < nvals; i++) {
          const w = load<u64>(vals + <usize>(i * 8));
          let m = false;
          if (op == A.TLN_OP_EQUAL || op == A.TLN_OP_NOT_EQUAL) m = v == w;
          else if (op == A.TLN_OP_GT) m = signed ? <i64>v > <i64>w : v > w;
          else if (op == A.TLN_OP_LT) m = signed ? <i64>v < <i64>w : v < w;
          else if (op == A.TLN_OP_MASK) m = (v & w) != 0;
          if (m) {
            found = true;
            break;
          }
        }
      }
      return found != neg;
    }

    if (cat == CAT_STR) {
      if (kind != ARG_STR) return false;
      const p = this.rp + <usize>load<u32>(s + S_VALUE);
      const n = <i32>load<u32>(s + S_STR_LEN);
      if (op == A.TLN_OP_EQUAL || op == A.TLN_OP_NOT_EQUAL) found = pol.str.lookup(set, p, n, false, true);
      else if (op == A.TLN_OP_PREFIX || op == A.TLN_OP_NOT_PREFIX) found = pol.str.lookup(set, p, n, false, false);
      else if (op == A.TLN_OP_POSTFIX || op == A.TLN_OP_NOT_POSTFIX) found = pol.str.lookup(set, p, n, true, false);
      else return false;
      return found != neg;
    }

    if (cat == CAT_SOCK || cat == CAT_SOCKADDR) {
      if (kind != ARG_SOCK) return false;
      if (op == A.TLN_OP_SADDR || op == A.TLN_OP_NOT_SADDR || op == A.TLN_OP_DADDR || op == A.TLN_OP_NOT_DADDR) {
        const a = s + <usize>(op == A.TLN_OP_SADDR || op == A.TLN_OP_NOT_SADDR ? S_SADDR : S_DADDR);
        const fam = load<u16>(s + S_FAMILY);
        if (fam == 2) found = pol.a4.lookup(set, readHi(a, 4), 0);
        else if (fam == 10) found = pol.a6.lookup(set, readHi(a, 16), readLo(a, 16));
        return found != neg;
      }
      const sport = <u64>load<u16>(s + S_SPORT);
      const dport = <u64>load<u16>(s + S_DPORT);
      if (op == A.TLN_OP_SPORT || op == A.TLN_OP_NOT_SPORT || op == A.TLN_OP_DPORT || op == A.TLN_OP_NOT_DPORT) {
        const port = op == A.TLN_OP_SPORT || op == A.TLN_OP_NOT_SPORT ? sport : dport;
        for (let i = 0; i + 1 < nvals; i += 2) {
          if (load<u64>(vals + <usize>(i * 8)) <= port && port <= load<u64>(vals + <usize>(i * 8 + 8))) {
            found = true;
            break;
          }
        }
        return found != neg;
      }
      if (op == A.TLN_OP_SPORT_PRIV || op == A.TLN_OP_NOT_SPORT_PRIV) return (sport < 1024) != neg;
      if (op == A.TLN_OP_DPORT_PRIV || op == A.TLN_OP_NOT_DPORT_PRIV) return (dport < 1024) != neg;
      let v: u64 = 0;
      if (op == A.TLN_OP_PROTOCOL) v = <u64>load<u8>(s + S_PROTOCOL);
      else if (op == A.TLN_OP_FAMILY) v = <u64>load<u16>(s + S_FAMILY);
      else if (op == A.TLN_OP_STATE) v = <u64>load<u8>(s + S_STATE);
      else return false;
      for (let i = 0; i < nvals; i++) {
        if (load<u64>(vals + <usize>(i * 8)) == v) {
          found = true;
          break;
        }
      }
      return found != neg;
    }
    return false;
  }

  // ---- results ----

  /** the last evaluation as the JSON of a Verdict */
  verdictJson(code: i32): string {
    let v = "none";
    if (code == V_KILL) v = "kill";
    else if (code == V_OVERRIDE) v = "override";
    else if (code == V_SIGNAL) v = "signal";
    else if (code == V_POST) v = "post";
    const ms = new Array<string>();
    for (let i = 0; i < this.nmatches; i++) {
      const pol = this.policies[this.mPolicy[i]];
      const sp = this.mSelPtr[i];
      const acts = new Array<string>();
      const na = sp == 0 ? 0 : <i32>load<u8>(sp + A.SEL_NACTIONS);
      if (na == 0) acts.push('"Post"');
      for (let j = 0; j < na && j < A.TLN_MAX_ACTIONS; j++) {
        acts.push('"' + actionName(load<u8>(sp + A.SEL_ACTIONS + <usize>(j * A.ACTION_SIZE))) + '"');
      }
      const ns = pol.rec.namespace;
      ms.push(
        '{"policy":' + jstr(pol.rec.name) + ',"namespace":' + (pol.rec.kind == 2 ? jstr(ns) : "null") +
          ',"policyIndex":' + this.mPolicy[i].toString() + ',"hook":' + this.mHook[i].toString() +
          ',"selector":' + this.mSel[i].toString() + ',"actions":[' + acts.join(",") + '],"mode":"' +
          modeName(this.mMode[i]) + '","enforced":' + jbool(this.mEnforced[i] != 0) + ',"post":' +
          jbool(this.mPost[i] != 0) + "}",
      );
    }
    const unk = this.unknownSel ? ',"unknown":"a matching selector also uses filters or actions the evaluator does not implement yet (see the hook\'s spec.needs)"' : "";
    return '{"verdict":"' + v + '","matches":[' + ms.join(",") + "]" + unk + "}";
  }
}
