// call: "list:NAME" hooks (Tetragon's spec.lists): one hook in the image, an
// instance per list value in the kernel. Each instance is the hook with the
// value as its call, so every mechanism that serves a single call (syscall
// tracepoints, kprobes) serves a list too, and refuses it as it would refuse
// the value alone. The instance's member number (1 + the value's index) goes
// through tln_gen_conf.member into every record it writes, so an event names
// the function that was called, as Tetragon's do.
import type { HookSpec, PolicySpec } from '../core/types.js';

interface ListRecord {
  name: string;
  type?: string;
  values?: string[];
}

const listOf = (spec: Pick<PolicySpec, 'spec'>, hook: Pick<HookSpec, 'spec'>): ListRecord | undefined => {
  const call = hook.spec?.call ?? '';
  if (!call.startsWith('list:')) return undefined;
  const lists = (spec.spec?.lists ?? []) as ListRecord[];
  return lists.find((l) => l.name === call.slice(5));
};

/** a syscall list's value without the arch prefix, as syscall: true names it (sys_dup, __x64_sys_dup -> dup) */
export function syscallOf(value: string): string {
  // the prefixes the core's syscallBase strips (assembly/compile/hooks.ts)
  const p = ['__x64_sys_', '__arm64_sys_', '__ia32_sys_', '__se_sys_', 'sys_'].find((x) => value.startsWith(x));
  return p ? value.slice(p.length) : value;
}

/** the hooks the loader serves: each list hook replaced by its members, in list order */
export function expandListHooks(spec: Pick<PolicySpec, 'spec' | 'hooks'>): HookSpec[] {
  return spec.hooks.flatMap((h) => {
    const l = listOf(spec, h);
    // a generated list has no values here: the hook stays whole, refused for its need
    if (!l || !h.spec || l.type?.startsWith('generated_') || !l.values?.length) return [h];
    const sys = l.type === 'syscalls';
    return (l.values ?? []).map((v, i) => ({
      ...h,
      name: v,
      member: i + 1,
      spec: { ...h.spec!, call: v, ...(sys ? { syscall: syscallOf(v) } : {}) },
    }));
  });
}

/** the list value a record's member number names, as the hook's call; undefined when it is no list member */
export function listMember(
  spec: Pick<PolicySpec, 'spec'>,
  hook: Pick<HookSpec, 'spec'>,
  member: number | undefined,
): { call: string; syscall?: string } | undefined {
  if (!member) return undefined;
  const l = listOf(spec, hook);
  const v = l?.values?.[member - 1];
  if (v === undefined) return undefined;
  return l!.type === 'syscalls' ? { call: v, syscall: syscallOf(v) } : { call: v };
}
