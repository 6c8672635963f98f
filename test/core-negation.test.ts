// One negation rule: the compiler sets TLN_FILTER_F_NEGATE for every negated
// operator (matchArgs filters and matchBinaries), and the evaluator decides
// "not" from that flag only: clearing the flag in the image bytes turns a
// NotIn/NotEqual into its positive sense. The kernel (bpf/lib/tln_eval.h)
// reads the same flag; kernel-operators checks it against this evaluator.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { abiTable, Evaluator, inspectImage } from '../src/core/index.js';
import { OPTS, event, filePolicy, image, int, str, verdictOf } from './helpers/core.js';

const ABI = abiTable();
const NEGATE = ABI.TLN_FILTER_F_NEGATE;
const BIN_NEGATE = ABI.TLN_SEL_F_BIN_NEGATE;
const SEL_FLAGS = ABI['offsetof(struct tln_selector, flags)'];
const FILTER_FLAGS = ABI['offsetof(struct tln_selector, filters)'] + ABI['offsetof(struct tln_filter, flags)'];

/** where selector 0's value starts in the image bytes (tln_sels entries: u32 key, value) */
function selector0(img: Uint8Array): number {
  const sels = inspectImage(img)[0].maps.find((m) => m.name === 'tln_sels')!;
  const at = Buffer.from(img).indexOf(Buffer.from(sels.entries));
  assert.ok(at > 0);
  return at + 4;
}

for (const [op, path, negated] of [
  ['NotIn', '/usr/bin/cat', true],
  ['NotPrefix', '/usr/', true],
  ['NotPostfix', '/cat', true],
  ['In', '/usr/bin/cat', false],
  ['Prefix', '/usr/', false],
] as const) {
  test(`matchBinaries ${op}: selector flags ${negated ? 'have' : 'lack'} BIN_NEGATE, and the evaluator follows the flag`, () => {
    const img = image([filePolicy([{ matchBinaries: [{ operator: op, values: [path] }], matchActions: [{ action: 'Sigkill' }] }])], OPTS);
    const s = selector0(img);
    assert.is(img[s + SEL_FLAGS] & BIN_NEGATE, negated ? BIN_NEGATE : 0);
    const e = event('security_file_permission', [str('/etc/x'), int(4)], { binary: '/usr/bin/cat' });
    assert.is(verdictOf(new Evaluator(img), e), negated ? 'none' : 'kill');
    const flipped = img.slice();
    flipped[s + SEL_FLAGS] ^= BIN_NEGATE;
    assert.is(verdictOf(new Evaluator(flipped), e), negated ? 'kill' : 'none', 'the flag, not the operator, negates');
  });
}

test('matchArgs NotEqual: the filter flag decides, not the operator', () => {
  const img = image([filePolicy([{ matchArgs: [{ index: 0n, operator: 'NotEqual', values: ['/etc/x'] }], matchActions: [{ action: 'Sigkill' }] }])], OPTS);
  const s = selector0(img);
  assert.is(img[s + FILTER_FLAGS], NEGATE);
  const e = event('security_file_permission', [str('/etc/x'), int(4)]);
  assert.is(verdictOf(new Evaluator(img), e), 'none');
  const flipped = img.slice();
  flipped[s + FILTER_FLAGS] = 0;
  assert.is(verdictOf(new Evaluator(flipped), e), 'kill');
});

test.run();
