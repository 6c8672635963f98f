// Map updates from the core (assembly/updates.ts, docs/map-format.md §5): the
// bytes of a run-time mode change and of a pod filter change, decided by the
// same rule as the evaluator's setRuntimeMode, applied by the loader by map
// name only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compile, decodeMapUpdates, Evaluator, inspectImage, modeUpdates, podCgroupUpdates, podFilterUpdates } from '../src/core/index.js';
import type { PolicySpec } from '../src/core/types.js';
import { OPTS, filePolicy } from './helpers/core.js';

function specOf(doc: Record<string, unknown>, opts = OPTS): { spec: PolicySpec; image: Uint8Array } {
  const r = compile([doc], opts);
  assert.ok(r.image, JSON.stringify(r.diagnostics));
  return { spec: inspectImage(r.image!)[0], image: r.image! };
}
const bytes = (...b: number[]) => Uint8Array.from(b);
const u64 = (n: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n, true);
  return b;
};

const KILL = filePolicy([{ matchActions: [{ action: 'Sigkill' }] }, { matchActions: [{ action: 'Post' }] }]);

test('set-mode: tln_policy entry 0 rewritten, only its mode byte differs from the image', () => {
  const { spec } = specOf(KILL);
  const conf = spec.maps.find((m) => m.name === 'tln_policy')!;
  const imageValue = conf.entries.slice(4, 12);
  assert.equal(imageValue, bytes(0, 0, 1, 0, 2, 0, 0, 0), 'enforce, no scope flags, 1 hook, 0 pad, 2 selectors');
  const u = modeUpdates(spec, 'monitor');
  assert.equal(u, [{ map: 'tln_policy', key: bytes(0, 0, 0, 0), value: bytes(1, 0, 1, 0, 2, 0, 0, 0) }]);
  assert.equal(modeUpdates(spec, 'enforce'), [{ map: 'tln_policy', key: bytes(0, 0, 0, 0), value: imageValue }]);
  // a monitor-mode image goes back to enforce the same way
  const { spec: mon } = specOf(KILL, { ...OPTS, mode: 'monitor' });
  assert.equal(modeUpdates(mon, 'enforce')[0].value, bytes(0, 0, 1, 0, 2, 0, 0, 0));
});

test('set-mode: refused by the rule the evaluator uses, with its words', () => {
  const { spec, image } = specOf(filePolicy([{}]));
  const ev = new Evaluator(image);
  const r = ev.setRuntimeMode(0, 'enforce');
  assert.is(r.ok, false);
  assert.throws(
    () => modeUpdates(spec, 'enforce'),
    (e: Error) => e.message === (r as { error: string }).error,
  );
  const { spec: kill, image: killImage } = specOf(KILL);
  const bad = new Evaluator(killImage).setRuntimeMode(0, 'audit') as { error: string };
  assert.throws(
    () => modeUpdates(kill, 'audit'),
    (e: Error) => e.message === bad.error,
  );
  assert.throws(() => modeUpdates({ ...kill, maps: kill.maps.filter((m) => m.name !== 'tln_policy') }, 'monitor'), /no tln_policy entry/);
});

test('pod filter change: deletes of the removed cgroup ids, then u64 -> 1 for the added', () => {
  const u = podFilterUpdates([5n, 2n ** 40n + 3n], [7n]);
  assert.equal(u, [
    { map: 'tln_pod_filter', key: u64(7n), value: null },
    { map: 'tln_pod_filter', key: u64(5n), value: bytes(1) },
    { map: 'tln_pod_filter', key: u64(2n ** 40n + 3n), value: bytes(1) },
  ]);
  assert.equal(podFilterUpdates([], []), []);
  assert.equal(podCgroupUpdates([9n], []), [{ map: 'tln_pod_cgroups', key: u64(9n), value: bytes(1) }]);
});

test('the wire format: u32 count; op, name, key and value lengths, key, value', () => {
  const raw = bytes(
    2,
    0,
    0,
    0,
    1,
    3,
    0x74,
    0x6c,
    0x6e,
    2,
    0,
    1,
    0,
    0xaa,
    0xbb,
    0xcc, // update "tln" key aabb value cc
    2,
    3,
    0x74,
    0x6c,
    0x6e,
    1,
    0,
    0,
    0,
    0xdd, // delete "tln" key dd
  );
  assert.equal(decodeMapUpdates(raw), [
    { map: 'tln', key: bytes(0xaa, 0xbb), value: bytes(0xcc) },
    { map: 'tln', key: bytes(0xdd), value: null },
  ]);
  assert.throws(() => decodeMapUpdates(bytes(1, 0, 0, 0, 9, 0, 0, 0, 0, 0)), /op 9/);
  assert.throws(() => decodeMapUpdates(Uint8Array.from([...raw, 0])), /1 bytes left/);
});

test.run();
