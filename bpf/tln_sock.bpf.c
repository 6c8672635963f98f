// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/*
 * tln_sock: tcp_connect(sock) served by cgroup/connect4 + cgroup/connect6
 * attached to the cgroup v2 root (sensor tln_cgroup_sock). TCP only. A refused
 * connect sends no packet: the program returns 0 (EPERM, or the Override error
 * through bpf_set_retval). Cgroup programs cannot send signals, so Sigkill and
 * Signal are recorded per thread in tln_pending and delivered by the
 * sys_exit_connect tracepoint before the syscall returns to user space.
 * One instance, shared by every policy with a tcp_connect hook (tln_eval.h units).
 *
 * connect4/6 run before the kernel picks the source port: the hook record
 * carries the socket cookie, and the port follows in a TLN_REC_SOCK record
 * from cgroup/sock_ops BPF_SOCK_OPS_TCP_CONNECT_CB (called inside
 * tcp_connect(), after inet_hash_connect chose the port), or a NOPORT one
 * when the connect was refused or failed before its SYN (sys_exit_connect).
 */
#include "lib/tln_common.h"
#include "lib/tln_maps.h"
#include "lib/tln_eval.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* bpf_set_retval() is available to cgroup programs (probed by the loader) */
const volatile __u8 tln_has_set_retval = 0;

/* sockets whose posted tcp_connect record waits for its source port */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* socket cookie */
	__type(value, __u8);
} tln_conn_wait SEC(".maps");

/* the socket a thread is connecting (its cookie), for sys_exit_connect */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* pid_tgid */
	__type(value, __u64);
} tln_conn_tid SEC(".maps");

/* not inlined: its record stays off the stack of the connect path, which the unit loop already fills */
static __noinline void tln_sock_followup(__u64 cookie, __u16 family, __u16 sport, const __u32 *ip,
					 __u32 n_flags)
{
	/* at most 5 arguments: the address words (0, 1 or 4) in the low byte, TLN_SOCK_F_* above */
	__u32 n = n_flags & 0xff, flags = n_flags >> 8;

	struct tln_sock_rec r = {};

	r.hdr.type = TLN_REC_SOCK;
	r.hdr.version = TLN_EVENTS_VERSION;
	r.hdr.size = sizeof(r);
	r.hdr.ktime = bpf_ktime_get_ns();
	r.cookie = cookie;
	r.family = family;
	r.sport = sport;
	r.flags = flags;
	if (n == 1)
		__builtin_memcpy(r.saddr, ip, 4);
	else if (n == 4)
		__builtin_memcpy(r.saddr, ip, 16);
	tln_output(&r, sizeof(r));
}

static __always_inline int tln_connect(struct bpf_sock_addr *ctx, int v6)
{
	struct tln_dispatch *d = NULL;
	struct tln_hook_rec *rec;
	struct tln_units_walk w = {};
	struct tln_rec_sock *s;
	struct bpf_sock *sk;
	struct tln_pending pend = {};
	__u32 w4[4], sip[5] = {};
	__u64 pid_tgid, cg = 0, cookie;

	/* tcp only */
	if (ctx->type != TLN_SOCK_STREAM || ctx->protocol != TLN_IPPROTO_TCP)
		return 1;
	/* the units that apply here */
	w.units = tln_units_here(TLN_DH_TCP_CONNECT, &d, &cg);
	if (!w.units)
		return 1;
	rec = tln_rec();
	if (!rec)
		return 1;
	tln_rec_task(rec, TLN_SENSOR_CGROUP_SOCK, 0);
	/* the socket as tcp_connect would see it */
	s = &rec->sock;
	__builtin_memset(s, 0, sizeof(*s));
	s->protocol = TLN_IPPROTO_TCP;
	s->state = TLN_TCP_SYN_SENT;
	s->dport = bpf_ntohs((__u16)ctx->user_port);
	cookie = bpf_get_socket_cookie(ctx);
	s->cookie = cookie;
	/* a bound socket's source (each field read on its own: ctx-like pointer) */
	sk = ctx->sk;
	if (sk) {
		s->sport = (__u16)sk->src_port;
		barrier_var(sk);
		sip[0] = sk->src_ip4;
		barrier_var(sk);
		sip[1] = sk->src_ip6[0];
		barrier_var(sk);
		sip[2] = sk->src_ip6[1];
		barrier_var(sk);
		sip[3] = sk->src_ip6[2];
		barrier_var(sk);
		sip[4] = sk->src_ip6[3];
	}
	if (!v6) {
		s->family = TLN_AF_INET;
		w4[0] = ctx->user_ip4;
		__builtin_memcpy(s->daddr, &w4[0], 4);
		__builtin_memcpy(s->saddr, &sip[0], 4);
	} else {
		w4[0] = ctx->user_ip6[0];
		w4[1] = ctx->user_ip6[1];
		w4[2] = ctx->user_ip6[2];
		w4[3] = ctx->user_ip6[3];
		/* v4-mapped (::ffff:a.b.c.d) connects go out as IPv4: judge them so */
		if (w4[0] == 0 && w4[1] == 0 && w4[2] == bpf_htonl(0xffff)) {
			s->family = TLN_AF_INET;
			__builtin_memcpy(s->daddr, &w4[3], 4);
		} else {
			s->family = TLN_AF_INET6;
			__builtin_memcpy(s->daddr, w4, 16);
			__builtin_memcpy(s->saddr, &sip[1], 16);
		}
	}
	/* selectors and actions of every unit */
	w.dh = TLN_DH_TCP_CONNECT;
	w.flags = TLN_UF_SOCK | TLN_UF_VERDICT;
	tln_units_run(&w);
	pid_tgid = bpf_get_current_pid_tgid();
	/* signals wait for the syscall exit */
	if (w.sig) {
		pend.sig = w.sig;
		bpf_map_update_elem(&tln_pending, &pid_tgid, &pend, BPF_ANY);
	}
	/* a posted record gets its source port (or word that there is none) */
	if (w.matched && !w.deny) {
		__u8 one = 1;

		bpf_map_update_elem(&tln_conn_wait, &cookie, &one, BPF_ANY);
		bpf_map_update_elem(&tln_conn_tid, &pid_tgid, &cookie, BPF_ANY);
	} else if (w.matched) {
		tln_sock_followup(cookie, s->family, s->sport, NULL, 0 | (TLN_SOCK_F_NOPORT) << 8);
	}
	if (!w.deny)
		return 1;
	/* refuse: EPERM, or the Override error */
	if (w.override && w.error < 0 && tln_has_set_retval)
		bpf_set_retval(w.error);
	return 0;
}

SEC("cgroup/connect4")
int tln_connect4(struct bpf_sock_addr *ctx)
{
	return tln_connect(ctx, 0);
}

SEC("cgroup/connect6")
int tln_connect6(struct bpf_sock_addr *ctx)
{
	return tln_connect(ctx, 1);
}

/* inside tcp_connect(): the source port and address are chosen now */
SEC("sockops")
int tln_sockops(struct bpf_sock_ops *ops)
{
	__u32 ip[4];
	__u64 cookie;
	__u16 family;

	if (ops->op != BPF_SOCK_OPS_TCP_CONNECT_CB)
		return 1;
	cookie = bpf_get_socket_cookie(ops);
	if (!bpf_map_lookup_elem(&tln_conn_wait, &cookie))
		return 1;
	bpf_map_delete_elem(&tln_conn_wait, &cookie);
	family = (__u16)ops->family;
	if (family == TLN_AF_INET) {
		ip[0] = ops->local_ip4;
		tln_sock_followup(cookie, family, (__u16)ops->local_port, ip, 1);
		return 1;
	}
	ip[0] = ops->local_ip6[0];
	ip[1] = ops->local_ip6[1];
	ip[2] = ops->local_ip6[2];
	ip[3] = ops->local_ip6[3];
	/* v4-mapped: judged and shown as IPv4, as connect6 did */
	if (ip[0] == 0 && ip[1] == 0 && ip[2] == bpf_htonl(0xffff))
		tln_sock_followup(cookie, TLN_AF_INET, (__u16)ops->local_port, &ip[3], 1);
	else
		tln_sock_followup(cookie, family, (__u16)ops->local_port, ip, 4);
	return 1;
}

/* delivers the signal a cgroup program decided on, before returning to user space;
 * a record still waiting for its port gets none (the connect failed before its SYN) */
SEC("tracepoint/syscalls/sys_exit_connect")
int tln_connect_exit(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct tln_pending *p = bpf_map_lookup_elem(&tln_pending, &pid_tgid);
	__u64 *c = bpf_map_lookup_elem(&tln_conn_tid, &pid_tgid);
	__u64 cookie;

	if (c) {
		cookie = *c;
		bpf_map_delete_elem(&tln_conn_tid, &pid_tgid);
		if (bpf_map_lookup_elem(&tln_conn_wait, &cookie)) {
			bpf_map_delete_elem(&tln_conn_wait, &cookie);
			tln_sock_followup(cookie, 0, 0, NULL, 0 | (TLN_SOCK_F_NOPORT) << 8);
		}
	}
	if (!p)
		return 0;
	bpf_send_signal(p->sig);
	bpf_map_delete_elem(&tln_pending, &pid_tgid);
	return 0;
}
