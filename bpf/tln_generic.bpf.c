// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/*
 * tln_generic: the hooks of spec.tracepoints and spec.uprobes (Tetragon's
 * generic_tracepoint and generic_uprobe sensors):
 *   tln_tp_generic  attached to the hook's tracepoint <subsystem>/<event>;
 *                   reads each declared argument from the tracepoint record
 *                   at the offset the loader found in its tracefs format;
 *   tln_uprobe      attached with libbpf to <path>:<symbol>; reads the
 *                   function's arguments from the registers.
 * One instance per hook: the loader sets the hook slot and, in tln_gen, where
 * each argument is and how to read it (enum tln_src), and loads only the
 * program the hook needs. Strings are read into the record's data[] (at most
 * TLN_GEN_STR_MAX bytes each), then the shared evaluator runs.
 */
#include "lib/tln_common.h"
#include "lib/tln_maps.h"
#include "lib/tln_task.h"
#include "lib/tln_eval.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* set by the loader before load */
const volatile __u8 tln_gen_slot = TLN_NO_SLOT;
const volatile struct tln_gen_conf tln_gen = {};

#define TLN_GEN_MASK (TLN_DATA_MAX - 1)

/* uprobe and syscall tracepoint programs run in task context and can be
 * preempted: a task entering while another one on the same CPU holds the
 * per-CPU scratch buffers is let through unjudged rather than judged on
 * mixed data (as in tln_lsm.bpf.c) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tln_gen_busy SEC(".maps");

/* the 6th integer argument register (libbpf 1.1 has no PT_REGS_PARM6) */
#if defined(bpf_target_x86)
#define TLN_PARM6(x) (__PT_REGS_CAST(x)->r9)
#elif defined(bpf_target_arm64)
#define TLN_PARM6(x) (__PT_REGS_CAST(x)->regs[5])
#else
#define TLN_PARM6(x) 0
#endif

/* function argument i (0-5) of a uprobe */
static __always_inline __u64 tln_reg_arg(struct pt_regs *regs, __u32 i)
{
	switch (i) {
	case 0:
		return PT_REGS_PARM1(regs);
	case 1:
		return PT_REGS_PARM2(regs);
	case 2:
		return PT_REGS_PARM3(regs);
	case 3:
		return PT_REGS_PARM4(regs);
	case 4:
		return PT_REGS_PARM5(regs);
	case 5:
		return TLN_PARM6(regs);
	default:
		return 0;
	}
}

/* an integer field of `size` bytes at ctx + off, sign-extended when signed */
static __always_inline int tln_field_int(void *ctx, __u32 off, __u32 size, __u8 sgn, __u64 *out)
{
	__u64 v = 0;

	if (size > 8)
		size = 8;
	if (bpf_probe_read_kernel(&v, size & 15, (char *)ctx + (off & 0xffff)))
		return -1;
	if (sgn) {
		if (size == 1)
			v = (__u64)(__s64)(__s8)v;
		else if (size == 2)
			v = (__u64)(__s64)(__s16)v;
		else if (size == 4)
			v = (__u64)(__s64)(__s32)v;
	}
	*out = v;
	return 0;
}

/* a string argument into data[cur]; returns its length (no NUL), < 0 when unreadable */
static __always_inline long tln_gen_str(struct tln_hook_rec *rec, __u32 cur, void *ctx,
					struct pt_regs *regs, const volatile struct tln_gen_arg *ga,
					__u8 *flags)
{
	char *dst = &rec->data[cur & TLN_GEN_MASK];
	__u64 ptr = 0;
	__u32 loc = 0, cap = TLN_GEN_STR_MAX;
	__u32 off = ga->off & 0xffff;
	long n;

	switch (ga->src) {
	case TLN_SRC_USTR:
		if (bpf_probe_read_kernel(&ptr, sizeof(ptr), (char *)ctx + off))
			return -1;
		n = bpf_probe_read_user_str(dst, TLN_GEN_STR_MAX, (const void *)ptr);
		break;
	case TLN_SRC_KSTR:
		if (bpf_probe_read_kernel(&ptr, sizeof(ptr), (char *)ctx + off))
			return -1;
		n = bpf_probe_read_kernel_str(dst, TLN_GEN_STR_MAX, (const void *)ptr);
		break;
	case TLN_SRC_DATA_LOC:
		/* (length << 16) | offset of the bytes in the record */
		if (bpf_probe_read_kernel(&loc, sizeof(loc), (char *)ctx + off))
			return -1;
		n = bpf_probe_read_kernel_str(dst, TLN_GEN_STR_MAX, (char *)ctx + (loc & 0xffff));
		break;
	case TLN_SRC_ARRAY:
		if (ga->size < cap)
			cap = ga->size;
		n = bpf_probe_read_kernel_str(dst, cap & (TLN_GEN_STR_MAX * 2 - 1),
					      (char *)ctx + off);
		break;
	case TLN_SRC_REG_USTR:
		ptr = tln_reg_arg(regs, off);
		n = bpf_probe_read_user_str(dst, TLN_GEN_STR_MAX, (const void *)ptr);
		break;
	default:
		return -1;
	}
	if (n <= 0)
		return -1;
	if (n == TLN_GEN_STR_MAX)
		*flags |= TLN_ARG_F_TRUNC;
	return n - 1;
}

/* one hit: record, arguments, selectors, actions, post */
static __always_inline int tln_gen_hit(void *ctx, struct pt_regs *regs, __u32 sensor)
{
	struct tln_policy_conf *conf;
	struct tln_hook *hook;
	struct tln_hook_rec *rec;
	struct tln_verdict v = {};
	struct tln_rec_arg *ra;
	const volatile struct tln_gen_arg *ga;
	__u32 s = tln_gen_slot, cur, a;
	__u64 val;
	long n;
	__u8 type, flags;

	if (s == TLN_NO_SLOT)
		return 0;
	/* policy filter first: out-of-scope tasks pay nothing more */
	conf = tln_policy_applies();
	if (!conf)
		return 0;
	hook = bpf_map_lookup_elem(&tln_hooks, &s);
	rec = tln_rec();
	if (!hook || !rec)
		return 0;
	cur = tln_rec_begin(rec, s, hook, sensor, tln_ns_pid());
	/* argument values in the order of the hook's args[] */
	for (a = 0; a < TLN_MAX_ARGS; a++) {
		ra = &rec->args[a];
		if (a >= hook->nargs || a >= tln_gen.nargs) {
			tln_rec_arg_clear(ra, a < hook->nargs ? hook->args[a].type : 0);
			if (a < hook->nargs)
				ra->flags = TLN_ARG_F_NONE;
			continue;
		}
		type = hook->args[a].type;
		tln_rec_arg_clear(ra, type);
		ga = &tln_gen.args[a];
		if (ga->src == TLN_SRC_INT) {
			if (tln_field_int(ctx, ga->off, ga->size, ga->is_signed, &val))
				ra->flags = TLN_ARG_F_NONE;
			else
				ra->val = tln_int_conv(type, val);
		} else if (ga->src == TLN_SRC_REG) {
			ra->val = tln_int_conv(type, tln_reg_arg(regs, ga->off));
		} else if (ga->src != TLN_SRC_NONE && tln_type_is_string(type)) {
			flags = 0;
			n = tln_gen_str(rec, cur, ctx, regs, ga, &flags);
			if (n < 0) {
				ra->flags = TLN_ARG_F_NONE;
			} else {
				ra->off = cur;
				ra->len = n;
				ra->flags = flags;
				cur += n & (TLN_GEN_STR_MAX - 1);
			}
		} else {
			ra->flags = TLN_ARG_F_NONE;
		}
	}
	__builtin_memset(&rec->sock, 0, sizeof(rec->sock));
	/* selectors and actions (signals are sent in there) */
	if (!tln_eval_hook(conf, hook, rec, 0, &v))
		return 0;
	tln_emit_hook(rec, cur);
	return 0;
}

static __always_inline int tln_gen_event(void *ctx, struct pt_regs *regs, __u32 sensor)
{
	__u64 *busy;

	if (tln_gen_slot == TLN_NO_SLOT)
		return 0;
	busy = tln_zero_lookup(&tln_gen_busy);
	if (!busy)
		return 0;
	__sync_fetch_and_add(busy, 1);
	if (*(volatile __u64 *)busy == 1)
		tln_gen_hit(ctx, regs, sensor);
	__sync_fetch_and_add(busy, -1);
	return 0;
}

/* spec.tracepoints[]: attached by the loader to <subsystem>/<event> */
SEC("tracepoint")
int tln_tp_generic(void *ctx)
{
	return tln_gen_event(ctx, NULL, TLN_SENSOR_TP_GENERIC);
}

/* spec.uprobes[]: attached by the loader to <path>:<symbol> */
SEC("uprobe")
int tln_uprobe(struct pt_regs *ctx)
{
	return tln_gen_event(NULL, ctx, TLN_SENSOR_UPROBE);
}
