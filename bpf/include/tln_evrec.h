/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * tln_evrec.h: the layouts between the TypeScript host and the Wasm core only
 * (docs/map-format.md §4). No BPF program includes this file; it is a header
 * so that scripts/gen-abi.mjs generates their mirrors from the same kind of
 * definition as tln_abi.h and tln_events.h, and test/abi.test.ts checks them
 * against the C compiler in the same way.
 *
 * Rules as tln_abi.h: little-endian, fixed-width fields, explicit padding.
 */
#ifndef TLN_EVREC_H
#define TLN_EVREC_H

#ifdef __BPF__
/* vmlinux.h provides the __u* types in BPF builds */
#else
#include <linux/types.h>
#endif

/* ---- the evaluator event record (§4.1): what evaluateEncoded reads ------ */

#define TLN_EVREC_MAX_ARGS 8 /* argument slots before the return slot */

/* struct tln_evrec_slot.kind */
enum tln_evrec_arg {
	TLN_EVREC_ARG_NONE = 0,
	TLN_EVREC_ARG_INT = 1,
	TLN_EVREC_ARG_STR = 2,
	TLN_EVREC_ARG_SOCK = 3,
};

/* Followed by nargs + 1 slots (the event's args in the hook's spec args[]
 * order, then the return value), then variable data addressed by offsets
 * from the record start; size is a multiple of 8. */
struct tln_evrec {
	__u32 size;       /* bytes of the record (the input may be longer) */
	__u16 hook_id;    /* enum tln_hook_id; 0 = not in the catalog */
	__u8 kind;        /* enum tln_hook_kind */
	__u8 nargs;       /* slots before the return slot, <= TLN_EVREC_MAX_ARGS */
	__u64 time_ns;    /* event time, for rate limits */
	__u32 pid;
	__u32 tid;
	__u32 binary_off; /* the process binary path (bytes) */
	__u32 binary_len;
	__u32 pod_off;    /* the pod block; 0 = a host process (in no pod) */
	__u32 pod_len;
	__u32 name_off;   /* the hook name: function, subsys/event or path:symbol */
	__u32 name_len;
	__u32 ext_off;    /* the process context block (struct tln_evx entries); 0 = none */
	__u32 ext_len;
};                        /* 56 bytes */

/* The process context block: what a recorded event says about its process
 * beyond pid and binary (parent, ancestors, namespaces, capabilities), for the
 * selectors that read it. Entries one after another, each a struct tln_evx
 * then len bytes; an absent entry means the event does not say (the verdict is
 * then "unknown", never a no-match). Integers little-endian. */
struct tln_evx {
	__u8 key;         /* TLN_EVX_* */
	__u8 index;       /* namespace type, capability set or argument slot, by key */
	__u16 len;        /* bytes after this header */
};                        /* 4 bytes */

#define TLN_EVX_PARENT_BINARY 1   /* bytes: parent.binary */
#define TLN_EVX_PARENT_PID 2      /* u32: parent.pid */
#define TLN_EVX_ANCESTOR_BINARY 3 /* bytes: one ancestor's binary, parent's parent first */
#define TLN_EVX_ANCESTOR_PID 4    /* u32: one ancestor's pid, same order */
#define TLN_EVX_ANCESTORS_ALL 5   /* no data: the parent and ancestor entries are the whole chain */
#define TLN_EVX_NS 6              /* index: namespace type (Uts 0 .. User 9); u32 inum, u8 is_host */
#define TLN_EVX_CAPS 7            /* index: 0 permitted, 1 effective, 2 inheritable; u64 mask */
#define TLN_EVX_NS_PID 8          /* u32: the pid in the process's pid namespace */
#define TLN_EVX_FILE_TYPE 9       /* index: argument slot; u8 S_IFMT >> 12 of the file */
#define TLN_EVX_NS_NOW 10         /* as TLN_EVX_NS, at the time of the call (when the producer knows it) */
#define TLN_EVX_CAPS_NOW 11       /* as TLN_EVX_CAPS, at the time of the call */
#define TLN_EVX_NS_EXEC 12        /* as TLN_EVX_NS, as the process table recorded it (at exec): the kernel's matchNamespaceChanges baseline; TLN_EVX_NS is then the call's */
#define TLN_EVX_CAPS_EXEC 13      /* as TLN_EVX_CAPS, likewise for matchCapabilityChanges */
#define TLN_EVX_ANCESTOR_NS_PID 14 /* index: 0 parent, 1 its parent ...; u32: that ancestor's pid in its pid namespace */

/* a string argument: its bytes in the record */
struct tln_evrec_str {
	__u32 off;
	__u32 len;
};                        /* 8 bytes */

struct tln_evrec_slot {
	__u8 kind;        /* enum tln_evrec_arg */
	__u8 protocol;    /* socket */
	__u8 state;       /* socket */
	__u8 type;        /* enum tln_arg_type when the producer knows it (kernel records), else 0; not evaluated */
	__u16 family;     /* socket: AF_INET 2, AF_INET6 10 */
	__u16 protocol16; /* socket, kernel records: the whole protocol number (protocol is its low byte); else 0; not evaluated */
	union {
		__u64 value;  /* int: the value as 64-bit two's complement */
		struct tln_evrec_str str; /* string */
	};
	__u16 sport;      /* socket */
	__u16 dport;
	__u8 sock_type;   /* socket, kernel records: SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_RAW 3 when read (tln_rec_sock.type); else 0; not evaluated */
	__u8 pad1[3];
	__u8 saddr[16];   /* socket: network byte order, IPv4 in the first 4 bytes */
	__u8 daddr[16];
	__u64 orig_size;  /* char_buf, kernel records: the bytes the call had (str holds at most the first 4095); else 0 */
};                        /* 64 bytes */

/* ---- the host's part of a kernel hook record (evalHookRecord) ----------- */

/* What the host adds to a raw struct tln_hook_rec (tln_events.h) for the core
 * to evaluate it: followed by binary_len bytes of binary path, name_len bytes
 * of hook name and pod_len bytes of pod block (pod_len 0: a host process). */
struct tln_evctx {
	__u64 time_ns;    /* wall-clock ns of the record's ktime */
	__u32 pid;        /* the process as the host knows it */
	__u32 binary_len;
	__u32 name_len;
	__u32 pod_len;
};                        /* 24 bytes */

/* ---- match records (§4.2): the matches of the last evaluation ----------- */

#define TLN_EVMATCH_MAX 64 /* matches beyond this are not recorded */

/* match flags (struct tln_evmatch.flags) */
#define TLN_EVMATCH_F_ENFORCED 0x01 /* an enforcement action was carried out */
#define TLN_EVMATCH_F_POST 0x02     /* the match posts an event */

/* the buffer: this header, then count records of record_size bytes */
struct tln_evmatch_hdr {
	__u32 count;
	__u32 record_size;
	__u32 unknown;    /* 1: a selector could not be decided on this event (the reason: evalUnknown) */
	__u32 pad0;
};                        /* 16 bytes */

struct tln_evmatch {
	__u32 policy;     /* policy index in the image */
	__u16 hook;       /* hook slot in the policy */
	__s16 selector;   /* selector index within the hook; -1 for a hook without selectors */
	__u16 actions;    /* 1 << enum tln_action_id for each action; Post for none */
	__u8 mode;        /* enum tln_mode at evaluation time */
	__u8 flags;       /* TLN_EVMATCH_F_* */
	__u32 pad0;
};                        /* 16 bytes */

#endif /* TLN_EVREC_H */
