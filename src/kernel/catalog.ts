// The hook catalog: for each Tetragon hook talon knows (enum tln_hook_id in
// bpf/include/tln_abi.h), the kernel mechanisms that can serve it, best first.
// The loader takes the first implementation whose required features the
// running kernel has and that is built; which one served a hook is visible as
// the policy's sensor labels. New mechanisms (BPF LSM, fentry, kprobes) are
// added as entries here plus a BPF object; nothing else changes.
import * as G from '../abi/generated.js';
import type { HookSpec } from '../core/types.js';
import { has, type FeatureName, type Features } from './features.js';

/** enum tln_hook_id (bpf/include/tln_abi.h, through the generated mirror) */
export const HOOK_ID = {
  SECURITY_FILE_PERMISSION: G.TLN_HOOK_SECURITY_FILE_PERMISSION,
  SECURITY_MMAP_FILE: G.TLN_HOOK_SECURITY_MMAP_FILE,
  SECURITY_PATH_TRUNCATE: G.TLN_HOOK_SECURITY_PATH_TRUNCATE,
  TCP_CONNECT: G.TLN_HOOK_TCP_CONNECT,
  GENERIC_TRACEPOINT: G.TLN_HOOK_GENERIC_TRACEPOINT,
  GENERIC_UPROBE: G.TLN_HOOK_GENERIC_UPROBE,
  GENERIC_USDT: G.TLN_HOOK_GENERIC_USDT,
  GENERIC_KPROBE: G.TLN_HOOK_GENERIC_KPROBE,
  GENERIC_FENTRY: G.TLN_HOOK_GENERIC_FENTRY,
  GENERIC_LSM: G.TLN_HOOK_GENERIC_LSM,
} as const;

export type AttachSpec =
  | { kind: 'tracepoint'; category: string; name: string; optional?: boolean } // optional: skipped where the kernel lacks it
  | { kind: 'cgroup' } // the cgroup v2 root, as a bpf_link
  | { kind: 'hook-tracepoint' } // the tracepoint the hook names (spec.tracepoints: subsystem/event)
  | { kind: 'hook-uprobe' } // the function the hook names (spec.uprobes: path:symbol), every process
  | { kind: 'hook-syscall' } // a kprobe on a syscall (call sys_X, syscall: true): tracepoint syscalls/sys_enter_X
  | { kind: 'hook-syscall-exit' } // its return (return: true): tracepoint syscalls/sys_exit_X
  | { kind: 'hook-uretprobe' } // a uprobe hook's return (return: true): a uretprobe on path:symbol
  | { kind: 'hook-usdt' } // every site of the USDT probe the hook names (its ELF notes), with its semaphore
  | { kind: 'hook-kprobe' } // a kprobe on the function the hook names
  | { kind: 'hook-kretprobe' } // its return (return: true): a kretprobe on the function
  | { kind: 'btf-target' } // a BTF program attached to the target the loader set (the hook's function or LSM hook)
  | { kind: 'auto' }; // the program's section says where (tp_btf/..., lsm/..., fentry/...)

export interface ProgramSpec {
  name: string; // tln_* program in the object
  attach: AttachSpec[];
  /** loaded only for hooks with return: true: the program at the function's exit that reads the return value */
  atReturn?: boolean;
}

export interface HookImpl {
  /** sensor label shown for the policy, e.g. tln_tp_file */
  sensor: string;
  mechanism: 'lsm' | 'fentry' | 'kprobe' | 'tracepoint' | 'cgroup' | 'uprobe';
  requires: FeatureName[];
  /** BPF object in bpf/.output; null: designed, not built yet */
  object: string | null;
  /** `const volatile` the loader sets to the hook's slot (generic hooks: one instance per hook) */
  slotVar: string;
  /** enum tln_dhook: the shared program that serves this hook for every policy (tln_units); none for generic hooks */
  dhook?: number;
  /** generic hooks: the `const volatile struct tln_gen_conf` the loader fills per hook (tracefs.ts) */
  confVar?: string;
  programs: ProgramSpec[];
  /** enforcement actions it can carry out (Post/NoPost always can) */
  actions: string[];
  /** how it differs from Tetragon's kprobe on the same hook */
  notes: string;
  /** serves only hooks of this shape ('syscall': a kprobe on a syscall entry point; 'function': any other) */
  only?: 'syscall' | 'function' | 'raw' | 'tracefs';
  /** serves only kprobes on these functions (a mapping of them onto other hooks) */
  calls?: string[];
  /** the mapped hook gives the function's return value with its arguments (capability/cap_capable's ret): return: true is served without an exit program */
  retHere?: boolean;
  /** a BTF program (fentry, fmod_ret, lsm) whose attach target is the hook's name, set at load */
  btfTarget?: boolean;
  /** chosen only for hooks whose selectors Override (where another implementation serves the rest) */
  overrideOnly?: boolean;
}

export interface CatalogEntry {
  hookId: number;
  /** Tetragon kprobe `call`, or for generic hooks the kind of hook ("tracepoint", "uprobe") */
  call: string;
  args: string;
  impls: HookImpl[];
}

const sysTp = (names: string[]): AttachSpec[] => names.map((n) => ({ kind: 'tracepoint', category: 'syscalls', name: n }) as AttachSpec);
/** rename syscalls (renameat2 only on some architectures) */
const RENAMES = ['rename', 'renameat', 'renameat2'];
const renameTp = (phase: 'enter' | 'exit'): AttachSpec[] =>
  RENAMES.map((n) => ({ kind: 'tracepoint', category: 'syscalls', name: `sys_${phase}_${n}`, optional: true }) as AttachSpec);

/** enum tln_dhook (bpf/include/tln_events.h) */
export const DHOOK = {
  FILE_PERM: G.TLN_DH_FILE_PERM,
  MMAP_FILE: G.TLN_DH_MMAP_FILE,
  PATH_TRUNCATE: G.TLN_DH_PATH_TRUNCATE,
  TCP_CONNECT: G.TLN_DH_TCP_CONNECT,
} as const;

/** the exits of the syscalls that open a file and return its fd (those a kernel lacks are skipped at load) */
export const OPEN_EXITS = ['sys_exit_open', 'sys_exit_openat', 'sys_exit_openat2', 'sys_exit_creat'];

const READS = ['sys_enter_read', 'sys_enter_pread64', 'sys_enter_readv', 'sys_enter_preadv', 'sys_enter_preadv2'];
const WRITES = ['sys_enter_write', 'sys_enter_pwrite64', 'sys_enter_writev', 'sys_enter_pwritev', 'sys_enter_pwritev2'];

/** planned implementations for kernels with BPF LSM / fentry / kprobes (no object yet) */
const planned = (sensor: string, mechanism: HookImpl['mechanism'], requires: FeatureName[], section: string): HookImpl => ({
  sensor,
  mechanism,
  requires,
  object: null,
  slotVar: '',
  programs: [{ name: sensor, attach: [{ kind: 'auto' }] }],
  actions: mechanism === 'lsm' ? ['Sigkill', 'Signal', 'Override'] : ['Sigkill', 'Signal'],
  notes: `${section}: not built yet`,
});

/** BPF LSM programs (bpf/tln_lsm.bpf.c): the kernel function's own arguments; the verdict is the hook's return value */
const LSM_FILE_REQUIRES: FeatureName[] = ['lsm', 'btf', 'sendSignal', 'bpfLoop', 'snprintf'];
const lsm = (sensor: string, requires: FeatureName[], slotVar: string, dhook: number, programs: ProgramSpec[], notes: string): HookImpl => ({
  sensor,
  mechanism: 'lsm',
  requires,
  object: 'tln_lsm.bpf.o',
  slotVar,
  dhook,
  programs,
  actions: ['Sigkill', 'Signal', 'Override'],
  notes,
});

/** fmod_ret on the function: the only way to Override a function's return on these kernels (no bpf_override_return) */
const fmodRet: HookImpl = {
  sensor: 'generic_fmod_ret',
  mechanism: 'fentry',
  requires: ['fentry', 'btf', 'bpfLoop', 'sendSignal'],
  object: 'tln_generic.bpf.o',
  slotVar: 'tln_gen_slot',
  confVar: 'tln_gen',
  programs: [{ name: 'tln_fmod_ret', attach: [{ kind: 'btf-target' }] }],
  actions: ['Sigkill', 'Signal', 'Override'],
  only: 'function',
  btfTarget: true,
  overrideOnly: true,
  notes:
    'an fmod_ret program on the function, chosen when a selector Overrides: a hit with Override makes the function return the error without running (the kernel allows this on security_* hooks and functions open to error injection: the load fails, with the reason, elsewhere); other actions as for kprobes.',
};

export const CATALOG: CatalogEntry[] = [
  {
    hookId: HOOK_ID.SECURITY_FILE_PERMISSION,
    call: 'security_file_permission',
    args: '(file, int mask)',
    impls: [
      lsm(
        'tln_lsm_file',
        LSM_FILE_REQUIRES,
        'tln_slot_file_perm',
        DHOOK.FILE_PERM,
        [
          { name: 'tln_lsm_file_perm', attach: [{ kind: 'auto' }] },
          // renames void the per-file verdict cache: before the move and after it
          { name: 'tln_lsm_rename', attach: [{ kind: 'auto' }] },
          { name: 'tln_rename_exit', attach: renameTp('exit') },
        ],
        'lsm/file_permission: every permission check of read/write-like calls (sendfile, splice, io_uring and readdir included); path walked in the kernel from the file. Override returns its error; Sigkill also refuses the access (EPERM), so no data is read or written.',
      ),
      planned('tln_fentry_file', 'fentry', ['fentry', 'btf'], 'fentry/security_file_permission'),
      planned('tln_kprobe_file', 'kprobe', ['kprobes'], 'kprobe/security_file_permission'),
      {
        sensor: 'tln_tp_file',
        mechanism: 'tracepoint',
        requires: ['tracepoint', 'syscallTracepoints', 'sendSignal', 'bpfLoop', 'snprintf'],
        object: 'tln_file.bpf.o',
        slotVar: 'tln_slot_file_perm',
        dhook: DHOOK.FILE_PERM,
        programs: [
          { name: 'tln_file_read', attach: sysTp(READS) },
          { name: 'tln_file_write', attach: sysTp(WRITES) },
          { name: 'tln_file_copy', attach: sysTp(['sys_enter_copy_file_range', 'sys_enter_splice']) },
          { name: 'tln_file_sendfile', attach: sysTp(['sys_enter_sendfile64']) },
          // renames void the per-file verdict cache: at the syscall's entry and exit
          { name: 'tln_file_rename', attach: [...renameTp('enter'), ...renameTp('exit')] },
        ],
        actions: ['Sigkill', 'Signal'],
        notes:
          'read/pread64/readv/preadv/preadv2 (MAY_READ 4) and write/pwrite64/writev/pwritev/pwritev2 (MAY_WRITE 2) at syscall entry, plus copy_file_range/splice/sendfile64 (source as a read, destination as a write); path resolved in the kernel from the fd. Not seen: io_uring, kernel-internal reads.',
      },
    ],
  },
  {
    hookId: HOOK_ID.SECURITY_MMAP_FILE,
    call: 'security_mmap_file',
    args: '(file, u32 prot, u32 flags)',
    impls: [
      lsm(
        'tln_lsm_file',
        LSM_FILE_REQUIRES,
        'tln_slot_mmap_file',
        DHOOK.MMAP_FILE,
        [{ name: 'tln_lsm_mmap', attach: [{ kind: 'auto' }] }],
        'lsm/mmap_file: file mappings from mmap(2) and execve (prot is the requested reqprot); anonymous maps have no file and are not seen; mprotect is not seen.',
      ),
      planned('tln_fentry_mmap', 'fentry', ['fentry', 'btf'], 'fentry/security_mmap_file'),
      planned('tln_kprobe_mmap', 'kprobe', ['kprobes'], 'kprobe/security_mmap_file'),
      {
        sensor: 'tln_tp_file',
        mechanism: 'tracepoint',
        requires: ['tracepoint', 'syscallTracepoints', 'sendSignal', 'bpfLoop', 'snprintf'],
        object: 'tln_file.bpf.o',
        slotVar: 'tln_slot_mmap_file',
        dhook: DHOOK.MMAP_FILE,
        programs: [{ name: 'tln_file_mmap', attach: sysTp(['sys_enter_mmap']) }],
        actions: ['Sigkill', 'Signal'],
        notes: 'mmap(2) of a file (fd -> path, prot, flags); anonymous maps are not seen (no file); mprotect and execve mappings are not seen.',
      },
    ],
  },
  {
    hookId: HOOK_ID.SECURITY_PATH_TRUNCATE,
    call: 'security_path_truncate',
    args: '(path)',
    impls: [
      lsm(
        'tln_lsm_file',
        LSM_FILE_REQUIRES,
        'tln_slot_path_truncate',
        DHOOK.PATH_TRUNCATE,
        [{ name: 'tln_lsm_truncate', attach: [{ kind: 'auto' }] }],
        'lsm/path_truncate: the path the kernel resolved (no TOCTOU); truncate(2), and before 6.2 also ftruncate and open(O_TRUNC) (later kernels use file_truncate for those, as the kprobe would see).',
      ),
      planned('tln_fentry_truncate', 'fentry', ['fentry', 'btf'], 'fentry/security_path_truncate'),
      planned('tln_kprobe_truncate', 'kprobe', ['kprobes'], 'kprobe/security_path_truncate'),
      {
        sensor: 'tln_tp_file',
        mechanism: 'tracepoint',
        requires: ['tracepoint', 'syscallTracepoints', 'sendSignal', 'bpfLoop', 'snprintf'],
        object: 'tln_file.bpf.o',
        slotVar: 'tln_slot_path_truncate',
        dhook: DHOOK.PATH_TRUNCATE,
        programs: [{ name: 'tln_file_truncate', attach: sysTp(['sys_enter_truncate']) }],
        actions: ['Sigkill', 'Signal'],
        notes:
          'truncate(2) pathname from user memory, made absolute against the cwd but not normalised (.., symlinks); TOCTOU: the kernel may resolve a different file. open(O_TRUNC) is not seen.',
      },
    ],
  },
  {
    hookId: HOOK_ID.TCP_CONNECT,
    call: 'tcp_connect',
    args: '(sock)',
    impls: [
      lsm(
        'tln_lsm_sock',
        ['lsm', 'btf', 'sendSignal'],
        'tln_slot_tcp_connect',
        DHOOK.TCP_CONNECT,
        [{ name: 'tln_lsm_connect', attach: [{ kind: 'auto' }] }],
        'lsm/socket_connect: TCP stream sockets, IPv4/IPv6 (v4-mapped judged as IPv4), before any packet; the source address/port are those of a bound socket only; state reads TCP_SYN_SENT. Override returns its error, Sigkill refuses with EPERM and kills.',
      ),
      planned('tln_kprobe_connect', 'kprobe', ['kprobes'], 'kprobe/tcp_connect'),
      {
        sensor: 'tln_cgroup_sock',
        mechanism: 'cgroup',
        requires: ['cgroupSockAddr', 'cgroup2', 'tracepoint', 'syscallTracepoints', 'sendSignal'],
        object: 'tln_sock.bpf.o',
        slotVar: 'tln_slot_tcp_connect',
        dhook: DHOOK.TCP_CONNECT,
        programs: [
          { name: 'tln_connect4', attach: [{ kind: 'cgroup' }] },
          { name: 'tln_connect6', attach: [{ kind: 'cgroup' }] },
          // the source port, chosen after connect4/6: BPF_SOCK_OPS_TCP_CONNECT_CB runs inside tcp_connect()
          { name: 'tln_sockops', attach: [{ kind: 'cgroup' }] },
          { name: 'tln_connect_exit', attach: sysTp(['sys_exit_connect']) },
        ],
        actions: ['Sigkill', 'Signal', 'Override'],
        notes:
          'cgroup/connect4+connect6 on the cgroup v2 root, TCP only, before any packet: a refused connect fails with EPERM (or the Override error via bpf_set_retval); Sigkill/Signal are delivered at sys_exit_connect. Selectors see the source port/address of a bound socket only (connect4/6 run before the kernel picks them); the event shows the chosen ones and the socket cookie: cgroup/sock_ops TCP_CONNECT_CB (inside tcp_connect()) sends them and the agent completes the event (a refused connect, or one that fails before its SYN, keeps 0); state reads TCP_SYN_SENT.',
      },
    ],
  },
  // spec.tracepoints and spec.uprobes: one program instance per hook, configured at load
  {
    hookId: HOOK_ID.GENERIC_TRACEPOINT,
    call: 'tracepoint',
    args: ' <subsystem>/<event>',
    impls: [
      {
        sensor: 'generic_tracepoint',
        mechanism: 'tracepoint',
        requires: ['tracepoint'],
        object: 'tln_generic.bpf.o',
        slotVar: 'tln_gen_slot',
        confVar: 'tln_gen',
        programs: [{ name: 'tln_tp_generic', attach: [{ kind: 'hook-tracepoint' }] }],
        actions: ['Sigkill', 'Signal'],
        only: 'tracefs',
        notes:
          "Tetragon's generic_tracepoint: the tracepoint the hook names; each argument read at the offset of its field in the tracepoint's tracefs format (common_* fields counted), found at load; char pointers of syscalls/* tracepoints read from user memory, of other subsystems from kernel memory; __data_loc char[] and char arrays as strings. Sigkill/Signal are sent before the traced code goes on.",
      },
      {
        sensor: 'generic_rawtp',
        mechanism: 'tracepoint',
        requires: ['tpBtf', 'btf'],
        object: 'tln_generic.bpf.o',
        slotVar: 'tln_gen_slot',
        confVar: 'tln_gen',
        programs: [{ name: 'tln_tp_raw', attach: [{ kind: 'btf-target' }] }],
        actions: ['Sigkill', 'Signal'],
        btfTarget: true,
        only: 'raw',
        notes:
          "raw: true: a BTF tracepoint (tp_btf) on the event (BTF type btf_trace_<event>), so index is the position in its TP_PROTO, not a tracefs field: integers are the argument's value, string a kernel char *, linux_binprm the full path of the file being executed (bprm->file); resolve walks a member path from a pointer argument in the kernel's BTF (docs/kernel.md). Other types are refused at load with the reason.",
      },
    ],
  },
  {
    hookId: HOOK_ID.GENERIC_UPROBE,
    call: 'uprobe',
    args: ' <path>:<symbol>',
    impls: [
      {
        sensor: 'generic_uprobe',
        mechanism: 'uprobe',
        requires: ['uprobes'],
        object: 'tln_generic.bpf.o',
        slotVar: 'tln_gen_slot',
        confVar: 'tln_gen',
        programs: [
          { name: 'tln_uprobe', attach: [{ kind: 'hook-uprobe' }] },
          { name: 'tln_uretprobe', attach: [{ kind: 'hook-uretprobe' }], atReturn: true },
        ],
        actions: ['Sigkill', 'Signal'],
        notes:
          "Tetragon's generic_uprobe: attached by libbpf to the symbol of the ELF file (every process that maps it); arguments 0-5 from the registers, strings read from user memory. Sigkill/Signal are sent on entry to the function. With return: true a uretprobe on the same symbol adds the return value (an integer, or a string read from user memory for returnArg type string) to the entry's record, then judges matchArgs + matchReturnArgs and runs matchActions + matchReturnActions at the return, as one event.",
      },
    ],
  },
  {
    hookId: HOOK_ID.GENERIC_USDT,
    call: 'usdt',
    args: ' <path>:<provider>:<name>',
    impls: [
      {
        sensor: 'generic_usdt',
        mechanism: 'uprobe',
        requires: ['uprobes'],
        object: 'tln_generic.bpf.o',
        slotVar: 'tln_gen_slot',
        confVar: 'tln_gen',
        programs: [{ name: 'tln_uprobe', attach: [{ kind: 'hook-usdt' }] }],
        actions: ['Sigkill', 'Signal'],
        notes:
          "Tetragon's generic_usdt: the probe's sites and semaphore from the binary's .note.stapsdt notes, read at load; a uprobe at each site (the semaphore counted up while attached, as libbpf does); each argument read as its note's spec says (register, constant, memory at register + offset, base + index * scale; x86-64), strings from user memory. Sigkill/Signal are sent at the probe. Set (writing an argument) is not implemented.",
      },
    ],
  },
  // kprobes[] on any other function: on a syscall (call sys_X / __x64_sys_X with syscall: true)
  // its entry tracepoint; anything else needs kprobes or fentry
  {
    hookId: HOOK_ID.GENERIC_KPROBE,
    call: 'kprobe',
    args: ' <function>',
    impls: [
      {
        sensor: 'generic_kprobe_syscall_tp',
        mechanism: 'tracepoint',
        requires: ['tracepoint', 'syscallTracepoints'],
        object: 'tln_generic.bpf.o',
        slotVar: 'tln_gen_slot',
        confVar: 'tln_gen',
        programs: [
          { name: 'tln_tp_generic', attach: [{ kind: 'hook-syscall' }] },
          { name: 'tln_tp_generic_exit', attach: [{ kind: 'hook-syscall-exit' }], atReturn: true },
        ],
        actions: ['Sigkill', 'Signal'],
        only: 'syscall',
        notes:
          "a kprobe on syscall X (Tetragon's __x64_sys_X with syscall: true) served by tracepoint syscalls/sys_enter_X on every kernel (a kprobe on the syscall wrapper would need the inner registers): argument i is the tracepoint's field after __syscall_nr, read at syscall entry as the kprobe would; integers, user strings and fds (as the file's path); no Override. Sigkill/Signal are sent before the syscall runs. With return: true the entry keeps the record per thread and syscalls/sys_exit_X adds the return value (its ret field, typed as returnArg), then judges the selectors (matchArgs and matchReturnArgs together) and runs matchActions and matchReturnActions, and posts one event, as Tetragon's return probe does; what differs: matchActions' Sigkill/Signal of such a hook are sent at the syscall's exit (the syscall has run), where Tetragon's kprobe sends them at entry.",
      },
      fmodRet,
      {
        sensor: 'generic_kprobe',
        mechanism: 'kprobe',
        requires: ['kprobes', 'bpfLoop', 'sendSignal'],
        object: 'tln_generic.bpf.o',
        slotVar: 'tln_gen_slot',
        confVar: 'tln_gen',
        programs: [
          { name: 'tln_kprobe', attach: [{ kind: 'hook-kprobe' }] },
          { name: 'tln_kretprobe', attach: [{ kind: 'hook-kretprobe' }], atReturn: true },
        ],
        actions: ['Sigkill', 'Signal'],
        only: 'function',
        notes:
          "Tetragon's generic_kprobe: a kprobe on the named kernel function (attach fails, with the reason, when the kernel has no such function or it cannot be probed); arguments 0-5 from the registers: integers, kernel strings, struct file / struct path / fd as the file's full path; resolve (and btfType) walk a member path in the kernel's BTF. Sigkill/Signal are sent on entry to the function; no Override here (fmod_ret serves Override where fentry exists). With return: true a kretprobe on the function adds the return value (returnArg: an integer, or a kernel string) to the entry's record, kept per thread, then judges matchArgs + matchReturnArgs, runs matchActions + matchReturnActions and posts one event, as Tetragon's return probe does; what differs: such a hook's Sigkill/Signal are sent at the return (the function has run), and a nested call of the same function in the same thread replaces the outer call's record.",
      },
      {
        sensor: 'generic_kprobe_sockstate_tp',
        mechanism: 'tracepoint',
        requires: ['tpBtf', 'btf', 'bpfLoop'],
        object: 'tln_generic.bpf.o',
        slotVar: 'tln_gen_slot',
        confVar: 'tln_gen',
        programs: [{ name: 'tln_sock_close', attach: [{ kind: 'auto' }] }],
        actions: [],
        only: 'function',
        calls: ['tcp_close'],
        notes:
          'tcp_close(sk) on kernels without kprobes, served by the BTF tracepoint sock/inet_sock_set_state at the state changes tcp_close() makes in the closing task: ESTABLISHED/SYN_RECV -> FIN_WAIT1, CLOSE_WAIT -> LAST_ACK, LISTEN -> CLOSE; the socket (addresses, ports, cookie) read from the struct sock, state the one before the change (as tcp_close sees it). What differs from the real function: shutdown(SHUT_WR) makes the same changes and is seen too; closing a socket that is still connecting (SYN_SENT) or that has no state change left (already CLOSE) is not seen; the timeout argument is not available; observe only (Post): a socket is closed whatever the verdict.',
      },
      {
        sensor: 'generic_kprobe_socksend_tp',
        mechanism: 'tracepoint',
        requires: ['tpBtf', 'btf', 'bpfLoop'],
        object: 'tln_generic.bpf.o',
        slotVar: 'tln_gen_slot',
        confVar: 'tln_gen',
        programs: [{ name: 'tln_sock_send', attach: [{ kind: 'auto' }] }],
        actions: [],
        only: 'function',
        calls: ['tcp_sendmsg'],
        notes:
          "tcp_sendmsg(sk, msg, size) on kernels without kprobes (6.4 and later), served by the BTF tracepoint sock/sock_send_length, which sock_sendmsg() fires for TCP sockets once tcp_sendmsg returned, in the sending task: the socket (addresses, ports, cookie, state) read from the struct sock; argument 2 is what the call returned (the bytes sent, or the negative error), not the size asked for: they differ for a partial or failed send. Not seen: sends that do not go through sock_sendmsg (sendfile/splice of pages, io_uring's direct paths, kernel_sendmsg_locked). Observe only (Post): the data is sent when the event is made.",
      },
      {
        sensor: 'generic_kprobe_open_tp',
        mechanism: 'tracepoint',
        requires: ['tracepoint', 'syscallTracepoints', 'bpfLoop', 'sendSignal'],
        object: 'tln_generic.bpf.o',
        slotVar: 'tln_gen_slot',
        confVar: 'tln_gen',
        programs: [{ name: 'tln_tp_generic', attach: sysTp(OPEN_EXITS).map((a) => ({ ...a, optional: true }) as AttachSpec) }],
        actions: ['Sigkill', 'Signal'],
        only: 'function',
        calls: ['fd_install', 'security_file_open'],
        notes:
          'fd_install(fd, file) and security_file_open(file) on kernels without kprobes, served at the exit of open/openat/openat2/creat (those the kernel has): the returned fd and the file behind it, judged by its full path; only successful opens. What differs from the real functions: other ways a file gets an fd (socket, pipe, accept, dup, memfd, io_uring) are not seen, and the open has happened when the verdict is made (Sigkill/Signal reach the task before it returns to user space, so it never uses the fd).',
      },
      {
        sensor: 'generic_kprobe_cap_tp',
        mechanism: 'tracepoint',
        requires: ['tracepoint', 'capCapableTp', 'bpfLoop', 'sendSignal'],
        object: 'tln_generic.bpf.o',
        slotVar: 'tln_gen_slot',
        confVar: 'tln_gen',
        programs: [{ name: 'tln_tp_generic', attach: [{ kind: 'tracepoint', category: 'capability', name: 'cap_capable' }] }],
        actions: ['Sigkill', 'Signal'],
        only: 'function',
        calls: ['cap_capable'],
        retHere: true,
        notes:
          'cap_capable(cred, targ_ns, cap, opts) on kernels without kprobes (6.15 and later), served by the tracepoint capability/cap_capable, which the function fires as it returns: arguments 0 (the cred), 1 (the target user namespace) and 2 (the capability) from its fields, and the return value (0 or -EPERM) with them, so return: true and matchReturnArgs are judged in one event. What differs from the real function: opts (argument 3) is not available; the check has been made when the verdict is (Sigkill/Signal reach the task before it returns to user space, not before the capability is granted); no Override. Every capable()/ns_capable() check goes through cap_capable, as with the kprobe.',
      },
    ],
  },
  {
    hookId: HOOK_ID.GENERIC_FENTRY,
    call: 'fentry',
    args: ' <function>',
    impls: [
      fmodRet,
      {
        sensor: 'generic_fentry',
        mechanism: 'fentry',
        requires: ['fentry', 'btf', 'bpfLoop', 'sendSignal'],
        object: 'tln_generic.bpf.o',
        slotVar: 'tln_gen_slot',
        confVar: 'tln_gen',
        programs: [
          { name: 'tln_fentry', attach: [{ kind: 'btf-target' }] },
          { name: 'tln_fexit', attach: [{ kind: 'btf-target' }], atReturn: true },
        ],
        actions: ['Sigkill', 'Signal'],
        btfTarget: true,
        notes:
          "an fentry program on the function (BTF: the load fails, with the reason, when the function is not in the kernel BTF or cannot be traced); arguments as for kprobes, read with bpf_get_func_arg. Sigkill/Signal on entry. With return: true an fexit program on the function adds the return value to the entry's record and judges the hook there, as the kretprobe of generic_kprobe does (signals at the exit).",
      },
    ],
  },
  {
    hookId: HOOK_ID.GENERIC_LSM,
    call: 'lsmhook',
    args: ' <hook>',
    impls: [
      {
        sensor: 'generic_lsm',
        mechanism: 'lsm',
        requires: ['lsm', 'btf', 'bpfLoop', 'sendSignal'],
        object: 'tln_generic.bpf.o',
        slotVar: 'tln_gen_slot',
        confVar: 'tln_gen',
        programs: [{ name: 'tln_lsm_hook', attach: [{ kind: 'btf-target' }] }],
        actions: ['Sigkill', 'Signal', 'Override'],
        btfTarget: true,
        notes:
          "Tetragon's generic_lsm: an lsm/<hook> program (kernels booted with bpf in lsm=); the hook's arguments as for kprobes; an Override's error is the hook's verdict (the operation fails with it), Sigkill/Signal are sent and the operation goes on.",
      },
    ],
  },
];

/** whether an implementation restricted to a hook shape serves this hook */
function serves(impl: HookImpl, hook?: Pick<HookSpec, 'syscall' | 'spec' | 'name'>): boolean {
  const sys = !!hook?.syscall && !!hook.spec?.syscall;
  if (impl.calls && !(hook && impl.calls.includes(hook.name))) return false;
  if (impl.only === 'syscall') return sys;
  if (impl.only === 'function') return !sys;
  // tracepoints: raw: true ones are BTF tracepoints, the others tracefs ones
  const raw = !!hook?.spec?.tracepoint?.raw;
  if (impl.only === 'raw') return raw;
  if (impl.only === 'tracefs') return !raw;
  return true;
}

type HookSample = Pick<HookSpec, 'syscall' | 'spec' | 'name' | 'actions'>;
const specOf = (syscall: boolean) => ({ syscall }) as unknown as HookSpec['spec'];

/**
 * The kinds of hook an entry tells apart (syscalls, the functions a mapping serves, other
 * functions, with or without Override), each with a sample hook for `chooseImpl`: what
 * `talon probe` lists, so that every implementation in the catalog shows up where it applies.
 */
export function entryShapes(entry: CatalogEntry): { label: string; hook?: HookSample }[] {
  const split = entry.impls.some((i) => i.only || i.calls || i.overrideOnly);
  if (!split) return [{ label: entry.call }];
  if (entry.impls.some((i) => i.only === 'raw')) {
    const tp = (raw: boolean): HookSample => ({
      name: '<subsystem>/<event>',
      syscall: false,
      spec: { tracepoint: { raw } } as unknown as HookSpec['spec'],
      actions: [],
    });
    return [
      { label: entry.call, hook: tp(false) },
      { label: `${entry.call} (raw: true)`, hook: tp(true) },
    ];
  }
  const kind = entry.call.split(' ')[0];
  const fn = (name: string, actions: string[] = []): HookSample => ({ name, syscall: false, spec: specOf(false), actions });
  const out: { label: string; hook?: HookSample }[] = [];
  if (entry.impls.some((i) => i.only === 'syscall'))
    out.push({ label: `${kind} sys_<name> (syscall: true)`, hook: { name: 'sys_<name>', syscall: true, spec: specOf(true), actions: [] } });
  for (const i of entry.impls) if (i.calls) out.push({ label: `${kind} ${i.calls.join(', ')}`, hook: fn(i.calls[0]) });
  const other = out.length > 0 ? '<other function>' : '<function>';
  out.push({ label: `${kind} ${other}`, hook: fn('<function>') });
  if (entry.impls.some((i) => i.overrideOnly)) out.push({ label: `${kind} ${other} with Override`, hook: fn('<function>', ['Override']) });
  return out;
}

/** whether `impl` can be chosen for a hook of this shape at all (on some kernel) */
export function implApplies(impl: HookImpl, hook?: HookSample): boolean {
  if (impl.overrideOnly && !hook?.actions?.includes('Override')) return false;
  return serves(impl, hook);
}

export function catalogEntry(hookId: number): CatalogEntry | undefined {
  return CATALOG.find((e) => e.hookId === hookId);
}

export type Choice = { ok: true; impl: HookImpl; entry: CatalogEntry } | { ok: false; reason: string };

/** The implementation that serves a hook on this kernel, or why none can. */
export function chooseImpl(hookId: number, hookName: string, f: Features, hook?: Pick<HookSpec, 'syscall' | 'spec' | 'name' | 'actions'>): Choice {
  const entry = catalogEntry(hookId);
  if (!entry) return { ok: false, reason: `hook ${hookName} (id ${hookId}) has no kernel implementation in talon yet` };
  const why: string[] = [];
  const overrides = !!hook?.actions?.includes('Override');
  for (const impl of entry.impls) {
    if (impl.overrideOnly && !overrides) continue;
    if (!serves(impl, hook)) {
      why.push(
        `${impl.sensor} (${impl.mechanism}) serves ${impl.calls ? impl.calls.join(' and ') + ' only' : impl.only === 'syscall' ? 'syscalls only (call sys_X with syscall: true)' : impl.only === 'raw' ? 'raw: true tracepoints only' : impl.only === 'tracefs' ? 'tracepoints without raw: true' : 'functions other than syscalls'}`,
      );
      continue;
    }
    const missing = impl.requires.filter((r) => !has(f, r));
    if (missing.length) {
      why.push(`${impl.sensor} (${impl.mechanism}) needs ${missing.join(', ')}`);
      continue;
    }
    if (!impl.object) {
      why.push(`${impl.sensor} (${impl.mechanism}) is not built yet`);
      continue;
    }
    return { ok: true, impl, entry };
  }
  return { ok: false, reason: `no implementation of ${hookName} works on this kernel: ${why.join('; ')}` };
}

/** Why no implementation of a hook that can carry out `action` serves it here ('' when none exists). */
export function whyNotAction(hookId: number, action: string, f: Features, hook?: Pick<HookSpec, 'syscall' | 'spec' | 'name' | 'actions'>): string {
  const entry = catalogEntry(hookId);
  const why = (entry?.impls ?? [])
    .filter((i) => i.actions.includes(action) && i.object && serves(i, hook))
    .map((i) => {
      const missing = i.requires.filter((r) => !has(f, r));
      const detail = missing.includes('lsm') && f.lsmError ? ` (${f.lsmError})` : '';
      return missing.length ? `${i.sensor} (${i.mechanism}) needs ${missing.join(', ')}${detail}` : '';
    })
    .filter(Boolean);
  return why.join('; ');
}
