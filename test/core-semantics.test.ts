// Issue 8: every operator, action and selector kind in the evaluator, each with
// both outcomes (a matching and a non-matching event) and, where the selector
// reads something a recorded event may lack, the "unknown: no X in the event"
// verdict. The tables are keyed by the core's own enums (the generated ABI
// mirror) and the schema's selector fields: a new member without a case fails.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as G from '../src/abi/generated.js';
import type { EvalEvent, EvalProcess } from '../src/core/types.js';
import { SELECTOR_FIELDS } from '../src/policy/schema.js';
import { evaluator, event, filePolicy, int, policy, sock, sockPolicy, str } from './helpers/core.js';

type Docs = unknown[];
interface Case {
  docs: Docs;
  /** an event the selector matches, and what the verdict is then */
  match: EvalEvent;
  verdict?: string;
  /** an event it does not match */
  nomatch: EvalEvent;
  /** an event lacking what the selector reads, and the reason the verdict gives */
  unknown?: [EvalEvent, RegExp];
}

const HOST_NS = { inum: 4026531836, isHost: true };
const POD_NS = { inum: 4026532200, isHost: false };
const nsAt = (t: number, n: { inum: number; isHost: boolean }) => {
  const l: ({ inum: number; isHost: boolean } | null)[] = new Array(10).fill(null);
  l[t] = n;
  return l;
};
const CAP_SYS_ADMIN = 1n << 21n;
const CAP_NET_RAW = 1n << 13n;

/** security_file_permission(file, int) */
const fileEv = (path: string, n: number, process?: EvalProcess, extra: Partial<EvalEvent> = {}): EvalEvent =>
  event('security_file_permission', [str(path), int(n)], { ...(process ? { process } : {}), ...extra });
const file1 = (sel: Record<string, unknown>, extra: Record<string, unknown> = {}): Docs => [filePolicy([sel], extra)];
const arg = (index: number, operator: string, values?: string[]) => ({ matchArgs: [{ index, operator, ...(values ? { values } : {}) }] });
const sockEv = (o: Parameters<typeof sock>[0]): EvalEvent => event('tcp_connect', [sock(o)]);
const sock1 = (operator: string, values?: string[]): Docs => [sockPolicy([{ matchArgs: [{ index: 0n, operator, ...(values ? { values } : {}) }] }])];
/** a kprobe of two capability sets (new, old), as CapabilitiesGained compares them */
const capsPolicy = (sel: Record<string, unknown>): Docs => [
  policy({
    kprobes: [
      {
        call: 'cap_bprm_creds_from_file',
        syscall: false,
        args: [
          { index: 0n, type: 'kernel_cap_t' },
          { index: 1n, type: 'kernel_cap_t' },
        ],
        selectors: [sel],
      },
    ],
  }),
];
const capsEv = (a: bigint, b: bigint): EvalEvent => event('cap_bprm_creds_from_file', [int(a), int(b)]);
const ret = { return: true, returnArg: { index: 0n, type: 'int' } };

/** one case per operator (enum tln_op) */
const OPERATORS: Record<string, Case> = {
  TLN_OP_GT: { docs: file1(arg(1, 'GT', ['5'])), match: fileEv('/x', 9), nomatch: fileEv('/x', 5) },
  TLN_OP_LT: { docs: file1(arg(1, 'LT', ['5'])), match: fileEv('/x', 4), nomatch: fileEv('/x', 5) },
  TLN_OP_EQUAL: { docs: file1(arg(1, 'Equal', ['5'])), match: fileEv('/x', 5), nomatch: fileEv('/x', 6) },
  TLN_OP_NOT_EQUAL: { docs: file1(arg(1, 'NotEqual', ['5'])), match: fileEv('/x', 6), nomatch: fileEv('/x', 5) },
  TLN_OP_IN: {
    docs: file1({ matchPIDs: [{ operator: 'In', values: ['100'] }] }),
    match: fileEv('/x', 1),
    nomatch: fileEv('/x', 1, undefined, { pid: 7 }),
  },
  TLN_OP_NOT_IN: {
    docs: file1({ matchBinaries: [{ operator: 'NotIn', values: ['/usr/bin/cat'] }] }),
    match: fileEv('/x', 1, undefined, { binary: '/bin/sh' }),
    nomatch: fileEv('/x', 1),
  },
  TLN_OP_PREFIX: { docs: file1(arg(0, 'Prefix', ['/etc/'])), match: fileEv('/etc/passwd', 1), nomatch: fileEv('/tmp/etc/', 1) },
  TLN_OP_NOT_PREFIX: { docs: file1(arg(0, 'NotPrefix', ['/etc/'])), match: fileEv('/tmp/x', 1), nomatch: fileEv('/etc/x', 1) },
  TLN_OP_POSTFIX: { docs: file1(arg(0, 'Postfix', ['.key'])), match: fileEv('/a/b.key', 1), nomatch: fileEv('/a/b.pub', 1) },
  TLN_OP_NOT_POSTFIX: { docs: file1(arg(0, 'NotPostfix', ['.key'])), match: fileEv('/a/b.pub', 1), nomatch: fileEv('/a/b.key', 1) },
  TLN_OP_IN_MAP: { docs: file1(arg(1, 'InMap', ['1', '7', '9'])), match: fileEv('/x', 7), nomatch: fileEv('/x', 8) },
  TLN_OP_NOT_IN_MAP: { docs: file1(arg(1, 'NotInMap', ['1', '7'])), match: fileEv('/x', 8), nomatch: fileEv('/x', 7) },
  TLN_OP_MASK: { docs: file1(arg(1, 'Mask', ['0x4'])), match: fileEv('/x', 6), nomatch: fileEv('/x', 3) },
  TLN_OP_IN_RANGE: { docs: file1(arg(1, 'InRange', ['10:20'])), match: fileEv('/x', 20), nomatch: fileEv('/x', 21) },
  TLN_OP_NOT_IN_RANGE: { docs: file1(arg(1, 'NotInRange', ['10:20'])), match: fileEv('/x', 9), nomatch: fileEv('/x', 10) },
  TLN_OP_SADDR: { docs: sock1('SAddr', ['10.0.0.0/8']), match: sockEv({ saddr: '10.1.2.3' }), nomatch: sockEv({ saddr: '192.168.0.1' }) },
  TLN_OP_DADDR: { docs: sock1('DAddr', ['127.0.0.1']), match: sockEv({ daddr: '127.0.0.1' }), nomatch: sockEv({ daddr: '127.0.0.2' }) },
  TLN_OP_NOT_SADDR: { docs: sock1('NotSAddr', ['10.0.0.0/8']), match: sockEv({ saddr: '11.0.0.1' }), nomatch: sockEv({ saddr: '10.0.0.1' }) },
  TLN_OP_NOT_DADDR: { docs: sock1('NotDAddr', ['127.0.0.0/8']), match: sockEv({ daddr: '10.0.0.1' }), nomatch: sockEv({ daddr: '127.0.0.9' }) },
  TLN_OP_SPORT: { docs: sock1('SPort', ['40000']), match: sockEv({ sport: 40000 }), nomatch: sockEv({ sport: 40001 }) },
  TLN_OP_DPORT: { docs: sock1('DPort', ['80:443']), match: sockEv({ dport: 443 }), nomatch: sockEv({ dport: 8080 }) },
  TLN_OP_NOT_SPORT: { docs: sock1('NotSPort', ['40000']), match: sockEv({ sport: 1 }), nomatch: sockEv({ sport: 40000 }) },
  TLN_OP_NOT_DPORT: { docs: sock1('NotDPort', ['443']), match: sockEv({ dport: 80 }), nomatch: sockEv({ dport: 443 }) },
  TLN_OP_SPORT_PRIV: { docs: sock1('SPortPriv'), match: sockEv({ sport: 22 }), nomatch: sockEv({ sport: 2222 }) },
  TLN_OP_NOT_SPORT_PRIV: { docs: sock1('NotSPortPriv'), match: sockEv({ sport: 2222 }), nomatch: sockEv({ sport: 22 }) },
  TLN_OP_DPORT_PRIV: { docs: sock1('DPortPriv'), match: sockEv({ dport: 443 }), nomatch: sockEv({ dport: 8443 }) },
  TLN_OP_NOT_DPORT_PRIV: { docs: sock1('NotDPortPriv'), match: sockEv({ dport: 8443 }), nomatch: sockEv({ dport: 443 }) },
  TLN_OP_PROTOCOL: { docs: sock1('Protocol', ['IPPROTO_UDP']), match: sockEv({ protocol: 17 }), nomatch: sockEv({ protocol: 6 }) },
  TLN_OP_FAMILY: { docs: sock1('Family', ['AF_INET6']), match: sockEv({ family: 10, saddr: '::1', daddr: '::1' }), nomatch: sockEv({ family: 2 }) },
  TLN_OP_STATE: { docs: sock1('State', ['TCP_SYN_SENT']), match: sockEv({ state: 2 }), nomatch: sockEv({ state: 1 }) },
  TLN_OP_CAPABILITIES_GAINED: {
    docs: capsPolicy({ matchArgs: [{ args: [0n, 1n], operator: 'CapabilitiesGained' }] }),
    match: capsEv(CAP_SYS_ADMIN | CAP_NET_RAW, CAP_NET_RAW),
    nomatch: capsEv(CAP_NET_RAW, CAP_NET_RAW | CAP_SYS_ADMIN),
    unknown: [event('cap_bprm_creds_from_file', [int(1)]), /no value of args\[1\] in the event/],
  },
  TLN_OP_SUBSTRING: {
    docs: file1(arg(0, 'SubString', ['shadow'])),
    match: fileEv('/etc/shadow-', 1),
    nomatch: fileEv('/etc/SHADOW', 1),
    unknown: [event('security_file_permission', []), /no value of args\[0\] in the event/],
  },
  TLN_OP_SUBSTRING_IGN_CASE: { docs: file1(arg(0, 'SubStringIgnCase', ['shadow'])), match: fileEv('/etc/SHADOW', 1), nomatch: fileEv('/etc/passwd', 1) },
  TLN_OP_CEL_EXPR: {
    docs: file1(arg(0, 'CelExpr', ["arg1 > 3 && arg0.startsWith('/etc') || int32(arg1) == -1"])),
    match: fileEv('/etc/hosts', 4),
    nomatch: fileEv('/tmp/hosts', 4),
    unknown: [event('security_file_permission', [str('/etc/x')]), /CelExpr .*: arg1 has no value in the event/],
  },
  TLN_OP_FILE_TYPE: {
    docs: file1(arg(0, 'FileType', ['reg'])),
    match: fileEv('/etc/x', 1, undefined, { fileTypes: [8, null] }),
    nomatch: fileEv('/etc', 1, undefined, { fileTypes: [4, null] }),
    unknown: [fileEv('/etc/x', 1), /no file type \(permission\) of args\[0\] in the event/],
  },
  TLN_OP_NOT_FILE_TYPE: {
    docs: file1(arg(0, 'NotFileType', ['dir'])),
    match: fileEv('/etc/x', 1, undefined, { fileTypes: [8, null] }),
    nomatch: fileEv('/etc', 1, undefined, { fileTypes: [4, null] }),
    unknown: [fileEv('/etc/x', 1), /no file type/],
  },
};

const withAction = (a: Record<string, unknown>, docs?: (sel: Record<string, unknown>) => Docs): Docs =>
  (docs ?? file1)({ ...arg(0, 'Equal', ['/etc/shadow']), matchActions: [a] });
const shadow = fileEv('/etc/shadow', 1);
const passwd = fileEv('/etc/passwd', 1);

/** one case per action (enum tln_action_id); Set writes a USDT argument, which dry-run does not simulate */
const ACTIONS: Record<string, Case | string> = {
  TLN_ACT_POST: { docs: withAction({ action: 'Post' }), match: shadow, verdict: 'post', nomatch: passwd },
  TLN_ACT_SIGKILL: { docs: withAction({ action: 'Sigkill' }), match: shadow, verdict: 'kill', nomatch: passwd },
  TLN_ACT_OVERRIDE: { docs: withAction({ action: 'Override', argError: '-1' }), match: shadow, verdict: 'override', nomatch: passwd },
  TLN_ACT_NOPOST: { docs: withAction({ action: 'NoPost' }), match: shadow, verdict: 'none', nomatch: passwd },
  TLN_ACT_SIGNAL: { docs: withAction({ action: 'Signal', argSig: '10' }), match: shadow, verdict: 'signal', nomatch: passwd },
  TLN_ACT_GETURL: { docs: withAction({ action: 'GetUrl', argUrl: 'http://127.0.0.1/x' }), match: shadow, verdict: 'post', nomatch: passwd },
  TLN_ACT_DNSLOOKUP: { docs: withAction({ action: 'DnsLookup', argFqdn: 'example.com' }), match: shadow, verdict: 'post', nomatch: passwd },
  TLN_ACT_TRACKSOCK: {
    docs: [sockPolicy([{ matchArgs: [{ index: 0n, operator: 'DPort', values: ['443'] }], matchActions: [{ action: 'TrackSock', argSock: 0n }] }])],
    match: sockEv({ dport: 443 }),
    verdict: 'post',
    nomatch: sockEv({ dport: 80 }),
  },
  TLN_ACT_UNTRACKSOCK: {
    docs: [sockPolicy([{ matchArgs: [{ index: 0n, operator: 'DPort', values: ['443'] }], matchActions: [{ action: 'UntrackSock', argSock: 0n }] }])],
    match: sockEv({ dport: 443 }),
    verdict: 'post',
    nomatch: sockEv({ dport: 80 }),
  },
  TLN_ACT_NOTIFY_ENFORCER: {
    docs: withAction({ action: 'NotifyEnforcer', argSig: '9' }, (sel) => [
      policy({
        enforcers: [{ calls: ['sys_openat'] }],
        kprobes: [
          {
            call: 'security_file_permission',
            syscall: false,
            args: [
              { index: 0n, type: 'file' },
              { index: 1n, type: 'int' },
            ],
            selectors: [sel],
          },
        ],
      }),
    ]),
    match: shadow,
    verdict: 'kill',
    nomatch: passwd,
  },
  TLN_ACT_CLEANUP_ENFORCER_NOTIFICATION: {
    docs: withAction({ action: 'CleanupEnforcerNotification' }),
    match: shadow,
    verdict: 'post',
    nomatch: passwd,
  },
  TLN_ACT_SET: 'USDT only: the argument write is not simulated (test/events-usdt.test.ts judges process_usdt events)',
};

/** one case per selector field of the schema */
const SELECTORS: Record<string, Case | string> = {
  label: 'a name for statistics, no filter of its own',
  macros: {
    docs: [
      policy({
        selectorsMacros: { shadowOnly: { matchArgs: [{ index: 0n, operator: 'Equal', values: ['/etc/shadow'] }] } },
        kprobes: [
          {
            call: 'security_file_permission',
            syscall: false,
            args: [
              { index: 0n, type: 'file' },
              { index: 1n, type: 'int' },
            ],
            selectors: [{ macros: ['shadowOnly'] }],
          },
        ],
      }),
    ],
    match: shadow,
    nomatch: passwd,
  },
  matchArgs: { docs: file1(arg(1, 'Equal', ['4'])), match: fileEv('/x', 4), nomatch: fileEv('/x', 2) },
  matchData: {
    docs: file1({ matchData: [{ index: 0n, operator: 'Equal', values: ['1'] }] }, { data: [{ type: 'int', source: 'current_task', resolve: 'pid' }] }),
    match: shadow,
    nomatch: shadow,
    unknown: [shadow, /no data\[\] values in the event \(matchData\)/],
  },
  matchReturnArgs: {
    docs: file1({ matchReturnArgs: [{ index: 0n, operator: 'SubString', values: ['1'] }].map(() => ({ operator: 'Equal', values: ['-13'] })) }, ret),
    match: fileEv('/x', 1, undefined, { ret: int(-13) }),
    nomatch: fileEv('/x', 1, undefined, { ret: int(0) }),
  },
  matchBinaries: {
    docs: file1({ matchBinaries: [{ operator: 'In', values: ['/bin/sh'], followChildren: true }] }),
    match: fileEv('/x', 1, { parent: { binary: '/usr/bin/bash', pid: 50 }, ancestors: [{ binary: '/bin/sh', pid: 10 }], ancestorsAll: true }),
    nomatch: fileEv('/x', 1, { parent: { binary: '/usr/bin/bash', pid: 50 }, ancestors: [{ binary: '/sbin/init', pid: 1 }], ancestorsAll: true }),
    unknown: [fileEv('/x', 1, { parent: { binary: '/usr/bin/bash', pid: 50 } }), /no process.ancestors in the event/],
  },
  matchParentBinaries: {
    docs: file1({ matchParentBinaries: [{ operator: 'Postfix', values: ['/sshd'] }] }),
    match: fileEv('/x', 1, { parent: { binary: '/usr/sbin/sshd', pid: 50 } }),
    nomatch: fileEv('/x', 1, { parent: { binary: '/usr/bin/bash', pid: 50 } }),
    unknown: [fileEv('/x', 1), /no parent in the event \(matchParentBinaries\)/],
  },
  matchPIDs: {
    docs: file1({
      matchPIDs: [
        { operator: 'In', values: ['42'], followForks: true },
        { operator: 'NotIn', values: ['1'], isNamespacePID: true },
      ],
    }),
    match: fileEv('/x', 1, { parent: { binary: '/bin/sh', pid: 42 }, nsPid: 7 }),
    nomatch: fileEv('/x', 1, { parent: { binary: '/bin/sh', pid: 41 }, ancestors: [{ binary: '/sbin/init', pid: 1 }], ancestorsAll: true, nsPid: 7 }),
    unknown: [fileEv('/x', 1, { parent: { binary: '/bin/sh', pid: 42 } }), /no process.pod.container.pid .* \(matchPIDs isNamespacePID\)/],
  },
  matchNamespaces: {
    docs: file1({ matchNamespaces: [{ namespace: 'Pid', operator: 'In', values: ['host_ns'] }] }),
    match: fileEv('/x', 1, { ns: nsAt(3, HOST_NS) }),
    nomatch: fileEv('/x', 1, { ns: nsAt(3, POD_NS) }),
    unknown: [fileEv('/x', 1), /no process.ns in the event/],
  },
  matchNamespaceChanges: {
    docs: file1({ matchNamespaceChanges: [{ operator: 'In', values: ['Mnt'] }] }),
    match: fileEv('/x', 1, { ns: nsAt(2, HOST_NS), nsNow: nsAt(2, POD_NS) }),
    nomatch: fileEv('/x', 1, { ns: nsAt(2, HOST_NS), nsNow: nsAt(2, HOST_NS) }),
    unknown: [fileEv('/x', 1, { ns: nsAt(2, HOST_NS) }), /does not record the namespaces at the time of the call/],
  },
  matchCapabilities: {
    docs: file1({ matchCapabilities: [{ type: 'Effective', operator: 'In', values: ['CAP_SYS_ADMIN'] }] }),
    match: fileEv('/x', 1, { caps: { effective: CAP_SYS_ADMIN | CAP_NET_RAW } }),
    nomatch: fileEv('/x', 1, { caps: { effective: CAP_NET_RAW } }),
    unknown: [fileEv('/x', 1), /no process.cap in the event/],
  },
  matchCapabilityChanges: {
    docs: file1({ matchCapabilityChanges: [{ type: 'Effective', operator: 'In', values: ['CAP_SYS_ADMIN'] }] }),
    match: fileEv('/x', 1, { caps: { effective: CAP_NET_RAW }, capsNow: { effective: CAP_NET_RAW | CAP_SYS_ADMIN } }),
    nomatch: fileEv('/x', 1, { caps: { effective: CAP_NET_RAW }, capsNow: { effective: CAP_NET_RAW } }),
    unknown: [fileEv('/x', 1, { caps: { effective: CAP_NET_RAW } }), /does not record the capabilities at the time of the call/],
  },
  matchWorkloads: {
    docs: file1({ matchWorkloads: { podSelector: { matchLabels: { app: 'web' } } } }),
    match: shadow,
    nomatch: shadow,
    unknown: [shadow, /matchWorkloads is not evaluated by the dry-run yet/],
  },
  matchActions: { docs: withAction({ action: 'Sigkill' }), match: shadow, verdict: 'kill', nomatch: passwd },
  matchReturnActions: {
    docs: file1({ ...arg(0, 'Equal', ['/etc/shadow']), matchReturnActions: [{ action: 'Sigkill' }] }, ret),
    match: fileEv('/etc/shadow', 1, undefined, { ret: int(0) }),
    verdict: 'kill',
    nomatch: fileEv('/etc/passwd', 1, undefined, { ret: int(0) }),
  },
};

function check(name: string, c: Case): void {
  const ev = evaluator(c.docs);
  const unknownOnly = c.unknown !== undefined && c.match === c.nomatch;
  if (!unknownOnly) {
    const m = ev.evaluate(c.match);
    assert.is(m.unknown, undefined, `${name}: the matching event is decided (${m.unknown})`);
    assert.is(m.matches.length, 1, `${name}: the matching event matches`);
    assert.is(m.verdict, c.verdict ?? (m.matches[0].actions.includes('Sigkill') ? 'kill' : 'post'), `${name}: verdict`);
    const n = ev.evaluate(c.nomatch);
    assert.is(n.unknown, undefined, `${name}: the other event is decided (${n.unknown})`);
    assert.is(n.matches.length, 0, `${name}: the other event does not match`);
    assert.is(n.verdict, 'none', name);
  }
  if (c.unknown) {
    const [e, why] = c.unknown;
    const u = ev.evaluate(e);
    assert.is(u.matches.length, 0, `${name}: undecided is not a match`);
    assert.ok(u.unknown !== undefined && why.test(u.unknown), `${name}: unknown says ${why} (got ${u.unknown})`);
  }
}

const members = (en: string) => Object.keys((G as unknown as Record<string, Record<string, number>>)[en]);

test('every operator (enum tln_op) has a case, and each gives both outcomes', () => {
  assert.equal(
    members('tln_op').filter((m) => !(m in OPERATORS)),
    [],
    'operators without a case',
  );
  for (const [m, c] of Object.entries(OPERATORS)) check(m, c);
});

test('every action (enum tln_action_id) has a case, and each gives both outcomes', () => {
  assert.equal(
    members('tln_action_id').filter((m) => !(m in ACTIONS)),
    [],
    'actions without a case',
  );
  for (const [m, c] of Object.entries(ACTIONS)) if (typeof c !== 'string') check(m, c);
});

test('every selector field of the schema has a case, and each gives both outcomes or says why it cannot', () => {
  assert.equal(
    SELECTOR_FIELDS.filter((f) => !(f in SELECTORS)),
    [],
    'selector fields without a case',
  );
  for (const [f, c] of Object.entries(SELECTORS)) if (typeof c !== 'string') check(f, c);
});

test('the same verdicts through the allocation-free path (host record writer, match records)', async () => {
  const { fastEvaluate } = await import('../src/events/dryrun.js');
  for (const [m, c] of [...Object.entries(OPERATORS), ...Object.entries(SELECTORS)]) {
    if (typeof c === 'string') continue;
    const ev = evaluator(c.docs);
    const fast = fastEvaluate(ev);
    for (const e of [c.match, c.nomatch, ...(c.unknown ? [c.unknown[0]] : [])]) {
      const a = fast(e);
      const b = evaluator(c.docs).evaluate(e);
      assert.equal({ v: a.verdict, n: a.matches.length, u: a.unknown }, { v: b.verdict, n: b.matches.length, u: b.unknown }, m);
    }
  }
});

test('an undecided selector does not hide a later one that matches (first match wins, the unknown is reported)', () => {
  const ev = evaluator([
    filePolicy([
      { matchNamespaces: [{ namespace: 'Net', operator: 'In', values: ['host_ns'] }], matchActions: [{ action: 'Sigkill' }] },
      arg(0, 'Prefix', ['/etc']),
    ]),
  ]);
  const v = ev.evaluate(fileEv('/etc/x', 1));
  assert.is(v.verdict, 'post');
  assert.is(v.matches[0].selector, 1);
  assert.match(v.unknown ?? '', /selector 0: no process.ns in the event/);
  // a definite no-match elsewhere in the selector decides it even without the namespaces
  const w = evaluator([filePolicy([{ ...arg(0, 'Prefix', ['/usr']), matchNamespaces: [{ namespace: 'Net', operator: 'In', values: ['host_ns'] }] }])]).evaluate(
    fileEv('/etc/x', 1),
  );
  assert.equal({ v: w.verdict, u: w.unknown }, { v: 'none', u: undefined });
});

test('CelExpr outside the supported subset is a compile error at the expression', async () => {
  const { compile } = await import('../src/core/index.js');
  const { OPTS } = await import('./helpers/core.js');
  for (const [e, why] of [
    ['arg0.matches("x")', /unsupported method matches/],
    ['arg9 == 1', /arg9 names no args\[\] entry/],
    ['arg1 == ', /unexpected end of the expression/],
    ['foo(arg1)', /unknown identifier foo/],
  ] as const) {
    const r = compile([filePolicy([arg(0, 'CelExpr', [e])])], OPTS);
    const d = r.diagnostics.filter((x) => x.severity === 'error');
    assert.is(d.length, 1, e);
    assert.match(d[0].message, why);
    assert.equal(d[0].path.slice(-4), ['matchArgs', 0, 'values', 0], e);
  }
});

test('the host leaves the process context out only when no selector of the image reads it', () => {
  assert.is(evaluator(file1(arg(0, 'Prefix', ['/etc']))).readsContext, false);
  assert.is(evaluator(file1({ matchNamespaces: [{ namespace: 'Pid', operator: 'In', values: ['host_ns'] }] })).readsContext, true);
});

test('an auto-typed tracepoint field is compared as its values say, in dry-run (Tetragon types it from the format at load)', () => {
  const ev = evaluator([
    policy({
      tracepoints: [
        {
          subsystem: 'syscalls',
          event: 'sys_enter_lseek',
          args: [
            { index: 7n, type: 'auto' },
            { index: 5n, type: 'auto' },
          ],
          selectors: [{ matchArgs: [{ index: 7n, operator: 'Equal', values: ['4444'] }] }],
        },
      ],
    }),
  ]);
  const tp = (whence: number): EvalEvent => ({ ...event('syscalls/sys_enter_lseek', [int(whence), int(3)]), kind: 'tracepoint' });
  assert.is(ev.evaluate(tp(4444)).verdict, 'post');
  assert.is(ev.evaluate(tp(1)).verdict, 'none');
});

test('LSM hooks in dry-run: a process_lsm event is matched by its hook name', () => {
  const ev = evaluator([
    policy({
      lsmhooks: [
        {
          hook: 'bprm_check_security',
          args: [{ index: 0n, type: 'linux_binprm' }],
          selectors: [{ matchArgs: [{ index: 0n, operator: 'Postfix', values: ['/grep'] }] }],
        },
      ],
    }),
  ]);
  const lsm = (hook: string, path: string): EvalEvent => ({ ...event(hook, [str(path)]), kind: 'lsm' });
  assert.is(ev.evaluate(lsm('bprm_check_security', '/usr/bin/grep')).verdict, 'post');
  assert.is(ev.evaluate(lsm('bprm_check_security', '/usr/bin/cat')).verdict, 'none');
  assert.is(ev.evaluate(lsm('file_open', '/usr/bin/grep')).verdict, 'none');
});

test.run();
