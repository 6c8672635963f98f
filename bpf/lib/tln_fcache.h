/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * tln_fcache.h: the per-file verdict cache of the file_permission programs.
 * A read (write) of a file that no unit's selector matched is remembered
 * under the struct file pointer with everything the verdict depended on:
 * the file's path (mount, dentry, the task's root: a rename bumps the
 * epoch), the policies that applied (cgroup, epoch: the loader bumps it at
 * every policy, pod, mode change), the binary (self_exec_id) and the pid
 * (tgid). The next access with all of them equal skips the path walk and the
 * selectors; anything else is judged again. A closed file's reused struct
 * has another dentry, or the same file: the same verdict.
 */
#ifndef TLN_FCACHE_H
#define TLN_FCACHE_H

#include "tln_maps.h"

#define TLN_MAY_WRITE 2
#define TLN_MAY_READ 4

/* the cache bit of a file_permission mask, 0 when not cached */
static __always_inline __u32 tln_fcache_bit(__u64 mask)
{
	if (mask == TLN_MAY_READ)
		return TLN_FC_READ;
	if (mask == TLN_MAY_WRITE)
		return TLN_FC_WRITE;
	return 0;
}

static __always_inline int tln_fcache_same(const struct tln_fcache *a, const struct tln_fcache *b)
{
	return a->dentry == b->dentry && a->mnt == b->mnt && a->root == b->root &&
	       a->cgroup_id == b->cgroup_id && a->exec_id == b->exec_id && a->epoch == b->epoch &&
	       a->tgid == b->tgid;
}

/* access `bit` of `file` is known to match nothing, for this identity */
static __always_inline int tln_fcache_ok(__u64 file, const struct tln_fcache *want, __u32 bit)
{
	struct tln_fcache *c = bpf_map_lookup_elem(&tln_fcache, &file);

	return c && (c->ok & bit) && tln_fcache_same(c, want);
}

/* remembers that access `bit` of `file` matched nothing */
static __always_inline void tln_fcache_put(__u64 file, struct tln_fcache *want, __u32 bit)
{
	struct tln_fcache *c = bpf_map_lookup_elem(&tln_fcache, &file);

	want->ok = bit;
	if (c && tln_fcache_same(c, want))
		want->ok |= c->ok;
	bpf_map_update_elem(&tln_fcache, &file, want, BPF_ANY);
}

/*
 * Checks (put = 0) or records (put = 1) access `bit` of `file` for the
 * current task, with the cgroup and the epoch read before the evaluation.
 * A function of its own: its identity struct is on its own stack frame, not
 * on that of the evaluation's call chain (the kernel limits the sum to 512).
 */
static __noinline int tln_fcache_op(__u64 file, __u64 cg, __u64 epoch, __u32 bit, __u32 put)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct file *f = (struct file *)file;
	struct tln_fcache fc = {};

	/* mount and dentry in one read (struct path) */
	if (bpf_probe_read_kernel(&fc.mnt, 2 * sizeof(__u64), &f->f_path))
		return 0;
	fc.root = (__u64)task->fs->root.dentry;
	fc.exec_id = task->self_exec_id;
	fc.tgid = task->tgid; /* a direct load: no helper call */
	fc.cgroup_id = cg;
	fc.epoch = epoch;
	if (put) {
		tln_fcache_put(file, &fc, bit);
		return 0;
	}
	return tln_fcache_ok(file, &fc, bit);
}

#endif /* TLN_FCACHE_H */
