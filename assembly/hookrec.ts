// The one decoder of the kernel's hook records: a raw struct tln_hook_rec +
// data (bpf/include/tln_events.h, as the BPF program wrote it to the ring
// buffer) becomes an evaluator event record (tln_evrec.h), which the evaluator
// reads and the host reads back for the argument values of its Tetragon JSON.
// Offsets come from the generated mirror of the headers only.
import * as A from "./abi";
import { valueCategory, isStructType, CAT_INT, CAT_STR, CAT_SOCK, CAT_SOCKADDR } from "./argtypes";
import {
  REC_HEADER, REC_SLOT, R_SIZE, R_HOOK_ID, R_KIND, R_NARGS, R_TIME, R_PID, R_TID, R_BIN_OFF, R_BIN_LEN,
  R_POD_OFF, R_POD_LEN, R_NAME_OFF, R_NAME_LEN, R_EXT_OFF, R_EXT_LEN, S_KIND, S_PROTOCOL, S_STATE, S_TYPE, S_FAMILY, S_VALUE,
  S_STR_LEN, S_SPORT, S_DPORT, S_SADDR, S_DADDR, ARG_INT, ARG_STR, ARG_SOCK,
} from "./event";

const AF_INET: u16 = 2;

// the record built by the last call; grows, never shrinks (no allocation per record)
let evBuf = new ArrayBuffer(1024);

/** the evaluator record the last hookRecordToEvent wrote */
export function hookEventPtr(): usize {
  return changetype<usize>(evBuf);
}

function kindOf(hookId: u16): u8 {
  if (hookId == A.TLN_HOOK_UNKNOWN) return 0;
  if (hookId == A.TLN_HOOK_GENERIC_TRACEPOINT) return A.TLN_HOOK_TRACEPOINT;
  if (hookId == A.TLN_HOOK_GENERIC_UPROBE) return A.TLN_HOOK_UPROBE;
  if (hookId == A.TLN_HOOK_GENERIC_FENTRY) return A.TLN_HOOK_FENTRY;
  if (hookId == A.TLN_HOOK_GENERIC_LSM) return A.TLN_HOOK_LSM;
  if (hookId == A.TLN_HOOK_GENERIC_USDT) return A.TLN_HOOK_USDT;
  return A.TLN_HOOK_KPROBE;
}

/** [off, off + len) of data[] clipped to the record, as the record's start offset and length */
@inline function clipStart(off: i32, recLen: i32): i32 {
  return min(A.TLN_HOOK_REC_OFF_DATA + off, recLen);
}
@inline function clipLen(off: i32, len: i32, recLen: i32): i32 {
  const s = clipStart(off, recLen);
  return min(s + len, recLen) - s;
}

/** bytes of the process context block extBlock writes for this record */
function extSize(rec: usize): i32 {
  const pr = rec + A.TLN_HOOK_REC_OFF_PROC;
  const have = load<u8>(pr + A.TLN_REC_PROC_OFF_HAVE);
  let n = 8; // the namespace pid
  if ((have & A.TLN_RP_NS) != 0) n += <i32>A.TLN_NS_TYPES * 9;
  if ((have & A.TLN_RP_CAPS) != 0) n += 3 * 12;
  if ((have & A.TLN_RP_ANC) != 0) n += <i32>A.TLN_ANC_MAX * 16 + 4;
  if ((have & A.TLN_RP_EXEC) != 0) n += <i32>A.TLN_NS_TYPES * 9 + 3 * 12;
  return n;
}

@inline function extHead(q: usize, key: u8, index: u8, len: u16): usize {
  store<u8>(q, key);
  store<u8>(q + 1, index);
  store<u16>(q + 2, len);
  return q + 4;
}

/**
 * What the kernel read of the task for its selectors (struct tln_rec_proc,
 * and the pid in its namespace) as the evaluator's process context entries,
 * so that the core decides the selectors on the values the kernel decided on.
 * Returns the bytes written at q.
 */
function extBlock(rec: usize, q0: usize): i32 {
  const pr = rec + A.TLN_HOOK_REC_OFF_PROC;
  const have = load<u8>(pr + A.TLN_REC_PROC_OFF_HAVE);
  let q = q0;
  const nsPid = load<u32>(rec + A.TLN_HOOK_REC_OFF_TASK + A.TLN_REC_TASK_OFF_NS_PID);
  if (nsPid != 0) {
    q = extHead(q, A.TLN_EVX_NS_PID, 0, 4);
    store<u32>(q, nsPid);
    q += 4;
  }
  if ((have & A.TLN_RP_NS) != 0) {
    const host = load<u16>(pr + A.TLN_REC_PROC_OFF_NS_HOST);
    for (let t: i32 = 0; t < <i32>A.TLN_NS_TYPES; t++) {
      const inum = load<u32>(pr + A.TLN_REC_PROC_OFF_NS + <usize>(t * 4));
      if (inum == 0) continue; // the kernel has no namespace of that type
      q = extHead(q, A.TLN_EVX_NS, <u8>t, 5);
      store<u32>(q, inum);
      store<u8>(q + 4, (host >> <u16>t) & 1 ? 1 : 0);
      q += 5;
    }
  }
  if ((have & A.TLN_RP_CAPS) != 0) {
    for (let i = 0; i < 3; i++) {
      q = extHead(q, A.TLN_EVX_CAPS, <u8>i, 8);
      store<u64>(q, load<u64>(pr + A.TLN_REC_PROC_OFF_CAPS + <usize>(i * 8)));
      q += 8;
    }
  }
  if ((have & A.TLN_RP_ANC) != 0) {
    const n = min(<i32>load<u8>(pr + A.TLN_REC_PROC_OFF_NANC), <i32>A.TLN_ANC_MAX);
    for (let i = 0; i < n; i++) {
      q = extHead(q, i == 0 ? A.TLN_EVX_PARENT_PID : A.TLN_EVX_ANCESTOR_PID, 0, 4);
      store<u32>(q, load<u32>(pr + A.TLN_REC_PROC_OFF_ANC + <usize>(i * 4)));
      q += 4;
    }
    // the ancestors' namespace pids (matchPIDs followForks with isNamespacePID), 0 where the table had none
    for (let i = 0; i < n; i++) {
      q = extHead(q, A.TLN_EVX_ANCESTOR_NS_PID, <u8>i, 4);
      store<u32>(q, load<u32>(pr + A.TLN_REC_PROC_OFF_ANC_NS + <usize>(i * 4)));
      q += 4;
    }
    if ((have & A.TLN_RP_ANC_END) != 0) q = extHead(q, A.TLN_EVX_ANCESTORS_ALL, 0, 0);
  }
  // the process table's capabilities and namespaces: the *Changes baseline
  if ((have & A.TLN_RP_EXEC) != 0) {
    for (let t: i32 = 0; t < <i32>A.TLN_NS_TYPES; t++) {
      const inum = load<u32>(pr + A.TLN_REC_PROC_OFF_NS_EXEC + <usize>(t * 4));
      if (inum == 0) continue;
      q = extHead(q, A.TLN_EVX_NS_EXEC, <u8>t, 5);
      store<u32>(q, inum);
      store<u8>(q + 4, 0);
      q += 5;
    }
    for (let i = 0; i < 3; i++) {
      q = extHead(q, A.TLN_EVX_CAPS_EXEC, <u8>i, 8);
      store<u64>(q, load<u64>(pr + A.TLN_REC_PROC_OFF_CAPS_EXEC + <usize>(i * 8)));
      q += 8;
    }
  }
  return <i32>(q - q0);
}

/** the record carries the value's bytes in data[] and the event as a string slot: strings, paths,
 * char_buf; the struct types' bytes too (tln_rec_credarg, tln_rec_userns, tln_rec_bpfprog ...:
 * decoded in the host; not evaluated) */
function inData(type: u8): bool {
  return valueCategory(type) == CAT_STR || isStructType(type);
}

/**
 * Writes the evaluator record of the hook record at rec (recLen bytes) into
 * the buffer hookEventPtr() returns; returns its length, or -1 when rec is not
 * a hook record of this TLN_EVENTS_VERSION. ctx (ctxLen bytes, struct
 * tln_evctx + binary + hook name + pod block) is what the host knows of the
 * process; without it (ctxLen 0) time, pid and pod are 0 / none, the binary
 * is the record's own and the name is empty: enough to read the arguments.
 */
export function hookRecordToEvent(rec: usize, recLen: i32, ctx: usize, ctxLen: i32): i32 {
  if (recLen < A.TLN_HOOK_REC_SIZEOF) return -1;
  if (load<u8>(rec + A.TLN_REC_HDR_OFF_TYPE) != A.TLN_REC_HOOK) return -1;
  if (<i32>load<u8>(rec + A.TLN_REC_HDR_OFF_VERSION) != A.TLN_EVENTS_VERSION) return -1;
  const nargs = min(<i32>load<u8>(rec + A.TLN_HOOK_REC_OFF_NARGS), A.TLN_MAX_ARGS);
  const hookId = load<u16>(rec + A.TLN_HOOK_REC_OFF_HOOK_ID);
  const task = rec + A.TLN_HOOK_REC_OFF_TASK;

  // the variable parts: (source, length) of the binary, name and pod
  const hasCtx = ctxLen >= A.TLN_EVCTX_SIZEOF;
  let binSrc: usize = rec + <usize>clipStart(0, recLen);
  let binLen = clipLen(0, <i32>load<u16>(rec + A.TLN_HOOK_REC_OFF_BIN_LEN), recLen);
  let nameSrc: usize = 0, nameLen = 0, podSrc: usize = 0, podLen = 0;
  let timeNs: u64 = 0;
  let pid: u32 = 0;
  if (hasCtx) {
    const cb = <i32>load<u32>(ctx + A.TLN_EVCTX_OFF_BINARY_LEN);
    const cn = <i32>load<u32>(ctx + A.TLN_EVCTX_OFF_NAME_LEN);
    const cp = <i32>load<u32>(ctx + A.TLN_EVCTX_OFF_POD_LEN);
    if (cb < 0 || cn < 0 || cp < 0 || A.TLN_EVCTX_SIZEOF + <i64>cb + cn + cp > <i64>ctxLen) return -1;
    timeNs = load<u64>(ctx + A.TLN_EVCTX_OFF_TIME_NS);
    pid = load<u32>(ctx + A.TLN_EVCTX_OFF_PID);
    binSrc = ctx + A.TLN_EVCTX_SIZEOF;
    binLen = cb;
    nameSrc = binSrc + <usize>cb;
    nameLen = cn;
    podSrc = nameSrc + <usize>cn;
    podLen = cp;
  }

  const fixed = REC_HEADER + (nargs + 1) * REC_SLOT;
  let size = fixed + binLen + nameLen + podLen + extSize(rec);
  for (let i = 0; i < nargs; i++) {
    const ra = rec + A.TLN_HOOK_REC_OFF_ARGS + <usize>(i * A.TLN_REC_ARG_SIZEOF);
    if (inData(load<u8>(ra + A.TLN_REC_ARG_OFF_TYPE))) {
      size += clipLen(<i32>load<u16>(ra + A.TLN_REC_ARG_OFF_OFF), <i32>load<u16>(ra + A.TLN_REC_ARG_OFF_LEN), recLen);
    }
  }
  const rr = rec + A.TLN_HOOK_REC_OFF_RET;
  const rtype = load<u8>(rr + A.TLN_REC_ARG_OFF_TYPE);
  const rhas = rtype != 0 && (load<u8>(rr + A.TLN_REC_ARG_OFF_FLAGS) & A.TLN_ARG_F_NONE) == 0;
  if (rhas && valueCategory(rtype) == CAT_STR) {
    size += clipLen(<i32>load<u16>(rr + A.TLN_REC_ARG_OFF_OFF), <i32>load<u16>(rr + A.TLN_REC_ARG_OFF_LEN), recLen);
  }
  size = (size + 7) & ~7;
  if (evBuf.byteLength < size) evBuf = new ArrayBuffer(max(size, evBuf.byteLength * 2));
  const p = changetype<usize>(evBuf);
  memory.fill(p, 0, <usize>size);

  store<u32>(p + R_SIZE, <u32>size);
  store<u16>(p + R_HOOK_ID, hookId);
  store<u8>(p + R_KIND, kindOf(hookId));
  store<u8>(p + R_NARGS, <u8>nargs);
  store<u64>(p + R_TIME, timeNs);
  store<u32>(p + R_PID, pid);
  store<u32>(p + R_TID, load<u32>(task + A.TLN_REC_TASK_OFF_TID));

  let at = fixed;
  const sockAt = rec + A.TLN_HOOK_REC_OFF_SOCK;
  for (let i = 0; i < nargs; i++) {
    const ra = rec + A.TLN_HOOK_REC_OFF_ARGS + <usize>(i * A.TLN_REC_ARG_SIZEOF);
    const s = p + <usize>(REC_HEADER + i * REC_SLOT);
    const type = load<u8>(ra + A.TLN_REC_ARG_OFF_TYPE);
    store<u8>(s + S_TYPE, type);
    if ((load<u8>(ra + A.TLN_REC_ARG_OFF_FLAGS) & A.TLN_ARG_F_NONE) != 0) continue;
    const cat = valueCategory(type);
    if (cat == CAT_INT) {
      store<u8>(s + S_KIND, ARG_INT);
      store<u64>(s + S_VALUE, load<u64>(ra + A.TLN_REC_ARG_OFF_VAL));
    } else if (inData(type)) {
      const off = <i32>load<u16>(ra + A.TLN_REC_ARG_OFF_OFF);
      const n = clipLen(off, <i32>load<u16>(ra + A.TLN_REC_ARG_OFF_LEN), recLen);
      store<u8>(s + S_KIND, ARG_STR);
      store<u32>(s + S_VALUE, <u32>at);
      store<u32>(s + S_STR_LEN, <u32>n);
      memory.copy(p + <usize>at, rec + <usize>clipStart(off, recLen), <usize>n);
      at += n;
      // a char_buf's bytes are the first of the size the call had (Tetragon's orig_size)
      if (type == A.TLN_ARG_CHAR_BUF) store<u64>(s + A.TLN_EVREC_SLOT_OFF_ORIG_SIZE, load<u64>(ra + A.TLN_REC_ARG_OFF_VAL));
    } else if (cat == CAT_SOCK || cat == CAT_SOCKADDR) {
      // the generic programs write each socket argument into data[], the socket hooks theirs into rec.sock
      let sock = sockAt;
      if ((load<u8>(ra + A.TLN_REC_ARG_OFF_FLAGS) & A.TLN_ARG_F_DATA) != 0) {
        const off = <i32>load<u16>(ra + A.TLN_REC_ARG_OFF_OFF);
        if (clipLen(off, A.TLN_REC_SOCK_SIZEOF, recLen) < A.TLN_REC_SOCK_SIZEOF) continue;
        sock = rec + <usize>clipStart(off, recLen);
      }
      const family = load<u16>(sock + A.TLN_REC_SOCK_OFF_FAMILY);
      store<u8>(s + S_KIND, ARG_SOCK);
      const protocol = load<u16>(sock + A.TLN_REC_SOCK_OFF_PROTOCOL);
      store<u8>(s + S_PROTOCOL, <u8>protocol);
      store<u16>(s + A.TLN_EVREC_SLOT_OFF_PROTOCOL16, protocol);
      store<u8>(s + S_STATE, load<u8>(sock + A.TLN_REC_SOCK_OFF_STATE));
      store<u8>(s + A.TLN_EVREC_SLOT_OFF_SOCK_TYPE, load<u8>(sock + A.TLN_REC_SOCK_OFF_TYPE));
      store<u16>(s + S_FAMILY, family);
      store<u16>(s + S_SPORT, load<u16>(sock + A.TLN_REC_SOCK_OFF_SPORT));
      store<u16>(s + S_DPORT, load<u16>(sock + A.TLN_REC_SOCK_OFF_DPORT));
      // an IPv4 address is its first 4 bytes: the rest is not part of it
      const alen: usize = family == AF_INET ? 4 : 16;
      memory.copy(s + S_SADDR, sock + A.TLN_REC_SOCK_OFF_SADDR, alen);
      memory.copy(s + S_DADDR, sock + A.TLN_REC_SOCK_OFF_DADDR, alen);
    }
  }
  // the return slot: the record's return value (return: true hooks), of type returnArg
  if (rhas) {
    const s = p + <usize>(REC_HEADER + nargs * REC_SLOT);
    const cat = valueCategory(rtype);
    store<u8>(s + S_TYPE, rtype);
    if (cat == CAT_INT) {
      store<u8>(s + S_KIND, ARG_INT);
      store<u64>(s + S_VALUE, load<u64>(rr + A.TLN_REC_ARG_OFF_VAL));
    } else if (cat == CAT_STR) {
      const off = <i32>load<u16>(rr + A.TLN_REC_ARG_OFF_OFF);
      const n = clipLen(off, <i32>load<u16>(rr + A.TLN_REC_ARG_OFF_LEN), recLen);
      store<u8>(s + S_KIND, ARG_STR);
      store<u32>(s + S_VALUE, <u32>at);
      store<u32>(s + S_STR_LEN, <u32>n);
      memory.copy(p + <usize>at, rec + <usize>clipStart(off, recLen), <usize>n);
      at += n;
    }
  }
  store<u32>(p + R_BIN_OFF, <u32>at);
  store<u32>(p + R_BIN_LEN, <u32>binLen);
  memory.copy(p + <usize>at, binSrc, <usize>binLen);
  at += binLen;
  store<u32>(p + R_NAME_OFF, <u32>at);
  store<u32>(p + R_NAME_LEN, <u32>nameLen);
  if (nameLen > 0) memory.copy(p + <usize>at, nameSrc, <usize>nameLen);
  at += nameLen;
  if (podLen > 0) {
    store<u32>(p + R_POD_OFF, <u32>at);
    store<u32>(p + R_POD_LEN, <u32>podLen);
    memory.copy(p + <usize>at, podSrc, <usize>podLen);
  }
  at += podLen;
  const xl = extBlock(rec, p + <usize>at);
  if (xl > 0) {
    store<u32>(p + R_EXT_OFF, <u32>at);
    store<u32>(p + R_EXT_LEN, <u32>xl);
  }
  return size;
}
