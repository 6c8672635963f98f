// EvalEvent -> evaluator event record (docs/map-format.md §4.1), written in the
// host. The core's own encoder (Evaluator.encode) goes through the generic value
// tree and costs ~7 µs an event; this writer produces the same bytes in well
// under a microsecond, for the dry-run hot path. test/events-record.test.ts checks
// it byte for byte against Evaluator.encode.
//
// What the writer does not know it asks the core: the hook id of a hook name
// (the hook catalog lives in assembly/hooks.ts) is learnt once per name by
// encoding an empty event of that hook with the core's encoder.

import * as G from '../abi/generated.js';
import { parseIPv4, parseIPv6, podBlock } from '../core/evrec.js';
import type { EvalArg, EvalCaps, EvalEvent, EvalNamespace, EvalProcess, PodInfo } from '../core/types.js';

// struct tln_evrec / tln_evrec_slot (bpf/include/tln_evrec.h, generated mirror)
const HEADER = G.tln_evrec.sizeof;
const SLOT = G.tln_evrec_slot.sizeof;
const MAX_ARGS = G.TLN_EVREC_MAX_ARGS;

// header offsets
const R_SIZE = G.tln_evrec.size;
const R_HOOK_ID = G.tln_evrec.hook_id;
const R_KIND = G.tln_evrec.kind;
const R_NARGS = G.tln_evrec.nargs;
const R_TIME = G.tln_evrec.time_ns;
const R_PID = G.tln_evrec.pid;
const R_TID = G.tln_evrec.tid;
const R_BIN_OFF = G.tln_evrec.binary_off;
const R_POD_OFF = G.tln_evrec.pod_off;
const R_NAME_OFF = G.tln_evrec.name_off;
const R_BIN_LEN = G.tln_evrec.binary_len;
const R_POD_LEN = G.tln_evrec.pod_len;
const R_NAME_LEN = G.tln_evrec.name_len;
const R_EXT_OFF = G.tln_evrec.ext_off;
const R_EXT_LEN = G.tln_evrec.ext_len;
const CAP_SETS = ['permitted', 'effective', 'inheritable'] as const;

// slot offsets
const S_KIND = G.tln_evrec_slot.kind;
const S_PROTOCOL = G.tln_evrec_slot.protocol;
const S_STATE = G.tln_evrec_slot.state;
const S_FAMILY = G.tln_evrec_slot.family;
const S_VALUE = G.tln_evrec_slot.value;
const S_STR_OFF = G.tln_evrec_slot.str + G.tln_evrec_str.off;
const S_STR_LEN = G.tln_evrec_slot.str + G.tln_evrec_str.len;
const S_SPORT = G.tln_evrec_slot.sport;
const S_DPORT = G.tln_evrec_slot.dport;
const S_SADDR = G.tln_evrec_slot.saddr;
const S_DADDR = G.tln_evrec_slot.daddr;

const U64_MAX = 0xffff_ffff_ffff_ffffn;

const ARG_INT = G.TLN_EVREC_ARG_INT;
const ARG_STR = G.TLN_EVREC_ARG_STR;
const ARG_SOCK = G.TLN_EVREC_ARG_SOCK;

/** Returns the (hook id, kind) the core gives a hook: the bytes 4..6 of its record. */
export type HookLookup = (kind: EvalEvent['kind'], hook: string) => { id: number; kind: number };

/** A HookLookup backed by the core's encoder, caching one answer per hook. */
export function coreHookLookup(encode: (ev: EvalEvent) => Uint8Array): HookLookup {
  // by kind, then by hook name (no key string to build for every event)
  const caches = new Map<string, Map<string, { id: number; kind: number }>>();
  let lastKind = '';
  let lastHook = '';
  let last = { id: 0, kind: 0 };
  return (kind, hook) => {
    if (hook === lastHook && kind === lastKind) return last;
    let cache = caches.get(kind);
    if (cache === undefined) caches.set(kind, (cache = new Map()));
    let v = cache.get(hook);
    if (v === undefined) {
      const rec = encode({ kind, hook, timeNs: 0n, pid: 0, tid: 0, binary: '', pod: null, args: [] });
      v = { id: rec[R_HOOK_ID] | (rec[R_HOOK_ID + 1] << 8), kind: rec[R_KIND] };
      // a flat copy: the name may be a slice of a whole event line
      cache.set(Buffer.from(hook, 'utf8').toString('utf8'), v);
    }
    lastKind = kind;
    lastHook = hook;
    last = v;
    return v;
  };
}

const utf8 = new TextEncoder();
const extBlocks = new WeakMap<EvalProcess, Uint8Array>();

const addrTmp = new Uint8Array(16);

/** Writes an address in network byte order (IPv4 in the first 4 bytes); leaves zeros when invalid. */
function writeAddr(buf: Uint8Array, at: number, text: string): void {
  if (text === '') return;
  addrTmp.fill(0);
  const ok = text.indexOf(':') >= 0 ? parseIPv6(text, addrTmp) : parseIPv4(text, addrTmp, 0);
  if (ok) buf.set(addrTmp, at);
}

/** Builds records into one growing buffer; `write` returns a view valid until the next call. */
export class RecordWriter {
  private buf = new Uint8Array(1024);
  private dv = new DataView(this.buf.buffer);
  private len = 0;
  // strings to append after the slots, and where their offset/length go
  // (a count, not length = 0: that would free the arrays' storage every event)
  private readonly pending: (string | null)[] = [];
  private readonly pendingAt: number[] = [];
  private readonly pendingLenAt: number[] = [];
  private npending = 0;
  /** views of buf by record size / 8 */
  private views: (Uint8Array | undefined)[] = [];

  constructor(private readonly lookup: HookLookup) {}

  private need(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
    this.dv = new DataView(nb.buffer);
    this.views = [];
  }

  /** UTF-8 bytes of s at the end; returns their length */
  private bytes(s: string): number {
    const n = s.length;
    this.need(n * 3);
    const buf = this.buf;
    let at = this.len;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        const r = utf8.encodeInto(s, buf.subarray(this.len));
        this.len += r.written;
        return r.written;
      }
      buf[at++] = c;
    }
    this.len = at;
    return n;
  }

  /** s goes after the slots; its offset is written at `at`, its length at `lenAt` */
  private pend(s: string | null, at: number, lenAt: number): void {
    this.pending[this.npending] = s;
    this.pendingAt[this.npending] = at;
    this.pendingLenAt[this.npending++] = lenAt;
  }

  private slot(at: number, a: EvalArg | undefined): void {
    if (a === undefined || a === null) return;
    const buf = this.buf;
    switch (a.kind) {
      case 'int':
        buf[at + S_KIND] = ARG_INT;
        // like the core: a value beyond 64 bits (either sign) reads as 0
        if (a.value <= U64_MAX && a.value >= -U64_MAX) this.dv.setBigUint64(at + S_VALUE, a.value, true); // (two's complement: setBigUint64 wraps)
        return;
      case 'str':
        buf[at + S_KIND] = ARG_STR;
        this.pend(a.value, at + S_STR_OFF, at + S_STR_LEN);
        return;
      case 'sock':
        buf[at + S_KIND] = ARG_SOCK;
        buf[at + S_PROTOCOL] = a.protocol & 0xff;
        buf[at + S_STATE] = a.state & 0xff;
        this.dv.setUint16(at + S_FAMILY, a.family & 0xffff, true);
        this.dv.setUint16(at + S_SPORT, a.sport & 0xffff, true);
        this.dv.setUint16(at + S_DPORT, a.dport & 0xffff, true);
        writeAddr(buf, at + S_SADDR, a.saddr);
        writeAddr(buf, at + S_DADDR, a.daddr);
        return;
      default:
        return;
    }
  }

  /** the pod block (src/core/evrec.ts writes and caches it per PodInfo object) */
  private pod(pod: PodInfo): void {
    const b = podBlock(pod);
    this.need(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  private extHead(key: number, index: number, len: number): void {
    this.need(4 + len);
    this.buf[this.len] = key;
    this.buf[this.len + 1] = index;
    this.dv.setUint16(this.len + 2, len, true);
    this.len += 4;
  }

  private extStr(key: number, s: string): void {
    const b = utf8.encode(s);
    this.extHead(key, 0, b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  private extU32(key: number, index: number, v: number): void {
    this.extHead(key, index, 4);
    this.dv.setUint32(this.len, v >>> 0, true);
    this.len += 4;
  }

  private extNs(key: number, l: (EvalNamespace | null)[] | undefined): void {
    if (!Array.isArray(l)) return;
    for (let i = 0; i < l.length && i < 10; i++) {
      const n = l[i];
      if (n === null || typeof n !== 'object') continue;
      this.extHead(key, i, 5);
      this.dv.setUint32(this.len, n.inum >>> 0, true);
      this.buf[this.len + 4] = n.isHost === true ? 1 : 0;
      this.len += 5;
    }
  }

  private extCaps(key: number, c: EvalCaps | undefined): void {
    if (c === undefined || c === null) return;
    for (let i = 0; i < 3; i++) {
      const v = c[CAP_SETS[i]];
      if (v === undefined || v === null) continue;
      this.extHead(key, i, 8);
      this.dv.setBigUint64(this.len, BigInt.asUintN(64, v), true);
      this.len += 8;
    }
  }

  /** the block of a process context, written once per EvalProcess object (events of one process share it) */
  private extCached(p: EvalProcess): void {
    let b = extBlocks.get(p);
    if (b === undefined) {
      const at = this.len;
      this.ext(p);
      b = this.buf.slice(at, this.len);
      this.len = at;
      extBlocks.set(p, b);
    }
    this.need(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** the process context block (struct tln_evx entries), in the core encoder's order */
  private ext(p: EvalProcess): void {
    if (p.parent) {
      this.extStr(G.TLN_EVX_PARENT_BINARY, p.parent.binary);
      this.extU32(G.TLN_EVX_PARENT_PID, 0, p.parent.pid);
    }
    if (Array.isArray(p.ancestors)) {
      for (const a of p.ancestors) {
        if (a === null || typeof a !== 'object') continue;
        this.extStr(G.TLN_EVX_ANCESTOR_BINARY, a.binary);
        this.extU32(G.TLN_EVX_ANCESTOR_PID, 0, a.pid);
      }
    }
    if (p.ancestorsAll === true) this.extHead(G.TLN_EVX_ANCESTORS_ALL, 0, 0);
    this.extNs(G.TLN_EVX_NS, p.ns);
    this.extCaps(G.TLN_EVX_CAPS, p.caps);
    if (typeof p.nsPid === 'number') this.extU32(G.TLN_EVX_NS_PID, 0, p.nsPid);
    this.extNs(G.TLN_EVX_NS_NOW, p.nsNow);
    this.extCaps(G.TLN_EVX_CAPS_NOW, p.capsNow);
  }

  /** The record of an event. The returned view is reused by the next call. */
  write(ev: EvalEvent): Uint8Array {
    const nargs = Math.min(ev.args.length, MAX_ARGS);
    const fixed = HEADER + (nargs + 1) * SLOT;
    this.len = 0;
    this.need(fixed);
    const buf = this.buf;
    buf.fill(0, 0, fixed);
    const dv = this.dv;
    const hook = this.lookup(ev.kind, ev.hook);
    dv.setUint16(R_HOOK_ID, hook.id, true);
    buf[R_KIND] = hook.kind;
    buf[R_NARGS] = nargs;
    dv.setBigUint64(R_TIME, ev.timeNs, true);
    dv.setUint32(R_PID, ev.pid >>> 0, true);
    dv.setUint32(R_TID, ev.tid >>> 0, true);
    this.len = fixed;
    this.npending = 0;
    for (let i = 0; i < nargs; i++) this.slot(HEADER + i * SLOT, ev.args[i]);
    this.slot(HEADER + nargs * SLOT, ev.ret);
    this.pend(ev.binary, R_BIN_OFF, R_BIN_LEN);
    this.pend(ev.hook, R_NAME_OFF, R_NAME_LEN);
    for (let i = 0; i < this.npending; i++) {
      const at = this.len;
      const n = this.bytes(this.pending[i] ?? '');
      this.dv.setUint32(this.pendingAt[i], at, true);
      this.dv.setUint32(this.pendingLenAt[i], n, true);
    }
    if (ev.pod !== null && ev.pod !== undefined && typeof ev.pod === 'object') {
      const at = this.len;
      this.pod(ev.pod);
      this.dv.setUint32(R_POD_OFF, at, true);
      this.dv.setUint32(R_POD_LEN, this.len - at, true);
    }
    const ft = ev.fileTypes;
    if ((ev.process !== undefined && ev.process !== null) || Array.isArray(ft)) {
      const at = this.len;
      if (ev.process !== undefined && ev.process !== null) this.extCached(ev.process);
      if (Array.isArray(ft)) {
        for (let i = 0; i < ft.length; i++) {
          const t = ft[i];
          if (typeof t !== 'number') continue;
          this.extHead(G.TLN_EVX_FILE_TYPE, i, 1);
          this.buf[this.len++] = t & 0xff;
        }
      }
      if (this.len > at) {
        this.dv.setUint32(R_EXT_OFF, at, true);
        this.dv.setUint32(R_EXT_LEN, this.len - at, true);
      }
    }
    const aligned = (this.len + 7) & ~7;
    this.need(aligned - this.len);
    this.buf.fill(0, this.len, aligned);
    this.len = aligned;
    this.dv.setUint32(R_SIZE, aligned, true);
    // one view per record size, made once (a new view every event is garbage)
    let view = this.views[aligned >> 3];
    if (view === undefined) this.views[aligned >> 3] = view = this.buf.subarray(0, aligned);
    return view;
  }
}
