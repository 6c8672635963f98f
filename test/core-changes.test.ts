// The *Changes selectors in the evaluator follow Tetragon's kernel rules
// (bpf/process/pfilter.h): matchCapabilityChanges NotIn matches when only other
// capabilities of the set changed (not when nothing did); matchNamespaceChanges
// NotIn matches when a namespace type outside the list changed; a type without an
// inode at exec is not compared.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { EvalEvent, EvalProcess } from '../src/core/types.js';
import { evaluator, event, filePolicy, int, str } from './helpers/core.js';

const CAP_SYS_ADMIN = 1n << 21n;
const CAP_NET_RAW = 1n << 13n;
const CAP_CHOWN = 1n << 0n;
const ns = (entries: Record<number, number>) => {
  const l: ({ inum: number; isHost: boolean } | null)[] = new Array(10).fill(null);
  for (const [t, inum] of Object.entries(entries)) l[Number(t)] = { inum, isHost: false };
  return l;
};
const ev = (process: EvalProcess): EvalEvent => event('security_file_permission', [str('/x'), int(1)], { process });
const verdict = (sel: Record<string, unknown>, p: EvalProcess) => {
  const r = evaluator([filePolicy([sel])]).evaluate(ev(p));
  return r.unknown !== undefined ? `unknown: ${r.unknown}` : r.matches.length > 0;
};

test('matchCapabilityChanges In: a listed capability changed; NotIn: only others changed (nothing changed matches neither)', () => {
  const capIn = { matchCapabilityChanges: [{ type: 'Effective', operator: 'In', values: ['CAP_SYS_ADMIN'] }] };
  const capNotIn = { matchCapabilityChanges: [{ type: 'Effective', operator: 'NotIn', values: ['CAP_SYS_ADMIN'] }] };
  const dropAdmin = { caps: { effective: CAP_SYS_ADMIN | CAP_NET_RAW }, capsNow: { effective: CAP_NET_RAW } };
  const dropRaw = { caps: { effective: CAP_SYS_ADMIN | CAP_NET_RAW }, capsNow: { effective: CAP_SYS_ADMIN } };
  const same = { caps: { effective: CAP_SYS_ADMIN | CAP_CHOWN }, capsNow: { effective: CAP_SYS_ADMIN | CAP_CHOWN } };
  assert.is(verdict(capIn, dropAdmin), true);
  assert.is(verdict(capIn, dropRaw), false);
  assert.is(verdict(capIn, same), false);
  assert.is(verdict(capNotIn, dropAdmin), false);
  assert.is(verdict(capNotIn, dropRaw), true);
  assert.is(verdict(capNotIn, same), false, 'no change at all: NotIn does not match (Tetragon)');
});

test('matchNamespaceChanges In: a listed type changed; NotIn: a type outside the list changed; unrecorded types are not compared', () => {
  const nsIn = { matchNamespaceChanges: [{ operator: 'In', values: ['Uts'] }] };
  const nsNotIn = { matchNamespaceChanges: [{ operator: 'NotIn', values: ['Uts'] }] };
  const uts = { ns: ns({ 0: 100, 2: 200 }), nsNow: ns({ 0: 101, 2: 200 }) };
  const mnt = { ns: ns({ 0: 100, 2: 200 }), nsNow: ns({ 0: 100, 2: 201 }) };
  const none = { ns: ns({ 0: 100, 2: 200 }), nsNow: ns({ 0: 100, 2: 200 }) };
  const notAtExec = { ns: ns({ 2: 200 }), nsNow: ns({ 0: 101, 2: 200 }) };
  assert.is(verdict(nsIn, uts), true);
  assert.is(verdict(nsIn, mnt), false);
  assert.is(verdict(nsIn, none), false);
  assert.is(verdict(nsNotIn, uts), false);
  assert.is(verdict(nsNotIn, mnt), true);
  assert.is(verdict(nsNotIn, none), false);
  assert.is(verdict(nsIn, notAtExec), false, 'no Uts inode at exec: not compared');
});

test.run();
