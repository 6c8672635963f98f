// `talon probe`: what the running kernel offers and, from the hook catalog,
// which implementation will serve each hook here and why the others were
// not chosen. The same probe and the same choice the loader makes.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CATALOG, chooseImpl, entryShapes, implApplies } from './catalog.js';
import { has, type FeatureName, type Features } from './features.js';

export interface FeatureLine {
  /** key in Features (e.g. "lsm") */
  key: string;
  /** what users call it (e.g. "BPF LSM") */
  label: string;
  ok: boolean;
  /** why not, or where (cgroup2 mount, lockdown mode) */
  detail?: string;
}

export interface ImplLine {
  sensor: string;
  mechanism: string;
  actions: string[];
  /** chosen: serves the hook here; unavailable: a better one this kernel cannot run; fallback: a worse one, not needed */
  status: 'chosen' | 'unavailable' | 'fallback';
  why: string;
}

export interface HookLine {
  hookId: number;
  hook: string;
  args: string;
  /** the sensor serving it here, or null */
  chosen: string | null;
  /** why nothing serves it (chosen null) */
  reason?: string;
  impls: ImplLine[];
}

export interface ProbeReport {
  kernel: string;
  /** the probed values themselves: what `talon compile --check --kernel` reads back */
  probed: Features;
  features: FeatureLine[];
  hooks: HookLine[];
}

/** Features in the order `talon probe` prints them. */
const FEATURES: { key: keyof Features; label: string; no?: string; errorKey?: keyof Features }[] = [
  { key: 'bpf', label: 'bpf() syscall', errorKey: 'bpfError' },
  { key: 'btf', label: 'BTF (/sys/kernel/btf/vmlinux)', no: 'no kernel BTF (CONFIG_DEBUG_INFO_BTF off)' },
  { key: 'kprobes', label: 'kprobes', no: 'no kprobe PMU and no kprobe_events (CONFIG_KPROBES off)' },
  { key: 'fentry', label: 'fentry/fexit (BPF trampolines)', errorKey: 'fentryError' },
  { key: 'lsm', label: 'BPF LSM', errorKey: 'lsmError' },
  { key: 'overrideReturn', label: 'bpf_override_return', no: 'helper refused (needs kprobes and CONFIG_BPF_KPROBE_OVERRIDE)' },
  { key: 'sendSignal', label: 'bpf_send_signal', no: 'helper refused' },
  { key: 'ringbuf', label: 'ring buffer maps', no: 'map type refused (kernel < 5.8)' },
  { key: 'lpmTrie', label: 'LPM trie maps', no: 'map type refused' },
  { key: 'tracepoint', label: 'tracepoints', no: 'program type refused' },
  { key: 'syscallTracepoints', label: 'syscall tracepoints', no: 'no events/syscalls in tracefs (CONFIG_FTRACE_SYSCALLS off, or tracefs not mounted)' },
  { key: 'tpBtf', label: 'BTF tracepoints (tp_btf)', errorKey: 'tpBtfError' },
  { key: 'capCapableTp', label: 'tracepoint capability/cap_capable', no: 'no events/capability/cap_capable in tracefs (kernel < 6.15)' },
  { key: 'cgroupSockAddr', label: 'cgroup sock_addr hooks (connect4/6)', no: 'program type refused' },
  { key: 'setRetval', label: 'bpf_set_retval', no: 'helper refused (kernel < 5.18)' },
  { key: 'bpfLoop', label: 'bpf_loop', no: 'helper refused (kernel < 5.17)' },
  { key: 'snprintf', label: 'bpf_snprintf', no: 'helper refused (kernel < 5.13)' },
  { key: 'uprobes', label: 'uprobes', no: 'no uprobe PMU (CONFIG_UPROBE_EVENTS off)' },
  { key: 'cgroup2', label: 'cgroup v2', no: 'no cgroup2 mount' },
];

function featureDetail(f: Features, key: string): string | undefined {
  const d = FEATURES.find((x) => x.key === key);
  if (!d) return undefined;
  const err = d.errorKey ? (f[d.errorKey] as string | undefined) : undefined;
  return err || d.no;
}

/** Builds the report from probed features; `bpfDir` is where the BPF objects are built. */
export function probeReport(f: Features, bpfDir: string): ProbeReport {
  const features: FeatureLine[] = FEATURES.map((d) => {
    const v = f[d.key];
    const ok = v !== null && v !== undefined && v !== false;
    if (d.key === 'cgroup2') return { key: d.key, label: d.label, ok, detail: ok ? `mounted at ${v}` : d.no };
    return { key: d.key, label: d.label, ok, ...(ok ? {} : { detail: featureDetail(f, d.key) ?? 'not available' }) };
  });
  features.push({ key: 'lockdown', label: 'lockdown', ok: true, detail: f.lockdown ?? 'unknown' });

  const hooks: HookLine[] = CATALOG.flatMap((entry) =>
    entryShapes(entry).map(({ label, hook }, _, shapes) => {
      const choice = chooseImpl(entry.hookId, label, f, hook);
      const chosen = choice.ok ? choice.impl : null;
      const built = (o: string | null) => o !== null && existsSync(join(bpfDir, o));
      let passed = false;
      const impls: ImplLine[] = entry.impls
        .filter((impl) => implApplies(impl, hook))
        .map((impl) => {
          const base = { sensor: impl.sensor, mechanism: impl.mechanism, actions: ['Post', 'NoPost', ...impl.actions] };
          if (impl === chosen) {
            passed = true;
            const why = built(impl.object)
              ? `the first implementation whose requirements (${impl.requires.join(', ')}) this kernel meets`
              : `chosen, but bpf/.output/${impl.object} is not built (run: bash scripts/build-native.sh)`;
            return { ...base, status: 'chosen', why };
          }
          if (passed) return { ...base, status: 'fallback', why: `not needed: ${chosen!.sensor} is preferred` };
          const missing = impl.requires.filter((r) => !has(f, r as FeatureName));
          if (missing.length) {
            const why = missing.map((m) => {
              const d = featureDetail(f, m);
              return d ? `${m} (${d})` : m;
            });
            return { ...base, status: 'unavailable', why: `needs ${why.join(', ')}${impl.object ? '' : '; not built yet'}` };
          }
          if (!impl.object) return { ...base, status: 'unavailable', why: 'designed, not built yet (no BPF object)' };
          return { ...base, status: 'unavailable', why: `bpf/.output/${impl.object} is not built` };
        });
      return {
        hookId: entry.hookId,
        hook: label,
        // a split entry's label names the functions; its argument list is per policy
        args: shapes.length > 1 ? '' : entry.args,
        chosen: chosen?.sensor ?? null,
        ...(choice.ok ? {} : { reason: choice.reason }),
        impls,
      };
    }),
  );
  return { kernel: f.release ?? 'unknown', probed: f, features, hooks };
}

/** The text `talon probe` prints. */
export function formatProbeReport(r: ProbeReport): string {
  const out: string[] = [`kernel ${r.kernel}`, '', 'Features:'];
  const w = Math.max(...r.features.map((x) => x.label.length));
  for (const x of r.features) {
    const v = x.key === 'lockdown' || x.key === 'cgroup2' ? (x.ok ? (x.key === 'lockdown' ? x.detail! : 'yes') : 'no') : x.ok ? 'yes' : 'no';
    const more = x.key === 'lockdown' ? '' : x.detail ? `  (${x.detail})` : '';
    out.push(`  ${x.label.padEnd(w)}  ${v}${more}`);
  }
  out.push('', 'Hooks (implementations best first; the first this kernel can run serves the hook):');
  for (const h of r.hooks) {
    out.push(`  ${h.hook}${h.args}: ${h.chosen ? `${h.chosen}` : `not supported here: ${h.reason}`}`);
    for (const i of h.impls) {
      const mark = i.status === 'chosen' ? '*' : i.status === 'fallback' ? '-' : 'x';
      out.push(
        `    ${mark} ${`${i.sensor} (${i.mechanism})`.padEnd(28)} ${i.status === 'chosen' ? `chosen: ${i.why}; actions ${i.actions.join(', ')}` : i.why}`,
      );
    }
  }
  out.push('', '  * serves the hook   x cannot be used here   - not needed (a better one serves the hook)');
  return out.join('\n') + '\n';
}
