// The agent's policies: compiled by the Wasm core (through src/policy, so
// diagnostics read exactly like `talon compile`), loaded into the kernel one
// policy at a time, scoped to pods by the core's podMatches, and persisted
// when they came through the API.
import { fastEvaluate, type Evaluate, type RecordEvaluator } from '../events/dryrun.js';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { EffectiveMode, EvalArg, HookContext, Match, Mode, PolicySpec } from '../core/types.js';
import { checkPolicies, formatDiagnostic, type PolicyDiagnostic } from '../policy/index.js';
import { CompileBudgetError, type Compiler } from './compiler.js';
import { ApiError } from '../api/protocol.js';
import { podInfo, type Pod } from '../pods/pod.js';
import type { PodChange, PodRegistry } from '../pods/registry.js';
import type { CorePort, EvaluatorPort, KernelPort, LoadedPolicyPort, PolicyCounters, ProgramStat } from './ports.js';
import { typeAutoArgs } from '../kernel/tracefs.js';

export type { Domain } from '../api/protocol.js';
import type { Domain } from '../api/protocol.js';

/** One source (a YAML file or an API request): one image, one evaluator, its policies. */
interface Unit {
  seq: number;
  domain: Domain;
  file: string;
  namespace: string;
  mode?: Mode;
  text: string;
  image: Uint8Array;
  evaluator: EvaluatorPort;
  policies: AgentPolicy[];
  /** names deleted from a multi-policy API source, persisted */
  deleted: string[];
  /** run-time modes set with set-mode, by qualified name, persisted */
  modes: Record<string, Mode>;
  /** qualified names disabled with `tp disable`, persisted */
  disabled: string[];
}

/** Tetragon's TracingPolicyState names (lower case, `tp_state_` stripped) that talon uses. */
export type { PolicyState } from '../api/protocol.js';
import type { PolicyState } from '../api/protocol.js';

export interface AgentPolicy {
  /** agent-assigned id, handed to the kernel programs; never reused while the agent runs */
  id: number;
  unit: Unit;
  /** index of the policy in its image */
  index: number;
  spec: PolicySpec;
  mode: EffectiveMode;
  loaded: LoadedPolicyPort | null;
  state: PolicyState;
  /** why it is in load_error or error */
  error?: string;
  /** the kind of load error (PolicyStatus.errorKind) */
  errorKind?: PolicyStatus['errorKind'];
  /** the end of the verifier log of a failed load, when there was one */
  verifierLog?: string;
  /** load-time warnings: what loads but differs from what the policy asks */
  warnings?: string[];
  /** the sensors of its last load (still shown while it is disabled) */
  sensors: string[];
  /** cgroup id -> "ns/name" of the pods currently in the policy's filter */
  cgroups: Map<string, string>;
  /** the own cgroups (ids) of those pods whose new containers take the policy from their start */
  inherit: Set<string>;
}

/** What `policy.list` reports per policy (JSON over the API). */
// the shape the APIs serve lives with the API contract (src/api/protocol.ts)
export type { PolicyStatus, SelectorStatus } from '../api/protocol.js';
import type { PolicyStatus, SelectorStatus } from '../api/protocol.js';

interface Persisted {
  seq: number;
  file: string;
  namespace: string;
  mode?: Mode;
  text: string;
  deleted: string[];
  modes?: Record<string, Mode>;
  disabled?: string[];
}

const ZERO: PolicyCounters = { post: 0, enforce: 0, monitor: 0, nopost: 0 };

export class PolicyManager {
  private units: Unit[] = [];
  private nextId = 1;
  private nextSeq = 1;
  private queue: Promise<unknown> = Promise.resolve();
  /** compiles off this thread with budgets (the agent sets it for the real core); null: in-line */
  compiler: Compiler | null = null;

  constructor(
    private readonly core: CorePort,
    private readonly kernel: KernelPort | null,
    private readonly pods: PodRegistry,
    private readonly stateDir: string,
    private readonly log: (msg: string) => void,
  ) {}

  private get apiDir(): string {
    return join(this.stateDir, 'policies');
  }

  all(): AgentPolicy[] {
    return this.units.flatMap((u) => u.policies);
  }

  byId(id: number): AgentPolicy | undefined {
    for (const u of this.units) for (const p of u.policies) if (p.id === id) return p;
    return undefined;
  }

  /** Compiles and loads a source. Throws ApiError('invalid') with the diagnostics when it does not compile. */
  add(src: { text: string; file: string; namespace: string; mode?: Mode; domain: Domain }): Promise<{ policies: AgentPolicy[]; warnings: string[] }> {
    return this.serial(() => this.addNow(src, null));
  }

  private async addNow(
    src: { text: string; file: string; namespace: string; mode?: Mode; domain: Domain },
    persisted: Persisted | null,
  ): Promise<{ policies: AgentPolicy[]; warnings: string[] }> {
    const inputs = [{ name: src.file, text: src.text }];
    const copts = { defaultNamespace: src.namespace, mode: src.mode };
    let check: { image: Uint8Array | null; diagnostics: PolicyDiagnostic[]; errors: number };
    try {
      check = this.compiler
        ? await this.compiler.check(inputs, copts)
        : checkPolicies(inputs, copts, (docs, opts) => this.core.compile(docs, opts), { typeAuto: typeAutoArgs });
    } catch (e) {
      if (e instanceof CompileBudgetError) throw new ApiError('invalid', '1 error in 1 file', [`${src.file}:1:1: ${e.message.slice(src.file.length + 2)}`]);
      throw e;
    }
    const rendered = check.diagnostics.map(formatDiagnostic);
    if (check.errors > 0 || check.image === null) {
      const n = check.errors;
      throw new ApiError('invalid', `${n} ${n === 1 ? 'error' : 'errors'} in 1 file`, rendered);
    }
    const warnings = check.diagnostics.filter((d) => d.severity === 'warning').map(formatDiagnostic);
    const image = check.image;
    const deleted = persisted?.deleted ?? [];
    const specs = this.core.inspectImage(image).filter((s) => !deleted.includes(qualified(s)));
    if (specs.length === 0) throw new ApiError('invalid', `${src.file}: no policy in it`);
    for (const s of specs) {
      const clash = this.all().find((p) => p.spec.name === s.name && p.spec.namespace === s.namespace);
      if (clash) {
        throw new ApiError('exists', `tracing policy ${qualified(s)} already exists (${clash.unit.domain}, from ${clash.unit.file}); delete it first`);
      }
    }
    const unit: Unit = {
      seq: persisted?.seq ?? this.nextSeq++,
      domain: src.domain,
      file: src.file,
      namespace: src.namespace,
      mode: src.mode,
      text: src.text,
      image,
      evaluator: this.core.newEvaluator(image),
      policies: [],
      deleted: [...deleted],
      modes: { ...(persisted?.modes ?? {}) },
      disabled: [...(persisted?.disabled ?? [])],
    };
    if (persisted) this.nextSeq = Math.max(this.nextSeq, persisted.seq + 1);
    for (const spec of specs) {
      const p: AgentPolicy = {
        id: this.nextId++,
        unit,
        index: spec.index,
        spec,
        mode: spec.mode,
        loaded: null,
        state: 'disabled',
        sensors: [],
        cgroups: new Map(),
        inherit: new Set(),
      };
      unit.policies.push(p);
      // the run-time mode of an earlier run (set-mode), decided by the core again
      const m = unit.modes[qualified(spec)];
      if (m) {
        const r = unit.evaluator.setRuntimeMode(p.index, m);
        if (r.ok) p.mode = r.mode;
        else this.log(`${qualified(spec)}: run-time mode ${m} not restored: ${r.error}`);
      }
      if (unit.disabled.includes(qualified(spec))) {
        p.sensors = this.kernel?.sensorsFor?.(spec) ?? [];
        continue;
      }
      await this.load(p);
    }
    this.units.push(unit);
    if (src.domain === 'api' && !persisted) await this.persist(unit);
    const failed = unit.policies.filter((p) => p.state === 'load_error');
    for (const p of failed) this.log(`${qualified(p.spec)}: load_error: ${p.error}`);
    if (failed.length && !persisted) {
      const why = failed.map((p) => `${qualified(p.spec)}: ${p.error}${p.verifierLog ? `\nverifier log (end):\n${p.verifierLog}` : ''}`).join('\n');
      const kept = `kept with state load_error: fix the cause and run "talon tp enable", or "talon tp delete"`;
      throw new ApiError('failed', `cannot load ${why}\n(${kept})`);
    }
    return { policies: unit.policies, warnings };
  }

  /** Loads a policy's programs (state enabled) or records why it cannot be (state load_error). */
  private async load(p: AgentPolicy): Promise<void> {
    p.error = undefined;
    p.errorKind = undefined;
    p.verifierLog = undefined;
    p.cgroups = new Map();
    p.inherit = new Set();
    if (!this.kernel) {
      p.state = 'enabled';
      this.rescope(p);
      return;
    }
    try {
      p.loaded = await this.kernel.loadPolicy(p.unit.image, p.spec, p.id);
      p.sensors = [...p.loaded.sensors];
      p.warnings = this.kernel.loadWarnings?.(p.spec) ?? [];
      for (const w of p.warnings) this.log(`${qualified(p.spec)}: warning: ${w}`);
      // the image holds the load-time mode; a run-time mode (set-mode) is written over it
      if (p.mode !== p.spec.mode && p.mode !== 'monitor_only') p.loaded.setMode(p.mode);
      this.rescope(p);
      p.state = 'enabled';
    } catch (e) {
      const l = p.loaded;
      p.loaded = null;
      p.cgroups = new Map();
      p.inherit = new Set();
      try {
        await l?.unload();
      } catch {
        /* already failing */
      }
      p.state = 'load_error';
      p.error = (e as Error).message;
      const kind = (e as { kind?: unknown }).kind;
      p.errorKind = kind === 'unsupported' || kind === 'limit' || kind === 'kernel' ? kind : 'other';
      const log = (e as { log?: unknown }).log;
      if (typeof log === 'string' && log.trim() !== '') p.verifierLog = logExcerpt(log);
    }
  }

  /** Deletes one policy; its source is forgotten when it has no policy left. */
  delete(name: string, namespace?: string): Promise<AgentPolicy> {
    return this.serial(async () => {
      const p = this.find(name, namespace);
      const u = p.unit;
      await this.unloadPolicy(p);
      u.policies = u.policies.filter((x) => x !== p);
      if (u.policies.length === 0) {
        this.units = this.units.filter((x) => x !== u);
        if (u.domain === 'api') await fsp.rm(join(this.apiDir, `${u.seq}.json`), { force: true });
      } else if (u.domain === 'api') {
        u.deleted.push(qualified(p.spec));
        await this.persist(u);
      }
      return p;
    });
  }

  /** `tp disable`: programs unloaded, the policy stays listed (state disabled). */
  disable(name: string, namespace?: string): Promise<AgentPolicy> {
    return this.serial(async () => {
      const p = this.find(name, namespace);
      if (p.state === 'disabled') throw new ApiError('invalid', `tracing policy ${qualified(p.spec)} is already disabled`);
      await this.unloadPolicy(p);
      p.state = 'disabled';
      p.error = undefined;
      p.errorKind = undefined;
      p.verifierLog = undefined;
      const q = qualified(p.spec);
      if (!p.unit.disabled.includes(q)) p.unit.disabled.push(q);
      if (p.unit.domain === 'api') await this.persist(p.unit);
      return p;
    });
  }

  /** `tp enable`: loads the programs again (also retries a policy in load_error). */
  enable(name: string, namespace?: string): Promise<AgentPolicy> {
    return this.serial(async () => {
      const p = this.find(name, namespace);
      if (p.state === 'enabled') throw new ApiError('invalid', `tracing policy ${qualified(p.spec)} is already enabled`);
      await this.unloadPolicy(p);
      await this.load(p);
      const q = qualified(p.spec);
      p.unit.disabled = p.unit.disabled.filter((x) => x !== q);
      if (p.unit.domain === 'api') await this.persist(p.unit);
      if ((p.state as PolicyState) !== 'enabled') {
        throw new ApiError('failed', `cannot load ${q}: ${p.error}${p.verifierLog ? `\nverifier log (end):\n${p.verifierLog}` : ''}`);
      }
      return p;
    });
  }

  /** Run-time mode change: the core decides whether it is allowed, the kernel applies it in place. */
  setMode(name: string, namespace: string | undefined, mode: Mode): Promise<AgentPolicy> {
    return this.serial(async () => {
      const p = this.find(name, namespace);
      this.applyMode(p, mode);
      p.unit.modes[qualified(p.spec)] = mode;
      if (p.unit.domain === 'api') await this.persist(p.unit);
      return p;
    });
  }

  private applyMode(p: AgentPolicy, mode: Mode): void {
    const r = p.unit.evaluator.setRuntimeMode(p.index, mode);
    if (!r.ok) throw new ApiError('invalid', r.error);
    // a disabled policy keeps the mode for its next load
    if (r.mode !== 'monitor_only') p.loaded?.setMode(r.mode);
    p.mode = r.mode;
  }

  /** Finds a policy by name; the namespace picks among same-named ones. */
  find(name: string, namespace?: string): AgentPolicy {
    const all = this.all().filter(
      (p) => p.spec.name === name && (namespace === undefined || p.spec.namespace === namespace || (namespace === '' && p.spec.namespace === null)),
    );
    if (all.length === 0) throw new ApiError('not_found', `tracing policy ${namespace ? `${namespace}/` : ''}${name} not found`);
    if (all.length > 1) throw new ApiError('invalid', `${all.length} tracing policies are named ${name}: pick one with -n <namespace>`);
    return all[0];
  }

  /**
   * Loads every *.yaml / *.yml file under a directory, recursively as Tetragon reads its
   * tracing policy directory (domain static); a file's problems are logged, not fatal.
   */
  async loadDir(dir: string, namespace = 'default'): Promise<number> {
    let names: string[];
    try {
      names = (await fsp.readdir(dir, { recursive: true, withFileTypes: true }))
        .filter((d) => d.isFile() && /\.ya?ml$/.test(d.name))
        .map((d) => join(d.parentPath ?? (d as unknown as { path: string }).path, d.name))
        .sort();
    } catch (e) {
      throw new Error(`policy dir ${dir}: ${(e as Error).message}`);
    }
    let n = 0;
    for (const file of names) n += await this.loadFile(file, namespace, false);
    return n;
  }

  /** Loads one policy file (domain static). `strict`: a problem is an error (--tracing-policy), else it is logged. */
  async loadFile(file: string, namespace = 'default', strict = true): Promise<number> {
    try {
      const text = await fsp.readFile(file, 'utf8');
      const r = await this.add({ text, file, namespace, domain: 'static' });
      for (const w of r.warnings) this.log(w);
      this.log(`loaded ${r.policies.map((p) => qualified(p.spec)).join(', ')} from ${file}`);
      return r.policies.length;
    } catch (e) {
      const diags = e instanceof ApiError ? (e.diagnostics ?? []) : [];
      if (strict) throw new Error([`cannot load ${file}: ${(e as Error).message}`, ...diags].join('\n'));
      for (const d of diags) this.log(d);
      this.log(`cannot load ${file}: ${(e as Error).message}`);
      return 0;
    }
  }

  /** Loads the API policies persisted by an earlier run. */
  async loadPersisted(): Promise<number> {
    let names: string[] = [];
    try {
      names = (await fsp.readdir(this.apiDir)).filter((n) => /^\d+\.json$/.test(n));
    } catch {
      return 0;
    }
    names.sort((a, b) => parseInt(a) - parseInt(b));
    let n = 0;
    for (const name of names) {
      try {
        const saved = JSON.parse(await fsp.readFile(join(this.apiDir, name), 'utf8')) as Persisted;
        const r = await this.serial(() => this.addNow({ ...saved, domain: 'api' }, saved));
        n += r.policies.length;
        this.log(`restored ${r.policies.map((p) => `${qualified(p.spec)} (${p.state}, ${p.mode})`).join(', ')}, added through the API from ${saved.file}`);
      } catch (e) {
        for (const d of e instanceof ApiError ? (e.diagnostics ?? []) : []) this.log(d);
        this.log(`cannot restore API policy ${name}: ${(e as Error).message}`);
      }
    }
    return n;
  }

  /** Pod added, relabelled or deleted: recompute the pods of every filtered policy and push the differences. */
  onPodChange(c: PodChange): Promise<void> {
    return this.serial(async () => {
      const id = BigInt(c.pod.cgroupId);
      if (c.kind === 'add') this.kernel?.setPodCgroups([id], []);
      for (const p of this.all()) {
        try {
          this.rescope(p);
        } catch (e) {
          p.state = 'error';
          p.error = `pod filter not updated: ${(e as Error).message}`;
          this.log(`${qualified(p.spec)}: error: ${p.error}`);
        }
      }
      if (c.kind === 'delete') this.kernel?.setPodCgroups([], [id]);
    });
  }

  /** The pods `p` applies to, decided by the core, pushed to the kernel as a diff. */
  private rescope(p: AgentPolicy): void {
    if (!p.spec.filtered) return;
    const want = new Map<string, string>();
    // pods' own cgroups, for a policy that applies to every container they get (the core
    // decides): the kernel gives a new container the policy when its cgroup is made
    const inherit = new Set<string>();
    for (const pod of this.pods.list()) {
      if (!this.core.podMatches(p.unit.image, p.index, podInfo(pod))) continue;
      want.set(pod.cgroupId, podKey(pod));
      if (
        pod.podCgroupId &&
        !inherit.has(pod.podCgroupId) &&
        this.core.podMatches(p.unit.image, p.index, { ...podInfo(pod), container: undefined, everyContainer: true })
      )
        inherit.add(pod.podCgroupId);
    }
    const diff = <T>(now: Iterable<T>, was: { has(k: T): boolean }) => [...now].filter((k) => !was.has(k)).map((k) => BigInt(String(k)));
    const addI = diff(inherit, p.inherit);
    const removeI = diff(p.inherit, inherit);
    const add = diff(want.keys(), p.cgroups);
    const remove = diff(p.cgroups.keys(), want);
    // inheritance is added first and removed last
    if (addI.length > 0) p.loaded?.setInheritCgroups(addI, []);
    if (add.length > 0 || remove.length > 0) p.loaded?.setFilterCgroups(add, remove);
    if (removeI.length > 0) p.loaded?.setInheritCgroups([], removeI);
    p.inherit = inherit;
    p.cgroups = want;
  }

  status(p: AgentPolicy): PolicyStatus {
    let perSelector: PolicyCounters[] = [];
    let mem = 0;
    let progMem = 0;
    let programs: ProgramStat[] = [];
    try {
      if (p.loaded) {
        perSelector = p.loaded.selectorCounters();
        mem = p.loaded.kernelMemory();
        progMem = p.loaded.programMemory();
        programs = p.loaded.programStats();
      }
    } catch {
      /* counters are best effort */
    }
    const counters = { ...ZERO };
    for (const c of perSelector) {
      counters.post += c.post;
      counters.enforce += c.enforce;
      counters.monitor += c.monitor;
      counters.nopost += c.nopost;
    }
    return {
      id: p.id,
      name: p.spec.name,
      namespace: p.spec.namespace,
      kind: p.spec.kind,
      domain: p.unit.domain,
      file: p.unit.file,
      state: p.state,
      ...(p.error ? { error: p.error } : {}),
      ...(p.errorKind ? { errorKind: p.errorKind } : {}),
      ...(p.verifierLog ? { verifierLog: p.verifierLog } : {}),
      ...(p.warnings && p.warnings.length > 0 ? { warnings: p.warnings } : {}),
      mode: p.mode,
      filterId: p.spec.filtered ? p.id : 0,
      filtered: p.spec.filtered,
      host: p.spec.host,
      pods: [...p.cgroups.values()].sort(),
      hooks: p.spec.hooks.map((h) => h.name),
      sensors: p.loaded?.sensors ?? p.sensors,
      kernelMemory: mem,
      programMemory: progMem,
      counters,
      selectors: selectorStatus(p.spec, perSelector),
      programs,
    };
  }

  list(): PolicyStatus[] {
    return this.all()
      .sort((a, b) => a.id - b.id)
      .map((p) => this.status(p));
  }

  /** Evaluates an event against the image of policy `p`; the matches of `p` only. */
  evaluateFor(p: AgentPolicy, ev: Parameters<EvaluatorPort['evaluate']>[0]): Match[] {
    let fast = this.fast.get(p.unit);
    if (!fast) {
      // the core's allocation-free path when the evaluator has it (the real one does)
      const e = p.unit.evaluator as Partial<RecordEvaluator> & EvaluatorPort;
      fast = typeof e.evaluateEncoded === 'function' ? fastEvaluate(e as RecordEvaluator) : (x) => e.evaluate(x);
      this.fast.set(p.unit, fast);
    }
    return fast(ev).matches.filter((m) => m.policyIndex === p.index);
  }

  /**
   * Evaluates a raw kernel hook record in the core (kernel bytes -> core ->
   * verdict): the policy's matches and the argument values the core decoded;
   * null when the unit's evaluator has no record path or rejects the record.
   */
  evaluateHookRecordFor(p: AgentPolicy, raw: Uint8Array, ctx: HookContext): { matches: Match[]; args: EvalArg[]; ret?: EvalArg } | null {
    const e = p.unit.evaluator;
    if (typeof e.evaluateHookRecord !== 'function' || typeof e.lastVerdict !== 'function' || typeof e.lastHookArgs !== 'function') return null;
    const code = e.evaluateHookRecord(raw, ctx);
    if (code < 0) return null;
    const matches = e.lastVerdict(code).matches.filter((m) => m.policyIndex === p.index);
    return { matches, args: e.lastHookArgs(), ...(e.lastHookReturn ? { ret: e.lastHookReturn() } : {}) };
  }

  /** per unit: its evaluate over the core's record path (see src/events/dryrun.ts) */
  private readonly fast = new WeakMap<Unit, Evaluate>();

  /** Unloads every policy (agent stop); persisted sources stay. */
  close(): Promise<void> {
    return this.serial(async () => {
      for (const u of this.units) await this.unloadUnit(u);
      this.units = [];
    });
  }

  private async unloadUnit(u: Unit): Promise<void> {
    for (const p of u.policies) await this.unloadPolicy(p);
  }

  private async unloadPolicy(p: AgentPolicy): Promise<void> {
    const l = p.loaded;
    p.loaded = null;
    p.cgroups = new Map();
    p.inherit = new Set();
    if (!l) return;
    try {
      await l.unload();
    } catch (e) {
      this.log(`unload ${qualified(p.spec)}: ${(e as Error).message}`);
    }
  }

  private async persist(u: Unit): Promise<void> {
    await fsp.mkdir(this.apiDir, { recursive: true, mode: 0o700 });
    const saved: Persisted = {
      seq: u.seq,
      file: u.file,
      namespace: u.namespace,
      ...(u.mode ? { mode: u.mode } : {}),
      text: u.text,
      deleted: u.deleted,
      modes: u.modes,
      disabled: u.disabled,
    };
    const f = join(this.apiDir, `${u.seq}.json`);
    await fsp.writeFile(`${f}.tmp`, JSON.stringify(saved, null, 2) + '\n', { mode: 0o600 });
    await fsp.rename(`${f}.tmp`, f);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/**
 * The kernel's counters (`tln_stats`: one entry per selector over all hooks
 * in slot order, then one for hooks without selectors) labelled with their
 * hook and selector. A policy that is not loaded has its selectors at zero.
 */
export function selectorStatus(spec: PolicySpec, counters: PolicyCounters[]): SelectorStatus[] {
  const out: SelectorStatus[] = [];
  const at = (i: number): PolicyCounters => counters[i] ?? ZERO;
  let index = 0;
  for (const h of [...spec.hooks].sort((a, b) => a.slot - b.slot)) {
    for (let s = 0; s < h.selectors; s++, index++) out.push({ index, hook: h.name, selector: s, label: `${h.name}/${s}`, ...at(index) });
  }
  if (spec.hooks.some((h) => h.selectors === 0)) out.push({ index, hook: null, selector: null, label: '(no selector)', ...at(index) });
  return out;
}

/** The end of a verifier log: where the verifier says what it refused. */
export function logExcerpt(log: string, lines = 20): string {
  const all = log.split('\n').filter((l) => l.trim() !== '');
  return (all.length > lines ? ['...', ...all.slice(-lines)] : all).join('\n');
}

export function qualified(s: { name: string; namespace: string | null }): string {
  return s.namespace ? `${s.namespace}/${s.name}` : s.name;
}

function podKey(p: Pod): string {
  return `${p.namespace}/${p.name}`;
}
