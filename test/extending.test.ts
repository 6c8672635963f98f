// docs/extending.md, enforced: every member of the hook, hook-kind, argument-type,
// operator and action enums of bpf/include/tln_abi.h has its entry in each place
// the checklist names, and LANGUAGE (below) says truthfully where it is served:
// a member the kernel or the evaluator implements is mentioned by that code, and
// one they do not implement is not claimed. A new enum value fails here until
// every place has it and its row says what serves it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as G from '../src/abi/generated.js';
import { ROOT } from './helpers/common.js';

type Where = 'kernel' | 'refused';
interface Row {
  /** the evaluator decides it in dry-run (false: the verdict says "unknown") */
  evaluated: boolean;
  /** the BPF programs implement it (refused: the loader refuses it at load, with the reason) */
  kernel: Where;
}

const read = (files: string[]) => files.map((f) => readFileSync(path.join(ROOT, f), 'utf8')).join('\n');
const mentions = (text: string, name: string) => new RegExp(`\\b${name}\\b`).test(text);

/** the places of docs/extending.md, per enum */
const PLACES = {
  tln_op: { names: ['assembly/operators.ts'], evaluator: ['assembly/evaluator.ts'], kernel: ['bpf/lib/tln_eval.h'] },
  // the kernel: what the BPF programs compare (tln_eval.h) and what the load configures them to read (tracefs.ts)
  tln_arg_type: { names: ['assembly/argtypes.ts'], evaluator: ['assembly/argtypes.ts'], kernel: ['bpf/lib/tln_eval.h', 'src/kernel/tracefs.ts'] },
  tln_action_id: { names: ['assembly/compile/actions.ts'], evaluator: ['assembly/evaluator.ts'], kernel: ['bpf/lib/tln_eval.h'] },
  tln_hook_id: {
    names: ['assembly/hooks.ts', 'assembly/compile/hooks.ts', 'assembly/compile/uprobes.ts'],
    evaluator: ['assembly/hookrec.ts', 'assembly/event.ts', 'assembly/evaluator.ts', 'assembly/hooks.ts'],
    kernel: ['src/kernel/catalog.ts'],
  },
  tln_hook_kind: {
    names: ['assembly/compile/hooks.ts'],
    evaluator: ['assembly/hookrec.ts', 'assembly/event.ts'],
    kernel: ['src/kernel/catalog.ts', 'src/kernel/support.ts'],
  },
} as const;

const K = (evaluated: boolean, kernel: Where = 'kernel'): Row => ({ evaluated, kernel });
const yes = K(true);
/** decided by the evaluator in dry-run (test/core-semantics), refused at load */
const dryRunOnly = K(true, 'refused');

/** Where each member is served. The first seed operators are in the kernel and the evaluator. */
const LANGUAGE: Record<keyof typeof PLACES, Record<string, Row>> = {
  tln_op: {
    ...Object.fromEntries(
      [
        'GT',
        'LT',
        'EQUAL',
        'NOT_EQUAL',
        'NOT_IN',
        'PREFIX',
        'POSTFIX',
        'IN_MAP',
        'NOT_IN_MAP',
        'MASK',
        'SADDR',
        'DADDR',
        'SPORT',
        'DPORT',
        'PROTOCOL',
        'NOT_SPORT',
        'NOT_DPORT',
        'SPORT_PRIV',
        'NOT_SPORT_PRIV',
        'DPORT_PRIV',
        'NOT_DPORT_PRIV',
        'NOT_SADDR',
        'NOT_DADDR',
        'NOT_PREFIX',
        'NOT_POSTFIX',
        'FAMILY',
        'STATE',
        'IN_RANGE',
        'NOT_IN_RANGE',
      ].map((n) => [`TLN_OP_${n}`, yes]),
    ),
    // In: matchArgs' In goes through the value sets (Equal's and the port/int lists); the kernel's
    // process filters (matchPIDs, matchNamespaces, matchCapabilities) test In/NotIn themselves
    TLN_OP_IN: yes,
    ...Object.fromEntries(
      ['CAPABILITIES_GAINED', 'SUBSTRING', 'SUBSTRING_IGN_CASE', 'CEL_EXPR', 'FILE_TYPE', 'NOT_FILE_TYPE'].map((n) => [`TLN_OP_${n}`, dryRunOnly]),
    ),
  },
  tln_arg_type: Object.fromEntries(
    Object.keys(G.tln_arg_type).map((m) => {
      // NOP: a declared position the kernel marks empty (Tetragon leaves it out of the event);
      // SYSCALL64: raw_syscalls' id, with the 32-bit bit the kernel sets; AUTO: a tracepoint field's
      // format type at load; CHAR_BUF: syscall hooks' buffers; SKB, SOCKET, CRED, USER_NAMESPACE,
      // NET_DEVICE, BPF_ATTR, BPF_PROG, BPF_MAP, PERF_EVENT: through their pointers; CAPABILITY: an int
      const seed = [
        'INT',
        'UINT32',
        'SINT64',
        'SINT8',
        'UINT8',
        'SINT16',
        'UINT16',
        'FILE',
        'PATH',
        'FD',
        'STRING',
        'FILENAME',
        'SOCK',
        'SOCKADDR',
        'NOP',
        'SYSCALL64',
        'LINUX_BINPRM',
        'AUTO',
        'CHAR_BUF',
        'SKB',
        'SOCKET',
        'CRED',
        'USER_NAMESPACE',
        'NET_DEVICE',
        'CAPABILITY',
        'BPF_ATTR',
        'BPF_PROG',
        'BPF_MAP',
        'PERF_EVENT',
      ].map((n) => `TLN_ARG_${n}`);
      // every type is named for the evaluator's categories; the seed types are read by the BPF programs
      return [m, K(true, seed.includes(m) ? 'kernel' : 'refused')];
    }),
  ),
  tln_action_id: {
    ...Object.fromEntries(['POST', 'SIGKILL', 'OVERRIDE', 'NOPOST', 'SIGNAL'].map((n) => [`TLN_ACT_${n}`, yes])),
    ...Object.fromEntries(
      ['GETURL', 'DNSLOOKUP', 'TRACKSOCK', 'UNTRACKSOCK', 'NOTIFY_ENFORCER', 'CLEANUP_ENFORCER_NOTIFICATION', 'SET'].map((n) => [`TLN_ACT_${n}`, dryRunOnly]),
    ),
  },
  tln_hook_id: {
    TLN_HOOK_UNKNOWN: K(true, 'refused'),
    ...Object.fromEntries(['SECURITY_FILE_PERMISSION', 'SECURITY_MMAP_FILE', 'SECURITY_PATH_TRUNCATE', 'TCP_CONNECT'].map((n) => [`TLN_HOOK_${n}`, yes])),
    TLN_HOOK_GENERIC_TRACEPOINT: yes,
    TLN_HOOK_GENERIC_UPROBE: yes,
    // served where the kernel has kprobes / fentry / BPF LSM (and syscalls, fd_install, security_file_open here)
    TLN_HOOK_GENERIC_KPROBE: yes,
    TLN_HOOK_GENERIC_FENTRY: yes,
    TLN_HOOK_GENERIC_LSM: yes,
    TLN_HOOK_GENERIC_USDT: K(true, 'kernel'),
  },
  tln_hook_kind: {
    TLN_HOOK_KPROBE: K(true, 'refused'),
    TLN_HOOK_TRACEPOINT: K(true, 'refused'),
    TLN_HOOK_UPROBE: K(true, 'refused'),
    TLN_HOOK_FENTRY: K(true, 'refused'),
    TLN_HOOK_LSM: K(true, 'refused'),
    TLN_HOOK_USDT: K(true, 'refused'),
  },
};

for (const [en, places] of Object.entries(PLACES) as [keyof typeof PLACES, (typeof PLACES)[keyof typeof PLACES]][]) {
  const members = Object.keys((G as unknown as Record<string, Record<string, number>>)[en]);
  const names = read([...places.names]);
  const evaluator = read([...places.evaluator]);
  const kernel = read([...places.kernel]);

  test(`${en}: every member has a row in LANGUAGE and a name in the compiler (${places.names.join(', ')})`, () => {
    assert.ok(members.length > 0);
    const missing = members.filter((m) => !(m in LANGUAGE[en]));
    assert.equal(missing, [], `no LANGUAGE row (docs/extending.md): ${missing.join(', ')}`);
    const stale = Object.keys(LANGUAGE[en]).filter((m) => !members.includes(m));
    assert.equal(stale, [], `rows for members the header no longer has: ${stale.join(', ')}`);
    const unnamed = members.filter((m) => m !== 'TLN_ARG_NONE' && m !== 'TLN_HOOK_UNKNOWN' && !mentions(names, m));
    assert.equal(unnamed, [], `not in the compiler's tables: ${unnamed.join(', ')}`);
  });

  test(`${en}: the rows say truthfully what the evaluator and the kernel serve`, () => {
    for (const m of members) {
      const row = LANGUAGE[en][m];
      if (row.evaluated && en !== 'tln_arg_type') assert.ok(mentions(evaluator, m), `${m}: claimed evaluated, not in ${places.evaluator.join(', ')}`);
      if (!row.evaluated) assert.not.ok(mentions(evaluator, m), `${m}: the evaluator handles it: mark it evaluated`);
      if (row.kernel === 'kernel') assert.ok(mentions(kernel, m), `${m}: claimed served by the kernel, not in ${places.kernel.join(', ')}`);
      if (row.kernel === 'refused' && m !== 'TLN_HOOK_UNKNOWN' && en !== 'tln_hook_kind')
        assert.not.ok(mentions(kernel, m), `${m}: the kernel implements it: mark it kernel`);
    }
  });
}

test('what the kernel does not serve is refused at load through the spec record, never silently', () => {
  // the compiler records such features in the hook's `needs`; the loader's support check reads them
  const support = read(['src/kernel/support.ts']);
  assert.match(support, /needs/);
  const plan = read(['src/kernel/plan.ts']);
  assert.match(plan, /unsupportedReasons\(spec, features\)/);
});

test.run();
