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

#define TLN_EVENTS_VERSION 3

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
	TLN_REC_SOCK = 4, /* tcp_connect follow-up: the source port once the kernel chose it */
};

/* record flags (tln_rec_hdr.flags) */
#define TLN_REC_F_PROCFS 0x01     /* built from /proc by the loader, not by the kernel */
#define TLN_REC_F_TRUNC_PATH 0x02 /* a path was cut at TLN_PATH_MAX / walk depth */
#define TLN_REC_F_TRUNC_ARGS 0x04 /* exec arguments cut at TLN_ARGS_MAX */
#define TLN_REC_F_TRUNC_CWD 0x08
#define TLN_REC_F_NO_PROC 0x10    /* no process-table entry: binary unknown */
#define TLN_REC_F_IDENTITY 0x20   /* exec: cred and ns were read by the kernel at the exec */

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

/* the credentials of a task (its cred), as Tetragon's process_credentials */
struct tln_rec_cred {
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u32 suid;
	__u32 sgid;
	__u32 fsuid;
	__u32 fsgid;
	__u32 securebits;
	__u32 pad0;
	__u64 cap_permitted; /* with the next two: adjacent, written as one u64[3] (tln_task_caps) */
	__u64 cap_effective;
	__u64 cap_inheritable;
};                        /* 64 bytes */

/* a user namespace (a user_namespace argument; a cred's), as Tetragon's user_ns_arg shows it */
struct tln_rec_userns {
	__u32 level;
	__u32 uid;  /* the namespace's owner */
	__u32 gid;  /* and group */
	__u32 inum;
};                  /* 16 bytes */

/* a cred argument of a generic hook, in data[] (TLN_ARG_F_DATA): the struct cred and its
 * user namespace, as Tetragon's process_credentials_arg shows them */
struct tln_rec_credarg {
	struct tln_rec_cred cred;
	struct tln_rec_userns user_ns;
};                         /* 80 bytes */

#define TLN_BPF_OBJ_NAME 16 /* BPF_OBJ_NAME_LEN */
#define TLN_KSYM_NAME 128   /* bytes of a perf event's kprobe function name, as Tetragon copies it */

/* a BPF program being loaded (bpf_attr of BPF_PROG_LOAD) or loaded (bpf_prog), in data[]
 * (TLN_ARG_F_DATA), as Tetragon's bpf_attr_arg / bpf_prog_arg show it */
struct tln_rec_bpfprog {
	__u32 prog_type;
	__u32 insn_cnt;
	char name[TLN_BPF_OBJ_NAME];
};                          /* 24 bytes */

/* a BPF map (bpf_map), as Tetragon's bpf_map_arg shows it */
struct tln_rec_bpfmap {
	__u32 map_type;
	__u32 key_size;
	__u32 value_size;
	__u32 max_entries;
	char name[TLN_BPF_OBJ_NAME];
};                          /* 32 bytes */

/* a perf event (perf_event) from its attr, as Tetragon's perf_event_arg shows it */
struct tln_rec_perfevent {
	__u32 type;
	__u32 pad;
	__u64 config;
	__u64 probe_offset;
	char kprobe_func[TLN_KSYM_NAME]; /* a kprobe/uprobe PMU event's function (or path): config1 */
};                                       /* 152 bytes */

/* namespace inode numbers of a task by Tetragon's type id (TLN_NS_TYPES), 0 = none */
struct tln_rec_ns {
	__u32 inum[10];
};                        /* 40 bytes */

/* TLN_REC_EXEC: data[] = binary path, arguments (NUL-separated, argv[0]
 * first), cwd, in this order. cred and ns are the task's right after the
 * exec (TLN_REC_F_IDENTITY), so a process that exits at once still has them. */
struct tln_exec_rec {
	struct tln_rec_hdr hdr;
	struct tln_rec_task task;
	__u16 path_len;
	__u16 args_len;
	__u16 cwd_len;
	__u16 pad0;
	__u64 pad1;
	struct tln_rec_cred cred;
	struct tln_rec_ns ns;
	char data[];
};                        /* 176 bytes + data */

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
#define TLN_ARG_F_DATA 0x04  /* a socket-kind, cred, user_namespace or BPF-object argument whose struct (tln_rec_sock, tln_rec_credarg, tln_rec_userns, tln_rec_bpfprog, ...) is at data[off] (else tln_hook_rec.sock) */

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
	__u8 type;        /* SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_RAW 3 of a struct sock read whole; 0: not read (a TCP hook's) */
	__u8 pad0[6];
	__u8 saddr[16];   /* AF_INET: first 4 bytes */
	__u8 daddr[16];
	__u64 cookie;     /* socket cookie (bpf_get_socket_cookie), 0 when unknown */
};                        /* 56 bytes */

/* action bits (tln_hook_rec.actions/.skipped): 1 << enum tln_action_id */
#define TLN_ACTBIT(id) (1u << (id))

#define TLN_SEL_NONE 0xff /* tln_hook_rec.selector of a hook without selectors */

/* what the selectors read of the task, filled by the kernel when a selector
 * first needs it during the event (tln_rec_proc.have says what is there); the
 * core decodes it into the evaluator's process context (assembly/hookrec.ts) */
#define TLN_NS_TYPES 10 /* Tetragon's namespace types: Uts 0, Ipc 1, Mnt 2, Pid 3, PidForChildren 4,
                         * Net 5, Time 6, TimeForChildren 7, Cgroup 8, User 9 */
#define TLN_ANC_MAX 16  /* ancestors followForks walks in the process table */
#define TLN_RP_NS 0x01      /* ns[] and ns_host are the task's at the call */
#define TLN_RP_CAPS 0x02    /* caps[] are the task's at the call */
#define TLN_RP_ANC 0x04     /* anc[]: nanc ancestor pids from the process table, parent first */
#define TLN_RP_ANC_END 0x08 /* anc[] is the whole chain the process table knows (it ends at init or at a process it has no entry for) */
#define TLN_RP_EXEC 0x10    /* caps_exec[], ns_exec[]: what the process table recorded (at fork / exec, or the last matched change) */
struct tln_rec_proc {
	__u8 have;        /* TLN_RP_* */
	__u8 nanc;
	__u16 ns_host;    /* bit t: ns[t] is the host's (the init process's, read by the loader) */
	__u32 pad0;
	__u64 caps[3];    /* permitted, effective, inheritable */
	__u32 ns[10];     /* TLN_NS_TYPES: inode numbers by type id, 0 = none */
	__u32 anc[16];    /* TLN_ANC_MAX */
	/* v3 */
	__u32 anc_ns[16]; /* TLN_ANC_MAX: the ancestors' pids in their pid namespaces (0 = unknown), with TLN_RP_ANC */
	__u64 caps_exec[3]; /* with TLN_RP_EXEC: the process table's caps[] (matchCapabilityChanges) */
	__u32 ns_exec[10];  /* with TLN_RP_EXEC: the process table's ns[] (matchNamespaceChanges) */
};                        /* 136 + 64 + 24 + 40 = 264 bytes */

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
	__u16 sensor;     /* enum tln_sensor: the implementation that saw it */
	__u16 member;     /* a call: "list:NAME" hook: 1 + the index of the list value this instance serves; else 0 */
	struct tln_rec_arg args[5]; /* TLN_MAX_ARGS */
	struct tln_rec_sock sock;   /* valid when an argument has type TLN_ARG_SOCK */
	struct tln_rec_arg ret;     /* return value (return: true hooks; type 0 = none): as an argument of type returnArg */
	struct tln_rec_proc proc;   /* v2: the task's namespaces, capabilities, ancestors (when a selector read them) */
	char data[];
};                        /* 16 + 40 + 24 + 80 + 56 (sock) + 16 (ret) + 136 (proc) bytes + data */

#define TLN_SOCK_F_NOPORT 0x01 /* no port was chosen: refused, or the connect failed before its SYN */

/* TLN_REC_SOCK: what a tcp_connect hook record (cookie) lacked at connect():
 * the source address and port, from cgroup/sock_ops TCP_CONNECT_CB, i.e.
 * inside tcp_connect() where Tetragon's kprobe reads them; or NOPORT from
 * connect4/6 (refused) or sys_exit_connect (failed before the SYN). */
struct tln_sock_rec {
	struct tln_rec_hdr hdr;
	__u64 cookie;
	__u16 family;     /* AF_INET 2 (v4-mapped included), AF_INET6 10 */
	__u16 sport;      /* host order */
	__u32 flags;      /* TLN_SOCK_F_* */
	__u8 saddr[16];   /* AF_INET: first 4 bytes */
};                        /* 48 bytes */

/* the kernel mechanism behind a hook record (catalog sensors) */
enum tln_sensor {
	TLN_SENSOR_TP_FILE = 1,   /* syscall tracepoints: read/write/mmap/truncate */
	TLN_SENSOR_CGROUP_SOCK = 2, /* cgroup/connect4 + cgroup/connect6 */
	TLN_SENSOR_LSM_FILE = 3,  /* BPF LSM file_permission/mmap_file/path_truncate */
	TLN_SENSOR_LSM_SOCK = 4,  /* BPF LSM socket_connect */
	TLN_SENSOR_TP_GENERIC = 5, /* tracepoint programs of spec.tracepoints (Tetragon's generic_tracepoint) */
	TLN_SENSOR_UPROBE = 6,    /* uprobe programs of spec.uprobes (Tetragon's generic_uprobe) */
	TLN_SENSOR_KPROBE = 7,    /* kprobe programs of spec.kprobes on any function (Tetragon's generic_kprobe) */
	TLN_SENSOR_FENTRY = 8,    /* fentry programs of spec.fentries */
	TLN_SENSOR_FMOD_RET = 9,  /* fmod_ret programs: kprobes/fentries whose selectors Override */
	TLN_SENSOR_LSM_HOOK = 10, /* lsm programs of spec.lsmhooks (Tetragon's generic_lsm) */
	TLN_SENSOR_SOCK_STATE = 11, /* tp_btf/inet_sock_set_state: tcp_close on kernels without kprobes */
	TLN_SENSOR_SOCK_SEND = 12, /* tp_btf/sock_send_length: tcp_sendmsg on kernels without kprobes */
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
	TLN_SRC_REG = 6,      /* uprobe, kprobe, fentry, lsm: function argument `off` (0-5), integer (TLN_SRC_REG_*: also BTF programs) */
	TLN_SRC_REG_USTR = 7, /* uprobe: function argument `off`, a pointer to a user string */
	TLN_SRC_REG_KSTR = 8, /* kprobe: function argument `off`, a pointer to a kernel string */
	TLN_SRC_REG_FILE = 9, /* kprobe: function argument `off`, a struct file *: its full path */
	TLN_SRC_REG_PATH = 10, /* kprobe: function argument `off`, a struct path *: its full path */
	TLN_SRC_REG_FD = 11,  /* kprobe/uprobe: function argument `off`, an fd of the task: its file's path */
	TLN_SRC_FD = 12,      /* tracepoint: integer field at `off` (`size` bytes), an fd of the task: its file's path */
	TLN_SRC_SOCK = 13,    /* the hook's struct sock, read by the program into tln_hook_rec.sock */
	TLN_SRC_UBUF = 14,    /* char_buf: pointer at `off` to bytes in user memory, their count in tln_gen_conf.bufs[] */
	TLN_SRC_KBUF = 15,    /* char_buf: pointer at `off` to bytes in kernel memory, their count in tln_gen_conf.bufs[] */
	TLN_SRC_BPRM = 16,    /* raw tracepoint: struct linux_binprm * at `off`: the full path of its file */
	/* socket kinds, into data[] as a struct tln_rec_sock (TLN_ARG_F_DATA): a pointer that is
	 * function argument `off` (kprobe, fentry, lsm) or at byte `off` of the context (raw tracepoint) */
	TLN_SRC_P_SOCK = 17,     /* struct sock *: family, protocol, state, addresses, ports */
	TLN_SRC_P_SOCKET = 18,   /* struct socket *: its sk, as TLN_SRC_P_SOCK */
	TLN_SRC_P_SKB = 19,      /* struct sk_buff *: its IPv4/IPv6 header and TCP/UDP ports */
	TLN_SRC_P_SOCKADDR = 20, /* struct sockaddr * (kernel memory): family, address and port as saddr/sport */
	TLN_SRC_P_CRED = 21,     /* struct cred *: into data[] as a struct tln_rec_credarg */
	TLN_SRC_P_USERNS = 22,   /* struct user_namespace *: into data[] as a struct tln_rec_userns */
	TLN_SRC_P_BPFATTR = 23,  /* union bpf_attr * (kernel copy): into data[] as a struct tln_rec_bpfprog */
	TLN_SRC_P_BPFPROG = 24,  /* struct bpf_prog *: into data[] as a struct tln_rec_bpfprog */
	TLN_SRC_P_BPFMAP = 25,   /* struct bpf_map *: into data[] as a struct tln_rec_bpfmap */
	TLN_SRC_P_PERFEV = 26,   /* struct perf_event *: into data[] as a struct tln_rec_perfevent */
	/* P_SOCK..P_PERFEV above are structs written into data[]; net_device is read as a string */
	TLN_SRC_P_NETDEV = 27,   /* struct net_device *: its name, as a string */
};

#define TLN_GEN_STR_MAX 1024 /* bytes of one string argument in a generic hook record */

struct tln_gen_arg {
	__u16 off;        /* byte offset in the record, or the argument register */
	__u16 size;       /* bytes of an integer field (1, 2, 4, 8) or of a char array */
	__u8 src;         /* enum tln_src */
	__u8 is_signed;   /* the field is signed: sign-extend it before the declared type's conversion */
	__u8 pad0[2];
};                        /* 8 bytes */

#define TLN_GEN_BUF_MAX 4095 /* bytes of one char_buf argument in a record (Tetragon copies at most 4095 as well) */
#define TLN_GEN_B_RETCOPY 0x01 /* returnCopy: the bytes are copied at the exit, as many as the call returned */

/* a char_buf argument's size: another integer field of the record (sizeArgIndex), or the return value */
struct tln_gen_buf {
	__u16 len_off;    /* sizeArgIndex: byte offset of the size field in the record */
	__u8 len_size;    /* its bytes (1, 2, 4, 8); 0 = no size field */
	__u8 flags;       /* TLN_GEN_B_* */
	__u8 pad0[4];
};                        /* 8 bytes */

#define TLN_RES_STEPS 8 /* steps of one resolve walk */

/* resolve: the argument's value (a pointer to a struct) walked along a member path, found in
 * the kernel's BTF at load (src/kernel/btf.ts resolvePath): at step k, add off[k] to the
 * address and, where bit k of loads is set, read the value there (a pointer, 8 bytes; at the
 * last step the field, `size` bytes). The result stands for the argument's value in its src. */
struct tln_gen_res {
	__u32 off[8];     /* TLN_RES_STEPS */
	__u8 n;           /* steps used; 0: no resolve */
	__u8 loads;       /* bit k: step k reads the value at the address */
	__u8 size;        /* bytes of the last step's read (1, 2, 4, 8) */
	__u8 is_signed;   /* the last read sign-extends */
	__u8 pad0[4];
};                        /* 40 bytes */

#define TLN_GEN_F_NEED_FILE 0x01 /* no event when an fd/file argument has no file (e.g. a failed open's return value) */
#define TLN_GEN_F_RETURN 0x02    /* return: true: the entry keeps the record (tln_gen_pend), the exit program adds the return value, judges and posts */
#define TLN_GEN_F_RETCOPY 0x04   /* returnCopy arguments: the exit copies their bytes (with TLN_GEN_F_RETURN) */
#define TLN_GEN_F_RET_HERE 0x08  /* the hook gives the return value with the arguments (ret: a field of this context): judged in one event */

struct tln_gen_conf {
	__u8 nargs;       /* entries of args[] used (the hook's nargs) */
	__u8 flags;       /* TLN_GEN_F_* */
	__u16 member;     /* copied into tln_hook_rec.member: which list value this instance serves */
	__u8 pad0[4];
	struct tln_gen_arg args[5]; /* TLN_MAX_ARGS, in the order of the hook's args[] */
	struct tln_gen_arg ret;     /* TLN_GEN_F_RETURN: where the exit program reads the return value (TLN_SRC_INT: the exit tracepoint's ret field) */
	struct tln_gen_buf bufs[5]; /* TLN_MAX_ARGS: TLN_SRC_UBUF/KBUF arguments: how many bytes to copy */
	struct tln_gen_res res[5];  /* TLN_MAX_ARGS: resolve walks (kprobe, fentry, lsm, raw tracepoint arguments) */
};                        /* 296 bytes */

/* ---- shared map values ------------------------------------------------- */

/* tln_procs: HASH tgid (u32) -> struct tln_proc, filled at exec/fork, from
 * /proc by the loader for processes older than the agent, removed at exit. */
#define TLN_PROC_F_PROCFS 0x01
#define TLN_PROC_F_EXEC 0x02 /* caps[]/ns[] were taken at an exec or from /proc (a later exec keeps them, as Tetragon) */
struct tln_proc {
	__u32 ppid;
	__u32 flags;      /* TLN_PROC_F_* */
	__u64 ktime;      /* exec (or fork) ktime */
	__u16 path_len;   /* bytes of path, no NUL */
	__u16 pad0[3];
	char path[TLN_BIN_MAX]; /* binary path, NUL-terminated, cut at 255 bytes */
	/* v3: what matchPIDs followForks+isNamespacePID and the *Changes selectors compare with */
	__u32 ns_pid;     /* the pid in its own pid namespace */
	__u32 pad1;
	__u64 caps[3];    /* permitted, effective, inheritable at fork / first exec; rebased when a change matched */
	__u32 ns[10];     /* TLN_NS_TYPES inode numbers, same rule */
};                        /* 280 + 8 + 24 + 40 = 352 bytes */

/* tln_pending: LRU_HASH pid_tgid (u64) -> struct tln_pending: a signal a
 * cgroup program decided on, delivered by the sys_exit_connect tracepoint
 * before the syscall returns (cgroup programs cannot send signals). */
struct tln_pending {
	__u32 sig;
	__u32 pad0;
};                        /* 8 bytes */


/* ---- dispatch: one program per hook, every policy behind it ------------- */

/* A unit is one policy's set of hooks with at most one hook of each dispatch
 * kind (a policy with two hooks of one kind takes two units). Unit n is bit
 * n of the u64 masks below and index n of the outer (map-in-map) image maps. */
#define TLN_MAX_UNITS 64

/* dispatch kinds: the shared hook programs (tln_dispatch.hooks, tln_unit.slots) */
enum tln_dhook {
	TLN_DH_FILE_PERM = 0,     /* security_file_permission */
	TLN_DH_MMAP_FILE = 1,     /* security_mmap_file */
	TLN_DH_PATH_TRUNCATE = 2, /* security_path_truncate */
	TLN_DH_TCP_CONNECT = 3,   /* tcp_connect */
};
#define TLN_DHOOKS 4
#define TLN_CG_BITS 4096 /* bits of tln_dispatch.cgbits */

/* tln_dispatch: ARRAY, 1 entry, written by the loader only (the rename
 * programs count in tln_renames: ARRAY, 1 entry of __u64) */
struct tln_dispatch {
	__u64 all;        /* units of policies that apply everywhere (not filtered) */
	__u64 host;       /* units of filtered policies that take processes in no pod */
	__u64 hooks[4];   /* TLN_DHOOKS: units that have a hook of that kind */
	__u64 epoch;      /* bumped by the loader at every policy/pod/mode change */
	__u64 pad0;
	__u64 cgbits[64]; /* TLN_CG_BITS: bit (id % 4096) set for every cgroup id in tln_cgroups; a
	                   * clear bit spares a task in no pod the hash lookup */
	__u32 host_ns[10]; /* TLN_NS_TYPES: the init process's namespaces (matchNamespaces host_ns,
	                    * isNamespaceCapability), read by the loader from /proc/1/ns */
	__u32 pad1[2];
};                        /* 624 bytes */

/* tln_units: ARRAY of TLN_MAX_UNITS, written by the loader */
struct tln_unit {
	__u32 policy_id;  /* agent-assigned id of the unit's policy (hook records) */
	__u8 slots[4];    /* TLN_DHOOKS: hook slot in the policy, 0xff = none */
};                        /* 8 bytes */

/* tln_cgroups: HASH cgroup id (u64) -> struct tln_cgroup: every pod cgroup
 * and every cgroup a policy's pod filter names; a cgroup not in it is a
 * process in no pod */
#define TLN_CG_F_POD 0x01       /* the cgroup belongs to a pod (host-scope policies skip it) */
#define TLN_CG_F_INHERIT 0x02   /* a pod's own cgroup: a child made in it (a new container) starts with
                                 * its units (tln_cgroup_mkdir), before the agent has seen the container */
#define TLN_CG_F_INHERITED 0x04 /* made by tln_cgroup_mkdir, not yet taken over by the agent:
                                 * tln_cgroup_rmdir removes it */
struct tln_cgroup {
	__u64 units;      /* units of the filtered policies whose pods hold it */
	__u32 flags;      /* TLN_CG_F_* */
	__u32 pad0;
};                        /* 16 bytes */

/* tln_fcache: LRU_HASH struct file pointer (u64) -> struct tln_fcache: a
 * file whose reads (writes) no selector of any unit matched, valid while
 * every field below still holds */
#define TLN_FC_READ 0x01
#define TLN_FC_WRITE 0x02
struct tln_fcache {
	__u64 mnt;        /* file->f_path.mnt */
	__u64 dentry;     /* file->f_path.dentry (its inode is fixed) */
	__u64 root;       /* the task's fs root dentry (paths are relative to it) */
	__u64 pad0;
	__u64 cgroup_id;  /* the policies that applied */
	__u64 exec_id;    /* task->self_exec_id: the binary */
	__u64 epoch;      /* tln_dispatch.epoch + tln_renames when the verdict was made */
	__u32 tgid;       /* matchPIDs */
	__u32 ok;         /* TLN_FC_*: accesses judged "no match" */
};                        /* 64 bytes */

/* tln_lost: ARRAY, 1 entry of __u64: records the ring buffer had no room for */

#endif /* TLN_EVENTS_H */
