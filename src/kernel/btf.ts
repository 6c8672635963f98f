// The kernel's BTF (/sys/kernel/btf/vmlinux), read for `resolve`: an argument's type from the
// hook's prototype, and a dotted member path ("mm.owner.real_parent.comm", "fdt.fd[3]") turned
// into the steps the generic programs walk (struct tln_gen_res): add an offset, load a pointer.
// Offsets are this kernel's, so this is decided at load, never in the image.
import { readFileSync } from 'node:fs';

const KIND = {
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

/** bytes after struct btf_type, by kind (vlen: the type's member count) */
function trailing(kind: number, vlen: number): number {
  switch (kind) {
    case KIND.INT:
    case KIND.VAR:
    case KIND.DECL_TAG:
      return 4;
    case KIND.ARRAY:
      return 12;
    case KIND.STRUCT:
    case KIND.UNION:
    case KIND.DATASEC:
    case KIND.ENUM64:
      return 12 * vlen;
    case KIND.ENUM:
    case KIND.FUNC_PROTO:
      return 8 * vlen;
    default:
      return 0;
  }
}

/** The types of one BTF blob, by id (0 is void). */
export class Btf {
  private readonly b: Buffer;
  private readonly strOff: number;
  /** per id: offset of its struct btf_type in b */
  private readonly at: number[] = [0];
  private byName: Map<string, number[]> | null = null;

  constructor(bytes: Buffer) {
    this.b = bytes;
    if (bytes.length < 24 || bytes.readUInt16LE(0) !== 0xeb9f) throw new Error('not BTF (bad magic)');
    const hdrLen = bytes.readUInt32LE(4);
    const typeOff = hdrLen + bytes.readUInt32LE(8);
    const typeEnd = typeOff + bytes.readUInt32LE(12);
    this.strOff = hdrLen + bytes.readUInt32LE(16);
    for (let p = typeOff; p < typeEnd;) {
      this.at.push(p);
      const info = bytes.readUInt32LE(p + 4);
      p += 12 + trailing((info >>> 24) & 0x1f, info & 0xffff);
    }
  }

  get count(): number {
    return this.at.length - 1;
  }

  kind(id: number): number {
    return id === 0 ? 0 : (this.b.readUInt32LE(this.at[id] + 4) >>> 24) & 0x1f;
  }

  private vlen(id: number): number {
    return this.b.readUInt32LE(this.at[id] + 4) & 0xffff;
  }

  private kindFlag(id: number): boolean {
    return (this.b.readUInt32LE(this.at[id] + 4) & 0x80000000) !== 0;
  }

  /** size (INT, STRUCT, UNION, ENUM, FLOAT) or the referred type (PTR, TYPEDEF, FUNC, ...) */
  private sizeOrType(id: number): number {
    return this.b.readUInt32LE(this.at[id] + 8);
  }

  private str(off: number): string {
    const s = this.strOff + off;
    const e = this.b.indexOf(0, s);
    return this.b.toString('latin1', s, e < 0 ? s : e);
  }

  name(id: number): string {
    return id === 0 ? '' : this.str(this.b.readUInt32LE(this.at[id]));
  }

  /** a struct or union of that name (btfType), or 0 */
  findStruct(name: string): number {
    return this.find(name, KIND.STRUCT) || this.find(name, KIND.UNION) || this.strip(this.find(name, KIND.TYPEDEF));
  }

  /** the first type of that name and kind, or 0 */
  find(name: string, kind: number): number {
    if (this.byName === null) {
      this.byName = new Map();
      for (let id = 1; id < this.at.length; id++) {
        const k = this.kind(id);
        if (k !== KIND.TYPEDEF && k !== KIND.FUNC && k !== KIND.STRUCT && k !== KIND.UNION) continue;
        const n = this.name(id);
        if (n === '') continue;
        const l = this.byName.get(n);
        if (l) l.push(id);
        else this.byName.set(n, [id]);
      }
    }
    return this.byName.get(name)?.find((id) => this.kind(id) === kind) ?? 0;
  }

  /** is there a function of that name (a kprobe's target)? */
  hasFunction(name: string): boolean {
    return this.find(name, KIND.FUNC) !== 0;
  }

  /** the type behind typedefs and qualifiers */
  strip(id: number): number {
    for (let k = this.kind(id); k === KIND.TYPEDEF || k === KIND.VOLATILE || k === KIND.CONST || k === KIND.RESTRICT || k === KIND.TYPE_TAG; k = this.kind(id))
      id = this.sizeOrType(id);
    return id;
  }

  /** bytes of a value of the type */
  sizeOf(id: number): number {
    id = this.strip(id);
    switch (this.kind(id)) {
      case KIND.INT:
      case KIND.STRUCT:
      case KIND.UNION:
      case KIND.ENUM:
      case KIND.ENUM64:
      case KIND.FLOAT:
        return this.sizeOrType(id);
      case KIND.PTR:
        return 8;
      case KIND.ARRAY:
        return this.array(id).nelems * this.sizeOf(this.array(id).type);
      default:
        return 0;
    }
  }

  /** ARRAY: element type and count */
  array(id: number): { type: number; nelems: number } {
    const p = this.at[id] + 12;
    return { type: this.b.readUInt32LE(p), nelems: this.b.readUInt32LE(p + 8) };
  }

  /** the types of a FUNC_PROTO's parameters */
  params(proto: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.vlen(proto); i++) out.push(this.b.readUInt32LE(this.at[proto] + 12 + 8 * i + 4));
    return out;
  }

  /** a member of a struct or union by name, anonymous members searched through: its type and byte offset */
  member(id: number, name: string): { type: number; offset: number } | 'bitfield' | null {
    const n = this.vlen(id);
    const flag = this.kindFlag(id);
    for (let i = 0; i < n; i++) {
      const p = this.at[id] + 12 + 12 * i;
      const mname = this.str(this.b.readUInt32LE(p));
      const type = this.b.readUInt32LE(p + 4);
      const raw = this.b.readUInt32LE(p + 8);
      const bits = flag ? raw & 0xffffff : raw;
      const bitSize = flag ? raw >>> 24 : 0;
      if (mname === name) {
        if (bitSize !== 0 || bits % 8 !== 0) return 'bitfield';
        return { type, offset: bits / 8 };
      }
      if (mname === '') {
        const inner = this.strip(type);
        const k = this.kind(inner);
        if (k !== KIND.STRUCT && k !== KIND.UNION) continue;
        const m = this.member(inner, name);
        if (m === 'bitfield') return m;
        if (m) return { type: m.type, offset: bits / 8 + m.offset };
      }
    }
    return null;
  }

  /** a C-like spelling of the type, for messages ("struct task_struct *", "char[16]", "int") */
  spell(id: number): string {
    const s = this.strip(id);
    const k = this.kind(s);
    if (s === 0) return 'void';
    if (k === KIND.PTR) return `${this.spell(this.sizeOrType(s))} *`;
    if (k === KIND.ARRAY) return `${this.spell(this.array(s).type)}[${this.array(s).nelems}]`;
    const n = this.name(s);
    if (k === KIND.STRUCT) return `struct ${n || '(anonymous)'}`;
    if (k === KIND.UNION) return `union ${n || '(anonymous)'}`;
    if (k === KIND.ENUM || k === KIND.ENUM64) return `enum ${n || '(anonymous)'}`;
    if (k === KIND.FUNC_PROTO) return 'function';
    return n || `type #${s}`;
  }

  /** INT: signed; ENUM: whether its kind flag says so */
  isSigned(id: number): boolean {
    const s = this.strip(id);
    const k = this.kind(s);
    if (k === KIND.INT) return ((this.b.readUInt32LE(this.at[s] + 12) >>> 24) & 1) !== 0;
    if (k === KIND.ENUM || k === KIND.ENUM64) return this.kindFlag(s);
    return false;
  }

  isCharArray(id: number): boolean {
    const s = this.strip(id);
    if (this.kind(s) !== KIND.ARRAY) return false;
    const e = this.strip(this.array(s).type);
    return this.kind(e) === KIND.INT && this.sizeOrType(e) === 1;
  }

  /** PTR: the pointed-to type, stripped; else 0 */
  pointee(id: number): number {
    const s = this.strip(id);
    return this.kind(s) === KIND.PTR ? this.strip(this.sizeOrType(s)) : 0;
  }

  /** what a value of the type is to the generic programs */
  shape(id: number): 'int' | 'ptr' | 'struct' | 'array' | 'other' {
    const k = this.kind(this.strip(id));
    if (k === KIND.INT || k === KIND.ENUM || k === KIND.ENUM64) return 'int';
    if (k === KIND.PTR) return 'ptr';
    if (k === KIND.STRUCT || k === KIND.UNION) return 'struct';
    if (k === KIND.ARRAY) return 'array';
    return 'other';
  }

  /** The prototype's parameter types of a function (FUNC name), or of a BTF tracepoint (btf_trace_<event>, its first parameter, the probe's data, left out). */
  prototype(fn: string, rawTracepoint = false): number[] | null {
    if (rawTracepoint) {
      const td = this.find(`btf_trace_${fn}`, KIND.TYPEDEF);
      const proto = td ? this.pointee(td) : 0;
      return proto && this.kind(proto) === KIND.FUNC_PROTO ? this.params(proto).slice(1) : null;
    }
    const f = this.find(fn, KIND.FUNC);
    const proto = f ? this.sizeOrType(f) : 0;
    return proto && this.kind(proto) === KIND.FUNC_PROTO ? this.params(proto) : null;
  }
}

/** One step of a resolve walk: add `off` to the address; `load`: read the value there (8 bytes, or the final field's size). */
export interface ResolveStep {
  off: number;
  load: boolean;
}

export interface ResolvedPath {
  steps: ResolveStep[];
  /** the type the path ends at */
  type: number;
  /** bytes read at the last step (when it loads) */
  size: number;
  signed: boolean;
}

/**
 * Walks `path` from a value of type `type` (a pointer to a struct or union, as arguments are):
 * each component a member, `name[N]` an element of an array member; a pointer member followed by
 * more components is loaded. The last member is loaded when it is an integer or a pointer; a char
 * array or an embedded struct stays an address (read as a string or a struct path by the type).
 * Returns the reason when the path does not fit the type.
 */
export function resolvePath(btf: Btf, type: number, path: string, cast = 0): ResolvedPath | string {
  const steps: ResolveStep[] = [];
  let t = btf.pointee(type);
  // a pointer to a pointer (struct cred **new): loaded until it points to the struct
  while (t && btf.shape(t) === 'ptr' && steps.length < 4) {
    steps.push({ off: 0, load: true });
    t = btf.pointee(t);
  }
  // btfType: the pointer taken as one to that struct
  if (cast) {
    if (!t && btf.shape(type) !== 'ptr') return `btfType casts a pointer; the argument is ${btf.spell(type)}`;
    t = cast;
  }
  if (!t || btf.shape(t) !== 'struct') return `resolve "${path}" starts from ${btf.spell(type)}, not a pointer to a struct or union`;
  let off = 0;
  const parts = path.split('.');
  for (let i = 0; i < parts.length; i++) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$/.exec(parts[i]);
    if (!m) return `resolve "${path}": "${parts[i]}" is not a member name (name or name[N])`;
    const mem = btf.member(t, m[1]);
    if (mem === null) return `resolve "${path}": ${btf.spell(t)} has no member ${m[1]}`;
    if (mem === 'bitfield') return `resolve "${path}": ${btf.spell(t)}.${m[1]} is a bit field`;
    off += mem.offset;
    let mt = btf.strip(mem.type);
    if (m[2] !== undefined) {
      if (btf.shape(mt) !== 'array') return `resolve "${path}": ${m[1]} is ${btf.spell(mt)}, not an array`;
      const el = btf.array(mt);
      const n = Number(m[2]);
      if (n >= el.nelems) return `resolve "${path}": ${m[1]} has ${el.nelems} elements (0-${el.nelems - 1})`;
      off += n * btf.sizeOf(el.type);
      mt = btf.strip(el.type);
    }
    const last = i === parts.length - 1;
    if (last) {
      const shape = btf.shape(mt);
      const load = shape === 'int' || shape === 'ptr';
      steps.push({ off, load });
      return { steps, type: mt, size: load ? Math.min(8, btf.sizeOf(mt)) : 0, signed: btf.isSigned(mt) };
    }
    if (btf.shape(mt) === 'struct') {
      t = mt; // embedded: the offsets add up
    } else if (btf.pointee(mt) && btf.shape(btf.pointee(mt)) === 'struct') {
      steps.push({ off, load: true });
      off = 0;
      t = btf.pointee(mt);
    } else return `resolve "${path}": ${parts.slice(0, i + 1).join('.')} is ${btf.spell(mt)}, not a struct or a pointer to one`;
  }
  return `resolve "${path}" is empty`;
}

let vmlinux: Btf | string | null = null;

/** This kernel's BTF, read once; the reason when it cannot be read. */
export function kernelBtf(file = '/sys/kernel/btf/vmlinux'): Btf | string {
  if (vmlinux === null) {
    try {
      vmlinux = new Btf(readFileSync(file));
    } catch (e) {
      vmlinux = `cannot read the kernel's BTF (${file}): ${(e as Error).message}`;
    }
  }
  return vmlinux;
}
