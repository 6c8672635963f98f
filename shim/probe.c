// SPDX-License-Identifier: Apache-2.0
/* tln_shim: probes of what the running kernel supports, and the mounts a fresh machine may lack (see module.c for the JS API) */
#include "shim.h"

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
	struct bpf_insn insns[] = { INSN_MOV64_IMM(1, 0), INSN_MOV64_IMM(2, 0),
				    INSN_MOV64_IMM(3, 0), INSN_MOV64_IMM(4, 0),
				    INSN_CALL(helper),    INSN_MOV64_IMM(0, 0),
				    INSN_EXIT() };
	char log[4096];
	int err;

	if (try_prog(type, 0, 0, insns, sizeof(insns) / sizeof(insns[0]), log, sizeof(log), &err) ==
	    1)
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

napi_value js_probe(napi_env env, napi_callback_info info)
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
	set_prop(env, r, "ringbuf",
		 mk_bool(env, libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1));
	set_prop(env, r, "lpmTrie",
		 mk_bool(env, libbpf_probe_bpf_map_type(BPF_MAP_TYPE_LPM_TRIE, NULL) == 1));
	set_prop(env, r, "lruHash",
		 mk_bool(env, libbpf_probe_bpf_map_type(BPF_MAP_TYPE_LRU_HASH, NULL) == 1));
	set_prop(env, r, "tracepoint",
		 mk_bool(env, libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, NULL) == 1));
	set_prop(env, r, "cgroupSockAddr",
		 mk_bool(env,
			 libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, NULL) == 1));
	/* helpers: a valid call each, so the load itself answers */
	set_prop(env, r, "sendSignal",
		 mk_bool(env,
			 probe_helper(BPF_PROG_TYPE_TRACEPOINT, 0, BPF_FUNC_send_signal, 0, 1, 0)));
	set_prop(env, r, "overrideReturn",
		 mk_bool(env,
			 probe_helper(BPF_PROG_TYPE_KPROBE, 0, BPF_FUNC_override_return, 1, 2, 0)));
	set_prop(env, r, "setRetval",
		 mk_bool(env, probe_helper(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT,
					   BPF_FUNC_set_retval, 0, 1, 1)));
	set_prop(env, r, "bpfLoop",
		 mk_bool(env, probe_helper_log(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_loop)));
	set_prop(env, r, "snprintf",
		 mk_bool(env, probe_helper_log(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_snprintf)));
	/* BTF-attached program kinds: a tiny program each */
	why[0] = 0;
	ok = probe_btf_prog(BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, "sched_process_exec", why,
			    sizeof(why));
	set_prop(env, r, "tpBtf", mk_bool(env, ok));
	if (!ok)
		set_prop(env, r, "tpBtfError", mk_str(env, why));
	ok = probe_btf_prog(BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, "security_file_permission",
			    why, sizeof(why));
	set_prop(env, r, "fentry", mk_bool(env, ok));
	if (!ok)
		set_prop(env, r, "fentryError", mk_str(env, why));
	ok = probe_btf_prog(BPF_PROG_TYPE_LSM, BPF_LSM_MAC, "file_permission", why, sizeof(why));
	if (ok && !str_in_file("/sys/kernel/security/lsm", "bpf")) {
		ok = 0;
		snprintf(why, sizeof(why),
			 "bpf is not in /sys/kernel/security/lsm (boot with lsm=...,bpf)");
	}
	set_prop(env, r, "lsm", mk_bool(env, ok));
	if (!ok)
		set_prop(env, r, "lsmError", mk_str(env, why));
	/* kprobes and uprobes: their perf PMUs (what libbpf attaches through) */
	ok = file_exists("/sys/bus/event_source/devices/kprobe/type") ||
	     file_exists("/sys/kernel/tracing/kprobe_events") ||
	     file_exists("/sys/kernel/debug/tracing/kprobe_events");
	set_prop(env, r, "kprobes", mk_bool(env, ok));
	set_prop(env, r, "uprobes",
		 mk_bool(env, file_exists("/sys/bus/event_source/devices/uprobe/type")));
	return r;
}

/* ---- mounts -------------------------------------------------------------- */

napi_value js_ensure_mount(napi_env env, napi_callback_info info)
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
