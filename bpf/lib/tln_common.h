/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* tln_common.h: includes, helpers and constants every talon BPF object uses. */
#ifndef TLN_COMMON_H
#define TLN_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#include "tln_abi.h"
#include "tln_events.h"

#define TLN_AF_INET 2
#define TLN_AF_INET6 10
#define TLN_SOCK_STREAM 1
#define TLN_IPPROTO_TCP 6
#define TLN_IPPROTO_UDP 17
#define TLN_TCP_ESTABLISHED 1
#define TLN_TCP_SYN_SENT 2
#define TLN_TCP_SYN_RECV 3
#define TLN_TCP_FIN_WAIT1 4
#define TLN_TCP_CLOSE 7
#define TLN_TCP_CLOSE_WAIT 8
#define TLN_TCP_LAST_ACK 9
#define TLN_TCP_LISTEN 10
#define TLN_SIGKILL 9

/* 0xff in a slot constant: the policy has no hook served by that program */
#define TLN_NO_SLOT 0xff

#define tln_min(a, b) ((a) < (b) ? (a) : (b))

static __always_inline void *tln_zero_lookup(void *map)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(map, &zero);
}

#endif /* TLN_COMMON_H */
