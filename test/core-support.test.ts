// src/kernel/support.ts: what a kernel cannot serve, per hook, from the spec
// record's needs and the probed features (pure: no root, no kernel).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inspectImage } from '../src/core/index.js';
import type { Features } from '../src/kernel/features.js';
import { kernelCheck, readFeatures, returnWarning, unsupportedReasons } from '../src/kernel/support.js';
import { filePolicy, image, ROOT } from './helpers/core.js';

const features = (name: string): Features => {
  const f = readFeatures(JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/kernels', name), 'utf8')));
  if (typeof f === 'string') throw new Error(f);
  return f;
};
const HOST = features('host-6.18.json');
const VM = features('vm-6.1.json');
const specOf = (docs: unknown[]) => inspectImage(image(docs))[0];

test('the committed features files are this kernel and the 6.1 VM kernel, as probed', () => {
  assert.is(HOST.release, '6.18.44-fc-v1045');
  assert.equal(
    { kprobes: HOST.kprobes, fentry: HOST.fentry, lsm: HOST.lsm, tracepoint: HOST.tracepoint },
    { kprobes: false, fentry: false, lsm: false, tracepoint: true },
  );
  assert.is(VM.release, '6.1.0-57-amd64');
  assert.equal({ kprobes: VM.kprobes, fentry: VM.fentry, lsm: VM.lsm }, { kprobes: true, fentry: true, lsm: true });
});

test('a hook with needs is refused with them: the mechanism missing here, or the BPF programs not there yet', () => {
  const spec = specOf([filePolicy([{ matchParentBinaries: [{ operator: 'In', values: ['/usr/bin/bash'] }] }])]);
  assert.equal(spec.hooks[0].spec?.needs, ['matchParentBinaries']);
  const none = unsupportedReasons(spec, { kprobes: false, fentry: false });
  assert.equal(none, [
    "kprobe on security_file_permission: this kernel has no kprobes or fentry; it loads on kernels with either, once talon's BPF programs implement matchParentBinaries",
  ]);
  const some = unsupportedReasons(spec, { kprobes: true });
  assert.match(some[0], /talon's BPF programs do not implement matchParentBinaries yet/);
  // matchCapabilities and the *Changes selectors are in the selector struct: no need
  for (const sel of [
    { matchCapabilities: [{ type: 'Effective', operator: 'In', values: ['CAP_SYS_ADMIN'] }] },
    { matchCapabilityChanges: [{ type: 'Effective', operator: 'In', values: ['CAP_SYS_ADMIN'] }] },
    { matchNamespaceChanges: [{ operator: 'In', values: ['Mnt'] }] },
    { matchPIDs: [{ operator: 'In', followForks: true, isNamespacePID: true, values: [1n] }] },
  ])
    assert.equal(
      specOf([filePolicy([sel])]).hooks[0].spec?.needs ?? [],
      [],
      JSON.stringify(sel, (_, v) => (typeof v === 'bigint' ? Number(v) : v)),
    );
  // a hook without needs is not refused here
  assert.equal(unsupportedReasons(specOf([filePolicy([{ matchArgs: [{ index: 0n, operator: 'Prefix', values: ['/etc'] }] }])]), {}), []);
});

test('Post with a stack trace or an IMA hash: no BPF program collects them, so the load is refused saying which (never a Post without them)', () => {
  const post = (extra: Record<string, unknown>) => specOf([filePolicy([{ matchActions: [{ action: 'Post', ...extra }] }])]);
  assert.equal(post({}).hooks[0].spec?.needs ?? [], []);
  const spec = post({ kernelStackTrace: true, imaHash: true });
  assert.equal(spec.hooks[0].spec?.needs, ['Post kernelStackTrace', 'Post imaHash']);
  assert.match(unsupportedReasons(spec, { kprobes: true, lsm: true })[0], /do not implement Post kernelStackTrace, Post imaHash yet/);
});

test('kernelCheck: the implementation per hook, the refusal per hook, the return warning', () => {
  const ok = specOf([
    filePolicy([{ matchArgs: [{ index: 0n, operator: 'Prefix', values: ['/etc'] }], matchActions: [{ action: 'Sigkill' }] }], {
      return: true,
      returnArg: { index: 0n, type: 'int' },
    }),
  ]);
  const here = kernelCheck(ok, HOST)[0];
  assert.equal({ ok: here.ok, sensor: here.sensor, mechanism: here.mechanism }, { ok: true, sensor: 'tln_tp_file', mechanism: 'tracepoint' });
  assert.equal(here.warnings, [
    'kprobe on security_file_permission: return: true, but tln_tp_file (tracepoint) does not see the return value: its events carry none',
  ]);
  const vm = kernelCheck(ok, VM)[0];
  assert.equal({ ok: vm.ok, sensor: vm.sensor }, { ok: true, sensor: 'tln_lsm_file' });
  // without bpf_send_signal no implementation of the hook can carry out Sigkill
  const noSignal = kernelCheck(ok, { ...HOST, sendSignal: false })[0];
  assert.is(noSignal.ok, false);
  assert.match(noSignal.reason ?? '', /^no implementation of security_file_permission works on this kernel: .*tln_tp_file \(tracepoint\) needs sendSignal$/);
  // no return: true, no warning
  const plain = specOf([filePolicy([{}])]);
  assert.equal(kernelCheck(plain, HOST)[0].warnings, []);
  assert.is(returnWarning(plain.hooks[0], { sensor: 's', mechanism: 'kprobe', programs: [{ name: 'tln_x_kretprobe', attach: [] }] }), null);
});

test('readFeatures: probe output or a bare features object; anything else says what is wrong', () => {
  assert.is(typeof readFeatures(HOST), 'object');
  assert.match(readFeatures([]) as string, /no "probed" object/);
  assert.match(readFeatures({ probed: { ...HOST, lsm: 'no' } }) as string, /probed\.lsm is not true\/false/);
});

test.run();
