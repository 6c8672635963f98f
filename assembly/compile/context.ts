// The state shared by every step of compiling one policy document, and the
// diagnostics it reports into. Each step is a free function taking the context.
import { Diagnostics, Path } from "../diag";
import { Node } from "../value";
import { HookDef } from "../hooks";
import { PolicyM, HookM } from "../model";

export class CompileOpts {
  defaultNamespace: string = "";
  mode: i32 = -1; // -1 none, else TLN_MODE_ENFORCE / TLN_MODE_MONITOR
}

export class Ctx {
  d: Diagnostics;
  opts: CompileOpts;
  // per policy
  pol: PolicyM = new PolicyM();
  // per hook: the one whose args and selectors are being compiled
  hook: HookM = new HookM();
  def: HookDef | null = null; // its catalog entry (kprobes only)
  u64Count: i32 = 0; // InMap/NotInMap entries of the policy so far
  macros: Node | null = null; // spec.selectorsMacros of the policy
  hookNode: Node = new Node(0); // the hook's document node (macros expanded)

  constructor(d: Diagnostics, opts: CompileOpts) {
    this.d = d;
    this.opts = opts;
  }

  err(p: Path, msg: string): void {
    this.d.error(p, msg);
  }
  /** a required field absent from the map at p */
  missing(p: Path, field: string, msg: string): void {
    this.d.missing(p, field, msg);
  }
  warn(p: Path, msg: string): void {
    this.d.warning(p, msg);
  }
}
