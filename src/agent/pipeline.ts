// The agent's event pipeline: ring-buffer records -> process cache -> the Wasm
// core, which decodes a hook record's bytes and evaluates them (policy,
// selector, action; differential check against the kernel) -> Tetragon-shaped
// JSON (with pod metadata, the arguments as the core decoded them) -> subscribers.
import * as G from '../abi/generated.js';
import { encodeHook, type ExecRecord, type ExitRecord, type HookRecord, type SockRecord, type TlnRecord } from '../kernel/records.js';
import { compileFilterSet, type FilterSet } from '../events/filter.js';
import { compileCel, type CelStats } from '../api/cel.js';
import type { EvalArg, EvalEvent, HookContext, Match } from '../core/types.js';
import { podInfo } from '../pods/pod.js';
import { listMember } from '../kernel/lists.js';
import type { PodRegistry } from '../pods/registry.js';
import type { PolicyManager, AgentPolicy } from './policies.js';
import { isoFromKtime, ProcessCache, type ProcEntry } from './process-cache.js';
import { credentialsJson, namespacesJson, readCredentials, readNamespaces } from './proc-identity.js';
import { actionOf, argJson, enforcementActions, matchFor, permissionString, processJson, signalName, type Json } from './tetragon-json.js';

export interface Disagreement {
  time: string;
  policy: string;
  hook: string;
  pid: number;
  binary: string;
  kernel: { selector: number | null; actions: string[]; skipped: string[]; mode: string };
  evaluator: { selector: number; actions: string[]; enforced: boolean } | null;
  args: unknown[];
}

export interface DifferentialStats {
  /** hook records checked against the evaluator */
  checked: number;
  agreed: number;
  disagreed: number;
  /** the last disagreements (at most 20) */
  samples: Disagreement[];
}

export interface PipelineStats {
  records: number;
  execs: number;
  exits: number;
  hooks: number;
  emitted: number;
  /** hook records of a policy the agent does not know (just unloaded) */
  unknownPolicy: number;
  subscribers: number;
  /** CEL filter evaluations that failed on an event (no match), or ran past CEL_BUDGET_MS (no match) */
  celErrors: number;
  celOverBudget: number;
}

/** how long a tcp_connect event waits for its source port record (a lost record) */
export const PORT_WAIT_MS = 1000;

/** a subscription's CEL counters, summed into the pipeline's stats */
class CelCounter implements CelStats {
  constructor(private readonly s: PipelineStats) {}
  get errors(): number {
    return this.s.celErrors;
  }
  set errors(n: number) {
    this.s.celErrors = n;
  }
  get overBudget(): number {
    return this.s.celOverBudget;
  }
  set overBudget(n: number) {
    this.s.celOverBudget = n;
  }
}

interface Sub {
  pass: (ev: Json) => boolean;
  cb: (ev: Json) => void;
}

/** Tetragon's --enable-process-cred, --enable-process-ns, --enable-ancestors (event kinds: base, kprobe, tracepoint, uprobe, lsm, usdt) */
export interface ProcessDetail {
  cred?: boolean;
  ns?: boolean;
  ancestors?: string[];
}

interface ProcessMemo {
  /** what processJson read: pod, parent exec id, tid, binary, flags, cap, ns, credentials */
  key: unknown[];
  json: Json;
}

/** ancestors stop here: deep enough for any real process tree, bounded for a looping cache */
const MAX_ANCESTORS = 64;

export class EventPipeline {
  /** what events carry beyond Tetragon's defaults */
  detail: ProcessDetail = {};
  /** exec records whose process was gone before its credentials or namespaces could be read */
  identityMissed = 0;
  readonly stats: PipelineStats = { records: 0, execs: 0, exits: 0, hooks: 0, emitted: 0, unknownPolicy: 0, subscribers: 0, celErrors: 0, celOverBudget: 0 };
  readonly differential: DifferentialStats = { checked: 0, agreed: 0, disagreed: 0, samples: [] };
  private subs = new Map<number, Sub>();
  private nextSub = 1;
  private sinks: ((ev: Json) => void)[] = [];
  /** the last `process` object made of each cache entry, and what it was made of */
  private processMemo = new WeakMap<ProcEntry, ProcessMemo>();
  /** file permissions looked up for the records of the current ring-buffer batch */
  private permissions = new Map<string, string>();
  private readonly permission = (path: string): string => {
    let v = this.permissions.get(path);
    if (v === undefined) this.permissions.set(path, (v = permissionString(path)));
    return v;
  };
  /** tcp_connect events waiting for their source port, by socket cookie */
  private portWait = new Map<bigint, { events: { ev: Json; sock: Json }[]; timer: ReturnType<typeof setTimeout> }>();

  constructor(
    readonly node: string,
    readonly procs: ProcessCache,
    private readonly pods: PodRegistry,
    private readonly policies: PolicyManager,
  ) {}

  /** Adds a subscriber; returns its id. Throws on an invalid filter. */
  subscribe(filter: FilterSet, cb: (ev: Json) => void): number {
    const id = this.nextSub++;
    const cel = new CelCounter(this.stats);
    this.subs.set(id, { pass: compileFilterSet(filter, { cel: (x) => compileCel(x, cel) }), cb });
    this.stats.subscribers = this.subs.size;
    return id;
  }

  unsubscribe(id: number): boolean {
    const had = this.subs.delete(id);
    this.stats.subscribers = this.subs.size;
    return had;
  }

  /** Gets every event, unfiltered (export file). */
  addSink(fn: (ev: Json) => void): void {
    this.sinks.push(fn);
  }

  handle(recs: TlnRecord[]): void {
    // a file's permission is read once per batch (a batch spans milliseconds; the lstat was a
    // tenth of the agent's time per event when every read of one file was an event)
    this.permissions.clear();
    for (const r of recs) {
      this.stats.records++;
      try {
        if (r.type === 'sock') {
          this.portFollowup(r);
          continue;
        }
        const ev = r.type === 'exec' ? this.exec(r) : r.type === 'exit' ? this.exit(r) : this.hook(r);
        if (ev && !(r.type === 'hook' && this.waitForPort(r, ev))) this.emit(ev);
      } catch (e) {
        // one bad record must not stop the pipeline
        process.emitWarning(`talon agent: record ${r.type}: ${(e as Error).message}`);
      }
    }
  }

  /**
   * A tcp_connect event of cgroup/connect4|6 is seen before the kernel picks the source port: it
   * waits (keyed by the socket cookie) for the TLN_REC_SOCK record that tcp_connect() sends once
   * the port is chosen, or that says none will be (refused, or failed before the SYN), at most
   * PORT_WAIT_MS (a lost record), then goes out as it is.
   */
  private waitForPort(r: HookRecord, ev: Json): boolean {
    if (r.sensor !== 'tln_cgroup_sock' || !r.cookie) return false;
    const body = Object.values(ev).find((v) => v && typeof v === 'object' && 'args' in (v as Json)) as Json | undefined;
    const args = (body?.args ?? []) as Json[];
    const i = args.findIndex((a) => a && typeof a === 'object' && 'sock_arg' in a);
    if (i < 0) return false;
    const w = this.portWait.get(r.cookie);
    if (w) {
      w.events.push({ ev, sock: args[i].sock_arg as Json });
      return true;
    }
    const timer = setTimeout(() => this.releasePort(r.cookie!), PORT_WAIT_MS);
    timer.unref?.();
    this.portWait.set(r.cookie, { events: [{ ev, sock: args[i].sock_arg as Json }], timer });
    return true;
  }

  private portFollowup(r: SockRecord): void {
    const w = this.portWait.get(r.cookie);
    if (!w) return;
    if (!r.noPort) {
      for (const e of w.events) {
        e.sock.sport = r.sport;
        if (r.saddr) e.sock.saddr = r.saddr;
      }
    }
    this.releasePort(r.cookie);
  }

  private releasePort(cookie: bigint): void {
    const w = this.portWait.get(cookie);
    if (!w) return;
    this.portWait.delete(cookie);
    clearTimeout(w.timer);
    for (const e of w.events) this.emit(e.ev);
  }

  private emit(ev: Json): void {
    this.stats.emitted++;
    for (const s of this.sinks) s(ev);
    for (const s of this.subs.values()) if (s.pass(ev)) s.cb(ev);
  }

  private time(ktime: bigint): string {
    return isoFromKtime(ktime, this.procs.offsetNs);
  }

  private cgroupOf(id: bigint): string {
    return id.toString();
  }

  private processOf(e: ProcEntry, tid?: number): Json {
    const pod = e.cgroupId ? this.pods.byCgroupId(e.cgroupId) : undefined;
    const parent = e.image?.execId ?? e.parentExecId ?? this.procs.get(e.ppid)?.execId;
    const t = tid ?? e.pid;
    // a process's events share its `process` object while nothing it is made of changed
    const key = [pod, parent, t, e.binary, e.flags, e.cap, e.ns, e.processCredentials];
    const m = this.processMemo.get(e);
    if (m && m.key.every((v, i) => v === key[i])) return m.json;
    const json = Object.freeze(processJson(e, pod, parent, t));
    this.processMemo.set(e, { key, json });
    return json;
  }

  private parentOf(e: ProcEntry): Json | undefined {
    const parent = e.image ?? this.procs.get(e.ppid);
    return parent ? this.processOf(parent) : undefined;
  }

  private exec(r: ExecRecord): Json | null {
    // an exec in place (`bash -c '/usr/bin/true x'` execs without forking): the pid has an image
    // that did not exit (the ring buffer delivers a task's exit before any reuse of its pid). Tetragon shows the previous image as the parent and
    // no clone flag (its recorded events: the curl of `bash -c curl` has bash, same pid, as parent)
    const prev = r.procfs ? undefined : this.procs.get(r.pid);
    const inPlace = prev !== undefined && prev.exitedAt === undefined;
    const flags = [r.procfs ? 'procFS' : 'execve', r.cwd === '/' ? 'rootcwd' : '', r.procfs || inPlace ? '' : 'clone', r.flags & 0x04 ? 'truncArgs' : '']
      .filter(Boolean)
      .join(' ');
    const e = this.procs.exec({
      pid: r.pid,
      ppid: r.ppid,
      uid: r.uid,
      cwd: r.cwd,
      binary: r.binary,
      args: r.args.slice(1),
      ktime: r.procfs && r.startKtime ? r.startKtime : r.ktime,
      cgroupId: this.cgroupOf(r.cgroupId),
      flags,
      ...(inPlace ? { image: prev } : {}),
    });
    this.identify(e, r);
    if (r.procfs) return null; // found in /proc at start: cached, no event (as Tetragon)
    this.stats.execs++;
    const body: Json = { process: this.processOf(e), ...opt('parent', this.parentOf(e)), ...this.ancestorsOf(e, 'base') };
    const ev: Json = { process_exec: body, node_name: this.node, time: this.time(r.ktime) };
    return ev;
  }

  /**
   * --enable-process-cred / --enable-process-ns, kept with the entry: what the kernel read at
   * the exec, or for a process found in /proc at start what /proc says of it now
   */
  private identify(e: ProcEntry, r: ExecRecord): void {
    if (this.detail.cred) {
      const c = r.cred ? credentialsJson(r.cred) : readCredentials(e.pid);
      if (c) {
        e.cap = c.cap;
        e.processCredentials = c.process_credentials;
      } else this.identityMissed++;
    }
    if (this.detail.ns) {
      const n = r.ns ? namespacesJson(r.ns) : readNamespaces(e.pid);
      if (n) e.ns = n;
      else if (!this.detail.cred) this.identityMissed++;
    }
  }

  /** Tetragon's `ancestors`: the parent's parent and up, for the event kinds --enable-ancestors names */
  private ancestorsOf(e: ProcEntry, kind: string): Json {
    if (!this.detail.ancestors?.includes(kind)) return {};
    const out: Json[] = [];
    const seen = new Set<ProcEntry>();
    const up = (x: ProcEntry | undefined) => (x ? (x.image ?? this.procs.get(x.ppid)) : undefined);
    for (let p = up(up(e)); p && !seen.has(p) && out.length < MAX_ANCESTORS; p = up(p)) {
      seen.add(p);
      out.push(this.processOf(p));
      if (p.pid <= 1) break;
    }
    return out.length ? { ancestors: out } : {};
  }

  /** a process the cache never saw exec (older than the agent, or its exec record lost): cached from the record, flagged "miss" */
  private missed(r: ExitRecord | HookRecord): ProcEntry {
    return this.procs.exec({
      pid: r.pid,
      ppid: r.ppid,
      uid: r.uid,
      cwd: '',
      binary: r.binary,
      args: [],
      ktime: r.startKtime,
      cgroupId: this.cgroupOf(r.cgroupId),
      flags: 'miss',
    });
  }

  private exit(r: ExitRecord): Json | null {
    this.stats.exits++;
    const e = this.procs.get(r.pid) ?? this.missed(r);
    // the pod as it is now: the cgroup the process died in
    if (!e.cgroupId || e.cgroupId === '0') e.cgroupId = this.cgroupOf(r.cgroupId);
    const time = this.time(r.ktime);
    const body: Json = { process: this.processOf(e), ...opt('parent', this.parentOf(e)), ...this.ancestorsOf(e, 'base') };
    if (r.signal) body.signal = signalName(r.signal);
    if (r.status) body.status = r.status;
    body.time = time;
    this.procs.exit(r.pid);
    return { process_exit: body, node_name: this.node, time };
  }

  private hook(r: HookRecord): Json | null {
    this.stats.hooks++;
    const p = this.policies.byId(r.policyId);
    if (!p) {
      this.stats.unknownPolicy++;
      return null;
    }
    const hook = p.spec.hooks.find((h) => h.slot === r.slot) ?? p.spec.hooks[r.slot];
    // a list hook's record names the list value its instance serves: the function that ran
    const lm = hook ? listMember(hook, r.member) : undefined;
    const name = lm?.call ?? hook?.name ?? `hook#${r.hookId}`;
    const e = this.procs.lookup(r.pid) ?? this.missed(r);
    if (r.binary && e.binary !== r.binary && e.flags.includes('procFS')) e.binary = r.binary;
    e.cgroupId = this.cgroupOf(r.cgroupId);
    const kind = hook?.kind ?? 'kprobe';
    const time = this.time(r.ktime);

    // the core decodes the record's bytes and decides policy, selector and action;
    // the kernel's record is checked against it
    const pod = e.cgroupId ? this.pods.byCgroupId(e.cgroupId) : undefined;
    const ctx: HookContext = { timeNs: r.ktime + this.procs.offsetNs, pid: e.pid, binary: e.binary, hook: name, pod: pod ? podInfo(pod) : null };
    const raw = r.raw ?? encodeHook(r, hook?.args?.map((a) => a.type) ?? []);
    const res = this.policies.evaluateHookRecordFor(p, raw, ctx);
    const values: EvalArg[] = res ? res.args : r.args;
    const matches = res ? res.matches : this.policies.evaluateFor(p, evalEventOf(kind, r, ctx, values));

    // nop arguments are declared positions only: Tetragon leaves them out of the event
    const args = values.flatMap((a, i) => (hook?.args?.[i]?.type === G.TLN_ARG_NOP ? [] : [argJson(a, hook?.args?.[i]?.type, this.permission)]));
    // the socket cookie (a uint64: a string in protojson), where Tetragon puts it: before state
    if (r.cookie)
      for (const [i, a] of args.entries()) {
        if (!a || typeof a !== 'object' || !('sock_arg' in a)) continue;
        const { state, ...rest } = (a as Json).sock_arg as Json;
        args[i] = { sock_arg: { ...rest, cookie: String(r.cookie), ...opt('state', state) } };
      }
    // return: true hooks: the value the kernel read at the function's (syscall's) exit, typed as returnArg
    const ret = hook?.return && res?.ret && res.ret.kind !== 'none' ? argJson(res.ret, returnType(raw), this.permission) : undefined;
    const body: Json = { process: this.processOf(e, r.tid), ...opt('parent', this.parentOf(e)) };
    if (kind === 'tracepoint') {
      const [subsys, event] = name.split('/');
      Object.assign(body, { subsys, event, args });
    } else if (kind === 'uprobe') {
      const i = name.lastIndexOf(':');
      Object.assign(body, { path: name.slice(0, i), symbol: name.slice(i + 1), args });
    } else if (kind === 'usdt') {
      // Tetragon's ProcessUsdt: path, provider, name ("path:provider:name")
      const u = hook?.spec?.usdt;
      Object.assign(body, { path: u?.path ?? '', provider: u?.provider ?? '', name: u?.name ?? '', args });
    } else {
      // a syscall hook is named as Tetragon attaches it: the arch's entry point
      const sys = lm ? lm.syscall : hook?.spec?.syscall;
      Object.assign(body, { function_name: sys ? syscallSymbol(sys) : (lm?.call ?? name), args });
    }
    if (ret) body.return = ret;
    body.policy_name = p.spec.name;
    if (hook?.message) body.message = hook.message;
    if (hook?.tags?.length) body.tags = hook.tags;
    // Tetragon's event kinds: fentries are kprobes to it, LSM hooks process_lsm
    const key = kind === 'lsmhook' ? 'process_lsm' : kind === 'fentry' ? 'process_kprobe' : `process_${kind}`;
    const ev: Json = { [key]: body, node_name: this.node, time };

    const m = matchFor(matches, r.selector, r.slot);
    const done = m ? m.actions : [...r.actions, ...r.skipped];
    // Tetragon: `action` from matchActions, `return_action` from matchReturnActions (return probes)
    const retActs = ret ? returnActionNames(hook?.spec?.spec, m ? m.selector : r.selector) : [];
    const entryActs = ret ? matchActionNames(hook?.spec?.spec, m ? m.selector : r.selector) : [];
    body.action = actionOf(done.filter((a) => !retActs.includes(a) || entryActs.includes(a)));
    // return_action is a kprobe event field (Tetragon's ProcessKprobe)
    if (ret && kind !== 'uprobe') body.return_action = actionOf(done.filter((a) => retActs.includes(a)));
    Object.assign(body, this.ancestorsOf(e, kind));
    this.check(p, r, m, name, time, args);
    return ev;
  }

  /** Differential check: the kernel's selector and actions against the evaluator's verdict. */
  private check(p: AgentPolicy, r: HookRecord, m: Match | undefined, hook: string, time: string, args: unknown[]): void {
    const d = this.differential;
    d.checked++;
    const kernelAll = enforcementActions([...r.actions, ...r.skipped]);
    const kernelDone = enforcementActions(r.actions).length > 0;
    const ok =
      m !== undefined && (r.selector === null || m.selector === r.selector) && sameList(enforcementActions(m.actions), kernelAll) && m.enforced === kernelDone;
    if (ok) {
      d.agreed++;
      return;
    }
    d.disagreed++;
    d.samples.push({
      time,
      policy: p.spec.namespace ? `${p.spec.namespace}/${p.spec.name}` : p.spec.name,
      hook,
      pid: r.pid,
      binary: r.binary,
      kernel: { selector: r.selector, actions: r.actions, skipped: r.skipped, mode: r.mode },
      evaluator: m ? { selector: m.selector, actions: m.actions, enforced: m.enforced } : null,
      args,
    });
    if (d.samples.length > 20) d.samples.shift();
  }
}

/** the event of a record for an evaluator without the core's record path (test doubles) */
function evalEventOf(kind: EvalEvent['kind'], r: HookRecord, ctx: HookContext, args: EvalArg[]): EvalEvent {
  return { kind, hook: ctx.hook, timeNs: ctx.timeNs, pid: ctx.pid, tid: r.tid, binary: ctx.binary, pod: ctx.pod, args };
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function opt(key: string, v: unknown): Json {
  return v === undefined ? {} : { [key]: v };
}

/** the kernel's entry point of a syscall on this arch, as Tetragon names kprobes with syscall: true */
export function syscallSymbol(syscall: string): string {
  const prefix = process.arch === 'arm64' ? '__arm64_sys_' : process.arch === 'x64' ? '__x64_sys_' : 'sys_';
  return prefix + syscall;
}

/** returnArg's enum tln_arg_type as the kernel wrote it in the record (struct tln_hook_rec.ret) */
function returnType(raw: Uint8Array): number | undefined {
  const at = G.tln_hook_rec.ret + G.tln_rec_arg.type;
  return raw.length > at ? raw[at] : undefined;
}

/** the action names of a selector's list `key` in the hook as written (the spec record) */
function selectorActionNames(doc: Record<string, unknown> | undefined, selector: number | null, key: string): string[] {
  const sels = doc?.selectors;
  if (selector === null || !Array.isArray(sels)) return [];
  const list = (sels[selector] as Record<string, unknown> | undefined)?.[key];
  if (!Array.isArray(list)) return [];
  return list.map((a) => String((a as Record<string, unknown>)?.action ?? '')).map((n) => ACTION_SPELLING[n.toLowerCase()] ?? n);
}

const ACTION_SPELLING: Record<string, string> = { post: 'Post', nopost: 'NoPost', sigkill: 'Sigkill', signal: 'Signal', override: 'Override' };

function returnActionNames(doc: Record<string, unknown> | undefined, selector: number | null): string[] {
  return selectorActionNames(doc, selector, 'matchReturnActions');
}

function matchActionNames(doc: Record<string, unknown> | undefined, selector: number | null): string[] {
  return selectorActionNames(doc, selector, 'matchActions');
}
