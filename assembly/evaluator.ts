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
import { SpecSel, SpecFilter, SpecCap, SpecAct, specSelectors } from "./speceval";
import { readJson } from "./jsonread";
import { CelEval, CelArgs, C_INT, C_STR } from "./cel";
import { namespaceName } from "./names";
import { CAT_CAPS, CAT_SOCKADDR_UN } from "./argtypes";
import {
  REC_HEADER, REC_SLOT, REC_MAX_ARGS, R_SIZE, R_HOOK_ID, R_KIND, R_NARGS, R_TIME, R_PID, R_TID,
  R_BIN_OFF, R_BIN_LEN, R_POD_OFF, R_POD_LEN, R_NAME_OFF, R_NAME_LEN, R_EXT_OFF, R_EXT_LEN, S_KIND, S_PROTOCOL, S_STATE, S_FAMILY, S_VALUE,
  S_STR_LEN, S_SPORT, S_DPORT, S_SADDR, S_DADDR, ARG_INT, ARG_STR, ARG_SOCK, ARG_NONE, S_TYPE,
} from "./event";

// tri-state results of the selectors decided from the spec record
const NO: i32 = 0;
const YES: i32 = 1;
const UNKNOWN: i32 = -1;

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

/** actions that do not decide the verdict: user-space requests after the event, socket tracking, enforcer cleanup */
function isSideAction(id: u8): bool {
  return id == A.TLN_ACT_GETURL || id == A.TLN_ACT_DNSLOOKUP || id == A.TLN_ACT_TRACKSOCK || id == A.TLN_ACT_UNTRACKSOCK ||
    id == A.TLN_ACT_CLEANUP_ENFORCER_NOTIFICATION;
}

const SYS_PREFIXES: StaticArray<string> = ["__x64_sys_", "__arm64_sys_", "__ia32_sys_", "__se_sys_", "__do_sys_", "sys_"];

/** length of the syscall prefix of a function name (sys_openat, __x64_sys_openat -> 4, 10); 0 when none */
function syscallPrefix(name: string): i32 {
  for (let i = 0; i < SYS_PREFIXES.length; i++) if (name.startsWith(SYS_PREFIXES[i])) return SYS_PREFIXES[i].length;
  return 0;
}

/** syscallPrefix of the UTF-8 name at p */
function syscallPrefixAt(p: usize, len: i32): i32 {
  for (let i = 0; i < SYS_PREFIXES.length; i++) {
    const s = SYS_PREFIXES[i];
    const n = s.length;
    if (len < n) continue;
    let ok = true;
    for (let j = 0; j < n && ok; j++) ok = <i32>load<u8>(p + <usize>j) == s.charCodeAt(j);
    if (ok) return n;
  }
  return 0;
}

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
  /** by hook: the function names it serves (a list:NAME hook: every value of the list) */
  hookNames: Array<Array<ArrayBuffer>>;
  /** by hook slot: a syscall hook (its name is compared without the arch prefix) */
  hookSyscall: Array<bool>;
  selPtrs: StaticArray<usize>;
  /** by hook slot: the selectors decided from the spec record (TLN_SEL_F_SPEC_ONLY) */
  specs: Array<Array<SpecSel | null>>;
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
    const names = new Array<Array<ArrayBuffer>>();
    const sys = new Array<bool>();
    for (let i = 0; i < p.hooks.length; i++) {
      const h = p.hooks[i];
      const isSys = (h.flags & A.TLN_HOOK_F_SYSCALL) != 0;
      sys.push(isSys);
      // a list hook's events carry the function of the list that ran (the kernel serves each value)
      // a syscall hook matches the event's function whatever arch prefix it carries
      const calls = h.call.startsWith("list:") ? listMembers(h.spec, isSys) : [isSys ? h.call.substring(syscallPrefix(h.call)) : h.call];
      const ns = new Array<ArrayBuffer>();
      for (let j = 0; j < calls.length; j++) ns.push(String.UTF8.encode(calls[j]));
      names.push(ns);
    }
    this.hookNames = names;
    this.hookSyscall = sys;
    const specs = new Array<Array<SpecSel | null>>();
    for (let i = 0; i < p.hooks.length; i++) specs.push(specSelectors(p.hooks[i].spec));
    this.specs = specs;
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
  /** the spec-decided selector of each match (null: the selector struct) */
  mSpec: Array<SpecSel | null> = new Array<SpecSel | null>(MAX_MATCHES);
  /** the same matches as records, for the host (never reallocated: its address is stable) */
  matchBuf: StaticArray<u8> = initMatchBuf();

  // the record being evaluated
  rp: usize = 0;
  rlen: i32 = 0;
  nargs: i32 = 0;
  argBase: usize = 0;
  retSlot: usize = 0;
  // the record's own argument slots (nargs/argBase may point at alignBuf for one hook)
  recNargs: i32 = 0;
  recArgBase: usize = 0;
  alignBuf: ArrayBuffer = new ArrayBuffer(REC_MAX_ARGS * REC_SLOT);
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
  /** the process context block (struct tln_evx entries); extLen 0: none */
  extPtr: usize = 0;
  extLen: i32 = 0;
  /** why the last evaluation could not decide a selector ("" when it decided all it reached) */
  unknownWhy: string = "";
  /** the reason of the spec filter or selector being decided */
  why: string = "";

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
    const xo = <u64>load<u32>(p + R_EXT_OFF);
    const xl = <u64>load<u32>(p + R_EXT_LEN);
    if (xo + xl > <u64>size) return false;
    this.extPtr = p + <usize>xo;
    this.extLen = xo == 0 ? 0 : <i32>xl;
    this.namePtr = p + <usize>no;
    this.nameLen = <i32>nl;
    this.rp = p;
    this.rlen = size;
    this.nargs = nargs;
    this.argBase = p + REC_HEADER;
    this.recNargs = nargs;
    this.recArgBase = this.argBase;
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
    this.unknownWhy = "";
    store<u32>(changetype<usize>(this.matchBuf) + <usize>A.TLN_EVMATCH_HDR_OFF_COUNT, 0);
    store<u32>(changetype<usize>(this.matchBuf) + <usize>A.TLN_EVMATCH_HDR_OFF_UNKNOWN, 0);
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
        this.alignArgs(h);
        const v = this.evalHook(pol, pi, hi, h);
        if (v > verdict) verdict = v;
      }
    }
    return verdict;
  }

  /**
   * Tetragon's events leave nop arguments out, the kernel's records keep their
   * (empty) slots: an event with exactly the hook's other arguments has them
   * spread to the hook's positions, so that a selector's slot names the same
   * argument in both.
   */
  private alignArgs(h: usize): void {
    this.nargs = this.recNargs;
    this.argBase = this.recArgBase;
    const n = min(<i32>load<u8>(h + A.HOOK_NARGS), REC_MAX_ARGS);
    let nops = 0;
    for (let i = 0; i < n; i++) if (load<u8>(h + A.HOOK_ARGS + <usize>(i * A.HOOK_ARG_SIZE) + A.HOOK_ARG_TYPE) == A.TLN_ARG_NOP) nops++;
    if (nops == 0 || this.recNargs != n - nops) return;
    const q = changetype<usize>(this.alignBuf);
    memory.fill(q, 0, <usize>(n * REC_SLOT));
    let j = 0;
    for (let i = 0; i < n; i++) {
      const t = load<u8>(h + A.HOOK_ARGS + <usize>(i * A.HOOK_ARG_SIZE) + A.HOOK_ARG_TYPE);
      if (t == A.TLN_ARG_NOP) {
        store<u8>(q + <usize>(i * REC_SLOT) + S_TYPE, t);
        continue;
      }
      memory.copy(q + <usize>(i * REC_SLOT), this.recArgBase + <usize>(j * REC_SLOT), <usize>REC_SLOT);
      j++;
    }
    this.nargs = n;
    this.argBase = q;
  }

  /** is the event's hook name that of hook hi ("subsystem/event", "path:symbol")? */
  private sameName(pol: PolicyE, hi: i32): bool {
    if (hi >= pol.hookNames.length) return false;
    const ns = pol.hookNames[hi];
    let p = this.namePtr;
    let len = this.nameLen;
    if (pol.hookSyscall[hi]) {
      const skip = syscallPrefixAt(p, len);
      p += <usize>skip;
      len -= skip;
    }
    for (let i = 0; i < ns.length; i++) {
      const n = ns[i];
      if (n.byteLength == len && memory.compare(changetype<usize>(n), p, <usize>len) == 0) return true;
    }
    return false;
  }

  private evalHook(pol: PolicyE, pi: i32, hi: i32, h: usize): i32 {
    const nsel = <i32>load<u8>(h + A.HOOK_NSELECTORS);
    const first = <i32>load<u8>(h + A.HOOK_FIRST_SEL);
    if (nsel == 0) return this.record(pol, pi, hi, -1, 0, null);
    const specs = hi < pol.specs.length ? pol.specs[hi] : new Array<SpecSel | null>();
    for (let s = 0; s < nsel; s++) {
      const k = first + s;
      if (k >= pol.selPtrs.length) break;
      const sp = pol.selPtrs[k];
      if (sp == 0) continue;
      if ((load<u8>(sp + A.SEL_FLAGS) & A.TLN_SEL_F_SPEC_ONLY) != 0) {
        // the whole selector is decided from the spec record; an undecidable one is reported,
        // and the later selectors are tried as if it did not match (Tetragon: first match wins)
        const ss = s < specs.length ? specs[s] : null;
        let r = UNKNOWN;
        if (ss == null) this.why = "the image carries no evaluation of it (compiled by an older talon)";
        else r = this.specMatches(pol, ss);
        if (r == YES) return this.record(pol, pi, hi, s, sp, ss);
        if (r == UNKNOWN) this.noteUnknown(pol, hi, s);
        continue;
      }
      if (this.selectorMatches(pol, sp)) return this.record(pol, pi, hi, s, sp, null);
    }
    return V_NONE;
  }

  private noteUnknown(pol: PolicyE, hi: i32, s: i32): void {
    if (this.unknownWhy.length == 0) {
      const name = hi < pol.rec.hooks.length ? pol.rec.hooks[hi].call : "?";
      this.unknownWhy = pol.rec.name + " " + name + " selector " + s.toString() + ": " + this.why;
    }
    store<u32>(changetype<usize>(this.matchBuf) + <usize>A.TLN_EVMATCH_HDR_OFF_UNKNOWN, 1);
  }

  /** records a match, runs its actions; returns its verdict code */
  private record(pol: PolicyE, pi: i32, hi: i32, sel: i32, sp: usize, ss: SpecSel | null): i32 {
    const mode = pol.runMode;
    let post = true;
    let enf = V_NONE;
    let acts: u16 = 0; // bit 1 << action id; Post when the selector has none
    if (ss != null) {
      const all = this.specActions(ss);
      for (let i = 0; i < all.length; i++) {
        const a = all[i];
        const id = a.id;
        if (id < 16) acts |= <u16>1 << id;
        if (id == A.TLN_ACT_SIGKILL) enf = max(enf, V_KILL);
        else if (id == A.TLN_ACT_OVERRIDE || id == A.TLN_ACT_SET) enf = max(enf, V_OVERRIDE);
        else if (id == A.TLN_ACT_SIGNAL) enf = max(enf, V_SIGNAL);
        else if (id == A.TLN_ACT_NOTIFY_ENFORCER) {
          // the enforcer carries out the notified signal or error
          if (a.sig == 9) enf = max(enf, V_KILL);
          else if (a.sig != 0) enf = max(enf, V_SIGNAL);
          else enf = max(enf, V_OVERRIDE);
        } else if (id == A.TLN_ACT_NOPOST) post = false;
        else if (isSideAction(id)) {
          // carried out beside the event (a request, a socket table entry): listed, no verdict of its own
        } else if (id == A.TLN_ACT_POST) {
          if (a.rateNs != 0 && this.rateLimited(pi, hi, sel, a.rlScope, a.rateNs)) post = false;
        }
      }
    } else if (sp != 0) {
      const na = <i32>load<u8>(sp + A.SEL_NACTIONS);
      for (let i = 0; i < na && i < A.TLN_MAX_ACTIONS; i++) {
        const a = sp + A.SEL_ACTIONS + <usize>(i * A.ACTION_SIZE);
        // matchReturnActions: only on a record with the return value (as specActions)
        if ((load<u8>(a + A.ACTION_FLAGS) & A.TLN_ACTION_F_RETURN) != 0 && load<u8>(this.retSlot + S_KIND) == ARG_NONE) continue;
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
      this.mSpec[n] = ss;
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
    return this.filterOn(pol, s, op, type, nvals, set, neg, vals);
  }

  /** one filter on the argument slot at s (op, values as in struct tln_filter) */
  private filterOn(pol: PolicyE, s: usize, op: u8, type: u8, nvals: i32, set: u8, neg: bool, vals: usize): bool {
    const kind = load<u8>(s + S_KIND);
    let cat = category(type);
    if (cat == CAT_FILE) cat = CAT_STR; // file and path compare by path, as strings
    else if (cat == CAT_CAPS) cat = CAT_INT;
    else if (cat == CAT_SOCKADDR_UN && op != A.TLN_OP_FAMILY) cat = CAT_STR;
    else if (cat != CAT_INT && cat != CAT_STR && cat != CAT_SOCK && cat != CAT_SOCKADDR) {
      // a type compared by what the event holds (auto, and types without their own category)
      cat = kind == ARG_INT ? CAT_INT : kind == ARG_STR ? CAT_STR : kind == ARG_SOCK ? CAT_SOCK : cat;
    }
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

  // ---- selectors decided from the spec record ----

  /** the actions a spec-decided match runs: matchActions, and matchReturnActions when the event has its return value */
  private specActions(ss: SpecSel): Array<SpecAct> {
    if (ss.racts.length == 0 || load<u8>(this.retSlot + S_KIND) == ARG_NONE) return ss.acts;
    return ss.acts.concat(ss.racts);
  }

  /** the data of the first context entry with this key and index; 0 when the event has none */
  private ext(key: u8, index: i32): usize {
    let q = this.extPtr;
    const end = this.extPtr + <usize>this.extLen;
    while (q + 4 <= end) {
      const n = <usize>load<u16>(q + 2);
      if (q + 4 + n > end) return 0;
      if (load<u8>(q) == key && (index < 0 || <i32>load<u8>(q + 1) == index)) return q;
      q += 4 + n;
    }
    return 0;
  }

  /** YES, NO or UNKNOWN (the reason in this.why): all filters ANDed, a definite NO wins over an UNKNOWN */
  private specMatches(pol: PolicyE, ss: SpecSel): i32 {
    let unknown = false;
    let why = "";
    for (let i = 0; i < ss.pids.length; i++) {
      const v = this.specPids(ss.pids[i].op, ss.pids[i].flags, ss.pids[i].vals);
      if (v == NO) return NO;
      if (v == UNKNOWN && !unknown) {
        unknown = true;
        why = this.why;
      }
    }
    const b = ss.bin;
    if (b != null) {
      const v = this.specBinary(pol, b.op, b.set, b.children);
      if (v == NO) return NO;
      if (v == UNKNOWN && !unknown) {
        unknown = true;
        why = this.why;
      }
    }
    const pb = ss.pbin;
    if (pb != null) {
      const q = this.ext(A.TLN_EVX_PARENT_BINARY, -1);
      if (q == 0) {
        if (!unknown) {
          unknown = true;
          why = "no parent in the event (matchParentBinaries)";
        }
      } else if (!this.binIn(pol, pb.op, pb.set, q + 4, <i32>load<u16>(q + 2))) return NO;
    }
    for (let i = 0; i < ss.ns.length; i++) {
      const n = ss.ns[i];
      const q = this.ext(A.TLN_EVX_NS, n.t);
      if (q == 0) {
        if (!unknown) {
          unknown = true;
          why = this.extLen == 0 || this.ext(A.TLN_EVX_NS, -1) == 0 ? "no process.ns in the event" : "no process.ns." + namespaceName(n.t) + " in the event";
        }
        continue;
      }
      const inum = load<u32>(q + 4);
      let hit = n.host && load<u8>(q + 8) != 0;
      for (let j = 0; j < n.vals.length && !hit; j++) hit = n.vals[j] == inum;
      if (hit != (n.op == A.TLN_OP_IN)) return NO;
    }
    if (ss.nschOp != 0) {
      // as Tetragon: In, one of the listed types changed since exec; NotIn, one of the others did;
      // a type without a recorded inode at exec is not compared. Kernel records carry the table's
      // values as NS_EXEC (NS is then the call's); producers of Tetragon JSON carry NS and NS_NOW.
      const fromKernel = this.ext(A.TLN_EVX_NS_EXEC, -1) != 0;
      const thenKey = fromKernel ? A.TLN_EVX_NS_EXEC : A.TLN_EVX_NS;
      const nowKey = fromKernel ? A.TLN_EVX_NS : A.TLN_EVX_NS_NOW;
      if (this.ext(nowKey, -1) == 0 || this.ext(thenKey, -1) == 0) {
        if (!unknown) {
          unknown = true;
          why = "the event does not record the namespaces at the time of the call (matchNamespaceChanges compares them with those at exec; Tetragon's JSON carries only the latter)";
        }
      } else {
        let changed = false;
        for (let t = 0; t < <i32>A.TLN_NS_TYPES; t++) {
          if (ss.nschTypes.includes(t) != (ss.nschOp == A.TLN_OP_IN)) continue;
          const then = this.ext(thenKey, t);
          if (then == 0 || load<u32>(then + 4) == 0) continue;
          const now = this.ext(nowKey, t);
          if (now == 0 || load<u32>(now + 4) != load<u32>(then + 4)) changed = true;
        }
        if (!changed) return NO;
      }
    }
    for (let i = 0; i < ss.caps.length; i++) {
      const v = this.specCaps(ss.caps[i], false);
      if (v == NO) return NO;
      if (v == UNKNOWN && !unknown) {
        unknown = true;
        why = this.why;
      }
    }
    for (let i = 0; i < ss.capch.length; i++) {
      const v = this.specCaps(ss.capch[i], true);
      if (v == NO) return NO;
      if (v == UNKNOWN && !unknown) {
        unknown = true;
        why = this.why;
      }
    }
    if (ss.workloads && !unknown) {
      unknown = true;
      why = "matchWorkloads is not evaluated by the dry-run yet";
    }
    for (let i = 0; i < ss.filters.length; i++) {
      const v = this.specFilter(pol, ss.filters[i]);
      if (v == NO) return NO;
      if (v == UNKNOWN && !unknown) {
        unknown = true;
        why = this.why;
      }
    }
    if (ss.ndata > 0 && !unknown) {
      unknown = true;
      why = "no data[] values in the event (matchData)";
    }
    if (unknown) {
      this.why = why;
      return UNKNOWN;
    }
    return YES;
  }

  /** matchBinaries-style lookup of a path in string set `set` */
  private binIn(pol: PolicyE, op: u8, set: u8, p: usize, n: i32): bool {
    let found = false;
    if (op == A.TLN_OP_IN || op == A.TLN_OP_NOT_IN) found = pol.str.lookup(set, p, n, false, true);
    else if (op == A.TLN_OP_PREFIX || op == A.TLN_OP_NOT_PREFIX) found = pol.str.lookup(set, p, n, false, false);
    else found = pol.str.lookup(set, p, n, true, false);
    const neg = op == A.TLN_OP_NOT_IN || op == A.TLN_OP_NOT_PREFIX || op == A.TLN_OP_NOT_POSTFIX;
    return found != neg;
  }

  /** the chain of ancestors is known up to init */
  private chainKnown(): bool {
    return this.ext(A.TLN_EVX_ANCESTORS_ALL, -1) != 0;
  }

  /** matchBinaries, with followChildren: the process or any ancestor ran a listed binary */
  private specBinary(pol: PolicyE, op: u8, set: u8, children: bool): i32 {
    const self = this.binIn(pol, op, set, this.binPtr, this.binLen);
    if (!children) return self ? YES : NO;
    const neg = op == A.TLN_OP_NOT_IN;
    // positive form: "ran from a listed binary" (self or an ancestor); NotIn is its negation
    let inSet = neg ? !self : self;
    if (inSet) return neg ? NO : YES;
    const q0 = this.ext(A.TLN_EVX_PARENT_BINARY, -1);
    if (q0 != 0 && this.binIn(pol, A.TLN_OP_IN, set, q0 + 4, <i32>load<u16>(q0 + 2))) return neg ? NO : YES;
    let q = this.extPtr;
    const end = this.extPtr + <usize>this.extLen;
    while (q + 4 <= end) {
      const n = <usize>load<u16>(q + 2);
      if (load<u8>(q) == A.TLN_EVX_ANCESTOR_BINARY && this.binIn(pol, A.TLN_OP_IN, set, q + 4, <i32>n)) return neg ? NO : YES;
      q += 4 + n;
    }
    if (q0 != 0 && this.chainKnown()) return neg ? YES : NO;
    this.why = q0 == 0 ? "no parent in the event (matchBinaries followChildren)" : "no process.ancestors in the event (matchBinaries followChildren needs every ancestor's binary)";
    return UNKNOWN;
  }

  /** one matchPIDs entry */
  private specPids(op: u8, flags: u8, vals: Array<u32>): i32 {
    const inOp = op == A.TLN_OP_IN;
    let pid = this.pid;
    if ((flags & A.TLN_PID_F_NAMESPACE) != 0) {
      const q = this.ext(A.TLN_EVX_NS_PID, -1);
      if (q == 0) {
        this.why = "no process.pod.container.pid (the pid in its namespace) in the event (matchPIDs isNamespacePID)";
        return UNKNOWN;
      }
      pid = load<u32>(q + 4);
    }
    if (vals.includes(pid)) return inOp ? YES : NO;
    if ((flags & A.TLN_PID_F_FOLLOW_FORKS) == 0) return inOp ? NO : YES;
    if ((flags & A.TLN_PID_F_NAMESPACE) != 0) {
      // the ancestors' pids in their namespaces (kernel records: the process table's), parent first
      if (this.ext(A.TLN_EVX_PARENT_PID, -1) == 0 && !this.chainKnown()) {
        this.why = "the event has no namespace pids of the ancestors (matchPIDs followForks with isNamespacePID)";
        return UNKNOWN;
      }
      let q = this.extPtr;
      const end = this.extPtr + <usize>this.extLen;
      let seen = 0;
      while (q + 4 <= end) {
        const n = <usize>load<u16>(q + 2);
        if (load<u8>(q) == A.TLN_EVX_ANCESTOR_NS_PID && n == 4) {
          seen++;
          if (vals.includes(load<u32>(q + 4))) return inOp ? YES : NO; // 0: the table had none for it (as the kernel compares)
        }
        q += 4 + n;
      }
      if (this.chainKnown() && (seen > 0 || this.ext(A.TLN_EVX_PARENT_PID, -1) == 0)) return inOp ? NO : YES;
      this.why = "the event has no namespace pids of the ancestors (matchPIDs followForks with isNamespacePID)";
      return UNKNOWN;
    }
    // followForks: a descendant of a listed pid counts as it
    const q0 = this.ext(A.TLN_EVX_PARENT_PID, -1);
    if (q0 == 0) {
      this.why = "no parent in the event (matchPIDs followForks)";
      return UNKNOWN;
    }
    if (vals.includes(load<u32>(q0 + 4))) return inOp ? YES : NO;
    let q = this.extPtr;
    const end = this.extPtr + <usize>this.extLen;
    while (q + 4 <= end) {
      const n = <usize>load<u16>(q + 2);
      if (load<u8>(q) == A.TLN_EVX_ANCESTOR_PID && n == 4 && vals.includes(load<u32>(q + 4))) return inOp ? YES : NO;
      q += 4 + n;
    }
    if (this.chainKnown()) return inOp ? NO : YES;
    this.why = "no process.ancestors in the event (matchPIDs followForks needs every ancestor's pid)";
    return UNKNOWN;
  }

  /** matchCapabilities (any listed capability in the set: In), matchCapabilityChanges (any listed one changed since exec: In) */
  private specCaps(c: SpecCap, change: bool): i32 {
    const q = this.ext(A.TLN_EVX_CAPS, c.set);
    if (q == 0) {
      this.why = "no process.cap in the event";
      return UNKNOWN;
    }
    if (c.nsCap) {
      // isNamespaceCapability: the capability counts only in a user namespace other than the host's
      const u = this.ext(A.TLN_EVX_NS, 9);
      if (u == 0) {
        this.why = "no process.ns.user in the event (isNamespaceCapability)";
        return UNKNOWN;
      }
      // as Tetragon: in the host's user namespace the entry rejects, whatever its operator
      if (load<u8>(u + 8) != 0) return NO;
    }
    if (!change) return ((load<u64>(q + 4) & c.mask) != 0) == (c.op == A.TLN_OP_IN) ? YES : NO;
    // kernel records carry the table's sets as CAPS_EXEC (CAPS is then the call's); producers of Tetragon JSON CAPS and CAPS_NOW
    const x = this.ext(A.TLN_EVX_CAPS_EXEC, c.set);
    const tq = x != 0 ? x : q;
    const w = x != 0 ? q : this.ext(A.TLN_EVX_CAPS_NOW, c.set);
    if (w == 0) {
      this.why = "the event does not record the capabilities at the time of the call (matchCapabilityChanges compares them with those at exec; Tetragon's JSON carries only the latter)";
      return UNKNOWN;
    }
    const then = load<u64>(tq + 4);
    const now = load<u64>(w + 4);
    // as Tetragon: In, a listed capability changed; NotIn, only other capabilities did
    if ((then & c.mask) != (now & c.mask)) return c.op == A.TLN_OP_IN ? YES : NO;
    return then != now && c.op == A.TLN_OP_NOT_IN ? YES : NO;
  }

  /** the slot pointer of argument slot `slot` (or the return value); 0 when the event lacks it */
  private slotPtr(slot: u8): usize {
    if (slot == A.TLN_SLOT_RETURN) return load<u8>(this.retSlot + S_KIND) == ARG_NONE ? 0 : this.retSlot;
    if (<i32>slot >= this.nargs) return 0;
    const s = this.argBase + <usize>(<i32>slot * REC_SLOT);
    return load<u8>(s + S_KIND) == ARG_NONE ? 0 : s;
  }

  private missingArg(slot: u8): i32 {
    this.why = slot == A.TLN_SLOT_RETURN ? "no return value in the event" : "no value of args[" + slot.toString() + "] in the event";
    return UNKNOWN;
  }

  private specFilter(pol: PolicyE, f: SpecFilter): i32 {
    const op = f.op;
    if (f.listOnly) {
      this.why = "operator values from a list:NAME the image does not resolve";
      return UNKNOWN;
    }
    if (op == A.TLN_OP_CEL_EXPR) {
      const cel = f.cel;
      if (cel == null) {
        this.why = "the CelExpr could not be read from the image";
        return UNKNOWN;
      }
      const ce = new CelEval(new RecordArgs(this));
      const v = ce.eval(cel);
      if (ce.err.length > 0) {
        this.why = "CelExpr " + f.strs[0] + ": " + ce.err;
        return UNKNOWN;
      }
      return v.i != 0 ? YES : NO;
    }
    const s = this.slotPtr(f.slot);
    if (s == 0) return this.missingArg(f.slot);
    const kind = load<u8>(s + S_KIND);
    const neg = (f.flags & A.TLN_FILTER_F_NEGATE) != 0;
    if (op == A.TLN_OP_SUBSTRING || op == A.TLN_OP_SUBSTRING_IGN_CASE) {
      if (kind != ARG_STR) return this.missingArg(f.slot);
      const t = String.UTF8.decodeUnsafe(this.rp + <usize>load<u32>(s + S_VALUE), <usize>load<u32>(s + S_STR_LEN));
      const lt = op == A.TLN_OP_SUBSTRING_IGN_CASE ? t.toLowerCase() : t;
      for (let i = 0; i < f.strs.length; i++) {
        const v = op == A.TLN_OP_SUBSTRING_IGN_CASE ? f.strs[i].toLowerCase() : f.strs[i];
        if (lt.includes(v)) return YES;
      }
      return NO;
    }
    if (op == A.TLN_OP_FILE_TYPE || op == A.TLN_OP_NOT_FILE_TYPE) {
      const q: usize = f.slot == A.TLN_SLOT_RETURN ? 0 : this.ext(A.TLN_EVX_FILE_TYPE, <i32>f.slot);
      if (q == 0) {
        this.why = "no file type (permission) of args[" + f.slot.toString() + "] in the event (" + (neg ? "NotFileType" : "FileType") + ")";
        return UNKNOWN;
      }
      const ft = <u64>load<u8>(q + 4);
      let hit = false;
      for (let i = 0; i < f.vals.length; i++) if (f.vals[i] == ft) hit = true;
      return hit != neg ? YES : NO;
    }
    if (op == A.TLN_OP_CAPABILITIES_GAINED) {
      const s2 = this.slotPtr(f.slot2);
      if (s2 == 0) return this.missingArg(f.slot2);
      if (kind != ARG_INT || load<u8>(s2 + S_KIND) != ARG_INT) {
        this.why = "CapabilitiesGained needs two capability sets as integers in the event";
        return UNKNOWN;
      }
      // a capability in the new set that the old one lacks
      return (load<u64>(s + S_VALUE) & ~load<u64>(s2 + S_VALUE)) != 0 ? YES : NO;
    }
    const vals = changetype<usize>(f.vals);
    return this.filterOn(pol, s, op, f.type, f.vals.length, f.set, neg, vals) ? YES : NO;
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
      const ss = this.mSpec[i];
      if (ss != null) {
        const all = this.specActions(ss);
        if (all.length == 0) acts.push('"Post"');
        for (let j = 0; j < all.length; j++) acts.push('"' + actionName(all[j].id) + '"');
      } else {
        const na = sp == 0 ? 0 : <i32>load<u8>(sp + A.SEL_NACTIONS);
        if (na == 0) acts.push('"Post"');
        for (let j = 0; j < na && j < A.TLN_MAX_ACTIONS; j++) {
          acts.push('"' + actionName(load<u8>(sp + A.SEL_ACTIONS + <usize>(j * A.ACTION_SIZE))) + '"');
        }
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
    const unk = this.unknownWhy.length > 0 ? ',"unknown":' + jstr(this.unknownWhy) : "";
    return '{"verdict":"' + v + '","matches":[' + ms.join(",") + "]" + unk + "}";
  }
}

/** the event's arguments as a CelExpr reads them */
class RecordArgs extends CelArgs {
  e: Evaluator;
  constructor(e: Evaluator) {
    super();
    this.e = e;
  }
  private slot(i: i32): usize {
    return i < 0 || i >= this.e.nargs ? 0 : this.e.argBase + <usize>(i * REC_SLOT);
  }
  kind(i: i32): u8 {
    const s = this.slot(i);
    if (s == 0) return 255;
    const k = load<u8>(s + S_KIND);
    return k == ARG_INT ? C_INT : k == ARG_STR ? C_STR : 255;
  }
  int(i: i32): i64 {
    return <i64>load<u64>(this.slot(i) + S_VALUE);
  }
  str(i: i32): string {
    const s = this.slot(i);
    return String.UTF8.decodeUnsafe(this.e.rp + <usize>load<u32>(s + S_VALUE), <usize>load<u32>(s + S_STR_LEN));
  }
}

/** a list hook's members from its spec record (compile/hooks.ts membersJson): each value's
 * call, or for a syscall list its name without arch prefix ([] for a generated list) */
function listMembers(spec: string, isSys: bool): Array<string> {
  const out = new Array<string>();
  const root = readJson(spec);
  if (root == null) return out;
  const ms = root.get("members");
  if (ms == null || !ms.isArray) return out;
  for (let i = 0; i < ms.length; i++) {
    const v = ms.at(i).get(isSys ? "syscall" : "call");
    if (v != null && v.isString) out.push(v.text);
  }
  return out;
}
