// Integer operators with several values, kernel against Wasm (root only).
// Each policy posts on syscalls/sys_enter_openat for files under this test's
// temp dir with two selectors: the operator under test first, then a
// catch-all. So every open posts a record whose selector says whether the
// operator matched, and the evaluator, given the same arguments, must pick
// the same selector: a disagreement in either direction fails. Each operator
// must both match and not match among the opens, so no case passes vacuously.
// Nothing here enforces: every policy only posts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, rmSync } from 'node:fs';
import YAML from 'yaml';
import { Kernel, type LoadedPolicy } from '../src/kernel/index.js';
import type { HookRecord, TlnRecord } from '../src/kernel/records.js';
import type { PolicySpec } from '../src/core/types.js';
import { kernelSkipReason, run, sleep } from './helpers/kernel.js';

const S = suite('kernel: integer operators, kernel vs Wasm');
const skip = kernelSkipReason();
const dir = `/tmp/talon-ops-${process.pid}`;

/** operator cases: [name, arg index (7 flags int, 8 mode uint32), operator, values] */
const CASES: [string, number, string, string[]][] = [
  ['GT any of two values', 7, 'GT', ['0x7fffffff', '0x80040']],
  ['LT any of two values', 8, 'LT', ['1', '300']],
  ['Mask any bit', 7, 'Mask', ['0x400', '0x40']],
  ['InRange two ranges', 8, 'InRange', ['0:8', '400:500']],
  ['NotInRange two ranges', 8, 'NotInRange', ['0:8', '400:500']],
  ['InMap with a range', 7, 'InMap', ['0x80000:0x80001', '0x80241']],
  ['NotInMap', 8, 'NotInMap', ['420']],
  ['Equal two values', 8, 'Equal', ['420', '384']],
  ['NotEqual two values', 7, 'NotEqual', ['0x80000', '0x80041']],
];

/** the opens: [flags, mode] (O_WRONLY 1, O_RDWR 2, O_CREAT 0x40, O_TRUNC 0x200, O_APPEND 0x400);
 * perl's sysopen adds O_CLOEXEC (0x80000) to each, so the flag values above include it */
const OPENS: [number, number][] = [
  [0x0, 0],
  [0x41, 0o644],
  [0x241, 0o600],
  [0x401, 0],
  [0x42, 0o444],
  [0x0, 450],
];

function policy(i: number, arg: number, op: string, values: string[]): string {
  return `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "test-op-${i}"
spec:
  tracepoints:
  - subsystem: "syscalls"
    event: "sys_enter_openat"
    args:
    - index: 6
      type: "string"
    - index: 7
      type: "int"
    - index: 8
      type: "uint32"
    selectors:
    - matchArgs:
      - index: 6
        operator: "Prefix"
        values: ["${dir}/op-"]
      - index: ${arg}
        operator: "${op}"
        values: [${values.map((v) => `"${v}"`).join(', ')}]
    - matchArgs:
      - index: 6
        operator: "Prefix"
        values: ["${dir}/op-"]
`;
}

interface Loaded {
  name: string;
  p: LoadedPolicy;
  spec: PolicySpec;
  image: Uint8Array;
}

if (skip) {
  S('integer operators in the kernel', () => console.log(`  skipped: ${skip}`));
} else {
  let k: Kernel | undefined;
  const recs: TlnRecord[] = [];
  const loaded: Loaded[] = [];

  S.before(async () => {
    mkdirSync(dir, { recursive: true });
    k = await Kernel.open({ processSensor: false });
    k.onRecords((rs) => recs.push(...rs));
  });

  S.after(() => {
    try {
      k?.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  S('every operator case gives the same selector in the kernel and in the Wasm evaluator', async () => {
    const core = await import('../src/core/index.js');
    CASES.forEach(([name, arg, op, values], i) => {
      const docs = YAML.parseAllDocuments(policy(i, arg, op, values), { intAsBigInt: true }).map((d) => d.toJS({}));
      const r = core.compile(docs, { defaultNamespace: 'default' });
      assert.ok(r.image, `${name}: ${JSON.stringify(r.diagnostics)}`);
      const spec = core.inspectImage(r.image!)[0];
      loaded.push({ name, p: k!.loadPolicy(spec, 9300 + i), spec, image: r.image! });
    });
    // one process makes every open, each with its own file name
    const script = OPENS.map(([f, m], j) => `sysopen(my $f${j}, "${dir}/op-${j}", ${f}, ${m}); close($f${j});`).join(' ');
    const res = await run(`perl -e '${script}'`);
    assert.is(res.code, 0, res.stderr);
    // records arrive in batches: wait until every policy has all its opens
    const mine = (l: Loaded) => recs.filter((r): r is HookRecord => r.type === 'hook' && r.policyId === l.p.id);
    for (let t = 0; t < 50 && loaded.some((l) => mine(l).length < OPENS.length); t++) await sleep(100);

    let compared = 0;
    for (const l of loaded) {
      const got = mine(l);
      assert.is(got.length, OPENS.length, `${l.name}: one record per open`);
      const ev = new core.Evaluator(l.image);
      const seen = new Set<number>();
      for (const r of got) {
        const v = ev.evaluate({
          kind: 'tracepoint',
          hook: l.spec.hooks[0].name,
          timeNs: r.ktime,
          pid: r.pid,
          tid: r.tid,
          binary: r.binary,
          pod: null,
          args: r.args,
        });
        const show = JSON.stringify(r.args, (_k, x) => (typeof x === 'bigint' ? String(x) : x));
        assert.is(r.selector, v.matches[0]?.selector, `${l.name}: kernel selector ${r.selector}, Wasm ${v.matches[0]?.selector} for ${show}`);
        seen.add(r.selector ?? -1);
        compared++;
      }
      assert.equal([...seen].sort(), [0, 1], `${l.name}: the operator both matched and did not among the opens`);
    }
    console.log(`  differential: ${compared} records over ${CASES.length} operator cases, kernel and Wasm agree`);
  });
}

S.run();
