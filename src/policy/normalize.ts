// From the YAML library's JS value (integers as bigint, to keep 64-bit values
// exact) to the plain JSON value handed to the schema and to the Wasm core:
//
//  * items of every `values` list that are numbers become their decimal text
//    (`values: [4]` means the same as `values: ["4"]`), exactly, from the bigint;
//  * every other integer becomes a JS number (a value beyond 2^53 loses
//    precision, but no such field accepts it: the core rejects it by range).

export function normalizeDoc(v: unknown): unknown {
  return norm(v, false);
}

function norm(v: unknown, inValues: boolean): unknown {
  switch (typeof v) {
    case 'bigint':
      return inValues ? v.toString() : Number(v);
    case 'number':
      return inValues ? numberText(v) : v;
    case 'object': {
      if (v === null) return null;
      if (Array.isArray(v)) return v.map((x) => norm(x, inValues));
      if (v instanceof Map) {
        const o: Record<string, unknown> = {};
        for (const [k, x] of v) setOwn(o, String(k), norm(x, false));
        return o;
      }
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(v)) {
        const x = (v as Record<string, unknown>)[k];
        setOwn(o, k, norm(x, k === 'values' && Array.isArray(x)));
      }
      return o;
    }
    default:
      return v;
  }
}

function numberText(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) >= 1e21) return BigInt(n).toString();
  return String(n);
}

function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}
