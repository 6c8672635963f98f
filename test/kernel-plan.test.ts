// The load plan (src/kernel/plan.ts) without a kernel: policies compiled by
// the core, features given as plain objects (a kernel like this one without
// BPF LSM, one with it, one without BTF, older ones), tracefs formats and
// files given by a fake host. No root, no syscall.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compile, inspectImage } from '../src/core/index.js';
import type { PolicySpec } from '../src/core/types.js';
import type { Features } from '../src/kernel/features.js';
import {
  checkKernel,
  checkProcessSensor,
  INNER_MAPS,
  planLoad,
  rateLimitMap,
  REPLACED_IMAGE_MAPS,
  sharedMaps,
  type LoadPlan,
  type PlanHost,
  type Refusal,
} from '../src/kernel/plan.js';
import { DHOOK } from '../src/kernel/catalog.js';
import { expandListHooks } from '../src/kernel/lists.js';
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

const EXIT_OPENAT_FORMAT = `name: sys_exit_openat
ID: 639
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:long ret;	offset:16;	size:8;	signed:1;
`;

/** tracefs knows syscalls/sys_enter_openat and the exits of openat and creat only; files exist when listed */
function fakeHost(files: string[] = []): PlanHost & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    tracepointFormat(s, e) {
      asked.push(`${s}/${e}`);
      if (s === 'syscalls' && e === 'sys_enter_openat') return parseFormat(OPENAT_FORMAT);
      if (s === 'syscalls' && (e === 'sys_exit_openat' || e === 'sys_exit_creat')) return parseFormat(EXIT_OPENAT_FORMAT.replace('sys_exit_openat', e));
      // renameat2 only: as on architectures without rename/renameat (the others are skipped)
      if (s === 'syscalls' && (e === 'sys_enter_renameat2' || e === 'sys_exit_renameat2')) return parseFormat(EXIT_OPENAT_FORMAT.replace('sys_exit_openat', e));
      return `tracepoint ${s}/${e} does not exist on this kernel`;
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

test('file hooks without BPF LSM: the shared tln_file programs on the syscall tracepoints, one unit', () => {
  const s = spec(policy({ kprobes: [filePerm('Sigkill')] }));
  const p = ok(planLoad(s, NO_LSM, fakeHost()));
  assert.equal(p.hooks, [{ slot: 0, name: 'security_file_permission', sensor: 'tln_tp_file', mechanism: 'tracepoint' }]);
  assert.is(p.instances.length, 0, 'no instance of its own: the shared programs serve every policy');
  assert.is(p.shared.length, 1);
  const i = p.shared[0];
  assert.is(i.object, 'tln_file.bpf.o');
  assert.is(i.key, `tln_file.bpf.o#${DHOOK.FILE_PERM}`);
  assert.equal(i.programs, ['tln_file_read', 'tln_file_write', 'tln_file_copy', 'tln_file_sendfile', 'tln_file_rename']);
  assert.equal(i.rodata, {}, 'nothing policy-specific in a shared program');
  const reads = i.attach.filter((a) => a.program === 'tln_file_read').map((a) => a.at);
  assert.equal(
    reads,
    ['sys_enter_read', 'sys_enter_pread64', 'sys_enter_readv', 'sys_enter_preadv', 'sys_enter_preadv2'].map((name) => ({
      kind: 'tracepoint',
      category: 'syscalls',
      name,
    })),
  );
  const renames = i.attach.filter((a) => a.program === 'tln_file_rename').map((a) => a.at);
  assert.equal(
    renames.map((a) => (a.kind === 'tracepoint' ? a.name : a.kind)),
    ['sys_enter_renameat2', 'sys_exit_renameat2'],
    'the rename syscalls this kernel has, at entry and exit (they void cached verdicts)',
  );
  assert.is(i.attach.length, 15);
  assert.equal(p.units, [[0, 0xff, 0xff, 0xff]], 'one unit: file_permission at slot 0');
  assert.equal(p.maps, s.maps, 'the image maps, all of them');
});

test('file hooks with BPF LSM: the lsm programs, one shared instance per hook kind', () => {
  const s = spec(policy({ kprobes: [filePerm('Override'), mmapFile(), truncate()] }));
  const p = ok(planLoad(s, WITH_LSM, fakeHost()));
  assert.equal(
    p.hooks.map((h) => h.sensor),
    ['tln_lsm_file', 'tln_lsm_file', 'tln_lsm_file'],
  );
  assert.equal(
    p.shared.map((i) => [i.object, i.dhook, i.programs]),
    [
      ['tln_lsm.bpf.o', DHOOK.FILE_PERM, ['tln_lsm_file_perm', 'tln_lsm_rename', 'tln_rename_exit']],
      ['tln_lsm.bpf.o', DHOOK.MMAP_FILE, ['tln_lsm_mmap']],
      ['tln_lsm.bpf.o', DHOOK.PATH_TRUNCATE, ['tln_lsm_truncate']],
    ],
  );
  assert.equal(p.units, [[0, 1, 2, 0xff]], 'three hooks of three kinds: one unit');
  assert.equal(
    p.shared[0].attach.map((a) => [a.program, a.at.kind]),
    [
      ['tln_lsm_file_perm', 'auto'],
      ['tln_lsm_rename', 'auto'],
      ['tln_rename_exit', 'tracepoint'],
    ],
  );
});

test('the same hook twice: two units of the policy, one shared instance', () => {
  const s = spec(policy({ kprobes: [filePerm(), filePerm('Sigkill')] }));
  const p = ok(planLoad(s, NO_LSM, fakeHost()));
  assert.is(p.shared.length, 1);
  assert.equal(p.units, [
    [0, 0xff, 0xff, 0xff],
    [1, 0xff, 0xff, 0xff],
  ]);
});

test('image maps: each fits the one shape of its kind the programs know', () => {
  const s = spec(policy({ kprobes: [filePerm()] }));
  for (const m of s.maps) {
    if (REPLACED_IMAGE_MAPS[m.name]) continue;
    const sh = INNER_MAPS.find((x) => x.image === m.name);
    assert.ok(sh, m.name);
    assert.is(m.type, sh!.type, m.name);
    assert.ok(m.keySize <= sh!.keySize, m.name);
  }
  const bad = { ...s, maps: s.maps.map((m) => (m.name === 'tln_sels' ? { ...m, valueSize: m.valueSize + 8 } : m)) };
  const size = s.maps.find((m) => m.name === 'tln_sels')!.valueSize + 8;
  assert.match(refused(planLoad(bad, NO_LSM, fakeHost())).reason, new RegExp(`^map tln_sels: type 2, key 4, value ${size} do not fit`));
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
  const i = p.shared[0];
  assert.is(i.object, 'tln_sock.bpf.o');
  assert.is(i.rodata.tln_has_set_retval, 1);
  assert.equal(
    i.attach.map((a) => [a.program, a.at]),
    [
      ['tln_connect4', { kind: 'cgroup' }],
      ['tln_connect6', { kind: 'cgroup' }],
      ['tln_sockops', { kind: 'cgroup' }],
      ['tln_connect_exit', { kind: 'tracepoint', category: 'syscalls', name: 'sys_exit_connect' }],
    ],
  );
  assert.is(ok(planLoad(s, { ...NO_LSM, setRetval: false }, fakeHost())).shared[0].rodata.tln_has_set_retval, 0);
  assert.is(ok(planLoad(s, WITH_LSM, fakeHost())).shared[0].object, 'tln_lsm.bpf.o');
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

test('a kprobe on a syscall: served by its sys_enter tracepoint, arguments after __syscall_nr', () => {
  const sys = (call: string, args: unknown[], action = 'Sigkill') =>
    spec(
      policy({
        kprobes: [
          {
            call,
            syscall: true,
            args,
            selectors: [
              { matchArgs: [{ index: 1n, operator: 'Equal', values: ['7'] }], matchActions: [{ action, ...(action === 'Override' ? { argError: -1n } : {}) }] },
            ],
          },
        ],
      }),
    );
  const host = fakeHost();
  // __x64_sys_openat and sys_openat are the same syscall, as Tetragon normalises them
  for (const call of ['sys_openat', '__x64_sys_openat']) {
    const p = ok(
      planLoad(
        sys(call, [
          { index: 1n, type: 'string' },
          { index: 2n, type: 'int' },
        ]),
        NO_LSM,
        host,
      ),
    );
    assert.equal(p.hooks, [{ slot: 0, name: call, sensor: 'generic_kprobe_syscall_tp', mechanism: 'tracepoint' }]);
    const i = p.instances[0];
    assert.equal(i.programs, ['tln_tp_generic']);
    assert.equal(i.attach, [{ program: 'tln_tp_generic', hook: call, at: { kind: 'tracepoint', category: 'syscalls', name: 'sys_enter_openat' } }]);
    const conf = i.rodata.tln_gen as Buffer;
    const arg = (n: number) => LAYOUT['offsetof(struct tln_gen_conf, args)'] + n * LAYOUT['sizeof(struct tln_gen_arg)'];
    assert.is(conf.readUInt16LE(arg(0) + LAYOUT['offsetof(struct tln_gen_arg, off)']), 24, 'args index 1 (filename) is the field at 24');
    assert.is(conf.readUInt8(arg(0) + LAYOUT['offsetof(struct tln_gen_arg, src)']), LAYOUT.TLN_SRC_USTR, 'read from user memory');
    assert.is(conf.readUInt16LE(arg(1) + LAYOUT['offsetof(struct tln_gen_arg, off)']), 32, 'args index 2 (flags) is the field at 32');
  }
  // refused with the reason in the kprobe's terms
  assert.is(
    refused(
      planLoad(
        sys('sys_openat', [
          { index: 5n, type: 'int' },
          { index: 1n, type: 'int' },
        ]),
        NO_LSM,
        host,
      ),
    ).reason,
    'hook sys_openat: args[0] (index 5): syscall openat has 4 arguments (0-3)',
  );
  assert.match(
    refused(
      planLoad(
        sys('sys_nothing', [
          { index: 0n, type: 'int' },
          { index: 1n, type: 'int' },
        ]),
        NO_LSM,
        host,
      ),
    ).reason,
    'syscall nothing is served by tracepoint syscalls/sys_enter_nothing: tracepoint syscalls/sys_enter_nothing does not exist',
  );
  assert.match(
    refused(
      planLoad(
        sys(
          'sys_openat',
          [
            { index: 0n, type: 'int' },
            { index: 1n, type: 'int' },
          ],
          'Override',
        ),
        NO_LSM,
        host,
      ),
    ).reason,
    'action Override cannot be carried out',
  );
  assert.is(
    refused(
      planLoad(
        sys('sys_openat', [
          { index: 0n, type: 'int' },
          { index: 1n, type: 'int' },
        ]),
        { ...NO_LSM, syscallTracepoints: false },
        host,
      ),
    ).kind,
    'unsupported',
  );
  // not a syscall: no tracepoint stands in for it; a generic kprobe where the kernel has kprobes
  const other = spec(
    policy({
      kprobes: [
        {
          call: 'fd_install',
          syscall: true,
          args: [
            { index: 0n, type: 'int' },
            { index: 1n, type: 'file' },
          ],
        },
      ],
    }),
  );
  const k = ok(planLoad(other, NO_LSM, host));
  assert.equal(k.hooks, [{ slot: 0, name: 'fd_install', sensor: 'generic_kprobe', mechanism: 'kprobe' }]);
  assert.equal(k.instances[0].attach, [{ program: 'tln_kprobe', hook: 'fd_install', at: { kind: 'kprobe', function: 'fd_install' } }]);
  const kconf = k.instances[0].rodata.tln_gen as Buffer;
  const karg = (n: number) => LAYOUT['offsetof(struct tln_gen_conf, args)'] + n * LAYOUT['sizeof(struct tln_gen_arg)'];
  assert.is(kconf.readUInt8(karg(1) + LAYOUT['offsetof(struct tln_gen_arg, src)']), LAYOUT.TLN_SRC_REG_FILE, 'the file argument is read as its path');
  const creds = spec(policy({ kprobes: [{ call: 'commit_creds', syscall: true, args: [{ index: 0n, type: 'int' }] }] }));
  const here = refused(planLoad(creds, { ...NO_LSM, kprobes: false, fentry: false }, host));
  assert.is(here.kind, 'unsupported');
  assert.match(here.reason, 'generic_kprobe (kprobe) needs kprobes');
  assert.match(here.reason, 'generic_kprobe_syscall_tp (tracepoint) serves syscalls only');
});

test('a kprobe on a list of syscalls: one instance per value, each told its member number; a value the kernel lacks refuses all', () => {
  const listed = (values: string[]) =>
    spec(policy({ lists: [{ name: 'l', type: 'syscalls', values }], kprobes: [{ call: 'list:l', selectors: [{ matchActions: [{ action: 'Sigkill' }] }] }] }));
  const p = ok(planLoad(listed(['sys_openat', '__x64_sys_renameat2']), NO_LSM, fakeHost()));
  assert.equal(
    p.hooks.map((h) => [h.slot, h.name, h.sensor]),
    [
      [0, 'sys_openat', 'generic_kprobe_syscall_tp'],
      [0, '__x64_sys_renameat2', 'generic_kprobe_syscall_tp'],
    ],
  );
  assert.equal(
    p.instances.map((i) => [
      i.attach.map((a) => (a.at as { name: string }).name),
      (i.rodata.tln_gen as Buffer).readUInt16LE(LAYOUT['offsetof(struct tln_gen_conf, member)']),
    ]),
    [
      [['sys_enter_openat'], 1],
      [['sys_enter_renameat2'], 2],
    ],
  );
  assert.match(
    refused(planLoad(listed(['sys_openat', 'sys_nothing']), NO_LSM, fakeHost())).reason,
    /hook sys_nothing: syscall nothing is served by tracepoint syscalls\/sys_enter_nothing/,
  );
});

test('return: true on a kprobe and an fentry: a kretprobe and an fexit read the return value, judged there', () => {
  const withRet = (key: string, ret: boolean) =>
    spec(
      policy({
        [key]: [
          {
            call: 'vfs_read',
            ...(ret ? { return: true, returnArg: { index: 0n, type: 'int' } } : {}),
            args: [{ index: 0n, type: 'file' }],
            selectors: [
              {
                matchArgs: [{ index: 0n, operator: 'Prefix', values: ['/tmp/x'] }],
                ...(ret ? { matchReturnArgs: [{ index: 0n, operator: 'Equal', values: ['7'] }] } : {}),
              },
            ],
          },
        ],
      }),
    );
  const flags = (p: LoadPlan) => (p.instances[0].rodata.tln_gen as Buffer).readUInt8(LAYOUT['offsetof(struct tln_gen_conf, flags)']) & LAYOUT.TLN_GEN_F_RETURN;
  const k = ok(planLoad(withRet('kprobes', true), NO_LSM, fakeHost()));
  assert.equal(k.instances[0].programs, ['tln_kprobe', 'tln_kretprobe']);
  assert.equal(
    k.instances[0].attach.map((a) => a.at),
    [
      { kind: 'kprobe', function: 'vfs_read' },
      { kind: 'kprobe', function: 'vfs_read', retprobe: true },
    ],
  );
  assert.is(flags(k), LAYOUT.TLN_GEN_F_RETURN, 'the entry keeps its record for the return');
  const f = ok(planLoad(withRet('fentries', true), NO_LSM, fakeHost()));
  assert.equal(f.instances[0].programs, ['tln_fentry', 'tln_fexit']);
  assert.equal(f.instances[0].attachTargets, { tln_fentry: 'vfs_read', tln_fexit: 'vfs_read' });
  assert.is(flags(f), LAYOUT.TLN_GEN_F_RETURN);
  // without return: true, no return program and no record kept
  const plain = ok(planLoad(withRet('kprobes', false), NO_LSM, fakeHost()));
  assert.equal(plain.instances[0].programs, ['tln_kprobe']);
  assert.is(flags(plain), 0);
});

test('a list expanded twice gives the same members (the agent expands before it checks)', () => {
  const s = spec(policy({ lists: [{ name: 'l', type: 'syscalls', values: ['sys_openat', 'sys_close'] }], kprobes: [{ call: 'list:l' }] }));
  const once = expandListHooks(s);
  assert.equal(
    once.map((h) => [h.name, h.member]),
    [
      ['sys_openat', 1],
      ['sys_close', 2],
    ],
  );
  assert.equal(expandListHooks({ hooks: once }), once);
});

test("fd_install and security_file_open without kprobes: at the open syscalls' exits, the returned fd and its file", () => {
  const host = fakeHost();
  const fdi = (
    args: unknown[],
    selectors: unknown[] = [{ matchArgs: [{ index: 1n, operator: 'Prefix', values: ['/etc/'] }], matchActions: [{ action: 'Sigkill' }] }],
  ) => spec(policy({ kprobes: [{ call: 'fd_install', syscall: false, args, selectors }] }));
  const here = { ...NO_LSM, kprobes: false, fentry: false };
  const p = ok(
    planLoad(
      fdi([
        { index: 0n, type: 'int' },
        { index: 1n, type: 'file' },
      ]),
      here,
      host,
    ),
  );
  assert.equal(p.hooks, [{ slot: 0, name: 'fd_install', sensor: 'generic_kprobe_open_tp', mechanism: 'tracepoint' }]);
  // open and openat2 do not exist on this fake kernel: skipped, not refused
  assert.equal(
    p.instances[0].attach.map((a) => a.at),
    [
      { kind: 'tracepoint', category: 'syscalls', name: 'sys_exit_openat' },
      { kind: 'tracepoint', category: 'syscalls', name: 'sys_exit_creat' },
    ],
  );
  const conf = p.instances[0].rodata.tln_gen as Buffer;
  const arg = (n: number) => LAYOUT['offsetof(struct tln_gen_conf, args)'] + n * LAYOUT['sizeof(struct tln_gen_arg)'];
  assert.is(conf.readUInt8(LAYOUT['offsetof(struct tln_gen_conf, flags)']), LAYOUT.TLN_GEN_F_NEED_FILE, 'no event for a failed open');
  assert.equal(
    [conf.readUInt8(arg(0) + LAYOUT['offsetof(struct tln_gen_arg, src)']), conf.readUInt16LE(arg(0) + LAYOUT['offsetof(struct tln_gen_arg, off)'])],
    [LAYOUT.TLN_SRC_INT, 16],
  );
  assert.equal(
    [conf.readUInt8(arg(1) + LAYOUT['offsetof(struct tln_gen_arg, src)']), conf.readUInt16LE(arg(1) + LAYOUT['offsetof(struct tln_gen_arg, off)'])],
    [LAYOUT.TLN_SRC_FD, 16],
  );
  assert.is(
    refused(planLoad(fdi([{ index: 1n, type: 'int' }], []), here, host)).reason,
    'hook fd_install: fd_install args[0] (index 1): argument 1 is the struct file *; declare it as file',
  );
  assert.is(
    refused(
      planLoad(
        fdi([
          { index: 2n, type: 'int' },
          { index: 1n, type: 'file' },
        ]),
        here,
        host,
      ),
    ).reason,
    'hook fd_install: fd_install args[0] (index 2): fd_install has arguments 0 (fd) and 1 (file) only',
  );
  const fo = spec(policy({ kprobes: [{ call: 'security_file_open', syscall: false, args: [{ index: 0n, type: 'file' }] }] }));
  assert.is(ok(planLoad(fo, here, host)).hooks[0].sensor, 'generic_kprobe_open_tp');
  // with kprobes the real function is hooked
  assert.is(ok(planLoad(fo, NO_LSM, host)).hooks[0].sensor, 'generic_kprobe');
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
    ['tln_events', 'tln_lost', 'tln_procs', 'tln_pending', 'tln_dispatch', 'tln_units', 'tln_cgroups', 'tln_renames', 'tln_fcache'],
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

test('probe: every catalog implementation is listed where it applies, with what serves each kind of hook here', async () => {
  const { probeReport } = await import('../src/kernel/probe.js');
  const { CATALOG } = await import('../src/kernel/catalog.js');
  const { readFileSync } = await import('node:fs');
  const features = (k: string) => (JSON.parse(readFileSync(`test/fixtures/kernels/${k}.json`, 'utf8')) as { probed: Features }).probed;
  for (const k of ['host-6.18', 'vm-6.1']) {
    const r = probeReport(features(k), 'bpf/.output');
    const listed = new Set(r.hooks.flatMap((h) => h.impls.map((i) => `${h.hookId}:${i.sensor}`)));
    for (const e of CATALOG) for (const i of e.impls) assert.ok(listed.has(`${e.hookId}:${i.sensor}`), `${k}: ${e.call} ${i.sensor} is not listed`);
    const line = (hook: string) => r.hooks.find((h) => h.hook === hook);
    assert.is(line('kprobe sys_<name> (syscall: true)')?.chosen, 'generic_kprobe_syscall_tp', k);
  }
  const host = probeReport(features('host-6.18'), 'bpf/.output');
  const vm = probeReport(features('vm-6.1'), 'bpf/.output');
  const chosen = (r: typeof host, hook: string) => r.hooks.find((h) => h.hook === hook)?.chosen;
  assert.is(chosen(host, 'kprobe fd_install, security_file_open'), 'generic_kprobe_open_tp');
  assert.is(chosen(vm, 'kprobe fd_install, security_file_open'), 'generic_kprobe');
  assert.is(chosen(host, 'kprobe <other function>'), null);
  assert.match(host.hooks.find((h) => h.hook === 'kprobe <other function>')!.reason!, /generic_kprobe \(kprobe\) needs kprobes/);
  assert.is(chosen(vm, 'kprobe <other function> with Override'), 'generic_fmod_ret');
});

test.run();
