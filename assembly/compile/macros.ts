// spec.selectorsMacros and selector `macros: [name]`: each named macro's fields
// are pulled into the selector before it is compiled (Tetragon v1.7+); a field
// may not come from both the selector and a macro.
import * as M from "../messages";
import { Node } from "../value";
import { Path } from "../diag";
import { Ctx } from "./context";
import { strOf, objOf, listOf } from "./nodes";
import { withKey, withoutKey, arrayNode } from "./spec";

function macroNames(cx: Ctx): string {
  const m = cx.macros;
  if (m == null || m.length == 0) return "none";
  const n = new Array<string>();
  for (let i = 0; i < m.length; i++) n.push(m.keyAt(i));
  return n.join(", ");
}

/** the hook with every selector's macros expanded (the same node when none uses one) */
export function expandMacros(cx: Ctx, h: Node, hp: Path): Node {
  const sl = listOf(h.get("selectors"));
  if (sl == null) return h;
  let any = false;
  for (let i = 0; i < sl.length; i++) {
    const s = objOf(sl.at(i));
    if (s != null && s.get("macros") != null) any = true;
  }
  if (!any) return h;
  const out = new Array<Node>();
  for (let i = 0; i < sl.length; i++) {
    let s = sl.at(i);
    const so = objOf(s);
    let ml: Node | null = null;
    if (so != null) ml = listOf(so.get("macros"));
    if (so != null && so.get("macros") != null) {
      let x = withoutKey(so, "macros");
      if (ml != null) {
        const mp = hp.k("selectors").i(i).k("macros");
        for (let j = 0; j < ml!.length; j++) {
          const name = strOf(ml!.at(j));
          if (name == null) continue;
          const mc = cx.macros;
          let m: Node | null = null;
          if (mc != null) m = objOf(mc.get(name));
          if (m == null) {
            cx.err(mp.i(j), M.unknownMacro(name, macroNames(cx)));
            continue;
          }
          for (let k = 0; k < m!.length; k++) {
            const f = m!.keyAt(k);
            if (x.get(f) != null) {
              cx.err(mp.i(j), M.macroFieldTwice(f, name));
              continue;
            }
            x = withKey(x, f, m!.at(k));
          }
        }
      }
      s = x;
    }
    out.push(s);
  }
  return withKey(h, "selectors", arrayNode(out));
}
