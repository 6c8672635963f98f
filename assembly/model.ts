// The compiled policy model: what the image writer serialises.
import { TLN_SLOT_RETURN } from "./abi";

export class FilterM {
  op: u8 = 0;
  slot: u8 = 0;
  type: u8 = 0;
  flags: u8 = 0;
  set: u8 = 0;
  vals: Array<u64> = new Array<u64>();
  /** some value lives only in the spec record (list:NAME) */
  specOnly: bool = false;
  /** SubString values, the CelExpr expression: carried as text for the evaluator */
  strs: Array<string> = new Array<string>();
  /** CapabilitiesGained: the slot of the old capabilities */
  slot2: u8 = 0;
  get isReturn(): bool {
    return this.slot == TLN_SLOT_RETURN;
  }
}

export class ActionM {
  id: u8 = 0;
  rlScope: u8 = 0;
  /** TLN_ACTION_F_*: RETURN for a matchReturnActions entry kept in the selector struct */
  flags: u8 = 0;
  arg: i32 = 0;
  rateNs: u64 = 0;
  /** NotifyEnforcer: argSig (0 = none) */
  sig: i32 = 0;
}

export class SelectorM {
  filters: Array<FilterM> = new Array<FilterM>();
  actions: Array<ActionM> = new Array<ActionM>();
  pidOp: u8 = 0;
  pidFlags: u8 = 0;
  pids: Array<u32> = new Array<u32>();
  binOp: u8 = 0;
  binSet: u8 = 0;
  /** the selector as the evaluator reads it back from the spec record (JSON), when SPEC_ONLY */
  evalJson: string = "";
  /** TLN_SEL_F_*: BIN_NEGATE for a negated binOp (the rule FilterM.flags follows too), SPEC_ONLY when some filter or action lives only in the hook's spec record */
  flags: u8 = 0;
  /** matchPIDs entries after the first (struct tln_pid_entry: pidOp, pidFlags, pids) */
  pidx: Array<SelectorM> = new Array<SelectorM>();
  /** matchNamespaces as the kernel reads it (struct tln_ns_filter) */
  nsf: Array<NsFilterM> = new Array<NsFilterM>();
  /** matchCapabilities as the kernel reads it (struct tln_cap_filter) */
  capf: Array<CapFilterM> = new Array<CapFilterM>();
}

export class NsFilterM {
  ns: u8 = 0;
  op: u8 = 0;
  host: u8 = 0;
  vals: Array<u32> = new Array<u32>();
  /** a matchNamespaceChanges entry: chmask holds its types (bit t) */
  change: u8 = 0;
  chmask: u16 = 0;
}

export class CapFilterM {
  set: u8 = 0;
  op: u8 = 0;
  nscap: u8 = 0;
  /** a matchCapabilityChanges entry */
  change: u8 = 0;
  mask: u64 = 0;
}

export class HookArgM {
  index: u8;
  type: u8;
  constructor(index: u8, type: u8) {
    this.index = index;
    this.type = type;
  }
}

export class HookM {
  call: string = "";
  id: u16 = 0;
  kind: u8 = 0;
  flags: u8 = 0;
  args: Array<HookArgM> = new Array<HookArgM>();
  retType: u8 = 0;
  selectors: Array<SelectorM> = new Array<SelectorM>();
  message: string = "";
  tags: Array<string> = new Array<string>();
  /** bit (1 << action id) for every action a selector runs (Post for none) */
  actionsMask: u16 = 0;
  /** syscall: true: the syscall name without arch prefix (sys_openat, __x64_sys_openat -> openat) */
  syscall: string = "";
  /** call: "list:NAME": the list's values (each a call the loader attaches an instance to) */
  members: Array<string> = new Array<string>();
  /** the spec record: canonical JSON of the hook (docs/map-format.md §2.3) */
  spec: string = "";
  /** features used that the BPF programs / evaluator do not implement (spec record "needs") */
  needs: Array<string> = new Array<string>();
}

/** one entry of spec.lists */
export class ListM {
  name: string;
  /** "" (no type: function names, Tetragon's ListTypeNone), syscalls, generated_syscalls or generated_ftrace */
  type: string;
  values: Array<string>;
  constructor(name: string, type: string, values: Array<string>) {
    this.name = name;
    this.type = type;
    this.values = values;
  }
  /** its members are syscalls (named or every one) */
  get syscalls(): bool {
    return this.type == "syscalls" || this.type == "generated_syscalls";
  }
  /** the kernel generates its members; it has no values of its own */
  get generated(): bool {
    return this.type.startsWith("generated_");
  }
}

export const TERM_IN: u8 = 1;
export const TERM_NOT_IN: u8 = 2;
export const TERM_EXISTS: u8 = 3;
export const TERM_DOES_NOT_EXIST: u8 = 4;

export class TermM {
  op: u8;
  key: string;
  values: Array<string>;
  constructor(op: u8, key: string, values: Array<string>) {
    this.op = op;
    this.key = key;
    this.values = values;
  }
}

export const KIND_CLUSTER: u8 = 1;
export const KIND_NAMESPACED: u8 = 2;

export class StrEntry {
  set: u8;
  data: ArrayBuffer;
  constructor(set: u8, data: ArrayBuffer) {
    this.set = set;
    this.data = data;
  }
}
export class AddrEntry {
  set: u8;
  plen: i32;
  addr: StaticArray<u8>;
  constructor(set: u8, plen: i32, addr: StaticArray<u8>) {
    this.set = set;
    this.plen = plen;
    this.addr = addr;
  }
}
export class U64Entry {
  set: u8;
  value: u64;
  constructor(set: u8, value: u64) {
    this.set = set;
    this.value = value;
  }
}

/** Value sets of one policy (ids 1..255) and the side-map entries they own. */
export class SetBuilder {
  next: i32 = 1;
  byCanon: Map<string, i32> = new Map<string, i32>();
  str: Array<StrEntry> = new Array<StrEntry>();
  strSeen: Map<string, bool> = new Map<string, bool>();
  maxStr: i32 = 0;
  a4: Array<AddrEntry> = new Array<AddrEntry>();
  a6: Array<AddrEntry> = new Array<AddrEntry>();
  addrSeen: Map<string, bool> = new Map<string, bool>();
  u64: Array<U64Entry> = new Array<U64Entry>();
  u64Seen: Map<u8, Set<u64> | null> = new Map<u8, Set<u64> | null>();

  /** existing id for canon, or 0 */
  existing(canon: string): i32 {
    return this.byCanon.has(canon) ? this.byCanon.get(canon) : 0;
  }
  /** a new id for canon, or -1 when all 255 are used */
  fresh(canon: string): i32 {
    if (this.next > 255) return -1;
    const id = this.next++;
    this.byCanon.set(canon, id);
    return id;
  }
  addStr(set: u8, data: ArrayBuffer): void {
    // key of the dedupe map: set + hex of the bytes
    let k = set.toString() + ":";
    const p = changetype<usize>(data);
    for (let i = 0; i < data.byteLength; i++) k += String.fromCharCode(<i32>load<u8>(p + <usize>i) + 256);
    if (this.strSeen.has(k)) return;
    this.strSeen.set(k, true);
    this.str.push(new StrEntry(set, data));
    if (data.byteLength > this.maxStr) this.maxStr = data.byteLength;
  }
  addAddr(set: u8, family: i32, plen: i32, addr: StaticArray<u8>): void {
    const n = family == 4 ? 4 : 16;
    let k = family.toString() + ":" + set.toString() + ":" + plen.toString() + ":";
    for (let i = 0; i < n; i++) k += addr[i].toString() + ".";
    if (this.addrSeen.has(k)) return;
    this.addrSeen.set(k, true);
    const copy = new StaticArray<u8>(n);
    for (let i = 0; i < n; i++) copy[i] = addr[i];
    if (family == 4) this.a4.push(new AddrEntry(set, plen, copy));
    else this.a6.push(new AddrEntry(set, plen, copy));
  }
  addU64(set: u8, v: u64): void {
    let seen: Set<u64> | null = this.u64Seen.has(set) ? this.u64Seen.get(set) : null;
    if (seen == null) {
      seen = new Set<u64>();
      this.u64Seen.set(set, seen);
    }
    if ((seen as Set<u64>).has(v)) return;
    (seen as Set<u64>).add(v);
    this.u64.push(new U64Entry(set, v));
  }
}

export class PolicyM {
  name: string = "";
  namespace: string = "";
  kind: u8 = KIND_CLUSTER;
  mode: u8 = 0;
  scope: u8 = 0;
  podSel: Array<TermM> | null = null;
  contSel: Array<TermM> | null = null;
  hostSel: bool = false;
  hooks: Array<HookM> = new Array<HookM>();
  sets: SetBuilder = new SetBuilder();
  lists: Array<ListM> = new Array<ListM>();
  notifiesEnforcer: bool = false;
  /** the policy's spec record: options, lists, enforcers, nodeSelector, loader (JSON) */
  spec: string = "{}";
  list(name: string): ListM | null {
    for (let i = 0; i < this.lists.length; i++) if (this.lists[i].name == name) return this.lists[i];
    return null;
  }
  get nselectors(): i32 {
    let n = 0;
    for (let i = 0; i < this.hooks.length; i++) n += this.hooks[i].selectors.length;
    return n;
  }
}
