// The hook catalog: for each Tetragon hook talon knows (enum tln_hook_id in
// bpf/include/tln_abi.h), the kernel mechanisms that can serve it, best first.
// The loader takes the first implementation whose required features the
// running kernel has and that is built; which one served a hook is visible as
// the policy's sensor labels. New mechanisms (BPF LSM, fentry, kprobes) are
// added as entries here plus a BPF object; nothing else changes.
import * as G from '../abi/generated.js';
import { has, type FeatureName, type Features } from './features.js';

/** enum tln_hook_id (bpf/include/tln_abi.h, through the generated mirror) */
export const HOOK_ID = {
  SECURITY_FILE_PERMISSION: G.TLN_HOOK_SECURITY_FILE_PERMISSION,
  SECURITY_MMAP_FILE: G.TLN_HOOK_SECURITY_MMAP_FILE,
  SECURITY_PATH_TRUNCATE: G.TLN_HOOK_SECURITY_PATH_TRUNCATE,
  TCP_CONNECT: G.TLN_HOOK_TCP_CONNECT,
  GENERIC_TRACEPOINT: G.TLN_HOOK_GENERIC_TRACEPOINT,
  GENERIC_UPROBE: G.TLN_HOOK_GENERIC_UPROBE,
} as const;

export type AttachSpec =
  | { kind: 'tracepoint'; category: string; name: string }
  | { kind: 'cgroup' } // the cgroup v2 root, as a bpf_link
  | { kind: 'hook-tracepoint' } // the tracepoint the hook names (spec.tracepoints: subsystem/event)
  | { kind: 'hook-uprobe' } // the function the hook names (spec.uprobes: path:symbol), every process
  | { kind: 'auto' }; // the program's section says where (tp_btf/..., lsm/..., fentry/...)

export interface ProgramSpec {
  name: string; // tln_* program in the object
  attach: AttachSpec[];
}

export interface HookImpl {
  /** sensor label shown for the policy, e.g. tln_tp_file */
  sensor: string;
  mechanism: 'lsm' | 'fentry' | 'kprobe' | 'tracepoint' | 'cgroup' | 'uprobe';
  requires: FeatureName[];
  /** BPF object in bpf/.output; null: designed, not built yet */
  object: string | null;
  /** `const volatile` the loader sets to the hook's slot */
  slotVar: string;
  /** generic hooks: the `const volatile struct tln_gen_conf` the loader fills per hook (tracefs.ts) */
  confVar?: string;
  programs: ProgramSpec[];
  /** enforcement actions it can carry out (Post/NoPost always can) */
  actions: string[];
  /** how it differs from Tetragon's kprobe on the same hook */
  notes: string;
}

export interface CatalogEntry {
  hookId: number;
  /** Tetragon kprobe `call`, or for generic hooks the kind of hook ("tracepoint", "uprobe") */
  call: string;
  args: string;
  impls: HookImpl[];
}

const sysTp = (names: string[]): AttachSpec[] => names.map((n) => ({ kind: 'tracepoint', category: 'syscalls', name: n }) as AttachSpec);

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
const lsm = (sensor: string, requires: FeatureName[], slotVar: string, program: string, notes: string): HookImpl => ({
  sensor,
  mechanism: 'lsm',
  requires,
  object: 'tln_lsm.bpf.o',
  slotVar,
  programs: [{ name: program, attach: [{ kind: 'auto' }] }],
  actions: ['Sigkill', 'Signal', 'Override'],
  notes,
});

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
        'tln_lsm_file_perm',
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
        programs: [
          { name: 'tln_file_read', attach: sysTp(READS) },
          { name: 'tln_file_write', attach: sysTp(WRITES) },
          { name: 'tln_file_copy', attach: sysTp(['sys_enter_copy_file_range', 'sys_enter_splice']) },
          { name: 'tln_file_sendfile', attach: sysTp(['sys_enter_sendfile64']) },
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
        'tln_lsm_mmap',
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
        'tln_lsm_truncate',
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
        'tln_lsm_connect',
        'lsm/socket_connect: TCP stream sockets, IPv4/IPv6 (v4-mapped judged as IPv4), before any packet; the source address/port are those of a bound socket only; state reads TCP_SYN_SENT. Override returns its error, Sigkill refuses with EPERM and kills.',
      ),
      planned('tln_kprobe_connect', 'kprobe', ['kprobes'], 'kprobe/tcp_connect'),
      {
        sensor: 'tln_cgroup_sock',
        mechanism: 'cgroup',
        requires: ['cgroupSockAddr', 'cgroup2', 'tracepoint', 'syscallTracepoints', 'sendSignal'],
        object: 'tln_sock.bpf.o',
        slotVar: 'tln_slot_tcp_connect',
        programs: [
          { name: 'tln_connect4', attach: [{ kind: 'cgroup' }] },
          { name: 'tln_connect6', attach: [{ kind: 'cgroup' }] },
          { name: 'tln_connect_exit', attach: sysTp(['sys_exit_connect']) },
        ],
        actions: ['Sigkill', 'Signal', 'Override'],
        notes:
          'cgroup/connect4+connect6 on the cgroup v2 root, TCP only, before any packet: a refused connect fails with EPERM (or the Override error via bpf_set_retval); Sigkill/Signal are delivered at sys_exit_connect. The source port/address are those of a bound socket only (0 otherwise); state reads TCP_SYN_SENT.',
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
        notes:
          "Tetragon's generic_tracepoint: the tracepoint the hook names; each argument read at the offset of its field in the tracepoint's tracefs format (common_* fields counted), found at load; char pointers of syscalls/* tracepoints read from user memory, of other subsystems from kernel memory; __data_loc char[] and char arrays as strings. Sigkill/Signal are sent before the traced code goes on.",
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
        programs: [{ name: 'tln_uprobe', attach: [{ kind: 'hook-uprobe' }] }],
        actions: ['Sigkill', 'Signal'],
        notes:
          "Tetragon's generic_uprobe: attached by libbpf to the symbol of the ELF file (every process that maps it); arguments 0-5 from the registers, strings read from user memory. Sigkill/Signal are sent on entry to the function.",
      },
    ],
  },
];

export function catalogEntry(hookId: number): CatalogEntry | undefined {
  return CATALOG.find((e) => e.hookId === hookId);
}

export type Choice = { ok: true; impl: HookImpl; entry: CatalogEntry } | { ok: false; reason: string };

/** The implementation that serves a hook on this kernel, or why none can. */
export function chooseImpl(hookId: number, hookName: string, f: Features): Choice {
  const entry = catalogEntry(hookId);
  if (!entry) return { ok: false, reason: `hook ${hookName} (id ${hookId}) has no kernel implementation in talon yet` };
  const why: string[] = [];
  for (const impl of entry.impls) {
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
export function whyNotAction(hookId: number, action: string, f: Features): string {
  const entry = catalogEntry(hookId);
  const why = (entry?.impls ?? [])
    .filter((i) => i.actions.includes(action) && i.object)
    .map((i) => {
      const missing = i.requires.filter((r) => !has(f, r));
      const detail = missing.includes('lsm') && f.lsmError ? ` (${f.lsmError})` : '';
      return missing.length ? `${i.sensor} (${i.mechanism}) needs ${missing.join(', ')}${detail}` : '';
    })
    .filter(Boolean);
  return why.join('; ');
}
