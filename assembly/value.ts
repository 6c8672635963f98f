// The generic value tree the host marshals JS values into (see
// docs/map-format.md, "value tree"). The host knows nothing about policies;
// it encodes any plain JS value:
//   u8 tag, then
//   0 null  1 false  2 true
//   3 int    u32 len + ASCII decimal text (bigint or integral number)
//   4 float  u32 len + ASCII text (non-integral number, NaN, Infinity)
//   5 string u32 len + UTF-8
//   6 array  u32 count, items
//   7 object u32 count, (u32 len + UTF-8 key, value) pairs in insertion order

export const V_NULL: u8 = 0;
export const V_FALSE: u8 = 1;
export const V_TRUE: u8 = 2;
export const V_INT: u8 = 3;
export const V_FLOAT: u8 = 4;
export const V_STRING: u8 = 5;
export const V_ARRAY: u8 = 6;
export const V_OBJECT: u8 = 7;

export class Node {
  tag: u8;
  text: string = ""; // int/float/string
  items: Array<Node> | null = null; // array items or object values
  keys: Array<string> | null = null; // object keys
  constructor(tag: u8) {
    this.tag = tag;
  }

  get isNull(): bool {
    return this.tag == V_NULL;
  }
  get isObject(): bool {
    return this.tag == V_OBJECT;
  }
  get isArray(): bool {
    return this.tag == V_ARRAY;
  }
  get isString(): bool {
    return this.tag == V_STRING;
  }
  get isBool(): bool {
    return this.tag == V_TRUE || this.tag == V_FALSE;
  }
  get isTrue(): bool {
    return this.tag == V_TRUE;
  }
  /** string, int or float: something a value list may hold */
  get isScalarText(): bool {
    return this.tag == V_STRING || this.tag == V_INT || this.tag == V_FLOAT;
  }
  get length(): i32 {
    const it = this.items;
    return it == null ? 0 : it.length;
  }
  at(i: i32): Node {
    return (this.items as Array<Node>)[i];
  }
  keyAt(i: i32): string {
    return (this.keys as Array<string>)[i];
  }
  /** object member, or null when absent or this is not an object */
  get(key: string): Node | null {
    if (this.tag != V_OBJECT) return null;
    const ks = this.keys as Array<string>;
    for (let i = 0; i < ks.length; i++) {
      if (ks[i] == key) return (this.items as Array<Node>)[i];
    }
    return null;
  }
  has(key: string): bool {
    return this.get(key) != null;
  }
}

export class TreeReader {
  p: usize;
  end: usize;
  bad: bool = false;
  constructor(p: usize, len: i32) {
    this.p = p;
    this.end = p + <usize>len;
  }
  u32(): u32 {
    if (this.p + 4 > this.end) {
      this.bad = true;
      return 0;
    }
    const v = load<u32>(this.p);
    this.p += 4;
    return v;
  }
  text(): string {
    const n = <usize>this.u32();
    if (this.p + n > this.end) {
      this.bad = true;
      return "";
    }
    const s = String.UTF8.decodeUnsafe(this.p, n);
    this.p += n;
    return s;
  }
  node(depth: i32): Node {
    if (this.p >= this.end || depth > 256) {
      this.bad = true;
      return new Node(V_NULL);
    }
    const tag = load<u8>(this.p);
    this.p += 1;
    const n = new Node(tag);
    if (tag == V_INT || tag == V_FLOAT || tag == V_STRING) {
      n.text = this.text();
    } else if (tag == V_ARRAY) {
      const c = <i32>this.u32();
      const items = new Array<Node>();
      for (let i = 0; i < c && !this.bad; i++) items.push(this.node(depth + 1));
      n.items = items;
    } else if (tag == V_OBJECT) {
      const c = <i32>this.u32();
      const items = new Array<Node>();
      const keys = new Array<string>();
      for (let i = 0; i < c && !this.bad; i++) {
        keys.push(this.text());
        items.push(this.node(depth + 1));
      }
      n.items = items;
      n.keys = keys;
    } else if (tag > V_OBJECT) {
      this.bad = true;
    }
    return n;
  }
}

export function readTree(p: usize, len: i32): Node {
  const r = new TreeReader(p, len);
  const n = r.node(0);
  if (r.bad) return new Node(V_NULL);
  return n;
}
