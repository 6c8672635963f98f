// The types of the event fields the evaluator reads. A known field of the wrong type
// (`"path": 123`, `"args": {}`) makes the line malformed, with the field's path, instead of
// being read as absent: a verdict of "none" on a line nobody could read would be silent.
// The types are declared once, in the scanner's projection (parse.ts): the scanner gives up
// on a value of the wrong type, and this walk of the JSON.parse result names the field.

import { fitsKind, KINDS, type Projection } from './scan.js';

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** v (not null) against a field's projection: an object, a list of items, or a remembered object */
function checkValue(p: Projection, v: unknown, here: string): string | null {
  if (p.memo !== undefined) return p.each === true || p.each === undefined ? null : checkValue(p.each, v, here);
  if (p.each !== undefined) {
    if (!Array.isArray(v)) return `${here}: expected a list, got ${typeName(v)}`;
    const item = p.each;
    if (item === true) return null;
    for (let i = 0; i < v.length; i++) {
      if (v[i] === null) continue;
      const bad = checkValue(item, v[i], `${here}[${i}]`);
      if (bad) return bad;
    }
    return null;
  }
  if (!isObject(v)) return `${here}: expected an object, got ${typeName(v)}`;
  return checkObject(p, v, here);
}

function checkObject(p: Projection, v: Record<string, unknown>, path: string): string | null {
  for (let i = 0; i < p.keys.length; i++) {
    const k = p.keys[i];
    if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
    const x = v[k];
    if (x === undefined || x === null) continue; // absent (Tetragon omits empty fields; null reads as absent)
    const here = path ? `${path}.${k}` : k;
    const kind = p.kindNames[i];
    if (kind !== undefined) {
      if (!fitsKind(KINDS[kind].code, x)) return `${here}: expected ${KINDS[kind].expected}, got ${typeName(x)}`;
      continue;
    }
    const sub = p.subs[i];
    if (sub === true) continue;
    const bad = checkValue(sub, x, here);
    if (bad) return bad;
  }
  return null;
}

/** The first field of `ev` whose type `proj` does not allow, as "path: expected ..., got ...", or null. */
export function wrongTypeIn(proj: Projection, ev: Record<string, unknown>): string | null {
  return checkObject(proj, ev, '');
}
