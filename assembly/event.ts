// The evaluator event record (docs/map-format.md): what evaluateEncoded reads.
// encodeEvent turns an EvalEvent value tree into a record.
import * as A from "./abi";
import { ByteWriter } from "./bytes";
import { Node, V_INT, V_STRING, V_FLOAT, V_TRUE } from "./value";
import { hookIdOf } from "./hooks";
import { parseIntText, parseAddr } from "./parse";
import { writePod } from "./scope";

// Sizes and offsets of struct tln_evrec / tln_evrec_slot (bpf/include/tln_evrec.h,
// through the generated mirror): the short names the evaluator reads.
export const REC_HEADER: i32 = A.TLN_EVREC_SIZEOF;
export const REC_SLOT: i32 = A.TLN_EVREC_SLOT_SIZEOF;
export const REC_MAX_ARGS: i32 = A.TLN_EVREC_MAX_ARGS;

// header offsets
export const R_SIZE: i32 = A.TLN_EVREC_OFF_SIZE;
export const R_HOOK_ID: i32 = A.TLN_EVREC_OFF_HOOK_ID;
export const R_KIND: i32 = A.TLN_EVREC_OFF_KIND;
export const R_NARGS: i32 = A.TLN_EVREC_OFF_NARGS;
export const R_TIME: i32 = A.TLN_EVREC_OFF_TIME_NS;
export const R_PID: i32 = A.TLN_EVREC_OFF_PID;
export const R_TID: i32 = A.TLN_EVREC_OFF_TID;
export const R_BIN_OFF: i32 = A.TLN_EVREC_OFF_BINARY_OFF;
export const R_BIN_LEN: i32 = A.TLN_EVREC_OFF_BINARY_LEN;
export const R_POD_OFF: i32 = A.TLN_EVREC_OFF_POD_OFF;
export const R_POD_LEN: i32 = A.TLN_EVREC_OFF_POD_LEN;
export const R_NAME_OFF: i32 = A.TLN_EVREC_OFF_NAME_OFF; // the hook's name: compared for generic hooks (tracepoints, uprobes)
export const R_NAME_LEN: i32 = A.TLN_EVREC_OFF_NAME_LEN;
export const R_EXT_OFF: i32 = A.TLN_EVREC_OFF_EXT_OFF; // the process context block (struct tln_evx entries)
export const R_EXT_LEN: i32 = A.TLN_EVREC_OFF_EXT_LEN;

// arg slot offsets
export const S_KIND: i32 = A.TLN_EVREC_SLOT_OFF_KIND;
export const S_PROTOCOL: i32 = A.TLN_EVREC_SLOT_OFF_PROTOCOL;
export const S_STATE: i32 = A.TLN_EVREC_SLOT_OFF_STATE;
export const S_TYPE: i32 = A.TLN_EVREC_SLOT_OFF_TYPE;
export const S_FAMILY: i32 = A.TLN_EVREC_SLOT_OFF_FAMILY;
export const S_VALUE: i32 = A.TLN_EVREC_SLOT_OFF_VALUE; // int value, or str offset (u32) + length (u32)
export const S_STR_LEN: i32 = A.TLN_EVREC_SLOT_OFF_STR + A.TLN_EVREC_STR_OFF_LEN;
export const S_SPORT: i32 = A.TLN_EVREC_SLOT_OFF_SPORT;
export const S_DPORT: i32 = A.TLN_EVREC_SLOT_OFF_DPORT;
export const S_SADDR: i32 = A.TLN_EVREC_SLOT_OFF_SADDR;
export const S_DADDR: i32 = A.TLN_EVREC_SLOT_OFF_DADDR;

export const ARG_NONE: u8 = A.TLN_EVREC_ARG_NONE;
export const ARG_INT: u8 = A.TLN_EVREC_ARG_INT;
export const ARG_STR: u8 = A.TLN_EVREC_ARG_STR;
export const ARG_SOCK: u8 = A.TLN_EVREC_ARG_SOCK;

function text(n: Node | null): string {
  if (n == null) return "";
  if (n.tag == V_STRING || n.tag == V_INT || n.tag == V_FLOAT) return n.text;
  return "";
}

function intBits(n: Node | null): u64 {
  if (n == null) return 0;
  const v = parseIntText(text(n));
  return v.ok ? v.bits : 0;
}

class Pending {
  at: i32; // where to patch (offset, len)
  data: ArrayBuffer;
  constructor(at: i32, data: ArrayBuffer) {
    this.at = at;
    this.data = data;
  }
}

function writeSlot(w: ByteWriter, a: Node | null, pend: Array<Pending>): void {
  const start = w.len;
  w.zeros(REC_SLOT);
  if (a == null || !a.isObject) return;
  const k = text(a.get("kind"));
  const p = w.ptr + <usize>start;
  if (k == "int") {
    store<u8>(p + S_KIND, ARG_INT);
    store<u64>(p + S_VALUE, intBits(a.get("value")));
  } else if (k == "str") {
    store<u8>(p + S_KIND, ARG_STR);
    pend.push(new Pending(start + S_VALUE, String.UTF8.encode(text(a.get("value")))));
  } else if (k == "sock") {
    store<u8>(p + S_KIND, ARG_SOCK);
    store<u8>(p + S_PROTOCOL, <u8>intBits(a.get("protocol")));
    store<u8>(p + S_STATE, <u8>intBits(a.get("state")));
    const fam = <u16>intBits(a.get("family"));
    store<u16>(p + S_FAMILY, fam);
    store<u16>(p + S_SPORT, <u16>intBits(a.get("sport")));
    store<u16>(p + S_DPORT, <u16>intBits(a.get("dport")));
    const tmp = new StaticArray<u8>(16);
    if (parseAddr(text(a.get("saddr")), tmp) != 0) {
      for (let i = 0; i < 16; i++) store<u8>(w.ptr + <usize>(start + S_SADDR + i), tmp[i]);
    }
    const tmp2 = new StaticArray<u8>(16);
    if (parseAddr(text(a.get("daddr")), tmp2) != 0) {
      for (let i = 0; i < 16; i++) store<u8>(w.ptr + <usize>(start + S_DADDR + i), tmp2[i]);
    }
  }
}

/** EvalEvent value tree -> record bytes */
export function encodeEvent(ev: Node): ArrayBuffer {
  const w = new ByteWriter(512);
  const kindS = text(ev.get("kind"));
  let kind: u8 = 0;
  if (kindS == "kprobe") kind = A.TLN_HOOK_KPROBE;
  else if (kindS == "tracepoint") kind = A.TLN_HOOK_TRACEPOINT;
  else if (kindS == "uprobe") kind = A.TLN_HOOK_UPROBE;
  else if (kindS == "usdt") kind = A.TLN_HOOK_USDT;
  else if (kindS == "lsm") kind = A.TLN_HOOK_LSM;
  const hookName = text(ev.get("hook"));
  // a kprobe outside the seed catalog is matched by function name (TLN_HOOK_GENERIC_KPROBE)
  const seedId = kind == A.TLN_HOOK_KPROBE ? hookIdOf(hookName) : A.TLN_HOOK_UNKNOWN;
  const hookId = kind == A.TLN_HOOK_KPROBE ? (seedId != A.TLN_HOOK_UNKNOWN ? seedId : A.TLN_HOOK_GENERIC_KPROBE)
    : kind == A.TLN_HOOK_TRACEPOINT ? A.TLN_HOOK_GENERIC_TRACEPOINT
    : kind == A.TLN_HOOK_UPROBE ? A.TLN_HOOK_GENERIC_UPROBE
    : kind == A.TLN_HOOK_USDT ? A.TLN_HOOK_GENERIC_USDT
    : kind == A.TLN_HOOK_LSM ? A.TLN_HOOK_GENERIC_LSM : A.TLN_HOOK_UNKNOWN;
  const args = ev.get("args");
  let nargs = args != null && args.isArray ? args.length : 0;
  if (nargs > REC_MAX_ARGS) nargs = REC_MAX_ARGS;

  w.u32(0);
  w.u16(hookId);
  w.u8(kind);
  w.u8(<u32>nargs);
  w.u64(intBits(ev.get("timeNs")));
  w.u32(<u32>intBits(ev.get("pid")));
  w.u32(<u32>intBits(ev.get("tid")));
  w.zeros(32); // binary off/len, pod off/len, name off/len, ext off/len
  const pend = new Array<Pending>();
  for (let i = 0; i < nargs; i++) writeSlot(w, args!.at(i), pend);
  writeSlot(w, ev.get("ret"), pend);
  pend.push(new Pending(R_BIN_OFF, String.UTF8.encode(text(ev.get("binary")))));
  pend.push(new Pending(R_NAME_OFF, String.UTF8.encode(hookName)));
  for (let i = 0; i < pend.length; i++) {
    const pd = pend[i];
    w.patchU32(pd.at, <u32>w.len);
    w.patchU32(pd.at + 4, <u32>pd.data.byteLength);
    w.buffer(pd.data);
  }
  const pod = ev.get("pod");
  if (pod != null && pod.isObject) {
    const at = w.len;
    writePod(w, pod);
    w.patchU32(R_POD_OFF, <u32>at);
    w.patchU32(R_POD_LEN, <u32>(w.len - at));
  }
  const pr = ev.get("process");
  const ft = ev.get("fileTypes");
  if ((pr != null && pr.isObject) || (ft != null && ft.isArray)) {
    const at = w.len;
    if (pr != null && pr.isObject) writeExt(w, pr);
    if (ft != null && ft.isArray) {
      for (let i = 0; i < ft.length; i++) {
        const n = ft.at(i);
        if (n.isNull) continue;
        extHead(w, A.TLN_EVX_FILE_TYPE, <u32>i, 1);
        w.u8(<u32>intBits(n));
      }
    }
    if (w.len > at) {
      w.patchU32(R_EXT_OFF, <u32>at);
      w.patchU32(R_EXT_LEN, <u32>(w.len - at));
    }
  }
  w.align(8);
  w.patchU32(R_SIZE, <u32>w.len);
  return w.toBuffer();
}

function extHead(w: ByteWriter, key: u8, index: u32, len: i32): void {
  w.u8(key);
  w.u8(index);
  w.u16(<u32>len);
}

function extStr(w: ByteWriter, key: u8, s: string): void {
  const b = String.UTF8.encode(s);
  extHead(w, key, 0, b.byteLength);
  w.buffer(b);
}

function extU32(w: ByteWriter, key: u8, index: u32, v: u32): void {
  extHead(w, key, index, 4);
  w.u32(v);
}

function extNs(w: ByteWriter, key: u8, l: Node | null): void {
  if (l == null || !l.isArray) return;
  for (let i = 0; i < l.length && i < 10; i++) {
    const n = l.at(i);
    if (!n.isObject) continue;
    extHead(w, key, <u32>i, 5);
    w.u32(<u32>intBits(n.get("inum")));
    const h = n.get("isHost");
    w.u8(h != null && h.tag == V_TRUE ? 1 : 0);
  }
}

function extCaps(w: ByteWriter, key: u8, c: Node | null): void {
  if (c == null || !c.isObject) return;
  const names = ["permitted", "effective", "inheritable"];
  for (let i = 0; i < 3; i++) {
    const v = c.get(names[i]);
    if (v == null || v.isNull) continue;
    extHead(w, key, <u32>i, 8);
    w.u64(intBits(v));
  }
}

/** EvalEvent.process (src/core/types.ts EvalProcess) -> struct tln_evx entries, in the host writer's order (EvalEvent.fileTypes follow) */
function writeExt(w: ByteWriter, pr: Node): void {
  const par = pr.get("parent");
  if (par != null && par.isObject) {
    extStr(w, A.TLN_EVX_PARENT_BINARY, text(par.get("binary")));
    extU32(w, A.TLN_EVX_PARENT_PID, 0, <u32>intBits(par.get("pid")));
  }
  const anc = pr.get("ancestors");
  if (anc != null && anc.isArray) {
    for (let i = 0; i < anc.length; i++) {
      const a = anc.at(i);
      if (!a.isObject) continue;
      extStr(w, A.TLN_EVX_ANCESTOR_BINARY, text(a.get("binary")));
      extU32(w, A.TLN_EVX_ANCESTOR_PID, 0, <u32>intBits(a.get("pid")));
    }
  }
  const all = pr.get("ancestorsAll");
  if (all != null && all.tag == V_TRUE) extHead(w, A.TLN_EVX_ANCESTORS_ALL, 0, 0);
  extNs(w, A.TLN_EVX_NS, pr.get("ns"));
  extCaps(w, A.TLN_EVX_CAPS, pr.get("caps"));
  const np = pr.get("nsPid");
  if (np != null && !np.isNull) extU32(w, A.TLN_EVX_NS_PID, 0, <u32>intBits(np));
  extNs(w, A.TLN_EVX_NS_NOW, pr.get("nsNow"));
  extCaps(w, A.TLN_EVX_CAPS_NOW, pr.get("capsNow"));
}
