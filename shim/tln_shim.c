// SPDX-License-Identifier: Apache-2.0
/*
 * tln_shim: a Node addon (node-api, C) over the system libbpf. Policy-agnostic:
 * it knows nothing of selectors or images, only of BPF objects, maps, links
 * and the ring buffer. Everything it creates lives in fds held by this
 * process (no pinning), so nothing outlives the agent.
 *
 * JS API (see src/kernel/shim.ts for the typed wrapper):
 *   probe() -> { feature: boolean | string, ... }
 *   ensureMount(fstype, target) -> 'present' | 'mounted'
 *   objLoad(path, { name?, rodata?: {var: number|bigint|Buffer}, reuse?: {map: fd},
 *           programs?: string[] }) -> { handle, progs: {name: fd}, maps: {name: fd} }
 *   objClose(handle)
 *   attach(handle, prog) -> link          (section-defined target: tp_btf, tracepoint/x/y)
 *   attachTracepoint(handle, prog, category, name) -> link
 *   attachCgroup(handle, prog, cgroupPath) -> link
 *   attachUprobe(handle, prog, path, symbol, retprobe, pid) -> link   (pid -1: every process)
 *   linkDestroy(link)
 *   mapCreate(type, name, keySize, valueSize, maxEntries, flags) -> fd
 *   mapUpdate(fd, key, value, flags?)   mapUpdateBatch(fd, keys, values, count) -> count
 *   mapLookup(fd, key, valueSize) -> Buffer | null   mapDelete(fd, key) -> boolean
 *   mapNextKey(fd, key | null, keySize) -> Buffer | null
 *   mapInfo(fd) -> { id, type, keySize, valueSize, maxEntries, flags, name }
 *   fdMemlock(fd) -> number (bytes, /proc/self/fdinfo)   closeFd(fd)
 *   ringbufOpen(fd, cb(records: Buffer[])) -> id   ringbufClose(id)
 *   numPossibleCpus() -> number
 * Errors are Error objects with .errno, .code (errno name) and, for loads,
 * .log (the verifier log) and .libbpf (libbpf's messages).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <node_api.h>

#define TLN_LOG_SIZE (1u << 20)
#define TLN_MAX_OBJS 1024
#define TLN_MAX_LINKS 4096
#define TLN_MAX_RBS 16

/* ---- libbpf messages: captured per thread, printed only with TLN_SHIM_DEBUG */

static __thread char lbpf_msgs[8192];
static __thread size_t lbpf_len;
static int lbpf_debug;

static int lbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	if (lbpf_debug) {
		va_copy(ap2, ap);
		vfprintf(stderr, fmt, ap2);
		va_end(ap2);
	}
	if (level == LIBBPF_DEBUG)
		return 0;
	if (lbpf_len < sizeof(lbpf_msgs) - 1) {
		n = vsnprintf(lbpf_msgs + lbpf_len, sizeof(lbpf_msgs) - lbpf_len, fmt, ap);
		if (n > 0)
			lbpf_len += (size_t)n;
		if (lbpf_len > sizeof(lbpf_msgs) - 1)
			lbpf_len = sizeof(lbpf_msgs) - 1;
	}
	return 0;
}

static void lbpf_reset(void)
{
	lbpf_len = 0;
	lbpf_msgs[0] = 0;
}

/* ---- napi helpers -------------------------------------------------------- */

#define NAPI_OK(call)                                                                  \
	do {                                                                           \
		if ((call) != napi_ok) {                                               \
			napi_throw_error(env, NULL, "tln_shim: napi call failed: " #call); \
			return NULL;                                                   \
		}                                                                      \
	} while (0)

static const char *errno_code(int err)
{
	switch (err) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case EACCES: return "EACCES";
	case EBADF: return "EBADF";
	case E2BIG: return "E2BIG";
	case ENOMEM: return "ENOMEM";
	case EEXIST: return "EEXIST";
	case ENOSPC: return "ENOSPC";
	case EBUSY: return "EBUSY";
	case ENOTSUP: return "ENOTSUP";
	case ESRCH: return "ESRCH";
	case ENODEV: return "ENODEV";
	case EFAULT: return "EFAULT";
	case 524: return "ENOTSUPP";
	default: return "EUNKNOWN";
	}
}

/* throws Error(msg: strerror) with errno/code and optional log/libbpf text */
static void throw_err(napi_env env, int err, const char *log, const char *fmt, ...)
{
	char msg[1024], full[1400];
	napi_value e, m, v;
	va_list ap;

	if (err < 0)
		err = -err;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s: %s", msg, err ? strerror(err) : "failed");
	napi_create_string_utf8(env, full, NAPI_AUTO_LENGTH, &m);
	napi_create_error(env, NULL, m, &e);
	napi_create_int32(env, err, &v);
	napi_set_named_property(env, e, "errno", v);
	napi_create_string_utf8(env, errno_code(err), NAPI_AUTO_LENGTH, &v);
	napi_set_named_property(env, e, "code", v);
	if (log) {
		napi_create_string_utf8(env, log, NAPI_AUTO_LENGTH, &v);
		napi_set_named_property(env, e, "log", v);
	}
	if (lbpf_len) {
		napi_create_string_utf8(env, lbpf_msgs, lbpf_len, &v);
		napi_set_named_property(env, e, "libbpf", v);
	}
	napi_throw(env, e);
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv)
{
	size_t argc = want;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)
		return -1;
	for (size_t i = argc; i < want; i++)
		napi_get_undefined(env, &argv[i]);
	return 0;
}

static int get_i64(napi_env env, napi_value v, int64_t *out)
{
	napi_valuetype t;
	bool lossless;

	napi_typeof(env, v, &t);
	if (t == napi_bigint)
		return napi_get_value_bigint_int64(env, v, out, &lossless) == napi_ok ? 0 : -1;
	if (t == napi_boolean) {
		bool b;
		napi_get_value_bool(env, v, &b);
		*out = b;
		return 0;
	}
	return napi_get_value_int64(env, v, out) == napi_ok ? 0 : -1;
}

static int get_u32(napi_env env, napi_value v, uint32_t *out)
{
	return napi_get_value_uint32(env, v, out) == napi_ok ? 0 : -1;
}

static int get_i32(napi_env env, napi_value v, int32_t *out)
{
	return napi_get_value_int32(env, v, out) == napi_ok ? 0 : -1;
}

/* a malloc'd C string from a JS string */
static char *get_str(napi_env env, napi_value v)
{
	size_t len;
	char *s;

	if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok)
		return NULL;
	s = malloc(len + 1);
	if (!s)
		return NULL;
	napi_get_value_string_utf8(env, v, s, len + 1, &len);
	return s;
}

static int get_buf(napi_env env, napi_value v, void **data, size_t *len)
{
	bool is;

	if (napi_is_buffer(env, v, &is) != napi_ok || !is)
		return -1;
	return napi_get_buffer_info(env, v, data, len) == napi_ok ? 0 : -1;
}

static napi_value mk_i32(napi_env env, int32_t x)
{
	napi_value v;

	napi_create_int32(env, x, &v);
	return v;
}

static napi_value mk_f64(napi_env env, double x)
{
	napi_value v;

	napi_create_double(env, x, &v);
	return v;
}

static napi_value mk_bool(napi_env env, bool x)
{
	napi_value v;

	napi_get_boolean(env, x, &v);
	return v;
}

static napi_value mk_str(napi_env env, const char *s)
{
	napi_value v;

	napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
	return v;
}

static void set_prop(napi_env env, napi_value obj, const char *k, napi_value v)
{
	napi_set_named_property(env, obj, k, v);
}

/* ---- handle tables ------------------------------------------------------- */

static struct bpf_object *objs[TLN_MAX_OBJS];
static struct bpf_link *links[TLN_MAX_LINKS];

static int obj_put(struct bpf_object *o)
{
	for (int i = 1; i < TLN_MAX_OBJS; i++)
		if (!objs[i]) {
			objs[i] = o;
			return i;
		}
	return -1;
}

static struct bpf_object *obj_get(napi_env env, napi_value v)
{
	int32_t h;

	if (get_i32(env, v, &h) || h <= 0 || h >= TLN_MAX_OBJS || !objs[h]) {
		napi_throw_error(env, "EBADF", "tln_shim: bad object handle");
		return NULL;
	}
	return objs[h];
}

static int link_put(struct bpf_link *l)
{
	for (int i = 1; i < TLN_MAX_LINKS; i++)
		if (!links[i]) {
			links[i] = l;
			return i;
		}
	return -1;
}

/* ---- probes -------------------------------------------------------------- */

static int file_exists(const char *p)
{
	return access(p, F_OK) == 0;
}

/* loads a tiny program; returns 1 loaded, 0 refused (log/errno kept), <0 setup error */
static int try_prog(enum bpf_prog_type type, enum bpf_attach_type eat, __u32 btf_id,
		    const struct bpf_insn *insns, size_t cnt, char *log, size_t logsz, int *err)
{
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = eat, .attach_btf_id = btf_id,
		    .log_buf = log, .log_size = (__u32)logsz, .log_level = log ? 1 : 0);
	int fd;

	if (log)
		log[0] = 0;
	fd = bpf_prog_load(type, NULL, "GPL", insns, cnt, &o);
	if (fd >= 0) {
		close(fd);
		*err = 0;
		return 1;
	}
	*err = errno;
	/* a log too small for the message still tells what we need */
	if (*err == ENOSPC && log && log[0])
		return 0;
	return 0;
}

#define INSN_MOV64_IMM(dst, imm) ((struct bpf_insn){ BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm })
#define INSN_MOV64_REG(dst, src) ((struct bpf_insn){ BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0 })
#define INSN_CALL(id) ((struct bpf_insn){ BPF_JMP | BPF_CALL, 0, 0, 0, id })
#define INSN_EXIT() ((struct bpf_insn){ BPF_JMP | BPF_EXIT, 0, 0, 0, 0 })

/* a helper call with args set to zero, r1 = ctx when ctx_first */
static int probe_helper(enum bpf_prog_type type, enum bpf_attach_type eat, int helper,
			int ctx_first, int nargs, int ret)
{
	struct bpf_insn insns[8];
	char log[4096];
	int n = 0, err, i;

	for (i = 1; i <= nargs; i++)
		if (!(i == 1 && ctx_first))
			insns[n++] = INSN_MOV64_IMM(i, 0);
	insns[n++] = INSN_CALL(helper);
	insns[n++] = INSN_MOV64_IMM(0, ret);
	insns[n++] = INSN_EXIT();
	if (try_prog(type, eat, 0, insns, n, log, sizeof(log), &err) == 1)
		return 1;
	return 0;
}

/* a helper that exists but whose args we cannot build: judged from the log */
static int probe_helper_log(enum bpf_prog_type type, int helper)
{
	struct bpf_insn insns[] = { INSN_MOV64_IMM(1, 0), INSN_MOV64_IMM(2, 0), INSN_MOV64_IMM(3, 0),
				    INSN_MOV64_IMM(4, 0), INSN_CALL(helper), INSN_MOV64_IMM(0, 0),
				    INSN_EXIT() };
	char log[4096];
	int err;

	if (try_prog(type, 0, 0, insns, sizeof(insns) / sizeof(insns[0]), log, sizeof(log), &err) == 1)
		return 1;
	if (!log[0])
		return 0;
	if (strstr(log, "unknown func") || strstr(log, "invalid func") ||
	    strstr(log, "cannot use helper") || strstr(log, "not supported"))
		return 0;
	return 1;
}

/* a BTF-attached program (fentry, lsm, tp_btf) returning 0 */
static int probe_btf_prog(enum bpf_prog_type type, enum bpf_attach_type eat, const char *fn,
			  char *why, size_t whysz)
{
	struct bpf_insn insns[] = { INSN_MOV64_IMM(0, 0), INSN_EXIT() };
	char log[4096];
	int id, err;

	id = libbpf_find_vmlinux_btf_id(fn, eat);
	if (id < 0) {
		snprintf(why, whysz, "no BTF id for %s", fn);
		return 0;
	}
	if (try_prog(type, eat, id, insns, 2, log, sizeof(log), &err) == 1)
		return 1;
	snprintf(why, whysz, "load refused: %s%s%.200s", strerror(err), log[0] ? ": " : "", log);
	return 0;
}

static int str_in_file(const char *path, const char *word)
{
	char buf[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return strstr(buf, word) != NULL;
}

static napi_value js_probe(napi_env env, napi_callback_info info)
{
	napi_value r;
	char why[512];
	struct utsname u;
	int ok;

	lbpf_reset();
	NAPI_OK(napi_create_object(env, &r));
	if (uname(&u) == 0)
		set_prop(env, r, "release", mk_str(env, u.release));
	set_prop(env, r, "btf", mk_bool(env, file_exists("/sys/kernel/btf/vmlinux")));
	/* the bpf() syscall at all */
	ok = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_ARRAY, NULL) == 1;
	set_prop(env, r, "bpf", mk_bool(env, ok));
	if (!ok) {
		set_prop(env, r, "bpfError", mk_str(env, strerror(errno)));
		return r;
	}
	set_prop(env, r, "ringbuf", mk_bool(env, libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1));
	set_prop(env, r, "lpmTrie", mk_bool(env, libbpf_probe_bpf_map_type(BPF_MAP_TYPE_LPM_TRIE, NULL) == 1));
	set_prop(env, r, "lruHash", mk_bool(env, libbpf_probe_bpf_map_type(BPF_MAP_TYPE_LRU_HASH, NULL) == 1));
	set_prop(env, r, "tracepoint", mk_bool(env, libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, NULL) == 1));
	set_prop(env, r, "cgroupSockAddr",
		 mk_bool(env, libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, NULL) == 1));
	/* helpers: a valid call each, so the load itself answers */
	set_prop(env, r, "sendSignal",
		 mk_bool(env, probe_helper(BPF_PROG_TYPE_TRACEPOINT, 0, BPF_FUNC_send_signal, 0, 1, 0)));
	set_prop(env, r, "overrideReturn",
		 mk_bool(env, probe_helper(BPF_PROG_TYPE_KPROBE, 0, BPF_FUNC_override_return, 1, 2, 0)));
	set_prop(env, r, "setRetval",
		 mk_bool(env, probe_helper(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT,
					   BPF_FUNC_set_retval, 0, 1, 1)));
	set_prop(env, r, "bpfLoop", mk_bool(env, probe_helper_log(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_loop)));
	set_prop(env, r, "snprintf", mk_bool(env, probe_helper_log(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_snprintf)));
	/* BTF-attached program kinds: a tiny program each */
	why[0] = 0;
	ok = probe_btf_prog(BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, "sched_process_exec", why, sizeof(why));
	set_prop(env, r, "tpBtf", mk_bool(env, ok));
	if (!ok)
		set_prop(env, r, "tpBtfError", mk_str(env, why));
	ok = probe_btf_prog(BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, "security_file_permission", why, sizeof(why));
	set_prop(env, r, "fentry", mk_bool(env, ok));
	if (!ok)
		set_prop(env, r, "fentryError", mk_str(env, why));
	ok = probe_btf_prog(BPF_PROG_TYPE_LSM, BPF_LSM_MAC, "file_permission", why, sizeof(why));
	if (ok && !str_in_file("/sys/kernel/security/lsm", "bpf")) {
		ok = 0;
		snprintf(why, sizeof(why), "bpf is not in /sys/kernel/security/lsm (boot with lsm=...,bpf)");
	}
	set_prop(env, r, "lsm", mk_bool(env, ok));
	if (!ok)
		set_prop(env, r, "lsmError", mk_str(env, why));
	/* kprobes and uprobes: their perf PMUs (what libbpf attaches through) */
	ok = file_exists("/sys/bus/event_source/devices/kprobe/type") ||
	     file_exists("/sys/kernel/tracing/kprobe_events") ||
	     file_exists("/sys/kernel/debug/tracing/kprobe_events");
	set_prop(env, r, "kprobes", mk_bool(env, ok));
	set_prop(env, r, "uprobes", mk_bool(env, file_exists("/sys/bus/event_source/devices/uprobe/type")));
	return r;
}

/* ---- mounts -------------------------------------------------------------- */

static napi_value js_ensure_mount(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	char *type = NULL, *target = NULL;
	struct statfs st;
	long magic = 0;
	napi_value res = NULL;

	if (get_args(env, info, 2, argv))
		return NULL;
	type = get_str(env, argv[0]);
	target = get_str(env, argv[1]);
	if (!type || !target) {
		napi_throw_type_error(env, NULL, "ensureMount(fstype, target)");
		goto out;
	}
	if (!strcmp(type, "bpf"))
		magic = 0xcafe4a11;
	else if (!strcmp(type, "tracefs"))
		magic = 0x74726163;
	else if (!strcmp(type, "securityfs"))
		magic = 0x73636673;
	if (statfs(target, &st) == 0 && magic && (long)st.f_type == magic) {
		res = mk_str(env, "present");
		goto out;
	}
	if (mount(type, target, type, 0, NULL)) {
		throw_err(env, errno, NULL, "mount -t %s %s %s", type, type, target);
		goto out;
	}
	res = mk_str(env, "mounted");
out:
	free(type);
	free(target);
	return res;
}

/* ---- objects ------------------------------------------------------------- */

/* writes len bytes into the .rodata variable `name`; exact: len must be its
 * size (else the low bytes of a little-endian integer); -ENOENT when absent */
static int set_rodata_bytes(struct bpf_object *obj, const char *name, const void *data,
			    size_t len, bool exact)
{
	const struct btf *btf = bpf_object__btf(obj);
	const struct btf_type *sec, *var;
	const struct btf_var_secinfo *vs;
	struct bpf_map *map, *ro = NULL;
	const void *init;
	size_t size;
	char *copy;
	int id, i, err;

	bpf_object__for_each_map(map, obj) {
		const char *mn = bpf_map__name(map);
		size_t l = strlen(mn);
		if (l >= 7 && !strcmp(mn + l - 7, ".rodata"))
			ro = map;
	}
	if (!btf || !ro)
		return -ENOENT;
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (id < 0)
		return -ENOENT;
	sec = btf__type_by_id(btf, id);
	vs = btf_var_secinfos(sec);
	for (i = 0; i < btf_vlen(sec); i++, vs++) {
		var = btf__type_by_id(btf, vs->type);
		if (strcmp(btf__name_by_offset(btf, var->name_off), name))
			continue;
		init = bpf_map__initial_value(ro, &size);
		if (!init || vs->offset + vs->size > size)
			return -EINVAL;
		if (exact && len != vs->size)
			return -EMSGSIZE;
		copy = malloc(size);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, init, size);
		/* little-endian integers: their low bytes */
		memcpy(copy + vs->offset, data, vs->size <= len ? vs->size : len);
		err = bpf_map__set_initial_value(ro, copy, size);
		free(copy);
		return err;
	}
	return -ENOENT;
}

static int set_rodata(struct bpf_object *obj, const char *name, int64_t value)
{
	return set_rodata_bytes(obj, name, &value, sizeof(value), false);
}

static napi_value js_obj_load(napi_env env, napi_callback_info info)
{
	napi_value argv[2], opts, v, keys, r, progs, maps;
	napi_valuetype t;
	struct bpf_object *obj = NULL;
	struct bpf_program *prog;
	struct bpf_map *map;
	char *path = NULL, *oname = NULL, *log = NULL, *k = NULL;
	uint32_t n, i;
	int err, h;
	bool has;

	if (get_args(env, info, 2, argv))
		return NULL;
	lbpf_reset();
	path = get_str(env, argv[0]);
	if (!path) {
		napi_throw_type_error(env, NULL, "objLoad(path, opts)");
		return NULL;
	}
	opts = argv[1];
	napi_typeof(env, opts, &t);
	if (t != napi_object)
		napi_create_object(env, &opts);
	napi_has_named_property(env, opts, "name", &has);
	if (has) {
		napi_get_named_property(env, opts, "name", &v);
		oname = get_str(env, v);
	}
	log = calloc(1, TLN_LOG_SIZE);
	if (!log) {
		throw_err(env, ENOMEM, NULL, "objLoad %s", path);
		goto out;
	}
	{
		LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = oname, .kernel_log_buf = log,
			    .kernel_log_size = TLN_LOG_SIZE, .kernel_log_level = 0);
		obj = bpf_object__open_file(path, &oo);
	}
	if (!obj) {
		throw_err(env, errno, NULL, "open %s", path);
		goto out;
	}
	/* read-only constants */
	napi_has_named_property(env, opts, "rodata", &has);
	if (has) {
		napi_get_named_property(env, opts, "rodata", &v);
		napi_get_property_names(env, v, &keys);
		napi_get_array_length(env, keys, &n);
		for (i = 0; i < n; i++) {
			napi_value kv, vv;
			int64_t x;
			void *bytes;
			size_t blen;
			napi_get_element(env, keys, i, &kv);
			k = get_str(env, kv);
			napi_get_property(env, v, kv, &vv);
			if (k && !get_buf(env, vv, &bytes, &blen)) {
				/* a struct: exactly its bytes */
				err = set_rodata_bytes(obj, k, bytes, blen, true);
			} else if (!k || get_i64(env, vv, &x)) {
				throw_err(env, EINVAL, NULL, "%s: rodata %s: not a number or a Buffer", path, k ? k : "?");
				goto fail;
			} else {
				err = set_rodata(obj, k, x);
			}
			if (err) {
				throw_err(env, err, NULL, "%s: rodata variable %s", path, k);
				goto fail;
			}
			free(k);
			k = NULL;
		}
	}
	/* maps the caller already created: reuse their fds */
	napi_has_named_property(env, opts, "reuse", &has);
	if (has) {
		napi_get_named_property(env, opts, "reuse", &v);
		napi_get_property_names(env, v, &keys);
		napi_get_array_length(env, keys, &n);
		for (i = 0; i < n; i++) {
			napi_value kv, vv;
			int32_t fd;
			napi_get_element(env, keys, i, &kv);
			k = get_str(env, kv);
			napi_get_property(env, v, kv, &vv);
			if (!k || get_i32(env, vv, &fd)) {
				throw_err(env, EINVAL, NULL, "%s: reuse %s: not an fd", path, k ? k : "?");
				goto fail;
			}
			map = bpf_object__find_map_by_name(obj, k);
			if (!map) {
				/* an object that does not use this map: nothing to reuse */
				free(k);
				k = NULL;
				continue;
			}
			err = bpf_map__reuse_fd(map, fd);
			if (err) {
				throw_err(env, err, NULL, "%s: reuse map %s (fd %d)", path, k, fd);
				goto fail;
			}
			free(k);
			k = NULL;
		}
	}
	/* only the programs asked for */
	napi_has_named_property(env, opts, "programs", &has);
	if (has) {
		napi_value arr;
		napi_get_named_property(env, opts, "programs", &arr);
		napi_get_array_length(env, arr, &n);
		bpf_object__for_each_program(prog, obj) {
			bool want = false;
			for (i = 0; i < n && !want; i++) {
				napi_value e;
				char *pn;
				napi_get_element(env, arr, i, &e);
				pn = get_str(env, e);
				if (pn && !strcmp(pn, bpf_program__name(prog)))
					want = true;
				free(pn);
			}
			bpf_program__set_autoload(prog, want);
		}
	}
	/* load: verifier log on failure */
	err = bpf_object__load(obj);
	if (err) {
		throw_err(env, err, log, "load %s", path);
		goto fail;
	}
	h = obj_put(obj);
	if (h < 0) {
		throw_err(env, EMFILE, NULL, "load %s: too many objects", path);
		goto fail;
	}
	napi_create_object(env, &r);
	set_prop(env, r, "handle", mk_i32(env, h));
	napi_create_object(env, &progs);
	bpf_object__for_each_program(prog, obj) {
		if (bpf_program__fd(prog) >= 0)
			set_prop(env, progs, bpf_program__name(prog), mk_i32(env, bpf_program__fd(prog)));
	}
	set_prop(env, r, "progs", progs);
	napi_create_object(env, &maps);
	bpf_object__for_each_map(map, obj) {
		set_prop(env, maps, bpf_map__name(map), mk_i32(env, bpf_map__fd(map)));
	}
	set_prop(env, r, "maps", maps);
	free(path);
	free(oname);
	free(log);
	return r;
fail:
	free(k);
	bpf_object__close(obj);
out:
	free(path);
	free(oname);
	free(log);
	return NULL;
}

static napi_value js_obj_close(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	int32_t h;

	if (get_args(env, info, 1, argv) || get_i32(env, argv[0], &h))
		return NULL;
	if (h > 0 && h < TLN_MAX_OBJS && objs[h]) {
		bpf_object__close(objs[h]);
		objs[h] = NULL;
	}
	return NULL;
}

static struct bpf_program *find_prog(napi_env env, struct bpf_object *obj, napi_value name)
{
	char *pn = get_str(env, name);
	struct bpf_program *p = pn ? bpf_object__find_program_by_name(obj, pn) : NULL;

	if (!p)
		throw_err(env, ENOENT, NULL, "program %s", pn ? pn : "?");
	free(pn);
	return p;
}

static napi_value link_result(napi_env env, struct bpf_link *l, const char *what, const char *prog)
{
	int id;

	if (!l) {
		throw_err(env, errno, NULL, "attach %s %s", prog, what);
		return NULL;
	}
	id = link_put(l);
	if (id < 0) {
		bpf_link__destroy(l);
		throw_err(env, EMFILE, NULL, "attach %s: too many links", prog);
		return NULL;
	}
	return mk_i32(env, id);
}

static napi_value js_attach(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct bpf_object *obj;
	struct bpf_program *p;

	if (get_args(env, info, 2, argv))
		return NULL;
	lbpf_reset();
	obj = obj_get(env, argv[0]);
	if (!obj)
		return NULL;
	p = find_prog(env, obj, argv[1]);
	if (!p)
		return NULL;
	return link_result(env, bpf_program__attach(p), bpf_program__section_name(p), bpf_program__name(p));
}

static napi_value js_attach_tracepoint(napi_env env, napi_callback_info info)
{
	napi_value argv[4], res;
	struct bpf_object *obj;
	struct bpf_program *p;
	char *cat, *name, what[256];

	if (get_args(env, info, 4, argv))
		return NULL;
	lbpf_reset();
	obj = obj_get(env, argv[0]);
	if (!obj)
		return NULL;
	p = find_prog(env, obj, argv[1]);
	if (!p)
		return NULL;
	cat = get_str(env, argv[2]);
	name = get_str(env, argv[3]);
	snprintf(what, sizeof(what), "tracepoint/%s/%s", cat ? cat : "?", name ? name : "?");
	res = link_result(env, cat && name ? bpf_program__attach_tracepoint(p, cat, name) : NULL, what,
			  bpf_program__name(p));
	free(cat);
	free(name);
	return res;
}

/* attachUprobe(handle, prog, path, symbol, retprobe, pid): libbpf resolves the
 * symbol in the ELF file (errno ENOENT when the file or the symbol is missing) */
static napi_value js_attach_uprobe(napi_env env, napi_callback_info info)
{
	napi_value argv[6], res;
	struct bpf_object *obj;
	struct bpf_program *p;
	char *path, *sym, what[512];
	bool ret = false;
	int32_t pid = -1;
	napi_valuetype t;

	if (get_args(env, info, 6, argv))
		return NULL;
	lbpf_reset();
	obj = obj_get(env, argv[0]);
	if (!obj)
		return NULL;
	p = find_prog(env, obj, argv[1]);
	if (!p)
		return NULL;
	napi_typeof(env, argv[4], &t);
	if (t == napi_boolean)
		napi_get_value_bool(env, argv[4], &ret);
	napi_typeof(env, argv[5], &t);
	if (t == napi_number && get_i32(env, argv[5], &pid))
		pid = -1;
	path = get_str(env, argv[2]);
	sym = get_str(env, argv[3]);
	snprintf(what, sizeof(what), "%s %s:%s", ret ? "uretprobe" : "uprobe", path ? path : "?", sym ? sym : "?");
	if (path && sym) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = sym, .retprobe = ret);
		res = link_result(env, bpf_program__attach_uprobe_opts(p, pid, path, 0, &uo), what,
				  bpf_program__name(p));
	} else {
		res = link_result(env, NULL, what, bpf_program__name(p));
	}
	free(path);
	free(sym);
	return res;
}

static napi_value js_attach_cgroup(napi_env env, napi_callback_info info)
{
	napi_value argv[3], res;
	struct bpf_object *obj;
	struct bpf_program *p;
	char *path;
	int fd;

	if (get_args(env, info, 3, argv))
		return NULL;
	lbpf_reset();
	obj = obj_get(env, argv[0]);
	if (!obj)
		return NULL;
	p = find_prog(env, obj, argv[1]);
	if (!p)
		return NULL;
	path = get_str(env, argv[2]);
	if (!path)
		return NULL;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		throw_err(env, errno, NULL, "open cgroup %s", path);
		free(path);
		return NULL;
	}
	/* a bpf_link: detached when its fd closes (BPF_F_ALLOW_MULTI semantics) */
	res = link_result(env, bpf_program__attach_cgroup(p, fd), path, bpf_program__name(p));
	close(fd);
	free(path);
	return res;
}

static napi_value js_link_destroy(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	int32_t id;

	if (get_args(env, info, 1, argv) || get_i32(env, argv[0], &id))
		return NULL;
	if (id > 0 && id < TLN_MAX_LINKS && links[id]) {
		bpf_link__destroy(links[id]);
		links[id] = NULL;
	}
	return NULL;
}

/* ---- maps ---------------------------------------------------------------- */

static napi_value js_map_create(napi_env env, napi_callback_info info)
{
	napi_value argv[6];
	uint32_t type, ks, vs, me, flags;
	char *name;
	int fd;

	if (get_args(env, info, 6, argv))
		return NULL;
	name = get_str(env, argv[1]);
	if (get_u32(env, argv[0], &type) || !name || get_u32(env, argv[2], &ks) ||
	    get_u32(env, argv[3], &vs) || get_u32(env, argv[4], &me) || get_u32(env, argv[5], &flags)) {
		free(name);
		napi_throw_type_error(env, NULL, "mapCreate(type, name, keySize, valueSize, maxEntries, flags)");
		return NULL;
	}
	{
		LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = flags);
		fd = bpf_map_create(type, name, ks, vs, me, &mo);
	}
	if (fd < 0) {
		throw_err(env, errno, NULL, "create map %s (type %u, key %u, value %u, entries %u, flags 0x%x)",
			  name, type, ks, vs, me, flags);
		free(name);
		return NULL;
	}
	free(name);
	return mk_i32(env, fd);
}

static napi_value js_map_update(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	int32_t fd;
	uint32_t flags = 0;
	void *k, *v;
	size_t kl, vl;
	napi_valuetype t;

	if (get_args(env, info, 4, argv))
		return NULL;
	if (get_i32(env, argv[0], &fd) || get_buf(env, argv[1], &k, &kl) || get_buf(env, argv[2], &v, &vl)) {
		napi_throw_type_error(env, NULL, "mapUpdate(fd, key: Buffer, value: Buffer, flags?)");
		return NULL;
	}
	napi_typeof(env, argv[3], &t);
	if (t == napi_number)
		get_u32(env, argv[3], &flags);
	if (bpf_map_update_elem(fd, k, v, flags)) {
		throw_err(env, errno, NULL, "map update (fd %d)", fd);
		return NULL;
	}
	return NULL;
}

static napi_value js_map_update_batch(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	int32_t fd;
	uint32_t count;
	void *k, *v;
	size_t kl, vl;

	if (get_args(env, info, 4, argv))
		return NULL;
	if (get_i32(env, argv[0], &fd) || get_buf(env, argv[1], &k, &kl) ||
	    get_buf(env, argv[2], &v, &vl) || get_u32(env, argv[3], &count)) {
		napi_throw_type_error(env, NULL, "mapUpdateBatch(fd, keys, values, count)");
		return NULL;
	}
	{
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		__u32 c = count;
		if (bpf_map_update_batch(fd, k, v, &c, &bo)) {
			throw_err(env, errno, NULL, "map batch update (fd %d, %u entries, %u done)", fd, count, c);
			return NULL;
		}
		return mk_f64(env, c);
	}
}

static napi_value js_map_lookup(napi_env env, napi_callback_info info)
{
	napi_value argv[3], out;
	int32_t fd;
	uint32_t vs;
	void *k, *data;
	size_t kl;

	if (get_args(env, info, 3, argv))
		return NULL;
	if (get_i32(env, argv[0], &fd) || get_buf(env, argv[1], &k, &kl) || get_u32(env, argv[2], &vs)) {
		napi_throw_type_error(env, NULL, "mapLookup(fd, key, valueSize)");
		return NULL;
	}
	NAPI_OK(napi_create_buffer(env, vs, &data, &out));
	if (bpf_map_lookup_elem(fd, k, data)) {
		if (errno == ENOENT) {
			napi_get_null(env, &out);
			return out;
		}
		throw_err(env, errno, NULL, "map lookup (fd %d)", fd);
		return NULL;
	}
	return out;
}

static napi_value js_map_delete(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	int32_t fd;
	void *k;
	size_t kl;

	if (get_args(env, info, 2, argv))
		return NULL;
	if (get_i32(env, argv[0], &fd) || get_buf(env, argv[1], &k, &kl)) {
		napi_throw_type_error(env, NULL, "mapDelete(fd, key)");
		return NULL;
	}
	if (bpf_map_delete_elem(fd, k)) {
		if (errno == ENOENT)
			return mk_bool(env, false);
		throw_err(env, errno, NULL, "map delete (fd %d)", fd);
		return NULL;
	}
	return mk_bool(env, true);
}

static napi_value js_map_next_key(napi_env env, napi_callback_info info)
{
	napi_value argv[3], out;
	int32_t fd;
	uint32_t ks;
	void *k = NULL, *data;
	size_t kl;
	napi_valuetype t;

	if (get_args(env, info, 3, argv))
		return NULL;
	if (get_i32(env, argv[0], &fd) || get_u32(env, argv[2], &ks)) {
		napi_throw_type_error(env, NULL, "mapNextKey(fd, key | null, keySize)");
		return NULL;
	}
	napi_typeof(env, argv[1], &t);
	if (t != napi_null && t != napi_undefined && get_buf(env, argv[1], &k, &kl)) {
		napi_throw_type_error(env, NULL, "mapNextKey: key must be a Buffer or null");
		return NULL;
	}
	NAPI_OK(napi_create_buffer(env, ks, &data, &out));
	if (bpf_map_get_next_key(fd, k, data)) {
		if (errno == ENOENT) {
			napi_get_null(env, &out);
			return out;
		}
		throw_err(env, errno, NULL, "map next key (fd %d)", fd);
		return NULL;
	}
	return out;
}

static napi_value js_map_info(napi_env env, napi_callback_info info)
{
	napi_value argv[1], r;
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi);
	int32_t fd;

	if (get_args(env, info, 1, argv) || get_i32(env, argv[0], &fd))
		return NULL;
	if (bpf_obj_get_info_by_fd(fd, &mi, &len)) {
		throw_err(env, errno, NULL, "map info (fd %d)", fd);
		return NULL;
	}
	napi_create_object(env, &r);
	set_prop(env, r, "id", mk_f64(env, mi.id));
	set_prop(env, r, "type", mk_f64(env, mi.type));
	set_prop(env, r, "keySize", mk_f64(env, mi.key_size));
	set_prop(env, r, "valueSize", mk_f64(env, mi.value_size));
	set_prop(env, r, "maxEntries", mk_f64(env, mi.max_entries));
	set_prop(env, r, "flags", mk_f64(env, mi.map_flags));
	set_prop(env, r, "name", mk_str(env, mi.name));
	return r;
}

static napi_value js_prog_info(napi_env env, napi_callback_info info)
{
	napi_value argv[1], r;
	struct bpf_prog_info pi = {};
	__u32 len = sizeof(pi);
	int32_t fd;

	if (get_args(env, info, 1, argv) || get_i32(env, argv[0], &fd))
		return NULL;
	if (bpf_obj_get_info_by_fd(fd, &pi, &len)) {
		throw_err(env, errno, NULL, "prog info (fd %d)", fd);
		return NULL;
	}
	napi_create_object(env, &r);
	set_prop(env, r, "id", mk_f64(env, pi.id));
	set_prop(env, r, "type", mk_f64(env, pi.type));
	set_prop(env, r, "name", mk_str(env, pi.name));
	set_prop(env, r, "jitedLen", mk_f64(env, pi.jited_prog_len));
	set_prop(env, r, "xlatedLen", mk_f64(env, pi.xlated_prog_len));
	set_prop(env, r, "verifiedInsns", mk_f64(env, pi.verified_insns));
	set_prop(env, r, "runTimeNs", mk_f64(env, (double)pi.run_time_ns));
	set_prop(env, r, "runCnt", mk_f64(env, (double)pi.run_cnt));
	return r;
}

/* memlock of an fd (map or program): its kernel memory, in bytes */
static napi_value js_fd_memlock(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	char path[64], line[256];
	int32_t fd;
	double mem = 0;
	FILE *f;

	if (get_args(env, info, 1, argv) || get_i32(env, argv[0], &fd))
		return NULL;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f) {
		throw_err(env, errno, NULL, "read %s", path);
		return NULL;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long long x;
		if (sscanf(line, "memlock: %llu", &x) == 1)
			mem = (double)x;
	}
	fclose(f);
	return mk_f64(env, mem);
}

static napi_value js_close_fd(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	int32_t fd;

	if (get_args(env, info, 1, argv) || get_i32(env, argv[0], &fd))
		return NULL;
	if (fd > 2)
		close(fd);
	return NULL;
}

static napi_value js_num_cpus(napi_env env, napi_callback_info info)
{
	return mk_i32(env, libbpf_num_possible_cpus());
}

/* ---- ring buffer on a worker thread --------------------------------------- */

struct rec_batch {
	size_t n, cap;
	void **data;
	uint32_t *len;
};

struct rb_consumer {
	struct ring_buffer *rb;
	napi_threadsafe_function tsfn;
	pthread_t thread;
	atomic_int stop;
	struct rec_batch *cur;
	int used;
};

static struct rb_consumer rbs[TLN_MAX_RBS];

static void batch_free(struct rec_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		free(b->data[i]);
	free(b->data);
	free(b->len);
	free(b);
}

/* hand a batch to the JS thread without ever blocking inside node-api: a
 * blocking call could wait forever on a full queue while the JS thread waits
 * in rb_stop() for this thread to end. A full queue is retried until stop. */
static void rb_hand_over(struct rb_consumer *c, struct rec_batch *b)
{
	napi_status st;

	for (;;) {
		st = napi_call_threadsafe_function(c->tsfn, b, napi_tsfn_nonblocking);
		if (st == napi_ok)
			return;
		if (st != napi_queue_full || atomic_load(&c->stop))
			break;
		usleep(1000);
	}
	batch_free(b);
}

static int rb_sample(void *ctx, void *data, size_t size)
{
	struct rb_consumer *c = ctx;
	struct rec_batch *b = c->cur;
	void *copy;

	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return 0;
		c->cur = b;
	}
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 64;
		void **nd = realloc(b->data, nc * sizeof(void *));
		uint32_t *nl;
		if (!nd)
			return 0;
		b->data = nd;
		nl = realloc(b->len, nc * sizeof(uint32_t));
		if (!nl)
			return 0;
		b->len = nl;
		b->cap = nc;
	}
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	b->data[b->n] = copy;
	b->len[b->n] = (uint32_t)size;
	b->n++;
	/* hand over big batches without waiting for the end of the poll */
	if (b->n >= 4096) {
		c->cur = NULL;
		rb_hand_over(c, b);
	}
	return 0;
}

static void *rb_thread(void *arg)
{
	struct rb_consumer *c = arg;
	int n;

	while (!atomic_load(&c->stop)) {
		n = ring_buffer__poll(c->rb, 100);
		if (n < 0 && n != -EINTR)
			break;
		if (c->cur) {
			struct rec_batch *b = c->cur;
			c->cur = NULL;
			rb_hand_over(c, b);
		}
	}
	return NULL;
}

/* on the JS thread: Buffers for a batch, then the callback */
static void rb_call_js(napi_env env, napi_value cb, void *context, void *data)
{
	struct rec_batch *b = data;
	napi_value arr, buf, undef;
	void *dst;

	if (env && cb && b) {
		napi_create_array_with_length(env, b->n, &arr);
		for (size_t i = 0; i < b->n; i++) {
			napi_create_buffer(env, b->len[i], &dst, &buf);
			memcpy(dst, b->data[i], b->len[i]);
			napi_set_element(env, arr, (uint32_t)i, buf);
		}
		napi_get_undefined(env, &undef);
		napi_call_function(env, undef, cb, 1, &arr, NULL);
	}
	batch_free(b);
}

static napi_value js_ringbuf_open(napi_env env, napi_callback_info info)
{
	napi_value argv[2], name;
	struct rb_consumer *c = NULL;
	int32_t fd;
	int id;

	if (get_args(env, info, 2, argv) || get_i32(env, argv[0], &fd)) {
		napi_throw_type_error(env, NULL, "ringbufOpen(fd, cb)");
		return NULL;
	}
	for (id = 1; id < TLN_MAX_RBS; id++)
		if (!rbs[id].used) {
			c = &rbs[id];
			break;
		}
	if (!c) {
		throw_err(env, EMFILE, NULL, "ringbufOpen: too many consumers");
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	c->rb = ring_buffer__new(fd, rb_sample, c, NULL);
	if (!c->rb) {
		throw_err(env, errno, NULL, "ring_buffer__new (fd %d)", fd);
		return NULL;
	}
	napi_create_string_utf8(env, "tln_ringbuf", NAPI_AUTO_LENGTH, &name);
	if (napi_create_threadsafe_function(env, argv[1], NULL, name, 64, 1, NULL, NULL, c, rb_call_js,
					    &c->tsfn) != napi_ok) {
		ring_buffer__free(c->rb);
		throw_err(env, EINVAL, NULL, "ringbufOpen: threadsafe function");
		return NULL;
	}
	/* the consumer does not keep the event loop alive by itself */
	napi_unref_threadsafe_function(env, c->tsfn);
	atomic_store(&c->stop, 0);
	if (pthread_create(&c->thread, NULL, rb_thread, c)) {
		napi_release_threadsafe_function(c->tsfn, napi_tsfn_abort);
		ring_buffer__free(c->rb);
		throw_err(env, errno, NULL, "ringbufOpen: thread");
		return NULL;
	}
	c->used = 1;
	return mk_i32(env, id);
}

static void rb_stop(struct rb_consumer *c)
{
	if (!c->used)
		return;
	atomic_store(&c->stop, 1);
	pthread_join(c->thread, NULL);
	ring_buffer__free(c->rb);
	napi_release_threadsafe_function(c->tsfn, napi_tsfn_release);
	batch_free(c->cur);
	c->cur = NULL;
	c->used = 0;
}

static napi_value js_ringbuf_close(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	int32_t id;

	if (get_args(env, info, 1, argv) || get_i32(env, argv[0], &id))
		return NULL;
	if (id > 0 && id < TLN_MAX_RBS)
		rb_stop(&rbs[id]);
	return NULL;
}

/* ---- module -------------------------------------------------------------- */

static void cleanup_hook(void *arg)
{
	/* the process is going away: stop consumer threads cleanly */
	for (int i = 1; i < TLN_MAX_RBS; i++)
		if (rbs[i].used) {
			atomic_store(&rbs[i].stop, 1);
			pthread_join(rbs[i].thread, NULL);
			ring_buffer__free(rbs[i].rb);
			rbs[i].used = 0;
		}
}

static napi_value init(napi_env env, napi_value exports)
{
	static const struct {
		const char *name;
		napi_callback fn;
	} fns[] = {
		{ "probe", js_probe },
		{ "ensureMount", js_ensure_mount },
		{ "objLoad", js_obj_load },
		{ "objClose", js_obj_close },
		{ "attach", js_attach },
		{ "attachTracepoint", js_attach_tracepoint },
		{ "attachCgroup", js_attach_cgroup },
		{ "attachUprobe", js_attach_uprobe },
		{ "linkDestroy", js_link_destroy },
		{ "mapCreate", js_map_create },
		{ "mapUpdate", js_map_update },
		{ "mapUpdateBatch", js_map_update_batch },
		{ "mapLookup", js_map_lookup },
		{ "mapDelete", js_map_delete },
		{ "mapNextKey", js_map_next_key },
		{ "mapInfo", js_map_info },
		{ "progInfo", js_prog_info },
		{ "fdMemlock", js_fd_memlock },
		{ "closeFd", js_close_fd },
		{ "numPossibleCpus", js_num_cpus },
		{ "ringbufOpen", js_ringbuf_open },
		{ "ringbufClose", js_ringbuf_close },
	};
	napi_value fn;

	lbpf_debug = getenv("TLN_SHIM_DEBUG") != NULL;
	libbpf_set_print(lbpf_print);
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &fn);
		napi_set_named_property(env, exports, fns[i].name, fn);
	}
	napi_add_env_cleanup_hook(env, cleanup_hook, NULL);
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
