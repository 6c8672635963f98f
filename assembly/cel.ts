// CelExpr: the subset of CEL that Tetragon policies use on arguments, parsed
// by the compiler (a located error for anything outside it) and evaluated by
// the evaluator on recorded events. arg0..argN are the hook's args[] in spec
// order; integers are 64-bit; strings compare byte-wise.
//   expr  := or;  or := and ("||" and)*;  and := unary ("&&" unary)*
//   cmp   := add (("=="|"!="|"<"|"<="|">"|">=") add)?
//   add   := mul (("+"|"-") mul)*;  mul := unary (("*"|"/"|"%") unary)*
//   unary := ("!"|"-") unary | postfix;  postfix := primary ("." method "(" args ")")*
//   primary := int | uint ("1u") | string | true | false | argN | func "(" args ")" | "(" expr ")"
//   func: int, uint, int32, uint32, size, and, or, xor, not (bit functions);
//   method: startsWith, endsWith, contains, size

export const C_INT: u8 = 0;
export const C_STR: u8 = 1;
export const C_BOOL: u8 = 2;
export const C_ARG: u8 = 3;
export const C_UN: u8 = 4;
export const C_BIN: u8 = 5;
export const C_CALL: u8 = 6;

export class CelN {
  k: u8;
  op: string = "";
  i: i64 = 0;
  s: string = "";
  args: Array<CelN> = new Array<CelN>();
  constructor(k: u8) {
    this.k = k;
  }
}

const FUNCS: StaticArray<string> = ["int", "uint", "int32", "uint32", "size", "and", "or", "xor", "not"];
const METHODS: StaticArray<string> = ["startsWith", "endsWith", "contains", "size"];

export class CelParse {
  src: string;
  i: i32 = 0;
  err: string = "";
  /** the highest argN the expression reads (-1: none) */
  maxArg: i32 = -1;
  constructor(src: string) {
    this.src = src;
  }

  private fail(why: string): CelN {
    if (this.err.length == 0) this.err = why + " at column " + (this.i + 1).toString();
    return new CelN(C_BOOL);
  }
  private ws(): void {
    while (this.i < this.src.length && (this.src.charCodeAt(this.i) == 32 || this.src.charCodeAt(this.i) == 9 || this.src.charCodeAt(this.i) == 10)) this.i++;
  }
  private eat(t: string): bool {
    this.ws();
    if (this.src.startsWith(t, this.i)) {
      // "|" / "&" / "=" alone are not CEL; "<" must not eat "<="
      this.i += t.length;
      return true;
    }
    return false;
  }
  private peek(t: string): bool {
    this.ws();
    return this.src.startsWith(t, this.i);
  }
  private ident(): string {
    this.ws();
    const from = this.i;
    while (this.i < this.src.length) {
      const c = this.src.charCodeAt(this.i);
      if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95 || (this.i > from && c >= 48 && c <= 57)) this.i++;
      else break;
    }
    return this.src.substring(from, this.i);
  }

  parse(): CelN {
    const n = this.or();
    this.ws();
    if (this.err.length == 0 && this.i < this.src.length) return this.fail("unexpected \"" + this.src.charAt(this.i) + "\"");
    return n;
  }
  private bin(op: string, a: CelN, b: CelN): CelN {
    const n = new CelN(C_BIN);
    n.op = op;
    n.args.push(a);
    n.args.push(b);
    return n;
  }
  private or(): CelN {
    let a = this.and();
    while (this.err.length == 0 && this.eat("||")) a = this.bin("||", a, this.and());
    return a;
  }
  private and(): CelN {
    let a = this.cmp();
    while (this.err.length == 0 && this.eat("&&")) a = this.bin("&&", a, this.cmp());
    return a;
  }
  private cmp(): CelN {
    const a = this.add();
    const ops = ["==", "!=", "<=", ">=", "<", ">"];
    for (let k = 0; k < ops.length; k++) if (this.eat(ops[k])) return this.bin(ops[k], a, this.add());
    return a;
  }
  private add(): CelN {
    let a = this.mul();
    while (this.err.length == 0) {
      if (this.eat("+")) a = this.bin("+", a, this.mul());
      else if (this.eat("-")) a = this.bin("-", a, this.mul());
      else break;
    }
    return a;
  }
  private mul(): CelN {
    let a = this.unary();
    while (this.err.length == 0) {
      if (this.eat("*")) a = this.bin("*", a, this.unary());
      else if (this.eat("/")) a = this.bin("/", a, this.unary());
      else if (this.eat("%")) a = this.bin("%", a, this.unary());
      else break;
    }
    return a;
  }
  private unary(): CelN {
    if (this.peek("!=")) return this.fail("unexpected \"!=\"");
    if (this.eat("!") || this.eat("-")) {
      const n = new CelN(C_UN);
      n.op = this.src.charAt(this.i - 1);
      n.args.push(this.unary());
      return n;
    }
    return this.postfix();
  }
  private callArgs(n: CelN): void {
    if (!this.eat("(")) {
      this.fail("expected \"(\"");
      return;
    }
    if (this.eat(")")) return;
    while (this.err.length == 0) {
      n.args.push(this.or());
      if (this.eat(")")) return;
      if (!this.eat(",")) {
        this.fail("expected \",\" or \")\"");
        return;
      }
    }
  }
  private postfix(): CelN {
    let a = this.primary();
    while (this.err.length == 0 && this.eat(".")) {
      const m = this.ident();
      if (!METHODS.includes(m)) return this.fail(m.length == 0 ? "expected a method name" : "unsupported method " + m + " (supported: " + METHODS.join(", ") + ")");
      const n = new CelN(C_CALL);
      n.s = m;
      n.args.push(a);
      this.callArgs(n);
      const want = m == "size" ? 1 : 2;
      if (n.args.length != want) return this.fail(m + "() takes " + (want - 1).toString() + " argument" + (want == 2 ? "" : "s"));
      a = n;
    }
    return a;
  }
  private primary(): CelN {
    this.ws();
    if (this.i >= this.src.length) return this.fail("unexpected end of the expression");
    const c = this.src.charCodeAt(this.i);
    if (c == 40) {
      this.i++;
      const n = this.or();
      if (!this.eat(")")) return this.fail("expected \")\"");
      return n;
    }
    if (c == 34 || c == 39) {
      const from = ++this.i;
      while (this.i < this.src.length && this.src.charCodeAt(this.i) != c) {
        if (this.src.charCodeAt(this.i) == 92) return this.fail("escapes in string literals are not supported");
        this.i++;
      }
      if (this.i >= this.src.length) return this.fail("unterminated string");
      const n = new CelN(C_STR);
      n.s = this.src.substring(from, this.i);
      this.i++;
      return n;
    }
    if (c >= 48 && c <= 57) {
      const from = this.i;
      let hex = false;
      if (c == 48 && (this.src.charCodeAt(this.i + 1) == 120 || this.src.charCodeAt(this.i + 1) == 88)) {
        hex = true;
        this.i += 2;
      }
      while (this.i < this.src.length) {
        const d = this.src.charCodeAt(this.i);
        if ((d >= 48 && d <= 57) || (hex && ((d >= 97 && d <= 102) || (d >= 65 && d <= 70)))) this.i++;
        else break;
      }
      const t = this.src.substring(hex ? from + 2 : from, this.i);
      if (t.length == 0 || t.length > (hex ? 16 : 19)) return this.fail("bad integer literal");
      if (this.i < this.src.length && (this.src.charCodeAt(this.i) == 117 || this.src.charCodeAt(this.i) == 85)) this.i++; // 1u
      const n = new CelN(C_INT);
      n.i = hex ? <i64>U64.parseInt(t, 16) : I64.parseInt(t, 10);
      return n;
    }
    const id = this.ident();
    if (id.length == 0) return this.fail("unexpected \"" + this.src.charAt(this.i) + "\"");
    if (id == "true" || id == "false") {
      const n = new CelN(C_BOOL);
      n.i = id == "true" ? 1 : 0;
      return n;
    }
    if (id.startsWith("arg") && id.length > 3 && id.length < 6) {
      let v = 0;
      for (let k = 3; k < id.length; k++) {
        const d = id.charCodeAt(k) - 48;
        if (d < 0 || d > 9) return this.fail("unknown identifier " + id + " (the expression reads arg0..argN)");
        v = v * 10 + d;
      }
      const n = new CelN(C_ARG);
      n.i = v;
      if (v > this.maxArg) this.maxArg = v;
      return n;
    }
    if (FUNCS.includes(id)) {
      const n = new CelN(C_CALL);
      n.s = id;
      this.callArgs(n);
      const want = id == "and" || id == "or" || id == "xor" ? 2 : 1;
      if (this.err.length == 0 && n.args.length != want) return this.fail(id + "() takes " + want.toString() + " argument" + (want == 1 ? "" : "s"));
      return n;
    }
    return this.fail("unknown identifier " + id + " (the expression reads arg0..argN; functions: " + FUNCS.join(", ") + ")");
  }
}

/** a value during evaluation */
export class CelV {
  t: u8 = C_INT; // C_INT, C_STR, C_BOOL
  i: i64 = 0;
  s: string = "";
}

/** what the evaluator gives the expression: arguments by position */
export abstract class CelArgs {
  /** C_INT / C_STR, or 255 when the event has no readable value at that position */
  abstract kind(i: i32): u8;
  abstract int(i: i32): i64;
  abstract str(i: i32): string;
}

export class CelEval {
  err: string = "";
  args: CelArgs;
  constructor(args: CelArgs) {
    this.args = args;
  }
  private fail(why: string): CelV {
    if (this.err.length == 0) this.err = why;
    return new CelV();
  }
  private num(v: i64): CelV {
    const o = new CelV();
    o.i = v;
    return o;
  }
  private boo(b: bool): CelV {
    const o = new CelV();
    o.t = C_BOOL;
    o.i = b ? 1 : 0;
    return o;
  }

  eval(n: CelN): CelV {
    if (this.err.length > 0) return new CelV();
    if (n.k == C_INT) return this.num(n.i);
    if (n.k == C_BOOL) return this.boo(n.i != 0);
    if (n.k == C_STR) {
      const o = new CelV();
      o.t = C_STR;
      o.s = n.s;
      return o;
    }
    if (n.k == C_ARG) {
      const k = this.args.kind(<i32>n.i);
      if (k == C_INT) return this.num(this.args.int(<i32>n.i));
      if (k == C_STR) {
        const o = new CelV();
        o.t = C_STR;
        o.s = this.args.str(<i32>n.i);
        return o;
      }
      return this.fail("arg" + n.i.toString() + " has no value in the event");
    }
    if (n.k == C_UN) {
      const a = this.eval(n.args[0]);
      if (n.op == "!") return a.t == C_BOOL ? this.boo(a.i == 0) : this.fail("! needs a bool");
      return a.t == C_INT ? this.num(-a.i) : this.fail("- needs an integer");
    }
    if (n.k == C_BIN) {
      const op = n.op;
      if (op == "&&" || op == "||") {
        const a = this.eval(n.args[0]);
        if (a.t != C_BOOL) return this.fail(op + " needs bools");
        if (op == "&&" && a.i == 0) return a; // CEL short-circuits
        if (op == "||" && a.i != 0) return a;
        const b = this.eval(n.args[1]);
        return b.t == C_BOOL ? b : this.fail(op + " needs bools");
      }
      const a = this.eval(n.args[0]);
      const b = this.eval(n.args[1]);
      if (this.err.length > 0) return new CelV();
      if (a.t != b.t) return this.fail("cannot compare or combine " + typeName(a.t) + " and " + typeName(b.t));
      if (op == "==") return this.boo(a.t == C_STR ? a.s == b.s : a.i == b.i);
      if (op == "!=") return this.boo(a.t == C_STR ? a.s != b.s : a.i != b.i);
      if (a.t == C_STR) {
        if (op == "+") {
          const o = new CelV();
          o.t = C_STR;
          o.s = a.s + b.s;
          return o;
        }
        const c = a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
        if (op == "<") return this.boo(c < 0);
        if (op == "<=") return this.boo(c <= 0);
        if (op == ">") return this.boo(c > 0);
        if (op == ">=") return this.boo(c >= 0);
        return this.fail(op + " is not defined on strings");
      }
      if (a.t == C_BOOL) return this.fail(op + " is not defined on bools");
      if (op == "<") return this.boo(a.i < b.i);
      if (op == "<=") return this.boo(a.i <= b.i);
      if (op == ">") return this.boo(a.i > b.i);
      if (op == ">=") return this.boo(a.i >= b.i);
      if (op == "+") return this.num(a.i + b.i);
      if (op == "-") return this.num(a.i - b.i);
      if (op == "*") return this.num(a.i * b.i);
      if (b.i == 0) return this.fail("division by zero");
      if (op == "/") return this.num(a.i / b.i);
      return this.num(a.i % b.i);
    }
    // calls
    const f = n.s;
    const a = this.eval(n.args[0]);
    if (this.err.length > 0) return new CelV();
    if (f == "size") return a.t == C_STR ? this.num(String.UTF8.byteLength(a.s)) : this.fail("size() needs a string");
    if (f == "startsWith" || f == "endsWith" || f == "contains") {
      const b = this.eval(n.args[1]);
      if (a.t != C_STR || b.t != C_STR) return this.fail(f + "() needs strings");
      return this.boo(f == "startsWith" ? a.s.startsWith(b.s) : f == "endsWith" ? a.s.endsWith(b.s) : a.s.includes(b.s));
    }
    if (a.t != C_INT) return this.fail(f + "() needs an integer");
    if (f == "int" || f == "uint") return a;
    if (f == "int32") return this.num(<i64><i32>a.i);
    if (f == "uint32") return this.num(<i64><u32>a.i);
    if (f == "not") return this.num(~a.i);
    const b = this.eval(n.args[1]);
    if (b.t != C_INT) return this.fail(f + "() needs integers");
    if (f == "and") return this.num(a.i & b.i);
    if (f == "or") return this.num(a.i | b.i);
    return this.num(a.i ^ b.i);
  }
}

function typeName(t: u8): string {
  return t == C_INT ? "an integer" : t == C_STR ? "a string" : "a bool";
}
