// Typed views of value-tree nodes. A node of the wrong shape reads as null (or
// false, or -1): the host's schema has reported it already, so steps skip it.
import { Node, V_INT, V_FLOAT, V_STRING } from "../value";
import { parseIntText } from "../parse";

export function strOf(n: Node | null): string | null {
  if (n == null || n.tag != V_STRING) return null;
  return n.text;
}

/** a scalar usable as a value (string or number), as text */
export function scalarOf(n: Node | null): string | null {
  if (n == null) return null;
  if (n.tag == V_STRING || n.tag == V_INT || n.tag == V_FLOAT) return n.text;
  return null;
}

export function isPresent(n: Node | null): bool {
  return n != null && !n.isNull;
}

export function objOf(n: Node | null): Node | null {
  if (n == null || !n.isObject) return null;
  return n;
}

export function listOf(n: Node | null): Node | null {
  if (n == null || !n.isArray) return null;
  return n;
}

export function boolTrue(n: Node | null): bool {
  return n != null && n.isTrue;
}

/** small non-negative int node -> value, or -1 */
export function smallInt(n: Node | null): i32 {
  if (n == null || n.tag != V_INT) return -1;
  const v = parseIntText(n.text);
  if (!v.ok || v.neg || v.mag > 1000000) return -1;
  return <i32>v.mag;
}
