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
 * One instance per policy (and hook slot): the loader sets the slots below
 * and loads only the programs the policy's hooks need.
 */
#include "lib/tln_common.h"
#include "lib/tln_maps.h"
#include "lib/tln_path.h"
#include "lib/tln_task.h"
#include "lib/tln_eval.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* hook slots in the policy, TLN_NO_SLOT when absent */
const volatile __u8 tln_slot_file_perm = TLN_NO_SLOT;
const volatile __u8 tln_slot_mmap_file = TLN_NO_SLOT;
const volatile __u8 tln_slot_path_truncate = TLN_NO_SLOT;

#define TLN_MAY_WRITE 2
#define TLN_MAY_READ 4
#define TLN_MAP_ANONYMOUS 0x20
#define TLN_SCRATCH_MASK (TLN_DATA_MAX - 1)

/* copies the resolved path into data[cur]; returns its length */
static __always_inline __u32 tln_copy_res(struct tln_hook_rec *rec, __u32 cur,
					  struct tln_pathres *res)
{
	struct tln_pathbuf *pb = tln_pathbuf_get();
	__u32 len = res->len & TLN_PATH_MASK;

	if (!pb)
		return 0;
	if (bpf_probe_read_kernel(&rec->data[cur & TLN_SCRATCH_MASK], len,
				  &pb->buf[res->off & TLN_PATH_MASK]))
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

/* the policy's conf when the hook is in the policy and the policy applies to
 * the current task, else NULL. Checked before anything else (the fd lookup,
 * the path walk): out-of-scope tasks pay a few map lookups and nothing more. */
static __always_inline struct tln_policy_conf *tln_file_gate(__u8 slot)
{
	if (slot == TLN_NO_SLOT)
		return NULL;
	return tln_policy_applies();
}

/* one hit of a file hook (its gate passed): record, selectors, actions, post */
static __always_inline int tln_file_event(struct tln_policy_conf *conf, __u8 slot,
					  struct file *file, const char *upath, __u64 i1, __u64 i2)
{
	struct tln_hook *hook;
	struct tln_hook_rec *rec;
	struct tln_verdict v = {};
	struct tln_pathres res = {};
	__u32 s = slot, cur, poff, plen = 0;
	__u8 pflags = 0, have = 0;

	hook = bpf_map_lookup_elem(&tln_hooks, &s);
	rec = tln_rec();
	if (!hook || !rec)
		return 0;
	cur = tln_rec_begin(rec, slot, hook, TLN_SENSOR_TP_FILE, tln_ns_pid());
	/* the file's full path, or the absolute truncate pathname */
	poff = cur;
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
	cur += plen;
	/* argument values in the order of the hook's args[] */
	tln_fill_file_args(rec, hook, have, poff, plen, pflags, i1, i2);
	__builtin_memset(&rec->sock, 0, sizeof(rec->sock));
	/* selectors and actions (signals are sent in there) */
	if (!tln_eval_hook(conf, hook, rec, 0, &v))
		return 0;
	tln_emit_hook(rec, cur);
	return 0;
}

/* security_file_permission(file, MAY_READ): read, pread64, readv, preadv, preadv2 */
SEC("tracepoint")
int tln_file_read(struct trace_event_raw_sys_enter *ctx)
{
	struct tln_policy_conf *conf = tln_file_gate(tln_slot_file_perm);
	struct file *f;

	if (!conf)
		return 0;
	f = tln_fd_file((__s64)ctx->args[0]);
	if (!f)
		return 0;
	return tln_file_event(conf, tln_slot_file_perm, f, NULL, TLN_MAY_READ, 0);
}

/* security_file_permission(file, MAY_WRITE): write, pwrite64, writev, pwritev, pwritev2 */
SEC("tracepoint")
int tln_file_write(struct trace_event_raw_sys_enter *ctx)
{
	struct tln_policy_conf *conf = tln_file_gate(tln_slot_file_perm);
	struct file *f;

	if (!conf)
		return 0;
	f = tln_fd_file((__s64)ctx->args[0]);
	if (!f)
		return 0;
	return tln_file_event(conf, tln_slot_file_perm, f, NULL, TLN_MAY_WRITE, 0);
}

/* in-kernel copies read one file and write another without read()/write():
 * judge the source as a read, then the destination as a write */
static __always_inline int tln_file_xfer(__s64 fd_in, __s64 fd_out)
{
	struct tln_policy_conf *conf = tln_file_gate(tln_slot_file_perm);
	struct file *f;

	if (!conf)
		return 0;
	f = tln_fd_file(fd_in);
	if (f)
		tln_file_event(conf, tln_slot_file_perm, f, NULL, TLN_MAY_READ, 0);
	f = tln_fd_file(fd_out);
	if (f)
		tln_file_event(conf, tln_slot_file_perm, f, NULL, TLN_MAY_WRITE, 0);
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
	__u64 prot = ctx->args[2], flags = ctx->args[3];
	struct tln_policy_conf *conf;
	struct file *f;

	/* anonymous maps have no file: nothing to match */
	if (flags & TLN_MAP_ANONYMOUS)
		return 0;
	conf = tln_file_gate(tln_slot_mmap_file);
	if (!conf)
		return 0;
	f = tln_fd_file((__s64)ctx->args[4]);
	if (!f)
		return 0;
	return tln_file_event(conf, tln_slot_mmap_file, f, NULL, prot, flags);
}

/* security_path_truncate(path): truncate(pathname, length) */
SEC("tracepoint/syscalls/sys_enter_truncate")
int tln_file_truncate(struct trace_event_raw_sys_enter *ctx)
{
	const char *upath = (const char *)ctx->args[0];
	struct tln_policy_conf *conf;

	if (!upath)
		return 0;
	conf = tln_file_gate(tln_slot_path_truncate);
	if (!conf)
		return 0;
	return tln_file_event(conf, tln_slot_path_truncate, NULL, upath, 0, 0);
}
