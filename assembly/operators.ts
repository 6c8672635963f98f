// Operators of matchArgs / matchReturnArgs / matchBinaries / matchPIDs, with
// Tetragon's spellings and aliases (matched case-insensitively).
import * as A from "./abi";
import { CAT_INT, CAT_STR, CAT_SOCK, CAT_SOCKADDR, CAT_SOCKADDR_UN, CAT_FILE, CAT_CAPS } from "./argtypes";

export const OP_UNKNOWN: i32 = -1;
export const OP_UNSUPPORTED: i32 = -2;

class OpName {
  name: string;
  id: u8;
  constructor(name: string, id: u8) {
    this.name = name;
    this.id = id;
  }
}

// canonical names first (used in messages), then aliases
const OPS: StaticArray<OpName> = [
  new OpName("Equal", A.TLN_OP_EQUAL),
  new OpName("NotEqual", A.TLN_OP_NOT_EQUAL),
  new OpName("Prefix", A.TLN_OP_PREFIX),
  new OpName("NotPrefix", A.TLN_OP_NOT_PREFIX),
  new OpName("Postfix", A.TLN_OP_POSTFIX),
  new OpName("NotPostfix", A.TLN_OP_NOT_POSTFIX),
  new OpName("GT", A.TLN_OP_GT),
  new OpName("LT", A.TLN_OP_LT),
  new OpName("Mask", A.TLN_OP_MASK),
  new OpName("InRange", A.TLN_OP_IN_RANGE),
  new OpName("NotInRange", A.TLN_OP_NOT_IN_RANGE),
  new OpName("InMap", A.TLN_OP_IN_MAP),
  new OpName("NotInMap", A.TLN_OP_NOT_IN_MAP),
  new OpName("SAddr", A.TLN_OP_SADDR),
  new OpName("DAddr", A.TLN_OP_DADDR),
  new OpName("NotSAddr", A.TLN_OP_NOT_SADDR),
  new OpName("NotDAddr", A.TLN_OP_NOT_DADDR),
  new OpName("SPort", A.TLN_OP_SPORT),
  new OpName("DPort", A.TLN_OP_DPORT),
  new OpName("NotSPort", A.TLN_OP_NOT_SPORT),
  new OpName("NotDPort", A.TLN_OP_NOT_DPORT),
  new OpName("SPortPriv", A.TLN_OP_SPORT_PRIV),
  new OpName("NotSPortPriv", A.TLN_OP_NOT_SPORT_PRIV),
  new OpName("DPortPriv", A.TLN_OP_DPORT_PRIV),
  new OpName("NotDPortPriv", A.TLN_OP_NOT_DPORT_PRIV),
  new OpName("Protocol", A.TLN_OP_PROTOCOL),
  new OpName("Family", A.TLN_OP_FAMILY),
  new OpName("State", A.TLN_OP_STATE),
  new OpName("SubString", A.TLN_OP_SUBSTRING),
  new OpName("SubStringIgnCase", A.TLN_OP_SUBSTRING_IGN_CASE),
  new OpName("FileType", A.TLN_OP_FILE_TYPE),
  new OpName("NotFileType", A.TLN_OP_NOT_FILE_TYPE),
  new OpName("CapabilitiesGained", A.TLN_OP_CAPABILITIES_GAINED),
  new OpName("CelExpr", A.TLN_OP_CEL_EXPR),
  new OpName("In", A.TLN_OP_IN),
  new OpName("NotIn", A.TLN_OP_NOT_IN),
  // aliases (Tetragon's parser: lowercase forms, GreaterThan/LessThan, the CRD's NotSportPriv,
  // the docs' SubStringIgnoreCase); matching is case-insensitive anyway
  new OpName("GreaterThan", A.TLN_OP_GT),
  new OpName("LessThan", A.TLN_OP_LT),
  new OpName("eq", A.TLN_OP_EQUAL),
  new OpName("neq", A.TLN_OP_NOT_EQUAL),
  new OpName("SubStringIgnoreCase", A.TLN_OP_SUBSTRING_IGN_CASE),
];
const NCANON = 36;

/** Tetragon operators talon does not implement: none left (kept for the lookup's contract). */
const UNSUPPORTED: StaticArray<string> = [];

/** op id, OP_UNKNOWN or OP_UNSUPPORTED */
export function opLookup(name: string): i32 {
  const lc = name.toLowerCase();
  for (let i = 0; i < OPS.length; i++) if (OPS[i].name.toLowerCase() == lc) return <i32>OPS[i].id;
  for (let i = 0; i < UNSUPPORTED.length; i++) if (UNSUPPORTED[i].toLowerCase() == lc) return OP_UNSUPPORTED;
  return OP_UNKNOWN;
}

export function opName(id: u8): string {
  for (let i = 0; i < NCANON; i++) if (OPS[i].id == id) return OPS[i].name;
  return "?";
}

const INT_OPS: StaticArray<u8> = [
  A.TLN_OP_EQUAL, A.TLN_OP_NOT_EQUAL, A.TLN_OP_GT, A.TLN_OP_LT, A.TLN_OP_MASK, A.TLN_OP_IN_RANGE,
  A.TLN_OP_NOT_IN_RANGE, A.TLN_OP_IN_MAP, A.TLN_OP_NOT_IN_MAP,
];
const RET_OPS: StaticArray<u8> = [
  A.TLN_OP_EQUAL, A.TLN_OP_NOT_EQUAL, A.TLN_OP_GT, A.TLN_OP_LT, A.TLN_OP_MASK, A.TLN_OP_IN_RANGE,
  A.TLN_OP_NOT_IN_RANGE,
];
/** matchReturnArgs on a string-typed return value (Tetragon: Equal, NotEqual, Prefix, Postfix) */
const RET_STR_OPS: StaticArray<u8> = [
  A.TLN_OP_EQUAL, A.TLN_OP_NOT_EQUAL, A.TLN_OP_PREFIX, A.TLN_OP_NOT_PREFIX, A.TLN_OP_POSTFIX,
  A.TLN_OP_NOT_POSTFIX,
];
const STR_OPS: StaticArray<u8> = [
  A.TLN_OP_EQUAL, A.TLN_OP_NOT_EQUAL, A.TLN_OP_PREFIX, A.TLN_OP_NOT_PREFIX, A.TLN_OP_POSTFIX,
  A.TLN_OP_NOT_POSTFIX, A.TLN_OP_SUBSTRING, A.TLN_OP_SUBSTRING_IGN_CASE,
];
const FILE_OPS: StaticArray<u8> = [
  A.TLN_OP_EQUAL, A.TLN_OP_NOT_EQUAL, A.TLN_OP_PREFIX, A.TLN_OP_NOT_PREFIX, A.TLN_OP_POSTFIX,
  A.TLN_OP_NOT_POSTFIX, A.TLN_OP_SUBSTRING, A.TLN_OP_SUBSTRING_IGN_CASE, A.TLN_OP_FILE_TYPE,
  A.TLN_OP_NOT_FILE_TYPE,
];
const SOCKADDR_UN_OPS: StaticArray<u8> = [
  A.TLN_OP_FAMILY, A.TLN_OP_EQUAL, A.TLN_OP_NOT_EQUAL, A.TLN_OP_PREFIX, A.TLN_OP_NOT_PREFIX,
  A.TLN_OP_POSTFIX, A.TLN_OP_NOT_POSTFIX,
];
const CAPS_OPS: StaticArray<u8> = [
  A.TLN_OP_EQUAL, A.TLN_OP_NOT_EQUAL, A.TLN_OP_GT, A.TLN_OP_LT, A.TLN_OP_MASK, A.TLN_OP_IN_RANGE,
  A.TLN_OP_NOT_IN_RANGE, A.TLN_OP_IN_MAP, A.TLN_OP_NOT_IN_MAP, A.TLN_OP_CAPABILITIES_GAINED,
];
const SOCK_OPS: StaticArray<u8> = [
  A.TLN_OP_SADDR, A.TLN_OP_DADDR, A.TLN_OP_NOT_SADDR, A.TLN_OP_NOT_DADDR, A.TLN_OP_SPORT,
  A.TLN_OP_DPORT, A.TLN_OP_NOT_SPORT, A.TLN_OP_NOT_DPORT, A.TLN_OP_SPORT_PRIV,
  A.TLN_OP_NOT_SPORT_PRIV, A.TLN_OP_DPORT_PRIV, A.TLN_OP_NOT_DPORT_PRIV, A.TLN_OP_PROTOCOL,
  A.TLN_OP_FAMILY, A.TLN_OP_STATE,
];
const SOCKADDR_OPS: StaticArray<u8> = [
  A.TLN_OP_SADDR, A.TLN_OP_NOT_SADDR, A.TLN_OP_SPORT, A.TLN_OP_NOT_SPORT, A.TLN_OP_SPORT_PRIV,
  A.TLN_OP_NOT_SPORT_PRIV, A.TLN_OP_FAMILY,
];
export const BIN_OPS: StaticArray<u8> = [
  A.TLN_OP_IN, A.TLN_OP_NOT_IN, A.TLN_OP_PREFIX, A.TLN_OP_NOT_PREFIX, A.TLN_OP_POSTFIX,
  A.TLN_OP_NOT_POSTFIX,
];
export const PID_OPS: StaticArray<u8> = [A.TLN_OP_IN, A.TLN_OP_NOT_IN];

export function opsFor(cat: i32, ret: bool): StaticArray<u8> {
  if (ret) return cat == CAT_STR || cat == CAT_FILE ? RET_STR_OPS : RET_OPS;
  if (cat == CAT_INT) return INT_OPS;
  if (cat == CAT_STR) return STR_OPS;
  if (cat == CAT_SOCK) return SOCK_OPS;
  if (cat == CAT_SOCKADDR) return SOCKADDR_OPS;
  if (cat == CAT_FILE) return FILE_OPS;
  if (cat == CAT_SOCKADDR_UN) return SOCKADDR_UN_OPS;
  if (cat == CAT_CAPS) return CAPS_OPS;
  return new StaticArray<u8>(0);
}

export function opIn(op: u8, ops: StaticArray<u8>): bool {
  for (let i = 0; i < ops.length; i++) if (ops[i] == op) return true;
  return false;
}

export function opList(ops: StaticArray<u8>): string {
  const n = new Array<string>();
  for (let i = 0; i < ops.length; i++) n.push(opName(ops[i]));
  return n.join(", ");
}

/** the operators of matchArgs (In/NotIn belong to matchBinaries/matchPIDs) */
/** the canonical operators as JSON [[name, id, served by the BPF programs], ...] */
export function opsJson(): string {
  const o = new Array<string>();
  for (let i = 0; i < NCANON; i++) o.push('["' + OPS[i].name + '",' + OPS[i].id.toString() + "," + (isSeedOp(OPS[i].id) ? "true" : "false") + "]");
  return "[" + o.join(",") + "]";
}

export function allOpNames(): string {
  const n = new Array<string>();
  for (let i = 0; i < NCANON - 2; i++) n.push(OPS[i].name);
  return n.join(", ");
}

/** Not* operators match when the value is NOT in the set. The one negation rule: the compiler
 *  stores it as TLN_FILTER_F_NEGATE (filters, matchBinaries); the kernel and the evaluator read only the flag. */
export function isNegated(op: u8): bool {
  return op == A.TLN_OP_NOT_EQUAL || op == A.TLN_OP_NOT_PREFIX || op == A.TLN_OP_NOT_POSTFIX ||
    op == A.TLN_OP_NOT_IN_RANGE || op == A.TLN_OP_NOT_IN_MAP || op == A.TLN_OP_NOT_SADDR ||
    op == A.TLN_OP_NOT_DADDR || op == A.TLN_OP_NOT_SPORT || op == A.TLN_OP_NOT_DPORT ||
    op == A.TLN_OP_NOT_SPORT_PRIV || op == A.TLN_OP_NOT_DPORT_PRIV || op == A.TLN_OP_NOT_IN ||
    op == A.TLN_OP_NOT_FILE_TYPE;
}

/** operators the seed's BPF programs and evaluator implement (the others are compiled, then
 * refused at load and reported as not evaluated in dry-run) */
export function isSeedOp(op: u8): bool {
  return op != A.TLN_OP_SUBSTRING && op != A.TLN_OP_SUBSTRING_IGN_CASE && op != A.TLN_OP_FILE_TYPE &&
    op != A.TLN_OP_NOT_FILE_TYPE && op != A.TLN_OP_CAPABILITIES_GAINED && op != A.TLN_OP_CEL_EXPR;
}
