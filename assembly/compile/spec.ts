// The spec record of a hook and of a policy (docs/map-format.md §2.3): the
// whole of what the document says about them, as canonical JSON, plus the list
// of features it uses that the BPF programs and the evaluator do not
// implement ("needs"). The fixed-size map structs hold what BPF evaluates; the
// spec record holds everything, so nothing a policy says is dropped: the loader
// refuses a hook whose needs it cannot serve (src/kernel/support.ts) and the
// evaluator reports a selector it cannot decide as unknown.
import { Node, V_NULL, V_FALSE, V_TRUE, V_INT, V_FLOAT, V_STRING, V_ARRAY, V_OBJECT } from "../value";
import { jstr } from "../json";
import * as A from "../abi";
import { HookM } from "../model";

/** a value tree node as JSON (object keys in document order) */
export function nodeJson(n: Node | null): string {
  if (n == null) return "null";
  const t = n.tag;
  if (t == V_NULL) return "null";
  if (t == V_FALSE) return "false";
  if (t == V_TRUE) return "true";
  if (t == V_INT) return n.text;
  if (t == V_FLOAT) return jstr(n.text); // NaN/Infinity are not JSON numbers
  if (t == V_STRING) return jstr(n.text);
  if (t == V_ARRAY) {
    const out = new Array<string>();
    for (let i = 0; i < n.length; i++) out.push(nodeJson(n.at(i)));
    return "[" + out.join(",") + "]";
  }
  if (t == V_OBJECT) {
    const out = new Array<string>();
    for (let i = 0; i < n.length; i++) out.push(jstr(n.keyAt(i)) + ":" + nodeJson(n.at(i)));
    return "{" + out.join(",") + "}";
  }
  return "null";
}

/** a copy of object `o` with `key` set to `v` (replacing it, or appended) */
export function withKey(o: Node, key: string, v: Node): Node {
  const n = new Node(V_OBJECT);
  const keys = new Array<string>();
  const items = new Array<Node>();
  let done = false;
  for (let i = 0; i < o.length; i++) {
    if (o.keyAt(i) == key) {
      keys.push(key);
      items.push(v);
      done = true;
    } else {
      keys.push(o.keyAt(i));
      items.push(o.at(i));
    }
  }
  if (!done) {
    keys.push(key);
    items.push(v);
  }
  n.keys = keys;
  n.items = items;
  return n;
}

/** a copy of object `o` without `key` */
export function withoutKey(o: Node, key: string): Node {
  const n = new Node(V_OBJECT);
  const keys = new Array<string>();
  const items = new Array<Node>();
  for (let i = 0; i < o.length; i++) {
    if (o.keyAt(i) == key) continue;
    keys.push(o.keyAt(i));
    items.push(o.at(i));
  }
  n.keys = keys;
  n.items = items;
  return n;
}

export function arrayNode(items: Array<Node>): Node {
  const n = new Node(V_ARRAY);
  n.items = items;
  return n;
}

export function strNode(s: string): Node {
  const n = new Node(V_STRING);
  n.text = s;
  return n;
}

/** adds a need once, keeping first-seen order */
/**
 * The need of an auto-typed field of a (non-raw) tracepoint: Tetragon types it from the
 * tracepoint's format at load, and so does talon's agent (src/kernel/tracefs.ts typeAutoArgs
 * rewrites the type before it compiles), so the loader counts this need as met (support.ts).
 */
export const NEED_AUTO_TRACEPOINT = "auto-typed tracepoint fields (typed from the tracepoint format at load)";

/** an auto-typed argument of a tracepoint that the agent can type at load (not raw: those are BTF arguments) */
export function autoAtLoad(hook: HookM, t: u8): bool {
  return t == A.TLN_ARG_AUTO && hook.kind == A.TLN_HOOK_TRACEPOINT && (hook.flags & A.TLN_HOOK_F_RAW) == 0;
}

export function addNeed(needs: Array<string>, what: string): void {
  if (!needs.includes(what)) needs.push(what);
}

export function needsJson(needs: Array<string>): string {
  const out = new Array<string>();
  for (let i = 0; i < needs.length; i++) out.push(jstr(needs[i]));
  return "[" + out.join(",") + "]";
}
