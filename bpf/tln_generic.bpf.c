// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/*
 * tln_generic: the hooks of spec.tracepoints and spec.uprobes (Tetragon's
 * generic_tracepoint and generic_uprobe sensors):
 *   tln_tp_generic  attached to the hook's tracepoint <subsystem>/<event>;
 *                   reads each declared argument from the tracepoint record
 *                   at the offset the loader found in its tracefs format;
 *   tln_uprobe      attached with libbpf to <path>:<symbol>; reads the
 *                   function's arguments from the registers;
 *   tln_kprobe      spec.kprobes on any kernel function (kernels with
 *                   kprobes): arguments from the registers, strings from
 *                   kernel memory, struct file / struct path / fd arguments as
 *                   the file's full path;
 *   tln_fentry, tln_fmod_ret, tln_lsm_hook   the same arguments from a BTF
 *                   program's context: spec.fentries, kprobes/fentries that
 *                   Override (the function returns the error), spec.lsmhooks.
 * One instance per hook: the loader sets the hook slot, the policy's unit
 * (its image maps in the outer maps of tln_eval.h) and, in tln_gen, where
 * each argument is and how to read it (enum tln_src), and loads only the
 * program the hook needs. Strings are read into the record's data[] (at most
 * TLN_GEN_STR_MAX bytes each), then the shared evaluator runs.
 */
#include "lib/tln_common.h"
#include "lib/tln_maps.h"
#include "lib/tln_task.h"
#include "lib/tln_path.h"
#include "lib/tln_eval.h"
#include "tln_usdt.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* set by the loader before load */
const volatile __u8 tln_gen_slot = TLN_NO_SLOT;
const volatile __u32 tln_gen_unit = 0;
const volatile struct tln_gen_conf tln_gen = {};
/* a USDT hook: where each argument is, from the probe's note (tln_usdt.h) */
const volatile struct tln_usdt_conf tln_usdt = {};

#define TLN_GEN_MASK (TLN_DATA_MAX - 1)
#define TLN_GEN_MAX_ERRNO 4095

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

/* return: true hooks: the entry's record per thread until the exit reads it
 * (record + its data[]; at most one call of a syscall per thread at a time) */
struct tln_gen_pending {
	char buf[sizeof(struct tln_hook_rec) + TLN_DATA_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct tln_gen_pending);
} tln_gen_pend SEC(".maps");

/* the 6th integer argument register (libbpf 1.1 has no PT_REGS_PARM6), read
 * through bpf_probe_read_kernel as the others: a computed offset into the ctx
 * (what a switch over registers compiles to) is refused by the verifier */
#if defined(bpf_target_x86)
#define TLN_PARM6(x) BPF_CORE_READ(__PT_REGS_CAST(x), r9)
#elif defined(bpf_target_arm64)
#define TLN_PARM6(x) BPF_CORE_READ(__PT_REGS_CAST(x), regs[5])
#else
#define TLN_PARM6(x) 0
#endif

/* function argument i of a BTF program (fentry, fmod_ret, lsm) */
static __always_inline __u64 tln_btf_arg(void *ctx, __u32 i)
{
	__u64 v = 0;

	bpf_get_func_arg(ctx, i, &v);
	return v;
}

/* function argument i (0-5) of a uprobe or kprobe */
static __always_inline __u64 tln_reg_arg(struct pt_regs *regs, __u32 i)
{
	switch (i) {
	case 0:
		return PT_REGS_PARM1_CORE(regs);
	case 1:
		return PT_REGS_PARM2_CORE(regs);
	case 2:
		return PT_REGS_PARM3_CORE(regs);
	case 3:
		return PT_REGS_PARM4_CORE(regs);
	case 4:
		return PT_REGS_PARM5_CORE(regs);
	case 5:
		return TLN_PARM6(regs);
	default:
		return 0;
	}
}

#if defined(bpf_target_x86)
_Static_assert(__builtin_offsetof(struct pt_regs, ax) == TLN_PTREGS_AX &&
		       __builtin_offsetof(struct pt_regs, di) == TLN_PTREGS_DI &&
		       __builtin_offsetof(struct pt_regs, bp) == TLN_PTREGS_BP &&
		       __builtin_offsetof(struct pt_regs, sp) == TLN_PTREGS_SP &&
		       sizeof(struct pt_regs) == TLN_PTREGS_SIZE,
	       "tln_usdt.h: struct pt_regs offsets");
#endif

/* USDT argument a of the hook, as its note's spec says: a constant, a register,
 * or memory of the task addressed by registers; sized and sign-extended */
static __always_inline int tln_usdt_val(struct pt_regs *regs, __u32 a, __u64 *out)
{
	const volatile struct tln_usdt_arg *ua;
	__u64 v = 0, idx = 0, m = 0;
	__u32 sz, sh;

	if (a >= TLN_MAX_ARGS)
		return -1;
	ua = &tln_usdt.args[a];
	sz = ua->size;
	if (sz == 0 || sz > 8)
		return -1;
	if (ua->kind == TLN_USDT_CONST) {
		v = ua->val_off;
	} else if (ua->kind >= TLN_USDT_REG && ua->kind <= TLN_USDT_SIB) {
		if (bpf_probe_read_kernel(&v, sizeof(v), (char *)regs + (ua->reg_off & 0xf8)))
			return -1;
		if (ua->kind == TLN_USDT_SIB) {
			if (bpf_probe_read_kernel(&idx, sizeof(idx),
						  (char *)regs + (ua->idx_off & 0xf8)))
				return -1;
			v += idx << (ua->scale & 3);
		}
		if (ua->kind != TLN_USDT_REG) {
			/* little-endian: the low sz bytes are the value */
			if (bpf_probe_read_user(&m, sz & 15, (const void *)(v + ua->val_off)))
				return -1;
			v = m;
		}
	} else {
		return -1;
	}
	if (sz < 8) {
		sh = 64 - 8 * sz;
		v <<= sh;
		v = ua->is_signed ? (__u64)((__s64)v >> sh) : v >> sh;
	}
	*out = v;
	return 0;
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

/* the full path of p into data[cur] (at most TLN_GEN_STR_MAX - 1 bytes); its length, < 0 when unreadable */
static __always_inline long tln_gen_path(struct tln_hook_rec *rec, __u32 cur, const struct path *p,
					 __u8 *flags)
{
	struct tln_pathres res = {};
	struct tln_pathbuf *pb;
	__u32 len, off;

	if (!p || tln_path_resolve(p, &res))
		return -1;
	pb = tln_pathbuf_get();
	if (!pb)
		return -1;
	len = res.len;
	off = res.off;
	if (res.trunc || len > TLN_GEN_STR_MAX - 1) {
		*flags |= TLN_ARG_F_TRUNC;
		if (len > TLN_GEN_STR_MAX - 1)
			len = TLN_GEN_STR_MAX - 1;
	}
	/* keep the masks: 6.1's verifier loses the bounds of 32-bit values through the stack */
	barrier_var(len);
	barrier_var(off);
	len &= TLN_GEN_STR_MAX - 1;
	if (bpf_probe_read_kernel(&rec->data[cur & TLN_GEN_MASK], len,
				  &pb->buf[off & TLN_PATH_MASK]))
		return -1;
	return len;
}

/* the path of the file behind an fd of the current task */
static __always_inline long tln_gen_fd_path(struct tln_hook_rec *rec, __u32 cur, __s64 fd,
					    __u8 *flags)
{
	struct file *f = tln_fd_file(fd);

	if (!f)
		return -1;
	return tln_gen_path(rec, cur, &f->f_path, flags);
}

/* n bytes (at most TLN_GEN_BUF_MAX, and what data[] has room for after cur) from
 * ptr into data[cur]; the bytes copied, < 0 when unreadable */
static __always_inline long tln_gen_copy_buf(struct tln_hook_rec *rec, __u32 cur, __u64 ptr,
					     __u64 n, int user)
{
	__u32 room;

	cur &= TLN_GEN_MASK;
	room = TLN_DATA_MAX - cur;
	if (n > TLN_GEN_BUF_MAX)
		n = TLN_GEN_BUF_MAX;
	if (n > room)
		n = room;
	if (!n)
		return 0;
	barrier_var(n); /* keep the masks: 6.1's verifier loses the bounds through the copies */
	if (user ? bpf_probe_read_user(&rec->data[cur], n & TLN_GEN_BUF_MAX, (const void *)ptr) :
		   bpf_probe_read_kernel(&rec->data[cur], n & TLN_GEN_BUF_MAX, (const void *)ptr))
		return -1;
	return n;
}

/* a char_buf argument (Tetragon's sizeArgIndex / returnCopy): ra->val is the size
 * the call was given (the bytes asked for), the copy at most TLN_GEN_BUF_MAX of them;
 * with returnCopy only the pointer is kept (in ra->val) for the exit. Returns the
 * bytes copied, < 0 when unreadable */
static __always_inline long tln_gen_buf_arg(struct tln_hook_rec *rec, __u32 cur, void *ctx,
					    const volatile struct tln_gen_arg *ga,
					    const volatile struct tln_gen_buf *gb,
					    struct tln_rec_arg *ra)
{
	__u64 ptr = 0, size = 0;
	long n;

	if (bpf_probe_read_kernel(&ptr, sizeof(ptr), (char *)ctx + (ga->off & 0xffff)))
		return -1;
	if (gb->flags & TLN_GEN_B_RETCOPY) {
		ra->val = ptr;
		return 0;
	}
	if (!gb->len_size || tln_field_int(ctx, gb->len_off, gb->len_size, 0, &size))
		return -1;
	n = tln_gen_copy_buf(rec, cur, ptr, size, ga->src == TLN_SRC_UBUF);
	if (n < 0)
		return -1;
	ra->val = size;
	if ((__u64)n < size)
		ra->flags |= TLN_ARG_F_TRUNC;
	return n;
}

/* a string argument into data[cur]; returns its length (no NUL), < 0 when unreadable */
/* function argument i: from the registers, or (btf, a constant at each call site,
 * so other programs carry no BTF-only helper) from a BTF program's context */
#define tln_fn_arg(ctx, regs, i, btf) ((btf) ? tln_btf_arg(ctx, i) : tln_reg_arg(regs, i))

/*
 * resolve: argument a's value *v (a pointer to a struct) walked along tln_gen.res[a]
 * (struct tln_gen_res); 0, or -1 when a read fails or a pointer on the way is NULL (the
 * argument is then absent). One subprogram for every call site: the walk is verified once
 * per site, not inlined into each.
 */
static __noinline int tln_gen_resolve(__u32 a, __u64 *v)
{
	__u64 x = *v, y;
	__u32 k, n, size;
	long err;

	if (a >= TLN_MAX_ARGS)
		return 0;
	n = tln_gen.res[a].n;
	for (k = 0; k < TLN_RES_STEPS && k < n; k++) {
		if (!x)
			return -1;
		x += tln_gen.res[a].off[k];
		if (!(tln_gen.res[a].loads & (1u << k)))
			continue;
		size = k + 1 == n ? tln_gen.res[a].size : 8;
		y = 0;
		if (size == 1)
			err = bpf_probe_read_kernel(&y, 1, (const void *)x);
		else if (size == 2)
			err = bpf_probe_read_kernel(&y, 2, (const void *)x);
		else if (size == 4)
			err = bpf_probe_read_kernel(&y, 4, (const void *)x);
		else
			err = bpf_probe_read_kernel(&y, 8, (const void *)x);
		if (err)
			return -1;
		if (k + 1 == n && tln_gen.res[a].is_signed && size < 8)
			y = (__u64)(((__s64)(y << (64 - 8 * size))) >> (64 - 8 * size));
		x = y;
	}
	*v = x;
	return 0;
}

/* the value of argument a through its resolve walk, when it has one */
#define tln_gen_res_ok(a, v) \
	(!((a) < TLN_MAX_ARGS && tln_gen.res[a].n) || !tln_gen_resolve((a), (v)))

static __always_inline long tln_gen_str(struct tln_hook_rec *rec, __u32 cur, void *ctx,
					struct pt_regs *regs, const volatile struct tln_gen_arg *ga,
					__u8 *flags, const int btf, __u32 a)
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
		if (bpf_probe_read_kernel(&ptr, sizeof(ptr), (char *)ctx + off) ||
		    !tln_gen_res_ok(a, &ptr))
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
		ptr = tln_fn_arg(ctx, regs, off, btf);
		n = bpf_probe_read_user_str(dst, TLN_GEN_STR_MAX, (const void *)ptr);
		break;
	case TLN_SRC_REG_KSTR:
		ptr = tln_fn_arg(ctx, regs, off, btf);
		if (!tln_gen_res_ok(a, &ptr))
			return -1;
		n = bpf_probe_read_kernel_str(dst, TLN_GEN_STR_MAX, (const void *)ptr);
		break;
	case TLN_SRC_REG_FILE:
		ptr = tln_fn_arg(ctx, regs, off, btf);
		if (!tln_gen_res_ok(a, &ptr))
			return -1;
		return ptr ? tln_gen_path(rec, cur, &((struct file *)ptr)->f_path, flags) : -1;
	case TLN_SRC_REG_PATH:
		ptr = tln_fn_arg(ctx, regs, off, btf);
		if (!tln_gen_res_ok(a, &ptr) || !ptr)
			return -1;
		return tln_gen_path(rec, cur, (const struct path *)ptr, flags);
	case TLN_SRC_REG_FD:
		return tln_gen_fd_path(rec, cur, (__s64)(int)tln_fn_arg(ctx, regs, off, btf),
				       flags);
	case TLN_SRC_FD:
		if (tln_field_int(ctx, off, ga->size, 1, &ptr))
			return -1;
		return tln_gen_fd_path(rec, cur, (__s64)(int)ptr, flags);
	case TLN_SRC_P_NETDEV:
		/* a device's name (IFNAMSIZ bytes): the pointer as the socket kinds take theirs */
		if (regs || btf)
			ptr = tln_fn_arg(ctx, regs, off, btf);
		else if (bpf_probe_read_kernel(&ptr, sizeof(ptr), (char *)ctx + off))
			return -1;
		if (!tln_gen_res_ok(a, &ptr) || !ptr)
			return -1;
		n = bpf_probe_read_kernel_str(dst, sizeof(((struct net_device *)0)->name),
					      ((struct net_device *)ptr)->name);
		break;
	case TLN_SRC_BPRM:
		/* the file being executed, as Tetragon prints a linux_binprm */
		if (bpf_probe_read_kernel(&ptr, sizeof(ptr), (char *)ctx + off) || !ptr)
			return -1;
		ptr = (__u64)BPF_CORE_READ((struct linux_binprm *)ptr, file);
		return ptr ? tln_gen_path(rec, cur, &((struct file *)ptr)->f_path, flags) : -1;
	default:
		return -1;
	}
	if (n <= 0)
		return -1;
	if (n == TLN_GEN_STR_MAX)
		*flags |= TLN_ARG_F_TRUNC;
	return n - 1;
}

/* a struct sock's family, protocol, state, addresses and ports (what Tetragon's sock_arg shows) */
static __always_inline void tln_sock_fill(struct tln_rec_sock *s, const struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	s->family = family;
	s->protocol = BPF_CORE_READ(sk, sk_protocol);
	s->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	s->type = BPF_CORE_READ(sk, sk_type);
	s->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	s->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	/* sized by the field: BPF_CORE_READ_INTO would take the size of one byte of the array */
	if (family == TLN_AF_INET) {
		bpf_core_read(s->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(s->daddr, 4, &sk->__sk_common.skc_daddr);
	} else if (family == TLN_AF_INET6) {
		bpf_core_read(s->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(s->daddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
}

/* an sk_buff's IPv4 or IPv6 header and TCP/UDP ports; the IPv6 next header is taken
 * as the transport protocol (extension headers are not walked) */
static __always_inline int tln_skb_fill(struct tln_rec_sock *s, struct sk_buff *skb)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 th = BPF_CORE_READ(skb, transport_header);
	__u8 vihl = 0, proto;
	__be16 ports[2];

	if (!head || nh == (__u16)~0 || bpf_probe_read_kernel(&vihl, 1, head + nh))
		return -1;
	if ((vihl >> 4) == 4) {
		struct iphdr ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh))
			return -1;
		s->family = TLN_AF_INET;
		proto = ip.protocol;
		__builtin_memcpy(s->saddr, &ip.saddr, 4);
		__builtin_memcpy(s->daddr, &ip.daddr, 4);
		if (th == (__u16)~0 || th == nh)
			th = nh + (vihl & 0xf) * 4;
	} else if ((vihl >> 4) == 6) {
		struct ipv6hdr ip6;

		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh))
			return -1;
		s->family = TLN_AF_INET6;
		proto = ip6.nexthdr;
		__builtin_memcpy(s->saddr, &ip6.saddr, 16);
		__builtin_memcpy(s->daddr, &ip6.daddr, 16);
		if (th == (__u16)~0 || th == nh)
			th = nh + sizeof(ip6);
	} else {
		return -1;
	}
	s->protocol = proto;
	if ((proto == TLN_IPPROTO_TCP || proto == TLN_IPPROTO_UDP) &&
	    !bpf_probe_read_kernel(ports, sizeof(ports), head + th)) {
		s->sport = bpf_ntohs(ports[0]);
		s->dport = bpf_ntohs(ports[1]);
	}
	return 0;
}

/* a kernel struct sockaddr: family, and for AF_INET/AF_INET6 the address and port (as the
 * source, which the SAddr/SPort operators compare, as Tetragon's sockaddr_arg) */
static __always_inline int tln_sockaddr_fill(struct tln_rec_sock *s, const void *sa)
{
	__u16 family = 0;

	if (bpf_probe_read_kernel(&family, sizeof(family), sa))
		return -1;
	s->family = family;
	if (family == TLN_AF_INET) {
		struct sockaddr_in in;

		if (bpf_probe_read_kernel(&in, sizeof(in), sa))
			return -1;
		s->sport = bpf_ntohs(in.sin_port);
		__builtin_memcpy(s->saddr, &in.sin_addr, 4);
	} else if (family == TLN_AF_INET6) {
		struct sockaddr_in6 in6;

		if (bpf_probe_read_kernel(&in6, sizeof(in6), sa))
			return -1;
		s->sport = bpf_ntohs(in6.sin6_port);
		__builtin_memcpy(s->saddr, &in6.sin6_addr, 16);
	}
	return 0;
}

/* a user namespace's level, owner, group and inode (Tetragon's user_ns_arg) */
static __always_inline void tln_userns_fill(struct tln_rec_userns *u,
					    const struct user_namespace *ns)
{
	u->level = u->uid = u->gid = u->inum = 0;
	if (ns) {
		u->level = BPF_CORE_READ(ns, level);
		u->uid = BPF_CORE_READ(ns, owner.val);
		u->gid = BPF_CORE_READ(ns, group.val);
		u->inum = BPF_CORE_READ(ns, ns.inum);
	}
}

/* a BPF program, map or perf event argument (what Tetragon's bpf policies show) */
static __always_inline int tln_bpfobj_fill(void *dst, __u64 p, __u32 src)
{
	if (src == TLN_SRC_P_BPFATTR || src == TLN_SRC_P_BPFPROG) {
		struct tln_rec_bpfprog *o = dst;

		__builtin_memset(o, 0, sizeof(*o));
		if (src == TLN_SRC_P_BPFATTR) {
			const union bpf_attr *a = (const void *)p;

			o->prog_type = BPF_CORE_READ(a, prog_type);
			o->insn_cnt = BPF_CORE_READ(a, insn_cnt);
			bpf_core_read(o->name, sizeof(o->name), &a->prog_name);
		} else {
			const struct bpf_prog *g = (const void *)p;
			struct bpf_prog_aux *aux = BPF_CORE_READ(g, aux);

			o->prog_type = BPF_CORE_READ(g, type);
			o->insn_cnt = BPF_CORE_READ(g, len);
			if (aux)
				bpf_core_read_str(o->name, sizeof(o->name), &aux->name);
		}
		return 0;
	}
	if (src == TLN_SRC_P_BPFMAP) {
		const struct bpf_map *m = (const void *)p;
		struct tln_rec_bpfmap *o = dst;

		__builtin_memset(o, 0, sizeof(*o));
		o->map_type = BPF_CORE_READ(m, map_type);
		o->key_size = BPF_CORE_READ(m, key_size);
		o->value_size = BPF_CORE_READ(m, value_size);
		o->max_entries = BPF_CORE_READ(m, max_entries);
		bpf_core_read_str(o->name, sizeof(o->name), &m->name);
		return 0;
	}
	if (src == TLN_SRC_P_PERFEV) {
		const struct perf_event *e = (const void *)p;
		struct tln_rec_perfevent *o = dst;
		__u64 fn;

		__builtin_memset(o, 0, sizeof(*o));
		o->type = BPF_CORE_READ(e, attr.type);
		o->config = BPF_CORE_READ(e, attr.config);
		o->probe_offset = BPF_CORE_READ(e, attr.probe_offset);
		/* config1 names a kprobe/uprobe PMU event's function (a dynamic PMU type, past the
		 * fixed PERF_TYPE_*): a user pointer in the caller of perf_event_open */
		fn = BPF_CORE_READ(e, attr.kprobe_func);
		if (o->type >= PERF_TYPE_MAX && fn)
			bpf_probe_read_user_str(o->kprobe_func, sizeof(o->kprobe_func),
						(const void *)fn);
		return 0;
	}
	return -1;
}

/* bytes of data[] a pointer argument of source src takes */
static __always_inline __u32 tln_ptrarg_size(__u32 src)
{
	if (src == TLN_SRC_P_CRED)
		return sizeof(struct tln_rec_credarg);
	if (src == TLN_SRC_P_USERNS)
		return sizeof(struct tln_rec_userns);
	if (src == TLN_SRC_P_BPFATTR || src == TLN_SRC_P_BPFPROG)
		return sizeof(struct tln_rec_bpfprog);
	if (src == TLN_SRC_P_BPFMAP)
		return sizeof(struct tln_rec_bpfmap);
	if (src == TLN_SRC_P_PERFEV)
		return sizeof(struct tln_rec_perfevent);
	return sizeof(struct tln_rec_sock);
}

/*
 * A socket-kind or cred argument (TLN_SRC_P_*) from the pointer p into dst (in data[]):
 * 0, or -1 when it cannot be read. One subprogram for every call site, as tln_gen_resolve.
 */
static __noinline int tln_gen_ptrarg(void *dst, __u64 p, __u32 src)
{
	struct tln_rec_sock *s = dst;

	if (!dst || !p)
		return -1;
	if (src == TLN_SRC_P_CRED) {
		/* a struct cred and its user namespace (Tetragon's process_credentials_arg) */
		struct tln_rec_credarg *c = dst;

		tln_cred_fill(&c->cred, (const struct cred *)p);
		tln_userns_fill(&c->user_ns, BPF_CORE_READ((const struct cred *)p, user_ns));
		return 0;
	}
	if (src == TLN_SRC_P_USERNS) {
		tln_userns_fill(dst, (const struct user_namespace *)p);
		return 0;
	}
	if (src >= TLN_SRC_P_BPFATTR)
		return tln_bpfobj_fill(dst, p, src);
	__builtin_memset(s, 0, sizeof(*s));
	switch (src) {
	case TLN_SRC_P_SOCKET:
		p = (__u64)BPF_CORE_READ((struct socket *)p, sk);
		if (!p)
			return -1;
		/* fallthrough */
	case TLN_SRC_P_SOCK:
		tln_sock_fill(s, (const struct sock *)p);
		return 0;
	case TLN_SRC_P_SKB:
		return tln_skb_fill(s, (struct sk_buff *)p);
	case TLN_SRC_P_SOCKADDR:
		return tln_sockaddr_fill(s, (const void *)p);
	default:
		return -1;
	}
}

/* one hit: record, arguments, selectors, actions, post */
static __always_inline int tln_gen_hit(void *ctx, struct pt_regs *regs, __u32 sensor, const int btf,
				       const int sock)
{
	struct tln_dispatch *d;
	struct tln_policy_conf *conf;
	struct tln_unit *u;
	struct tln_hook *hook;
	struct tln_hook_rec *rec;
	struct tln_verdict v = {};
	struct tln_rec_arg *ra;
	const volatile struct tln_gen_arg *ga;
	__u32 s = tln_gen_slot, unit = tln_gen_unit, zero = 0, cur, a;
	__u64 val;
	long n;
	__u8 type, flags;

	if (s == TLN_NO_SLOT || unit >= TLN_MAX_UNITS)
		return 0;
	/* policy filter first: out-of-scope tasks pay nothing more */
	d = tln_zero_lookup(&tln_dispatch);
	if (!d || !(tln_units_scope(d, bpf_get_current_cgroup_id()) & (1ULL << unit)))
		return 0;
	conf = tln_unit_lookup(&tln_o_policy, unit, &zero);
	hook = tln_unit_lookup(&tln_o_hooks, unit, &s);
	u = bpf_map_lookup_elem(&tln_units, &unit);
	rec = tln_rec();
	if (!conf || !hook || !u || !rec)
		return 0;
	cur = tln_rec_task(rec, sensor, tln_ns_pid());
	rec->member = tln_gen.member;
	tln_rec_unit(rec, u, s, hook);
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
			if (tln_field_int(ctx, ga->off, ga->size, ga->is_signed, &val) ||
			    !tln_gen_res_ok(a, &val))
				ra->flags = TLN_ARG_F_NONE;
			else
				ra->val = tln_int_conv(type, val);
		} else if (ga->src == TLN_SRC_REG) {
			val = tln_fn_arg(ctx, regs, ga->off, btf);
			if (!tln_gen_res_ok(a, &val))
				ra->flags = TLN_ARG_F_NONE;
			else
				ra->val = tln_int_conv(type, val);
		} else if (sensor == TLN_SENSOR_UPROBE && ga->src == TLN_SRC_USDT) {
			/* a USDT probe's argument; a string one is a pointer to user memory */
			if (tln_usdt_val(regs, a, &val)) {
				ra->flags = TLN_ARG_F_NONE;
			} else if (!tln_type_is_string(type)) {
				ra->val = tln_int_conv(type, val);
			} else {
				n = bpf_probe_read_user_str(&rec->data[cur & TLN_GEN_MASK],
							    TLN_GEN_STR_MAX, (const void *)val);
				if (n <= 0) {
					ra->flags = TLN_ARG_F_NONE;
				} else {
					ra->off = cur;
					ra->len = n - 1;
					ra->flags = n == TLN_GEN_STR_MAX ? TLN_ARG_F_TRUNC : 0;
					cur += (n - 1) & (TLN_GEN_STR_MAX - 1);
				}
			}
		} else if (sock && ga->src == TLN_SRC_SOCK) {
			/* the caller read the socket into rec->sock */
		} else if (!sock && ga->src >= TLN_SRC_P_SOCK && ga->src <= TLN_SRC_P_PERFEV) {
			/* a function's argument, or (raw tracepoints) a pointer in the context */
			if (regs || btf)
				val = tln_fn_arg(ctx, regs, ga->off, btf);
			else if (bpf_probe_read_kernel(&val, sizeof(val),
						       (char *)ctx + (ga->off & 0xffff)))
				val = 0;
			if (!tln_gen_res_ok(a, &val) ||
			    tln_gen_ptrarg(&rec->data[cur & TLN_GEN_MASK], val, ga->src)) {
				ra->flags = TLN_ARG_F_NONE;
			} else {
				ra->off = cur;
				ra->len = tln_ptrarg_size(ga->src);
				ra->flags = TLN_ARG_F_DATA;
				cur += ra->len;
			}
		} else if (!sock && (ga->src == TLN_SRC_UBUF || ga->src == TLN_SRC_KBUF)) {
			n = tln_gen_buf_arg(rec, cur, ctx, ga, &tln_gen.bufs[a], ra);
			if (n < 0) {
				ra->flags = TLN_ARG_F_NONE;
			} else {
				ra->off = cur;
				ra->len = n;
				cur += n & 0xfff;
			}
		} else if (ga->src != TLN_SRC_NONE &&
			   (tln_type_is_string(type) || type == TLN_ARG_LINUX_BINPRM)) {
			flags = 0;
			n = tln_gen_str(rec, cur, ctx, regs, ga, &flags, btf, a);
			if (n < 0 && (tln_gen.flags & TLN_GEN_F_NEED_FILE) &&
			    ga->src >= TLN_SRC_REG_FILE)
				return 0;
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
	if (!sock)
		__builtin_memset(&rec->sock, 0, sizeof(rec->sock));
	/* a mapping whose tracepoint fires as the function returns (capability/cap_capable): the
	 * return value is a field beside the arguments */
	if (tln_gen.flags & TLN_GEN_F_RET_HERE) {
		tln_rec_arg_clear(&rec->ret, hook->ret_type);
		if (tln_gen.ret.src == TLN_SRC_INT && tln_type_is_int(hook->ret_type) &&
		    !tln_field_int(ctx, tln_gen.ret.off, tln_gen.ret.size, tln_gen.ret.is_signed,
				   &val))
			rec->ret.val = tln_int_conv(hook->ret_type, val);
		else
			rec->ret.flags = TLN_ARG_F_NONE;
	}
	/* return: true: judged at the exit, with the return value (one event, as Tetragon's
	 * return probe emits it); the record waits in tln_gen_pend for the task's exit */
	if (tln_gen.flags & TLN_GEN_F_RETURN) {
		__u64 id = bpf_get_current_pid_tgid();

		rec->hdr.size = sizeof(*rec) + (cur & TLN_GEN_MASK);
		bpf_map_update_elem(&tln_gen_pend, &id, rec, BPF_ANY);
		return 0;
	}
	/* selectors and actions: BTF programs get the verdict (Override's error) and send
	 * the signal themselves, the others have signals sent in there */
	if (tln_eval_hook(unit, conf, hook, rec, btf, &v))
		tln_emit_hook(rec, cur);
	if (btf && v.sig)
		bpf_send_signal(v.sig);
	/* an Override is the caller's return value (fmod_ret and lsm programs) */
	if (v.deny && (rec->actions & TLN_ACTBIT(TLN_ACT_OVERRIDE)))
		return v.error < 0 && v.error >= -TLN_GEN_MAX_ERRNO ? v.error : -1;
	return 0;
}

/* the hit's verdict: 0, or the Override's negative errno */
static __always_inline int tln_gen_event_s(void *ctx, struct pt_regs *regs, __u32 sensor,
					   const int btf, const int sock)
{
	__u64 *busy;
	int ret = 0;

	if (tln_gen_slot == TLN_NO_SLOT)
		return 0;
	busy = tln_zero_lookup(&tln_gen_busy);
	if (!busy)
		return 0;
	__sync_fetch_and_add(busy, 1);
	if (*(volatile __u64 *)busy == 1)
		ret = tln_gen_hit(ctx, regs, sensor, btf, sock);
	__sync_fetch_and_add(busy, -1);
	return ret;
}

/* returnCopy char_buf arguments at the exit: as many bytes as the call returned
 * (read() filled them), from the pointer the entry kept; a failed call has none */
static __always_inline __u32 tln_gen_ret_copy(struct tln_hook_rec *rec, __u32 cur, __s64 ret)
{
	struct tln_rec_arg *ra;
	long n;
	__u32 a;

	for (a = 0; a < TLN_MAX_ARGS; a++) {
		ra = &rec->args[a];
		if (a >= tln_gen.nargs || !(tln_gen.bufs[a].flags & TLN_GEN_B_RETCOPY) ||
		    (ra->flags & TLN_ARG_F_NONE))
			continue;
		n = ret < 0 ? -1 :
			      tln_gen_copy_buf(rec, cur, ra->val, (__u64)ret,
					       tln_gen.args[a].src == TLN_SRC_UBUF);
		if (n < 0) {
			ra->flags = TLN_ARG_F_NONE;
			ra->val = 0;
			continue;
		}
		ra->val = ret;
		ra->off = cur;
		ra->len = n;
		if (n < ret)
			ra->flags |= TLN_ARG_F_TRUNC;
		cur += n & 0xfff;
	}
	return cur;
}

/* the exit of a return: true hook: the entry's record, the return value, then
 * selectors, actions and the post, as at entry for other hooks */
static __always_inline void tln_gen_ret_hit(void *ctx, struct pt_regs *regs, const int btf)
{
	struct tln_policy_conf *conf;
	struct tln_unit *u;
	struct tln_hook *hook;
	struct tln_hook_rec *rec;
	struct tln_verdict v = {};
	struct tln_gen_pending *pend;
	__u64 id = bpf_get_current_pid_tgid(), val = 0;
	__u32 s = tln_gen_slot, unit = tln_gen_unit, zero = 0, cur;
	const volatile struct tln_gen_arg *ga = &tln_gen.ret;
	int got;

	if (s == TLN_NO_SLOT || unit >= TLN_MAX_UNITS)
		return;
	pend = bpf_map_lookup_elem(&tln_gen_pend, &id);
	if (!pend)
		return;
	rec = tln_rec();
	if (!rec) {
		bpf_map_delete_elem(&tln_gen_pend, &id);
		return;
	}
	bpf_probe_read_kernel(rec, sizeof(*pend), pend);
	bpf_map_delete_elem(&tln_gen_pend, &id);
	/* the unit may have been unloaded between entry and exit */
	conf = tln_unit_lookup(&tln_o_policy, unit, &zero);
	hook = tln_unit_lookup(&tln_o_hooks, unit, &s);
	u = bpf_map_lookup_elem(&tln_units, &unit);
	if (!conf || !hook || !u)
		return;
	cur = (rec->hdr.size - sizeof(*rec)) & TLN_GEN_MASK;
	tln_rec_arg_clear(&rec->ret, hook->ret_type);
	got = 0;
	if (ga->src == TLN_SRC_INT) {
		got = !tln_field_int(ctx, ga->off, ga->size, ga->is_signed, &val);
	} else if ((regs || btf) && (ga->src == TLN_SRC_REG || ga->src == TLN_SRC_REG_USTR ||
				     ga->src == TLN_SRC_REG_KSTR)) {
		/* kretprobe/uretprobe: the return register; fexit: the value after the arguments */
		if (regs)
			val = PT_REGS_RC_CORE(regs);
		else
			bpf_get_func_ret(ctx, &val);
		got = 1;
	}
	if (got && tln_type_is_int(hook->ret_type)) {
		rec->ret.val = tln_int_conv(hook->ret_type, val);
	} else if (got && hook->ret_type == TLN_ARG_STRING && val &&
		   (ga->src == TLN_SRC_REG_USTR || ga->src == TLN_SRC_REG_KSTR)) {
		/* a returned string: after the entry's data */
		char *dst = &rec->data[cur & TLN_GEN_MASK];
		long n = ga->src == TLN_SRC_REG_USTR ?
				 bpf_probe_read_user_str(dst, TLN_GEN_STR_MAX, (const void *)val) :
				 bpf_probe_read_kernel_str(dst, TLN_GEN_STR_MAX, (const void *)val);

		if (n > 0) {
			rec->ret.off = cur;
			rec->ret.len = n - 1;
			if (n == TLN_GEN_STR_MAX)
				rec->ret.flags = TLN_ARG_F_TRUNC;
			cur += (n - 1) & (TLN_GEN_STR_MAX - 1);
		} else {
			rec->ret.flags = TLN_ARG_F_NONE;
		}
	} else {
		rec->ret.flags = TLN_ARG_F_NONE;
	}
	if (got && (tln_gen.flags & TLN_GEN_F_RETCOPY))
		cur = tln_gen_ret_copy(rec, cur, (__s64)val);
	if (tln_eval_hook(unit, conf, hook, rec, btf, &v))
		tln_emit_hook(rec, cur);
	if (btf && v.sig)
		bpf_send_signal(v.sig);
}

static __always_inline void tln_gen_ret_event(void *ctx, struct pt_regs *regs, const int btf)
{
	__u64 *busy;

	if (tln_gen_slot == TLN_NO_SLOT)
		return;
	busy = tln_zero_lookup(&tln_gen_busy);
	if (!busy)
		return;
	__sync_fetch_and_add(busy, 1);
	if (*(volatile __u64 *)busy == 1)
		tln_gen_ret_hit(ctx, regs, btf);
	__sync_fetch_and_add(busy, -1);
}

/* a return: true syscall hook's exit: attached by the loader to syscalls/sys_exit_X */
SEC("tracepoint")
int tln_tp_generic_exit(void *ctx)
{
	tln_gen_ret_event(ctx, NULL, 0);
	return 0;
}

#define tln_gen_event(ctx, regs, sensor, btf) tln_gen_event_s(ctx, regs, sensor, btf, 0)

/* spec.tracepoints[]: attached by the loader to <subsystem>/<event> */
SEC("tracepoint")
int tln_tp_generic(void *ctx)
{
	tln_gen_event(ctx, NULL, TLN_SENSOR_TP_GENERIC, 0);
	return 0;
}

/* spec.tracepoints[] with raw: true: a BTF tracepoint, the loader sets its event
 * as the attach target; ctx is the event's TP_PROTO arguments */
SEC("tp_btf")
int tln_tp_raw(__u64 *ctx)
{
	tln_gen_event(ctx, NULL, TLN_SENSOR_TP_GENERIC, 0);
	return 0;
}

/* spec.kprobes[] on any kernel function: attached by the loader to the function */
SEC("kprobe")
int tln_kprobe(struct pt_regs *ctx)
{
	tln_gen_event(NULL, ctx, TLN_SENSOR_KPROBE, 0);
	return 0;
}

/* a return: true kprobe's return: attached by the loader as a kretprobe on the function
 * (one call per thread at a time: a nested call of the function in the same thread, as
 * recursion, replaces the outer call's record, whose exit then finds none) */
SEC("kretprobe")
int tln_kretprobe(struct pt_regs *ctx)
{
	tln_gen_ret_event(NULL, ctx, 0);
	return 0;
}

/* spec.uprobes[]: attached by the loader to <path>:<symbol>, <path>+<offset>, and
 * spec.usdts[] at the probe's address (arguments: TLN_SRC_USDT) */
SEC("uprobe")
int tln_uprobe(struct pt_regs *ctx)
{
	tln_gen_event(NULL, ctx, TLN_SENSOR_UPROBE, 0);
	return 0;
}

/* a return: true uprobe's return: attached by the loader as a uretprobe on <path>:<symbol> */
SEC("uretprobe")
int tln_uretprobe(struct pt_regs *ctx)
{
	tln_gen_ret_event(NULL, ctx, 0);
	return 0;
}

/* spec.fentries[]: the loader sets the function as the attach target */
SEC("fentry")
int tln_fentry(__u64 *ctx)
{
	tln_gen_event(ctx, NULL, TLN_SENSOR_FENTRY, 1);
	return 0;
}

/* a return: true fentry's exit: the loader sets the function as the attach target; the
 * return value is bpf_get_func_ret's, and signals are sent from here */
SEC("fexit")
int tln_fexit(__u64 *ctx)
{
	tln_gen_ret_event(ctx, NULL, 1);
	return 0;
}

/* kprobes/fentries whose selectors Override: the function returns the error
 * instead of running (functions the kernel allows error injection on, and
 * security_* hooks); the loader sets the function as the attach target */
SEC("fmod_ret")
int tln_fmod_ret(__u64 *ctx)
{
	return tln_gen_event(ctx, NULL, TLN_SENSOR_FMOD_RET, 1);
}

/* spec.lsmhooks[]: the loader sets the LSM hook as the attach target; an
 * Override's error is the hook's verdict */
SEC("lsm")
int tln_lsm_hook(__u64 *ctx)
{
	return tln_gen_event(ctx, NULL, TLN_SENSOR_LSM_HOOK, 1);
}

/* the socket as a kprobe on tcp_* would read it, into the per-CPU record */
static __always_inline struct tln_hook_rec *tln_sock_rec(const struct sock *sk, __u8 state)
{
	struct tln_hook_rec *rec = tln_rec();
	struct tln_rec_sock *s;

	if (!rec)
		return NULL;
	s = &rec->sock;
	__builtin_memset(s, 0, sizeof(*s));
	tln_sock_fill(s, sk);
	s->protocol = TLN_IPPROTO_TCP;
	s->state = state;
	s->cookie = bpf_get_socket_cookie((void *)sk);
	return rec;
}

static __always_inline int tln_sock_is_tcp(const struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	return BPF_CORE_READ(sk, sk_protocol) == TLN_IPPROTO_TCP &&
	       BPF_CORE_READ(sk, sk_type) == TLN_SOCK_STREAM &&
	       (family == TLN_AF_INET || family == TLN_AF_INET6);
}

/*
 * tcp_close(sk, timeout) where kprobes are missing: the state changes
 * tcp_close() makes, in the closing task: ESTABLISHED/SYN_RECV -> FIN_WAIT1,
 * CLOSE_WAIT -> LAST_ACK, LISTEN -> CLOSE. The record's state is the one
 * before (what tcp_close sees). shutdown(SHUT_WR) makes the same changes;
 * changes in softirq (RST, timers, the FIN handshake) are left out: they
 * happen in no task's name.
 */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tln_sock_close, const struct sock *sk, const int oldstate, const int newstate)
{
	if (tln_gen_slot == TLN_NO_SLOT)
		return 0;
	if (!((newstate == TLN_TCP_FIN_WAIT1 &&
	       (oldstate == TLN_TCP_ESTABLISHED || oldstate == TLN_TCP_SYN_RECV)) ||
	      (newstate == TLN_TCP_LAST_ACK && oldstate == TLN_TCP_CLOSE_WAIT) ||
	      (newstate == TLN_TCP_CLOSE && oldstate == TLN_TCP_LISTEN)))
		return 0;
	if (!tln_sock_is_tcp(sk) || !tln_sock_rec(sk, (__u8)oldstate))
		return 0;
	tln_gen_event_s(ctx, NULL, TLN_SENSOR_SOCK_STATE, 0, 1);
	return 0;
}

/*
 * tcp_sendmsg(sk, msg, size) where kprobes are missing: sock/sock_send_length
 * fires in sock_sendmsg() once the protocol's sendmsg returned, with what it
 * returned (bytes sent, or the negative error), in the sending task. The
 * record's int argument (index 2) is that count, read at ctx[1].
 */
SEC("tp_btf/sock_send_length")
int BPF_PROG(tln_sock_send, struct sock *sk, int ret, int flags)
{
	if (tln_gen_slot == TLN_NO_SLOT)
		return 0;
	if (!tln_sock_is_tcp(sk) ||
	    !tln_sock_rec(sk, (__u8)BPF_CORE_READ(sk, __sk_common.skc_state)))
		return 0;
	tln_gen_event_s(ctx, NULL, TLN_SENSOR_SOCK_SEND, 0, 1);
	return 0;
}
