// What this kernel and talon's BPF programs cannot serve in a policy, as
// reasons, before anything is loaded: a pure check (spec + probed features ->
// reasons), tested without root. The compiler records every feature a hook uses
// beyond what the BPF programs implement in the hook's spec record
// (`spec.needs`, docs/map-format.md §2.3); any such hook is refused whole, so a
// policy never loads partially.

import type { HookSpec, PolicySpec } from '../core/types.js';
import type { ProbeResult } from './shim.js';

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

/** Reasons this policy cannot load here; empty when nothing stands in the way. */
export function unsupportedReasons(spec: PolicySpec, features: Partial<Feat>): string[] {
  const out: string[] = [];
  for (const h of spec.hooks) {
    const needs = h.spec?.needs ?? [];
    if (needs.length === 0) continue;
    const m = mechanisms(h.kind, features);
    if (!m.here) {
      out.push(
        `${hookLabel(h)}: this kernel has no ${m.names}; it loads on kernels with ${m.names === 'kprobes or fentry' ? 'either' : 'them'}, once talon's BPF programs implement ${needs.join(', ')}`,
      );
    } else {
      out.push(`${hookLabel(h)}: talon's BPF programs do not implement ${needs.join(', ')} yet (the policy compiles and dry-runs; it cannot load)`);
    }
  }
  return out;
}
