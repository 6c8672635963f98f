/* SPDX-License-Identifier: Apache-2.0 */
/* hook-records: writes hook records as the BPF programs lay them out (struct
 * tln_hook_rec + data, bpf/include/tln_events.h), filled field by field by the
 * C compiler, for test/kernel-abi.test.ts to decode. Each record is preceded by
 * its length (u32, little-endian). The values here are the test's expectations. */
#include <stdio.h>
#include <string.h>
#include "tln_abi.h"
#include "tln_events.h"

static unsigned char buf[sizeof(struct tln_hook_rec) + 512];

static struct tln_hook_rec *start(__u16 hook_id, __u8 nargs, const char *bin)
{
	struct tln_hook_rec *r = (struct tln_hook_rec *)buf;

	memset(buf, 0, sizeof(buf));
	r->hdr.type = TLN_REC_HOOK;
	r->hdr.version = TLN_EVENTS_VERSION;
	r->hdr.flags = TLN_REC_F_TRUNC_PATH;
	r->hdr.ktime = 123456789012345ULL;
	r->task.pid = 4242;
	r->task.tid = 4243;
	r->task.ppid = 1;
	r->task.uid = 1000;
	r->task.cgroup_id = 0x1122334455667788ULL;
	r->task.start_ktime = 99;
	r->task.ns_pid = 7;
	r->policy_id = 3;
	r->hook_id = hook_id;
	r->slot = 1;
	r->selector = 2;
	r->actions = TLN_ACTBIT(TLN_ACT_SIGKILL);
	r->skipped = TLN_ACTBIT(TLN_ACT_OVERRIDE);
	r->mode = TLN_MODE_MONITOR;
	r->nargs = nargs;
	r->bin_len = strlen(bin);
	r->error = -1;
	r->sensor = TLN_SENSOR_LSM_FILE;
	memcpy(r->data, bin, r->bin_len);
	return r;
}

static void emit(struct tln_hook_rec *r, __u16 size)
{
	__u32 n = size;

	r->hdr.size = size;
	fwrite(&n, sizeof(n), 1, stdout);
	fwrite(buf, 1, size, stdout);
}

int main(void)
{
	struct tln_hook_rec *r;
	struct tln_rec_sock *s;
	struct tln_rec_credarg *c;
	struct tln_rec_userns *u;
	struct tln_rec_bpfprog *g;
	struct tln_rec_bpfmap *m;
	struct tln_rec_perfevent *e;
	unsigned int off;
	const char *path = "/etc/shadow";

	/* a file hook: (file, int mask), the path after the binary */
	r = start(TLN_HOOK_SECURITY_FILE_PERMISSION, 2, "/usr/bin/cat");
	r->args[0].type = TLN_ARG_FILE;
	r->args[0].len = strlen(path);
	r->args[0].off = r->bin_len;
	memcpy(r->data + r->bin_len, path, strlen(path));
	r->args[1].type = TLN_ARG_INT;
	r->args[1].val = 4;
	emit(r, sizeof(*r) + r->bin_len + strlen(path));

	/* a socket hook (IPv6), a negative int, an unreadable value */
	r = start(TLN_HOOK_TCP_CONNECT, 3, "/usr/bin/curl");
	r->args[0].type = TLN_ARG_SOCK;
	r->sock.family = 10;
	r->sock.protocol = 262; /* IPPROTO_MPTCP: wider than a byte */
	r->sock.sport = 45200;
	r->sock.dport = 443;
	r->sock.state = 2;
	r->sock.cookie = 0x8877665544332211ULL; /* all 64 bits */
	r->sock.saddr[15] = 1;                  /* ::1 */
	r->sock.daddr[0] = 0x20;                /* 2001:db8::1 */
	r->sock.daddr[1] = 0x01;
	r->sock.daddr[2] = 0x0d;
	r->sock.daddr[3] = 0xb8;
	r->sock.daddr[15] = 1;
	r->args[1].type = TLN_ARG_SINT64;
	r->args[1].val = (__u64)(-5LL);
	r->args[2].type = TLN_ARG_UINT64;
	r->args[2].flags = TLN_ARG_F_NONE;
	r->selector = TLN_SEL_NONE;
	r->sensor = TLN_SENSOR_CGROUP_SOCK;
	emit(r, sizeof(*r) + r->bin_len);

	/* an IPv4 socket, a string cut by the end of the record */
	r = start(TLN_HOOK_TCP_CONNECT, 2, "/bin/nc");
	r->args[0].type = TLN_ARG_SOCK;
	r->sock.family = 2;
	r->sock.protocol = 6;
	r->sock.sport = 1;
	r->sock.dport = 65535;
	r->sock.saddr[0] = 127;
	r->sock.saddr[1] = 10;
	r->sock.saddr[3] = 5;
	r->sock.daddr[0] = 127;
	r->sock.daddr[1] = 200;
	r->sock.daddr[3] = 1;
	r->args[1].type = TLN_ARG_STRING;
	r->args[1].off = r->bin_len;
	r->args[1].len = 100;
	memcpy(r->data + r->bin_len, "abc", 3);
	r->mode = TLN_MODE_ENFORCE;
	emit(r, sizeof(*r) + r->bin_len + 3);

	/* a generic kprobe (ip_output): its socket arguments each in data[] after the binary,
	 * a struct sock read whole (with its type) and a packet's headers */
	r = start(TLN_HOOK_GENERIC_KPROBE, 3, "/bin/nc");
	r->sensor = TLN_SENSOR_KPROBE;
	s = (struct tln_rec_sock *)(r->data + r->bin_len);
	r->args[0].type = TLN_ARG_SOCK;
	r->args[0].flags = TLN_ARG_F_DATA;
	r->args[0].off = r->bin_len;
	r->args[0].len = sizeof(*s);
	s->family = 2;
	s->protocol = 17;
	s->type = 2; /* SOCK_DGRAM */
	s->sport = 40000;
	s->dport = 53;
	s->saddr[0] = 127;
	s->saddr[3] = 1;
	s->daddr[0] = 127;
	s->daddr[3] = 2;
	r->args[1].type = TLN_ARG_INT;
	r->args[1].val = 7;
	s++;
	r->args[2].type = TLN_ARG_SKB;
	r->args[2].flags = TLN_ARG_F_DATA;
	r->args[2].off = r->bin_len + sizeof(*s);
	r->args[2].len = sizeof(*s);
	s->family = 10;
	s->protocol = 6;
	s->sport = 443;
	s->dport = 51000;
	s->saddr[15] = 1;
	s->daddr[15] = 1;
	emit(r, sizeof(*r) + r->bin_len + 2 * sizeof(*s));

	/* commit_creds (cred): the struct cred and its user namespace in data[] */
	r = start(TLN_HOOK_GENERIC_KPROBE, 1, "/bin/su");
	r->sensor = TLN_SENSOR_KPROBE;
	c = (struct tln_rec_credarg *)(r->data + r->bin_len);
	r->args[0].type = TLN_ARG_CRED;
	r->args[0].flags = TLN_ARG_F_DATA;
	r->args[0].off = r->bin_len;
	r->args[0].len = sizeof(*c);
	c->cred.uid = 0;
	c->cred.euid = 1000;
	c->cred.fsgid = 0xfffffffe;
	c->cred.securebits = 0x11;
	c->cred.cap_permitted = 0x1ffffffffffULL;
	c->cred.cap_effective = 1ULL << 21; /* CAP_SYS_ADMIN */
	c->user_ns.level = 1;
	c->user_ns.uid = 1000;
	c->user_ns.gid = 1000;
	c->user_ns.inum = 4026532000u;
	emit(r, sizeof(*r) + r->bin_len + sizeof(*c));

	/* cap_capable-like (user_namespace, capability) and a net_device's name */
	r = start(TLN_HOOK_GENERIC_KPROBE, 3, "/bin/ip");
	r->sensor = TLN_SENSOR_KPROBE;
	u = (struct tln_rec_userns *)(r->data + r->bin_len);
	r->args[0].type = TLN_ARG_USER_NAMESPACE;
	r->args[0].flags = TLN_ARG_F_DATA;
	r->args[0].off = r->bin_len;
	r->args[0].len = sizeof(*u);
	u->level = 0;
	u->inum = 0xeffffffdu; /* the initial user namespace */
	r->args[1].type = TLN_ARG_CAPABILITY;
	r->args[1].val = 21; /* CAP_SYS_ADMIN */
	r->args[2].type = TLN_ARG_NET_DEVICE;
	r->args[2].off = r->bin_len + sizeof(*u);
	r->args[2].len = 2;
	memcpy(r->data + r->args[2].off, "lo", 2);
	emit(r, sizeof(*r) + r->bin_len + sizeof(*u) + 2);

	/* bpf_check (bpf_attr), security_bpf_map_create (bpf_map), security_perf_event_alloc (perf_event) */
	r = start(TLN_HOOK_GENERIC_KPROBE, 3, "/bin/bpftool");
	r->sensor = TLN_SENSOR_KPROBE;
	off = r->bin_len;
	g = (struct tln_rec_bpfprog *)(r->data + off);
	r->args[0].type = TLN_ARG_BPF_ATTR;
	r->args[0].flags = TLN_ARG_F_DATA;
	r->args[0].off = off;
	r->args[0].len = sizeof(*g);
	g->prog_type = 2; /* BPF_PROG_TYPE_KPROBE */
	g->insn_cnt = 17;
	memcpy(g->name, "tln_prog", 8);
	off += sizeof(*g);
	m = (struct tln_rec_bpfmap *)(r->data + off);
	r->args[1].type = TLN_ARG_BPF_MAP;
	r->args[1].flags = TLN_ARG_F_DATA;
	r->args[1].off = off;
	r->args[1].len = sizeof(*m);
	m->map_type = 27; /* BPF_MAP_TYPE_RINGBUF */
	m->max_entries = 4096;
	memcpy(m->name, "tln_events_max16", 16); /* a full name: no NUL inside */
	off += sizeof(*m);
	e = (struct tln_rec_perfevent *)(r->data + off);
	r->args[2].type = TLN_ARG_PERF_EVENT;
	r->args[2].flags = TLN_ARG_F_DATA;
	r->args[2].off = off;
	r->args[2].len = sizeof(*e);
	e->type = 8; /* a dynamic PMU (kprobe) */
	e->config = 1;
	e->probe_offset = 0x10;
	memcpy(e->kprobe_func, "do_sys_open", 11);
	off += sizeof(*e);
	emit(r, sizeof(*r) + off);
	return 0;
}
