// The core's view of bpf/include/tln_abi.h, tln_events.h and tln_evrec.h.
// Every constant, size and offset comes from ./abi/generated (written by
// scripts/gen-abi.mjs from the headers; test/abi.test.ts checks it against the
// C compiler). The short names below are aliases the rest of the core uses;
// none of them holds a value of its own.
import * as G from "./abi/generated";

export * from "./abi/generated";
export { abiTableJson } from "./abi/generated";

// struct tln_policy_conf
export const CONF_SIZE = G.TLN_POLICY_CONF_SIZEOF;
export const CONF_MODE = G.TLN_POLICY_CONF_OFF_MODE;
export const CONF_SCOPE = G.TLN_POLICY_CONF_OFF_SCOPE;
export const CONF_NHOOKS = G.TLN_POLICY_CONF_OFF_NHOOKS;
export const CONF_NSELECTORS = G.TLN_POLICY_CONF_OFF_NSELECTORS;

// struct tln_hook_arg
export const HOOK_ARG_SIZE = G.TLN_HOOK_ARG_SIZEOF;
export const HOOK_ARG_INDEX = G.TLN_HOOK_ARG_OFF_INDEX;
export const HOOK_ARG_TYPE = G.TLN_HOOK_ARG_OFF_TYPE;

// struct tln_hook
export const HOOK_SIZE = G.TLN_HOOK_SIZEOF;
export const HOOK_HOOK_ID = G.TLN_HOOK_OFF_HOOK_ID;
export const HOOK_KIND = G.TLN_HOOK_OFF_KIND;
export const HOOK_FLAGS = G.TLN_HOOK_OFF_FLAGS;
export const HOOK_NARGS = G.TLN_HOOK_OFF_NARGS;
export const HOOK_NSELECTORS = G.TLN_HOOK_OFF_NSELECTORS;
export const HOOK_FIRST_SEL = G.TLN_HOOK_OFF_FIRST_SEL;
export const HOOK_RET_TYPE = G.TLN_HOOK_OFF_RET_TYPE;
export const HOOK_ARGS = G.TLN_HOOK_OFF_ARGS;

// struct tln_filter
export const FILTER_SIZE = G.TLN_FILTER_SIZEOF;
export const FILTER_OP = G.TLN_FILTER_OFF_OP;
export const FILTER_SLOT = G.TLN_FILTER_OFF_SLOT;
export const FILTER_TYPE = G.TLN_FILTER_OFF_TYPE;
export const FILTER_NVALS = G.TLN_FILTER_OFF_NVALS;
export const FILTER_SET = G.TLN_FILTER_OFF_SET;
export const FILTER_FLAGS = G.TLN_FILTER_OFF_FLAGS;
export const FILTER_VALS = G.TLN_FILTER_OFF_VALS;

// struct tln_action
export const ACTION_SIZE = G.TLN_ACTION_SIZEOF;
export const ACTION_ID = G.TLN_ACTION_OFF_ID;
export const ACTION_RL_SCOPE = G.TLN_ACTION_OFF_RL_SCOPE;
export const ACTION_FLAGS = G.TLN_ACTION_OFF_FLAGS;
export const ACTION_ARG = G.TLN_ACTION_OFF_ARG;
export const ACTION_RATE_LIMIT_NS = G.TLN_ACTION_OFF_RATE_LIMIT_NS;

// struct tln_selector
export const SEL_SIZE = G.TLN_SELECTOR_SIZEOF;
export const SEL_NFILTERS = G.TLN_SELECTOR_OFF_NFILTERS;
export const SEL_NACTIONS = G.TLN_SELECTOR_OFF_NACTIONS;
export const SEL_PID_OP = G.TLN_SELECTOR_OFF_PID_OP;
export const SEL_NPIDS = G.TLN_SELECTOR_OFF_NPIDS;
export const SEL_PID_FLAGS = G.TLN_SELECTOR_OFF_PID_FLAGS;
export const SEL_BIN_OP = G.TLN_SELECTOR_OFF_BIN_OP;
export const SEL_BIN_SET = G.TLN_SELECTOR_OFF_BIN_SET;
export const SEL_FLAGS = G.TLN_SELECTOR_OFF_FLAGS;
export const SEL_PIDS = G.TLN_SELECTOR_OFF_PIDS;
export const SEL_FILTERS = G.TLN_SELECTOR_OFF_FILTERS;
export const SEL_ACTIONS = G.TLN_SELECTOR_OFF_ACTIONS;

// struct tln_str_key
export const STR_KEY_SIZE = G.TLN_STR_KEY_SIZEOF;
export const STR_KEY_PREFIXLEN = G.TLN_STR_KEY_OFF_PREFIXLEN;
export const STR_KEY_SET = G.TLN_STR_KEY_OFF_SET;
export const STR_KEY_DATA = G.TLN_STR_KEY_OFF_DATA;

// struct tln_addr4_key
export const ADDR4_KEY_SIZE = G.TLN_ADDR4_KEY_SIZEOF;
export const ADDR4_KEY_PREFIXLEN = G.TLN_ADDR4_KEY_OFF_PREFIXLEN;
export const ADDR4_KEY_SET = G.TLN_ADDR4_KEY_OFF_SET;
export const ADDR4_KEY_ADDR = G.TLN_ADDR4_KEY_OFF_ADDR;

// struct tln_addr6_key
export const ADDR6_KEY_SIZE = G.TLN_ADDR6_KEY_SIZEOF;
export const ADDR6_KEY_PREFIXLEN = G.TLN_ADDR6_KEY_OFF_PREFIXLEN;
export const ADDR6_KEY_SET = G.TLN_ADDR6_KEY_OFF_SET;
export const ADDR6_KEY_ADDR = G.TLN_ADDR6_KEY_OFF_ADDR;

// struct tln_u64set_key
export const U64SET_KEY_SIZE = G.TLN_U64SET_KEY_SIZEOF;
export const U64SET_KEY_SET = G.TLN_U64SET_KEY_OFF_SET;
export const U64SET_KEY_VALUE = G.TLN_U64SET_KEY_OFF_VALUE;

// struct tln_sel_stats
export const SEL_STATS_SIZE = G.TLN_SEL_STATS_SIZEOF;
export const SEL_STATS_POST = G.TLN_SEL_STATS_OFF_POST;
export const SEL_STATS_ENFORCE = G.TLN_SEL_STATS_OFF_ENFORCE;
export const SEL_STATS_MONITOR = G.TLN_SEL_STATS_OFF_MONITOR;
export const SEL_STATS_NOPOST = G.TLN_SEL_STATS_OFF_NOPOST;

// kernel UAPI values the image uses (linux/bpf.h, not a talon header)
export const BPF_MAP_TYPE_HASH: u32 = 1;
export const BPF_MAP_TYPE_ARRAY: u32 = 2;
export const BPF_MAP_TYPE_LPM_TRIE: u32 = 11;
export const BPF_F_NO_PREALLOC: u32 = 1;

/** the image's map names (TLN_MAP_*) as JSON */
export function mapNamesJson(): string {
  const names: StaticArray<string> = [
    "TLN_MAP_POLICY", G.TLN_MAP_POLICY, "TLN_MAP_HOOKS", G.TLN_MAP_HOOKS, "TLN_MAP_SELS", G.TLN_MAP_SELS,
    "TLN_MAP_STR", G.TLN_MAP_STR, "TLN_MAP_ADDR4", G.TLN_MAP_ADDR4, "TLN_MAP_ADDR6", G.TLN_MAP_ADDR6,
    "TLN_MAP_U64SET", G.TLN_MAP_U64SET, "TLN_MAP_STATS", G.TLN_MAP_STATS, "TLN_MAP_POD_FILTER", G.TLN_MAP_POD_FILTER,
  ];
  const o = new Array<string>();
  for (let i = 0; i < names.length; i += 2) o.push('"' + names[i] + '":"' + names[i + 1] + '"');
  return "{" + o.join(",") + "}";
}
