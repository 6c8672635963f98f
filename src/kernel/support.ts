// What this kernel and talon's BPF programs cannot serve in a policy, as
// reasons, before anything is loaded: a pure check (spec + probed features ->
// reasons), tested without root. The compiler records every feature a hook uses
// beyond what the BPF programs implement in the hook's spec record
// (`spec.needs`, docs/map-format.md §2.3); any such hook is refused whole, so a
// policy never loads partially.

import type { HookSpec, PolicySpec } from '../core/types.js';
import { chooseImpl, whyNotAction, type HookImpl } from './catalog.js';
import { expandListHooks } from './lists.js';
import type { Features } from './features.js';
import type { ProbeResult } from './shim.js';
import type { Btf } from './btf.js';
import { kprobeConf, rawTpConf, uprobeConf } from './tracefs.js';
import { sockCloseConf, sockSendConf } from './sockconf.js';

type Feat = Pick<ProbeResult, 'kprobes' | 'fentry' | 'lsm' | 'tracepoint' | 'uprobes'>;

/** the mechanisms a hook of this kind could be served by, and whether this kernel has one */
function mechanisms(kind: string, f: Partial<Feat>): { names: string; here: boolean } {
  switch (kind) {
    case 'kprobe':
      return { names: 'kprobes or fentry', here: !!(f.kprobes || f.fentry) };
    case 'fentry':
      return { names: 'fentry', here: !!f.fentry };
    case 'lsmhook':
      return { names: 'BPF LSM', here: !!f.lsm };
    case 'tracepoint':
      return { names: 'tracepoints', here: !!f.tracepoint };
    case 'uprobe':
    case 'usdt':
      return { names: 'uprobes', here: !!f.uprobes };
    default:
      return { names: kind, here: false };
  }
}

function hookLabel(h: HookSpec): string {
  return `${h.kind} on ${h.name}`;
}

/**
 * The core's need for an auto-typed tracepoint field (assembly/compile/spec.ts NEED_AUTO_TRACEPOINT,
 * the same text; test/kernel-tracefs.test.ts ties the two): met at load, where the agent types the
 * field from this kernel's format before it compiles (tracefs.ts typeAutoArgs); a field it cannot
 * type stays auto and tracepointConf refuses it with the reason.
 */
export const NEED_AUTO_TRACEPOINT = 'auto-typed tracepoint fields (typed from the tracepoint format at load)';

/**
 * The core's need for `resolve` (assembly/compile/args.ts, the same text; test/kernel-btf.test.ts
 * ties the two): met where the arguments come from a BTF prototype (kprobes on kernel functions,
 * fentries, LSM hooks, raw tracepoints), whose member paths the loader walks in this kernel's BTF
 * (btf.ts resolvePath); syscall hooks read user memory, tracefs fields have no BTF type.
 */
export const NEED_RESOLVE = 'resolve (BTF field paths)';
/** btfType on an argument: the type resolve starts from (the same text as the core's; met where resolve is) */
export const NEED_BTF_TYPE = 'btfType casts';

/** does the hook read its arguments from a BTF prototype (so that resolve can walk them)? */
export function resolvesInKernel(h: Pick<HookSpec, 'kind' | 'spec'>): boolean {
  const s = h.spec;
  if (h.kind === 'kprobe') return !s?.syscall;
  if (h.kind === 'tracepoint') return s?.tracepoint?.raw === true;
  return h.kind === 'fentry' || h.kind === 'lsmhook';
}

/** Reasons this policy cannot load here; empty when nothing stands in the way. */
export function unsupportedReasons(spec: PolicySpec, features: Partial<Feat>): string[] {
  const out: string[] = [];
  for (const h of expandListHooks(spec)) {
    if (!h.spec?.needs?.length) continue;
    // a hook some catalog entry serves here (a syscall's tracepoint, fd_install at the open exits)
    // lacks only the needs, whatever mechanisms the kernel misses
    const c = chooseImpl(h.hookId, h.name, features as Features, h);
    const served = c.ok;
    // resolve walks a BTF prototype's argument: not where a mapping reads another hook's (fd_install at the open exits)
    const walks = resolvesInKernel(h) && !(c.ok && c.impl.calls);
    const walkNeed = (n: string) => n === NEED_RESOLVE || n === NEED_BTF_TYPE;
    const needs = h.spec.needs
      .filter((n) => n !== NEED_AUTO_TRACEPOINT && !(walkNeed(n) && walks))
      .map((n) => (walkNeed(n) && c.ok && c.impl.calls ? `${n} on ${c.impl.sensor} (it reads another hook's values, not ${h.name}'s arguments)` : n));
    if (needs.length === 0) continue;
    const m = mechanisms(h.kind, features);
    if (!m.here && !served) {
      out.push(
        `${hookLabel(h)}: this kernel has no ${m.names}; it loads on kernels with ${m.names === 'kprobes or fentry' ? 'either' : 'them'}, once talon's BPF programs implement ${needs.join(', ')}`,
      );
    } else {
      out.push(`${hookLabel(h)}: talon's BPF programs do not implement ${needs.join(', ')} yet (the policy compiles and dry-runs; it cannot load)`);
    }
  }
  return out;
}

/**
 * A kprobe on a function this kernel does not have, with ignore.callNotFound: true: skipped, as
 * Tetragon skips it (the policy's other hooks load); the sentence saying so, or null. `btf`: the
 * kernel's BTF, whose functions say what exists (without it nothing is skipped: the attach says).
 */
export function callNotFoundSkip(h: HookSpec, btf: () => Btf | string): string | null {
  const ig = (h.spec?.spec as { ignore?: { callNotFound?: unknown } } | undefined)?.ignore;
  if (ig?.callNotFound !== true || h.kind !== 'kprobe' || h.spec?.syscall) return null;
  const b = btf();
  if (typeof b === 'string' || b.hasFunction(h.name)) return null;
  return `${hookLabel(h)}: ${h.name} is not a function of this kernel (its BTF has none): skipped, as ignore.callNotFound asks; the policy's other hooks load`;
}

/** How one hook would load on a kernel of these features: the implementation, or why it cannot. */
export interface HookOnKernel {
  /** "kprobe on security_file_permission" */
  hook: string;
  ok: boolean;
  sensor?: string;
  mechanism?: string;
  reason?: string;
  /** what loads but differs from what the policy asks (return: true without a return value) */
  warnings: string[];
}

/** does the implementation have a program at the function's exit (the return value)? */
function seesReturn(impl: Pick<HookImpl, 'programs' | 'retHere'>): boolean {
  return impl.retHere === true || impl.programs.some((p) => p.atReturn);
}

/** does some selector of the hook (as written) have matchReturnActions? */
export function hasReturnActions(h: Pick<HookSpec, 'spec'>): boolean {
  const sels = h.spec?.spec?.selectors;
  return (
    Array.isArray(sels) &&
    sels.some((s) => {
      const l = (s as Record<string, unknown> | null)?.matchReturnActions;
      return Array.isArray(l) && l.length > 0;
    })
  );
}

/** why the hook's return selectors cannot be served by impl (null: they can, or it has none) */
export function returnRefusal(h: HookSpec, impl: Pick<HookImpl, 'sensor' | 'mechanism' | 'programs' | 'retHere'>): string | null {
  if (seesReturn(impl) && h.return === true) return null;
  const what = h.returnFilters ? 'matchReturnArgs' : hasReturnActions(h) ? 'matchReturnActions' : null;
  if (!what) return null;
  return `${what} needs the return value, which ${impl.sensor} (${impl.mechanism}) does not see on this kernel`;
}

/** `return: true` on a hook whose implementation here has no program at the function's exit: events carry no return value */
export function returnWarning(h: HookSpec, impl: Pick<HookImpl, 'sensor' | 'mechanism' | 'programs' | 'retHere'>): string | null {
  if (h.return !== true) return null;
  if (seesReturn(impl)) {
    // the whole hook is judged at the exit, with the return value
    if (!h.actions.some((a) => a === 'Sigkill' || a === 'Signal')) return null;
    return `${hookLabel(h)}: return: true: ${impl.sensor} judges the selectors at the exit, so Sigkill/Signal reach the task after the call has run (Tetragon's kprobe sends matchActions' signals at entry)`;
  }
  return `${hookLabel(h)}: return: true, but ${impl.sensor} (${impl.mechanism}) does not see the return value: its events carry none`;
}

/**
 * Why impl's programs cannot read the hook's declared arguments: the load's own argument
 * builders, those that need nothing of the host (tracepoint formats and BTF walks are
 * checked at load), so that the offline check refuses what the load would.
 */
function argumentsRefusal(h: HookSpec, impl: HookImpl): string | null {
  try {
    if (impl.calls?.includes('tcp_close')) sockCloseConf(h);
    else if (impl.calls?.includes('tcp_sendmsg')) sockSendConf(h);
    else if (impl.calls) return null;
    else if (h.kind === 'tracepoint' && impl.btfTarget) rawTpConf(h);
    else if ((h.kind === 'kprobe' && !h.spec?.syscall) || impl.btfTarget) kprobeConf(h);
    else if (h.kind === 'uprobe') uprobeConf(h);
  } catch (e) {
    return (e as Error).message;
  }
  return null;
}

/**
 * Per hook, the implementation it would get on a kernel with these features
 * (the load plan's choice, src/kernel/plan.ts), or why it cannot load there.
 * Offline: tracepoint formats, uprobe binaries (addrs, binaryDigests) and USDT notes
 * are checked at load, on the host.
 */
export function kernelCheck(spec: PolicySpec, f: Features): HookOnKernel[] {
  return expandListHooks(spec).map((h) => {
    const hook = hookLabel(h);
    const refuse = (reason: string): HookOnKernel => ({ hook, ok: false, reason, warnings: [] });
    const needs = unsupportedReasons({ ...spec, hooks: [h] }, f);
    if (needs.length > 0) return refuse(needs.map((r) => (r.startsWith(`${hook}: `) ? r.slice(hook.length + 2) : r)).join('; '));
    const c = chooseImpl(h.hookId, h.name, f, h);
    if (!c.ok) return refuse(c.reason);
    const impl = c.impl;
    const noArgs = argumentsRefusal(h, impl);
    if (noArgs) return refuse(noArgs);
    const noReturn = returnRefusal(h, impl);
    if (noReturn) return refuse(noReturn);
    for (const a of h.actions) {
      if (a === 'Post' || a === 'NoPost' || impl.actions.includes(a)) continue;
      const why = whyNotAction(h.hookId, a, f);
      return refuse(`action ${a} cannot be carried out by ${impl.sensor} (${impl.mechanism})${why ? `: ${why}` : `: it supports ${impl.actions.join(', ')}`}`);
    }
    if (!f.sendSignal && h.actions.some((a) => a === 'Sigkill' || a === 'Signal'))
      return refuse('Sigkill/Signal need bpf_send_signal, which this kernel lacks');
    const w = returnWarning(h, impl);
    return { hook, ok: true, sensor: impl.sensor, mechanism: impl.mechanism, warnings: w ? [w] : [] };
  });
}

const FEATURE_KEYS = ['bpf', 'btf', 'kprobes', 'fentry', 'lsm', 'tracepoint', 'uprobes', 'sendSignal'] as const;

/**
 * Features from a file `talon probe -o json` wrote (its `probed` object), or a
 * bare features object; an error message when it is neither.
 */
export function readFeatures(json: unknown): Features | string {
  const o = json !== null && typeof json === 'object' && 'probed' in json ? (json as { probed: unknown }).probed : json;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return 'not the output of talon probe -o json (no "probed" object)';
  const r = o as Record<string, unknown>;
  const missing = FEATURE_KEYS.filter((k) => typeof r[k] !== 'boolean');
  if (missing.length > 0)
    return `not the output of talon probe -o json: ${missing.map((k) => `probed.${k}`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} not true/false`;
  return o as Features;
}
