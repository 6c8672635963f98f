// The host-side event record writer against the core's encoder, byte for byte,
// and the fast evaluation path against Evaluator.evaluate, verdict for verdict.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compile, Evaluator } from '../src/core/index.js';
import type { EvalEvent } from '../src/core/types.js';
import { DryRunPipeline, fastEvaluate, mergeVerdicts } from '../src/events/dryrun.js';
import { coreHookLookup, parseEventLineForEval, RecordWriter, toEvalEvent } from '../src/events/index.js';
import { checkPolicies } from '../src/policy/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const POLICIES = ['file-monitoring-enforce', 'egress-cluster-enforce', 'file-monitoring', 'egress-xwing-enforce'];

function image(names = POLICIES): { image: Uint8Array; docs: unknown[] } {
  const inputs = names.map((n) => ({ name: n, text: readFileSync(path.join(ROOT, 'examples', `${n}.yaml`), 'utf8') }));
  const c = checkPolicies(inputs, { defaultNamespace: 'default' }, compile);
  assert.ok(c.image !== null);
  return { image: c.image!, docs: c.documents.map((d) => d.value) };
}

function exampleEvents(): EvalEvent[] {
  const lines = ['cat-shadow', 'echo-bar', 'curl-egress', 'host-cat-shadow'].flatMap((f) =>
    readFileSync(path.join(ROOT, 'examples/events', `${f}.jsonl`), 'utf8')
      .trim()
      .split('\n'),
  );
  return lines
    .map((l) => {
      const r = parseEventLineForEval(l);
      return r.ok ? toEvalEvent(r.event) : null;
    })
    .filter((e): e is EvalEvent => e !== null);
}

const base: EvalEvent = { kind: 'kprobe', hook: 'tcp_connect', timeNs: 5n, pid: 1, tid: 2, binary: '/bin/b', pod: null, args: [] };

function synthetic(): EvalEvent[] {
  const sock = (saddr: string, daddr: string) => ({ kind: 'sock' as const, family: 10, protocol: 6, state: 2, saddr, daddr, sport: 1, dport: 65535 });
  return [
    { ...base, args: [sock('::1', '2001:db8::8a2e:370:7334')] },
    { ...base, args: [sock('::ffff:10.0.0.1', 'fe80::1')] },
    { ...base, args: [sock('not-an-address', '300.1.1.1')] },
    { ...base, args: [sock('', '010.1.1.1')] },
    {
      ...base,
      hook: 'security_file_permission',
      args: [
        { kind: 'str', value: '/tmp/é✓🚀' },
        { kind: 'int', value: -1n },
      ],
      ret: { kind: 'int', value: 18446744073709551615n },
    },
    { ...base, hook: 'security_mmap_file', args: [{ kind: 'none' }, { kind: 'int', value: 1n << 70n }] },
    { ...base, hook: 'no_such_hook', args: Array.from({ length: 11 }, (_, i) => ({ kind: 'int' as const, value: BigInt(i) })) },
    { ...base, kind: 'tracepoint', hook: 'raw_syscalls/sys_enter' },
    { ...base, pod: { namespace: 'default', name: 'xwing', labels: {} } },
    { ...base, pod: { namespace: 'ns', name: 'p', labels: { '2': 'two', app: 'x', ünï: 'cödé' }, container: { name: 'c', repo: 'r' } } },
    { ...base, timeNs: -1n, pid: 4294967295, tid: 0 },
  ];
}

test('RecordWriter writes the bytes Evaluator.encode writes', () => {
  const ev = new Evaluator(image().image);
  const w = new RecordWriter(coreHookLookup((e) => ev.encode(e)));
  for (const e of [...exampleEvents(), ...synthetic()]) {
    const want = Buffer.from(ev.encode(e));
    const got = Buffer.from(w.write(e));
    assert.ok(
      got.equals(want),
      `${e.hook} ${JSON.stringify(e.args, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}\n got ${got.toString('hex')}\nwant ${want.toString('hex')}`,
    );
  }
});

test('a pod is written the same from its cache', () => {
  const ev = new Evaluator(image().image);
  const w = new RecordWriter(coreHookLookup((e) => ev.encode(e)));
  const pod = { namespace: 'default', name: 'xwing', labels: { app: 'xwing' }, container: { name: 'c', repo: 'r' } };
  const e = { ...base, pod };
  const first = Buffer.from(w.write(e));
  const second = Buffer.from(w.write({ ...e, pid: 9 }));
  assert.ok(Buffer.from(ev.encode({ ...e, pid: 9 })).equals(second));
  assert.is(first.length, second.length);
});

test('fastEvaluate gives the verdicts Evaluator.evaluate gives', () => {
  const { image: img } = image();
  const slow = new Evaluator(img);
  const fast = fastEvaluate(new Evaluator(img));
  const events = [...exampleEvents(), ...synthetic()];
  let kills = 0;
  for (const e of events) {
    const want = slow.evaluate(e);
    assert.equal(fast(e), want, e.hook);
    if (want.verdict === 'kill') kills++;
  }
  assert.ok(kills >= 4);
});

test('silent matches (NoPost) are kept: the core counts them even when the verdict is none', () => {
  const nopost = readFileSync(path.join(ROOT, 'examples/file-monitoring-enforce.yaml'), 'utf8').replace(/action: Sigkill/g, 'action: NoPost');
  const c = checkPolicies([{ name: 'n.yaml', text: nopost }], { defaultNamespace: 'default' }, compile);
  assert.ok(c.image !== null);
  const read = exampleEvents().find((e) => e.hook === 'security_file_permission' && e.args[0].kind === 'str' && e.args[0].value === '/etc/shadow')!;
  const slow = new Evaluator(c.image!).evaluate(read);
  const fast = fastEvaluate(new Evaluator(c.image!))(read);
  assert.equal(fast, slow);
  assert.is(slow.verdict, 'none');
  assert.ok(slow.matches.length > 0 && !slow.matches[0].post, 'a silent match');
});

test('mergeVerdicts: the strongest verdict, every match', () => {
  const m = (policy: string) => ({
    policy,
    namespace: null,
    policyIndex: 0,
    hook: 0,
    selector: 0,
    actions: ['Post'],
    mode: 'enforce' as const,
    enforced: false,
    post: true,
  });
  const v = mergeVerdicts([
    { verdict: 'post', matches: [m('a')] },
    { verdict: 'kill', matches: [m('b')] },
    { verdict: 'none', matches: [] },
  ]);
  assert.is(v.verdict, 'kill');
  assert.equal(
    v.matches.map((x) => x.policy),
    ['a', 'b'],
  );
});

test('DryRunPipeline: json lines, blanks, malformed lines and counts', () => {
  const ev = new Evaluator(image(['file-monitoring-enforce']).image);
  const p = new DryRunPipeline((e) => ev.evaluate(e), { format: 'json' });
  const lines = readFileSync(path.join(ROOT, 'examples/events/cat-shadow.jsonl'), 'utf8').trim().split('\n');
  const out = [p.line(lines[0], 0), p.line('   ', 1), p.line('{oops', 2), p.line(lines[2], 3)];
  assert.is(out[0], '{"index":0,"verdict":"none","matches":[]}\n');
  assert.is(out[1], '');
  assert.is(out[2], null);
  assert.match(p.lastError, /invalid JSON/);
  assert.is(
    out[3],
    '{"index":3,"verdict":"kill","matches":[{"policy":"file-monitoring-enforce","namespace":"default","selector":0,"actions":["Sigkill"],"mode":"enforce","enforced":true}]}\n',
  );
  assert.equal(p.counts, { events: 2, kill: 1, override: 0, signal: 0, post: 0, none: 1, malformed: 1, blank: 1, unknown: 0 });
  assert.is(p.summary(), '2 events: 1 kill, 0 override, 0 signal, 0 post, 1 none; 1 malformed line skipped');
});

test.run();
