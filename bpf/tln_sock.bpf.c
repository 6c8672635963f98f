// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/*
 * tln_sock: tcp_connect(sock) served by cgroup/connect4 + cgroup/connect6
 * attached to the cgroup v2 root (sensor tln_cgroup_sock). TCP only. A refused
 * connect sends no packet: the program returns 0 (EPERM, or the Override error
 * through bpf_set_retval). Cgroup programs cannot send signals, so Sigkill and
 * Signal are recorded per thread in tln_pending and delivered by the
 * sys_exit_connect tracepoint before the syscall returns to user space.
 */
#include "lib/tln_common.h"
#include "lib/tln_maps.h"
#include "lib/tln_eval.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* hook slot in the policy, TLN_NO_SLOT when absent */
const volatile __u8 tln_slot_tcp_connect = TLN_NO_SLOT;
/* bpf_set_retval() is available to cgroup programs (probed by the loader) */
const volatile __u8 tln_has_set_retval = 0;

static __always_inline int tln_connect(struct bpf_sock_addr *ctx, int v6)
{
	struct tln_policy_conf *conf;
	struct tln_hook *hook;
	struct tln_hook_rec *rec;
	struct tln_verdict v = {};
	struct tln_rec_sock *s;
	struct bpf_sock *sk;
	struct tln_pending pend = {};
	__u32 slot = tln_slot_tcp_connect, cur, w[4], sip[5] = {};
	__u64 pid_tgid;

	if (slot == TLN_NO_SLOT)
		return 1;
	/* tcp only */
	if (ctx->type != TLN_SOCK_STREAM || ctx->protocol != TLN_IPPROTO_TCP)
		return 1;
	/* policy filter */
	conf = tln_policy_applies();
	if (!conf)
		return 1;
	hook = bpf_map_lookup_elem(&tln_hooks, &slot);
	rec = tln_rec();
	if (!hook || !rec)
		return 1;
	cur = tln_rec_begin(rec, slot, hook, TLN_SENSOR_CGROUP_SOCK, 0);
	/* the socket as tcp_connect would see it */
	s = &rec->sock;
	__builtin_memset(s, 0, sizeof(*s));
	s->protocol = TLN_IPPROTO_TCP;
	s->state = TLN_TCP_SYN_SENT;
	s->dport = bpf_ntohs((__u16)ctx->user_port);
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
		w[0] = ctx->user_ip4;
		__builtin_memcpy(s->daddr, &w[0], 4);
		__builtin_memcpy(s->saddr, &sip[0], 4);
	} else {
		w[0] = ctx->user_ip6[0];
		w[1] = ctx->user_ip6[1];
		w[2] = ctx->user_ip6[2];
		w[3] = ctx->user_ip6[3];
		/* v4-mapped (::ffff:a.b.c.d) connects go out as IPv4: judge them so */
		if (w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0xffff)) {
			s->family = TLN_AF_INET;
			__builtin_memcpy(s->daddr, &w[3], 4);
		} else {
			s->family = TLN_AF_INET6;
			__builtin_memcpy(s->daddr, w, 16);
			__builtin_memcpy(s->saddr, &sip[1], 16);
		}
	}
	/* argument values in the order of the hook's args[] */
	tln_fill_sock_args(rec, hook);
	/* selectors and actions */
	if (tln_eval_hook(conf, hook, rec, 1, &v))
		tln_emit_hook(rec, cur);
	/* signals wait for the syscall exit */
	if (v.sig) {
		pid_tgid = bpf_get_current_pid_tgid();
		pend.sig = v.sig;
		bpf_map_update_elem(&tln_pending, &pid_tgid, &pend, BPF_ANY);
	}
	if (!v.deny)
		return 1;
	/* refuse: EPERM, or the Override error */
	if (v.error < 0 && tln_has_set_retval)
		bpf_set_retval(v.error);
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

/* delivers the signal a cgroup program decided on, before returning to user space */
SEC("tracepoint/syscalls/sys_exit_connect")
int tln_connect_exit(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct tln_pending *p = bpf_map_lookup_elem(&tln_pending, &pid_tgid);

	if (!p)
		return 0;
	bpf_send_signal(p->sig);
	bpf_map_delete_elem(&tln_pending, &pid_tgid);
	return 0;
}
