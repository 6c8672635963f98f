// A target kernel as the offline check sees it: its features read from its BTF
// (what the loader would probe on it), and the programs a policy needs there,
// chosen by the loader's own catalog (src/kernel/catalog.ts chooseImpl).
import { chooseImpl, type HookImpl } from '../kernel/catalog.js';
import { expandListHooks } from '../kernel/lists.js';
import type { Features } from '../kernel/features.js';
import type { PolicySpec } from '../core/types.js';
import { enumValue, type BtfInfo } from './btf.js';

// the agent loads its process sensor (exec/fork/exit) for every policy: the plan names it
import { PROCESS_SENSOR } from '../kernel/plan.js';
export { PROCESS_SENSOR };

/**
 * Features of the kernel whose BTF this is. BTF tells what the kernel was
 * built with: helpers (enum bpf_func_id), map and attach types, the BPF LSM
 * hooks (bpf_lsm_* functions exist only with CONFIG_BPF_LSM). What it cannot
 * tell is assumed present: tracepoints and syscall tracepoints, kprobes,
 * uprobes, a cgroup v2 mount, and BPF LSM being enabled at boot (lsm=...,bpf)
 * when it is built in; a check is about what loads, not about boot options.
 */
export function targetFeatures(btf: BtfInfo): Features {
  const helper = (name: string): boolean => enumValue(btf, 'bpf_func_id', `BPF_FUNC_${name}`) !== undefined;
  const mapType = (name: string): boolean => enumValue(btf, 'bpf_map_type', `BPF_MAP_TYPE_${name}`) !== undefined;
  const attach = (name: string): boolean => enumValue(btf, 'bpf_attach_type', name) !== undefined;
  const lsmBuilt = [...btf.funcs].some((f) => f.startsWith('bpf_lsm_')) && attach('BPF_LSM_MAC');
  return {
    bpf: true,
    btf: true,
    ringbuf: mapType('RINGBUF'),
    lpmTrie: mapType('LPM_TRIE'),
    lruHash: mapType('LRU_HASH'),
    tracepoint: true,
    cgroupSockAddr: attach('BPF_CGROUP_INET4_CONNECT'),
    sendSignal: helper('send_signal'),
    overrideReturn: helper('override_return'),
    setRetval: helper('set_retval'),
    bpfLoop: helper('loop'),
    snprintf: helper('snprintf'),
    tpBtf: attach('BPF_TRACE_RAW_TP'),
    fentry: attach('BPF_TRACE_FENTRY'),
    lsm: lsmBuilt,
    lsmError: lsmBuilt ? undefined : 'the kernel has no bpf_lsm_* functions (built without CONFIG_BPF_LSM)',
    kprobes: true,
    uprobes: true,
    cgroup2: '/sys/fs/cgroup',
    syscallTracepoints: true,
    lockdown: null,
  };
}

export interface NeededPrograms {
  /** the hook, or "process sensor" for the agent's own programs */
  hook: string;
  /** catalog sensor serving it, e.g. tln_tp_file */
  sensor: string;
  object: string;
  programs: string[];
}

export type PolicyNeeds = { ok: true; needs: NeededPrograms[] } | { ok: false; reason: string };

/** The programs `spec` needs on a kernel with `features`: the catalog's choice per hook, plus the process sensor. */
export function programsFor(spec: PolicySpec, features: Features): PolicyNeeds {
  const needs: NeededPrograms[] = [
    { hook: 'process sensor', sensor: PROCESS_SENSOR.name, object: PROCESS_SENSOR.object, programs: [...PROCESS_SENSOR.programs] },
  ];
  for (const h of expandListHooks(spec)) {
    const c = chooseImpl(h.hookId, h.name, features, h);
    if (!c.ok) return { ok: false, reason: c.reason };
    const impl: HookImpl = c.impl;
    needs.push({ hook: h.name, sensor: impl.sensor, object: impl.object!, programs: impl.programs.map((p) => p.name) });
  }
  return { ok: true, needs };
}
