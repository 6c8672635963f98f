// The image as the loader sees it: map specs and the entry bytes the kernel
// programs read (layouts of tln_abi.h).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { compile, inspectImage, Evaluator } from '../src/core/index.js';
import type { MapSpec } from '../src/core/types.js';
import { OPTS, SEEDS, EGRESS_SUBST, loadDocs, image, filePolicy, sockPolicy, policy, seedTest } from './helpers/core.js';

const map = (img: Uint8Array, name: string, i = 0): MapSpec => inspectImage(img)[i].maps.find((m) => m.name === name)!;
const entries = (m: MapSpec): Uint8Array[] =>
  Array.from({ length: m.count }, (_, i) => m.entries.subarray(i * (m.keySize + m.valueSize), (i + 1) * (m.keySize + m.valueSize)));
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

test('every policy has all nine maps with kernel types, sizes and flags', () => {
  const img = image([filePolicy([{ matchArgs: [{ index: 0n, operator: 'Prefix', values: ['/etc'] }] }])]);
  const got = inspectImage(img)[0].maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags, m.count]);
  assert.equal(got, [
    ['tln_policy', 2, 4, 8, 1, 0, 1],
    ['tln_hooks', 2, 4, 24, 1, 0, 1],
    ['tln_sels', 2, 4, 1032, 1, 0, 1],
    ['tln_str', 11, 12, 1, 1, 1, 1],
    ['tln_addr4', 11, 12, 1, 1, 1, 0],
    ['tln_addr6', 11, 24, 1, 1, 1, 0],
    ['tln_u64set', 1, 16, 1, 1, 0, 0],
    ['tln_stats', 2, 4, 32, 2, 0, 0],
    ['tln_pod_filter', 1, 8, 1, 32768, 1, 0],
  ]);
});

test('tln_str: Equal entries carry a NUL, Postfix entries are reversed, key_size from the longest', () => {
  const img = image([
    filePolicy([
      { matchArgs: [{ index: 0n, operator: 'Equal', values: ['/etc/passwd'] }] },
      { matchArgs: [{ index: 0n, operator: 'Postfix', values: ['.conf'] }] },
      { matchArgs: [{ index: 0n, operator: 'Prefix', values: ['/usr/', '/usr/'] }] },
    ]),
  ]);
  const m = map(img, 'tln_str');
  assert.is(m.keySize, 20); // 4 + 1 + 12 ("/etc/passwd\0"), rounded up to 4
  assert.is(m.count, 3); // the duplicate value is stored once
  assert.is(m.maxEntries, 3);
  const e = entries(m);
  const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset);
  assert.equal([dv(e[0]).getUint32(0, true), e[0][4], dec(e[0].subarray(5, 17)), e[0][20]], [8 + 8 * 12, 1, '/etc/passwd\0', 1]);
  assert.equal([dv(e[1]).getUint32(0, true), e[1][4], dec(e[1].subarray(5, 10))], [8 + 8 * 5, 2, 'fnoc.']);
  assert.equal([dv(e[2]).getUint32(0, true), e[2][4], dec(e[2].subarray(5, 10))], [8 + 8 * 5, 3, '/usr/']);
  assert.equal([...e[2].subarray(10, 20)], new Array(10).fill(0));
});

seedTest('identical value lists share one set id', () => {
  const img = image(loadDocs(path.join(SEEDS, 'file_monitoring_enforce.yaml')));
  const sels = entries(map(img, 'tln_sels'));
  const setOf = (sel: Uint8Array, f: number) => sel[4 + 24 + f * 72 + 4];
  // security_file_permission selector 2 and security_mmap_file selector 1 list the same paths
  assert.is(setOf(sels[2], 0), setOf(sels[4], 0));
  assert.is.not(setOf(sels[0], 0), setOf(sels[3], 0));
});

test('tln_addr4 / tln_addr6 entries: prefixlen = 8 + bits, host bits cleared', () => {
  const img = image([sockPolicy([{ matchArgs: [{ index: 0n, operator: 'DAddr', values: ['10.1.2.3/8', '0.0.0.0/0', 'fd00::1/16'] }] }])]);
  const a4 = entries(map(img, 'tln_addr4'));
  assert.equal(
    a4.map((e) => [...e]),
    [
      [16, 0, 0, 0, 1, 10, 0, 0, 0, 0, 0, 0, 1],
      [8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1],
    ],
  );
  const a6 = entries(map(img, 'tln_addr6'));
  assert.equal([...a6[0].subarray(0, 7)], [24, 0, 0, 0, 1, 0xfd, 0x00]);
  assert.equal([...a6[0].subarray(7, 21)], new Array(14).fill(0));
});

test('tln_u64set entries: set, padding, value sign-extended', () => {
  const img = image([filePolicy([{ matchArgs: [{ index: 1n, operator: 'InMap', values: ['-1', '3:4'] }] }])]);
  const u = entries(map(img, 'tln_u64set'));
  const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset);
  assert.equal(
    u.map((e) => [e[0], dv(e).getBigUint64(8, true), e[16]]),
    [
      [1, 0xffffffffffffffffn, 1],
      [1, 3n, 1],
      [1, 4n, 1],
    ],
  );
});

test('tln_sels filter: op, slot, type, vals; ports as (lo, hi) pairs', () => {
  const img = image([sockPolicy([{ matchArgs: [{ index: 0n, operator: 'NotDPort', values: ['22', '8000:8080'] }] }])]);
  const s = entries(map(img, 'tln_sels'))[0];
  const f = s.subarray(4 + 24);
  const dv = new DataView(f.buffer, f.byteOffset);
  assert.equal([f[0], f[1], f[2], f[3], f[4], f[5]], [19, 0, 32, 4, 0, 1]);
  assert.equal(
    [0, 1, 2, 3].map((i) => dv.getBigUint64(8 + 8 * i, true)),
    [22n, 22n, 8000n, 8080n],
  );
});

seedTest('tln_hooks and tln_policy entries', () => {
  const img = image(loadDocs(path.join(SEEDS, 'file_monitoring_enforce.yaml')));
  const hooks = entries(map(img, 'tln_hooks'));
  // hook 1: security_mmap_file, kprobe, F_RETURN, 3 args, 2 selectors starting at 3, ret int
  assert.equal([...hooks[1].subarray(0, 18)], [1, 0, 0, 0, 2, 0, 1, 1, 3, 2, 3, 1, 0, 16, 1, 2, 2, 2]);
  const conf = entries(map(img, 'tln_policy'))[0];
  assert.equal([...conf], [0, 0, 0, 0, 0, 1, 3, 0, 6, 0, 0, 0]); // enforce, filtered, 3 hooks, 6 selectors
  const spec = inspectImage(img)[0];
  assert.equal(
    spec.hooks.map((h) => [h.name, h.hookId, h.slot, h.selectors, h.actions]),
    [
      ['security_file_permission', 1, 0, 3, ['Sigkill']],
      ['security_mmap_file', 2, 1, 2, ['Sigkill']],
      ['security_path_truncate', 3, 2, 1, ['Sigkill']],
    ],
  );
});

test('several documents: one section each, in order; message and tags kept', () => {
  const a = policy({ kprobes: [{ call: 'tcp_connect', message: 'hi', tags: ['t1', 't2'] }] }, { name: 'a' });
  const b = policy({ kprobes: [] }, { name: 'b', namespace: 'x' }, 'TracingPolicyNamespaced');
  const specs = inspectImage(image([a, b]));
  assert.equal(
    specs.map((s) => [s.index, s.name, s.namespace, s.kind]),
    [
      [0, 'a', null, 'TracingPolicy'],
      [1, 'b', 'x', 'TracingPolicyNamespaced'],
    ],
  );
  assert.equal([specs[0].hooks[0].message, specs[0].hooks[0].tags], ['hi', ['t1', 't2']]);
});

seedTest('inspectImage and Evaluator reject foreign or corrupt bytes', () => {
  assert.throws(() => inspectImage(new TextEncoder().encode('not an image at all')), /not a talon image/);
  const img = image(loadDocs(path.join(SEEDS, 'network_egress_cluster_enforce.yaml'), EGRESS_SUBST));
  assert.throws(() => inspectImage(img.slice(0, img.length - 40)), /truncated or corrupt/);
  // a version from the future (the current one is 4, since the *Changes entries of the kernel's process filters) and one from the past
  const v5 = img.slice();
  v5[8] = 5;
  assert.throws(() => new Evaluator(v5), /image version 5 is not supported/);
  const v3 = img.slice();
  v3[8] = 3;
  assert.throws(() => new Evaluator(v3), /image version 3 is not supported/);
});

seedTest('corrupted images and records are rejected or evaluated, never trap the core', () => {
  const img = image(loadDocs(path.join(SEEDS, 'network_egress_cluster_enforce.yaml'), EGRESS_SUBST));
  let seed = 12345;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  const isTrap = (e: unknown) => e instanceof WebAssembly.RuntimeError || /aborted/.test(String(e));
  for (let i = 0; i < 400; i++) {
    const m = img.slice();
    for (let j = 0; j <= rnd(4); j++) m[rnd(m.length)] = rnd(256);
    for (const f of [() => inspectImage(m), () => new Evaluator(m)]) {
      try {
        f();
      } catch (e) {
        assert.not.ok(isTrap(e), String(e));
      }
    }
  }
  const ev = new Evaluator(img);
  const rec = ev.encode({
    kind: 'kprobe',
    hook: 'tcp_connect',
    timeNs: 1n,
    pid: 1,
    tid: 1,
    binary: '/bin/x',
    pod: { namespace: 'default', name: 'a', labels: { k: 'v' } },
    args: [{ kind: 'sock', family: 2, protocol: 6, state: 2, saddr: '1.1.1.1', daddr: '2.2.2.2', sport: 1, dport: 2 }],
  });
  for (let i = 0; i < 2000; i++) {
    const m = rec.slice();
    for (let j = 0; j <= rnd(3); j++) m[rnd(m.length)] = rnd(256);
    const code = ev.evaluateEncoded(m);
    assert.ok(code >= -1 && code <= 4);
  }
});

seedTest('compile output is the same for the same input (in-process)', () => {
  const docs = loadDocs(path.join(SEEDS, 'file_monitoring.yaml'));
  const a = compile(docs, OPTS).image!;
  compile(loadDocs(path.join(SEEDS, 'network_egress_cluster.yaml'), EGRESS_SUBST), OPTS);
  const b = compile(docs, OPTS).image!;
  assert.equal(a, b);
});

test.run();
