// The values of a matchArgs / matchReturnArgs filter, parsed for the argument's
// type and the operator: inline integers and ranges, integer sets (InMap),
// string sets (Equal, Prefix, Postfix; also used by matchBinaries), address
// sets (SAddr, DAddr), ports and socket names.
import * as A from "../abi";
import * as M from "../messages";
import { Node } from "../value";
import { Path } from "../diag";
import { argTypeName, CAT_INT, CAT_STR } from "../argtypes";
import { opName } from "../operators";
import { parseIntText, parseTyped, normalize, lessEq, rangeColon, parseCidr } from "../parse";
import { FilterM } from "../model";
import { protocolValue, familyValue, stateValue } from "../names";
import { Ctx } from "./context";
import { SYSCALLS_X86_64 } from "../syscalls";
import { syscallBase } from "./hooks";
import { scalarOf, listOf } from "./nodes";

export const MAX_U64_ENTRIES: i32 = 65536; // InMap/NotInMap values per policy (ranges expanded)

/** values of a filter; all reported problems carry the value's path */
export function compileValues(cx: Ctx, f: Node, p: Path, fm: FilterM, cat: i32, argDesc: string): void {
  const op = fm.op;
  const name = opName(op);
  const vn = f.get("values");
  const vl = listOf(vn);
  const vp = p.k("values");
  const texts = new Array<string>();
  const paths = new Array<Path>();
  if (vl != null) {
    for (let i = 0; i < vl.length; i++) {
      const t = scalarOf(vl.at(i));
      if (t == null) continue;
      texts.push(t);
      paths.push(vp.i(i));
    }
  }
  const n = texts.length;

  // operators without values
  if (
    op == A.TLN_OP_SPORT_PRIV || op == A.TLN_OP_NOT_SPORT_PRIV || op == A.TLN_OP_DPORT_PRIV ||
    op == A.TLN_OP_NOT_DPORT_PRIV
  ) {
    if (n > 0) cx.err(vp, M.opTakesNoValues(name));
    return;
  }
  if (n == 0) {
    if (vl != null) cx.err(vp, M.opNeedsValues(name));
    else cx.missing(p, "values", M.opNeedsValues(name));
    return;
  }
  const typeName = argTypeName(fm.type);

  if (cat == CAT_INT) {
    if (op == A.TLN_OP_IN_MAP || op == A.TLN_OP_NOT_IN_MAP) {
      intSet(cx, fm, texts, paths, typeName);
      return;
    }
    if (op == A.TLN_OP_IN_RANGE || op == A.TLN_OP_NOT_IN_RANGE) {
      if (n > A.TLN_MAX_INLINE) {
        cx.err(vp, M.tooManyRanges(n, A.TLN_MAX_INLINE, name));
        return;
      }
      for (let i = 0; i < n; i++) {
        const t = texts[i];
        const c = rangeColon(t);
        if (t.startsWith("list:")) {
          cx.err(paths[i], M.listsUnsupported(t));
          continue;
        }
        if (c < 0) {
          cx.err(paths[i], M.notARange(t));
          continue;
        }
        const lo = parseTyped(t.substring(0, c), fm.type, typeName);
        const hi = parseTyped(t.substring(c + 1), fm.type, typeName);
        if (!lo.ok) {
          cx.err(paths[i], M.inValue(t, lo.err));
          continue;
        }
        if (!hi.ok) {
          cx.err(paths[i], M.inValue(t, hi.err));
          continue;
        }
        const a = normalize(lo.v, fm.type);
        const b = normalize(hi.v, fm.type);
        if (!lessEq(a, b, fm.type)) {
          cx.err(paths[i], M.emptyRange(t));
          continue;
        }
        fm.vals.push(a);
        fm.vals.push(b);
      }
      return;
    }
    // Equal, NotEqual, GT, LT, Mask: inline values
    if (n > A.TLN_MAX_INLINE) {
      cx.err(vp, M.tooManyInline(n, A.TLN_MAX_INLINE, name, typeName, op == A.TLN_OP_EQUAL ? "InMap" : op == A.TLN_OP_NOT_EQUAL ? "NotInMap" : ""));
      return;
    }
    for (let i = 0; i < n; i++) {
      const t = texts[i];
      const v = parseTyped(t, fm.type, typeName);
      if (!v.ok) {
        cx.err(paths[i], M.inValue(t, v.err));
        continue;
      }
      fm.vals.push(normalize(v.v, fm.type));
    }
    return;
  }

  if (cat == CAT_STR) {
    stringSet(cx, fm, op, texts, paths, name, vp);
    return;
  }

  // sock / sockaddr
  if (
    op == A.TLN_OP_SADDR || op == A.TLN_OP_DADDR || op == A.TLN_OP_NOT_SADDR || op == A.TLN_OP_NOT_DADDR
  ) {
    addrSet(cx, fm, texts, paths, vp);
    return;
  }
  if (n > A.TLN_MAX_INLINE) {
    cx.err(vp, M.tooManySockValues(n, A.TLN_MAX_INLINE, name));
    return;
  }
  if (op == A.TLN_OP_SPORT || op == A.TLN_OP_DPORT || op == A.TLN_OP_NOT_SPORT || op == A.TLN_OP_NOT_DPORT) {
    for (let i = 0; i < n; i++) {
      const t = texts[i];
      const c = t.indexOf(":");
      let lo: i32 = -1, hi: i32 = -1;
      if (c < 0) {
        lo = portValue(t);
        hi = lo;
      } else {
        lo = portValue(t.substring(0, c));
        hi = portValue(t.substring(c + 1));
      }
      if (lo < 0 || hi < 0) {
        cx.err(paths[i], M.badPort(t));
        continue;
      }
      if (lo > hi) {
        cx.err(paths[i], M.emptyRange(t));
        continue;
      }
      fm.vals.push(<u64>lo);
      fm.vals.push(<u64>hi);
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const t = texts[i];
    let v: i64 = -1;
    if (op == A.TLN_OP_PROTOCOL) v = protocolValue(t);
    else if (op == A.TLN_OP_FAMILY) v = familyValue(t);
    else if (op == A.TLN_OP_STATE) v = stateValue(t);
    if (v < 0) {
      cx.err(paths[i], op == A.TLN_OP_PROTOCOL ? M.badProtocol(t) : op == A.TLN_OP_FAMILY ? M.badFamily(t) : M.badState(t));
      continue;
    }
    fm.vals.push(<u64>v);
  }
}

export function intSet(cx: Ctx, fm: FilterM, texts: Array<string>, paths: Array<Path>, typeName: string): void {
  const sets = cx.pol.sets;
  const canon = canonOf("U" + fm.type.toString(), texts);
  const have = sets.existing(canon);
  if (have > 0) {
    fm.set = <u8>have;
    return;
  }
  // parse everything first
  const los = new Array<u64>();
  const his = new Array<u64>();
  let total: i64 = 0;
  let bad = false;
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i];
    if (t.startsWith("list:")) {
      const l = cx.pol.list(t.substring(5));
      if (l == null) {
        cx.err(paths[i], M.unknownList(t.substring(5), "see spec.lists"));
        bad = true;
      } else if (l.syscalls) {
        // syscall names become their x86_64 ids (talon's BPF objects are built for x86_64);
        // a generated list is every syscall
        const names = l.generated ? SYSCALLS_X86_64.filter((n: string) => n.length > 0) : l.values;
        for (let j = 0; j < names.length; j++) {
          const nr = SYSCALLS_X86_64.indexOf(syscallBase(names[j]));
          if (nr < 0 || names[j].length == 0) {
            cx.err(paths[i], M.notASyscallName(l.name, names[j]));
            bad = true;
            continue;
          }
          const v = normalize(<u64>nr, fm.type);
          if (total + 1 + <i64>cx.u64Count > <i64>MAX_U64_ENTRIES) {
            cx.err(paths[i], M.mapTooLarge(t, MAX_U64_ENTRIES));
            bad = true;
            break;
          }
          total += 1;
          los.push(v);
          his.push(v);
        }
      } else if (!l.generated) {
        // a list of function names (no type) has no ids to match
        cx.err(paths[i], M.listNotValues(l.name));
        bad = true;
      } else fm.specOnly = true; // a generated_ftrace list: the kernel's functions, not values
      continue;
    }
    const c = rangeColon(t);
    let lo: u64 = 0, hi: u64 = 0;
    if (c < 0) {
      const v = parseTyped(t, fm.type, typeName);
      if (!v.ok) {
        cx.err(paths[i], M.inValue(t, v.err));
        bad = true;
        continue;
      }
      lo = normalize(v.v, fm.type);
      hi = lo;
    } else {
      const a = parseTyped(t.substring(0, c), fm.type, typeName);
      const b = parseTyped(t.substring(c + 1), fm.type, typeName);
      if (!a.ok || !b.ok) {
        cx.err(paths[i], M.inValue(t, !a.ok ? a.err : b.err));
        bad = true;
        continue;
      }
      lo = normalize(a.v, fm.type);
      hi = normalize(b.v, fm.type);
      if (!lessEq(lo, hi, fm.type)) {
        cx.err(paths[i], M.emptyRange(t));
        bad = true;
        continue;
      }
    }
    const span = hi - lo; // modular: works for signed too
    if (span >= <u64>MAX_U64_ENTRIES || total + <i64>span + 1 + <i64>cx.u64Count > <i64>MAX_U64_ENTRIES) {
      cx.err(paths[i], M.mapTooLarge(t, MAX_U64_ENTRIES));
      bad = true;
      continue;
    }
    total += <i64>span + 1;
    los.push(lo);
    his.push(hi);
  }
  if (bad) return;
  const id = sets.fresh(canon);
  if (id < 0) {
    cx.err(paths[0], M.tooManySets(A.TLN_MAX_SETS));
    return;
  }
  fm.set = <u8>id;
  for (let i = 0; i < los.length; i++) {
    let v = los[i];
    while (true) {
      sets.addU64(<u8>id, v);
      if (v == his[i]) break;
      v++;
    }
  }
  cx.u64Count += <i32>total;
}

export function stringSet(cx: Ctx, fm: FilterM, op: u8, texts: Array<string>, paths: Array<Path>, name: string, vp: Path): void {
  // Equal/NotEqual: NUL-terminated; Postfix: reversed
  let kind = "E";
  let max = A.TLN_STR_DATA - 1;
  if (op == A.TLN_OP_PREFIX || op == A.TLN_OP_NOT_PREFIX) {
    kind = "P";
    max = A.TLN_STR_DATA;
  } else if (op == A.TLN_OP_POSTFIX || op == A.TLN_OP_NOT_POSTFIX) {
    kind = "S";
    max = A.TLN_STR_DATA;
  }
  const id = strSetOf(cx, kind, max, texts, paths, name);
  if (id > 0) fm.set = <u8>id;
}

/** builds (or reuses) a string set; returns its id or 0 */
export function strSetOf(cx: Ctx, kind: string, max: i32, texts: Array<string>, paths: Array<Path>, name: string): i32 {
  const sets = cx.pol.sets;
  const canon = canonOf(kind, texts);
  const have = sets.existing(canon);
  if (have > 0) return have;
  const datas = new Array<ArrayBuffer>();
  let bad = false;
  for (let i = 0; i < texts.length; i++) {
    const b = String.UTF8.encode(texts[i]);
    const n = b.byteLength;
    if (n > max) {
      cx.err(paths[i], M.stringTooLong(texts[i], n, max, name));
      bad = true;
      continue;
    }
    if (kind == "E") {
      const d = new ArrayBuffer(n + 1);
      memory.copy(changetype<usize>(d), changetype<usize>(b), <usize>n);
      datas.push(d);
    } else if (kind == "S") {
      const d = new ArrayBuffer(n);
      const s = changetype<usize>(b);
      const o = changetype<usize>(d);
      for (let j = 0; j < n; j++) store<u8>(o + <usize>j, load<u8>(s + <usize>(n - 1 - j)));
      datas.push(d);
    } else datas.push(b);
  }
  if (bad) return 0;
  const id = sets.fresh(canon);
  if (id < 0) {
    cx.err(paths[0], M.tooManySets(A.TLN_MAX_SETS));
    return 0;
  }
  for (let i = 0; i < datas.length; i++) sets.addStr(<u8>id, datas[i]);
  return id;
}

export function addrSet(cx: Ctx, fm: FilterM, texts: Array<string>, paths: Array<Path>, vp: Path): void {
  const sets = cx.pol.sets;
  const canon = canonOf("A", texts);
  const have = sets.existing(canon);
  if (have > 0) {
    fm.set = <u8>have;
    return;
  }
  let bad = false;
  const cidrs = new Array<Cidr2>();
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i];
    const c = parseCidr(t);
    if (!c.ok) {
      cx.err(paths[i], t.indexOf("${") >= 0 ? M.unexpandedVariable(t) : c.err);
      bad = true;
      continue;
    }
    if (c.hostBits) cx.warn(paths[i], M.cidrHostBits(t, c.plen));
    cidrs.push(new Cidr2(c.family, c.plen, c.addr));
  }
  if (bad) return;
  const id = sets.fresh(canon);
  if (id < 0) {
    cx.err(paths[0], M.tooManySets(A.TLN_MAX_SETS));
    return;
  }
  fm.set = <u8>id;
  for (let i = 0; i < cidrs.length; i++) sets.addAddr(<u8>id, cidrs[i].family, cidrs[i].plen, cidrs[i].addr);
}

/** the dedupe key of a value set: kind, then each value after a NUL. Joined once,
 *  because appending to a growing string copies it each time (quadratic in the list). */
function canonOf(kind: string, texts: Array<string>): string {
  if (texts.length == 0) return kind;
  return kind + "\x00" + texts.join("\x00");
}

class Cidr2 {
  family: i32;
  plen: i32;
  addr: StaticArray<u8>;
  constructor(family: i32, plen: i32, addr: StaticArray<u8>) {
    this.family = family;
    this.plen = plen;
    this.addr = addr;
  }
}

/** decimal port 0..65535, or -1 */
function portValue(t: string): i32 {
  const v = parseIntText(t);
  if (!v.ok || v.neg || v.mag > 65535) return -1;
  return <i32>v.mag;
}
