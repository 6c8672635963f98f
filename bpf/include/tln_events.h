/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * tln_events.h: the one source of truth for the records the BPF programs
 * write to the shared ring buffer `tln_events`, and for the values of the
 * shared maps every program instance uses (process table, pending signals).
 *
 * Rules (as tln_abi.h): little-endian, fixed-width fields, explicit padding,
 * every fixed part a multiple of 8 bytes. scripts/gen-abi.mjs generates every
 * mirror of it (the core decodes hook records: assembly/hookrec.ts; the host
 * reads the rest: src/kernel/records.ts); test/abi.test.ts and
 * test/kernel-abi.test.ts check them with the host C compiler. Changing a
 * layout means bumping TLN_EVENTS_VERSION.
 *
 * Every record starts with struct tln_rec_hdr; `size` is the length of the
 * whole record. Variable data (paths, arguments) follows the fixed part in
 * data[] and is addressed by lengths/offsets in the fixed part; strings carry
 * no NUL terminator.
 */
#ifndef TLN_EVENTS_H
#define TLN_EVENTS_H

#ifdef __BPF__
/* vmlinux.h provides the __u* types in BPF builds */
#else
#include <linux/types.h>
#endif

#define TLN_EVENTS_VERSION 1

/* limits of what a record carries */
#define TLN_PATH_MAX 4096  /* full paths (binary, file, cwd), NUL included */
#define TLN_ARGS_MAX 1024  /* exec arguments, NUL-separated */
#define TLN_BIN_MAX 256    /* binary path kept in the process table */
#define TLN_DATA_MAX 8192  /* data[] capacity of a hook record */
#define TLN_EXEC_DATA_MAX 16384 /* data[] capacity of an exec record */

enum tln_rec_type {
	TLN_REC_EXEC = 1, /* a process called execve (or was found in /proc) */
	TLN_REC_EXIT = 2, /* the last thread of a process exited */
	TLN_REC_HOOK = 3, /* a policy hook matched (or was hit, without selectors) */
};

/* record flags (tln_rec_hdr.flags) */
#define TLN_REC_F_PROCFS 0x01     /* built from /proc by the loader, not by the kernel */
#define TLN_REC_F_TRUNC_PATH 0x02 /* a path was cut at TLN_PATH_MAX / walk depth */
#define TLN_REC_F_TRUNC_ARGS 0x04 /* exec arguments cut at TLN_ARGS_MAX */
#define TLN_REC_F_TRUNC_CWD 0x08
#define TLN_REC_F_NO_PROC 0x10    /* no process-table entry: binary unknown */

struct tln_rec_hdr {
	__u8 type;      /* enum tln_rec_type */
	__u8 version;   /* TLN_EVENTS_VERSION */
	__u16 size;     /* bytes of the whole record, this header included */
	__u32 flags;    /* TLN_REC_F_* */
	__u64 ktime;    /* bpf_ktime_get_ns() when the record was made */
};                      /* 16 bytes */

/* who did it */
struct tln_rec_task {
	__u32 pid;        /* thread-group id (user-space pid) */
	__u32 tid;        /* thread id */
	__u32 ppid;       /* parent's pid, 0 when unknown */
	__u32 uid;        /* real uid */
	__u64 cgroup_id;  /* cgroup v2 id (inode of the cgroup directory) */
	__u64 start_ktime; /* ktime of the process's exec (or fork), 0 when unknown */
	__u32 ns_pid;     /* pid in the task's own pid namespace (0 when unknown) */
	__u32 pad0;
};                        /* 40 bytes */

/* TLN_REC_EXEC: data[] = binary path, arguments (NUL-separated, argv[0]
 * first), cwd, in this order. */
struct tln_exec_rec {
	struct tln_rec_hdr hdr;
	struct tln_rec_task task;
	__u16 path_len;
	__u16 args_len;
	__u16 cwd_len;
	__u16 pad0;
	__u64 pad1;
	char data[];
};                        /* 72 bytes + data */

/* TLN_REC_EXIT: data[] = binary path. */
struct tln_exit_rec {
	struct tln_rec_hdr hdr;
	struct tln_rec_task task;
	__u32 code;       /* wait status as the kernel keeps it: (status << 8) | signal */
	__u16 path_len;
	__u16 pad0;
	char data[];
};                        /* 64 bytes + data */

/* one argument value of a hook record (in the order of the hook's args[]) */
#define TLN_ARG_F_TRUNC 0x01 /* string cut */
#define TLN_ARG_F_NONE 0x02  /* the value could not be read (no file behind the fd, ...) */

struct tln_rec_arg {
	__u8 type;        /* enum tln_arg_type the policy declared, 0 = unused */
	__u8 flags;       /* TLN_ARG_F_* */
	__u16 len;        /* string types: bytes in data[] */
	__u16 off;        /* string types: offset in data[] */
	__u16 pad0;
	__u64 val;        /* integer types: the value, sign-extended per type */
};                        /* 16 bytes */

/* a socket argument (TLN_ARG_SOCK), ports in host order */
struct tln_rec_sock {
	__u16 family;     /* AF_INET 2, AF_INET6 10 */
	__u16 protocol;   /* IPPROTO_TCP 6 */
	__u16 sport;
	__u16 dport;
	__u8 state;       /* TCP state the hook stands for (TCP_SYN_SENT for tcp_connect) */
	__u8 pad0[7];
	__u8 saddr[16];   /* AF_INET: first 4 bytes */
	__u8 daddr[16];
};                        /* 48 bytes */

/* action bits (tln_hook_rec.actions/.skipped): 1 << enum tln_action_id */
#define TLN_ACTBIT(id) (1u << (id))

#define TLN_SEL_NONE 0xff /* tln_hook_rec.selector of a hook without selectors */

/* TLN_REC_HOOK: data[] = binary path, then the string arguments. */
struct tln_hook_rec {
	struct tln_rec_hdr hdr;
	struct tln_rec_task task;
	__u32 policy_id;  /* agent-assigned id of the policy (loader constant) */
	__u16 hook_id;    /* enum tln_hook_id */
	__u8 slot;        /* hook slot in the policy */
	__u8 selector;    /* 0-based selector index within the hook, or TLN_SEL_NONE */
	__u16 actions;    /* TLN_ACTBIT() of actions carried out */
	__u16 skipped;    /* TLN_ACTBIT() of enforcement actions skipped (monitor mode) */
	__u8 mode;        /* enum tln_mode read at this hit */
	__u8 nargs;
	__u16 bin_len;    /* binary path bytes at data[0] */
	__s32 error;      /* Override: error returned to the caller, else 0 */
	__u32 sensor;     /* enum tln_sensor: the implementation that saw it */
	struct tln_rec_arg args[5]; /* TLN_MAX_ARGS */
	struct tln_rec_sock sock;   /* valid when an argument has type TLN_ARG_SOCK */
	char data[];
};                        /* 16 + 40 + 24 + 80 + 48 = 208 bytes + data */

/* the kernel mechanism behind a hook record (catalog sensors) */
enum tln_sensor {
	TLN_SENSOR_TP_FILE = 1,   /* syscall tracepoints: read/write/mmap/truncate */
	TLN_SENSOR_CGROUP_SOCK = 2, /* cgroup/connect4 + cgroup/connect6 */
	TLN_SENSOR_LSM_FILE = 3,  /* BPF LSM file_permission/mmap_file/path_truncate */
	TLN_SENSOR_LSM_SOCK = 4,  /* BPF LSM socket_connect */
	TLN_SENSOR_TP_GENERIC = 5, /* tracepoint programs of spec.tracepoints (Tetragon's generic_tracepoint) */
	TLN_SENSOR_UPROBE = 6,    /* uprobe programs of spec.uprobes (Tetragon's generic_uprobe) */
};

/* ---- per-instance configuration of the generic hook programs ------------ */

/* Where tln_tp_generic / tln_uprobe find each of the hook's args[]: decided by
 * the loader (a tracepoint's field offsets come from its tracefs format file,
 * which is kernel-specific) and set as the read-only `tln_gen` before load. */
enum tln_src {
	TLN_SRC_NONE = 0,     /* not readable: the value is absent (TLN_ARG_F_NONE) */
	TLN_SRC_INT = 1,      /* integer field: `size` bytes at `off` of the tracepoint record */
	TLN_SRC_USTR = 2,     /* pointer at `off` to a NUL-terminated string in user memory */
	TLN_SRC_KSTR = 3,     /* pointer at `off` to a NUL-terminated string in kernel memory */
	TLN_SRC_DATA_LOC = 4, /* __data_loc char[]: u32 at `off` = (length << 16) | offset in the record */
	TLN_SRC_ARRAY = 5,    /* char array of `size` bytes at `off` */
	TLN_SRC_REG = 6,      /* uprobe: function argument `off` (0-5) from the registers, integer */
	TLN_SRC_REG_USTR = 7, /* uprobe: function argument `off`, a pointer to a user string */
};

#define TLN_GEN_STR_MAX 1024 /* bytes of one string argument in a generic hook record */

struct tln_gen_arg {
	__u16 off;        /* byte offset in the record, or the argument register */
	__u16 size;       /* bytes of an integer field (1, 2, 4, 8) or of a char array */
	__u8 src;         /* enum tln_src */
	__u8 is_signed;   /* the field is signed: sign-extend it before the declared type's conversion */
	__u8 pad0[2];
};                        /* 8 bytes */

struct tln_gen_conf {
	__u8 nargs;       /* entries of args[] used (the hook's nargs) */
	__u8 pad0[7];
	struct tln_gen_arg args[5]; /* TLN_MAX_ARGS, in the order of the hook's args[] */
};                        /* 48 bytes */

/* ---- shared map values ------------------------------------------------- */

/* tln_procs: HASH tgid (u32) -> struct tln_proc, filled at exec/fork, from
 * /proc by the loader for processes older than the agent, removed at exit. */
#define TLN_PROC_F_PROCFS 0x01
struct tln_proc {
	__u32 ppid;
	__u32 flags;      /* TLN_PROC_F_* */
	__u64 ktime;      /* exec (or fork) ktime */
	__u16 path_len;   /* bytes of path, no NUL */
	__u16 pad0[3];
	char path[TLN_BIN_MAX]; /* binary path, NUL-terminated, cut at 255 bytes */
};                        /* 280 bytes */

/* tln_pending: LRU_HASH pid_tgid (u64) -> struct tln_pending: a signal a
 * cgroup program decided on, delivered by the sys_exit_connect tracepoint
 * before the syscall returns (cgroup programs cannot send signals). */
struct tln_pending {
	__u32 sig;
	__u32 pad0;
};                        /* 8 bytes */

/* tln_lost: ARRAY, 1 entry of __u64: records the ring buffer had no room for */

#endif /* TLN_EVENTS_H */
