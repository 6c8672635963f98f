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

/* dispatch state: which units apply where (struct tln_dispatch) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tln_dispatch);
} tln_dispatch SEC(".maps");

/* per unit: policy id and hook slots */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TLN_MAX_UNITS);
	__type(key, __u32);
	__type(value, struct tln_unit);
} tln_units SEC(".maps");

/* pod cgroups -> units whose policy applies there */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct tln_cgroup);
} tln_cgroups SEC(".maps");

/* renames seen (u64): with tln_dispatch.epoch, the epoch of cached verdicts */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tln_renames SEC(".maps");

/* per-file verdict cache (struct tln_fcache) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, struct tln_fcache);
} tln_fcache SEC(".maps");

/* signals decided by cgroup programs, sent at syscall exit */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, struct tln_pending);
} tln_pending SEC(".maps");

/* a change a cached file verdict depends on (rename) */
static __always_inline void tln_epoch_bump(void)
{
	__u64 *n = tln_zero_lookup(&tln_renames);

	if (n)
		__sync_fetch_and_add(n, 1);
}

/* the epoch a cached verdict is valid in: the loader's changes plus the
 * renames (two counters that only grow: equal sums mean no change between) */
static __always_inline __u64 tln_epoch(struct tln_dispatch *d)
{
	__u64 *n = tln_zero_lookup(&tln_renames);

	return *(volatile __u64 *)&d->epoch + (n ? *(volatile __u64 *)n : 0);
}

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
