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
 * One instance per hook kind, shared by every policy (tln_eval.h units):
 * the loader loads the programs of a kind when the first policy with such a
 * hook arrives. file_permission keeps a per-file verdict cache
 * (tln_fcache.h); renames invalidate it (lsm/inode_rename before the move,
 * the rename syscalls' exit after it).
 */
#include "lib/tln_common.h"
#include "lib/tln_maps.h"
#include "lib/tln_path.h"
#include "lib/tln_task.h"
#include "lib/tln_eval.h"
#include "lib/tln_fcache.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

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
 * The hook's return value for the merged verdict of the units: 0 or a
 * negative errno. Override refuses with its error (EPERM when it has none);
 * Sigkill refuses with EPERM once the signal is on its way (a kernel thread
 * cannot be killed: its operation proceeds, as under Tetragon's kprobe);
 * Signal only signals.
 */
static __always_inline int tln_lsm_verdict(struct tln_units_walk *w)
{
	int sent = 0;

	if (w->sig)
		sent = bpf_send_signal(w->sig) == 0;
	if (w->override)
		return (w->error < 0 && w->error >= -TLN_MAX_ERRNO) ? w->error : -TLN_EPERM;
	if (w->kill)
		return sent ? -TLN_EPERM : 0;
	return 0;
}

/* the full path into data[cur], as d_path() prints it relative to the task's
 * root; tln_unit_eval's path flags, 0 when it cannot be read. A function of
 * its own: the walk's state is not on the stack of the evaluation's call
 * chain (the kernel limits the sum to 512 bytes). */
static __noinline __u32 tln_lsm_path(const struct path *path, __u32 cur)
{
	struct tln_hook_rec *rec = tln_rec();
	struct tln_pathres res = {};
	struct tln_pathbuf *pb;
	__u32 plen, off;

	if (!rec || tln_path_resolve(path, &res))
		return 0;
	pb = tln_pathbuf_get();
	plen = res.len;
	off = res.off;
	barrier_var(plen); /* keep the masks: 6.1 loses 32-bit bounds through the stack */
	barrier_var(off);
	plen &= TLN_PATH_MASK;
	if (!pb || bpf_probe_read_kernel(&rec->data[cur & TLN_SCRATCH_MASK], plen,
					 &pb->buf[off & TLN_PATH_MASK]))
		return 0;
	return tln_uf_path(1, res.trunc ? TLN_ARG_F_TRUNC : 0, plen);
}

/* one hit of a file hook of kind dh: path once, every unit, verdict */
static __always_inline int tln_lsm_file_event(__u32 dh, struct file *file, const struct path *path,
					      __u64 i1, __u64 i2)
{
	struct tln_dispatch *d = NULL;
	struct tln_hook_rec *rec;
	struct tln_units_walk w = {};
	__u32 cur, fcbit = 0;
	__u64 *busy, cg = 0, epoch = 0;
	int verdict;

	/* the units that apply here: out-of-scope tasks pay nothing more */
	w.units = tln_units_here(dh, &d, &cg);
	if (!w.units || !d)
		return 0;
	/* a read/write already judged "no match" for this very file, task and policy set */
	if (file && dh == TLN_DH_FILE_PERM)
		fcbit = tln_fcache_bit(i1);
	if (fcbit) {
		epoch = tln_epoch(d);
		if (tln_fcache_op((__u64)file, cg, epoch, fcbit, 0))
			return 0;
	}
	busy = tln_lsm_enter();
	if (!busy)
		return 0;
	rec = tln_rec();
	if (!rec) {
		tln_lsm_leave(busy);
		return 0;
	}
	cur = tln_rec_task(rec, TLN_SENSOR_LSM_FILE, tln_ns_pid());
	/* the full path, once for all units */
	w.flags = tln_lsm_path(path, cur);
	w.flags |= TLN_UF_VERDICT;
	w.dh = dh;
	w.i1 = i1;
	w.i2 = i2;
	__builtin_memset(&rec->sock, 0, sizeof(rec->sock));
	/* selectors and actions of every unit: the verdicts merge in w (no signal sent yet) */
	tln_units_run(&w);
	if (fcbit && !w.matched && (w.flags & TLN_UF_HAVE))
		tln_fcache_op((__u64)file, cg, epoch, fcbit, 1);
	verdict = tln_lsm_verdict(&w);
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
	v = tln_lsm_file_event(TLN_DH_FILE_PERM, file, &file->f_path, (__u32)mask, 0);
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
	v = tln_lsm_file_event(TLN_DH_MMAP_FILE, NULL, &file->f_path, reqprot, flags);
	return ret ? ret : v;
}

/* security_path_truncate(path) */
SEC("lsm/path_truncate")
int BPF_PROG(tln_lsm_truncate, const struct path *path, int ret)
{
	int v;

	if (!path)
		return ret;
	v = tln_lsm_file_event(TLN_DH_PATH_TRUNCATE, NULL, path, 0, 0);
	return ret ? ret : v;
}

/* tcp_connect(sock) <- security_socket_connect(sock, address, addrlen): before any packet */
SEC("lsm/socket_connect")
int BPF_PROG(tln_lsm_connect, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	struct tln_dispatch *d = NULL;
	struct tln_hook_rec *rec;
	struct tln_units_walk w = {};
	struct tln_rec_sock *s;
	struct sockaddr_in6 *sin6;
	struct sockaddr_in *sin;
	struct sock *sk;
	__u32 w4[4];
	__u64 *busy, cg = 0;
	__u16 family;
	int verdict;

	if (!sock || !address)
		return ret;
	/* the units that apply here */
	w.units = tln_units_here(TLN_DH_TCP_CONNECT, &d, &cg);
	if (!w.units)
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
	busy = tln_lsm_enter();
	if (!busy)
		return ret;
	rec = tln_rec();
	if (!rec) {
		tln_lsm_leave(busy);
		return ret;
	}
	tln_rec_task(rec, TLN_SENSOR_LSM_SOCK, tln_ns_pid());
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
		w4[0] = BPF_CORE_READ(sin, sin_addr.s_addr);
		__builtin_memcpy(s->daddr, &w4[0], 4);
		w4[0] = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__builtin_memcpy(s->saddr, &w4[0], 4);
	} else {
		sin6 = (struct sockaddr_in6 *)address;
		s->dport = bpf_ntohs(BPF_CORE_READ(sin6, sin6_port));
		bpf_probe_read_kernel(w4, sizeof(w4), &sin6->sin6_addr);
		/* v4-mapped (::ffff:a.b.c.d) connects go out as IPv4: judge them so */
		if (w4[0] == 0 && w4[1] == 0 && w4[2] == bpf_htonl(0xffff)) {
			s->family = TLN_AF_INET;
			__builtin_memcpy(s->daddr, &w4[3], 4);
			w4[0] = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
			__builtin_memcpy(s->saddr, &w4[0], 4);
		} else {
			s->family = TLN_AF_INET6;
			__builtin_memcpy(s->daddr, w4, 16);
			bpf_probe_read_kernel(s->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		}
	}
	/* selectors and actions of every unit */
	w.dh = TLN_DH_TCP_CONNECT;
	w.flags = TLN_UF_SOCK | TLN_UF_VERDICT;
	tln_units_run(&w);
	verdict = tln_lsm_verdict(&w);
	tln_lsm_leave(busy);
	return ret ? ret : verdict;
}

/* a rename changes the path of open files: cached verdicts are void, before
 * the move (here) and after it (the syscalls' exit, tln_rename_exit) */
SEC("lsm/inode_rename")
int BPF_PROG(tln_lsm_rename)
{
	/* allows: the verdict of rename is not talon's (no "ret" argument is read:
	 * kernels before 6.x refuse the access past this hook's arguments) */
	tln_epoch_bump();
	return 0;
}

/* sys_exit_rename, sys_exit_renameat, sys_exit_renameat2 */
SEC("tracepoint")
int tln_rename_exit(void *ctx)
{
	tln_epoch_bump();
	return 0;
}
