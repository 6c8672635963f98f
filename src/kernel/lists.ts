// call: "list:NAME" hooks (Tetragon's spec.lists): one hook in the image, an
// instance per list value in the kernel. Each instance is the hook with the
// value as its call, so every mechanism that serves a single call (syscall
// tracepoints, kprobes) serves a list too, and refuses it as it would refuse
// the value alone. The instance's member number (1 + the value's index) goes
// through tln_gen_conf.member into every record it writes, so an event names
// the function that was called, as Tetragon's do. The core resolves the
// members (the hook spec record's "members", docs/map-format.md §2.3).
import type { HookSpec, PolicySpec } from '../core/types.js';

/** the hooks the loader serves: each list hook replaced by its members, in list order */
export function expandListHooks(spec: Pick<PolicySpec, 'hooks'>): HookSpec[] {
  return spec.hooks.flatMap((h) => {
    // a generated list has no members: the hook stays whole, refused for its need; a member (one
    // already expanded) stays itself, so expanding twice changes nothing
    const ms = h.spec?.members;
    if (!ms?.length || h.member) return [h];
    return ms.map((m, i) => ({ ...h, name: m.call, member: i + 1, spec: { ...h.spec!, call: m.call, ...(m.syscall ? { syscall: m.syscall } : {}) } }));
  });
}

/** the list member a record's member number names; undefined when it is no list member */
export function listMember(hook: Pick<HookSpec, 'spec'>, member: number | undefined): { call: string; syscall?: string } | undefined {
  return member ? hook.spec?.members?.[member - 1] : undefined;
}
