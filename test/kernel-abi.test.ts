// tln_events.h is the one definition of the ring-buffer records. (1) Every
// size, offset and constant of src/kernel/records.ts LAYOUT against the host C
// compiler; (2) hook records laid out by the C compiler (test/helpers/hook-records.c)
// decoded field by field, by records.ts and by the core, encoded back to the
// same bytes, and evaluated through the core's record path with the verdict
// the EvalEvent path gives. No root needed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeRecord, encodeHook, LAYOUT, type HookRecord } from '../src/kernel/records.js';
import { repoRoot } from '../src/kernel/shim.js';
import { compile, Evaluator, type EvalArg, type HookContext } from '../src/core/index.js';
import { checkPolicies } from '../src/policy/index.js';
import { argJson } from '../src/agent/tetragon-json.js';
import { CAPABILITIES } from '../src/events/convert.js';

const S = suite('kernel: tln_events.h layout vs records.ts');

function cc(): string | null {
  for (const c of [process.env.CC, 'cc', 'gcc', 'clang']) {
    if (c && spawnSync(c, ['--version']).status === 0) return c;
  }
  return null;
}

const compiler = cc();
const inc = join(repoRoot(), 'bpf', 'include');

/** compiles src and runs it; its stdout */
function run(src: string, file: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'tln-abi-'));
  try {
    writeFileSync(join(dir, file), src);
    const b = spawnSync(compiler!, ['-Wall', '-Werror', '-I', inc, '-o', join(dir, 'probe'), join(dir, file)], { encoding: 'utf8' });
    assert.is(b.status, 0, `compile: ${b.stderr}`);
    const r = spawnSync(join(dir, 'probe'));
    assert.is(r.status, 0);
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** the records test/helpers/hook-records.c writes */
function cRecords(): Buffer[] {
  const out = run(readFileSync(join(repoRoot(), 'test/helpers/hook-records.c'), 'utf8'), 'hook-records.c');
  const recs: Buffer[] = [];
  for (let at = 0; at < out.length;) {
    const n = out.readUInt32LE(at);
    recs.push(out.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return recs;
}

const task = {
  ktime: 123456789012345n,
  flags: 0x02,
  pid: 4242,
  tid: 4243,
  ppid: 1,
  uid: 1000,
  cgroupId: 0x1122334455667788n,
  startKtime: 99n,
  nsPid: 7,
  policyId: 3,
  slot: 1,
  error: -1,
};
const sock6: EvalArg = { kind: 'sock', family: 10, protocol: 262, sport: 45200, dport: 443, state: 2, saddr: '::1', daddr: '2001:db8::1' };
const sock4: EvalArg = { kind: 'sock', family: 2, protocol: 6, sport: 1, dport: 65535, state: 0, saddr: '127.10.0.5', daddr: '127.200.0.1' };
/** a record of a generic kprobe as hook-records.c starts it (its arguments in data[]) */
function genericKprobe(binary: string, args: EvalArg[]): Omit<HookRecord, 'raw'> {
  return {
    type: 'hook',
    ...task,
    hookId: 102,
    selector: 2,
    actions: ['Sigkill'],
    skipped: ['Override'],
    mode: 'monitor',
    binary,
    sensor: 'generic_kprobe',
    cookie: 0n,
    args,
  };
}
const WANT: Omit<HookRecord, 'raw'>[] = [
  {
    type: 'hook',
    ...task,
    hookId: 1,
    selector: 2,
    actions: ['Sigkill'],
    skipped: ['Override'],
    mode: 'monitor',
    binary: '/usr/bin/cat',
    sensor: 'tln_lsm_file',
    cookie: 0n,
    args: [
      { kind: 'str', value: '/etc/shadow' },
      { kind: 'int', value: 4n },
    ],
  },
  {
    type: 'hook',
    ...task,
    hookId: 4,
    selector: null,
    actions: ['Sigkill'],
    skipped: ['Override'],
    mode: 'monitor',
    binary: '/usr/bin/curl',
    sensor: 'tln_cgroup_sock',
    cookie: 0x8877665544332211n,
    args: [sock6, { kind: 'int', value: -5n }, { kind: 'none' }],
  },
  {
    type: 'hook',
    ...task,
    hookId: 4,
    selector: 2,
    actions: ['Sigkill'],
    skipped: ['Override'],
    mode: 'enforce',
    binary: '/bin/nc',
    sensor: 'tln_lsm_file',
    cookie: 0n,
    args: [sock4, { kind: 'str', value: 'abc' }],
  },
  genericKprobe('/bin/nc', [
    { kind: 'sock', family: 2, protocol: 17, sport: 40000, dport: 53, state: 0, saddr: '127.0.0.1', daddr: '127.0.0.2', sockType: 2 },
    { kind: 'int', value: 7n },
    { kind: 'sock', family: 10, protocol: 6, sport: 443, dport: 51000, state: 0, saddr: '::1', daddr: '::1' },
  ]),
  genericKprobe('/bin/su', [{ kind: 'str', value: '', bytes: credBytes() }]),
  genericKprobe('/bin/ip', [
    { kind: 'str', value: '', bytes: userNsBytes() },
    { kind: 'int', value: 21n },
    { kind: 'str', value: 'lo' },
  ]),
  genericKprobe(
    '/bin/bpftool',
    bpfBytes().map((bytes) => ({ kind: 'str', value: '', bytes })),
  ),
];

/** record 4's struct tln_rec_credarg, as the C program fills it */
function credBytes(): Uint8Array {
  const b = Buffer.alloc(LAYOUT['sizeof(struct tln_rec_credarg)']);
  const c = LAYOUT['offsetof(struct tln_rec_credarg, cred)'];
  b.writeUInt32LE(1000, c + LAYOUT['offsetof(struct tln_rec_cred, euid)']);
  b.writeUInt32LE(0xfffffffe, c + LAYOUT['offsetof(struct tln_rec_cred, fsgid)']);
  b.writeUInt32LE(0x11, c + LAYOUT['offsetof(struct tln_rec_cred, securebits)']);
  b.writeBigUInt64LE(0x1ffffffffffn, c + LAYOUT['offsetof(struct tln_rec_cred, cap_permitted)']);
  b.writeBigUInt64LE(1n << 21n, c + LAYOUT['offsetof(struct tln_rec_cred, cap_effective)']);
  const u = LAYOUT['offsetof(struct tln_rec_credarg, user_ns)'];
  b.writeUInt32LE(1, u + LAYOUT['offsetof(struct tln_rec_userns, level)']);
  b.writeUInt32LE(1000, u + LAYOUT['offsetof(struct tln_rec_userns, uid)']);
  b.writeUInt32LE(1000, u + LAYOUT['offsetof(struct tln_rec_userns, gid)']);
  b.writeUInt32LE(4026532000, u + LAYOUT['offsetof(struct tln_rec_userns, inum)']);
  return new Uint8Array(b);
}
/** record 6's structs (tln_rec_bpfprog, tln_rec_bpfmap, tln_rec_perfevent), as the C program fills them */
function bpfBytes(): Uint8Array[] {
  const P = Buffer.alloc(LAYOUT['sizeof(struct tln_rec_bpfprog)']);
  P.writeUInt32LE(2, LAYOUT['offsetof(struct tln_rec_bpfprog, prog_type)']);
  P.writeUInt32LE(17, LAYOUT['offsetof(struct tln_rec_bpfprog, insn_cnt)']);
  P.write('tln_prog', LAYOUT['offsetof(struct tln_rec_bpfprog, name)']);
  const M = Buffer.alloc(LAYOUT['sizeof(struct tln_rec_bpfmap)']);
  M.writeUInt32LE(27, LAYOUT['offsetof(struct tln_rec_bpfmap, map_type)']);
  M.writeUInt32LE(4096, LAYOUT['offsetof(struct tln_rec_bpfmap, max_entries)']);
  M.write('tln_events_max16', LAYOUT['offsetof(struct tln_rec_bpfmap, name)']);
  const E = Buffer.alloc(LAYOUT['sizeof(struct tln_rec_perfevent)']);
  E.writeUInt32LE(8, LAYOUT['offsetof(struct tln_rec_perfevent, type)']);
  E.writeBigUInt64LE(1n, LAYOUT['offsetof(struct tln_rec_perfevent, config)']);
  E.writeBigUInt64LE(0x10n, LAYOUT['offsetof(struct tln_rec_perfevent, probe_offset)']);
  E.write('do_sys_open', LAYOUT['offsetof(struct tln_rec_perfevent, kprobe_func)']);
  return [P, M, E].map((b) => new Uint8Array(b));
}
/** record 5's struct tln_rec_userns: the initial user namespace */
function userNsBytes(): Uint8Array {
  const b = Buffer.alloc(LAYOUT['sizeof(struct tln_rec_userns)']);
  b.writeUInt32LE(0xeffffffd, LAYOUT['offsetof(struct tln_rec_userns, inum)']);
  return new Uint8Array(b);
}
/** the arg types the C program declared, per record (what a hook's HookSpec.args say) */
const TYPES = [
  [16, 1],
  [32, 3, 4],
  [32, 19],
  [32, 1, 34],
  [55],
  [LAYOUT.TLN_ARG_USER_NAMESPACE, LAYOUT.TLN_ARG_CAPABILITY, LAYOUT.TLN_ARG_NET_DEVICE],
  [LAYOUT.TLN_ARG_BPF_ATTR, LAYOUT.TLN_ARG_BPF_MAP, LAYOUT.TLN_ARG_PERF_EVENT],
];

if (!compiler) {
  console.log('  [skip] no C compiler (cc/gcc/clang) for the layout check');
  S.skip('layout check (no C compiler)', () => {});
} else {
  S('every size, offset and constant of LAYOUT matches the C compiler', () => {
    const lines = Object.keys(LAYOUT).map((k) => `  printf("%s=%lld\\n", ${JSON.stringify(k)}, (long long)(${k}));`);
    const src = `#include <stdio.h>\n#include <stddef.h>\n#include "tln_abi.h"\n#include "tln_events.h"\n#include "tln_evrec.h"\n#include "tln_usdt.h"\nint main(void) {\n${lines.join('\n')}\n  return 0;\n}\n`;
    const got: Record<string, number> = {};
    for (const l of run(src, 'probe.c').toString('utf8').trim().split('\n')) {
      const i = l.lastIndexOf('=');
      got[l.slice(0, i)] = Number(l.slice(i + 1));
    }
    assert.ok(Object.keys(LAYOUT).length > 300);
    for (const [k, v] of Object.entries(LAYOUT)) assert.is(v, got[k], `${k}: records.ts says ${v}, the headers say ${got[k]}`);
  });

  S('hook records written by the C compiler decode field by field', () => {
    const recs = cRecords();
    assert.is(recs.length, WANT.length);
    recs.forEach((b, i) => {
      const r = decodeRecord(b) as HookRecord;
      assert.ok(r && r.type === 'hook', `record ${i}`);
      const { raw, ...fields } = r;
      assert.equal(fields, WANT[i], `record ${i}`);
      assert.ok(Buffer.from(raw!).equals(b), `record ${i}: raw bytes kept`);
    });
  });

  S('encodeHook writes the bytes the C compiler lays out', () => {
    cRecords().forEach((b, i) => {
      if (i === 2) return; // its string claims 100 bytes the record does not have: the decoder clips, the encoder writes what it has
      const got = Buffer.from(encodeHook(WANT[i] as HookRecord, TYPES[i]));
      assert.ok(got.equals(b), `record ${i}\n got ${got.toString('hex')}\nwant ${b.toString('hex')}`);
    });
  });

  S('a cred argument: the struct the C compiler laid out, as Tetragon writes process_credentials_arg', () => {
    const r = decodeRecord(cRecords()[4]) as HookRecord;
    assert.equal(
      argJson(r.args[0], LAYOUT.TLN_ARG_CRED, () => ''),
      {
        process_credentials_arg: {
          uid: 0,
          gid: 0,
          euid: 1000,
          egid: 0,
          suid: 0,
          sgid: 0,
          fsuid: 0,
          fsgid: 4294967294,
          securebits: ['SecBitNoRoot', 'SecBitKeepCaps'],
          caps: { permitted: CAPABILITIES.slice(0, 41), effective: ['CAP_SYS_ADMIN'] },
          user_ns: { level: 1, uid: 1000, gid: 1000, ns: { inum: 4026532000 } },
        },
      },
    );
    // bytes cut short (a record clipped by its end) give no value rather than zeros
    assert.equal(
      argJson({ kind: 'str', value: '', bytes: new Uint8Array(8) }, LAYOUT.TLN_ARG_CRED, () => ''),
      {},
    );
  });

  S('user_namespace, capability and net_device arguments as Tetragon writes user_ns_arg, capability_arg, net_dev_arg', () => {
    const r = decodeRecord(cRecords()[5]) as HookRecord;
    const types = TYPES[5];
    assert.equal(
      r.args.map((a, i) => argJson(a, types[i], () => '')),
      [
        { user_ns_arg: { level: 0, uid: 0, gid: 0, ns: { inum: 4026531837, is_host: true } } },
        { capability_arg: { value: 21, name: 'CAP_SYS_ADMIN' } },
        { net_dev_arg: { name: 'lo' } },
      ],
    );
    // capability 1 is DAC_OVERRIDE in Tetragon's CapabilitiesType enum (no CAP_), printed by that name
    assert.equal(
      argJson({ kind: 'int', value: 1n }, LAYOUT.TLN_ARG_CAPABILITY, () => ''),
      { capability_arg: { value: 1, name: 'DAC_OVERRIDE' } },
    );
    assert.equal(
      argJson({ kind: 'str', value: '', bytes: new Uint8Array(4) }, LAYOUT.TLN_ARG_USER_NAMESPACE, () => ''),
      {},
    );
  });

  S('bpf_attr, bpf_map and perf_event arguments as Tetragon writes bpf_attr_arg, bpf_map_arg, perf_event_arg', () => {
    const r = decodeRecord(cRecords()[6]) as HookRecord;
    assert.equal(
      r.args.map((a, i) => argJson(a, TYPES[6][i], () => '')),
      [
        { bpf_attr_arg: { ProgType: 'BPF_PROG_TYPE_KPROBE', InsnCnt: 17, ProgName: 'tln_prog' } },
        { bpf_map_arg: { MapType: 'BPF_MAP_TYPE_RINGBUF', KeySize: 0, ValueSize: 0, MaxEntries: 4096, MapName: 'tln_events_max16' } },
        { perf_event_arg: { KprobeFunc: 'do_sys_open', Type: '8', Config: '1', ProbeOffset: '16' } },
      ],
    );
    // the same struct read from a loaded program is a bpf_prog_arg
    assert.equal(
      argJson(r.args[0], LAYOUT.TLN_ARG_BPF_PROG, () => ''),
      { bpf_prog_arg: { ProgType: 'BPF_PROG_TYPE_KPROBE', InsnCnt: 17, ProgName: 'tln_prog' } },
    );
  });

  S('the core decodes and evaluates a C-laid-out record as the EvalEvent path evaluates its event', () => {
    const text = readFileSync(join(repoRoot(), 'examples', 'file-monitoring-enforce.yaml'), 'utf8');
    const c = checkPolicies([{ name: 'f', text }], { defaultNamespace: 'default' }, compile);
    const ev = new Evaluator(c.image!);
    const pods = [null, { namespace: 'default', name: 'xwing', labels: { app: 'xwing' } }];
    let kills = 0;
    cRecords().forEach((b, i) => {
      for (const pod of pods) {
        const ctx: HookContext = { timeNs: 5_000_000_000n, pid: 4242, binary: WANT[i].binary, hook: i === 0 ? 'security_file_permission' : 'tcp_connect', pod };
        const code = ev.evaluateHookRecord(b, ctx);
        assert.ok(code >= 0, `record ${i}: code ${code}`);
        assert.equal(ev.lastHookArgs(), WANT[i].args, `record ${i}: args as the core decoded them`);
        const viaRecord = ev.lastVerdict(code);
        const viaEvent = ev.evaluate({
          kind: 'kprobe',
          hook: ctx.hook,
          timeNs: ctx.timeNs,
          pid: ctx.pid,
          tid: 4243,
          binary: ctx.binary,
          pod,
          args: WANT[i].args,
        });
        assert.equal(viaRecord, viaEvent, `record ${i}, pod ${pod?.name}`);
        if (viaRecord.verdict === 'kill') kills++;
      }
    });
    assert.is(kills, 1, 'cat /etc/shadow in default/xwing is killed, nothing else');
    assert.is(ev.evaluateHookRecord(Buffer.alloc(16), { timeNs: 0n, pid: 0, binary: '', hook: '', pod: null }), -1, 'not a hook record');
  });
}

S.run();
