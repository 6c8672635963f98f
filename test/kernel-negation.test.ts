// matchBinaries NotIn / NotPrefix / NotPostfix in the running kernel (root
// only): the programs negate by the image's selector flags (TLN_SEL_F_BIN_NEGATE,
// set by the core), with no list of operators of their own. Two copies of cat
// open files of the test's temp dir; only the copy the Not* operator does not
// name posts, and the Wasm evaluator gives each record the same selector.
// Safety: the policy only posts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { Kernel } from '../src/kernel/index.js';
import type { HookRecord, TlnRecord } from '../src/kernel/records.js';
import type { EvalEvent } from '../src/core/types.js';
import { bpftoolTlnProgs, kernelSkipReason, sleep } from './helpers/kernel.js';

const S = suite('kernel: matchBinaries negation by the image flag');
const skip = kernelSkipReason();
const tmp = `/tmp/talon-neg-${process.pid}`;
const recs: TlnRecord[] = [];
let k: Kernel | undefined;

const policy = (dir: string) => `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "test-bin-negation"
spec:
  tracepoints:
  - subsystem: "syscalls"
    event: "sys_enter_openat"
    args:
    - index: 6
      type: "string"
    selectors:
    - matchArgs: [{ index: 6, operator: "Prefix", values: ["${dir}/f-in-"] }]
      matchBinaries: [{ operator: "NotIn", values: ["${dir}/a/cat"] }]
    - matchArgs: [{ index: 6, operator: "Prefix", values: ["${dir}/f-prefix-"] }]
      matchBinaries: [{ operator: "NotPrefix", values: ["${dir}/a/"] }]
    - matchArgs: [{ index: 6, operator: "Prefix", values: ["${dir}/f-postfix-"] }]
      matchBinaries: [{ operator: "NotPostfix", values: ["/a/cat"] }]
`;

if (skip) {
  S('skipped', () => console.log(`  skipped: ${skip}`));
} else {
  S.after(() => {
    try {
      k?.close();
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  S('each Not* operator posts for the other binary only; kernel and Wasm agree', async () => {
    for (const d of ['a', 'b']) {
      mkdirSync(join(tmp, d), { recursive: true });
      copyFileSync('/usr/bin/cat', join(tmp, d, 'cat'));
      spawnSync('chmod', ['755', join(tmp, d, 'cat')]);
    }
    const files = ['f-in-x', 'f-prefix-x', 'f-postfix-x'];
    for (const f of files) writeFileSync(join(tmp, f), 'talon\n');
    const core = await import('../src/core/index.js');
    const docs = YAML.parseAllDocuments(policy(tmp), { intAsBigInt: true }).map((d) => d.toJS({}));
    const r = core.compile(docs, { defaultNamespace: 'talon-test' });
    assert.ok(r.image, JSON.stringify(r.diagnostics));
    const spec = core.inspectImage(r.image!)[0];
    k = await Kernel.open({ procfs: false });
    k.onRecords((rs) => recs.push(...rs));
    const p = k.loadPolicy(spec, 9300);
    for (const d of ['a', 'b']) for (const f of files) assert.is(spawnSync(join(tmp, d, 'cat'), [join(tmp, f)]).status, 0);
    let n = -1;
    for (let i = 0; i < 40 && n !== recs.length; i++) {
      n = recs.length;
      await sleep(100);
    }
    const mine = recs.filter((x): x is HookRecord => x.type === 'hook' && x.policyId === p.id);
    const got = mine.map((x) => [x.selector, x.binary, String(x.args[0].kind === 'str' ? x.args[0].value : '')]).sort();
    assert.equal(
      got,
      files.map((f, i) => [i, join(tmp, 'b', 'cat'), join(tmp, f)]),
      'one record per selector, all from b/cat',
    );
    const ev = new core.Evaluator(r.image!);
    for (const x of mine) {
      const e: EvalEvent = { kind: 'tracepoint', hook: spec.hooks[0].name, timeNs: x.ktime, pid: x.pid, tid: x.tid, binary: x.binary, pod: null, args: x.args };
      const v = ev.evaluate(e);
      assert.is(v.verdict, 'post');
      assert.is(v.matches[0].selector, x.selector);
    }
    // the Wasm evaluator also refuses a/cat, as the kernel did
    const a: EvalEvent = {
      kind: 'tracepoint',
      hook: spec.hooks[0].name,
      timeNs: 1n,
      pid: 1,
      tid: 1,
      binary: join(tmp, 'a', 'cat'),
      pod: null,
      args: [{ kind: 'str', value: join(tmp, files[0]) }],
    };
    assert.is(ev.evaluate(a).verdict, 'none');
  });

  S('close: no tln_ program of ours remains', async () => {
    const ours = new Set(k!.policies().flatMap((p) => p.programs().map((x) => k!.shim.progInfo(x.fd).id)));
    k!.close();
    const left = () => bpftoolTlnProgs().filter((x) => ours.has(x.id));
    for (let i = 0; i < 100 && left().length; i++) await sleep(50);
    assert.equal(left(), []);
  });
}

S.run();
