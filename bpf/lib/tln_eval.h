/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * tln_eval.h: in-kernel evaluation of a policy image (bpf/include/tln_abi.h),
 * the same semantics as the Wasm evaluator on the same bytes:
 *   policy filter (scope) -> selectors of the hook in order, first full match
 *   wins (matchPIDs, matchBinaries, matchArgs) -> actions (per-policy mode read
 *   at each hit) -> counters -> ring-buffer record unless NoPost/rate limited.
 * A hook program fills a tln_hook_rec in a per-CPU buffer (the argument values
 * as the hook's args[] declare them), then calls tln_eval_hook().
 */
#ifndef TLN_EVAL_H
#define TLN_EVAL_H

#include "tln_common.h"
#include "tln_maps.h"

/* set by the loader before load (read-only afterwards) */
const volatile __u32 tln_policy_id = 0;
const volatile __u32 tln_str_cap = 255; /* string bytes in a tln_str key: key_size - 5 */

/* ---- image maps: created by the loader from the policy's MapSpecs ------ */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tln_policy_conf);
} tln_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tln_hook);
} tln_hooks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tln_selector);
} tln_sels SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tln_str_key);
	__type(value, __u8);
} tln_str SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tln_addr4_key);
	__type(value, __u8);
} tln_addr4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tln_addr6_key);
	__type(value, __u8);
} tln_addr6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tln_u64set_key);
	__type(value, __u8);
} tln_u64set SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tln_sel_stats);
} tln_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, __u8);
} tln_pod_filter SEC(".maps");

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

/* Post rate limit: (selector, thread/process/0) -> ktime of the last post */
struct tln_rl_key {
	__u32 sel;
	__u32 scope;
	__u64 id;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct tln_rl_key);
	__type(value, __u64);
} tln_ratelimit SEC(".maps");

static __always_inline struct tln_hook_rec *tln_rec(void)
{
	return tln_zero_lookup(&tln_hookbuf);
}

/* ---- policy filter ----------------------------------------------------- */

/* the policy's conf when it applies to the current task, else NULL */
static __always_inline struct tln_policy_conf *tln_policy_applies(void)
{
	struct tln_policy_conf *conf = tln_zero_lookup(&tln_policy);
	__u64 cg;

	if (!conf)
		return NULL;
	if (!(conf->scope & TLN_SCOPE_F_FILTERED))
		return conf;
	/* a cgroup of one of the policy's pods */
	cg = bpf_get_current_cgroup_id();
	if (bpf_map_lookup_elem(&tln_pod_filter, &cg))
		return conf;
	/* or a task in no pod, for policies that take host processes */
	if ((conf->scope & TLN_SCOPE_F_HOST) && !bpf_map_lookup_elem(&tln_pod_cgroups, &cg))
		return conf;
	return NULL;
}

/* ---- record -------------------------------------------------------------- */

/* starts a hook record: header, task, binary from the process table;
 * returns the data[] bytes used (the binary) */
static __always_inline __u32 tln_rec_begin(struct tln_hook_rec *rec, __u8 slot,
					   struct tln_hook *hook, __u32 sensor, __u32 ns_pid)
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
	rec->policy_id = tln_policy_id;
	rec->hook_id = hook->hook_id;
	rec->slot = slot;
	rec->selector = TLN_SEL_NONE;
	rec->actions = 0;
	rec->skipped = 0;
	rec->mode = 0;
	rec->nargs = hook->nargs;
	rec->error = 0;
	rec->sensor = sensor;
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
	a->flags = 0;
	a->len = 0;
	a->off = 0;
	a->pad0 = 0;
	a->val = 0;
}

/* an integer argument, sign- or zero-extended as its declared type says */
static __always_inline __u64 tln_int_conv(__u8 type, __u64 v)
{
	switch (type) {
	case TLN_ARG_INT:
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
	       type == TLN_ARG_STRING || type == TLN_ARG_FILENAME;
}

static __always_inline int tln_type_is_int(__u8 type)
{
	return (type >= TLN_ARG_INT && type <= TLN_ARG_UINT16);
}

static __always_inline int tln_type_is_signed(__u8 type)
{
	return type == TLN_ARG_INT || type == TLN_ARG_SINT64 || type == TLN_ARG_SINT8 ||
	       type == TLN_ARG_SINT16;
}

/* ---- matching ------------------------------------------------------------ */

/* is the string data[off, off+len) in string set `set`? Equal entries end
 * with a NUL, so the key carries one when there is room; Postfix entries
 * are reversed, so a reverse lookup reverses the last bytes. */
__noinline int tln_str_in_set(__u32 set, __u32 off, __u32 len, __u32 reverse)
{
	struct tln_hook_rec *rec = tln_rec();
	struct tln_strkey_buf *kb = tln_zero_lookup(&tln_strkey);
	__u32 cap = tln_str_cap, n, i, last;

	if (!rec || !kb || !set)
		return 0;
	if (cap > TLN_STR_DATA)
		cap = TLN_STR_DATA;
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
	return bpf_map_lookup_elem(&tln_str, &kb->key) != NULL;
}

static __always_inline int tln_addr_in_set(__u8 set, __u16 family, const __u8 *addr)
{
	if (!set)
		return 0;
	if (family == TLN_AF_INET) {
		struct tln_addr4_key k = {};

		k.prefixlen = 8 + 32;
		k.set = set;
		__builtin_memcpy(k.addr, addr, 4);
		return bpf_map_lookup_elem(&tln_addr4, &k) != NULL;
	}
	if (family == TLN_AF_INET6) {
		struct tln_addr6_key k = {};

		k.prefixlen = 8 + 128;
		k.set = set;
		__builtin_memcpy(k.addr, addr, 16);
		return bpf_map_lookup_elem(&tln_addr6, &k) != NULL;
	}
	return 0;
}

static __always_inline int tln_u64_in_set(__u8 set, __u64 v)
{
	struct tln_u64set_key k = {};

	if (!set)
		return 0;
	k.set = set;
	k.value = v;
	return bpf_map_lookup_elem(&tln_u64set, &k) != NULL;
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
static __always_inline int tln_int_match(struct tln_filter *f, __u64 v, __u8 type)
{
	int sgn = tln_type_is_signed(type);
	int k;

	switch (f->op) {
	case TLN_OP_EQUAL:
	case TLN_OP_NOT_EQUAL:
		if (f->set)
			return tln_u64_in_set(f->set, v);
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
		return tln_u64_in_set(f->set, v);
	default:
		return 0;
	}
}

/* the positive sense of op on a socket */
static __always_inline int tln_sock_match(struct tln_filter *f, struct tln_rec_sock *s)
{
	switch (f->op) {
	case TLN_OP_SADDR:
	case TLN_OP_NOT_SADDR:
		return tln_addr_in_set(f->set, s->family, s->saddr);
	case TLN_OP_DADDR:
	case TLN_OP_NOT_DADDR:
		return tln_addr_in_set(f->set, s->family, s->daddr);
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
__noinline int tln_filter_match(__u32 sel_idx, __u32 j)
{
	struct tln_selector *sel = bpf_map_lookup_elem(&tln_sels, &sel_idx);
	struct tln_hook_rec *rec = tln_rec();
	struct tln_filter *f;
	struct tln_rec_arg *a;
	__u8 type, op, neg;
	int m;

	if (!sel || !rec || j >= TLN_MAX_FILTERS)
		return 0;
	f = &sel->filters[j];
	/* matchReturnArgs: no return values on these hooks (refused at load) */
	if (f->slot >= TLN_MAX_ARGS)
		return 0;
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
			m = tln_str_in_set(f->set, a->off, a->len, 1);
		else if (op == TLN_OP_EQUAL || op == TLN_OP_NOT_EQUAL || op == TLN_OP_PREFIX ||
			 op == TLN_OP_NOT_PREFIX)
			m = tln_str_in_set(f->set, a->off, a->len, 0);
		else
			return 0;
	} else if (tln_type_is_int(type)) {
		m = tln_int_match(f, a->val, type);
	} else if (type == TLN_ARG_SOCK || type == TLN_ARG_SOCKADDR) {
		m = tln_sock_match(f, &rec->sock);
	} else {
		return 0;
	}
	return neg ? !m : m;
}

/* matchPIDs, matchBinaries and matchArgs of selector sel_idx */
__noinline int tln_sel_match(__u32 sel_idx)
{
	struct tln_selector *sel = bpf_map_lookup_elem(&tln_sels, &sel_idx);
	struct tln_hook_rec *rec = tln_rec();
	__u32 pid, j, k;
	__u8 op;
	int m;

	if (!sel || !rec)
		return 0;
	/* matchPIDs */
	if (sel->pid_op) {
		pid = (sel->pid_flags & TLN_PID_F_NAMESPACE) ? rec->task.ns_pid : rec->task.pid;
		m = 0;
		for (k = 0; k < TLN_MAX_PIDS; k++) {
			if (k >= sel->npids)
				break;
			if (sel->pids[k] == pid)
				m = 1;
		}
		if (sel->pid_op == TLN_OP_NOT_IN)
			m = !m;
		if (!m)
			return 0;
	}
	/* matchBinaries: the process table path in the selector's set */
	op = sel->bin_op;
	if (op) {
		m = tln_str_in_set(sel->bin_set, 0, rec->bin_len,
				   op == TLN_OP_POSTFIX || op == TLN_OP_NOT_POSTFIX);
		if (sel->flags & TLN_SEL_F_BIN_NEGATE)
			m = !m;
		if (!m)
			return 0;
	}
	/* matchArgs: every filter */
	for (j = 0; j < TLN_MAX_FILTERS; j++) {
		if (j >= sel->nfilters)
			break;
		if (!tln_filter_match(sel_idx, j))
			return 0;
	}
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
static __always_inline int tln_rate_ok(__u32 sel_idx, struct tln_action *act)
{
	struct tln_rl_key k = {};
	__u64 now = bpf_ktime_get_ns(), *last;

	if (!act->rate_limit_ns)
		return 1;
	k.sel = sel_idx;
	k.scope = act->rl_scope;
	if (act->rl_scope == TLN_RL_THREAD)
		k.id = bpf_get_current_pid_tgid();
	else if (act->rl_scope == TLN_RL_PROCESS)
		k.id = bpf_get_current_pid_tgid() >> 32;
	last = bpf_map_lookup_elem(&tln_ratelimit, &k);
	if (last && now - *last < act->rate_limit_ns)
		return 0;
	bpf_map_update_elem(&tln_ratelimit, &k, &now, BPF_ANY);
	return 1;
}

/*
 * Runs the selectors of hook `slot` on the filled record, then the actions
 * of the first matching selector. Signals are sent here for tracepoint
 * programs; cgroup programs get them in *v. Returns 1 when a record is to be
 * posted, 0 otherwise (no match, NoPost, rate limited).
 */
static __always_inline int tln_eval_hook(struct tln_policy_conf *conf, struct tln_hook *hook,
					 struct tln_hook_rec *rec, int cgroup,
					 struct tln_verdict *v)
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
			if (tln_sel_match(hook->first_sel + i)) {
				matched = i;
				break;
			}
		}
		if (matched < 0)
			return 0;
		sel_idx = hook->first_sel + matched;
		stat_idx = sel_idx;
		rec->selector = matched;
		sel = bpf_map_lookup_elem(&tln_sels, &sel_idx);
	}
	st = bpf_map_lookup_elem(&tln_stats, &stat_idx);
	if (sel) {
		for (k = 0; k < TLN_MAX_ACTIONS; k++) {
			if (k >= sel->nactions)
				break;
			act = &sel->actions[k];
			id = act->id;
			switch (id) {
			case TLN_ACT_POST:
				rec->actions |= TLN_ACTBIT(TLN_ACT_POST);
				if (!tln_rate_ok(sel_idx, act))
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

#endif /* TLN_EVAL_H */
