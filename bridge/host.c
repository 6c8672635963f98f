/* The C side of the bridge: what libbpf's redirected calls (host.h) become,
 * the log callback, and small wrappers that keep libbpf's option structs out
 * of JavaScript. Compiled with the same flags and forced include as libbpf,
 * so __NR_* values agree with what libbpf passes.
 *
 * The host functions (tln_host_*, bridge/host-lib.js) speak Linux errno
 * numbers, as the kernel does; emscripten's libc has its own numbering
 * (EINVAL is 28, not 22), so both directions are translated here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <emscripten.h>
#include "libbpf.h"

#ifndef __NR_perf_event_open
#error "no __NR_perf_event_open: libbpf.c would not build either"
#endif

/* imported from JavaScript (host-lib.js); a negative return is -errno (Linux) */
extern int tln_host_bpf(int cmd, void *attr, unsigned int size);
extern int tln_host_perf_event_open(void *attr, int pid, int cpu, int group_fd, unsigned long flags);
extern int tln_host_close(int fd);
extern void tln_host_log(int level, const char *msg, int len);

/* fds the host hands out start here, far above the few emscripten opens */
#define TLN_FD_BASE 1000

/* Linux errno -> this libc's, for the values the kernel's bpf(2) returns */
static int from_linux(int e)
{
	switch (e) {
	case 1: return EPERM;	case 2: return ENOENT;	case 3: return ESRCH;
	case 4: return EINTR;	case 5: return EIO;	case 6: return ENXIO;
	case 7: return E2BIG;	case 9: return EBADF;	case 11: return EAGAIN;
	case 12: return ENOMEM;	case 13: return EACCES;	case 14: return EFAULT;
	case 16: return EBUSY;	case 17: return EEXIST;	case 19: return ENODEV;
	case 22: return EINVAL;	case 24: return EMFILE;	case 25: return ENOTTY;
	case 28: return ENOSPC;	case 34: return ERANGE;	case 38: return ENOSYS;
	case 71: return EPROTO;	case 75: return EOVERFLOW; case 95: return EOPNOTSUPP;
	default: return e;	/* kernel-internal ones (ENOTSUPP 524) have no libc name */
	}
}

/* this libc's errno -> Linux, for results handed back to JavaScript */
EMSCRIPTEN_KEEPALIVE int tln_linux_errno(int e)
{
	static const int linux_nums[] = { 1, 2, 3, 4, 5, 6, 7, 9, 11, 12, 13, 14, 16, 17, 19, 22, 24, 25, 28, 34, 38, 71, 75, 95 };
	for (unsigned i = 0; i < sizeof(linux_nums) / sizeof(linux_nums[0]); i++)
		if (from_linux(linux_nums[i]) == e)
			return linux_nums[i];
	return e;
}

static long host_result(int r)
{
	if (r < 0) {
		errno = from_linux(-r);
		return -1;
	}
	return r;
}

long tln_syscall(long nr, ...)
{
	va_list ap;
	long r;

	va_start(ap, nr);
	if (nr == __NR_bpf) {
		int cmd = va_arg(ap, int);
		void *attr = va_arg(ap, void *);
		unsigned int size = va_arg(ap, unsigned int);
		r = host_result(tln_host_bpf(cmd, attr, size));
	} else if (nr == __NR_perf_event_open) {
		void *attr = va_arg(ap, void *);
		int pid = va_arg(ap, int);
		int cpu = va_arg(ap, int);
		int group_fd = va_arg(ap, int);
		unsigned long flags = va_arg(ap, unsigned long);
		r = host_result(tln_host_perf_event_open(attr, pid, cpu, group_fd, flags));
	} else {
		errno = ENOSYS;
		r = -1;
	}
	va_end(ap);
	return r;
}

#undef close
int tln_close(int fd)
{
	if (fd >= TLN_FD_BASE)
		return (int)host_result(tln_host_close(fd));
	return close(fd);
}

static int print_cb(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[1024];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	if (n < 0)
		return n;
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	tln_host_log((int)level, buf, n);
	return n;
}

EMSCRIPTEN_KEEPALIVE void tln_init(void)
{
	libbpf_set_print(print_cb);
}

/* bpf_object__open_mem with the object's name; NULL and errno (Linux) set on failure */
EMSCRIPTEN_KEEPALIVE struct bpf_object *tln_obj_open(const void *buf, size_t size, const char *name)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name);
	struct bpf_object *obj = bpf_object__open_mem(buf, size, &opts);
	long err = libbpf_get_error(obj);

	if (err) {
		errno = tln_linux_errno((int)-err);
		return NULL;
	}
	return obj;
}

/* bpf_object__load; 0 or -errno (Linux) */
EMSCRIPTEN_KEEPALIVE int tln_obj_load(struct bpf_object *obj)
{
	int err = bpf_object__load(obj);

	return err < 0 ? -tln_linux_errno(-err) : err;
}

EMSCRIPTEN_KEEPALIVE int tln_errno(void)
{
	return tln_linux_errno(errno);
}
