// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/*
 * tln_file: the file hooks of the catalog served by syscall tracepoints
 * (sensor tln_tp_file), for kernels without kprobes/fentry/BPF LSM:
 *   security_file_permission(file, mask) <- sys_enter_{read,pread64,readv,
 *       preadv,preadv2} (MAY_READ) and sys_enter_{write,pwrite64,writev,
 *       pwritev,pwritev2} (MAY_WRITE): fd -> struct file -> full path;
 *       copy_file_range, splice and sendfile64: the source as MAY_READ, the
 *       destination as MAY_WRITE (coreutils cat copies with copy_file_range);
 *   security_mmap_file(file, prot, flags) <- sys_enter_mmap (file maps only);
 *   security_path_truncate(path) <- sys_enter_truncate (pathname made
 *       absolute against the cwd; not normalised).
 * One instance per hook kind, shared by every policy (tln_eval.h units).
 * Reads and writes keep a per-file verdict cache (tln_fcache.h); the rename
 * syscalls' entry and exit invalidate it (tln_file_rename).
 */
#include "lib/tln_common.h"
#include "lib/tln_maps.h"
#include "lib/tln_path.h"
#include "lib/tln_task.h"
#include "lib/tln_eval.h"
#include "lib/tln_fcache.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define TLN_MAP_ANONYMOUS 0x20
#define TLN_SCRATCH_MASK (TLN_DATA_MAX - 1)

/* copies the resolved path into data[cur]; returns its length */
static __always_inline __u32 tln_copy_res(struct tln_hook_rec *rec, __u32 cur,
					  struct tln_pathres *res)
{
	struct tln_pathbuf *pb = tln_pathbuf_get();
	__u32 len = res->len, off = res->off;

	if (!pb)
		return 0;
	barrier_var(len); /* keep the masks: 6.1 loses 32-bit bounds through the stack */
	barrier_var(off);
	len &= TLN_PATH_MASK;
	if (bpf_probe_read_kernel(&rec->data[cur & TLN_SCRATCH_MASK], len,
				  &pb->buf[off & TLN_PATH_MASK]))
		return 0;
	return len;
}

/* a user pathname, made absolute against the cwd, into data[cur] */
static __always_inline __u32 tln_user_abs_path(struct tln_hook_rec *rec, __u32 cur,
					       const char *upath, __u8 *flags)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct tln_pathres res = {};
	struct fs_struct *fs;
	__u32 len = 0;
	long n;
	char c = 0;

	if (bpf_probe_read_user(&c, 1, upath) || !c)
		return 0;
	/* relative: the cwd, then a slash */
	if (c != '/') {
		fs = BPF_CORE_READ(task, fs);
		if (!fs || tln_path_resolve(&fs->pwd, &res))
			return 0;
		len = tln_copy_res(rec, cur, &res);
		if (res.trunc)
			*flags |= TLN_ARG_F_TRUNC;
		if (len != 1) {
			rec->data[(cur + len) & TLN_SCRATCH_MASK] = '/';
			len++;
		}
		len &= TLN_PATH_MASK;
	}
	/* the pathname as the caller passed it */
	n = bpf_probe_read_user_str(&rec->data[(cur + len) & TLN_SCRATCH_MASK], TLN_PATH_MAX,
				    upath);
	if (n <= 0)
		return 0;
	if (n == TLN_PATH_MAX)
		*flags |= TLN_ARG_F_TRUNC;
	len += n - 1;
	if (len > TLN_PATH_MAX - 1) {
		len = TLN_PATH_MAX - 1;
		*flags |= TLN_ARG_F_TRUNC;
	}
	return len;
}

/* the units with a hook of kind dh that apply to the current task, 0 when none:
 * checked before anything else (the fd lookup, the path walk) */
static __always_inline __u64 tln_file_gate(__u32 dh, struct tln_dispatch **d, __u64 *cg)
{
	return tln_units_here(dh, d, cg);
}

/* one hit of a file hook (its gate passed): path once, every unit */
static __always_inline int tln_file_event(__u64 units, __u32 dh, struct file *file,
					  const char *upath, __u64 i1, __u64 i2)
{
	struct tln_hook_rec *rec;
	struct tln_units_walk w = {};
	struct tln_pathres res = {};
	__u32 cur, plen = 0;
	__u8 pflags = 0, have = 0;

	rec = tln_rec();
	if (!rec)
		return 0;
	cur = tln_rec_task(rec, TLN_SENSOR_TP_FILE, tln_ns_pid());
	/* the file's full path, or the absolute truncate pathname */
	if (file) {
		if (!tln_path_resolve(&file->f_path, &res)) {
			plen = tln_copy_res(rec, cur, &res);
			pflags = res.trunc ? TLN_ARG_F_TRUNC : 0;
			have = 1;
		}
	} else if (upath) {
		plen = tln_user_abs_path(rec, cur, upath, &pflags);
		have = plen > 0;
	}
	w.units = units;
	w.flags = tln_uf_path(have, pflags, plen);
	w.dh = dh;
	w.i1 = i1;
	w.i2 = i2;
	__builtin_memset(&rec->sock, 0, sizeof(rec->sock));
	/* selectors and actions of every unit (signals are sent in there) */
	tln_units_run(&w);
	return w.matched || !have;
}

/* security_file_permission(file, mask) of a read/write: the verdict cache
 * first. A task in a listed cgroup (a pod's) goes to the cache before the
 * cgroup lookup: an entry with its cgroup and the current epoch stands for
 * the units that applied (every change of them bumps the epoch), so a cached
 * read costs the fd lookup and one cache lookup. */
static __always_inline int tln_file_rw(__s64 fd, __u64 mask)
{
	struct tln_dispatch *d = tln_zero_lookup(&tln_dispatch);
	struct file *f;
	__u64 units = 0, hm, cg, epoch;
	__u32 bit = tln_fcache_bit(mask);
	int listed;

	if (!d)
		return 0;
	hm = d->hooks[TLN_DH_FILE_PERM];
	if (!hm)
		return 0;
	cg = bpf_get_current_cgroup_id();
	listed = tln_cg_listed(d, cg);
	if (!listed) {
		/* in no pod: only the policies that take every task or host tasks */
		units = (d->all | d->host) & hm;
		if (!units)
			return 0;
	}
	/* the task through BTF: direct loads, no helper call per field */
	f = tln_fd_file_btf(bpf_get_current_task_btf(), fd);
	if (!f)
		return 0;
	epoch = tln_epoch(d);
	if (tln_fcache_op((__u64)f, cg, epoch, bit, 0))
		return 0;
	if (listed) {
		units = tln_units_scope(d, cg) & hm;
		/* a pod no policy of this hook applies to: remembered as well */
		if (!units) {
			tln_fcache_op((__u64)f, cg, epoch, bit, 1);
			return 0;
		}
	}
	if (!tln_file_event(units, TLN_DH_FILE_PERM, f, NULL, mask, 0))
		tln_fcache_op((__u64)f, cg, epoch, bit, 1);
	return 0;
}

/* security_file_permission(file, MAY_READ): read, pread64, readv, preadv, preadv2 */
SEC("tracepoint")
int tln_file_read(struct trace_event_raw_sys_enter *ctx)
{
	return tln_file_rw((__s64)ctx->args[0], TLN_MAY_READ);
}

/* security_file_permission(file, MAY_WRITE): write, pwrite64, writev, pwritev, pwritev2 */
SEC("tracepoint")
int tln_file_write(struct trace_event_raw_sys_enter *ctx)
{
	return tln_file_rw((__s64)ctx->args[0], TLN_MAY_WRITE);
}

/* in-kernel copies read one file and write another without read()/write():
 * judge the source as a read, then the destination as a write */
static __always_inline int tln_file_xfer(__s64 fd_in, __s64 fd_out)
{
	struct tln_dispatch *d = NULL;
	struct file *f;
	__u64 units, cg = 0;

	units = tln_file_gate(TLN_DH_FILE_PERM, &d, &cg);
	if (!units)
		return 0;
	f = tln_fd_file(fd_in);
	if (f)
		tln_file_event(units, TLN_DH_FILE_PERM, f, NULL, TLN_MAY_READ, 0);
	f = tln_fd_file(fd_out);
	if (f)
		tln_file_event(units, TLN_DH_FILE_PERM, f, NULL, TLN_MAY_WRITE, 0);
	return 0;
}

/* copy_file_range(fd_in, off_in, fd_out, ...), splice(fd_in, off_in, fd_out, ...) */
SEC("tracepoint")
int tln_file_copy(struct trace_event_raw_sys_enter *ctx)
{
	return tln_file_xfer((__s64)ctx->args[0], (__s64)ctx->args[2]);
}

/* sendfile64(out_fd, in_fd, offset, count) */
SEC("tracepoint/syscalls/sys_enter_sendfile64")
int tln_file_sendfile(struct trace_event_raw_sys_enter *ctx)
{
	return tln_file_xfer((__s64)ctx->args[1], (__s64)ctx->args[0]);
}

/* security_mmap_file(file, prot, flags): mmap(addr, len, prot, flags, fd, off) */
SEC("tracepoint/syscalls/sys_enter_mmap")
int tln_file_mmap(struct trace_event_raw_sys_enter *ctx)
{
	__u64 prot = ctx->args[2], flags = ctx->args[3], units, cg = 0;
	struct tln_dispatch *d = NULL;
	struct file *f;

	/* anonymous maps have no file: nothing to match */
	if (flags & TLN_MAP_ANONYMOUS)
		return 0;
	units = tln_file_gate(TLN_DH_MMAP_FILE, &d, &cg);
	if (!units)
		return 0;
	f = tln_fd_file((__s64)ctx->args[4]);
	if (!f)
		return 0;
	tln_file_event(units, TLN_DH_MMAP_FILE, f, NULL, prot, flags);
	return 0;
}

/* security_path_truncate(path): truncate(pathname, length) */
SEC("tracepoint/syscalls/sys_enter_truncate")
int tln_file_truncate(struct trace_event_raw_sys_enter *ctx)
{
	const char *upath = (const char *)ctx->args[0];
	struct tln_dispatch *d = NULL;
	__u64 units, cg = 0;

	if (!upath)
		return 0;
	units = tln_file_gate(TLN_DH_PATH_TRUNCATE, &d, &cg);
	if (!units)
		return 0;
	tln_file_event(units, TLN_DH_PATH_TRUNCATE, NULL, upath, 0, 0);
	return 0;
}

/* a rename changes the path of open files: cached verdicts are void, at the
 * entry and the exit of sys_rename, sys_renameat, sys_renameat2 */
SEC("tracepoint")
int tln_file_rename(void *ctx)
{
	tln_epoch_bump();
	return 0;
}
