// The match records of the last evaluation (docs/map-format.md §4.2) and
// Evaluator.lastVerdict, which reads them in place: the same Verdict as the
// core's JSON, for every kind of match.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { abiTable, Evaluator } from '../src/core/index.js';
import { Core } from '../src/core/wasm.js';
import type { EvalEvent } from '../src/core/types.js';
import { image, policy, str, int, sock, event, POD } from './helpers/core.js';

const fileArgs = [
  { index: 0n, type: 'file' },
  { index: 1n, type: 'int' },
];

/** several policies, several hooks each: ordered and repeated actions, NoPost, rate limits, modes, no selectors */
function docs(): unknown[] {
  return [
    policy(
      {
        kprobes: [
          {
            call: 'security_file_permission',
            syscall: false,
            args: fileArgs,
            selectors: [
              { matchArgs: [{ index: 0n, operator: 'Prefix', values: ['/etc'] }], matchActions: [{ action: 'Post', rateLimit: '1m' }, { action: 'Sigkill' }] },
              { matchArgs: [{ index: 0n, operator: 'Prefix', values: ['/tmp'] }], matchActions: [{ action: 'NoPost' }] },
              { matchArgs: [{ index: 0n, operator: 'Prefix', values: ['/var'] }], matchActions: [{ action: 'Signal', argSig: 9n }, { action: 'Post' }] },
            ],
          },
          {
            call: 'tcp_connect',
            args: [{ index: 0n, type: 'sock' }],
            selectors: [{ matchArgs: [{ index: 0n, operator: 'DPort', values: ['443'] }], matchActions: [{ action: 'Sigkill' }] }],
          },
        ],
      },
      { name: 'a' },
    ),
    policy({ kprobes: [{ call: 'security_file_permission', syscall: false, args: fileArgs }] }, { name: 'b', namespace: 'default' }, 'TracingPolicyNamespaced'),
    policy(
      {
        options: [{ name: 'policy-mode', value: 'monitor' }],
        kprobes: [
          { call: 'tcp_connect', args: [{ index: 0n, type: 'sock' }] },
          {
            call: 'security_file_permission',
            syscall: false,
            args: fileArgs,
            selectors: [{ matchArgs: [{ index: 0n, operator: 'Postfix', values: ['shadow'] }], matchActions: [{ action: 'Sigkill' }] }],
          },
        ],
      },
      { name: 'c' },
    ),
  ];
}

function events(): EvalEvent[] {
  const out: EvalEvent[] = [];
  const paths = ['/etc/shadow', '/tmp/x', '/var/log/syslog', '/home/u/.bashrc', '/etc/passwd'];
  for (let i = 0; i < 60; i++) {
    const timeNs = BigInt(i) * 10_000_000_000n; // 10 s apart: the 1m rate limit lets every 6th through
    const pod = i % 3 === 0 ? null : POD;
    if (i % 4 === 3) out.push(event('tcp_connect', [sock({ dport: i % 8 === 3 ? 443 : 80 })], { timeNs, pod }));
    else out.push(event('security_file_permission', [str(paths[i % paths.length]), int(4)], { timeNs, pod, pid: 100 + (i % 2) }));
  }
  out.push(event('not_a_hook', [], {}));
  return out;
}

test('lastVerdict gives what the core JSON gives, through mode changes', () => {
  const img = image(docs());
  const slow = new Evaluator(img);
  const fast = new Evaluator(img);
  const seen = new Set<string>();
  const round = (): void => {
    for (const e of events()) {
      const want = slow.evaluate(e);
      const got = fast.lastVerdict(fast.evaluateEncoded(fast.encode(e)));
      assert.equal(got, want, `${e.hook} ${e.args[0]?.kind === 'str' ? e.args[0].value : ''}`);
      for (const m of got.matches) seen.add(`${m.policy}/${m.hook}/${m.selector} ${m.actions.join(',')} ${m.mode} ${m.enforced} ${m.post}`);
    }
  };
  round();
  for (const ev of [slow, fast]) assert.equal(ev.setRuntimeMode(0, 'monitor'), { ok: true, mode: 'monitor' });
  round();
  for (const ev of [slow, fast]) assert.equal(ev.setRuntimeMode(0, 'enforce'), { ok: true, mode: 'enforce' });
  round();
  // every kind of match came up
  for (const want of [
    'a/0/0 Post,Sigkill enforce true true',
    'a/0/0 Post,Sigkill enforce true false', // rate limited
    'a/0/0 Post,Sigkill monitor false true',
    'a/0/1 NoPost enforce false false',
    'a/0/2 Signal,Post enforce true true',
    'a/1/0 Sigkill enforce true true',
    'b/0/-1 Post monitor_only false true',
    'c/0/-1 Post monitor false true',
    'c/1/0 Sigkill monitor false true',
  ]) {
    assert.ok(seen.has(want), `no match ${want} among:\n${[...seen].join('\n')}`);
  }
});

test('lastVerdict: every call gives objects of its own', () => {
  const ev = new Evaluator(image(docs()));
  const e = event('security_file_permission', [str('/var/x'), int(4)], { pod: POD });
  const code = ev.evaluateEncoded(ev.encode(e));
  const a = ev.lastVerdict(code);
  a.matches[0].actions.push('Override');
  a.matches[0].policy = 'changed';
  const b = ev.lastVerdict(code);
  assert.equal(b.matches[0].actions, ['Signal', 'Post']);
  assert.is(b.matches[0].policy, 'a');
  // an invalid record: no matches
  assert.equal(ev.lastVerdict(ev.evaluateEncoded(new Uint8Array(8))), { verdict: 'none', matches: [] });
});

test('the match records: layout of docs/map-format.md §4.2', () => {
  const abi = abiTable();
  const img = image(docs());
  const ev = new Evaluator(img);
  const rec = ev.encode(event('security_file_permission', [str('/etc/shadow'), int(4)], { pod: POD }));
  const core = new Core();
  core.x.evalCreate(core.input(img));
  const ptr = core.x.evalMatchesPtr();
  assert.ok(ptr > 0);
  const p = core.x.recordPtr(rec.length);
  core.mem().set(rec, p);
  assert.is(core.x.evalRecord(rec.length), 4); // kill
  const dv = new DataView(core.mem().buffer, ptr);
  assert.is(dv.getUint32(0, true), 3); // a/0/0, b/0/-1, c/1/0
  assert.is(dv.getUint32(4, true), 16);
  assert.is(dv.getUint32(8, true), 0); // every selector decided
  const r = (i: number) => ({
    policy: dv.getUint32(16 + i * 16, true),
    hook: dv.getUint16(16 + i * 16 + 4, true),
    selector: dv.getInt16(16 + i * 16 + 6, true),
    actions: dv.getUint16(16 + i * 16 + 8, true),
    mode: dv.getUint8(16 + i * 16 + 10),
    flags: dv.getUint8(16 + i * 16 + 11),
    pad: dv.getUint32(16 + i * 16 + 12, true),
  });
  const bit = (name: string) => 1 << abi[`TLN_ACT_${name}`];
  assert.equal(r(0), { policy: 0, hook: 0, selector: 0, actions: bit('POST') | bit('SIGKILL'), mode: abi.TLN_MODE_ENFORCE, flags: 3, pad: 0 });
  assert.equal(r(1), { policy: 1, hook: 0, selector: -1, actions: bit('POST'), mode: abi.TLN_MODE_MONITOR_ONLY, flags: 2, pad: 0 });
  assert.equal(r(2), { policy: 2, hook: 1, selector: 0, actions: bit('SIGKILL'), mode: abi.TLN_MODE_MONITOR, flags: 2, pad: 0 });
  // the next evaluation starts over
  const none = ev.encode(event('security_file_permission', [str('/home/u/x'), int(4)]));
  const q = core.x.recordPtr(none.length);
  core.mem().set(none, q);
  assert.is(core.x.evalRecord(none.length), 0);
  assert.is(new DataView(core.mem().buffer, ptr).getUint32(0, true), 0);
});

test.run();
