/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * tln_eval.h: in-kernel evaluation of a policy image (bpf/include/tln_abi.h),
 * the same semantics as the Wasm evaluator on the same bytes:
 *   dispatch (the units, i.e. policies, that have the hook and apply to the
 *   task's cgroup) -> per unit: selectors of the hook in order, first full
 *   match wins (matchPIDs, matchBinaries, matchArgs) -> actions (per-policy
 *   mode read at each hit) -> counters -> ring-buffer record unless
 *   NoPost/rate limited. A hook program fills the shared part of a
 *   tln_hook_rec in a per-CPU buffer once, then runs tln_units_run(); each
 *   unit's argument slots are filled as its hook's args[] declare them.
 */
#ifndef TLN_EVAL_H
#define TLN_EVAL_H

#include "tln_common.h"
#include "tln_maps.h"
#include "tln_task.h"

#ifndef BPF_F_INNER_MAP
#define BPF_F_INNER_MAP (1U << 12)
#endif

/* ---- image maps -----------------------------------------------------------
 * Each policy's maps are created by the loader from its image (MapSpecs,
 * content unchanged) and put in an outer array at each of the policy's units:
 * one program serves every policy. Inner maps of one kind share a shape (the
 * kernel requires it): arrays are sized per policy (BPF_F_INNER_MAP), string
 * keys have the full struct tln_str_key size. */

/* the shape of one kind's inner maps (documentation: the loader creates them,
 * src/kernel/plan.ts INNER_MAPS, and the outer maps with a template of it) */
#define TLN_INNER(tname, mtype, ktype, vtype, mflags) \
	struct tname {                                \
		__uint(type, mtype);                  \
		__uint(max_entries, 1);               \
		__uint(map_flags, mflags);            \
		__uint(key_size, sizeof(ktype));      \
		__uint(value_size, sizeof(vtype));    \
	}
/* an outer map: unit -> inner map; created and shared by the loader (the
 * kernel checks each inner map against its template's shape) */
#define TLN_OUTER(name, tname)                            \
	struct {                                          \
		__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); \
		__uint(max_entries, TLN_MAX_UNITS);       \
		__uint(key_size, sizeof(__u32));          \
		__uint(value_size, sizeof(__u32));        \
		__array(values, struct tname);            \
	} name SEC(".maps")

TLN_INNER(tln_i_policy, BPF_MAP_TYPE_ARRAY, __u32, struct tln_policy_conf, BPF_F_INNER_MAP);
TLN_INNER(tln_i_hooks, BPF_MAP_TYPE_ARRAY, __u32, struct tln_hook, BPF_F_INNER_MAP);
TLN_INNER(tln_i_sels, BPF_MAP_TYPE_ARRAY, __u32, struct tln_selector, BPF_F_INNER_MAP);
TLN_INNER(tln_i_str, BPF_MAP_TYPE_LPM_TRIE, struct tln_str_key, __u8, BPF_F_NO_PREALLOC);
TLN_INNER(tln_i_addr4, BPF_MAP_TYPE_LPM_TRIE, struct tln_addr4_key, __u8, BPF_F_NO_PREALLOC);
TLN_INNER(tln_i_addr6, BPF_MAP_TYPE_LPM_TRIE, struct tln_addr6_key, __u8, BPF_F_NO_PREALLOC);
TLN_INNER(tln_i_u64set, BPF_MAP_TYPE_HASH, struct tln_u64set_key, __u8, 0);
TLN_INNER(tln_i_stats, BPF_MAP_TYPE_ARRAY, __u32, struct tln_sel_stats, BPF_F_INNER_MAP);

/* Post rate limit: (selector, thread/process/0) -> ktime of the last post */
struct tln_rl_key {
	__u32 sel;
	__u32 scope;
	__u64 id;
};

TLN_INNER(tln_i_rl, BPF_MAP_TYPE_LRU_HASH, struct tln_rl_key, __u64, 0);

TLN_OUTER(tln_o_policy, tln_i_policy);
TLN_OUTER(tln_o_hooks, tln_i_hooks);
TLN_OUTER(tln_o_sels, tln_i_sels);
TLN_OUTER(tln_o_str, tln_i_str);
TLN_OUTER(tln_o_addr4, tln_i_addr4);
TLN_OUTER(tln_o_addr6, tln_i_addr6);
TLN_OUTER(tln_o_u64set, tln_i_u64set);
TLN_OUTER(tln_o_stats, tln_i_stats);
TLN_OUTER(tln_o_rl, tln_i_rl);

/* entry `key` of unit's inner map of kind `outer`, or NULL */
static __always_inline void *tln_unit_lookup(void *outer, __u32 unit, const void *key)
{
	void *inner = bpf_map_lookup_elem(outer, &unit);

	if (!inner)
		return NULL;
	return bpf_map_lookup_elem(inner, key);
}

/* ---- per-object scratch ------------------------------------------------ */

#define TLN_DATA_MASK (TLN_DATA_MAX - 1)
#define TLN_HOOK_BUF (sizeof(struct tln_hook_rec) + TLN_DATA_MAX + TLN_PATH_MAX + 512)

struct tln_hookbuf {
	char buf[TLN_HOOK_BUF];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tln_hookbuf);
} tln_hookbuf SEC(".maps");

struct tln_strkey_buf {
	struct tln_str_key key;
	__u8 slack[12];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tln_strkey_buf);
} tln_strkey SEC(".maps");

static __always_inline struct tln_hook_rec *tln_rec(void)
{
	return tln_zero_lookup(&tln_hookbuf);
}

/* ---- dispatch ------------------------------------------------------------ */

/* the cgroup may have an entry in tln_cgroups (its bit is set) */
static __always_inline int tln_cg_listed(struct tln_dispatch *d, __u64 cg)
{
	return !!(d->cgbits[(cg >> 6) & 63] & (1ULL << (cg & 63)));
}

/* the units that apply to the current task's cgroup (before the hook mask) */
static __always_inline __u64 tln_units_scope(struct tln_dispatch *d, __u64 cg)
{
	struct tln_cgroup *c;

	/* a cgroup no pod and no filter holds: no hash lookup */
	if (!tln_cg_listed(d, cg))
		return d->all | d->host;
	c = bpf_map_lookup_elem(&tln_cgroups, &cg);
	if (!c)
		return d->all | d->host;
	return d->all | c->units | ((c->flags & TLN_CG_F_POD) ? 0 : d->host);
}

/* the units with a hook of kind dh that apply to the current task; *dp, *cgp
 * get the dispatch state and the cgroup id. One array and one hash lookup:
 * out-of-scope tasks pay nothing more. */
static __always_inline __u64 tln_units_here(__u32 dh, struct tln_dispatch **dp, __u64 *cgp)
{
	struct tln_dispatch *d = tln_zero_lookup(&tln_dispatch);
	__u64 m, cg;

	if (!d || dh >= TLN_DHOOKS)
		return 0;
	m = d->hooks[dh];
	if (!m)
		return 0;
	cg = bpf_get_current_cgroup_id();
	m &= tln_units_scope(d, cg);
	*dp = d;
	*cgp = cg;
	return m;
}

/* index of the lowest set bit of m (m != 0): the bits below it, counted
 * without branches (a branch per bit would multiply the verifier's states
 * by 64 in the unit loop) */
static __always_inline __u32 tln_low_bit(__u64 m)
{
	__u64 x = (m & -m) - 1;

	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (x * 0x0101010101010101ULL) >> 56;
}

/* a unit's conf and its hook of kind dh (NULL when it has none) */
static __always_inline struct tln_hook *
tln_unit_hook(__u32 unit, __u32 dh, struct tln_policy_conf **confp, struct tln_unit **up)
{
	struct tln_unit *u = bpf_map_lookup_elem(&tln_units, &unit);
	__u32 zero = 0, slot;

	if (!u || dh >= TLN_DHOOKS)
		return NULL;
	slot = u->slots[dh & (TLN_DHOOKS - 1)];
	if (slot == TLN_NO_SLOT)
		return NULL;
	*confp = tln_unit_lookup(&tln_o_policy, unit, &zero);
	if (!*confp)
		return NULL;
	*up = u;
	return tln_unit_lookup(&tln_o_hooks, unit, &slot);
}

/* ---- record -------------------------------------------------------------- */

/* starts a hook record: header, task, binary from the process table (the
 * part every unit shares); returns the data[] bytes used (the binary) */
static __always_inline __u32 tln_rec_task(struct tln_hook_rec *rec, __u32 sensor, __u32 ns_pid)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct tln_proc *proc;
	__u32 tgid = pid_tgid >> 32, len = 0;

	rec->hdr.type = TLN_REC_HOOK;
	rec->hdr.version = TLN_EVENTS_VERSION;
	rec->hdr.flags = 0;
	rec->hdr.ktime = bpf_ktime_get_ns();
	rec->task.pid = tgid;
	rec->task.tid = (__u32)pid_tgid;
	rec->task.uid = (__u32)bpf_get_current_uid_gid();
	rec->task.cgroup_id = bpf_get_current_cgroup_id();
	rec->task.ns_pid = ns_pid;
	rec->task.pad0 = 0;
	rec->sensor = sensor;
	rec->member = 0;
	/* the task's namespaces, capabilities and ancestors: read when a selector needs them */
	rec->proc.have = 0;
	rec->proc.nanc = 0;
	rec->proc.ns_host = 0;
	rec->proc.pad0 = 0;
	/* binary: the process table entry */
	proc = bpf_map_lookup_elem(&tln_procs, &tgid);
	if (proc) {
		len = proc->path_len & (TLN_BIN_MAX - 1);
		bpf_probe_read_kernel(rec->data, len, proc->path);
		rec->task.ppid = proc->ppid;
		rec->task.start_ktime = proc->ktime;
	} else {
		rec->hdr.flags |= TLN_REC_F_NO_PROC;
		rec->task.ppid = 0;
		rec->task.start_ktime = 0;
	}
	rec->bin_len = len;
	return len;
}

static __always_inline void tln_rec_arg_clear(struct tln_rec_arg *a, __u8 type)
{
	a->type = type;
	/* a nop position is declared, never read: it carries no value */
	a->flags = type == TLN_ARG_NOP ? TLN_ARG_F_NONE : 0;
	a->len = 0;
	a->off = 0;
	a->pad0 = 0;
	a->val = 0;
}

/* the unit's part of a hook record: policy, hook, and fresh verdict fields */
static __always_inline void tln_rec_unit(struct tln_hook_rec *rec, struct tln_unit *u, __u32 slot,
					 struct tln_hook *hook)
{
	rec->policy_id = u->policy_id;
	rec->hook_id = hook->hook_id;
	rec->slot = slot;
	rec->selector = TLN_SEL_NONE;
	rec->actions = 0;
	rec->skipped = 0;
	rec->mode = 0;
	rec->nargs = hook->nargs;
	rec->error = 0;
	/* no return value until an exit program reads one */
	tln_rec_arg_clear(&rec->ret, 0);
	rec->ret.flags = TLN_ARG_F_NONE;
}

/* Tetragon's syscall64: the id, with bit 31 set for a 32-bit (compat) task's syscall */
#define TLN_SYSCALL64_32BIT 0x80000000ULL
#define TLN_TS_COMPAT 0x0002 /* arch/x86/include/asm/thread_info.h */

static __always_inline __u64 tln_syscall64(__u64 v)
{
	__u64 id = v & 0xffffffffULL;
#if defined(__TARGET_ARCH_x86)
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	if (BPF_CORE_READ(t, thread_info.status) & TLN_TS_COMPAT)
		id |= TLN_SYSCALL64_32BIT;
#endif
	return id;
}

/* an integer argument, sign- or zero-extended as its declared type says */
static __always_inline __u64 tln_int_conv(__u8 type, __u64 v)
{
	switch (type) {
	case TLN_ARG_SYSCALL64:
		return tln_syscall64(v);
	case TLN_ARG_INT:
	case TLN_ARG_CAPABILITY: /* an int (CAP_CHOWN 0 ...) */
		return (__u64)(__s64)(__s32)v;
	case TLN_ARG_UINT32:
		return (__u32)v;
	case TLN_ARG_SINT8:
		return (__u64)(__s64)(__s8)v;
	case TLN_ARG_UINT8:
		return (__u8)v;
	case TLN_ARG_SINT16:
		return (__u64)(__s64)(__s16)v;
	case TLN_ARG_UINT16:
		return (__u16)v;
	default:
		return v;
	}
}

static __always_inline int tln_type_is_string(__u8 type)
{
	return type == TLN_ARG_FILE || type == TLN_ARG_PATH || type == TLN_ARG_FD ||
	       type == TLN_ARG_STRING || type == TLN_ARG_FILENAME || type == TLN_ARG_LINUX_BINPRM ||
	       type == TLN_ARG_NET_DEVICE;
}

static __always_inline int tln_type_is_int(__u8 type)
{
	return (type >= TLN_ARG_INT && type <= TLN_ARG_UINT16) || type == TLN_ARG_CAPABILITY;
}

static __always_inline int tln_type_is_signed(__u8 type)
{
	return type == TLN_ARG_INT || type == TLN_ARG_SINT64 || type == TLN_ARG_SINT8 ||
	       type == TLN_ARG_SINT16 || type == TLN_ARG_CAPABILITY;
}

/* ---- matching ------------------------------------------------------------ */

/* is the string data[off, off+len) in string set `set`? Equal entries end
 * with a NUL, so the key carries one when there is room; Postfix entries
 * are reversed, so a reverse lookup reverses the last bytes. */
__noinline int tln_str_in_set(__u32 unit, __u32 set, __u32 off, __u32 len, __u32 reverse)
{
	struct tln_hook_rec *rec = tln_rec();
	struct tln_strkey_buf *kb = tln_zero_lookup(&tln_strkey);
	__u32 cap = TLN_STR_DATA, n, i, last;

	if (!rec || !kb || !set)
		return 0;
	kb->key.set = set;
	n = len < cap ? len : cap;
	barrier_var(n); /* keep the masks: older verifiers lose bounds through 32-bit copies */
	if (!reverse) {
		/* forward: the first bytes, then a NUL when it fits */
		bpf_probe_read_kernel(kb->key.data, n & 255, &rec->data[off & TLN_DATA_MASK]);
		if (n < cap) {
			kb->key.data[n & 255] = 0;
			n++;
		}
	} else {
		/* reverse: the last bytes, last one first */
		last = off + len - 1;
		for (i = 0; i < TLN_STR_DATA; i++) {
			if (i >= n)
				break;
			kb->key.data[i] = rec->data[(last - i) & TLN_DATA_MASK];
		}
	}
	kb->key.prefixlen = 8 + 8 * n;
	return tln_unit_lookup(&tln_o_str, unit, &kb->key) != NULL;
}

static __always_inline int tln_addr_in_set(__u32 unit, __u8 set, __u16 family, const __u8 *addr)
{
	if (!set)
		return 0;
	if (family == TLN_AF_INET) {
		struct tln_addr4_key k = {};

		k.prefixlen = 8 + 32;
		k.set = set;
		__builtin_memcpy(k.addr, addr, 4);
		return tln_unit_lookup(&tln_o_addr4, unit, &k) != NULL;
	}
	if (family == TLN_AF_INET6) {
		struct tln_addr6_key k = {};

		k.prefixlen = 8 + 128;
		k.set = set;
		__builtin_memcpy(k.addr, addr, 16);
		return tln_unit_lookup(&tln_o_addr6, unit, &k) != NULL;
	}
	return 0;
}

static __always_inline int tln_u64_in_set(__u32 unit, __u8 set, __u64 v)
{
	struct tln_u64set_key k = {};

	if (!set)
		return 0;
	k.set = set;
	k.value = v;
	return tln_unit_lookup(&tln_o_u64set, unit, &k) != NULL;
}

/* any inline value equal to v */
static __always_inline int tln_vals_any_eq(struct tln_filter *f, __u64 v)
{
	int k;

	for (k = 0; k < TLN_MAX_VALUES; k++) {
		if (k >= f->nvals)
			break;
		if (f->vals[k] == v)
			return 1;
	}
	return 0;
}

/* v within any (lo, hi) pair, inclusive */
static __always_inline int tln_vals_in_range(struct tln_filter *f, __u64 v, int is_signed)
{
	int k;

	for (k = 0; k + 1 < TLN_MAX_VALUES; k += 2) {
		if (k + 1 >= f->nvals)
			break;
		if (is_signed) {
			if ((__s64)v >= (__s64)f->vals[k] && (__s64)v <= (__s64)f->vals[k + 1])
				return 1;
		} else {
			if (v >= f->vals[k] && v <= f->vals[k + 1])
				return 1;
		}
	}
	return 0;
}

/* v > ref (GT) or v < ref (LT), signed or unsigned */
static __always_inline int tln_cmp(__u8 op, __u64 v, __u64 ref, int sgn)
{
	if (op == TLN_OP_GT)
		return sgn ? (__s64)v > (__s64)ref : v > ref;
	return sgn ? (__s64)v < (__s64)ref : v < ref;
}

/* the positive sense of op on an integer value */
static __always_inline int tln_int_match(__u32 unit, struct tln_filter *f, __u64 v, __u8 type)
{
	int sgn = tln_type_is_signed(type);
	int k;

	switch (f->op) {
	case TLN_OP_EQUAL:
	case TLN_OP_NOT_EQUAL:
		if (f->set)
			return tln_u64_in_set(unit, f->set, v);
		return tln_vals_any_eq(f, v);
	case TLN_OP_GT:
	case TLN_OP_LT:
		/* any listed value satisfies the comparison (values are ORed) */
		for (k = 0; k < TLN_MAX_VALUES; k++) {
			if (k >= f->nvals)
				break;
			if (tln_cmp(f->op, v, f->vals[k], sgn))
				return 1;
		}
		return 0;
	case TLN_OP_MASK:
		for (k = 0; k < TLN_MAX_VALUES; k++) {
			if (k >= f->nvals)
				break;
			if (v & f->vals[k])
				return 1;
		}
		return 0;
	case TLN_OP_IN_RANGE:
	case TLN_OP_NOT_IN_RANGE:
		return tln_vals_in_range(f, v, sgn);
	case TLN_OP_IN_MAP:
	case TLN_OP_NOT_IN_MAP:
		return tln_u64_in_set(unit, f->set, v);
	default:
		return 0;
	}
}

/* the positive sense of op on a socket */
static __always_inline int tln_sock_match(__u32 unit, struct tln_filter *f, struct tln_rec_sock *s)
{
	switch (f->op) {
	case TLN_OP_SADDR:
	case TLN_OP_NOT_SADDR:
		return tln_addr_in_set(unit, f->set, s->family, s->saddr);
	case TLN_OP_DADDR:
	case TLN_OP_NOT_DADDR:
		return tln_addr_in_set(unit, f->set, s->family, s->daddr);
	case TLN_OP_SPORT:
	case TLN_OP_NOT_SPORT:
		return tln_vals_in_range(f, s->sport, 0);
	case TLN_OP_DPORT:
	case TLN_OP_NOT_DPORT:
		return tln_vals_in_range(f, s->dport, 0);
	case TLN_OP_SPORT_PRIV:
	case TLN_OP_NOT_SPORT_PRIV:
		return s->sport < 1024;
	case TLN_OP_DPORT_PRIV:
	case TLN_OP_NOT_DPORT_PRIV:
		return s->dport < 1024;
	case TLN_OP_PROTOCOL:
		return tln_vals_any_eq(f, s->protocol);
	case TLN_OP_FAMILY:
		return tln_vals_any_eq(f, s->family);
	case TLN_OP_STATE:
		return tln_vals_any_eq(f, s->state);
	default:
		return 0;
	}
}

/* filter j of selector sel_idx against the record's arguments */
__noinline int tln_filter_match(__u32 unit, __u32 sel_idx, __u32 j)
{
	struct tln_selector *sel = tln_unit_lookup(&tln_o_sels, unit, &sel_idx);
	struct tln_hook_rec *rec = tln_rec();
	struct tln_filter *f;
	struct tln_rec_arg *a;
	__u8 type, op, neg;
	int m;

	if (!sel || !rec || j >= TLN_MAX_FILTERS)
		return 0;
	f = &sel->filters[j];
	/* matchReturnArgs: the return value an exit program put in the record */
	if (f->slot == TLN_SLOT_RETURN)
		a = &rec->ret;
	else if (f->slot >= TLN_MAX_ARGS)
		return 0;
	else
		a = &rec->args[f->slot];
	/* a value that could not be read matches nothing */
	if (a->flags & TLN_ARG_F_NONE)
		return 0;
	type = f->type ? f->type : a->type;
	op = f->op;
	/* negation is the core's TLN_FILTER_F_NEGATE, never a list of operators here */
	neg = f->flags & TLN_FILTER_F_NEGATE;
	if (tln_type_is_string(type)) {
		if (op == TLN_OP_POSTFIX || op == TLN_OP_NOT_POSTFIX)
			m = tln_str_in_set(unit, f->set, a->off, a->len, 1);
		else if (op == TLN_OP_EQUAL || op == TLN_OP_NOT_EQUAL || op == TLN_OP_PREFIX ||
			 op == TLN_OP_NOT_PREFIX)
			m = tln_str_in_set(unit, f->set, a->off, a->len, 0);
		else
			return 0;
	} else if (tln_type_is_int(type)) {
		m = tln_int_match(unit, f, a->val, type);
	} else if (type == TLN_ARG_SOCK || type == TLN_ARG_SOCKADDR || type == TLN_ARG_SKB ||
		   type == TLN_ARG_SOCKET) {
		/* the generic programs keep each socket argument in data[], the socket hooks theirs in rec->sock */
		m = tln_sock_match(
			unit, f,
			(a->flags & TLN_ARG_F_DATA) ?
				(struct tln_rec_sock *)&rec->data[a->off & TLN_DATA_MASK] :
				&rec->sock);
	} else {
		return 0;
	}
	return neg ? !m : m;
}

/* ---- process filters: matchPIDs, matchNamespaces, matchCapabilities ------
 * What they read of the task goes into rec->proc the first time a selector
 * needs it during the event (the record then carries exactly what the kernel
 * decided on, and the core decides the same selectors on it). */

/* the task's ancestors from the process table (followForks): parent first,
 * with each one's pid in its pid namespace (isNamespacePID) */
static __always_inline void tln_proc_anc(struct tln_hook_rec *rec)
{
	struct tln_proc *e;
	__u32 p = rec->task.ppid, n = 0, i;
	__u8 end = 0;

	for (i = 0; i < TLN_ANC_MAX; i++) {
		if (p == 0) {
			end = 1;
			break;
		}
		e = bpf_map_lookup_elem(&tln_procs, &p);
		rec->proc.anc[i] = p;
		rec->proc.anc_ns[i] = e ? e->ns_pid : 0;
		n++;
		if (p == 1 || !e) {
			end = 1; /* init, or the process table knows no more of the chain */
			break;
		}
		p = e->ppid;
	}
	rec->proc.nanc = n;
	rec->proc.have |= TLN_RP_ANC | (end ? TLN_RP_ANC_END : 0);
}

_Static_assert(__builtin_offsetof(struct tln_rec_proc, anc_ns) ==
		       __builtin_offsetof(struct tln_rec_proc, anc) + TLN_ANC_MAX * sizeof(__u32),
	       "anc_ns[] follows anc[]");

/* one matchPIDs entry (op, flags, values) */
static __always_inline int tln_pid_entry_match(struct tln_hook_rec *rec, __u8 op, __u8 flags,
					       __u8 npids, __u32 *pids)
{
	__u32 pid, k, i, off, *anc;
	int m = 0;

	pid = (flags & TLN_PID_F_NAMESPACE) ? rec->task.ns_pid : rec->task.pid;
	for (k = 0; k < TLN_MAX_PIDS; k++) {
		if (k >= npids)
			break;
		if (pids[k] == pid)
			m = 1;
	}
	/* followForks: a descendant of a listed pid counts as it; with isNamespacePID the
	 * ancestors' pids in their namespaces are compared (Tetragon's nspid chain) */
	if (!m && (flags & TLN_PID_F_FOLLOW_FORKS)) {
		if (!(rec->proc.have & TLN_RP_ANC))
			tln_proc_anc(rec);
		/* anc_ns[] follows anc[]: isNamespacePID is an offset, not a branch (a branch
		 * here doubles the verifier's states, past its limit in the cgroup programs) */
		off = (__u32)(flags & TLN_PID_F_NAMESPACE) *
		      TLN_ANC_MAX; /* isNamespacePID is 0x01 */
		anc = rec->proc.anc;
		for (i = 0; i < TLN_ANC_MAX; i++) {
			if (i >= rec->proc.nanc)
				break;
			pid = anc[(i + off) & (2 * TLN_ANC_MAX - 1)];
			for (k = 0; k < TLN_MAX_PIDS; k++) {
				if (k >= npids)
					break;
				if (pids[k] == pid)
					m = 1;
			}
		}
	}
	return op == TLN_OP_NOT_IN ? !m : m;
}

/* the task's namespaces by Tetragon's type id, and which are the host's */
static __always_inline void tln_proc_ns(struct tln_hook_rec *rec)
{
	struct tln_dispatch *d = tln_zero_lookup(&tln_dispatch);
	__u32 *ns = rec->proc.ns, t;
	__u16 host = 0;

	tln_task_ns((struct task_struct *)bpf_get_current_task(), ns);
	if (d) {
		for (t = 0; t < TLN_NS_TYPES; t++)
			if (ns[t] && ns[t] == d->host_ns[t])
				host |= 1 << t;
	}
	rec->proc.ns_host = host;
	rec->proc.have |= TLN_RP_NS;
}

/* the task's capability sets (subjective credentials, what capable() checks) */
static __always_inline void tln_proc_caps(struct tln_hook_rec *rec)
{
	tln_task_caps((struct task_struct *)bpf_get_current_task(), rec->proc.caps);
	rec->proc.have |= TLN_RP_CAPS;
}

/* the process table's capabilities and namespaces (the *Changes baseline); 0 when
 * the process has no entry (Tetragon rejects those processes too) */
static __always_inline int tln_proc_exec(struct tln_hook_rec *rec)
{
	struct tln_proc *e;

	if (rec->proc.have & TLN_RP_EXEC)
		return 1;
	e = bpf_map_lookup_elem(&tln_procs, &rec->task.pid);
	if (!e)
		return 0;
	bpf_probe_read_kernel(rec->proc.caps_exec, sizeof(rec->proc.caps_exec), e->caps);
	bpf_probe_read_kernel(rec->proc.ns_exec, sizeof(rec->proc.ns_exec), e->ns);
	rec->proc.have |= TLN_RP_EXEC;
	return 1;
}

/* after a selector matched on a change: the table takes the values of this call, so the
 * next event reports a further change only (as Tetragon updates its execve_map) */
static __always_inline void tln_proc_rebase(struct tln_hook_rec *rec, int what)
{
	struct tln_proc *e = bpf_map_lookup_elem(&tln_procs, &rec->task.pid);

	if (!e)
		return;
	if (what & 2)
		bpf_probe_read_kernel(e->caps, sizeof(e->caps), rec->proc.caps);
	if (what & 4)
		bpf_probe_read_kernel(e->ns, sizeof(e->ns), rec->proc.ns);
}

/* matchPIDs entry j of the selector (0: pid_op/pids, else pidx[j - 1]). Global, so that the
 * verifier walks the ancestor loop once: inlined once per entry, the four copies took the 6.1
 * verifier past its million instructions in the file and socket programs. */
__noinline int tln_pid_entry(__u32 unit, __u32 sel_idx, __u32 j)
{
	struct tln_selector *sel = tln_unit_lookup(&tln_o_sels, unit, &sel_idx);
	struct tln_hook_rec *rec = tln_rec();
	struct tln_pid_entry *e;
	__u32 x = j - 1; /* bounded on its own: the verifier keeps no bound of j - 1 from j != 0 */

	if (!sel || !rec)
		return 0;
	if (j == 0)
		return tln_pid_entry_match(rec, sel->pid_op, sel->pid_flags, sel->npids, sel->pids);
	if (x >= TLN_MAX_PIDX)
		return 0;
	e = &sel->pidx[x];
	return tln_pid_entry_match(rec, e->op, e->flags, e->npids, e->pids);
}

/* every matchPIDs entry of the selector, ANDed; global for the same reason as tln_proc_match */
__noinline int tln_pid_match(__u32 unit, __u32 sel_idx)
{
	struct tln_selector *sel = tln_unit_lookup(&tln_o_sels, unit, &sel_idx);
	__u32 j;

	if (!sel)
		return 0;
	if (sel->pid_op && !tln_pid_entry(unit, sel_idx, 0))
		return 0;
	for (j = 0; j < TLN_MAX_PIDX; j++) {
		if (j >= sel->npidx)
			break;
		if (!tln_pid_entry(unit, sel_idx, j + 1))
			return 0;
	}
	return 1;
}

/* matchNamespaces, matchNamespaceChanges, matchCapabilities and matchCapabilityChanges of the
 * selector, ANDed: 0 no match, else 1 | 2 (a capability change matched) | 4 (a namespace change
 * matched). A global function (verified once, its frame beside tln_filter_match's, not under it):
 * the process reads' locals kept the combined stack of the file and socket programs past 512
 * bytes when inlined. */
__noinline int tln_proc_match(__u32 unit, __u32 sel_idx)
{
	struct tln_selector *sel = tln_unit_lookup(&tln_o_sels, unit, &sel_idx);
	struct tln_hook_rec *rec = tln_rec();
	struct tln_ns_filter *nf;
	struct tln_cap_filter *cf;
	__u32 i, k, t, inum;
	__u64 then, now;
	int hit, res = 1;

	if (!sel || !rec)
		return 0;
	if (sel->nns && !(rec->proc.have & TLN_RP_NS))
		tln_proc_ns(rec);
	for (i = 0; i < TLN_MAX_NS_FILTERS; i++) {
		if (i >= sel->nns)
			break;
		nf = &sel->ns[i];
		if (nf->change) {
			/* as Tetragon: In, one of the listed types changed since exec; NotIn, one of
			 * the others did; a type the table has no inode for is not compared */
			if (!tln_proc_exec(rec))
				return 0;
			hit = 0;
			for (t = 0; t < TLN_NS_TYPES; t++) {
				if (!(nf->chmask & (1 << t)) != (nf->op == TLN_OP_NOT_IN))
					continue;
				if (rec->proc.ns_exec[t] && rec->proc.ns_exec[t] != rec->proc.ns[t])
					hit = 1;
			}
			if (!hit)
				return 0;
			res |= 4;
			continue;
		}
		t = nf->ns;
		if (t >= TLN_NS_TYPES)
			return 0;
		inum = rec->proc.ns[t];
		hit = nf->host && (rec->proc.ns_host & (1 << t));
		for (k = 0; k < TLN_MAX_NS_VALUES; k++) {
			if (k >= nf->nvals)
				break;
			if (nf->vals[k] == inum)
				hit = 1;
		}
		if (hit != (nf->op == TLN_OP_IN))
			return 0;
	}
	if (sel->ncaps) {
		if (!(rec->proc.have & TLN_RP_CAPS))
			tln_proc_caps(rec);
		/* isNamespaceCapability reads the user namespace */
		if (!(rec->proc.have & TLN_RP_NS))
			tln_proc_ns(rec);
	}
	for (i = 0; i < TLN_MAX_CAP_FILTERS; i++) {
		if (i >= sel->ncaps)
			break;
		cf = &sel->caps[i];
		/* as Tetragon: in the host's user namespace a namespace capability never matches */
		if (cf->nscap && (rec->proc.ns_host & (1 << 9)))
			return 0;
		if (cf->set > 2)
			return 0;
		now = rec->proc.caps[cf->set];
		if (cf->change) {
			/* as Tetragon: In, a listed capability changed since exec; NotIn, only others did */
			if (!tln_proc_exec(rec))
				return 0;
			then = rec->proc.caps_exec[cf->set];
			if ((then & cf->mask) != (now & cf->mask))
				hit = cf->op == TLN_OP_IN;
			else
				hit = then != now && cf->op == TLN_OP_NOT_IN;
			if (!hit)
				return 0;
			res |= 2;
			continue;
		}
		hit = (now & cf->mask) != 0;
		if (hit != (cf->op == TLN_OP_IN))
			return 0;
	}
	return res;
}

/* matchPIDs, matchBinaries, process filters and matchArgs of selector sel_idx,
 * in the evaluator's order (a definite no-match first decides) */
__noinline int tln_sel_match(__u32 unit, __u32 sel_idx)
{
	struct tln_selector *sel = tln_unit_lookup(&tln_o_sels, unit, &sel_idx);
	struct tln_hook_rec *rec = tln_rec();
	__u32 j;
	__u8 op;
	int m, pm;

	if (!sel || !rec)
		return 0;
	/* matchPIDs (all entries) */
	if ((sel->pid_op || sel->npidx) && !tln_pid_match(unit, sel_idx))
		return 0;
	/* matchBinaries: the process table path in the selector's set */
	op = sel->bin_op;
	if (op) {
		m = tln_str_in_set(unit, sel->bin_set, 0, rec->bin_len,
				   op == TLN_OP_POSTFIX || op == TLN_OP_NOT_POSTFIX);
		if (sel->flags & TLN_SEL_F_BIN_NEGATE)
			m = !m;
		if (!m)
			return 0;
	}
	/* matchNamespaces, matchCapabilities and their *Changes */
	pm = 1;
	if (sel->nns || sel->ncaps) {
		pm = tln_proc_match(unit, sel_idx);
		if (!pm)
			return 0;
	}
	/* matchArgs: every filter */
	for (j = 0; j < TLN_MAX_FILTERS; j++) {
		if (j >= sel->nfilters)
			break;
		if (!tln_filter_match(unit, sel_idx, j))
			return 0;
	}
	if (pm & 6)
		tln_proc_rebase(rec, pm);
	return 1;
}

/* ---- actions ------------------------------------------------------------- */

/* what a cgroup program must do after the actions */
struct tln_verdict {
	__u32 deny;  /* refuse the operation */
	__s32 error; /* Override error, 0 = default EPERM */
	__u32 sig;   /* signal to send at syscall exit, 0 = none */
};

/* true when a Post with a rate limit may emit now */
static __always_inline int tln_rate_ok(__u32 unit, __u32 sel_idx, struct tln_action *act)
{
	struct tln_rl_key k = {};
	__u64 now = bpf_ktime_get_ns(), *last;
	void *rl = bpf_map_lookup_elem(&tln_o_rl, &unit);

	if (!act->rate_limit_ns)
		return 1;
	k.sel = sel_idx;
	k.scope = act->rl_scope;
	if (act->rl_scope == TLN_RL_THREAD)
		k.id = bpf_get_current_pid_tgid();
	else if (act->rl_scope == TLN_RL_PROCESS)
		k.id = bpf_get_current_pid_tgid() >> 32;
	if (!rl)
		return 1;
	last = bpf_map_lookup_elem(rl, &k);
	if (last && now - *last < act->rate_limit_ns)
		return 0;
	bpf_map_update_elem(rl, &k, &now, BPF_ANY);
	return 1;
}

/*
 * Runs the selectors of hook `slot` on the filled record, then the actions
 * of the first matching selector. Signals are sent here for tracepoint
 * programs; cgroup programs get them in *v. Returns 1 when a record is to be
 * posted, 0 otherwise (no match, NoPost, rate limited).
 */
static __always_inline int tln_eval_hook(__u32 unit, struct tln_policy_conf *conf,
					 struct tln_hook *hook, struct tln_hook_rec *rec,
					 int cgroup, struct tln_verdict *v)
{
	struct tln_selector *sel = NULL;
	struct tln_sel_stats *st;
	struct tln_action *act;
	__u32 sel_idx = 0, stat_idx, i, k, sig;
	__u8 mode = conf->mode, id;
	int matched = -1, post = 1;

	rec->mode = mode;
	if (hook->nselectors == 0) {
		/* no selectors: every hit posts */
		stat_idx = conf->nselectors;
	} else {
		/* first full match wins */
		for (i = 0; i < TLN_MAX_SELECTORS; i++) {
			if (i >= hook->nselectors)
				break;
			if (tln_sel_match(unit, hook->first_sel + i)) {
				matched = i;
				break;
			}
		}
		if (matched < 0)
			return 0;
		sel_idx = hook->first_sel + matched;
		stat_idx = sel_idx;
		rec->selector = matched;
		sel = tln_unit_lookup(&tln_o_sels, unit, &sel_idx);
	}
	st = tln_unit_lookup(&tln_o_stats, unit, &stat_idx);
	if (sel) {
		for (k = 0; k < TLN_MAX_ACTIONS; k++) {
			if (k >= sel->nactions)
				break;
			act = &sel->actions[k];
			/* matchReturnActions: only on a record with the return value */
			if ((act->flags & TLN_ACTION_F_RETURN) && (rec->ret.flags & TLN_ARG_F_NONE))
				continue;
			id = act->id;
			switch (id) {
			case TLN_ACT_POST:
				rec->actions |= TLN_ACTBIT(TLN_ACT_POST);
				if (!tln_rate_ok(unit, sel_idx, act))
					post = 0;
				break;
			case TLN_ACT_NOPOST:
				rec->actions |= TLN_ACTBIT(TLN_ACT_NOPOST);
				post = 0;
				break;
			case TLN_ACT_SIGKILL:
			case TLN_ACT_SIGNAL:
			case TLN_ACT_OVERRIDE:
				/* monitor modes skip enforcement, and count it */
				if (mode != TLN_MODE_ENFORCE) {
					rec->skipped |= TLN_ACTBIT(id);
					if (st)
						__sync_fetch_and_add(&st->monitor, 1);
					break;
				}
				rec->actions |= TLN_ACTBIT(id);
				if (st)
					__sync_fetch_and_add(&st->enforce, 1);
				sig = id == TLN_ACT_SIGKILL ? TLN_SIGKILL : (__u32)act->arg;
				if (cgroup) {
					if (id == TLN_ACT_OVERRIDE) {
						v->deny = 1;
						v->error = act->arg;
						rec->error = act->arg;
					} else {
						v->sig = sig;
						if (id == TLN_ACT_SIGKILL)
							v->deny = 1;
					}
				} else if (id != TLN_ACT_OVERRIDE) {
					bpf_send_signal(sig);
				}
				break;
			default:
				break;
			}
		}
	}
	if (st) {
		if (post)
			__sync_fetch_and_add(&st->post, 1);
		else
			__sync_fetch_and_add(&st->nopost, 1);
	}
	return post;
}

/* sends the hook record with `used` data bytes */
static __always_inline void tln_emit_hook(struct tln_hook_rec *rec, __u32 used)
{
	__u32 size = sizeof(*rec) + (used & (TLN_DATA_MAX * 2 - 1));

	if (size > TLN_HOOK_BUF)
		size = TLN_HOOK_BUF;
	rec->hdr.size = size;
	tln_output(rec, size);
}

/* the file hooks' argument slots in the order of the hook's args[]: index 0
 * is the file's path (already at data[poff], plen bytes), 1 and 2 are ints */
static __always_inline void tln_fill_file_args(struct tln_hook_rec *rec, struct tln_hook *hook,
					       int have, __u32 poff, __u32 plen, __u8 pflags,
					       __u64 i1, __u64 i2)
{
	struct tln_rec_arg *ra;
	__u8 type, idx;
	int a;

	for (a = 0; a < TLN_MAX_ARGS; a++) {
		ra = &rec->args[a];
		if (a >= hook->nargs) {
			tln_rec_arg_clear(ra, 0);
			continue;
		}
		type = hook->args[a].type;
		idx = hook->args[a].index;
		tln_rec_arg_clear(ra, type);
		if (idx == 0 && tln_type_is_string(type)) {
			if (have) {
				ra->off = poff;
				ra->len = plen;
				ra->flags = pflags;
			} else {
				ra->flags = TLN_ARG_F_NONE;
			}
		} else if (idx == 1 && tln_type_is_int(type)) {
			ra->val = tln_int_conv(type, i1);
		} else if (idx == 2 && tln_type_is_int(type)) {
			ra->val = tln_int_conv(type, i2);
		} else {
			ra->flags = TLN_ARG_F_NONE;
		}
	}
}

/* the socket hooks' argument slots: index 0 is the socket (rec->sock), others absent */
static __always_inline void tln_fill_sock_args(struct tln_hook_rec *rec, struct tln_hook *hook)
{
	struct tln_rec_arg *ra;
	__u8 type;
	int a;

	for (a = 0; a < TLN_MAX_ARGS; a++) {
		ra = &rec->args[a];
		if (a >= hook->nargs) {
			tln_rec_arg_clear(ra, 0);
			continue;
		}
		type = hook->args[a].type;
		tln_rec_arg_clear(ra, type);
		if (!(hook->args[a].index == 0 &&
		      (type == TLN_ARG_SOCK || type == TLN_ARG_SOCKADDR)))
			ra->flags = TLN_ARG_F_NONE;
	}
}

/* ---- every unit of one event ------------------------------------------------
 * A hook program resolves what the event is once (task, binary, then the path
 * right after the binary, or the socket, in the per-CPU record), then runs
 * tln_unit_eval for each unit in the mask: the unit fills the record's
 * argument slots as its hook declares them, evaluates its selectors, posts.
 * tln_unit_eval is a global function: the verifier checks it once, not once
 * per unit. Verdicts merge: the strongest signal, the first Override error,
 * a refusal by Sigkill. */

/* tln_unit_eval flags: bits 8-15 the path's TLN_ARG_F_*, 16-31 its length */
#define TLN_UF_VERDICT 0x01 /* verdict mode (LSM, cgroup): signals returned, not sent */
#define TLN_UF_SOCK 0x02    /* socket arguments (rec->sock), else file arguments */
#define TLN_UF_HAVE 0x04    /* file hooks: the path is there */

/* tln_unit_eval result: bits 8-15 the signal, 16-27 the Override errno */
#define TLN_UR_MATCHED 0x01  /* a selector matched (or a hook without selectors was hit) */
#define TLN_UR_DENY 0x02     /* refuse */
#define TLN_UR_OVERRIDE 0x04 /* refused by Override */
#define TLN_UR_KILL 0x08     /* refused by Sigkill */

__noinline int tln_unit_eval(__u32 unit, __u32 dh, __u32 flags, __u64 i1, __u64 i2)
{
	struct tln_policy_conf *conf = NULL;
	struct tln_unit *u = NULL;
	struct tln_hook_rec *rec = tln_rec();
	struct tln_hook *hook;
	struct tln_verdict v = {};
	__u32 slot, poff, plen, r = 0;

	if (!rec)
		return 0;
	hook = tln_unit_hook(unit, dh, &conf, &u);
	if (!hook || !conf || !u)
		return 0;
	slot = u->slots[dh & (TLN_DHOOKS - 1)];
	tln_rec_unit(rec, u, slot, hook);
	poff = rec->bin_len & (TLN_BIN_MAX - 1);
	plen = (flags >> 16) & (TLN_PATH_MAX - 1);
	if (flags & TLN_UF_SOCK)
		tln_fill_sock_args(rec, hook);
	else
		tln_fill_file_args(rec, hook, flags & TLN_UF_HAVE, poff, plen, (flags >> 8) & 0xff,
				   i1, i2);
	if (tln_eval_hook(unit, conf, hook, rec, flags & TLN_UF_VERDICT, &v))
		tln_emit_hook(rec, poff + plen);
	if (hook->nselectors == 0 || rec->selector != TLN_SEL_NONE)
		r |= TLN_UR_MATCHED;
	r |= (v.sig & 0xff) << 8;
	if (v.deny) {
		r |= TLN_UR_DENY;
		if (rec->actions & TLN_ACTBIT(TLN_ACT_OVERRIDE)) {
			r |= TLN_UR_OVERRIDE;
			if (v.error < 0 && v.error >= -4095)
				r |= ((__u32)-v.error) << 16;
		} else {
			r |= TLN_UR_KILL;
		}
	}
	return r;
}

/* one event over its units: inputs, then the merged verdict */
struct tln_units_walk {
	__u64 units;    /* bit n = unit n */
	__u64 i1, i2;   /* file hooks: the integer arguments */
	__u32 dh;       /* enum tln_dhook */
	__u32 flags;    /* TLN_UF_* and the path (tln_unit_eval) */
	__u32 matched;  /* some unit matched */
	__u32 sig;      /* verdict mode: signal to send (SIGKILL first) */
	__s32 error;    /* verdict mode: Override error of the first unit with one (0: EPERM) */
	__u32 deny;     /* verdict mode: refuse (Sigkill or Override) */
	__u32 override; /* verdict mode: refused by Override */
	__u32 kill;     /* verdict mode: refused by Sigkill (EPERM once the signal is sent) */
};

/* the file hooks' tln_unit_eval flags for a path of plen bytes */
static __always_inline __u32 tln_uf_path(__u32 have, __u32 pflags, __u32 plen)
{
	return (have ? TLN_UF_HAVE : 0) | ((pflags & 0xff) << 8) | ((plen & 0xffff) << 16);
}

/* runs every unit of w->units on the filled record, merging their verdicts.
 * The loop body has no branch on the results (flags ORed, signals as a bit
 * set, the first errno kept arithmetically): the verifier walks it once per
 * iteration instead of once per combination of verdicts. */
static __always_inline void tln_units_run(struct tln_units_walk *w)
{
	__u64 m = w->units, sigs = 0, sig64 = 0, err = 0, e, none;
	__u32 n, r, acc = 0;

	for (n = 0; n < TLN_MAX_UNITS; n++) {
		if (!m)
			break;
		r = tln_unit_eval(tln_low_bit(m), w->dh, w->flags, w->i1, w->i2);
		m &= m - 1;
		acc |= r & 0xff;
		/* signals 1-63 as bits, 64 on its own (bit 0 is "none") */
		sigs |= 1ULL << ((r >> 8) & 63);
		sig64 |= ((r >> 8) & 0xff) >> 6;
		/* errno of this unit's Override, kept when none was before */
		e = (r & TLN_UR_OVERRIDE) ? ((r >> 16) & 0xfff) | 0x1000 : 0;
		none = ((err | -err) >> 63) ^ 1;
		err |= e & -none;
	}
	w->matched = !!(acc & TLN_UR_MATCHED);
	w->deny = !!(acc & TLN_UR_DENY);
	w->override = !!(acc & TLN_UR_OVERRIDE);
	w->kill = !!(acc & TLN_UR_KILL);
	w->error = -(__s32)(err & 0xfff);
	sigs &= ~1ULL;
	if (sigs & (1ULL << TLN_SIGKILL))
		w->sig = TLN_SIGKILL;
	else if (sigs)
		w->sig = tln_low_bit(sigs);
	else if (sig64)
		w->sig = 64;
	else
		w->sig = 0;
}

#endif /* TLN_EVAL_H */
