// A JSON reader for the core's own spec records (the evaluator reads the
// selectors' "eval" back): JSON text -> value tree. Input is what the
// compiler wrote, but it is read defensively: malformed text gives null.
import { Node, V_NULL, V_FALSE, V_TRUE, V_INT, V_FLOAT, V_STRING, V_ARRAY, V_OBJECT } from "./value";

class Reader {
  s: string;
  i: i32 = 0;
  bad: bool = false;
  constructor(s: string) {
    this.s = s;
  }
  ws(): void {
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c != 32 && c != 9 && c != 10 && c != 13) break;
      this.i++;
    }
  }
  str(): string {
    // at the opening quote
    this.i++;
    let out = "";
    let from = this.i;
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c == 34) {
        out += this.s.substring(from, this.i);
        this.i++;
        return out;
      }
      if (c == 92) {
        out += this.s.substring(from, this.i);
        const e = this.s.charCodeAt(this.i + 1);
        this.i += 2;
        if (e == 110) out += "\n";
        else if (e == 116) out += "\t";
        else if (e == 114) out += "\r";
        else if (e == 98) out += "\b";
        else if (e == 102) out += "\f";
        else if (e == 117) {
          out += String.fromCharCode(<i32>I32.parseInt(this.s.substring(this.i, this.i + 4), 16));
          this.i += 4;
        } else out += String.fromCharCode(e);
        from = this.i;
        continue;
      }
      this.i++;
    }
    this.bad = true;
    return out;
  }
  value(): Node {
    this.ws();
    if (this.i >= this.s.length) {
      this.bad = true;
      return new Node(V_NULL);
    }
    const c = this.s.charCodeAt(this.i);
    if (c == 123) {
      const n = new Node(V_OBJECT);
      const keys = new Array<string>();
      const items = new Array<Node>();
      this.i++;
      this.ws();
      if (this.s.charCodeAt(this.i) == 125) this.i++;
      else {
        while (!this.bad) {
          this.ws();
          if (this.s.charCodeAt(this.i) != 34) {
            this.bad = true;
            break;
          }
          keys.push(this.str());
          this.ws();
          if (this.s.charCodeAt(this.i) != 58) {
            this.bad = true;
            break;
          }
          this.i++;
          items.push(this.value());
          this.ws();
          const d = this.s.charCodeAt(this.i++);
          if (d == 125) break;
          if (d != 44) this.bad = true;
        }
      }
      n.keys = keys;
      n.items = items;
      return n;
    }
    if (c == 91) {
      const n = new Node(V_ARRAY);
      const items = new Array<Node>();
      this.i++;
      this.ws();
      if (this.s.charCodeAt(this.i) == 93) this.i++;
      else {
        while (!this.bad) {
          items.push(this.value());
          this.ws();
          const d = this.s.charCodeAt(this.i++);
          if (d == 93) break;
          if (d != 44) this.bad = true;
        }
      }
      n.items = items;
      return n;
    }
    if (c == 34) {
      const n = new Node(V_STRING);
      n.text = this.str();
      return n;
    }
    if (this.s.startsWith("true", this.i)) {
      this.i += 4;
      return new Node(V_TRUE);
    }
    if (this.s.startsWith("false", this.i)) {
      this.i += 5;
      return new Node(V_FALSE);
    }
    if (this.s.startsWith("null", this.i)) {
      this.i += 4;
      return new Node(V_NULL);
    }
    const from = this.i;
    let float = false;
    while (this.i < this.s.length) {
      const d = this.s.charCodeAt(this.i);
      if ((d >= 48 && d <= 57) || d == 45 || d == 43) this.i++;
      else if (d == 46 || d == 101 || d == 69) {
        float = true;
        this.i++;
      } else break;
    }
    if (this.i == from) {
      this.bad = true;
      return new Node(V_NULL);
    }
    const n = new Node(float ? V_FLOAT : V_INT);
    n.text = this.s.substring(from, this.i);
    return n;
  }
}

/** the value tree of JSON text, or null when it is not JSON */
export function readJson(s: string): Node | null {
  const r = new Reader(s);
  const v = r.value();
  r.ws();
  return r.bad || r.i != s.length ? null : v;
}
