/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * tln_maps.h: maps shared by every talon object. The loader creates them once
 * (src/kernel/shared.ts, sizes there) and makes every object reuse their fds,
 * so the definitions here only give their shape to the verifier.
 */
#ifndef TLN_MAPS_H
#define TLN_MAPS_H

#include "tln_common.h"

/* records of all policies and of the process sensor */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} tln_events SEC(".maps");

/* records the ring buffer had no room for */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tln_lost SEC(".maps");

/* process table: tgid -> binary path (matchBinaries, records) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct tln_proc);
} tln_procs SEC(".maps");

/* cgroup ids of every known pod container (scope: "in no pod") */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, __u8);
} tln_pod_cgroups SEC(".maps");

/* signals decided by cgroup programs, sent at syscall exit */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, struct tln_pending);
} tln_pending SEC(".maps");

static __always_inline void tln_count_lost(void)
{
	__u64 *lost = tln_zero_lookup(&tln_lost);

	if (lost)
		__sync_fetch_and_add(lost, 1);
}

/* sends size bytes of a scratch record to the ring buffer */
static __always_inline void tln_output(void *rec, __u64 size)
{
	if (bpf_ringbuf_output(&tln_events, rec, size, 0))
		tln_count_lost();
}

#endif /* TLN_MAPS_H */
