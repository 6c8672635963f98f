// EvalEvent -> evaluator event record (docs/map-format.md §4.1), written in the
// host. The core's own encoder (Evaluator.encode) goes through the generic value
// tree and costs ~7 µs an event; this writer produces the same bytes in well
// under a microsecond, for the dry-run hot path. test/events-record.test.ts checks
// it byte for byte against Evaluator.encode.
//
// What the writer does not know it asks the core: the hook id of a hook name
// (the hook catalog lives in assembly/hooks.ts) is learnt once per name by
// encoding an empty event of that hook with the core's encoder.

import type { EvalArg, EvalEvent, PodInfo } from '../core/types.js';

const HEADER = 48;
const SLOT = 64;
const MAX_ARGS = 8;

// header offsets
const R_SIZE = 0;
const R_HOOK_ID = 4;
const R_KIND = 6;
const R_NARGS = 7;
const R_TIME = 8;
const R_PID = 16;
const R_TID = 20;
const R_BIN_OFF = 24;
const R_POD_OFF = 32;
const R_NAME_OFF = 40;

// slot offsets
const S_KIND = 0;
const S_PROTOCOL = 1;
const S_STATE = 2;
const S_FAMILY = 4;
const S_VALUE = 8;
const S_SPORT = 16;
const S_DPORT = 18;
const S_SADDR = 24;
const S_DADDR = 40;

const U64_MAX = 0xffff_ffff_ffff_ffffn;

const ARG_INT = 1;
const ARG_STR = 2;
const ARG_SOCK = 3;

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

/** Parses dotted-quad IPv4 (no leading zeros) into out[0..4]. */
function parseIPv4(s: string, out: Uint8Array, off: number): boolean {
  let part = 0;
  let val = 0;
  let digits = 0;
  let lead0 = false;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || part > 3) return false;
      if (lead0 && digits > 1) return false;
      out[off + part] = val;
      part++;
      val = 0;
      digits = 0;
      lead0 = false;
      continue;
    }
    if (c < 48 || c > 57) return false;
    if (digits === 0 && c === 48) lead0 = true;
    val = val * 10 + (c - 48);
    digits++;
    if (val > 255 || digits > 3) return false;
  }
  return part === 4;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parses IPv6 text (with "::" and an optional dotted IPv4 tail) into out[0..16]. */
function parseIPv6(s: string, out: Uint8Array): boolean {
  const n = s.length;
  if (n < 2) return false;
  const groups: number[] = [];
  let gap = -1;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (i === n) {
      out.fill(0, 0, 16);
      return true;
    }
  }
  while (i < n) {
    if (groups.length >= 8) return false;
    let j = i;
    let sawDot = false;
    while (j < n && s.charCodeAt(j) !== 58) {
      if (s.charCodeAt(j) === 46) sawDot = true;
      j++;
    }
    if (sawDot) {
      const v4 = new Uint8Array(4);
      if (j !== n || groups.length > 6 || !parseIPv4(s.slice(i, j), v4, 0)) return false;
      groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      i = j;
      break;
    }
    if (j === i || j - i > 4) return false;
    let g = 0;
    for (let k = i; k < j; k++) {
      const d = hexVal(s.charCodeAt(k));
      if (d < 0) return false;
      g = (g << 4) | d;
    }
    groups.push(g);
    i = j;
    if (i < n) {
      i++;
      if (i < n && s.charCodeAt(i) === 58) {
        if (gap >= 0) return false;
        gap = groups.length;
        i++;
      } else if (i === n) {
        return false;
      }
    }
  }
  if (gap < 0 ? groups.length !== 8 : groups.length >= 8) return false;
  const full = new Array<number>(8).fill(0);
  if (gap < 0) for (let k = 0; k < 8; k++) full[k] = groups[k];
  else {
    const tail = groups.length - gap;
    for (let k = 0; k < gap; k++) full[k] = groups[k];
    for (let k = 0; k < tail; k++) full[8 - tail + k] = groups[gap + k];
  }
  for (let k = 0; k < 8; k++) {
    out[2 * k] = full[k] >> 8;
    out[2 * k + 1] = full[k] & 0xff;
  }
  return true;
}

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

  /** u16 byte length + UTF-8 bytes */
  private str(s: string): void {
    this.need(2);
    const at = this.len;
    this.len += 2;
    const n = this.bytes(s);
    this.dv.setUint16(at, n, true);
  }

  private pend(s: string | null, at: number): void {
    this.pending[this.npending] = s;
    this.pendingAt[this.npending++] = at;
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
        this.pend(a.value, at + S_VALUE);
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

  private readonly podBlocks = new WeakMap<PodInfo, Uint8Array>();

  /** the pod block, cached per PodInfo object (PodInfo objects are not changed once made) */
  private pod(pod: PodInfo): void {
    const cached = this.podBlocks.get(pod);
    if (cached !== undefined) {
      this.need(cached.length);
      this.buf.set(cached, this.len);
      this.len += cached.length;
      return;
    }
    const at = this.len;
    this.podBlock(pod);
    this.podBlocks.set(pod, this.buf.slice(at, this.len));
  }

  private podBlock(pod: PodInfo): void {
    this.str(pod.namespace);
    this.str(pod.name);
    const labels = pod.labels;
    const keys = labels !== null && typeof labels === 'object' ? Object.keys(labels) : [];
    this.need(2);
    this.dv.setUint16(this.len, keys.length, true);
    this.len += 2;
    for (const k of keys) {
      this.str(k);
      const v = labels[k];
      this.str(typeof v === 'string' ? v : '');
    }
    this.need(1);
    const c = pod.container;
    if (c !== undefined && c !== null && typeof c === 'object') {
      this.buf[this.len++] = 1;
      this.str(c.name);
      this.str(c.repo);
    } else this.buf[this.len++] = 0;
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
    this.pend(ev.binary, R_BIN_OFF);
    this.pend(ev.hook, R_NAME_OFF);
    for (let i = 0; i < this.npending; i++) {
      const at = this.len;
      const n = this.bytes(this.pending[i] ?? '');
      this.dv.setUint32(this.pendingAt[i], at, true);
      this.dv.setUint32(this.pendingAt[i] + 4, n, true);
    }
    if (ev.pod !== null && ev.pod !== undefined && typeof ev.pod === 'object') {
      const at = this.len;
      this.pod(ev.pod);
      this.dv.setUint32(R_POD_OFF, at, true);
      this.dv.setUint32(R_POD_OFF + 4, this.len - at, true);
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
