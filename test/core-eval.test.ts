// The evaluator: every operator with its edge cases, selector order, actions,
// modes, rate limits, and the seed policies' expected verdicts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { Evaluator, VERDICT_CODES } from '../src/core/index.js';
import type { EvalArg } from '../src/core/types.js';
import {
  SEEDS,
  EGRESS_SUBST,
  loadDocs,
  image,
  evaluator,
  filePolicy,
  sockPolicy,
  mmapPolicy,
  policy,
  str,
  int,
  sock,
  event,
  verdictOf,
  POD,
  OPTS,
  seedTest,
} from './helpers/core.js';

/** does a single-filter selector on security_file_permission match? */
function fileMatch(operator: string, values: unknown[] | undefined, p: string, mask = 4n): boolean {
  const f: Record<string, unknown> = { index: 0n, operator };
  if (values) f.values = values;
  const ev = evaluator([filePolicy([{ matchArgs: [f] }])]);
  return verdictOf(ev, event('security_file_permission', [str(p), int(mask)])) === 'post';
}
function intMatch(operator: string, values: unknown[], v: bigint): boolean {
  const ev = evaluator([filePolicy([{ matchArgs: [{ index: 1n, operator, values }] }])]);
  return verdictOf(ev, event('security_file_permission', [str('/x'), int(v)])) === 'post';
}
function u32Match(operator: string, values: unknown[], v: bigint): boolean {
  const ev = evaluator([mmapPolicy([{ matchArgs: [{ index: 1n, operator, values }] }])]);
  return verdictOf(ev, event('security_mmap_file', [str('/x'), int(v), int(0)])) === 'post';
}
function sockMatch(operator: string, values: unknown[] | undefined, s: EvalArg): boolean {
  const f: Record<string, unknown> = { index: 0n, operator };
  if (values) f.values = values;
  const ev = evaluator([sockPolicy([{ matchArgs: [f] }])]);
  return verdictOf(ev, event('tcp_connect', [s])) === 'post';
}

// ---- seed policies ----

seedTest('seed file_monitoring_enforce: /etc/shadow read matches selector 0 with Sigkill', () => {
  const ev = new Evaluator(image(loadDocs(path.join(SEEDS, 'file_monitoring_enforce.yaml'))));
  const v = ev.evaluate(event('security_file_permission', [str('/etc/shadow'), int(4)], { pod: POD }));
  assert.is(v.verdict, 'kill');
  assert.is(v.matches.length, 1);
  assert.is(v.matches[0].hook, 0);
  assert.is(v.matches[0].selector, 0);
  assert.equal(v.matches[0].actions, ['Sigkill']);
  assert.is(v.matches[0].enforced, true);
  assert.is(v.matches[0].post, true);
  assert.is(v.matches[0].namespace, 'default');
});

seedTest('seed file_monitoring_enforce: /home/u/bar read matches nothing', () => {
  const ev = new Evaluator(image(loadDocs(path.join(SEEDS, 'file_monitoring_enforce.yaml'))));
  const v = ev.evaluate(event('security_file_permission', [str('/home/u/bar'), int(4)], { pod: POD }));
  assert.equal(v, { verdict: 'none', matches: [] });
});

seedTest('seed file_monitoring_enforce: postfix selector 1 and write selector 2', () => {
  const ev = new Evaluator(image(loadDocs(path.join(SEEDS, 'file_monitoring_enforce.yaml'))));
  let v = ev.evaluate(event('security_file_permission', [str('/home/u/.bashrc'), int(4)], { pod: POD }));
  assert.is(v.matches[0].selector, 1);
  v = ev.evaluate(event('security_file_permission', [str('/etc/hosts'), int(2)], { pod: POD }));
  assert.is(v.matches[0].selector, 2);
  // a read of /etc/hosts is in no read selector
  assert.is(verdictOf(ev, event('security_file_permission', [str('/etc/hosts'), int(4)], { pod: POD })), 'none');
  // mmap with prot 1 and MAP_SHARED on /boot
  v = ev.evaluate(event('security_mmap_file', [str('/boot/vmlinuz'), int(1), int(1)], { pod: POD }));
  assert.is(v.verdict, 'kill');
  assert.is(v.matches[0].hook, 1);
  // truncate
  assert.is(verdictOf(ev, event('security_path_truncate', [str('/var/log/syslog')], { pod: POD })), 'kill');
});

seedTest('seed file_monitoring_enforce: a namespaced policy ignores host processes and other namespaces', () => {
  const ev = new Evaluator(image(loadDocs(path.join(SEEDS, 'file_monitoring_enforce.yaml'))));
  const e = event('security_file_permission', [str('/etc/shadow'), int(4)]);
  assert.is(verdictOf(ev, { ...e, pod: null }), 'none');
  assert.is(verdictOf(ev, { ...e, pod: { ...POD, namespace: 'other' } }), 'none');
});

seedTest('seed file_monitoring (observe): monitor_only, posts without enforcing', () => {
  const ev = new Evaluator(image(loadDocs(path.join(SEEDS, 'file_monitoring.yaml'))));
  const v = ev.evaluate(event('security_file_permission', [str('/etc/shadow'), int(4)]));
  assert.is(v.verdict, 'post');
  assert.is(v.matches[0].mode, 'monitor_only');
  assert.is(v.matches[0].enforced, false);
});

seedTest('seed network_egress_cluster_enforce: 104.198.14.52:443 is killed, 10.44.1.2 is not', () => {
  const ev = new Evaluator(image(loadDocs(path.join(SEEDS, 'network_egress_cluster_enforce.yaml'), EGRESS_SUBST)));
  const v = ev.evaluate(event('tcp_connect', [sock({ daddr: '104.198.14.52', dport: 443 })], { pod: POD }));
  assert.is(v.verdict, 'kill');
  assert.is(v.matches[0].selector, 0);
  assert.is(verdictOf(ev, event('tcp_connect', [sock({ daddr: '10.44.1.2' })], { pod: POD })), 'none');
  assert.is(verdictOf(ev, event('tcp_connect', [sock({ daddr: '10.48.15.255' })], { pod: POD })), 'none');
  assert.is(verdictOf(ev, event('tcp_connect', [sock({ daddr: '10.48.16.0' })], { pod: POD })), 'kill');
  assert.is(verdictOf(ev, event('tcp_connect', [sock({ daddr: '127.0.0.1' })], { pod: POD })), 'none');
  assert.is(verdictOf(ev, event('tcp_connect', [sock({ daddr: '127.0.0.2' })], { pod: POD })), 'kill');
});

seedTest('seed network_egress_cluster (observe): cluster-wide, applies to host processes too', () => {
  const ev = new Evaluator(image(loadDocs(path.join(SEEDS, 'network_egress_cluster.yaml'), EGRESS_SUBST)));
  assert.is(verdictOf(ev, event('tcp_connect', [sock({ daddr: '1.1.1.1' })])), 'post');
  assert.is(verdictOf(ev, event('tcp_connect', [sock({ daddr: '1.1.1.1' })], { pod: POD })), 'post');
});

// ---- string operators ----

test('Prefix: boundaries', () => {
  assert.ok(fileMatch('Prefix', ['/etc'], '/etc'));
  assert.ok(fileMatch('Prefix', ['/etc'], '/etc/passwd'));
  assert.ok(fileMatch('Prefix', ['/etc'], '/etcetera')); // byte prefix, as Tetragon
  assert.not.ok(fileMatch('Prefix', ['/etc'], '/et'));
  assert.not.ok(fileMatch('Prefix', ['/etc'], '/usr/etc'));
  assert.ok(fileMatch('Prefix', ['/usr', '/etc/'], '/etc/x'));
  assert.ok(fileMatch('Prefix', [''], '/anything'));
});

test('Prefix: paths longer than the 255-byte key', () => {
  const long = '/' + 'a'.repeat(300);
  assert.ok(fileMatch('Prefix', ['/aaa'], long));
  assert.ok(fileMatch('Prefix', ['/' + 'a'.repeat(254)], long));
});

test('NotPrefix: not in the set', () => {
  assert.ok(fileMatch('NotPrefix', ['/etc', '/usr'], '/home/x'));
  assert.not.ok(fileMatch('NotPrefix', ['/etc', '/usr'], '/usr/bin/ls'));
  assert.not.ok(fileMatch('NotPrefix', ['/etc', '/usr'], '/etc'));
});

test('Postfix / NotPostfix', () => {
  assert.ok(fileMatch('Postfix', ['.bashrc'], '/home/u/.bashrc'));
  assert.ok(fileMatch('Postfix', ['.bashrc'], '.bashrc'));
  assert.not.ok(fileMatch('Postfix', ['.bashrc'], '/home/u/.bashrc.bak'));
  assert.not.ok(fileMatch('Postfix', ['.bashrc'], 'bashrc'));
  assert.ok(fileMatch('NotPostfix', ['.so', '.a'], '/lib/x.c'));
  assert.not.ok(fileMatch('NotPostfix', ['.so', '.a'], '/lib/libc.so'));
  const long = '/' + 'b'.repeat(400) + '.conf';
  assert.ok(fileMatch('Postfix', ['.conf'], long));
});

test('Equal is exact, not a prefix; NotEqual is "not in set"', () => {
  assert.ok(fileMatch('Equal', ['/etc/passwd'], '/etc/passwd'));
  assert.not.ok(fileMatch('Equal', ['/etc/passwd'], '/etc/passwd-'));
  assert.not.ok(fileMatch('Equal', ['/etc/passwd'], '/etc/pass'));
  assert.ok(fileMatch('Equal', ['/a', '/etc/passwd'], '/a'));
  assert.ok(fileMatch('NotEqual', ['/a', '/b'], '/c'));
  assert.not.ok(fileMatch('NotEqual', ['/a', '/b'], '/b'));
  assert.ok(fileMatch('NotEqual', ['/a', '/b'], '/ab'));
  assert.not.ok(fileMatch('Equal', ['x'.repeat(254)], 'x'.repeat(300)));
  assert.ok(fileMatch('Equal', ['x'.repeat(254)], 'x'.repeat(254)));
});

test('string values may be numbers', () => {
  assert.ok(fileMatch('Equal', [123n], '123'));
});

// ---- integer operators ----

test('Equal / NotEqual on int, with hex, octal and negative values', () => {
  assert.ok(intMatch('Equal', ['4'], 4n));
  assert.ok(intMatch('Equal', [4n], 4n));
  assert.not.ok(intMatch('Equal', ['4'], 2n));
  assert.ok(intMatch('Equal', ['0x10'], 16n));
  assert.ok(intMatch('Equal', ['010'], 8n));
  assert.ok(intMatch('Equal', ['-1'], -1n));
  assert.ok(intMatch('Equal', ['-1'], 0xffffffffn)); // an int is 32 bits: same value
  assert.ok(intMatch('NotEqual', ['1', '2'], 3n));
  assert.not.ok(intMatch('NotEqual', ['1', '2'], 2n));
});

test('GT / LT honour signedness', () => {
  assert.ok(intMatch('GT', ['5'], 6n));
  assert.not.ok(intMatch('GT', ['5'], 5n));
  assert.not.ok(intMatch('GT', ['0'], -1n)); // signed int: -1 < 0
  assert.ok(intMatch('LT', ['0'], -1n));
  assert.ok(u32Match('GT', ['0'], 0xffffffffn)); // unsigned: 4294967295 > 0
  assert.not.ok(u32Match('LT', ['1'], 0xffffffffn));
  assert.ok(intMatch('GreaterThan', ['1'], 2n));
  assert.ok(intMatch('lt', ['1'], 0n));
  assert.ok(intMatch('GT', ['10', '1'], 5n)); // values ORed
});

test('Mask: any bit in common', () => {
  assert.ok(intMatch('Mask', ['6'], 2n));
  assert.not.ok(intMatch('Mask', ['4'], 3n));
  assert.ok(intMatch('Mask', ['8', '1'], 1n));
  assert.not.ok(intMatch('Mask', ['0'], 0xffn));
});

test('InRange / NotInRange: inclusive bounds, negative ranges', () => {
  assert.ok(intMatch('InRange', ['1:3'], 1n));
  assert.ok(intMatch('InRange', ['1:3'], 3n));
  assert.not.ok(intMatch('InRange', ['1:3'], 4n));
  assert.not.ok(intMatch('InRange', ['1:3'], 0n));
  assert.ok(intMatch('InRange', ['-5:-1'], -3n));
  assert.ok(intMatch('InRange', ['0:1', '10:20'], 15n));
  assert.ok(intMatch('NotInRange', ['1:3'], 4n));
  assert.not.ok(intMatch('NotInRange', ['1:3', '5:6'], 5n));
  assert.ok(u32Match('InRange', ['4000000000:4294967295'], 4294967295n));
});

test('InMap / NotInMap: values and expanded ranges', () => {
  assert.ok(intMatch('InMap', ['1', '5:7', '100'], 6n));
  assert.ok(intMatch('InMap', ['1', '5:7', '100'], 100n));
  assert.not.ok(intMatch('InMap', ['1', '5:7', '100'], 8n));
  assert.ok(intMatch('InMap', ['-3:-1'], -2n));
  const many = Array.from({ length: 50 }, (_, i) => String(i * 3));
  assert.ok(intMatch('InMap', many, 147n));
  assert.not.ok(intMatch('InMap', many, 148n));
  assert.ok(intMatch('NotInMap', ['1', '2'], 3n));
  assert.not.ok(intMatch('NotInMap', ['1', '2'], 2n));
});

// ---- socket operators ----

test('DAddr / SAddr: IPv4 CIDRs including /0 and /32', () => {
  assert.ok(sockMatch('DAddr', ['10.0.0.0/8'], sock({ daddr: '10.1.2.3' })));
  assert.not.ok(sockMatch('DAddr', ['10.0.0.0/8'], sock({ daddr: '11.0.0.0' })));
  assert.ok(sockMatch('DAddr', ['0.0.0.0/0'], sock({ daddr: '8.8.8.8' })));
  assert.ok(sockMatch('DAddr', ['1.2.3.4/32'], sock({ daddr: '1.2.3.4' })));
  assert.not.ok(sockMatch('DAddr', ['1.2.3.4/32'], sock({ daddr: '1.2.3.5' })));
  assert.ok(sockMatch('DAddr', ['1.2.3.4'], sock({ daddr: '1.2.3.4' })));
  assert.ok(sockMatch('SAddr', ['192.168.0.0/16'], sock({ saddr: '192.168.9.9' })));
  assert.not.ok(sockMatch('SAddr', ['192.168.0.0/16'], sock({ saddr: '192.169.0.1' })));
  assert.ok(sockMatch('saddr', ['192.168.0.0/16'], sock({ saddr: '192.168.1.1' })));
});

test('NotDAddr / NotSAddr: not in the set', () => {
  assert.ok(sockMatch('NotDAddr', ['10.0.0.0/8', '127.0.0.1'], sock({ daddr: '8.8.8.8' })));
  assert.not.ok(sockMatch('NotDAddr', ['10.0.0.0/8', '127.0.0.1'], sock({ daddr: '127.0.0.1' })));
  assert.not.ok(sockMatch('NotSAddr', ['10.0.0.0/8'], sock({ saddr: '10.0.0.1' })));
});

test('IPv6 addresses and CIDRs incl. /0, /128 and ::ffff: forms', () => {
  const v6 = (daddr: string) => sock({ family: 10, daddr, saddr: '::1' });
  assert.ok(sockMatch('DAddr', ['fd00::/8'], v6('fd12:3456::1')));
  assert.not.ok(sockMatch('DAddr', ['fd00::/8'], v6('fe80::1')));
  assert.ok(sockMatch('DAddr', ['::/0'], v6('2001:db8::1')));
  assert.ok(sockMatch('DAddr', ['2001:db8::1/128'], v6('2001:db8::1')));
  assert.not.ok(sockMatch('DAddr', ['2001:db8::1/128'], v6('2001:db8::2')));
  assert.ok(sockMatch('DAddr', ['2001:db8:0:0:8000::/65'], v6('2001:db8::8000:0:0:1')));
  assert.not.ok(sockMatch('DAddr', ['2001:db8:0:0:8000::/65'], v6('2001:db8::1')));
  assert.ok(sockMatch('DAddr', ['::ffff:10.0.0.0/104'], v6('::ffff:10.9.8.7')));
  // families do not mix: an IPv4 CIDR never matches an IPv6 socket
  assert.not.ok(sockMatch('DAddr', ['0.0.0.0/0'], v6('::1')));
  assert.ok(sockMatch('NotDAddr', ['0.0.0.0/0'], v6('::1')));
});

test('SPort / DPort / NotSPort / NotDPort with ranges', () => {
  assert.ok(sockMatch('DPort', ['443'], sock({ dport: 443 })));
  assert.not.ok(sockMatch('DPort', ['443'], sock({ dport: 80 })));
  assert.ok(sockMatch('DPort', ['8000:8080'], sock({ dport: 8000 })));
  assert.ok(sockMatch('DPort', ['8000:8080'], sock({ dport: 8080 })));
  assert.not.ok(sockMatch('DPort', ['8000:8080'], sock({ dport: 8081 })));
  assert.ok(sockMatch('SPort', [40000n], sock({ sport: 40000 })));
  assert.ok(sockMatch('NotDPort', ['22', '23'], sock({ dport: 443 })));
  assert.not.ok(sockMatch('NotDPort', ['22', '23'], sock({ dport: 22 })));
  assert.not.ok(sockMatch('NotSPort', ['1:65535'], sock({ sport: 5 })));
  assert.ok(sockMatch('sport', ['5'], sock({ sport: 5 })));
});

test('Priv ops: port < 1024', () => {
  assert.ok(sockMatch('DPortPriv', undefined, sock({ dport: 1023 })));
  assert.not.ok(sockMatch('DPortPriv', undefined, sock({ dport: 1024 })));
  assert.ok(sockMatch('NotDPortPriv', undefined, sock({ dport: 1024 })));
  assert.ok(sockMatch('SPortPriv', undefined, sock({ sport: 0 })));
  assert.ok(sockMatch('NotSportPriv', undefined, sock({ sport: 50000 }))); // the CRD's spelling
  assert.not.ok(sockMatch('NotSPortPriv', undefined, sock({ sport: 22 })));
});

test('Family / Protocol / State by name and number', () => {
  assert.ok(sockMatch('Family', ['AF_INET'], sock({ family: 2 })));
  assert.not.ok(sockMatch('Family', ['AF_INET6'], sock({ family: 2 })));
  assert.ok(sockMatch('Family', ['10'], sock({ family: 10, daddr: '::1', saddr: '::1' })));
  assert.ok(sockMatch('Protocol', ['IPPROTO_TCP'], sock({ protocol: 6 })));
  assert.ok(sockMatch('Protocol', ['17', 'IPPROTO_TCP'], sock({ protocol: 17 })));
  assert.not.ok(sockMatch('Protocol', ['IPPROTO_UDP'], sock({ protocol: 6 })));
  assert.ok(sockMatch('State', ['TCP_SYN_SENT'], sock({ state: 2 })));
  assert.ok(sockMatch('State', ['TCP_ESTABLISHED'], sock({ state: 1 })));
  assert.not.ok(sockMatch('State', ['TCP_LISTEN'], sock({ state: 1 })));
});

// ---- selectors ----

test('selectors are tried in order: the first full match wins', () => {
  const ev = evaluator([
    filePolicy([
      {
        matchArgs: [
          { index: 0n, operator: 'Prefix', values: ['/etc'] },
          { index: 1n, operator: 'Equal', values: ['2'] },
        ],
        matchActions: [{ action: 'Sigkill' }],
      },
      { matchArgs: [{ index: 0n, operator: 'Prefix', values: ['/etc'] }] },
      { matchActions: [{ action: 'Sigkill' }] },
    ]),
  ]);
  let v = ev.evaluate(event('security_file_permission', [str('/etc/a'), int(2)]));
  assert.is(v.matches[0].selector, 0);
  assert.is(v.verdict, 'kill');
  v = ev.evaluate(event('security_file_permission', [str('/etc/a'), int(4)]));
  assert.is(v.matches.length, 1);
  assert.is(v.matches[0].selector, 1);
  assert.is(v.verdict, 'post');
  v = ev.evaluate(event('security_file_permission', [str('/usr/a'), int(4)]));
  assert.is(v.matches[0].selector, 2); // a selector with no filters matches everything
  assert.is(v.verdict, 'kill');
});

test('multiple matchArgs entries are ANDed', () => {
  const ev = evaluator([
    filePolicy([
      {
        matchArgs: [
          { index: 0n, operator: 'Prefix', values: ['/etc'] },
          { index: 0n, operator: 'Postfix', values: ['.conf'] },
        ],
      },
    ]),
  ]);
  assert.is(verdictOf(ev, event('security_file_permission', [str('/etc/a.conf'), int(0)])), 'post');
  assert.is(verdictOf(ev, event('security_file_permission', [str('/etc/a.txt'), int(0)])), 'none');
});

test('a hook without selectors posts every hit (selector -1)', () => {
  const ev = evaluator([policy({ kprobes: [{ call: 'security_path_truncate', args: [{ index: 0n, type: 'path' }] }] })]);
  const v = ev.evaluate(event('security_path_truncate', [str('/x')]));
  assert.is(v.verdict, 'post');
  assert.is(v.matches[0].selector, -1);
  assert.equal(v.matches[0].actions, ['Post']);
});

test('an event of another hook, kind or with a missing argument does not match', () => {
  const ev = evaluator([filePolicy([{ matchArgs: [{ index: 1n, operator: 'Equal', values: ['4'] }] }])]);
  assert.is(verdictOf(ev, event('security_path_truncate', [str('/x')])), 'none');
  assert.is(verdictOf(ev, { ...event('security_file_permission', [str('/x'), int(4)]), kind: 'uprobe' }), 'none');
  assert.is(verdictOf(ev, event('security_file_permission', [str('/x')])), 'none');
  assert.is(verdictOf(ev, event('security_file_permission', [str('/x'), str('4')])), 'none');
});

test('matchBinaries In / NotIn / Prefix / Postfix', () => {
  const bin = (operator: string, values: string[], binary: string) =>
    verdictOf(evaluator([filePolicy([{ matchBinaries: [{ operator, values }] }])]), event('security_file_permission', [str('/x'), int(0)], { binary })) ===
    'post';
  assert.ok(bin('In', ['/usr/bin/cat'], '/usr/bin/cat'));
  assert.not.ok(bin('In', ['/usr/bin/cat'], '/usr/bin/catx'));
  assert.ok(bin('NotIn', ['/usr/bin/cat'], '/usr/bin/less'));
  assert.not.ok(bin('NotIn', ['/usr/bin/cat'], '/usr/bin/cat'));
  assert.ok(bin('Prefix', ['/usr/'], '/usr/bin/cat'));
  assert.ok(bin('NotPrefix', ['/usr/'], '/bin/cat'));
  assert.ok(bin('Postfix', ['/cat'], '/usr/bin/cat'));
  assert.not.ok(bin('NotPostfix', ['/cat'], '/usr/bin/cat'));
});

test('matchPIDs In / NotIn', () => {
  const pid = (operator: string, values: unknown[], p: number) =>
    verdictOf(evaluator([filePolicy([{ matchPIDs: [{ operator, values }] }])]), event('security_file_permission', [str('/x'), int(0)], { pid: p })) === 'post';
  assert.ok(pid('In', [1n, 100n], 100));
  assert.not.ok(pid('In', [1n], 100));
  assert.ok(pid('NotIn', [1n], 100));
  assert.not.ok(pid('NotIn', ['100'], 100));
});

test('matchReturnArgs filters on the return value; an event without one does not match', () => {
  const ev = evaluator([
    filePolicy([{ matchReturnArgs: [{ index: 0n, operator: 'Equal', values: ['-13'] }] }], { return: true, returnArg: { index: 0n, type: 'int' } }),
  ]);
  const e = event('security_file_permission', [str('/x'), int(4)]);
  assert.is(verdictOf(ev, { ...e, ret: int(-13) }), 'post');
  assert.is(verdictOf(ev, { ...e, ret: int(0) }), 'none');
  assert.is(verdictOf(ev, e), 'none');
});

// ---- actions and modes ----

test('verdict is the strongest enforced action: kill > override > signal', () => {
  const hook = (call: string, args: unknown[], action: Record<string, unknown>) => ({ call, args, selectors: [{ matchActions: [action] }] });
  const docs = [
    policy({ kprobes: [hook('security_file_permission', [{ index: 0n, type: 'file' }], { action: 'Signal', argSig: 'SIGUSR1' })] }, { name: 'a' }),
    policy({ kprobes: [hook('security_file_permission', [{ index: 0n, type: 'file' }], { action: 'Override', argError: -1n })] }, { name: 'b' }),
  ];
  const e = event('security_file_permission', [str('/x')]);
  assert.is(verdictOf(evaluator([docs[0]]), e), 'signal');
  assert.is(verdictOf(evaluator(docs), e), 'override');
  const c = policy({ kprobes: [hook('security_file_permission', [{ index: 0n, type: 'file' }], { action: 'Sigkill' })] }, { name: 'c' });
  const v = evaluator([...docs, c]).evaluate(e);
  assert.is(v.verdict, 'kill');
  assert.is(v.matches.length, 3);
  assert.equal(
    v.matches.map((m) => m.policy),
    ['a', 'b', 'c'],
  );
});

test('NoPost: enforces without posting; Post is implied otherwise', () => {
  const ev = evaluator([filePolicy([{ matchActions: [{ action: 'Sigkill' }, { action: 'NoPost' }] }])]);
  const v = ev.evaluate(event('security_file_permission', [str('/x'), int(0)]));
  assert.is(v.verdict, 'kill');
  assert.is(v.matches[0].post, false);
  const ev2 = evaluator([filePolicy([{ matchActions: [{ action: 'NoPost' }] }])]);
  const v2 = ev2.evaluate(event('security_file_permission', [str('/x'), int(0)]));
  assert.is(v2.verdict, 'none');
  assert.is(v2.matches.length, 1);
  assert.equal(v2.matches[0].actions, ['NoPost']);
});

test('monitor mode: enforcement is not carried out, Post still posts', () => {
  const doc = filePolicy([{ matchActions: [{ action: 'Sigkill' }] }]);
  const e = event('security_file_permission', [str('/x'), int(0)]);
  const v = evaluator([doc], { ...OPTS, mode: 'monitor' }).evaluate(e);
  assert.is(v.verdict, 'post');
  assert.is(v.matches[0].mode, 'monitor');
  assert.is(v.matches[0].enforced, false);
  assert.is(v.matches[0].post, true);
});

test('mode precedence: spec option < load-time < run-time', () => {
  const doc = filePolicy([{ matchActions: [{ action: 'Sigkill' }] }]);
  (doc.spec as Record<string, unknown>).options = [{ name: 'policy-mode', value: 'monitor' }];
  const e = event('security_file_permission', [str('/x'), int(0)]);
  assert.is(verdictOf(evaluator([doc]), e), 'post');
  const ev = evaluator([doc], { ...OPTS, mode: 'enforce' });
  assert.is(verdictOf(ev, e), 'kill');
  assert.equal(ev.setRuntimeMode(0, 'monitor'), { ok: true, mode: 'monitor' });
  assert.is(verdictOf(ev, e), 'post');
  assert.equal(ev.setRuntimeMode(0, 'enforce'), { ok: true, mode: 'enforce' });
  assert.is(verdictOf(ev, e), 'kill');
});

test('setRuntimeMode errors: monitor_only, invalid mode, unknown index', () => {
  const ev = evaluator([filePolicy([{}])]);
  assert.equal(ev.setRuntimeMode(0, 'enforce'), {
    ok: false,
    error: 'policy "p" is monitor_only (it has no enforcement action); its mode cannot be set',
  });
  const ev2 = evaluator([filePolicy([{ matchActions: [{ action: 'Sigkill' }] }])]);
  assert.equal(ev2.setRuntimeMode(0, 'audit'), { ok: false, error: 'invalid mode "audit" (expected enforce or monitor)' });
  const r = ev2.setRuntimeMode(3, 'enforce');
  assert.is(r.ok, false);
});

test('Post rateLimit: one event per interval and key, by event time', () => {
  const ev = evaluator([filePolicy([{ matchActions: [{ action: 'Post', rateLimit: '1s' }] }])]);
  const at = (t: bigint, p = '/x', tid = 101) => ev.evaluate(event('security_file_permission', [str(p), int(0)], { timeNs: t, tid })).matches[0].post;
  assert.is(at(1_000_000_000n), true);
  assert.is(at(1_500_000_000n), false);
  assert.is(at(1_500_000_000n, '/y'), true); // other arguments: another key
  assert.is(at(1_600_000_000n, '/x', 7), true); // thread scope: another thread
  assert.is(at(1_999_999_999n), false);
  assert.is(at(2_000_000_000n), true);
  const glob = evaluator([filePolicy([{ matchActions: [{ action: 'Post', rateLimit: '1m', rateLimitScope: 'global' }] }])]);
  const g = (t: bigint, tid: number) => glob.evaluate(event('security_file_permission', [str('/x'), int(0)], { timeNs: t, tid, pid: tid })).matches[0].post;
  assert.is(g(0n, 1), true);
  assert.is(g(10n, 2), false);
});

seedTest('evaluateEncoded agrees with evaluate and reports codes', () => {
  const ev = new Evaluator(image(loadDocs(path.join(SEEDS, 'network_egress_cluster_enforce.yaml'), EGRESS_SUBST)));
  const e1 = event('tcp_connect', [sock({ daddr: '104.198.14.52' })], { pod: POD });
  const e2 = event('tcp_connect', [sock({ daddr: '10.44.1.2' })], { pod: POD });
  assert.is(ev.evaluateEncoded(ev.encode(e1)), VERDICT_CODES.kill);
  assert.is(ev.lastVerdict(VERDICT_CODES.kill).matches[0].policy, 'enforce-network-activity-outside-cluster-cidr-range');
  assert.is(ev.evaluateEncoded(ev.encode(e2)), VERDICT_CODES.none);
  assert.is(ev.evaluateEncoded(new Uint8Array(8)), VERDICT_CODES.invalid);
  const rec = ev.encode(e1);
  const truncated = rec.slice(0, 60);
  assert.is(ev.evaluateEncoded(truncated), VERDICT_CODES.invalid);
});

test.run();

test('a kprobe on a syscall matches the syscall under any entry-point name, and only that syscall', () => {
  const sys = (call: string) =>
    evaluator([
      policy({
        kprobes: [
          {
            call,
            syscall: true,
            args: [{ index: 0n, type: 'int' }],
            selectors: [{ matchArgs: [{ index: 0n, operator: 'Equal', values: ['-1'] }], matchActions: [{ action: 'Sigkill' }] }],
          },
        ],
      }),
    ]);
  for (const call of ['sys_lseek', '__x64_sys_lseek']) {
    const ev = sys(call);
    for (const name of ['sys_lseek', '__x64_sys_lseek', '__arm64_sys_lseek']) assert.is(verdictOf(ev, event(name, [int(-1n)])), 'kill', `${call} vs ${name}`);
    assert.is(verdictOf(ev, event('__x64_sys_lseek', [int(3n)])), 'none', 'the selector still decides');
    for (const name of ['__x64_sys_lseekx', 'sys_llseek', 'do_lseek']) assert.is(verdictOf(ev, event(name, [int(-1n)])), 'none', `${call} vs ${name}`);
  }
  // syscall: false keeps the name exact, as Tetragon attaches it as written
  const exact = evaluator([policy({ kprobes: [{ call: 'sys_lseek', syscall: false, args: [{ index: 0n, type: 'int' }] }] })]);
  assert.is(verdictOf(exact, event('sys_lseek', [int(1n)])), 'post');
  assert.is(verdictOf(exact, event('__x64_sys_lseek', [int(1n)])), 'none');
});
