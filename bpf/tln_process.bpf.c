// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/*
 * tln_process: process lifecycle. Keeps the process table tln_procs (binary
 * path per tgid, for matchBinaries and records; the pid in its namespace, the
 * capabilities and namespaces at fork / first exec, for matchPIDs followForks
 * with isNamespacePID and the *Changes selectors) and emits exec/exit records.
 * Loaded once per agent, shared by every policy.
 */
#include "lib/tln_common.h"
#include "lib/tln_maps.h"
#include "lib/tln_path.h"
#include "lib/tln_task.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define TLN_EXEC_BUF (sizeof(struct tln_exec_rec) + TLN_EXEC_DATA_MAX)

struct tln_execbuf {
	char buf[TLN_EXEC_BUF];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tln_execbuf);
} tln_execbuf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tln_proc);
} tln_procbuf SEC(".maps");

static __always_inline void tln_fill_task(struct tln_rec_task *t, struct task_struct *task)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	t->pid = pid_tgid >> 32;
	t->tid = (__u32)pid_tgid;
	t->ppid = BPF_CORE_READ(task, real_parent, tgid);
	t->uid = (__u32)bpf_get_current_uid_gid();
	t->cgroup_id = bpf_get_current_cgroup_id();
}

/* copies a resolved path from the path buffer to data[cur] */
static __always_inline __u32 tln_copy_path(char *data, __u32 cur, struct tln_pathres *res)
{
	struct tln_pathbuf *pb = tln_pathbuf_get();
	__u32 len = res->len & TLN_PATH_MASK, off = res->off;

	if (!pb)
		return 0;
	barrier_var(cur); /* keep the mask: older verifiers lose bounds through 32-bit copies */
	barrier_var(len);
	barrier_var(off);
	bpf_probe_read_kernel(&data[cur & 8191], len & TLN_PATH_MASK,
			      &pb->buf[off & TLN_PATH_MASK]);
	return len;
}

/* credentials and namespaces right after the exec (setuid binaries have theirs by now) */
static __always_inline void tln_exec_identity(struct tln_exec_rec *rec, struct task_struct *task)
{
	__builtin_memset(&rec->ns, 0, sizeof(rec->ns));
	tln_cred_fill(&rec->cred, BPF_CORE_READ(task, cred));
	tln_task_ns(task, rec->ns.inum);
	rec->hdr.flags |= TLN_REC_F_IDENTITY;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tln_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct tln_execbuf *eb = tln_zero_lookup(&tln_execbuf);
	struct tln_proc *proc = tln_zero_lookup(&tln_procbuf);
	struct tln_proc *old;
	struct tln_exec_rec *rec;
	struct tln_pathres res = {};
	struct file *exe;
	struct fs_struct *fs;
	unsigned long arg_start, arg_end;
	__u32 cur, len, n;
	__u64 now = bpf_ktime_get_ns();

	if (!eb || !proc)
		return 0;
	rec = (struct tln_exec_rec *)eb->buf;
	/* header and task */
	rec->hdr.type = TLN_REC_EXEC;
	rec->hdr.version = TLN_EVENTS_VERSION;
	rec->hdr.flags = 0;
	rec->hdr.ktime = now;
	tln_fill_task(&rec->task, task);
	rec->task.start_ktime = now;
	rec->path_len = rec->args_len = rec->cwd_len = 0;
	rec->pad0 = 0;
	rec->pad1 = 0;
	tln_exec_identity(rec, task);
	cur = 0;
	/* binary: full path of the executed file */
	exe = BPF_CORE_READ(bprm, file);
	if (exe && !tln_path_resolve(&exe->f_path, &res)) {
		len = tln_copy_path(rec->data, cur, &res);
		rec->path_len = len;
		cur += len;
		if (res.trunc)
			rec->hdr.flags |= TLN_REC_F_TRUNC_PATH;
	}
	/* process table entry: the first TLN_BIN_MAX - 1 bytes of the path */
	old = bpf_map_lookup_elem(&tln_procs, &rec->task.pid);
	if (old && (old->flags & TLN_PROC_F_EXEC)) {
		/* as Tetragon: only the first exec after a fork takes the credentials and
		 * namespaces again; a later exec (a setuid binary) is a change */
		bpf_probe_read_kernel(proc->caps, sizeof(proc->caps), old->caps);
		bpf_probe_read_kernel(proc->ns, sizeof(proc->ns), old->ns);
	} else {
		tln_task_caps(task, proc->caps);
		tln_task_ns(task, proc->ns);
	}
	proc->ns_pid = tln_task_ns_pid(task);
	proc->pad1 = 0;
	proc->ppid = rec->task.ppid;
	proc->flags = TLN_PROC_F_EXEC;
	proc->ktime = now;
	n = tln_min(rec->path_len, TLN_BIN_MAX - 1);
	bpf_probe_read_kernel(proc->path, n & (TLN_BIN_MAX - 1), rec->data);
	proc->path[n & (TLN_BIN_MAX - 1)] = 0;
	proc->path_len = n;
	bpf_map_update_elem(&tln_procs, &rec->task.pid, proc, BPF_ANY);
	/* arguments: the new stack's argv strings */
	arg_start = BPF_CORE_READ(task, mm, arg_start);
	arg_end = BPF_CORE_READ(task, mm, arg_end);
	if (arg_end > arg_start) {
		len = arg_end - arg_start;
		if (len > TLN_ARGS_MAX) {
			len = TLN_ARGS_MAX;
			rec->hdr.flags |= TLN_REC_F_TRUNC_ARGS;
		}
		len &= (TLN_ARGS_MAX * 2 - 1);
		if (!bpf_probe_read_user(&rec->data[cur & 8191], len, (void *)arg_start)) {
			/* drop the NUL after the last argument */
			if (len && rec->data[(cur + len - 1) & 16383] == 0)
				len--;
			rec->args_len = len;
			cur += len;
		}
	}
	/* cwd */
	fs = BPF_CORE_READ(task, fs);
	if (fs && !tln_path_resolve(&fs->pwd, &res)) {
		len = tln_copy_path(rec->data, cur, &res);
		rec->cwd_len = len;
		cur += len;
		if (res.trunc)
			rec->hdr.flags |= TLN_REC_F_TRUNC_CWD;
	}
	len = sizeof(*rec) + cur;
	if (len > TLN_EXEC_BUF)
		len = TLN_EXEC_BUF;
	rec->hdr.size = len;
	tln_output(rec, len);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(tln_fork, struct task_struct *parent, struct task_struct *child)
{
	struct tln_proc *pp, *proc;
	__u32 ptgid, ctgid;

	/* new threads share their process's entry */
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	ptgid = BPF_CORE_READ(parent, tgid);
	ctgid = BPF_CORE_READ(child, tgid);
	/* the child runs the parent's binary until it execs */
	pp = bpf_map_lookup_elem(&tln_procs, &ptgid);
	proc = tln_zero_lookup(&tln_procbuf);
	if (!proc)
		return 0;
	if (pp) {
		bpf_probe_read_kernel(proc, sizeof(*proc), pp);
	} else {
		proc->path_len = 0;
		proc->path[0] = 0;
	}
	proc->ppid = ptgid;
	proc->flags = 0;
	proc->ktime = bpf_ktime_get_ns();
	/* the child's own pid in its namespace, credentials and namespaces at fork (Tetragon's clone entry) */
	proc->ns_pid = tln_task_ns_pid(child);
	proc->pad1 = 0;
	tln_task_caps(child, proc->caps);
	tln_task_ns(child, proc->ns);
	bpf_map_update_elem(&tln_procs, &ctgid, proc, BPF_ANY);
	return 0;
}

struct tln_exitbuf {
	char buf[sizeof(struct tln_exit_rec) + TLN_BIN_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tln_exitbuf);
} tln_exitbuf SEC(".maps");

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tln_exit, struct task_struct *task)
{
	struct tln_exitbuf *xb = tln_zero_lookup(&tln_exitbuf);
	struct tln_exit_rec *rec;
	struct tln_proc *proc;
	__u32 len = 0;

	/* only when the whole thread group is gone */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	if (!xb)
		return 0;
	rec = (struct tln_exit_rec *)xb->buf;
	rec->hdr.type = TLN_REC_EXIT;
	rec->hdr.version = TLN_EVENTS_VERSION;
	rec->hdr.flags = 0;
	rec->hdr.ktime = bpf_ktime_get_ns();
	tln_fill_task(&rec->task, task);
	rec->task.pid = BPF_CORE_READ(task, tgid);
	rec->task.start_ktime = 0;
	rec->code = BPF_CORE_READ(task, exit_code);
	rec->pad0 = 0;
	/* binary from the process table, then forget the process */
	proc = bpf_map_lookup_elem(&tln_procs, &rec->task.pid);
	if (proc) {
		len = proc->path_len & (TLN_BIN_MAX - 1);
		bpf_probe_read_kernel(rec->data, len, proc->path);
		rec->task.start_ktime = proc->ktime;
		bpf_map_delete_elem(&tln_procs, &rec->task.pid);
	} else {
		rec->hdr.flags |= TLN_REC_F_NO_PROC;
	}
	rec->path_len = len;
	rec->hdr.size = sizeof(*rec) + len;
	tln_output(rec, sizeof(*rec) + len);
	return 0;
}

/* ---- cgroups of new containers -------------------------------------------- */

/* cgroup v2 only: a v1 hierarchy numbers its cgroups apart (the same id can name another cgroup) */
static __always_inline int tln_cg_v2(struct cgroup *cgrp)
{
	struct task_struct *task = bpf_get_current_task_btf();

	return BPF_CORE_READ(cgrp, root) == BPF_CORE_READ(task, cgroups, dfl_cgrp, root);
}

/* A container's cgroup is made in its pod's (runc create, well before the
 * entrypoint runs). When the agent marked the pod's cgroup TLN_CG_F_INHERIT,
 * the new cgroup takes its units here, so the container is covered from its
 * first instruction and not only from when the agent sees it over CRI. The
 * agent takes the entry over then; until it does, its bit in cgbits is ours. */
SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(tln_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	struct tln_cgroup *pc, c = {};
	struct tln_dispatch *d;
	struct cgroup *parent;
	__u64 id, pid;

	if (!tln_cg_v2(cgrp))
		return 0;
	/* struct cgroup starts with its css (self): the parent css is the parent cgroup */
	parent = (struct cgroup *)BPF_CORE_READ(cgrp, self.parent);
	if (!parent)
		return 0;
	pid = BPF_CORE_READ(parent, kn, id);
	pc = bpf_map_lookup_elem(&tln_cgroups, &pid);
	if (!pc || !(pc->flags & TLN_CG_F_INHERIT))
		return 0;
	id = BPF_CORE_READ(cgrp, kn, id);
	c.units = pc->units;
	c.flags = TLN_CG_F_POD | TLN_CG_F_INHERITED;
	if (bpf_map_update_elem(&tln_cgroups, &id, &c, BPF_NOEXIST))
		return 0;
	/* after the entry: a set bit always finds it */
	d = tln_zero_lookup(&tln_dispatch);
	if (d)
		__sync_fetch_and_or(&d->cgbits[(id >> 6) & 63], 1ULL << (id & 63));
	return 0;
}

/* the entry tln_cgroup_mkdir made goes with its cgroup (the agent's own it removes itself) */
SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(tln_cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
	struct tln_cgroup *c;
	__u64 id;

	if (!tln_cg_v2(cgrp))
		return 0;
	id = BPF_CORE_READ(cgrp, kn, id);
	c = bpf_map_lookup_elem(&tln_cgroups, &id);
	if (c && (c->flags & TLN_CG_F_INHERITED))
		bpf_map_delete_elem(&tln_cgroups, &id);
	return 0;
}
