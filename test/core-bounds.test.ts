// The core's cost of large value lists: memory linear in the list (a bound, not a time), every
// documented limit reachable, the first value past it a located error, and an input past the
// core's memory budget refused as an error of the input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compile, Evaluator, inspectImage } from '../src/core/index.js';
import { coreMemoryOfLastCall } from '../src/core/wasm.js';
import { OPTS, policy, sockPolicy, sock, event, verdictOf } from './helpers/core.js';

const MiB = 1048576;

/** n distinct /24s: 10.a.b.0/24 */
function cidrs(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24`);
}

function inMapPolicy(values: string[]): Record<string, unknown> {
  return policy({
    kprobes: [
      {
        call: 'sys_setuid',
        syscall: true,
        args: [{ index: 0n, type: 'int' }],
        selectors: [{ matchArgs: [{ index: 0n, operator: 'InMap', values }], matchActions: [{ action: 'Sigkill' }] }],
      },
    ],
  });
}

test('12,000 CIDRs in one matchArgs compile in under 100 MB of core memory and match', () => {
  const list = cidrs(12000);
  const r = compile([sockPolicy([{ matchArgs: [{ index: 0n, operator: 'DAddr', values: list }], matchActions: [{ action: 'Sigkill' }] }])], OPTS);
  assert.equal(
    r.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  assert.ok(r.image);
  const used = coreMemoryOfLastCall();
  assert.ok(used < 100 * MiB, `core memory ${used / MiB} MiB`);
  // the last value of the list is in the image, and an address outside every entry is not
  const ev = new Evaluator(r.image!);
  assert.is(verdictOf(ev, event('tcp_connect', [sock({ daddr: '10.46.223.9' })])), 'kill'); // 11999 = 46*256+223
  assert.is(verdictOf(ev, event('tcp_connect', [sock({ daddr: '10.47.0.1' })])), 'none'); // 12032: past the list
  // the loader reads it back whole (a spec record of ~350 KB: past a u16 length, image v3)
  const spec = inspectImage(r.image!)[0];
  assert.is(spec.hooks.length, 1);
  assert.match(JSON.stringify(spec.hooks[0].spec), /10\.46\.223\.0\/24/);
});

test('memory grows linearly: 4x the CIDRs costs at most ~5x the core memory', () => {
  const mem = (n: number): number => {
    const r = compile([sockPolicy([{ matchArgs: [{ index: 0n, operator: 'DAddr', values: cidrs(n) }] }])], OPTS);
    assert.ok(r.image);
    return coreMemoryOfLastCall();
  };
  const small = mem(3000);
  const large = mem(12000);
  assert.ok(large <= small * 5, `3,000: ${small / MiB} MiB, 12,000: ${large / MiB} MiB`);
});

test('InMap: 65,536 values compile; the 65,537th is an error at its own path', () => {
  const values = Array.from({ length: 65536 }, (_, i) => String(i));
  const ok = compile([inMapPolicy(values)], OPTS);
  assert.equal(
    ok.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  assert.ok(ok.image);
  const bad = compile([inMapPolicy([...values, '65536'])], OPTS);
  assert.is(bad.image, null);
  const errs = bad.diagnostics.filter((d) => d.severity === 'error');
  assert.is(errs.length, 1);
  assert.equal(errs[0].path, ['spec', 'kprobes', 0, 'selectors', 0, 'matchArgs', 0, 'values', 65536]);
  assert.match(errs[0].message, /exceed 65536/);
});

test('a compile past the core memory budget is an error of the input, and the core keeps working', () => {
  // ~2.5 KB of core memory per CIDR: 260,000 need more than the 512 MiB budget
  const list = Array.from({ length: 260000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`);
  const r = compile([sockPolicy([{ matchArgs: [{ index: 0n, operator: 'DAddr', values: list }] }])], OPTS);
  assert.is(r.image, null);
  assert.is(r.diagnostics.length, 1);
  assert.match(r.diagnostics[0].message, /^policy too large to compile: the input needs more than 512 MiB of policy-core memory/);
  // the next compile gets a fresh instance
  const again = compile([sockPolicy([{ matchArgs: [{ index: 0n, operator: 'DAddr', values: ['10.0.0.0/8'] }] }])], OPTS);
  assert.ok(again.image);
  assert.ok(coreMemoryOfLastCall() < 64 * MiB);
});

test.run();
