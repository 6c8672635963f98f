// The load plan (src/kernel/plan.ts) without a kernel: policies compiled by
// the core, features given as plain objects (a kernel like this one without
// BPF LSM, one with it, one without BTF, older ones), tracefs formats and
// files given by a fake host. No root, no syscall.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compile, inspectImage } from '../src/core/index.js';
import type { PolicySpec } from '../src/core/types.js';
import type { Features } from '../src/kernel/features.js';
import { checkKernel, checkProcessSensor, planLoad, rateLimitMap, sharedMaps, type LoadPlan, type PlanHost, type Refusal } from '../src/kernel/plan.js';
import { parseFormat } from '../src/kernel/tracefs.js';
import { LAYOUT } from '../src/kernel/records.js';
import { filePolicy, OPTS, policy } from './helpers/core.js';

/** a 6.x kernel whose lsm= list lacks bpf (like most distribution kernels) */
const NO_LSM: Features = {
  release: '6.8.0',
  bpf: true,
  btf: true,
  ringbuf: true,
  lpmTrie: true,
  lruHash: true,
  tracepoint: true,
  cgroupSockAddr: true,
  sendSignal: true,
  overrideReturn: true,
  setRetval: true,
  bpfLoop: true,
  snprintf: true,
  tpBtf: true,
  fentry: true,
  lsm: false,
  lsmError: 'bpf is not in the active LSM list',
  kprobes: true,
  uprobes: true,
  cgroup2: '/sys/fs/cgroup',
  syscallTracepoints: true,
  lockdown: 'none',
};
const WITH_LSM: Features = { ...NO_LSM, lsm: true, lsmError: undefined };
const NO_BTF: Features = { ...NO_LSM, btf: false, tpBtf: false, tpBtfError: 'no kernel BTF', fentry: false };

const OPENAT_FORMAT = `name: sys_enter_openat
ID: 640
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:int dfd;	offset:16;	size:8;	signed:0;
	field:const char * filename;	offset:24;	size:8;	signed:0;
	field:int flags;	offset:32;	size:8;	signed:0;
	field:umode_t mode;	offset:40;	size:8;	signed:0;
`;

/** tracefs knows syscalls/sys_enter_openat only; files exist when listed */
function fakeHost(files: string[] = []): PlanHost & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    tracepointFormat(s, e) {
      asked.push(`${s}/${e}`);
      return s === 'syscalls' && e === 'sys_enter_openat' ? parseFormat(OPENAT_FORMAT) : `tracepoint ${s}/${e} does not exist on this kernel`;
    },
    fileExists: (p) => files.includes(p),
  };
}

function spec(doc: Record<string, unknown>): PolicySpec {
  const r = compile([doc], OPTS);
  assert.ok(r.image, JSON.stringify(r.diagnostics));
  return inspectImage(r.image!)[0];
}

const kprobe = (call: string, args: unknown[], action?: string) => ({
  call,
  syscall: false,
  args,
  ...(action ? { selectors: [{ matchActions: [{ action, ...(action === 'Override' ? { argError: -1n } : {}) }] }] } : {}),
});
const FILE_ARGS = [
  { index: 0n, type: 'file' },
  { index: 1n, type: 'int' },
];
const filePerm = (action?: string) => kprobe('security_file_permission', FILE_ARGS, action);
const mmapFile = () => kprobe('security_mmap_file', [{ index: 0n, type: 'file' }]);
const truncate = () => kprobe('security_path_truncate', [{ index: 0n, type: 'path' }]);
const connect = (action?: string) => kprobe('tcp_connect', [{ index: 0n, type: 'sock' }], action);

function ok(p: LoadPlan | Refusal): LoadPlan {
  if (!p.ok) assert.unreachable(`refused: ${p.reason}`);
  return p as LoadPlan;
}
function refused(p: LoadPlan | Refusal): Refusal {
  assert.is(p.ok, false, 'expected a refusal');
  return p as Refusal;
}

test('file hooks without BPF LSM: one tln_file instance on the syscall tracepoints', () => {
  const s = spec(policy({ kprobes: [filePerm('Sigkill')] }));
  const p = ok(planLoad(s, NO_LSM, fakeHost()));
  assert.equal(p.hooks, [{ slot: 0, name: 'security_file_permission', sensor: 'tln_tp_file', mechanism: 'tracepoint' }]);
  assert.is(p.instances.length, 1);
  const i = p.instances[0];
  assert.is(i.object, 'tln_file.bpf.o');
  assert.is(i.name, 'tln_file');
  assert.equal(i.programs, ['tln_file_read', 'tln_file_write', 'tln_file_copy', 'tln_file_sendfile']);
  assert.equal(i.rodata, { tln_str_cap: Math.min(255, s.maps.find((m) => m.name === 'tln_str')!.keySize - 5), tln_slot_file_perm: 0 });
  assert.ok(!('tln_policy_id' in i.rodata), "the policy id is the agent's, not the plan's");
  const reads = i.attach.filter((a) => a.program === 'tln_file_read').map((a) => a.at);
  assert.equal(
    reads,
    ['sys_enter_read', 'sys_enter_pread64', 'sys_enter_readv', 'sys_enter_preadv', 'sys_enter_preadv2'].map((name) => ({
      kind: 'tracepoint',
      category: 'syscalls',
      name,
    })),
  );
  assert.is(i.attach.length, 13);
  assert.ok(i.attach.every((a) => a.hook === 'security_file_permission'));
  assert.equal(p.maps, s.maps, 'the image maps, all of them');
});

test('file hooks with BPF LSM: the lsm programs, attached where their sections say', () => {
  const s = spec(policy({ kprobes: [filePerm('Override'), mmapFile(), truncate()] }));
  const p = ok(planLoad(s, WITH_LSM, fakeHost()));
  assert.equal(
    p.hooks.map((h) => h.sensor),
    ['tln_lsm_file', 'tln_lsm_file', 'tln_lsm_file'],
  );
  assert.is(p.instances.length, 1, 'three hooks, three slot variables: one instance');
  const i = p.instances[0];
  assert.is(i.object, 'tln_lsm.bpf.o');
  assert.equal(i.programs, ['tln_lsm_file_perm', 'tln_lsm_mmap', 'tln_lsm_truncate']);
  assert.is(i.rodata.tln_slot_file_perm, 0);
  assert.is(i.rodata.tln_slot_mmap_file, 1);
  assert.is(i.rodata.tln_slot_path_truncate, 2);
  assert.equal(
    i.attach.map((a) => [a.program, a.hook, a.at.kind]),
    [
      ['tln_lsm_file_perm', 'security_file_permission', 'auto'],
      ['tln_lsm_mmap', 'security_mmap_file', 'auto'],
      ['tln_lsm_truncate', 'security_path_truncate', 'auto'],
    ],
  );
});

test('the same hook twice: a second instance of the object (one slot variable each)', () => {
  const s = spec(policy({ kprobes: [filePerm(), filePerm('Sigkill')] }));
  const p = ok(planLoad(s, NO_LSM, fakeHost()));
  assert.equal(
    p.instances.map((i) => [i.object, i.rodata.tln_slot_file_perm]),
    [
      ['tln_file.bpf.o', 0],
      ['tln_file.bpf.o', 1],
    ],
  );
});

test('Override without BPF LSM on a file hook: refused, saying what would allow it', () => {
  const r = refused(planLoad(spec(policy({ kprobes: [filePerm('Override')] })), NO_LSM, fakeHost()));
  assert.is(r.kind, 'unsupported');
  assert.is(
    r.reason,
    'hook security_file_permission: action Override cannot be carried out by tln_tp_file (tracepoint): an Override needs BPF LSM, fmod_ret or bpf_override_return, none of which this kernel offers (tln_lsm_file (lsm) needs lsm (bpf is not in the active LSM list))',
  );
});

test('a kernel without BTF: the kernel side refuses; a file policy would still plan on tracepoints', () => {
  const r = checkKernel(NO_BTF)!;
  assert.is(r.feature, 'btf');
  assert.is(r.kind, 'unsupported');
  assert.match(r.reason, /^this kernel lacks kernel BTF \(\/sys\/kernel\/btf\/vmlinux, CONFIG_DEBUG_INFO_BTF\); probed: kernel 6\.8\.0/);
  assert.is(checkKernel(NO_LSM), null);
  assert.is(checkProcessSensor(NO_BTF)!.reason, 'the process sensor needs BTF tracepoints (tp_btf): no kernel BTF');
  assert.is(checkProcessSensor(NO_LSM), null);
  const p = ok(planLoad(spec(policy({ kprobes: [filePerm()] })), { ...NO_BTF, lsm: true }, fakeHost()));
  assert.equal(
    p.hooks.map((h) => h.sensor),
    ['tln_tp_file'],
    'BPF LSM programs need BTF',
  );
});

test('tcp_connect: cgroup programs; bpf_set_retval as rodata; refused with neither LSM nor sock_addr', () => {
  const s = spec(policy({ kprobes: [connect('Sigkill')] }));
  const p = ok(planLoad(s, NO_LSM, fakeHost()));
  const i = p.instances[0];
  assert.is(i.object, 'tln_sock.bpf.o');
  assert.is(i.rodata.tln_has_set_retval, 1);
  assert.equal(
    i.attach.map((a) => [a.program, a.at]),
    [
      ['tln_connect4', { kind: 'cgroup' }],
      ['tln_connect6', { kind: 'cgroup' }],
      ['tln_connect_exit', { kind: 'tracepoint', category: 'syscalls', name: 'sys_exit_connect' }],
    ],
  );
  assert.is(ok(planLoad(s, { ...NO_LSM, setRetval: false }, fakeHost())).instances[0].rodata.tln_has_set_retval, 0);
  assert.is(ok(planLoad(s, WITH_LSM, fakeHost())).instances[0].object, 'tln_lsm.bpf.o');
  const r = refused(planLoad(s, { ...NO_LSM, cgroupSockAddr: false }, fakeHost()));
  assert.is(r.kind, 'unsupported');
  assert.match(
    r.reason,
    /^no implementation of tcp_connect works on this kernel: tln_lsm_sock \(lsm\) needs lsm; tln_kprobe_connect \(kprobe\) is not built yet; tln_cgroup_sock \(cgroup\) needs cgroupSockAddr$/,
  );
});

test('Sigkill needs bpf_send_signal', () => {
  const r = refused(planLoad(spec(policy({ kprobes: [connect('Sigkill')] })), { ...WITH_LSM, sendSignal: false, cgroupSockAddr: false }, fakeHost()));
  assert.match(r.reason, /needs .*sendSignal/);
});

test('tracepoints: the format decides the generic conf; a missing tracepoint is refused', () => {
  const tp = (event: string) =>
    spec(
      policy({
        tracepoints: [
          {
            subsystem: 'syscalls',
            event,
            args: [
              { index: 6n, type: 'string' },
              { index: 7n, type: 'int' },
            ],
          },
        ],
      }),
    );
  const host = fakeHost();
  const p = ok(planLoad(tp('sys_enter_openat'), NO_LSM, host));
  assert.equal(host.asked, ['syscalls/sys_enter_openat']);
  const i = p.instances[0];
  assert.is(i.object, 'tln_generic.bpf.o');
  assert.equal(i.programs, ['tln_tp_generic']);
  assert.is(i.rodata.tln_gen_slot, 0);
  const conf = i.rodata.tln_gen as Buffer;
  assert.is(conf.length, LAYOUT['sizeof(struct tln_gen_conf)']);
  assert.is(conf.readUInt8(LAYOUT['offsetof(struct tln_gen_conf, nargs)']), 2);
  const arg0 = LAYOUT['offsetof(struct tln_gen_conf, args)'];
  assert.is(conf.readUInt16LE(arg0 + LAYOUT['offsetof(struct tln_gen_arg, off)']), 24, 'filename is at offset 24');
  assert.is(conf.readUInt8(arg0 + LAYOUT['offsetof(struct tln_gen_arg, src)']), LAYOUT.TLN_SRC_USTR);
  assert.equal(i.attach, [
    { program: 'tln_tp_generic', hook: 'syscalls/sys_enter_openat', at: { kind: 'tracepoint', category: 'syscalls', name: 'sys_enter_openat' } },
  ]);
  const r = refused(planLoad(tp('sys_enter_nothing'), NO_LSM, host));
  assert.is(r.reason, 'hook syscalls/sys_enter_nothing: tracepoint syscalls/sys_enter_nothing does not exist on this kernel');
});

test('uprobes: the binary must exist; attached to path:symbol', () => {
  const s = spec(policy({ uprobes: [{ path: '/opt/app/bin', symbols: ['main'], args: [{ index: 0n, type: 'int' }] }] }));
  const r = refused(planLoad(s, NO_LSM, fakeHost()));
  assert.is(r.reason, 'hook /opt/app/bin:main: uprobe binary /opt/app/bin does not exist');
  const p = ok(planLoad(s, NO_LSM, fakeHost(['/opt/app/bin'])));
  assert.equal(p.instances[0].attach, [{ program: 'tln_uprobe', hook: '/opt/app/bin:main', at: { kind: 'uprobe', path: '/opt/app/bin', symbol: 'main' } }]);
  assert.ok(!ok(planLoad(s, NO_LSM, fakeHost(['/opt/app/bin']))).instances[0].programs.includes('tln_tp_generic'), 'only the needed program');
  assert.is(refused(planLoad(s, { ...NO_LSM, uprobes: false }, fakeHost(['/opt/app/bin']))).kind, 'unsupported');
});

test('a spec that cannot load anywhere: invalid, not unsupported', () => {
  const s = spec(policy({ kprobes: [filePerm()] }));
  const r = refused(planLoad({ ...s, maps: s.maps.filter((m) => m.name !== 'tln_stats') }, NO_LSM, fakeHost()));
  assert.equal([r.kind, r.reason], ['invalid', 'the image has no tln_stats map']);
  assert.equal(refused(planLoad({ ...s, hooks: [] }, NO_LSM, fakeHost())).reason, 'no hooks');
  const bad = { ...s, maps: [...s.maps, { ...s.maps[0], name: 'other' }] };
  assert.equal(refused(planLoad(bad, NO_LSM, fakeHost())).reason, 'map other: image map names start with tln_');
  const unknown = { ...s, hooks: [{ ...s.hooks[0], hookId: 999, name: 'nothing' }] };
  assert.is(refused(planLoad(unknown, WITH_LSM, fakeHost())).reason, 'hook nothing (id 999) has no kernel implementation in talon yet');
});

test('the same inputs, the same plan', () => {
  const s = spec(policy({ kprobes: [filePerm('Sigkill'), mmapFile()] }));
  assert.equal(planLoad(s, NO_LSM, fakeHost()), planLoad(s, NO_LSM, fakeHost()));
});

test('shared maps: tln_ names, the ring buffer sized as asked', () => {
  const m = sharedMaps(1 << 20);
  assert.equal(
    m.map((x) => x.name),
    ['tln_events', 'tln_lost', 'tln_procs', 'tln_pod_cgroups', 'tln_pending'],
  );
  assert.is(m[0].maxEntries, 1 << 20);
  assert.is(m.find((x) => x.name === 'tln_procs')!.valueSize, LAYOUT['sizeof(struct tln_proc)']);
});

// kernel memory: tables sized by what the policy uses
test('rate-limit table: 8192 entries only for a policy with a rateLimit, else 1', () => {
  const maps = (sels: unknown[]) => spec(filePolicy(sels)).maps;
  const sized = (sels: unknown[]) => rateLimitMap(maps(sels)).maxEntries;
  assert.is(sized([{ matchActions: [{ action: 'Post', rateLimit: '1m' }] }]), 8192);
  assert.is(
    sized([{ matchActions: [{ action: 'Sigkill' }] }, { matchActions: [{ action: 'Post', rateLimit: '2s', rateLimitScope: 'process' }] }]),
    8192,
    'a later selector',
  );
  assert.is(sized([{ matchActions: [{ action: 'Sigkill' }] }]), 1);
  assert.is(sized([{ matchActions: [{ action: 'Post' }] }]), 1);
  const d = rateLimitMap(maps([]));
  assert.equal([d.name, d.type, d.keySize, d.valueSize], ['tln_ratelimit', 9, 16, 8], 'struct tln_rl_key -> u64 (bpf/lib/tln_eval.h)');
});

test.run();
