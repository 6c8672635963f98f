// USDT notes, argument specs, uprobe targets and digests without root or a
// kernel: a test binary compiled here with cc and sys/sdt.h
// (test/fixtures/uprobe-target.c), its notes read by src/kernel/usdt.ts and
// compared with what binutils' readelf/nm say; the load plan of uprobe
// offsets/addrs/refCtrOffsets/binaryDigests and of usdts against it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile, inspectImage } from '../src/core/index.js';
import { fileOffsetOf, parseElf, readElf } from '../src/kernel/elf.js';
import { parseUsdtArg, usdtConf, usdtProbes } from '../src/kernel/usdt.js';
import { checkDigests, uprobeTarget } from '../src/kernel/uprobes.js';
import { planLoad, type LoadPlan, type Refusal } from '../src/kernel/plan.js';
import { LAYOUT } from '../src/kernel/records.js';
import type { Features } from '../src/kernel/features.js';
import { repoRoot, tempDir } from './helpers/common.js';
import { OPTS, policy } from './helpers/core.js';

const t = tempDir('talon-usdt-');
const SRC = join(repoRoot(), 'test', 'fixtures', 'uprobe-target.c');
const hasSdt = spawnSync('sh', ['-c', 'echo "#include <sys/sdt.h>" | cc -E -x c - >/dev/null 2>&1']).status === 0;

function build(opt: string): string {
  const out = join(t.dir, `target${opt}`);
  execFileSync('cc', [opt, '-g', '-o', out, SRC]);
  return out;
}

/** what readelf -n says of the notes: provider, name, location, semaphore, arguments */
function readelfNotes(bin: string): { provider: string; name: string; pc: bigint; sema: bigint; args: string }[] {
  const out = execFileSync('readelf', ['-n', bin], { encoding: 'utf8' });
  const res = [];
  const re = /Provider: (\S+)\s+Name: (\S+)\s+Location: (0x[0-9a-f]+), Base: 0x[0-9a-f]+, Semaphore: (0x[0-9a-f]+)\s+Arguments: ([^\n]*)/g;
  for (const m of out.matchAll(re)) res.push({ provider: m[1]!, name: m[2]!, pc: BigInt(m[3]!), sema: BigInt(m[4]!), args: m[5]!.trim() });
  return res;
}

function symbolAddr(bin: string, sym: string): bigint {
  const line = execFileSync('nm', [bin], { encoding: 'utf8' })
    .split('\n')
    .find((l) => l.endsWith(` ${sym}`));
  assert.ok(line, `nm has ${sym}`);
  return BigInt('0x' + line!.split(' ')[0]);
}

const FEATURES: Features = {
  release: '6.18.0',
  bpf: true,
  btf: true,
  ringbuf: true,
  lpmTrie: true,
  kprobes: false,
  fentry: false,
  lsm: false,
  tracepoint: true,
  syscallTracepoints: true,
  tpBtf: true,
  uprobes: true,
  sendSignal: true,
} as Features;
const host = { tracepointFormat: () => 'no tracefs here', fileExists: () => true };
const specOf = (doc: Record<string, unknown>) => {
  const r = compile([doc], OPTS);
  assert.equal(
    r.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  return inspectImage(r.image!)[0];
};
const ok = (p: LoadPlan | Refusal): LoadPlan => {
  if (!p.ok) assert.unreachable(p.reason);
  return p as LoadPlan;
};

test('argument specs: register, constant, memory, base + index * scale; the rest refused with the reason', () => {
  assert.equal(parseUsdtArg('-4@%edi'), {
    spec: '-4@%edi',
    kind: LAYOUT.TLN_USDT_REG,
    size: 4,
    signed: true,
    regOff: LAYOUT.TLN_PTREGS_DI,
    idxOff: 0,
    scale: 0,
    valOff: 0n,
  });
  assert.equal(parseUsdtArg('8@%r12').regOff, LAYOUT.TLN_PTREGS_R12);
  assert.equal(parseUsdtArg('1@%r9b').regOff, LAYOUT.TLN_PTREGS_R9);
  const c = parseUsdtArg('4@$-5');
  assert.equal([c.kind, c.valOff, c.signed], [LAYOUT.TLN_USDT_CONST, -5n, false]);
  const d = parseUsdtArg('8@-8(%rbp)');
  assert.equal([d.kind, d.regOff, d.valOff, d.size], [LAYOUT.TLN_USDT_DEREF, LAYOUT.TLN_PTREGS_BP, -8n, 8]);
  assert.equal(parseUsdtArg('-2@(%rax)').valOff, 0n);
  assert.equal(parseUsdtArg('4@0x10(%rsp)').valOff, 16n);
  const s = parseUsdtArg('-1@-96(%rbp,%rax,8)');
  assert.equal([s.kind, s.regOff, s.idxOff, s.scale, s.valOff], [LAYOUT.TLN_USDT_SIB, LAYOUT.TLN_PTREGS_BP, LAYOUT.TLN_PTREGS_AX, 3, -96n]);
  assert.is(parseUsdtArg('4@(%rbx,%rcx)').scale, 0);
  assert.throws(() => parseUsdtArg('3@%eax'), /expected <size>@<operand> with size 1, 2, 4 or 8/);
  assert.throws(() => parseUsdtArg('4@%ah'), /register %ah is not one talon reads/);
  assert.throws(() => parseUsdtArg('8@counter(%rip)'), /"counter" is not a number \(symbolic operands are not supported\)/);
  assert.throws(() => parseUsdtArg('4@[x0]'), /is not a register, a constant or a memory reference/);
  // the encoding the BPF program reads (bpf/include/tln_usdt.h)
  const b = usdtConf([d, c]);
  assert.is(b.length, LAYOUT['sizeof(struct tln_usdt_conf)']);
  const at = (i: number, f: string) => i * LAYOUT['sizeof(struct tln_usdt_arg)'] + LAYOUT[`offsetof(struct tln_usdt_arg, ${f})`]!;
  assert.equal(
    [b[at(0, 'kind')], b[at(0, 'size')], b.readUInt16LE(at(0, 'reg_off')), b.readBigInt64LE(at(0, 'val_off'))],
    [LAYOUT.TLN_USDT_DEREF, 8, LAYOUT.TLN_PTREGS_BP, -8n],
  );
  assert.is(b.readBigInt64LE(at(1, 'val_off')), -5n);
});

test('ELF: not ELF, 32-bit and truncated files are refused with what they are', () => {
  assert.throws(() => parseElf(Buffer.from('#!/bin/sh\n'.padEnd(80)), 'x.sh'), /x.sh is not an ELF file/);
  const e = Buffer.alloc(64);
  e.writeUInt32BE(0x7f454c46, 0);
  e[4] = 1;
  assert.throws(() => parseElf(e, 'a.out'), /32-bit ELF file/);
  e[4] = 2;
  e[5] = 1;
  e.writeBigUInt64LE(1000n, 32);
  e.writeUInt16LE(1, 56);
  e.writeUInt16LE(56, 54);
  assert.throws(() => parseElf(e, 'cut'), /program headers out of the file/);
});

if (!hasSdt) {
  test.skip('notes of a sys/sdt.h binary: sys/sdt.h missing (Debian: systemtap-sdt-dev, installed by scripts/setup.sh)');
} else {
  test('notes of a sys/sdt.h binary (-O0 and -O2): as readelf says; pc and semaphore as file offsets', () => {
    for (const opt of ['-O0', '-O2']) {
      const bin = build(opt);
      const elf = readElf(bin);
      const got = usdtProbes(elf);
      const want = readelfNotes(bin);
      assert.is(want.length, 1, opt);
      assert.equal(
        got.map((p) => ({ provider: p.provider, name: p.name, pc: p.pc, sema: p.semaphore, args: p.args })),
        want,
        opt,
      );
      const p = got[0]!;
      assert.is(p.semaphore, symbolAddr(bin, 'talon_work_semaphore'));
      // the file offset holds the semaphore's initial bytes: the data segment maps at another address than its offset
      assert.ok(p.semaphoreOffset !== null && p.semaphoreOffset !== p.semaphore, `${opt}: semaphore offset ${p.semaphoreOffset}`);
      assert.is(readFileSync(bin).readUInt16LE(Number(p.semaphoreOffset)), 0);
      // the pc is an instruction of main's text: objdump disassembles one there
      const dis = execFileSync('objdump', ['-d', '--start-address', String(p.pc), '--stop-address', String(p.pc + 1n), bin], { encoding: 'utf8' });
      assert.match(dis, new RegExp(`\\s${p.pc.toString(16)}:`), opt);
      assert.is(fileOffsetOf(elf, p.pc), p.pcOffset);
      // three arguments, each parsed
      const specs = p.args.split(' ');
      assert.is(specs.length, 3);
      for (const s of specs) parseUsdtArg(s);
    }
  });

  test('load plan: usdt sites, semaphore and argument reads; wrong index/type/probe refused with the reason', () => {
    const bin = build('-O0');
    const usdt = (extra: Record<string, unknown>) =>
      specOf(
        policy({
          usdts: [
            {
              path: bin,
              provider: 'talon',
              name: 'work',
              args: [
                { index: 0n, type: 'int32' },
                { index: 1n, type: 'string' },
                { index: 2n, type: 'int64' },
              ],
              ...extra,
            },
          ],
        }),
      );
    const plan = ok(planLoad(usdt({}), FEATURES, host));
    assert.equal(
      plan.hooks.map((h) => [h.sensor, h.mechanism]),
      [['generic_usdt', 'uprobe']],
    );
    const probe = usdtProbes(readElf(bin))[0]!;
    assert.is(plan.instances.length, 1);
    assert.equal(plan.instances[0].attach, [
      {
        program: 'tln_uprobe',
        hook: `${bin}:talon:work`,
        at: { kind: 'uprobe', path: bin, symbol: '', offset: Number(probe.pcOffset), refCtrOffset: Number(probe.semaphoreOffset) },
      },
    ]);
    const gen = plan.instances[0].rodata.tln_gen as Buffer;
    const src = (i: number) =>
      gen[LAYOUT['offsetof(struct tln_gen_conf, args)'] + i * LAYOUT['sizeof(struct tln_gen_arg)'] + LAYOUT['offsetof(struct tln_gen_arg, src)']];
    assert.equal([gen[0], src(0), src(1), src(2)], [3, LAYOUT.TLN_SRC_USDT, LAYOUT.TLN_SRC_USDT, LAYOUT.TLN_SRC_USDT]);
    assert.equal(plan.instances[0].rodata.tln_usdt, usdtConf(probe.args.split(' ').map(parseUsdtArg)));
    const refused = (s: ReturnType<typeof usdt>) => {
      const r = planLoad(s, FEATURES, host);
      assert.not.ok(r.ok);
      return (r as Refusal).reason;
    };
    assert.match(refused(usdt({ args: [{ index: 3n, type: 'int' }] })), /usdt talon:work args\[0\] \(index 3\): the probe has 3 arguments \(-4@-4\(%rbp\)/);
    assert.match(refused(usdt({ args: [{ index: 0n, type: 'file' }] })), /do not implement argument type file on a hook of this kind/);
    assert.match(refused(usdt({ name: 'nowork' })), new RegExp(`usdt talon:nowork not found in ${bin} \\(no such .note.stapsdt note\\)`));
    assert.match(refused(usdt({ path: '/etc/hostname' })), /usdt binary \/etc\/hostname: \/etc\/hostname is not an ELF file/);
    assert.match(refused(usdt({ btfPath: '/sys/kernel/btf/vmlinux' })), /do not implement btfPath/);
    // Set writes an argument: not implemented, refused by name
    assert.match(refused(usdt({ selectors: [{ matchActions: [{ action: 'Set', argIndex: 0n, argValue: 32n }] }] })), /do not implement action Set/);
  });

  test('uprobe targets: symbol+offset, offsets, addrs (file offset via the segments), refCtrOffsets; binaryDigests', () => {
    const bin = build('-O0');
    const up = (extra: Record<string, unknown>) => specOf(policy({ uprobes: [{ path: bin, args: [{ index: 0n, type: 'int' }], ...extra }] }));
    const fn = symbolAddr(bin, 'talon_target_fn');
    const sema = usdtProbes(readElf(bin))[0]!.semaphoreOffset!;
    const at = (s: ReturnType<typeof up>) => ok(planLoad(s, FEATURES, host)).instances.map((i) => i.attach.map((a) => a.at));
    assert.equal(at(up({ symbols: ['talon_target_fn+0x4'] })), [[{ kind: 'uprobe', path: bin, symbol: 'talon_target_fn', offset: 4 }]]);
    assert.equal(at(up({ symbols: ['talon_target_fn'], refCtrOffsets: [sema] })), [
      [{ kind: 'uprobe', path: bin, symbol: 'talon_target_fn', refCtrOffset: Number(sema) }],
    ]);
    assert.equal(at(up({ offsets: [fn] })), [[{ kind: 'uprobe', path: bin, symbol: '', offset: Number(fn) }]]);
    // the data segment's addresses differ from its file offsets: an addr there is moved to its offset
    const semaAddr = symbolAddr(bin, 'talon_work_semaphore');
    const h = up({ addrs: [semaAddr] }).hooks[0]!;
    assert.equal(uprobeTarget(h), { symbol: '', offset: Number(sema), refCtrOffset: 0 });
    const r = planLoad(up({ addrs: [0x7fff0000n] }), FEATURES, host);
    assert.match((r as Refusal).reason, new RegExp(`addr 0x7fff0000 is in no loadable segment of ${bin}`));
    assert.match((planLoad(up({ symbols: ['a+1+2'] }), FEATURES, host) as Refusal).reason, /symbol "a\+1\+2": expected <name> or <name>\+<offset>/);

    const digest = 'sha256:' + createHash('sha256').update(readFileSync(bin)).digest('hex');
    const wrong = 'sha256:' + '1'.repeat(64);
    checkDigests(up({ symbols: ['main'], binaryDigests: [wrong, digest] }).hooks[0]!);
    ok(planLoad(up({ symbols: ['main'], binaryDigests: [digest.slice(7)] }), FEATURES, host));
    const mis = planLoad(up({ symbols: ['main'], binaryDigests: [wrong] }), FEATURES, host) as Refusal;
    assert.is(mis.reason, `hook ${bin}:main: digest mismatch: ${bin} is ${digest}, none of binaryDigests (${wrong})`);
    const ign = planLoad(up({ symbols: ['main'], binaryDigests: [wrong], ignore: { digestVerificationFailure: true } }), FEATURES, host) as Refusal;
    assert.match(ign.reason, /Tetragon would skip this uprobe, talon loads a policy whole or not at all$/);
  });
}

test.after(() => t.remove());
test.run();
