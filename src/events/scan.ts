// A projecting JSON reader for Tetragon event lines.
//
// A recorded Tetragon event is 1-3 KB of JSON, most of it the `parent` and
// `ancestors` processes, exec ids and container metadata that the evaluator never
// looks at. JSON.parse builds all of it; this reader walks the line once,
// materialises only the fields named by a projection and jumps over everything
// else (strings by indexOf, containers by a bracket scan).
//
// It checks the structure it walks (balanced and matching brackets, terminated
// strings, separators, only JSON characters outside strings), not every detail
// JSON.parse checks (escape sequences inside skipped strings, number syntax
// inside skipped values). When it gives up, the caller falls back to JSON.parse,
// which is then the judge of whether the line is JSON at all. Field names are
// matched as written; a name spelled with escapes ("pi\u0064") sends the line to
// JSON.parse too, so that it reads as JSON says.

/**
 * The JSON type a kept scalar field must have (null always reads as absent). A value of
 * another type makes the scan give up, so that the caller's slow path (JSON.parse, then
 * `wrongType`) names the field: the fast path pays one typeof per typed field, no walk.
 */
export type Kind = 'string' | 'number' | 'string|number' | 'object';

/**
 * The one table of kinds: the code a projection keeps per field (0: any type) and how a
 * message names the type. `fitsKind` tests a code; the scanner and the slow path's check
 * (check.ts) both use it, so the two cannot disagree on what a kind allows.
 */
export const KINDS: Readonly<Record<Kind, { readonly code: number; readonly expected: string }>> = {
  string: { code: 1, expected: 'a string' },
  number: { code: 2, expected: 'a number' },
  'string|number': { code: 3, expected: 'a string or a number' },
  object: { code: 4, expected: 'an object' },
};

/** v has the type of kind code k (KINDS; null: absent, always fits) */
export function fitsKind(k: number, v: unknown): boolean {
  if (v === null) return true;
  const t = typeof v;
  switch (k) {
    case 1:
      return t === 'string';
    case 2:
      return t === 'number';
    case 3:
      return t === 'string' || t === 'number';
    default:
      return t === 'object' && !Array.isArray(v);
  }
}

/**
 * `true`: keep the whole value; a Kind: keep it, if of that type; an object: keep only
 * the named fields of an object value; a prepared Projection (see `items`, `cached`).
 * An object or list projection also requires an object or a list (or null).
 */
export type ProjectionSpec = true | Kind | Projection | { readonly [field: string]: ProjectionSpec };

/** A projection prepared for scanning (see `projection`). */
export class Projection {
  readonly keys: string[] = [];
  readonly lengths: number[] = [];
  readonly firsts: number[] = [];
  readonly subs: (Projection | true)[] = [];
  /** per field: 0 any type, else the code of its Kind (KINDS) */
  readonly kinds: number[] = [];
  /** per field: the Kind as written (for the slow path's message) */
  readonly kindNames: (Kind | undefined)[] = [];
  /**
   * Builds the result object from the values found, by position. Generated once
   * per projection so that every result has the same shape: adding fields one by
   * one under names only known at run time is the slowest store V8 has.
   * Fields not found in the input are present with the value undefined.
   */
  make: (vals: unknown[]) => Record<string, unknown> = () => ({});
  /** the values found so far while reading an object (make copies them out) */
  readonly scratch: unknown[] = [];
  /** for a list: the projection of each item */
  each: Projection | true | undefined;
  /** remembered results, for values that repeat (shared between events: never mutate them) */
  memo: Memo | undefined;
}

/**
 * Results by the JSON text they were read from. The last few texts are tried
 * first by comparing them with the input in place (a memcmp that stops at the
 * first difference, no hashing, no copy); the map, when there is one, holds
 * more of them.
 */
class Memo {
  readonly texts: string[] = [];
  readonly values: unknown[] = [];
  readonly map: Map<string, unknown> | undefined;
  constructor(
    readonly recent: number,
    readonly max: number,
  ) {
    this.map = max > 0 ? new Map() : undefined;
  }
  /** the index of the remembered text that starts at s[at]; -1 when none */
  find(s: string, at: number): number {
    const texts = this.texts;
    for (let r = 0; r < texts.length; r++) {
      const t = texts[r];
      const n = t.length;
      // a different value mostly differs in length: its last character or the
      // one in the middle tell without allocating
      if (s.charCodeAt(at + n - 1) !== t.charCodeAt(n - 1) || s.charCodeAt(at + (n >> 1)) !== t.charCodeAt(n >> 1)) continue;
      // substring + === is a memcmp; startsWith(t, at) is several times slower
      if (s.substring(at, at + n) === t) return r;
    }
    return -1;
  }
  remember(text: string, v: unknown): void {
    if (this.texts.length >= this.recent) {
      this.texts.pop();
      this.values.pop();
    }
    this.texts.unshift(text);
    this.values.unshift(v);
  }
}

const SAFE_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function prepare(v: ProjectionSpec): Projection | true {
  if (v === true || typeof v === 'string' || v instanceof Projection) return v === true || typeof v === 'string' ? true : v;
  return projection(v);
}

/** Prepares a projection: for each field, `true` (keep all of it) or a nested projection. */
export function projection(spec: { readonly [field: string]: ProjectionSpec }): Projection {
  const p = new Projection();
  for (const key of Object.keys(spec)) {
    p.keys.push(key);
    p.lengths.push(key.length);
    p.firsts.push(key.charCodeAt(0));
    const sub = spec[key];
    p.subs.push(prepare(sub));
    p.kinds.push(typeof sub === 'string' ? KINDS[sub].code : 0);
    p.kindNames.push(typeof sub === 'string' ? sub : undefined);
    p.scratch.push(undefined);
  }
  if (p.keys.every((k) => SAFE_KEY.test(k) && k !== '__proto__')) {
    const body = p.keys.map((k, i) => `${JSON.stringify(k)}: v[${i}]`).join(', ');
    p.make = new Function('v', `return { ${body} };`) as (vals: unknown[]) => Record<string, unknown>;
  } else {
    p.make = (vals) => {
      const o: Record<string, unknown> = {};
      p.keys.forEach((k, i) => setField(o, k, vals[i]));
      return o;
    };
  }
  return p;
}

/** A list whose items are read with `spec` (other values are read whole). */
export function items(spec: ProjectionSpec): Projection {
  const p = new Projection();
  p.each = prepare(spec);
  return p;
}

/**
 * Like `spec` for an object value, but remembers results by the value's JSON
 * text: for values that repeat from event to event, such as a pod or a
 * process. The last `recent` texts are compared in place; with `max` > 0 up to
 * that many more are kept in a map (then it starts over). Results are shared
 * between events and must not be mutated.
 */
export function cached(spec: ProjectionSpec, recent = 4, max = 4096): Projection {
  const p = new Projection();
  p.each = prepare(spec);
  p.memo = new Memo(recent, max);
  return p;
}

const QUOTE = 34;
const BACKSLASH = 92;
const LBRACE = 123;
const RBRACE = 125;
const LBRACK = 91;
const RBRACK = 93;
const COMMA = 44;
const COLON = 58;

/** Characters allowed outside strings in a skipped value. */
const JSON_CHAR = new Uint8Array(128);
for (const ch of ' \t\n\r{}[],:0123456789-+.eEtrufalsn') JSON_CHAR[ch.charCodeAt(0)] = 1;

const MAX_DEPTH = 512;
const closers = new Uint8Array(MAX_DEPTH);

class ScanFailure {}
const FAIL = new ScanFailure();

let pos = 0;
/** the line being scanned has a backslash somewhere (most have none: keys need no escape check) */
let lineHasEscapes = true;

/** skipWs, with the common case (no whitespace) handled without a call */
function ws(s: string, i: number): number {
  return s.charCodeAt(i) > 32 ? i : skipWs(s, i);
}

function skipWs(s: string, i: number): number {
  let c = s.charCodeAt(i);
  while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++i);
  return i;
}

/** i at an opening quote; returns the index after the closing quote. */
function endOfString(s: string, i: number): number {
  let j = i + 1;
  for (;;) {
    j = s.indexOf('"', j);
    if (j < 0) throw FAIL;
    if (s.charCodeAt(j - 1) !== BACKSLASH) return j + 1;
    let k = j - 2;
    while (s.charCodeAt(k) === BACKSLASH) k--;
    if (((j - 1 - k) & 1) === 0) return j + 1;
    j++;
  }
}

/** i at the first character of a value; returns the index after it. */
function endOfValue(s: string, i: number): number {
  let c = s.charCodeAt(i);
  if (c === QUOTE) return endOfString(s, i);
  if (c === LBRACE || c === LBRACK) {
    let depth = 0;
    closers[0] = c === LBRACE ? RBRACE : RBRACK;
    const n = s.length;
    let j = i + 1;
    while (j < n) {
      c = s.charCodeAt(j);
      if (c === QUOTE) {
        j = endOfString(s, j);
        continue;
      }
      if (c === LBRACE || c === LBRACK) {
        if (++depth >= MAX_DEPTH) throw FAIL;
        closers[depth] = c === LBRACE ? RBRACE : RBRACK;
      } else if (c === RBRACE || c === RBRACK) {
        if (closers[depth] !== c) throw FAIL;
        let p = j - 1;
        while (s.charCodeAt(p) <= 32) p--;
        if (s.charCodeAt(p) === COMMA) throw FAIL; // a trailing comma
        if (depth-- === 0) return j + 1;
      } else if (c >= 128 || JSON_CHAR[c] === 0) {
        throw FAIL;
      }
      j++;
    }
    throw FAIL;
  }
  // a scalar: number, true, false, null
  const start = i;
  const n = s.length;
  while (i < n) {
    c = s.charCodeAt(i);
    if (c === COMMA || c === RBRACE || c === RBRACK || c === 32 || c === 10 || c === 13 || c === 9) break;
    if (c >= 128 || JSON_CHAR[c] === 0) throw FAIL;
    i++;
  }
  if (i === start) throw FAIL;
  return i;
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** -?(0|[1-9][0-9]*), the common case of NUMBER, without a regex */
function isPlainInt(t: string): boolean {
  const n = t.length;
  let i = t.charCodeAt(0) === 45 ? 1 : 0;
  if (i >= n || n - i > 15) return false;
  if (t.charCodeAt(i) === 48) return n - i === 1;
  for (; i < n; i++) {
    const c = t.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function scalar(text: string): unknown {
  switch (text) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'null':
      return null;
  }
  if (!isPlainInt(text) && !NUMBER.test(text)) throw FAIL;
  return +text;
}

function readString(s: string): string {
  const start = pos;
  const end = endOfString(s, start);
  pos = end;
  const inner = s.slice(start + 1, end - 1);
  return inner.indexOf('\\') < 0 ? inner : (JSON.parse(s.slice(start, end)) as string);
}

/** A whole JSON value (for small values JSON.parse's fixed cost dominates; this is faster). */
function readAny(s: string): unknown {
  const c = s.charCodeAt(pos);
  if (c === QUOTE) return readString(s);
  if (c === LBRACE) {
    const out: Record<string, unknown> = {};
    let i = ws(s, pos + 1);
    if (s.charCodeAt(i) === RBRACE) {
      pos = i + 1;
      return out;
    }
    for (;;) {
      if (s.charCodeAt(i) !== QUOTE) throw FAIL;
      pos = i;
      const key = readString(s);
      i = ws(s, pos);
      if (s.charCodeAt(i) !== COLON) throw FAIL;
      pos = ws(s, i + 1);
      setField(out, key, readAny(s));
      i = ws(s, pos);
      const d = s.charCodeAt(i);
      if (d === COMMA) {
        i = ws(s, i + 1);
        continue;
      }
      if (d === RBRACE) {
        pos = i + 1;
        return out;
      }
      throw FAIL;
    }
  }
  if (c === LBRACK) {
    const out: unknown[] = [];
    pos = ws(s, pos + 1);
    if (s.charCodeAt(pos) === RBRACK) {
      pos++;
      return out;
    }
    for (;;) {
      out.push(readAny(s));
      const i = ws(s, pos);
      const d = s.charCodeAt(i);
      if (d === COMMA) {
        pos = ws(s, i + 1);
        continue;
      }
      if (d === RBRACK) {
        pos = i + 1;
        return out;
      }
      throw FAIL;
    }
  }
  const start = pos;
  const end = endOfValue(s, start);
  pos = end;
  return scalar(s.slice(start, end));
}

const LOWER_N = 110;

function readValue(s: string, proj: Projection | true): unknown {
  if (proj === true) {
    const c = s.charCodeAt(pos);
    if (c === LBRACE || c === LBRACK) {
      const start = pos;
      pos = endOfValue(s, start);
      return JSON.parse(s.slice(start, pos));
    }
    return readAny(s);
  }
  // an object or list projection: null reads as absent, another type is for the slow path
  const c0 = s.charCodeAt(pos);
  if (c0 === LOWER_N) return readAny(s);
  const memo = proj.memo;
  if (memo !== undefined) {
    const start = pos;
    if (c0 !== LBRACE) throw FAIL;
    const r = memo.find(s, start);
    if (r >= 0) {
      pos = start + memo.texts[r].length;
      return memo.values[r];
    }
    let v: unknown;
    const map = memo.map;
    if (map !== undefined) {
      const end = endOfValue(s, start);
      const text = s.slice(start, end);
      v = map.get(text);
      if (v === undefined) {
        v = readValue(s, proj.each!);
        if (map.size >= memo.max) map.clear();
        // a flat copy: a slice would keep the whole line alive
        map.set(Buffer.from(text, 'utf8').toString('utf8'), v);
      }
      pos = end;
      memo.remember(text, v);
    } else {
      v = readValue(s, proj.each!);
      memo.remember(s.slice(start, pos), v);
    }
    return v;
  }
  if (proj.each !== undefined) {
    if (c0 !== LBRACK) throw FAIL;
    const out: unknown[] = [];
    pos = ws(s, pos + 1);
    if (s.charCodeAt(pos) === RBRACK) {
      pos++;
      return out;
    }
    for (;;) {
      out.push(readValue(s, proj.each));
      const i = ws(s, pos);
      const d = s.charCodeAt(i);
      if (d === COMMA) {
        pos = ws(s, i + 1);
        continue;
      }
      if (d === RBRACK) {
        pos = i + 1;
        return out;
      }
      throw FAIL;
    }
  }
  if (c0 !== LBRACE) throw FAIL;
  return readObject(s, proj);
}

/**
 * Skipped objects repeat too (the parent process of a run of events): the last
 * few large ones are compared in place before scanning.
 */
const skipped = new Memo(4, 0);
const SKIP_MEMO_MIN = 128;

function skipObject(s: string, i: number): number {
  const r = skipped.find(s, i);
  if (r >= 0) return i + skipped.texts[r].length;
  const end = endOfValue(s, i);
  if (end - i >= SKIP_MEMO_MIN) skipped.remember(s.slice(i, end), null);
  return end;
}

/** s[at, at+len) === key (keys are matched as written: a key spelled with escapes is not recognised) */
function sameText(s: string, at: number, key: string, len: number): boolean {
  for (let q = 1; q < len; q++) if (s.charCodeAt(at + q) !== key.charCodeAt(q)) return false;
  return true;
}

function setField(out: Record<string, unknown>, key: string, v: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
  else out[key] = v;
}

function readObject(s: string, proj: Projection): Record<string, unknown> {
  const keys = proj.keys;
  const lengths = proj.lengths;
  const firsts = proj.firsts;
  const nkeys = keys.length;
  // a projection is never nested in itself, so its scratch array is free here
  const vals = proj.scratch;
  for (let k = 0; k < nkeys; k++) vals[k] = undefined; // (a loop: fill() is a call, slower for a few fields)
  let i = pos + 1;
  if (s.charCodeAt(i) <= 32) i = skipWs(s, i);
  if (s.charCodeAt(i) === RBRACE) {
    pos = i + 1;
    return proj.make(vals);
  }
  for (;;) {
    if (s.charCodeAt(i) !== QUOTE) throw FAIL;
    const keyEnd = endOfString(s, i);
    const len = keyEnd - i - 2;
    const first = s.charCodeAt(i + 1);
    let hit = -1;
    for (let k = 0; k < nkeys; k++) {
      if (lengths[k] === len && firsts[k] === first && sameText(s, i + 1, keys[k], len)) {
        hit = k;
        break;
      }
    }
    // a key spelled with escapes may name a projected field ("pi\u0064"): JSON.parse reads that line
    if (hit < 0 && lineHasEscapes) for (let q = i + 1; q < keyEnd - 1; q++) if (s.charCodeAt(q) === BACKSLASH) throw FAIL;
    i = keyEnd;
    if (s.charCodeAt(i) !== COLON) {
      i = ws(s, i);
      if (s.charCodeAt(i) !== COLON) throw FAIL;
    }
    i++;
    if (s.charCodeAt(i) <= 32) i = skipWs(s, i);
    if (hit < 0) {
      i = s.charCodeAt(i) === LBRACE ? skipObject(s, i) : endOfValue(s, i);
    } else {
      pos = i;
      const v = readValue(s, proj.subs[hit]);
      const k = proj.kinds[hit];
      if (k !== 0 && !fitsKind(k, v)) throw FAIL;
      vals[hit] = v;
      i = pos;
    }
    let c = s.charCodeAt(i);
    if (c <= 32) c = s.charCodeAt((i = skipWs(s, i)));
    if (c === COMMA) {
      i++;
      if (s.charCodeAt(i) <= 32) i = skipWs(s, i);
      continue;
    }
    if (c === RBRACE) {
      pos = i + 1;
      return proj.make(vals);
    }
    throw FAIL;
  }
}

/**
 * Reads the JSON object on `line`, keeping only the fields named by `proj`.
 * Returns undefined when the line is not a well-formed JSON object as far as the
 * scanner can tell (the caller then asks JSON.parse).
 */
export function scanObject(line: string, proj: Projection): Record<string, unknown> | undefined {
  const start = skipWs(line, 0);
  if (line.charCodeAt(start) !== LBRACE) return undefined;
  try {
    pos = start;
    lineHasEscapes = line.indexOf('\\') >= 0;
    const out = readObject(line, proj);
    if (skipWs(line, pos) !== line.length) return undefined;
    return out;
  } catch (e) {
    if (e === FAIL || e instanceof SyntaxError) return undefined;
    throw e;
  }
}
