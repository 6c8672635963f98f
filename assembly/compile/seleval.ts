// The selector as the evaluator reads it back (docs/map-format.md §2.3, the
// hook spec record's "eval"): for a selector with anything beyond the BPF
// selector struct (TLN_SEL_F_SPEC_ONLY), every filter and action of it, with
// values already parsed (ids, masks, set ids into the policy's maps), so the
// evaluator decides the whole selector from this alone.
import { SelectorM, FilterM, ActionM } from "../model";
import { jstr } from "../json";

function u64s(v: Array<u64>): string {
  const o = new Array<string>();
  for (let i = 0; i < v.length; i++) o.push('"' + v[i].toString() + '"'); // as text: u64 is beyond JSON's exact integers
  return "[" + o.join(",") + "]";
}

function strs(v: Array<string>): string {
  const o = new Array<string>();
  for (let i = 0; i < v.length; i++) o.push(jstr(v[i]));
  return "[" + o.join(",") + "]";
}

function actions(l: Array<ActionM>): string {
  const o = new Array<string>();
  for (let i = 0; i < l.length; i++) {
    const a = l[i];
    o.push("[" + a.id.toString() + "," + a.arg.toString() + "," + a.sig.toString() + ',"' + a.rateNs.toString() + '",' + a.rlScope.toString() + "]");
  }
  return "[" + o.join(",") + "]";
}

export class SelEval {
  /** matchPIDs entries: the selector itself holds the first */
  pids: Array<SelectorM> = new Array<SelectorM>();
  children: bool = false;
  /** matchParentBinaries, compiled as a matchBinaries */
  parent: SelectorM = new SelectorM();
  ns: string = "[]";
  nsch: string = "null";
  caps: string = "[]";
  capch: string = "[]";
  workloads: bool = false;
  filters: Array<FilterM> = new Array<FilterM>();
  ndata: i32 = 0;
  actions: Array<ActionM> = new Array<ActionM>();
  retActions: Array<ActionM> = new Array<ActionM>();

  json(sel: SelectorM): string {
    const pids = new Array<string>();
    for (let i = 0; i < this.pids.length; i++) {
      const e = this.pids[i];
      if (e.pidOp == 0) continue;
      const v = new Array<string>();
      for (let j = 0; j < e.pids.length; j++) v.push(e.pids[j].toString());
      pids.push("[" + e.pidOp.toString() + "," + e.pidFlags.toString() + ",[" + v.join(",") + "]]");
    }
    let bin = "null";
    if (sel.binOp != 0) bin = "[" + sel.binOp.toString() + "," + sel.binSet.toString() + "," + (this.children ? "1" : "0") + "]";
    let pbin = "null";
    if (this.parent.binOp != 0) pbin = "[" + this.parent.binOp.toString() + "," + this.parent.binSet.toString() + ",0]";
    const fs = new Array<string>();
    for (let i = 0; i < this.filters.length; i++) {
      const f = this.filters[i];
      fs.push(
        "[" + f.slot.toString() + "," + f.op.toString() + "," + f.type.toString() + "," + f.flags.toString() + "," + f.set.toString() + "," +
          u64s(f.vals) + "," + strs(f.strs) + "," + f.slot2.toString() + "," + (f.specOnly ? "1" : "0") + "]",
      );
    }
    return (
      '{"pids":[' + pids.join(",") + '],"bin":' + bin + ',"pbin":' + pbin + ',"ns":' + this.ns + ',"nsch":' + this.nsch +
      ',"caps":' + this.caps + ',"capch":' + this.capch + ',"wl":' + (this.workloads ? "true" : "false") + ',"f":[' + fs.join(",") +
      '],"data":' + this.ndata.toString() + ',"a":' + actions(this.actions) + ',"ra":' + actions(this.retActions) + "}"
    );
  }
}
