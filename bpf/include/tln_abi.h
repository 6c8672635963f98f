/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * tln_abi.h: the one source of truth for every binary layout shared by the
 * Wasm core (assembly/), the BPF programs (bpf/) and the host (src/).
 *
 * Rules:
 *  - little-endian, fixed-width fields, explicit padding, no bitfields;
 *  - every map value struct size is a multiple of 8 (LPM trie keys and
 *    struct tln_hook_arg are as small as their fields allow);
 *  - scripts/gen-abi.mjs parses this header (so: fixed-width fields, arrays
 *    of numeric or macro size, explicit enum values) and generates every
 *    mirror (assembly/abi/generated.ts, src/abi/generated.ts); test/abi.test.ts
 *    compiles this header with the host C compiler and checks them.
 *  - changing a layout means bumping TLN_IMAGE_VERSION and regenerating the
 *    golden images (npm run golden).
 */
#ifndef TLN_ABI_H
#define TLN_ABI_H

#ifdef __BPF__
/* vmlinux.h provides the __u* types in BPF builds */
#else
#include <linux/types.h>
#endif

#define TLN_IMAGE_MAGIC_0 0x4f4c4154u /* "TALO" */
#define TLN_IMAGE_MAGIC_1 0x474d494eu /* "NIMG" */
#define TLN_IMAGE_VERSION 4

/* limits (Tetragon's, or more: see README "Limits") */
#define TLN_MAX_HOOKS 16        /* hooks (kprobes/tracepoints/...) per policy */
#define TLN_MAX_SELECTORS 5     /* selectors per hook */
#define TLN_MAX_FILTERS 8       /* matchArgs + matchReturnArgs entries per selector */
#define TLN_MAX_ARG_FILTERS 5   /* of which matchArgs at most */
#define TLN_MAX_ARGS 5          /* args[] per hook */
#define TLN_MAX_VALUES 8        /* inline u64 values per filter (4 ranges = 8) */
#define TLN_MAX_INLINE 4        /* inline values a user may list (ints, ports) */
#define TLN_MAX_PIDS 4          /* matchPIDs values */
#define TLN_MAX_PID_ENTRIES 4   /* matchPIDs entries per selector the kernel holds (ANDed) */
#define TLN_MAX_PIDX 3          /* of which in tln_selector.pidx[] (the first is pid_op/pids) */
#define TLN_MAX_NS_FILTERS 10   /* matchNamespaces entries per selector */
#define TLN_MAX_NS_VALUES 4     /* values per matchNamespaces entry */
#define TLN_MAX_CAP_FILTERS 4   /* matchCapabilities entries per selector the kernel holds */
#define TLN_MAX_ACTIONS 3       /* matchActions per selector */
#define TLN_MAX_SETS 255        /* string/addr/int value sets per policy (u8 id, 0 unused) */
#define TLN_STR_DATA 255        /* bytes of string data in an LPM key */
#define TLN_POD_FILTER_MAX 32768 /* cgroups a policy's pod filter can hold */

/* struct tln_str_key.data holds at most TLN_STR_DATA bytes, so:        */
/*   Prefix/NotPrefix/Postfix/NotPostfix values <= 255 bytes,            */
/*   Equal/NotEqual string values <= 254 bytes (a NUL terminator marks   */
/*   the end of an exact match).                                         */

/* enum tln_op: filter operators. Numeric values equal Tetragon's
 * SelectorOp ids (pkg/selectors/kernel.go) so dumps read the same. */
enum tln_op {
	TLN_OP_GT = 1,
	TLN_OP_LT = 2,
	TLN_OP_EQUAL = 3,
	TLN_OP_NOT_EQUAL = 4,
	TLN_OP_IN = 5,
	TLN_OP_NOT_IN = 6,
	TLN_OP_PREFIX = 8,
	TLN_OP_POSTFIX = 9,
	TLN_OP_IN_MAP = 10,
	TLN_OP_NOT_IN_MAP = 11,
	TLN_OP_MASK = 12,
	TLN_OP_SADDR = 13,
	TLN_OP_DADDR = 14,
	TLN_OP_SPORT = 15,
	TLN_OP_DPORT = 16,
	TLN_OP_PROTOCOL = 17,
	TLN_OP_NOT_SPORT = 18,
	TLN_OP_NOT_DPORT = 19,
	TLN_OP_SPORT_PRIV = 20,
	TLN_OP_NOT_SPORT_PRIV = 21,
	TLN_OP_DPORT_PRIV = 22,
	TLN_OP_NOT_DPORT_PRIV = 23,
	TLN_OP_NOT_SADDR = 24,
	TLN_OP_NOT_DADDR = 25,
	TLN_OP_NOT_PREFIX = 26,
	TLN_OP_NOT_POSTFIX = 27,
	TLN_OP_FAMILY = 28,
	TLN_OP_STATE = 29,
	TLN_OP_IN_RANGE = 31,
	TLN_OP_NOT_IN_RANGE = 32,
	TLN_OP_CAPABILITIES_GAINED = 30, /* two args: new caps, old caps */
	TLN_OP_SUBSTRING = 33,
	TLN_OP_SUBSTRING_IGN_CASE = 34,
	TLN_OP_CEL_EXPR = 35, /* expression in the spec record */
	TLN_OP_FILE_TYPE = 36, /* values: S_IF* >> 12 */
	TLN_OP_NOT_FILE_TYPE = 37,
};

/* enum tln_arg_type: how a hook argument is read and compared. */
enum tln_arg_type {
	TLN_ARG_NONE = 0,
	TLN_ARG_INT = 1,     /* s32 (Tetragon "int", "sint32", "int32") */
	TLN_ARG_UINT32 = 2,  /* u32 */
	TLN_ARG_SINT64 = 3,  /* s64 ("long", "sint64", "int64") */
	TLN_ARG_UINT64 = 4,  /* u64 ("ulong", "uint64", "size_t") */
	TLN_ARG_SINT8 = 5,
	TLN_ARG_UINT8 = 6,
	TLN_ARG_SINT16 = 7,
	TLN_ARG_UINT16 = 8,
	TLN_ARG_FILE = 16,   /* struct file *: compared by its full path */
	TLN_ARG_PATH = 17,   /* struct path *: full path */
	TLN_ARG_FD = 18,     /* fd: path of the file it refers to */
	TLN_ARG_STRING = 19, /* NUL-terminated string */
	TLN_ARG_FILENAME = 20, /* user string naming a file (syscall filename) */
	TLN_ARG_SOCK = 32,   /* struct sock *: the 5-tuple, family, state */
	TLN_ARG_SOCKADDR = 33,
	TLN_ARG_SYSCALL64 = 9, /* syscall id (raw_syscalls), integer */
	TLN_ARG_KERNEL_CAP_T = 10, /* u64 capability mask */
	TLN_ARG_CAP_INHERITABLE = 11,
	TLN_ARG_CAP_PERMITTED = 12,
	TLN_ARG_CAP_EFFECTIVE = 13,
	TLN_ARG_CAPABILITY = 14, /* one capability number */
	TLN_ARG_BPF_CMD = 15, /* bpf(2) command number */
	TLN_ARG_CHAR_BUF = 21, /* buffer, size from sizeArgIndex or returnCopy */
	TLN_ARG_CHAR_IOVEC = 22,
	TLN_ARG_CONST_BUF = 23,
	TLN_ARG_DATA_LOC = 24, /* tracepoint __data_loc string */
	TLN_ARG_DENTRY = 25,
	TLN_ARG_LINUX_BINPRM = 26, /* compared by its file path */
	TLN_ARG_NET_DEVICE = 27, /* compared by its name */
	TLN_ARG_SOCKADDR_UN = 28,
	TLN_ARG_SKB = 34,
	TLN_ARG_SOCKET = 35,
	TLN_ARG_NOP = 48, /* read nothing (a placeholder position) */
	TLN_ARG_AUTO = 49, /* type from BTF */
	TLN_ARG_BPF_ATTR = 50,
	TLN_ARG_PERF_EVENT = 51,
	TLN_ARG_BPF_MAP = 52,
	TLN_ARG_BPF_PROG = 53,
	TLN_ARG_USER_NAMESPACE = 54,
	TLN_ARG_CRED = 55,
	TLN_ARG_KIOCB = 56,
	TLN_ARG_IOV_ITER = 57,
	TLN_ARG_LOAD_INFO = 58,
	TLN_ARG_MODULE = 59,
};

/* enum tln_action_id: matchActions. Values equal Tetragon's action ids. */
enum tln_action_id {
	TLN_ACT_POST = 0,
	TLN_ACT_SIGKILL = 2,
	TLN_ACT_OVERRIDE = 4,
	TLN_ACT_NOPOST = 8,
	TLN_ACT_SIGNAL = 9,
	TLN_ACT_GETURL = 6, /* user space, after the event */
	TLN_ACT_DNSLOOKUP = 7,
	TLN_ACT_TRACKSOCK = 10, /* arg: argSock */
	TLN_ACT_UNTRACKSOCK = 11,
	TLN_ACT_NOTIFY_ENFORCER = 12, /* arg: argError; argSig in the spec record */
	TLN_ACT_CLEANUP_ENFORCER_NOTIFICATION = 13,
	TLN_ACT_SET = 14, /* USDT: arg: argIndex; argValue in the spec record */
};

/* enum tln_mode: effective policy mode, as in Tetragon's policy_conf. */
enum tln_mode {
	TLN_MODE_ENFORCE = 0,
	TLN_MODE_MONITOR = 1,
	TLN_MODE_MONITOR_ONLY = 2, /* no enforcement action: behaves as monitor */
};

/* enum tln_hook_kind */
enum tln_hook_kind {
	TLN_HOOK_KPROBE = 1,
	TLN_HOOK_TRACEPOINT = 2,
	TLN_HOOK_UPROBE = 3,
	TLN_HOOK_FENTRY = 4,
	TLN_HOOK_LSM = 5,
	TLN_HOOK_USDT = 6,
};

/* enum tln_hook_id: the portable catalog of hooks talon knows. Which kernel
 * mechanism serves each is decided at load time from probed features. */
enum tln_hook_id {
	TLN_HOOK_UNKNOWN = 0,
	TLN_HOOK_SECURITY_FILE_PERMISSION = 1, /* (file, int mask) */
	TLN_HOOK_SECURITY_MMAP_FILE = 2,       /* (file, u32 prot, u32 flags) */
	TLN_HOOK_SECURITY_PATH_TRUNCATE = 3,   /* (path) */
	TLN_HOOK_TCP_CONNECT = 4,              /* (sock) */
	TLN_HOOK_GENERIC_TRACEPOINT = 100,     /* tracepoints: by subsystem/event */
	TLN_HOOK_GENERIC_UPROBE = 101,         /* uprobes: by path/symbol */
	TLN_HOOK_GENERIC_KPROBE = 102, /* any other kprobe: by function name */
	TLN_HOOK_GENERIC_FENTRY = 103, /* fentries: by function name */
	TLN_HOOK_GENERIC_LSM = 104, /* lsmhooks: by hook name */
	TLN_HOOK_GENERIC_USDT = 105, /* usdts: by path/provider/name */
};

/* hook flags (struct tln_hook.flags) */
#define TLN_HOOK_F_RETURN 0x01      /* return: true */
#define TLN_HOOK_F_SYSCALL 0x02     /* syscall: true */
#define TLN_HOOK_F_RET_FILTERS 0x04 /* some selector has matchReturnArgs */
#define TLN_HOOK_F_RAW 0x08 /* raw: true (raw tracepoint: args index TP_PROTO) */

/* filter slot for matchReturnArgs (else: index into the hook's args[]) */
#define TLN_SLOT_RETURN 0xff

/* filter flags */
#define TLN_FILTER_F_NEGATE 0x01 /* Not* op: match when the value is NOT in the set; the core sets
                                  * it for every negated operator, the kernel and the evaluator
                                  * read only the flag (tln_filter.flags; TLN_SEL_F_BIN_NEGATE in tln_selector.flags) */

/* binary filter ops reuse enum tln_op (IN, NOT_IN, PREFIX, NOT_PREFIX,
 * POSTFIX, NOT_POSTFIX); 0 = no matchBinaries */

/* pid filter flags */
#define TLN_PID_F_NAMESPACE 0x01   /* isNamespacePID */
#define TLN_PID_F_FOLLOW_FORKS 0x02
#define TLN_SEL_F_BIN_NEGATE 0x01 /* matchBinaries is negated: the one rule for bin_op, as TLN_FILTER_F_NEGATE for filters */
#define TLN_SEL_F_SPEC_ONLY 0x02 /* the selector has filters or actions held only in the
 * spec record (docs/map-format.md): BPF and the evaluator cannot decide it */

/* policy scope flags (struct tln_policy_conf.scope) */
#define TLN_SCOPE_F_FILTERED 0x01 /* only cgroups in tln_pod_filter apply... */
#define TLN_SCOPE_F_HOST 0x02     /* ...plus processes in no pod at all */

/* post rate-limit scopes */
enum tln_rl_scope {
	TLN_RL_THREAD = 0,
	TLN_RL_PROCESS = 1,
	TLN_RL_GLOBAL = 2,
};

/* ---- map value/key layouts (image contents) ---------------------------- */

/* tln_policy: ARRAY, 1 entry. Written by the image; the agent rewrites
 * .mode in place for a run-time mode change. */
struct tln_policy_conf {
	__u8 mode;        /* enum tln_mode */
	__u8 scope;       /* TLN_SCOPE_F_* */
	__u8 nhooks;
	__u8 pad0;
	__u32 nselectors; /* total over all hooks */
};                        /* 8 bytes */

struct tln_hook_arg {
	__u8 index;       /* function/tracepoint argument position */
	__u8 type;        /* enum tln_arg_type */
};

/* tln_hooks: ARRAY indexed by hook slot (position in the policy). */
struct tln_hook {
	__u16 hook_id;    /* enum tln_hook_id */
	__u8 kind;        /* enum tln_hook_kind */
	__u8 flags;       /* TLN_HOOK_F_* */
	__u8 nargs;
	__u8 nselectors;  /* 0: every hit posts */
	__u8 first_sel;   /* index of its first selector in tln_sels */
	__u8 ret_type;    /* enum tln_arg_type of returnArg, 0 if none */
	struct tln_hook_arg args[TLN_MAX_ARGS];
	__u8 pad1[6];
};                        /* 24 bytes */

struct tln_filter {
	__u8 op;          /* enum tln_op */
	__u8 slot;        /* args[] index, or TLN_SLOT_RETURN */
	__u8 type;        /* enum tln_arg_type of the compared value */
	__u8 nvals;       /* inline values used in vals[] */
	__u8 set;         /* value set id in the side maps, 0 = none */
	__u8 flags;       /* TLN_FILTER_F_* */
	__u8 pad0[2];
	__u64 vals[TLN_MAX_VALUES]; /* ints sign-extended to 64 bits; ranges and
	                             * port ranges as (lo, hi) pairs */
};                        /* 72 bytes */

/* action flags (tln_action.flags) */
#define TLN_ACTION_F_RETURN 0x01 /* a matchReturnActions entry: carried out only when the record has the return value */

struct tln_action {
	__u8 id;          /* enum tln_action_id */
	__u8 rl_scope;    /* enum tln_rl_scope (Post) */
	__u8 flags;       /* TLN_ACTION_F_* (image version 3) */
	__u8 pad0;
	__s32 arg;        /* Signal: signal number; Override: error (negative errno) */
	__u64 rate_limit_ns; /* Post: 0 = none */
};                        /* 16 bytes */

/* one more matchPIDs entry (the first is in tln_selector.pid_op/pids) */
struct tln_pid_entry {
	__u8 op;          /* TLN_OP_IN or TLN_OP_NOT_IN */
	__u8 flags;       /* TLN_PID_F_* */
	__u8 npids;
	__u8 pad0;
	__u32 pids[TLN_MAX_PIDS];
	__u32 pad1;
};                        /* 24 bytes */

/* one matchNamespaces entry: the task's namespace of type `ns` In/NotIn the values */
struct tln_ns_filter {
	__u8 ns;          /* Tetragon's namespace type id: Uts 0 .. User 9 */
	__u8 op;          /* TLN_OP_IN or TLN_OP_NOT_IN */
	__u8 host;        /* host_ns is listed: the host's namespace of that type counts (read at load) */
	__u8 nvals;
	__u32 vals[TLN_MAX_NS_VALUES]; /* inode numbers */
	__u16 chmask;     /* v4, with change: matchNamespaceChanges' types (bit t); In: one of them changed since exec, NotIn: another one did */
	__u8 change;      /* v4: 1 = a matchNamespaceChanges entry (ns, host, vals unused) */
	__u8 pad0;
};                        /* 24 bytes */

/* one matchCapabilities entry: any capability of `mask` in the task's set (In) or none (NotIn) */
struct tln_cap_filter {
	__u8 set;         /* 0 permitted, 1 effective, 2 inheritable */
	__u8 op;          /* TLN_OP_IN or TLN_OP_NOT_IN */
	__u8 nscap;       /* isNamespaceCapability: never matches in the host's user namespace */
	__u8 change;      /* v4: 1 = matchCapabilityChanges: In, a capability of mask changed since exec; NotIn, only others did */
	__u8 pad0[4];
	__u64 mask;       /* 1 << capability number, ORed */
};                        /* 16 bytes */

/* tln_sels: ARRAY indexed by global selector index (tln_hook.first_sel + i) */
struct tln_selector {
	__u8 nfilters;
	__u8 nactions;    /* 0 = Post */
	__u8 pid_op;      /* 0 = no matchPIDs, TLN_OP_IN or TLN_OP_NOT_IN */
	__u8 npids;
	__u8 pid_flags;   /* TLN_PID_F_* */
	__u8 bin_op;      /* 0 = no matchBinaries, else an enum tln_op */
	__u8 bin_set;     /* value set holding the binary paths */
	__u8 flags;       /* TLN_SEL_F_*: BIN_NEGATE (matchBinaries NotIn/NotPrefix/NotPostfix), SPEC_ONLY */
	__u32 pids[TLN_MAX_PIDS];
	struct tln_filter filters[TLN_MAX_FILTERS];
	struct tln_action actions[TLN_MAX_ACTIONS];
	/* v3: the process filters the kernel evaluates beyond the first matchPIDs entry */
	__u8 npidx;       /* further matchPIDs entries in pidx[] */
	__u8 nns;         /* matchNamespaces entries in ns[] */
	__u8 ncaps;       /* matchCapabilities entries in caps[] */
	__u8 pad1[5];
	struct tln_cap_filter caps[TLN_MAX_CAP_FILTERS];
	struct tln_pid_entry pidx[TLN_MAX_PIDX];
	struct tln_ns_filter ns[TLN_MAX_NS_FILTERS];
};                        /* 648 + 8 + 64 + 72 + 240 = 1032 bytes */

/* tln_str: LPM_TRIE for string sets (Equal/Prefix/Postfix and binaries).
 * prefixlen counts bits from `set` on: 8 + 8 * bytes. Equal entries end
 * with a NUL byte so that only the exact string matches; Postfix entries
 * and lookups use the reversed string. */
struct tln_str_key {
	__u32 prefixlen;
	__u8 set;
	__u8 data[TLN_STR_DATA];
};                        /* 260 bytes; map key_size may be smaller: 4 + 1 +
                           * longest entry, rounded up to 4 */

/* tln_addr4 / tln_addr6: LPM_TRIE for address sets (CIDRs) */
struct tln_addr4_key {
	__u32 prefixlen;  /* 8 + cidr bits */
	__u8 set;
	__u8 addr[4];
	__u8 pad0[3];     /* not part of any prefix */
};                        /* 12 bytes */

struct tln_addr6_key {
	__u32 prefixlen;  /* 8 + cidr bits */
	__u8 set;
	__u8 addr[16];
	__u8 pad0[3];
};                        /* 24 bytes */

/* tln_u64set: HASH for InMap/NotInMap */
struct tln_u64set_key {
	__u8 set;
	__u8 pad0[7];
	__u64 value;
};                        /* 16 bytes */

/* value of every set map entry: 1 */

/* tln_stats: ARRAY indexed by global selector index; one extra last entry
 * counts hits of hooks without selectors. */
struct tln_sel_stats {
	__u64 post;       /* events emitted */
	__u64 enforce;    /* enforcement actions taken (signal, kill, override) */
	__u64 monitor;    /* enforcement actions skipped by monitor mode */
	__u64 nopost;     /* matches that emitted no event */
};                        /* 32 bytes */

/* tln_pod_filter: HASH cgroup id (u64) -> u8, filled at run time by the agent
 * from the Wasm scoping decision; the image only declares it. */

/* names of the maps in an image (all start with tln_, <= 15 chars) */
#define TLN_MAP_POLICY "tln_policy"
#define TLN_MAP_HOOKS "tln_hooks"
#define TLN_MAP_SELS "tln_sels"
#define TLN_MAP_STR "tln_str"
#define TLN_MAP_ADDR4 "tln_addr4"
#define TLN_MAP_ADDR6 "tln_addr6"
#define TLN_MAP_U64SET "tln_u64set"
#define TLN_MAP_STATS "tln_stats"
#define TLN_MAP_POD_FILTER "tln_pod_filter"

#endif /* TLN_ABI_H */
