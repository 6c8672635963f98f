// The agent's event pipeline: ring-buffer records -> process cache -> the Wasm
// core, which decodes a hook record's bytes and evaluates them (policy,
// selector, action; differential check against the kernel) -> Tetragon-shaped
// JSON (with pod metadata, the arguments as the core decoded them) -> subscribers.
import { encodeHook, type ExecRecord, type ExitRecord, type HookRecord, type TlnRecord } from '../kernel/records.js';
import { compileFilterSet, type FilterSet } from '../events/filter.js';
import type { EvalArg, EvalEvent, HookContext, Match } from '../core/types.js';
import { podInfo } from '../pods/pod.js';
import type { PodRegistry } from '../pods/registry.js';
import type { PolicyManager, AgentPolicy } from './policies.js';
import { isoFromKtime, ProcessCache, type ProcEntry } from './process-cache.js';
import { actionOf, argJson, enforcementActions, matchFor, processJson, signalName, type Json } from './tetragon-json.js';

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
}

interface Sub {
  pass: (ev: Json) => boolean;
  cb: (ev: Json) => void;
}

export class EventPipeline {
  readonly stats: PipelineStats = { records: 0, execs: 0, exits: 0, hooks: 0, emitted: 0, unknownPolicy: 0, subscribers: 0 };
  readonly differential: DifferentialStats = { checked: 0, agreed: 0, disagreed: 0, samples: [] };
  private subs = new Map<number, Sub>();
  private nextSub = 1;
  private sinks: ((ev: Json) => void)[] = [];

  constructor(
    readonly node: string,
    readonly procs: ProcessCache,
    private readonly pods: PodRegistry,
    private readonly policies: PolicyManager,
  ) {}

  /** Adds a subscriber; returns its id. Throws on an invalid filter. */
  subscribe(filter: FilterSet, cb: (ev: Json) => void): number {
    const id = this.nextSub++;
    this.subs.set(id, { pass: compileFilterSet(filter), cb });
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
    for (const r of recs) {
      this.stats.records++;
      try {
        const ev = r.type === 'exec' ? this.exec(r) : r.type === 'exit' ? this.exit(r) : this.hook(r);
        if (ev) this.emit(ev);
      } catch (e) {
        // one bad record must not stop the pipeline
        process.emitWarning(`talon agent: record ${r.type}: ${(e as Error).message}`);
      }
    }
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
    const parent = this.procs.get(e.ppid);
    return processJson(e, pod, parent?.execId, tid);
  }

  private parentOf(e: ProcEntry): Json | undefined {
    const parent = this.procs.get(e.ppid);
    return parent ? this.processOf(parent) : undefined;
  }

  private exec(r: ExecRecord): Json | null {
    const flags = [r.procfs ? 'procFS' : 'execve', r.cwd === '/' ? 'rootcwd' : '', r.procfs ? '' : 'clone', r.flags & 0x04 ? 'truncArgs' : '']
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
    });
    if (r.procfs) return null; // found in /proc at start: cached, no event (as Tetragon)
    this.stats.execs++;
    const ev: Json = { process_exec: { process: this.processOf(e), ...opt('parent', this.parentOf(e)) }, node_name: this.node, time: this.time(r.ktime) };
    return ev;
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
    const body: Json = { process: this.processOf(e), ...opt('parent', this.parentOf(e)) };
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
    const name = hook?.name ?? `hook#${r.hookId}`;
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

    const args = values.map((a, i) => argJson(a, hook?.args?.[i]?.type));
    const body: Json = { process: this.processOf(e, r.tid), ...opt('parent', this.parentOf(e)) };
    if (kind === 'tracepoint') {
      const [subsys, event] = name.split('/');
      Object.assign(body, { subsys, event, args });
    } else if (kind === 'uprobe') {
      const i = name.lastIndexOf(':');
      Object.assign(body, { path: name.slice(0, i), symbol: name.slice(i + 1), args });
    } else {
      Object.assign(body, { function_name: name, args });
    }
    body.policy_name = p.spec.name;
    if (hook?.message) body.message = hook.message;
    if (hook?.tags?.length) body.tags = hook.tags;
    const ev: Json = { [`process_${kind}`]: body, node_name: this.node, time };

    const m = matchFor(matches, r.selector, r.slot);
    body.action = actionOf(m ? m.actions : [...r.actions, ...r.skipped]);
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
