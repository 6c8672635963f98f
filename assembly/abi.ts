// Mirror of bpf/include/tln_abi.h: every constant, size and offset the core
// writes or reads. MUST match the header; test/abi.test.ts compiles the header
// with the host C compiler and compares it with abiTableJson() below.

export const TLN_IMAGE_MAGIC_0: u32 = 0x4f4c4154; // "TALO"
export const TLN_IMAGE_MAGIC_1: u32 = 0x474d494e; // "NIMG"
export const TLN_IMAGE_VERSION: u32 = 2;

// limits
export const TLN_MAX_HOOKS: i32 = 16;
export const TLN_MAX_SELECTORS: i32 = 5;
export const TLN_MAX_FILTERS: i32 = 8;
export const TLN_MAX_ARG_FILTERS: i32 = 5;
export const TLN_MAX_ARGS: i32 = 5;
export const TLN_MAX_VALUES: i32 = 8;
export const TLN_MAX_INLINE: i32 = 4;
export const TLN_MAX_PIDS: i32 = 4;
export const TLN_MAX_ACTIONS: i32 = 3;
export const TLN_MAX_SETS: i32 = 255;
export const TLN_STR_DATA: i32 = 255;
export const TLN_POD_FILTER_MAX: i32 = 32768;

// enum tln_op
export const TLN_OP_GT: u8 = 1;
export const TLN_OP_LT: u8 = 2;
export const TLN_OP_EQUAL: u8 = 3;
export const TLN_OP_NOT_EQUAL: u8 = 4;
export const TLN_OP_IN: u8 = 5;
export const TLN_OP_NOT_IN: u8 = 6;
export const TLN_OP_PREFIX: u8 = 8;
export const TLN_OP_POSTFIX: u8 = 9;
export const TLN_OP_IN_MAP: u8 = 10;
export const TLN_OP_NOT_IN_MAP: u8 = 11;
export const TLN_OP_MASK: u8 = 12;
export const TLN_OP_SADDR: u8 = 13;
export const TLN_OP_DADDR: u8 = 14;
export const TLN_OP_SPORT: u8 = 15;
export const TLN_OP_DPORT: u8 = 16;
export const TLN_OP_PROTOCOL: u8 = 17;
export const TLN_OP_NOT_SPORT: u8 = 18;
export const TLN_OP_NOT_DPORT: u8 = 19;
export const TLN_OP_SPORT_PRIV: u8 = 20;
export const TLN_OP_NOT_SPORT_PRIV: u8 = 21;
export const TLN_OP_DPORT_PRIV: u8 = 22;
export const TLN_OP_NOT_DPORT_PRIV: u8 = 23;
export const TLN_OP_NOT_SADDR: u8 = 24;
export const TLN_OP_NOT_DADDR: u8 = 25;
export const TLN_OP_NOT_PREFIX: u8 = 26;
export const TLN_OP_NOT_POSTFIX: u8 = 27;
export const TLN_OP_FAMILY: u8 = 28;
export const TLN_OP_STATE: u8 = 29;
export const TLN_OP_IN_RANGE: u8 = 31;
export const TLN_OP_NOT_IN_RANGE: u8 = 32;
export const TLN_OP_CAPABILITIES_GAINED: u8 = 30;
export const TLN_OP_SUBSTRING: u8 = 33;
export const TLN_OP_SUBSTRING_IGN_CASE: u8 = 34;
export const TLN_OP_CEL_EXPR: u8 = 35;
export const TLN_OP_FILE_TYPE: u8 = 36;
export const TLN_OP_NOT_FILE_TYPE: u8 = 37;

// enum tln_arg_type
export const TLN_ARG_NONE: u8 = 0;
export const TLN_ARG_INT: u8 = 1;
export const TLN_ARG_UINT32: u8 = 2;
export const TLN_ARG_SINT64: u8 = 3;
export const TLN_ARG_UINT64: u8 = 4;
export const TLN_ARG_SINT8: u8 = 5;
export const TLN_ARG_UINT8: u8 = 6;
export const TLN_ARG_SINT16: u8 = 7;
export const TLN_ARG_UINT16: u8 = 8;
export const TLN_ARG_FILE: u8 = 16;
export const TLN_ARG_PATH: u8 = 17;
export const TLN_ARG_FD: u8 = 18;
export const TLN_ARG_STRING: u8 = 19;
export const TLN_ARG_FILENAME: u8 = 20;
export const TLN_ARG_SOCK: u8 = 32;
export const TLN_ARG_SOCKADDR: u8 = 33;
export const TLN_ARG_SYSCALL64: u8 = 9;
export const TLN_ARG_KERNEL_CAP_T: u8 = 10;
export const TLN_ARG_CAP_INHERITABLE: u8 = 11;
export const TLN_ARG_CAP_PERMITTED: u8 = 12;
export const TLN_ARG_CAP_EFFECTIVE: u8 = 13;
export const TLN_ARG_CAPABILITY: u8 = 14;
export const TLN_ARG_BPF_CMD: u8 = 15;
export const TLN_ARG_CHAR_BUF: u8 = 21;
export const TLN_ARG_CHAR_IOVEC: u8 = 22;
export const TLN_ARG_CONST_BUF: u8 = 23;
export const TLN_ARG_DATA_LOC: u8 = 24;
export const TLN_ARG_DENTRY: u8 = 25;
export const TLN_ARG_LINUX_BINPRM: u8 = 26;
export const TLN_ARG_NET_DEVICE: u8 = 27;
export const TLN_ARG_SOCKADDR_UN: u8 = 28;
export const TLN_ARG_SKB: u8 = 34;
export const TLN_ARG_SOCKET: u8 = 35;
export const TLN_ARG_NOP: u8 = 48;
export const TLN_ARG_AUTO: u8 = 49;
export const TLN_ARG_BPF_ATTR: u8 = 50;
export const TLN_ARG_PERF_EVENT: u8 = 51;
export const TLN_ARG_BPF_MAP: u8 = 52;
export const TLN_ARG_BPF_PROG: u8 = 53;
export const TLN_ARG_USER_NAMESPACE: u8 = 54;
export const TLN_ARG_CRED: u8 = 55;
export const TLN_ARG_KIOCB: u8 = 56;
export const TLN_ARG_IOV_ITER: u8 = 57;
export const TLN_ARG_LOAD_INFO: u8 = 58;
export const TLN_ARG_MODULE: u8 = 59;

// enum tln_action_id
export const TLN_ACT_POST: u8 = 0;
export const TLN_ACT_SIGKILL: u8 = 2;
export const TLN_ACT_OVERRIDE: u8 = 4;
export const TLN_ACT_NOPOST: u8 = 8;
export const TLN_ACT_SIGNAL: u8 = 9;
export const TLN_ACT_GETURL: u8 = 6;
export const TLN_ACT_DNSLOOKUP: u8 = 7;
export const TLN_ACT_TRACKSOCK: u8 = 10;
export const TLN_ACT_UNTRACKSOCK: u8 = 11;
export const TLN_ACT_NOTIFY_ENFORCER: u8 = 12;
export const TLN_ACT_CLEANUP_ENFORCER_NOTIFICATION: u8 = 13;
export const TLN_ACT_SET: u8 = 14;

// enum tln_mode
export const TLN_MODE_ENFORCE: u8 = 0;
export const TLN_MODE_MONITOR: u8 = 1;
export const TLN_MODE_MONITOR_ONLY: u8 = 2;

// enum tln_hook_kind
export const TLN_HOOK_KPROBE: u8 = 1;
export const TLN_HOOK_TRACEPOINT: u8 = 2;
export const TLN_HOOK_UPROBE: u8 = 3;
export const TLN_HOOK_FENTRY: u8 = 4;
export const TLN_HOOK_LSM: u8 = 5;
export const TLN_HOOK_USDT: u8 = 6;

// enum tln_hook_id
export const TLN_HOOK_UNKNOWN: u16 = 0;
export const TLN_HOOK_SECURITY_FILE_PERMISSION: u16 = 1;
export const TLN_HOOK_SECURITY_MMAP_FILE: u16 = 2;
export const TLN_HOOK_SECURITY_PATH_TRUNCATE: u16 = 3;
export const TLN_HOOK_TCP_CONNECT: u16 = 4;
export const TLN_HOOK_GENERIC_TRACEPOINT: u16 = 100;
export const TLN_HOOK_GENERIC_UPROBE: u16 = 101;
export const TLN_HOOK_GENERIC_KPROBE: u16 = 102;
export const TLN_HOOK_GENERIC_FENTRY: u16 = 103;
export const TLN_HOOK_GENERIC_LSM: u16 = 104;
export const TLN_HOOK_GENERIC_USDT: u16 = 105;

// hook flags
export const TLN_HOOK_F_RETURN: u8 = 0x01;
export const TLN_HOOK_F_SYSCALL: u8 = 0x02;
export const TLN_HOOK_F_RET_FILTERS: u8 = 0x04;
export const TLN_HOOK_F_RAW: u8 = 0x08;

export const TLN_SLOT_RETURN: u8 = 0xff;
export const TLN_FILTER_F_NEGATE: u8 = 0x01;
export const TLN_PID_F_NAMESPACE: u8 = 0x01;
export const TLN_PID_F_FOLLOW_FORKS: u8 = 0x02;
export const TLN_SEL_F_SPEC_ONLY: u8 = 0x01;
export const TLN_SCOPE_F_FILTERED: u8 = 0x01;
export const TLN_SCOPE_F_HOST: u8 = 0x02;

// enum tln_rl_scope
export const TLN_RL_THREAD: u8 = 0;
export const TLN_RL_PROCESS: u8 = 1;
export const TLN_RL_GLOBAL: u8 = 2;

// struct tln_policy_conf (8)
export const CONF_SIZE: i32 = 8;
export const CONF_MODE: i32 = 0;
export const CONF_SCOPE: i32 = 1;
export const CONF_NHOOKS: i32 = 2;
export const CONF_NSELECTORS: i32 = 4;

// struct tln_hook_arg (2)
export const HOOK_ARG_SIZE: i32 = 2;
export const HOOK_ARG_INDEX: i32 = 0;
export const HOOK_ARG_TYPE: i32 = 1;

// struct tln_hook (24)
export const HOOK_SIZE: i32 = 24;
export const HOOK_HOOK_ID: i32 = 0;
export const HOOK_KIND: i32 = 2;
export const HOOK_FLAGS: i32 = 3;
export const HOOK_NARGS: i32 = 4;
export const HOOK_NSELECTORS: i32 = 5;
export const HOOK_FIRST_SEL: i32 = 6;
export const HOOK_RET_TYPE: i32 = 7;
export const HOOK_ARGS: i32 = 8;

// struct tln_filter (72)
export const FILTER_SIZE: i32 = 72;
export const FILTER_OP: i32 = 0;
export const FILTER_SLOT: i32 = 1;
export const FILTER_TYPE: i32 = 2;
export const FILTER_NVALS: i32 = 3;
export const FILTER_SET: i32 = 4;
export const FILTER_FLAGS: i32 = 5;
export const FILTER_VALS: i32 = 8;

// struct tln_action (16)
export const ACTION_SIZE: i32 = 16;
export const ACTION_ID: i32 = 0;
export const ACTION_RL_SCOPE: i32 = 1;
export const ACTION_ARG: i32 = 4;
export const ACTION_RATE_LIMIT_NS: i32 = 8;

// struct tln_selector (648)
export const SEL_SIZE: i32 = 648;
export const SEL_NFILTERS: i32 = 0;
export const SEL_NACTIONS: i32 = 1;
export const SEL_PID_OP: i32 = 2;
export const SEL_NPIDS: i32 = 3;
export const SEL_PID_FLAGS: i32 = 4;
export const SEL_BIN_OP: i32 = 5;
export const SEL_BIN_SET: i32 = 6;
export const SEL_FLAGS: i32 = 7;
export const SEL_PIDS: i32 = 8;
export const SEL_FILTERS: i32 = 24;
export const SEL_ACTIONS: i32 = 600;

// struct tln_str_key (260)
export const STR_KEY_SIZE: i32 = 260;
export const STR_KEY_PREFIXLEN: i32 = 0;
export const STR_KEY_SET: i32 = 4;
export const STR_KEY_DATA: i32 = 5;

// struct tln_addr4_key (12)
export const ADDR4_KEY_SIZE: i32 = 12;
export const ADDR4_KEY_PREFIXLEN: i32 = 0;
export const ADDR4_KEY_SET: i32 = 4;
export const ADDR4_KEY_ADDR: i32 = 5;

// struct tln_addr6_key (24)
export const ADDR6_KEY_SIZE: i32 = 24;
export const ADDR6_KEY_PREFIXLEN: i32 = 0;
export const ADDR6_KEY_SET: i32 = 4;
export const ADDR6_KEY_ADDR: i32 = 5;

// struct tln_u64set_key (16)
export const U64SET_KEY_SIZE: i32 = 16;
export const U64SET_KEY_SET: i32 = 0;
export const U64SET_KEY_VALUE: i32 = 8;

// struct tln_sel_stats (32)
export const SEL_STATS_SIZE: i32 = 32;
export const SEL_STATS_POST: i32 = 0;
export const SEL_STATS_ENFORCE: i32 = 8;
export const SEL_STATS_MONITOR: i32 = 16;
export const SEL_STATS_NOPOST: i32 = 24;

// map names
export const TLN_MAP_POLICY = "tln_policy";
export const TLN_MAP_HOOKS = "tln_hooks";
export const TLN_MAP_SELS = "tln_sels";
export const TLN_MAP_STR = "tln_str";
export const TLN_MAP_ADDR4 = "tln_addr4";
export const TLN_MAP_ADDR6 = "tln_addr6";
export const TLN_MAP_U64SET = "tln_u64set";
export const TLN_MAP_STATS = "tln_stats";
export const TLN_MAP_POD_FILTER = "tln_pod_filter";

// kernel UAPI values the image uses (linux/bpf.h)
export const BPF_MAP_TYPE_HASH: u32 = 1;
export const BPF_MAP_TYPE_ARRAY: u32 = 2;
export const BPF_MAP_TYPE_LPM_TRIE: u32 = 11;
export const BPF_F_NO_PREALLOC: u32 = 1;

function kv(out: Array<string>, k: string, v: i64): void {
  out.push('"' + k + '":' + v.toString());
}

/** Every mirrored value as JSON: keys are the C spelling (constant name,
 *  "sizeof(struct x)", "offsetof(struct x, f)", map names as "TLN_MAP_X"). */
export function abiTableJson(): string {
  const o = new Array<string>();
  kv(o, "TLN_IMAGE_MAGIC_0", TLN_IMAGE_MAGIC_0);
  kv(o, "TLN_IMAGE_MAGIC_1", TLN_IMAGE_MAGIC_1);
  kv(o, "TLN_IMAGE_VERSION", TLN_IMAGE_VERSION);
  kv(o, "TLN_MAX_HOOKS", TLN_MAX_HOOKS);
  kv(o, "TLN_MAX_SELECTORS", TLN_MAX_SELECTORS);
  kv(o, "TLN_MAX_FILTERS", TLN_MAX_FILTERS);
  kv(o, "TLN_MAX_ARG_FILTERS", TLN_MAX_ARG_FILTERS);
  kv(o, "TLN_MAX_ARGS", TLN_MAX_ARGS);
  kv(o, "TLN_MAX_VALUES", TLN_MAX_VALUES);
  kv(o, "TLN_MAX_INLINE", TLN_MAX_INLINE);
  kv(o, "TLN_MAX_PIDS", TLN_MAX_PIDS);
  kv(o, "TLN_MAX_ACTIONS", TLN_MAX_ACTIONS);
  kv(o, "TLN_MAX_SETS", TLN_MAX_SETS);
  kv(o, "TLN_STR_DATA", TLN_STR_DATA);
  kv(o, "TLN_POD_FILTER_MAX", TLN_POD_FILTER_MAX);

  kv(o, "TLN_OP_GT", TLN_OP_GT);
  kv(o, "TLN_OP_LT", TLN_OP_LT);
  kv(o, "TLN_OP_EQUAL", TLN_OP_EQUAL);
  kv(o, "TLN_OP_NOT_EQUAL", TLN_OP_NOT_EQUAL);
  kv(o, "TLN_OP_IN", TLN_OP_IN);
  kv(o, "TLN_OP_NOT_IN", TLN_OP_NOT_IN);
  kv(o, "TLN_OP_PREFIX", TLN_OP_PREFIX);
  kv(o, "TLN_OP_POSTFIX", TLN_OP_POSTFIX);
  kv(o, "TLN_OP_IN_MAP", TLN_OP_IN_MAP);
  kv(o, "TLN_OP_NOT_IN_MAP", TLN_OP_NOT_IN_MAP);
  kv(o, "TLN_OP_MASK", TLN_OP_MASK);
  kv(o, "TLN_OP_SADDR", TLN_OP_SADDR);
  kv(o, "TLN_OP_DADDR", TLN_OP_DADDR);
  kv(o, "TLN_OP_SPORT", TLN_OP_SPORT);
  kv(o, "TLN_OP_DPORT", TLN_OP_DPORT);
  kv(o, "TLN_OP_PROTOCOL", TLN_OP_PROTOCOL);
  kv(o, "TLN_OP_NOT_SPORT", TLN_OP_NOT_SPORT);
  kv(o, "TLN_OP_NOT_DPORT", TLN_OP_NOT_DPORT);
  kv(o, "TLN_OP_SPORT_PRIV", TLN_OP_SPORT_PRIV);
  kv(o, "TLN_OP_NOT_SPORT_PRIV", TLN_OP_NOT_SPORT_PRIV);
  kv(o, "TLN_OP_DPORT_PRIV", TLN_OP_DPORT_PRIV);
  kv(o, "TLN_OP_NOT_DPORT_PRIV", TLN_OP_NOT_DPORT_PRIV);
  kv(o, "TLN_OP_NOT_SADDR", TLN_OP_NOT_SADDR);
  kv(o, "TLN_OP_NOT_DADDR", TLN_OP_NOT_DADDR);
  kv(o, "TLN_OP_NOT_PREFIX", TLN_OP_NOT_PREFIX);
  kv(o, "TLN_OP_NOT_POSTFIX", TLN_OP_NOT_POSTFIX);
  kv(o, "TLN_OP_FAMILY", TLN_OP_FAMILY);
  kv(o, "TLN_OP_STATE", TLN_OP_STATE);
  kv(o, "TLN_OP_IN_RANGE", TLN_OP_IN_RANGE);
  kv(o, "TLN_OP_NOT_IN_RANGE", TLN_OP_NOT_IN_RANGE);
  kv(o, "TLN_OP_CAPABILITIES_GAINED", TLN_OP_CAPABILITIES_GAINED);
  kv(o, "TLN_OP_SUBSTRING", TLN_OP_SUBSTRING);
  kv(o, "TLN_OP_SUBSTRING_IGN_CASE", TLN_OP_SUBSTRING_IGN_CASE);
  kv(o, "TLN_OP_CEL_EXPR", TLN_OP_CEL_EXPR);
  kv(o, "TLN_OP_FILE_TYPE", TLN_OP_FILE_TYPE);
  kv(o, "TLN_OP_NOT_FILE_TYPE", TLN_OP_NOT_FILE_TYPE);

  kv(o, "TLN_ARG_NONE", TLN_ARG_NONE);
  kv(o, "TLN_ARG_INT", TLN_ARG_INT);
  kv(o, "TLN_ARG_UINT32", TLN_ARG_UINT32);
  kv(o, "TLN_ARG_SINT64", TLN_ARG_SINT64);
  kv(o, "TLN_ARG_UINT64", TLN_ARG_UINT64);
  kv(o, "TLN_ARG_SINT8", TLN_ARG_SINT8);
  kv(o, "TLN_ARG_UINT8", TLN_ARG_UINT8);
  kv(o, "TLN_ARG_SINT16", TLN_ARG_SINT16);
  kv(o, "TLN_ARG_UINT16", TLN_ARG_UINT16);
  kv(o, "TLN_ARG_FILE", TLN_ARG_FILE);
  kv(o, "TLN_ARG_PATH", TLN_ARG_PATH);
  kv(o, "TLN_ARG_FD", TLN_ARG_FD);
  kv(o, "TLN_ARG_STRING", TLN_ARG_STRING);
  kv(o, "TLN_ARG_FILENAME", TLN_ARG_FILENAME);
  kv(o, "TLN_ARG_SOCK", TLN_ARG_SOCK);
  kv(o, "TLN_ARG_SOCKADDR", TLN_ARG_SOCKADDR);
  kv(o, "TLN_ARG_SYSCALL64", TLN_ARG_SYSCALL64);
  kv(o, "TLN_ARG_KERNEL_CAP_T", TLN_ARG_KERNEL_CAP_T);
  kv(o, "TLN_ARG_CAP_INHERITABLE", TLN_ARG_CAP_INHERITABLE);
  kv(o, "TLN_ARG_CAP_PERMITTED", TLN_ARG_CAP_PERMITTED);
  kv(o, "TLN_ARG_CAP_EFFECTIVE", TLN_ARG_CAP_EFFECTIVE);
  kv(o, "TLN_ARG_CAPABILITY", TLN_ARG_CAPABILITY);
  kv(o, "TLN_ARG_BPF_CMD", TLN_ARG_BPF_CMD);
  kv(o, "TLN_ARG_CHAR_BUF", TLN_ARG_CHAR_BUF);
  kv(o, "TLN_ARG_CHAR_IOVEC", TLN_ARG_CHAR_IOVEC);
  kv(o, "TLN_ARG_CONST_BUF", TLN_ARG_CONST_BUF);
  kv(o, "TLN_ARG_DATA_LOC", TLN_ARG_DATA_LOC);
  kv(o, "TLN_ARG_DENTRY", TLN_ARG_DENTRY);
  kv(o, "TLN_ARG_LINUX_BINPRM", TLN_ARG_LINUX_BINPRM);
  kv(o, "TLN_ARG_NET_DEVICE", TLN_ARG_NET_DEVICE);
  kv(o, "TLN_ARG_SOCKADDR_UN", TLN_ARG_SOCKADDR_UN);
  kv(o, "TLN_ARG_SKB", TLN_ARG_SKB);
  kv(o, "TLN_ARG_SOCKET", TLN_ARG_SOCKET);
  kv(o, "TLN_ARG_NOP", TLN_ARG_NOP);
  kv(o, "TLN_ARG_AUTO", TLN_ARG_AUTO);
  kv(o, "TLN_ARG_BPF_ATTR", TLN_ARG_BPF_ATTR);
  kv(o, "TLN_ARG_PERF_EVENT", TLN_ARG_PERF_EVENT);
  kv(o, "TLN_ARG_BPF_MAP", TLN_ARG_BPF_MAP);
  kv(o, "TLN_ARG_BPF_PROG", TLN_ARG_BPF_PROG);
  kv(o, "TLN_ARG_USER_NAMESPACE", TLN_ARG_USER_NAMESPACE);
  kv(o, "TLN_ARG_CRED", TLN_ARG_CRED);
  kv(o, "TLN_ARG_KIOCB", TLN_ARG_KIOCB);
  kv(o, "TLN_ARG_IOV_ITER", TLN_ARG_IOV_ITER);
  kv(o, "TLN_ARG_LOAD_INFO", TLN_ARG_LOAD_INFO);
  kv(o, "TLN_ARG_MODULE", TLN_ARG_MODULE);

  kv(o, "TLN_ACT_POST", TLN_ACT_POST);
  kv(o, "TLN_ACT_SIGKILL", TLN_ACT_SIGKILL);
  kv(o, "TLN_ACT_OVERRIDE", TLN_ACT_OVERRIDE);
  kv(o, "TLN_ACT_NOPOST", TLN_ACT_NOPOST);
  kv(o, "TLN_ACT_SIGNAL", TLN_ACT_SIGNAL);
  kv(o, "TLN_ACT_GETURL", TLN_ACT_GETURL);
  kv(o, "TLN_ACT_DNSLOOKUP", TLN_ACT_DNSLOOKUP);
  kv(o, "TLN_ACT_TRACKSOCK", TLN_ACT_TRACKSOCK);
  kv(o, "TLN_ACT_UNTRACKSOCK", TLN_ACT_UNTRACKSOCK);
  kv(o, "TLN_ACT_NOTIFY_ENFORCER", TLN_ACT_NOTIFY_ENFORCER);
  kv(o, "TLN_ACT_CLEANUP_ENFORCER_NOTIFICATION", TLN_ACT_CLEANUP_ENFORCER_NOTIFICATION);
  kv(o, "TLN_ACT_SET", TLN_ACT_SET);

  kv(o, "TLN_MODE_ENFORCE", TLN_MODE_ENFORCE);
  kv(o, "TLN_MODE_MONITOR", TLN_MODE_MONITOR);
  kv(o, "TLN_MODE_MONITOR_ONLY", TLN_MODE_MONITOR_ONLY);

  kv(o, "TLN_HOOK_KPROBE", TLN_HOOK_KPROBE);
  kv(o, "TLN_HOOK_TRACEPOINT", TLN_HOOK_TRACEPOINT);
  kv(o, "TLN_HOOK_UPROBE", TLN_HOOK_UPROBE);
  kv(o, "TLN_HOOK_FENTRY", TLN_HOOK_FENTRY);
  kv(o, "TLN_HOOK_LSM", TLN_HOOK_LSM);
  kv(o, "TLN_HOOK_USDT", TLN_HOOK_USDT);

  kv(o, "TLN_HOOK_UNKNOWN", TLN_HOOK_UNKNOWN);
  kv(o, "TLN_HOOK_SECURITY_FILE_PERMISSION", TLN_HOOK_SECURITY_FILE_PERMISSION);
  kv(o, "TLN_HOOK_SECURITY_MMAP_FILE", TLN_HOOK_SECURITY_MMAP_FILE);
  kv(o, "TLN_HOOK_SECURITY_PATH_TRUNCATE", TLN_HOOK_SECURITY_PATH_TRUNCATE);
  kv(o, "TLN_HOOK_TCP_CONNECT", TLN_HOOK_TCP_CONNECT);
  kv(o, "TLN_HOOK_GENERIC_TRACEPOINT", TLN_HOOK_GENERIC_TRACEPOINT);
  kv(o, "TLN_HOOK_GENERIC_UPROBE", TLN_HOOK_GENERIC_UPROBE);
  kv(o, "TLN_HOOK_GENERIC_KPROBE", TLN_HOOK_GENERIC_KPROBE);
  kv(o, "TLN_HOOK_GENERIC_FENTRY", TLN_HOOK_GENERIC_FENTRY);
  kv(o, "TLN_HOOK_GENERIC_LSM", TLN_HOOK_GENERIC_LSM);
  kv(o, "TLN_HOOK_GENERIC_USDT", TLN_HOOK_GENERIC_USDT);

  kv(o, "TLN_HOOK_F_RETURN", TLN_HOOK_F_RETURN);
  kv(o, "TLN_HOOK_F_SYSCALL", TLN_HOOK_F_SYSCALL);
  kv(o, "TLN_HOOK_F_RET_FILTERS", TLN_HOOK_F_RET_FILTERS);
  kv(o, "TLN_HOOK_F_RAW", TLN_HOOK_F_RAW);
  kv(o, "TLN_SLOT_RETURN", TLN_SLOT_RETURN);
  kv(o, "TLN_FILTER_F_NEGATE", TLN_FILTER_F_NEGATE);
  kv(o, "TLN_PID_F_NAMESPACE", TLN_PID_F_NAMESPACE);
  kv(o, "TLN_PID_F_FOLLOW_FORKS", TLN_PID_F_FOLLOW_FORKS);
  kv(o, "TLN_SEL_F_SPEC_ONLY", TLN_SEL_F_SPEC_ONLY);
  kv(o, "TLN_SCOPE_F_FILTERED", TLN_SCOPE_F_FILTERED);
  kv(o, "TLN_SCOPE_F_HOST", TLN_SCOPE_F_HOST);
  kv(o, "TLN_RL_THREAD", TLN_RL_THREAD);
  kv(o, "TLN_RL_PROCESS", TLN_RL_PROCESS);
  kv(o, "TLN_RL_GLOBAL", TLN_RL_GLOBAL);

  kv(o, "sizeof(struct tln_policy_conf)", CONF_SIZE);
  kv(o, "offsetof(struct tln_policy_conf, mode)", CONF_MODE);
  kv(o, "offsetof(struct tln_policy_conf, scope)", CONF_SCOPE);
  kv(o, "offsetof(struct tln_policy_conf, nhooks)", CONF_NHOOKS);
  kv(o, "offsetof(struct tln_policy_conf, nselectors)", CONF_NSELECTORS);

  kv(o, "sizeof(struct tln_hook_arg)", HOOK_ARG_SIZE);
  kv(o, "offsetof(struct tln_hook_arg, index)", HOOK_ARG_INDEX);
  kv(o, "offsetof(struct tln_hook_arg, type)", HOOK_ARG_TYPE);

  kv(o, "sizeof(struct tln_hook)", HOOK_SIZE);
  kv(o, "offsetof(struct tln_hook, hook_id)", HOOK_HOOK_ID);
  kv(o, "offsetof(struct tln_hook, kind)", HOOK_KIND);
  kv(o, "offsetof(struct tln_hook, flags)", HOOK_FLAGS);
  kv(o, "offsetof(struct tln_hook, nargs)", HOOK_NARGS);
  kv(o, "offsetof(struct tln_hook, nselectors)", HOOK_NSELECTORS);
  kv(o, "offsetof(struct tln_hook, first_sel)", HOOK_FIRST_SEL);
  kv(o, "offsetof(struct tln_hook, ret_type)", HOOK_RET_TYPE);
  kv(o, "offsetof(struct tln_hook, args)", HOOK_ARGS);

  kv(o, "sizeof(struct tln_filter)", FILTER_SIZE);
  kv(o, "offsetof(struct tln_filter, op)", FILTER_OP);
  kv(o, "offsetof(struct tln_filter, slot)", FILTER_SLOT);
  kv(o, "offsetof(struct tln_filter, type)", FILTER_TYPE);
  kv(o, "offsetof(struct tln_filter, nvals)", FILTER_NVALS);
  kv(o, "offsetof(struct tln_filter, set)", FILTER_SET);
  kv(o, "offsetof(struct tln_filter, flags)", FILTER_FLAGS);
  kv(o, "offsetof(struct tln_filter, vals)", FILTER_VALS);

  kv(o, "sizeof(struct tln_action)", ACTION_SIZE);
  kv(o, "offsetof(struct tln_action, id)", ACTION_ID);
  kv(o, "offsetof(struct tln_action, rl_scope)", ACTION_RL_SCOPE);
  kv(o, "offsetof(struct tln_action, arg)", ACTION_ARG);
  kv(o, "offsetof(struct tln_action, rate_limit_ns)", ACTION_RATE_LIMIT_NS);

  kv(o, "sizeof(struct tln_selector)", SEL_SIZE);
  kv(o, "offsetof(struct tln_selector, nfilters)", SEL_NFILTERS);
  kv(o, "offsetof(struct tln_selector, nactions)", SEL_NACTIONS);
  kv(o, "offsetof(struct tln_selector, pid_op)", SEL_PID_OP);
  kv(o, "offsetof(struct tln_selector, npids)", SEL_NPIDS);
  kv(o, "offsetof(struct tln_selector, pid_flags)", SEL_PID_FLAGS);
  kv(o, "offsetof(struct tln_selector, bin_op)", SEL_BIN_OP);
  kv(o, "offsetof(struct tln_selector, bin_set)", SEL_BIN_SET);
  kv(o, "offsetof(struct tln_selector, flags)", SEL_FLAGS);
  kv(o, "offsetof(struct tln_selector, pids)", SEL_PIDS);
  kv(o, "offsetof(struct tln_selector, filters)", SEL_FILTERS);
  kv(o, "offsetof(struct tln_selector, actions)", SEL_ACTIONS);

  kv(o, "sizeof(struct tln_str_key)", STR_KEY_SIZE);
  kv(o, "offsetof(struct tln_str_key, prefixlen)", STR_KEY_PREFIXLEN);
  kv(o, "offsetof(struct tln_str_key, set)", STR_KEY_SET);
  kv(o, "offsetof(struct tln_str_key, data)", STR_KEY_DATA);

  kv(o, "sizeof(struct tln_addr4_key)", ADDR4_KEY_SIZE);
  kv(o, "offsetof(struct tln_addr4_key, prefixlen)", ADDR4_KEY_PREFIXLEN);
  kv(o, "offsetof(struct tln_addr4_key, set)", ADDR4_KEY_SET);
  kv(o, "offsetof(struct tln_addr4_key, addr)", ADDR4_KEY_ADDR);

  kv(o, "sizeof(struct tln_addr6_key)", ADDR6_KEY_SIZE);
  kv(o, "offsetof(struct tln_addr6_key, prefixlen)", ADDR6_KEY_PREFIXLEN);
  kv(o, "offsetof(struct tln_addr6_key, set)", ADDR6_KEY_SET);
  kv(o, "offsetof(struct tln_addr6_key, addr)", ADDR6_KEY_ADDR);

  kv(o, "sizeof(struct tln_u64set_key)", U64SET_KEY_SIZE);
  kv(o, "offsetof(struct tln_u64set_key, set)", U64SET_KEY_SET);
  kv(o, "offsetof(struct tln_u64set_key, value)", U64SET_KEY_VALUE);

  kv(o, "sizeof(struct tln_sel_stats)", SEL_STATS_SIZE);
  kv(o, "offsetof(struct tln_sel_stats, post)", SEL_STATS_POST);
  kv(o, "offsetof(struct tln_sel_stats, enforce)", SEL_STATS_ENFORCE);
  kv(o, "offsetof(struct tln_sel_stats, monitor)", SEL_STATS_MONITOR);
  kv(o, "offsetof(struct tln_sel_stats, nopost)", SEL_STATS_NOPOST);

  // map names are compared as strings by the test (lengths here, text in mapNamesJson)
  return "{" + o.join(",") + "}";
}

export function mapNamesJson(): string {
  return '{"TLN_MAP_POLICY":"' + TLN_MAP_POLICY + '","TLN_MAP_HOOKS":"' + TLN_MAP_HOOKS +
    '","TLN_MAP_SELS":"' + TLN_MAP_SELS + '","TLN_MAP_STR":"' + TLN_MAP_STR +
    '","TLN_MAP_ADDR4":"' + TLN_MAP_ADDR4 + '","TLN_MAP_ADDR6":"' + TLN_MAP_ADDR6 +
    '","TLN_MAP_U64SET":"' + TLN_MAP_U64SET + '","TLN_MAP_STATS":"' + TLN_MAP_STATS +
    '","TLN_MAP_POD_FILTER":"' + TLN_MAP_POD_FILTER + '"}';
}
