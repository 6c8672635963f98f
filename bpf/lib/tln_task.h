/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* tln_task.h: facts about a task that need struct task_struct. */
#ifndef TLN_TASK_H
#define TLN_TASK_H

#include "tln_common.h"

/* a process's pid as its own pid namespace sees it (isNamespacePID; Tetragon's nspid) */
static __always_inline __u32 tln_task_ns_pid(struct task_struct *task)
{
	struct pid *p = BPF_CORE_READ(task, group_leader, thread_pid);
	struct upid up = {};
	unsigned int level;

	if (!p)
		return 0;
	level = BPF_CORE_READ(p, level);
	bpf_probe_read_kernel(&up, sizeof(up), &p->numbers[level & 31]);
	return up.nr;
}

static __always_inline __u32 tln_ns_pid(void)
{
	return tln_task_ns_pid((struct task_struct *)bpf_get_current_task());
}

/* a task's capability sets (subjective credentials, what capable() checks):
 * permitted, effective, inheritable */
static __always_inline void tln_cred_caps(const struct cred *c, __u64 *caps)
{
	caps[0] = caps[1] = caps[2] = 0;
	/* 8 bytes: kernel_cap_t is a u64 since 6.3, two u32 (low first) before */
	if (c) {
		bpf_core_read(&caps[0], 8, &c->cap_permitted);
		bpf_core_read(&caps[1], 8, &c->cap_effective);
		bpf_core_read(&caps[2], 8, &c->cap_inheritable);
	}
}

static __always_inline void tln_task_caps(struct task_struct *task, __u64 *caps)
{
	tln_cred_caps(BPF_CORE_READ(task, cred), caps);
}

/* a struct cred's ids, securebits and capability sets */
static __always_inline void tln_cred_fill(struct tln_rec_cred *rc, const struct cred *c)
{
	__builtin_memset(rc, 0, sizeof(*rc));
	if (!c)
		return;
	rc->uid = BPF_CORE_READ(c, uid.val);
	rc->gid = BPF_CORE_READ(c, gid.val);
	rc->euid = BPF_CORE_READ(c, euid.val);
	rc->egid = BPF_CORE_READ(c, egid.val);
	rc->suid = BPF_CORE_READ(c, suid.val);
	rc->sgid = BPF_CORE_READ(c, sgid.val);
	rc->fsuid = BPF_CORE_READ(c, fsuid.val);
	rc->fsgid = BPF_CORE_READ(c, fsgid.val);
	rc->securebits = BPF_CORE_READ(c, securebits);
	/* the three cap_* fields are adjacent u64s (tln_events.h) */
	tln_cred_caps(c, &rc->cap_permitted);
}

/* a task's namespace inode numbers by Tetragon's type id (TLN_NS_TYPES entries) */
static __always_inline void tln_task_ns(struct task_struct *task, __u32 *ns)
{
	struct nsproxy *nsp = BPF_CORE_READ(task, nsproxy);
	struct pid *p = BPF_CORE_READ(task, thread_pid);
	struct upid up = {};

	__builtin_memset(ns, 0, TLN_NS_TYPES * sizeof(__u32));
	if (nsp) {
		ns[0] = BPF_CORE_READ(nsp, uts_ns, ns.inum);
		ns[1] = BPF_CORE_READ(nsp, ipc_ns, ns.inum);
		ns[2] = BPF_CORE_READ(nsp, mnt_ns, ns.inum);
		ns[4] = BPF_CORE_READ(nsp, pid_ns_for_children, ns.inum);
		ns[5] = BPF_CORE_READ(nsp, net_ns, ns.inum);
		if (bpf_core_field_exists(nsp->time_ns)) {
			ns[6] = BPF_CORE_READ(nsp, time_ns, ns.inum);
			ns[7] = BPF_CORE_READ(nsp, time_ns_for_children, ns.inum);
		}
		ns[8] = BPF_CORE_READ(nsp, cgroup_ns, ns.inum);
	}
	/* the pid namespace the task's pid lives in (task_active_pid_ns) */
	if (p) {
		bpf_probe_read_kernel(&up, sizeof(up), &p->numbers[BPF_CORE_READ(p, level) & 31]);
		if (up.ns)
			ns[3] = BPF_CORE_READ(up.ns, ns.inum);
	}
	/* as /proc/PID/ns/user: the objective credentials' user namespace */
	ns[9] = BPF_CORE_READ(task, real_cred, user_ns, ns.inum);
}

#endif /* TLN_TASK_H */
