/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * tln_path.h: full paths resolved in the kernel, as d_path() would print them
 * relative to the task's root: fd -> struct file, and a bounded walk of the
 * dentries and mounts up to the root, written backwards into a per-CPU buffer.
 */
#ifndef TLN_PATH_H
#define TLN_PATH_H

#include "tln_common.h"

#define TLN_PATH_DEPTH 128 /* path components walked at most */
#define TLN_PATHBUF_SZ (TLN_PATH_MAX + 512)
#define TLN_PATH_MASK (TLN_PATH_MAX - 1)

struct tln_pathbuf {
	char buf[TLN_PATHBUF_SZ];
	/* the walk's write position and truncation: kept here, not in struct tln_walk on the
	 * stack, so that the verifier sees an unknown offset at each step and bpf_loop's
	 * callback converges (a bounded stack offset made every step a new state: 6.18.44) */
	__u32 off; /* first byte of the path in buf */
	__u32 trunc;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tln_pathbuf);
} tln_pathbuf SEC(".maps");

/* state of one walk, on the caller's stack */
struct tln_walk {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
};

/* a path as a slice of the per-CPU buffer */
struct tln_pathres {
	__u32 off;
	__u32 len;
	__u32 trunc;
};

static __always_inline struct mount *tln_real_mount(struct vfsmount *vfsmnt)
{
	return (struct mount *)((void *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
}

static long tln_walk_step(__u32 i, void *vctx)
{
	struct tln_walk *w = vctx;
	struct dentry *dentry = w->dentry, *mnt_root, *parent;
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct mount *mnt = w->mnt, *mnt_parent;
	struct tln_pathbuf *pb;
	const unsigned char *name;
	__u32 len, off;

	/* reached the task's root */
	if (dentry == w->root_dentry && vfsmnt == w->root_mnt)
		return 1;
	/* at the root of a mount: continue from its mountpoint in the parent */
	mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	if (dentry == mnt_root) {
		mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
		if (mnt_parent == mnt)
			return 1;
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mnt_parent;
		w->vfsmnt = &mnt_parent->mnt;
		return 0;
	}
	/* a dentry that is its own parent: root of an unmounted tree */
	parent = BPF_CORE_READ(dentry, d_parent);
	if (parent == dentry)
		return 1;
	/* prepend "/name" */
	pb = tln_zero_lookup(&tln_pathbuf);
	if (!pb)
		return 1;
	len = BPF_CORE_READ(dentry, d_name.len);
	name = BPF_CORE_READ(dentry, d_name.name);
	if (len > 255)
		len = 255;
	off = pb->off;
	if (len + 1 > off || off > TLN_PATH_MAX - 1) {
		pb->trunc = 1;
		return 1;
	}
	off -= len + 1;
	pb->buf[off & TLN_PATH_MASK] = '/';
	bpf_probe_read_kernel(&pb->buf[(off + 1) & TLN_PATH_MASK], len & 255, name);
	pb->off = off;
	w->dentry = parent;
	return 0;
}

/* pseudo files (pipes, sockets, anon inodes) are named as /proc/PID/fd shows them */
static __always_inline int tln_pseudo_name(struct dentry *dentry, struct tln_pathbuf *pb,
					   struct tln_pathres *res)
{
	static const char fmt_pipe[] = "pipe:[%lu]";
	static const char fmt_sock[] = "socket:[%lu]";
	static const char fmt_anon[] = "anon_inode:%s";
	const struct dentry_operations *dop;
	const char *fsname;
	char c = 0;
	__u64 data[1];
	long n;

	dop = BPF_CORE_READ(dentry, d_op);
	if (!dop || !BPF_CORE_READ(dop, d_dname))
		return 0;
	fsname = BPF_CORE_READ(dentry, d_sb, s_type, name);
	bpf_probe_read_kernel(&c, 1, fsname);
	if (c == 'p' || c == 's') {
		data[0] = BPF_CORE_READ(dentry, d_inode, i_ino);
		n = bpf_snprintf(pb->buf, 64, c == 'p' ? fmt_pipe : fmt_sock, data, sizeof(data));
	} else {
		data[0] = (__u64)BPF_CORE_READ(dentry, d_name.name);
		n = bpf_snprintf(pb->buf, 64, fmt_anon, data, sizeof(data));
	}
	if (n <= 1)
		return 0;
	res->off = 0;
	res->len = (n - 1) & 63;
	res->trunc = 0;
	return 1;
}

/* resolves path p against the current task's root into the per-CPU buffer */
static __always_inline int tln_path_resolve(const struct path *p, struct tln_pathres *res)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct tln_pathbuf *pb = tln_zero_lookup(&tln_pathbuf);
	struct tln_walk w = {};
	__u32 off;

	if (!pb)
		return -1;
	w.dentry = BPF_CORE_READ(p, dentry);
	w.vfsmnt = BPF_CORE_READ(p, mnt);
	if (!w.dentry || !w.vfsmnt)
		return -1;
	/* pipes, sockets and anonymous inodes have a synthetic name */
	if (tln_pseudo_name(w.dentry, pb, res))
		return 0;
	w.mnt = tln_real_mount(w.vfsmnt);
	w.root_dentry = BPF_CORE_READ(task, fs, root.dentry);
	w.root_mnt = BPF_CORE_READ(task, fs, root.mnt);
	pb->off = TLN_PATH_MAX - 1;
	pb->trunc = 0;
	pb->buf[TLN_PATH_MAX - 1] = 0;
	/* walk up to the root, one component per step */
	if (bpf_loop(TLN_PATH_DEPTH, tln_walk_step, &w, 0) == TLN_PATH_DEPTH)
		pb->trunc = 1;
	off = pb->off;
	if (off > TLN_PATH_MAX - 1)
		off = TLN_PATH_MAX - 1;
	/* the root itself */
	if (off == TLN_PATH_MAX - 1) {
		off--;
		pb->buf[off & TLN_PATH_MASK] = '/';
	}
	res->off = off & TLN_PATH_MASK;
	res->len = (TLN_PATH_MAX - 1 - off) & TLN_PATH_MASK;
	res->trunc = pb->trunc;
	return 0;
}

/* the struct file behind fd in the current task, or NULL */
static __always_inline struct file *tln_fd_file(__s64 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt;
	struct file **fds;
	struct file *f = NULL;
	__u32 max;

	if (fd < 0)
		return NULL;
	fdt = BPF_CORE_READ(task, files, fdt);
	max = BPF_CORE_READ(fdt, max_fds);
	if ((__u64)fd >= max)
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* tln_fd_file for a task pointer from bpf_get_current_task_btf(): the table
 * walk in direct loads, one helper call for the slot */
static __always_inline struct file *tln_fd_file_btf(struct task_struct *task, __s64 fd)
{
	struct fdtable *fdt;
	struct file *f = NULL;

	if (fd < 0)
		return NULL;
	fdt = task->files->fdt;
	if ((__u64)fd >= fdt->max_fds)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fdt->fd[fd]);
	return f;
}

/* the buffer that holds resolved paths */
static __always_inline struct tln_pathbuf *tln_pathbuf_get(void)
{
	return tln_zero_lookup(&tln_pathbuf);
}

#endif /* TLN_PATH_H */
