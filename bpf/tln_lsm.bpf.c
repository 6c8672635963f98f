// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/*
 * tln_lsm: the catalog hooks served by BPF LSM programs, for kernels booted
 * with bpf in lsm= (sensors tln_lsm_file and tln_lsm_sock):
 *   security_file_permission(file, mask) <- lsm/file_permission
 *   security_mmap_file(file, prot, flags) <- lsm/mmap_file (prot: reqprot,
 *       the protection the caller asked for, as the kprobe's arg 1)
 *   security_path_truncate(path)          <- lsm/path_truncate
 *   tcp_connect(sock)                     <- lsm/socket_connect (TCP only)
 * The arguments are those of the kernel function itself (no fd or user
 * memory), the path walked in the kernel as for tln_tp_file. Enforcement is
 * the hook's return value: Override returns its error (EPERM when it has
 * none), Sigkill sends SIGKILL and refuses the operation with EPERM (a read
 * returns no data, a write writes nothing, a connect sends no packet), Signal
 * sends the signal and lets the operation proceed. The evaluator runs in its
 * verdict mode (tln_eval_hook(..., 1, &v), as for cgroup programs): signals
 * are sent here, next to the verdict.
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
const volatile __u8 tln_slot_tcp_connect = TLN_NO_SLOT;

#define TLN_EPERM 1
#define TLN_MAX_ERRNO 4095
#define TLN_SCRATCH_MASK (TLN_DATA_MAX - 1)

/*
 * LSM programs run with migration disabled but may be preempted, so another
 * task on this CPU could enter while the per-CPU record is in use. The first
 * one owns the scratch buffers; a second one allows its operation unjudged
 * (as the kernel's own recursion guard does for tracing programs). Entering
 * adds 1 and owns only when the count reads 1 afterwards: at most one owner,
 * with plain atomic adds (no fetching atomics: any BPF ISA level).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tln_lsm_busy SEC(".maps");

static __always_inline __u64 *tln_lsm_enter(void)
{
	__u64 *busy = tln_zero_lookup(&tln_lsm_busy);

	if (!busy)
		return NULL;
	__sync_fetch_and_add(busy, 1);
	if (*(volatile __u64 *)busy != 1) {
		__sync_fetch_and_add(busy, -1);
		return NULL;
	}
	return busy;
}

static __always_inline void tln_lsm_leave(__u64 *busy)
{
	__sync_fetch_and_add(busy, -1);
}

/*
 * The hook's return value for the actions taken: 0 or a negative errno.
 * Override refuses with its error (EPERM when it has none); Sigkill refuses
 * with EPERM once the signal is on its way (a kernel thread cannot be killed:
 * its operation proceeds, as under Tetragon's kprobe); Signal only signals.
 */
static __always_inline int tln_lsm_verdict(struct tln_hook_rec *rec, struct tln_verdict *v)
{
	int sent = 0;

	if (v->sig)
		sent = bpf_send_signal(v->sig) == 0;
	if (!v->deny)
		return 0;
	if (!(rec->actions & TLN_ACTBIT(TLN_ACT_OVERRIDE)))
		return sent ? -TLN_EPERM : 0;
	if (v->error < 0 && v->error >= -TLN_MAX_ERRNO)
		return v->error;
	return -TLN_EPERM;
}

/* one hit of a file hook: record, selectors, actions, post; returns the verdict */
static __always_inline int tln_lsm_file_event(__u8 slot, const struct path *path, __u64 i1,
					      __u64 i2)
{
	struct tln_policy_conf *conf;
	struct tln_hook *hook;
	struct tln_hook_rec *rec;
	struct tln_pathbuf *pb;
	struct tln_verdict v = {};
	struct tln_pathres res = {};
	__u32 s = slot, cur, poff, plen = 0;
	__u64 *busy;
	__u8 pflags = 0, have = 0;
	int verdict;

	if (slot == TLN_NO_SLOT)
		return 0;
	/* policy filter first: out-of-scope tasks pay nothing more */
	conf = tln_policy_applies();
	if (!conf)
		return 0;
	hook = bpf_map_lookup_elem(&tln_hooks, &s);
	if (!hook)
		return 0;
	busy = tln_lsm_enter();
	if (!busy)
		return 0;
	rec = tln_rec();
	if (!rec) {
		tln_lsm_leave(busy);
		return 0;
	}
	cur = tln_rec_begin(rec, slot, hook, TLN_SENSOR_LSM_FILE, tln_ns_pid());
	/* the full path, as d_path() prints it relative to the task's root */
	poff = cur;
	if (!tln_path_resolve(path, &res)) {
		pb = tln_pathbuf_get();
		plen = res.len & TLN_PATH_MASK;
		if (pb && !bpf_probe_read_kernel(&rec->data[cur & TLN_SCRATCH_MASK], plen,
						 &pb->buf[res.off & TLN_PATH_MASK])) {
			pflags = res.trunc ? TLN_ARG_F_TRUNC : 0;
			have = 1;
		} else {
			plen = 0;
		}
	}
	cur += plen;
	/* argument values in the order of the hook's args[] */
	tln_fill_file_args(rec, hook, have, poff, plen, pflags, i1, i2);
	__builtin_memset(&rec->sock, 0, sizeof(rec->sock));
	/* selectors and actions: the verdict comes back in v (no signal sent yet) */
	if (tln_eval_hook(conf, hook, rec, 1, &v))
		tln_emit_hook(rec, cur);
	verdict = tln_lsm_verdict(rec, &v);
	tln_lsm_leave(busy);
	return verdict;
}

/* security_file_permission(file, mask): every read/write/readdir permission check */
SEC("lsm/file_permission")
int BPF_PROG(tln_lsm_file_perm, struct file *file, int mask, int ret)
{
	int v;

	if (!file)
		return ret;
	v = tln_lsm_file_event(tln_slot_file_perm, &file->f_path, (__u32)mask, 0);
	/* a denial by an earlier program stands; ours is reported otherwise */
	return ret ? ret : v;
}

/* security_mmap_file(file, prot, flags): file mappings (anonymous ones have no file) */
SEC("lsm/mmap_file")
int BPF_PROG(tln_lsm_mmap, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	int v;

	if (!file)
		return ret;
	v = tln_lsm_file_event(tln_slot_mmap_file, &file->f_path, reqprot, flags);
	return ret ? ret : v;
}

/* security_path_truncate(path) */
SEC("lsm/path_truncate")
int BPF_PROG(tln_lsm_truncate, const struct path *path, int ret)
{
	int v;

	if (!path)
		return ret;
	v = tln_lsm_file_event(tln_slot_path_truncate, path, 0, 0);
	return ret ? ret : v;
}

/* tcp_connect(sock) <- security_socket_connect(sock, address, addrlen): before any packet */
SEC("lsm/socket_connect")
int BPF_PROG(tln_lsm_connect, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	struct tln_policy_conf *conf;
	struct tln_hook *hook;
	struct tln_hook_rec *rec;
	struct tln_verdict v = {};
	struct tln_rec_sock *s;
	struct sockaddr_in6 *sin6;
	struct sockaddr_in *sin;
	struct sock *sk;
	__u32 slot = tln_slot_tcp_connect, cur, w[4];
	__u64 *busy;
	__u16 family;
	int verdict;

	if (slot == TLN_NO_SLOT || !sock || !address)
		return ret;
	/* tcp only: a stream socket of the TCP protocol */
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sock, type) != TLN_SOCK_STREAM ||
	    BPF_CORE_READ(sk, sk_protocol) != TLN_IPPROTO_TCP)
		return ret;
	/* an IPv4/IPv6 destination (AF_UNSPEC disconnects) */
	family = BPF_CORE_READ(address, sa_family);
	if (!(family == TLN_AF_INET && addrlen >= (int)sizeof(struct sockaddr_in)) &&
	    !(family == TLN_AF_INET6 && addrlen >= (int)sizeof(struct sockaddr_in6)))
		return ret;
	/* policy filter */
	conf = tln_policy_applies();
	if (!conf)
		return ret;
	hook = bpf_map_lookup_elem(&tln_hooks, &slot);
	if (!hook)
		return ret;
	busy = tln_lsm_enter();
	if (!busy)
		return ret;
	rec = tln_rec();
	if (!rec) {
		tln_lsm_leave(busy);
		return ret;
	}
	cur = tln_rec_begin(rec, slot, hook, TLN_SENSOR_LSM_SOCK, tln_ns_pid());
	/* the socket as tcp_connect would see it: destination, and a bound source */
	s = &rec->sock;
	__builtin_memset(s, 0, sizeof(*s));
	s->protocol = TLN_IPPROTO_TCP;
	s->state = TLN_TCP_SYN_SENT;
	s->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (family == TLN_AF_INET) {
		sin = (struct sockaddr_in *)address;
		s->family = TLN_AF_INET;
		s->dport = bpf_ntohs(BPF_CORE_READ(sin, sin_port));
		w[0] = BPF_CORE_READ(sin, sin_addr.s_addr);
		__builtin_memcpy(s->daddr, &w[0], 4);
		w[0] = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__builtin_memcpy(s->saddr, &w[0], 4);
	} else {
		sin6 = (struct sockaddr_in6 *)address;
		s->dport = bpf_ntohs(BPF_CORE_READ(sin6, sin6_port));
		bpf_probe_read_kernel(w, sizeof(w), &sin6->sin6_addr);
		/* v4-mapped (::ffff:a.b.c.d) connects go out as IPv4: judge them so */
		if (w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0xffff)) {
			s->family = TLN_AF_INET;
			__builtin_memcpy(s->daddr, &w[3], 4);
			w[0] = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
			__builtin_memcpy(s->saddr, &w[0], 4);
		} else {
			s->family = TLN_AF_INET6;
			__builtin_memcpy(s->daddr, w, 16);
			bpf_probe_read_kernel(s->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		}
	}
	/* argument values in the order of the hook's args[] */
	tln_fill_sock_args(rec, hook);
	/* selectors and actions */
	if (tln_eval_hook(conf, hook, rec, 1, &v))
		tln_emit_hook(rec, cur);
	verdict = tln_lsm_verdict(rec, &v);
	tln_lsm_leave(busy);
	return ret ? ret : verdict;
}
