// Argument types the kernel reads since issue 10, compiler and loader side: `nop`
// is no longer a need (and a Tetragon event, which leaves nop out, is judged on
// the same arguments as the kernel's record, which keeps its empty slot);
// `char_buf` on syscall hooks with sizeArgIndex or returnCopy loads, everything
// else about it stays a need with its reason; the generic program's
// configuration says where the buffer, its size, or its exit copy are.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compile, inspectImage, Evaluator } from '../src/core/index.js';
import type { EvalArg } from '../src/core/types.js';
import { LAYOUT } from '../src/kernel/records.js';
import {
  capCapableConf,
  hasResolve,
  hasReturnCopy,
  kprobeConf,
  parseFormat,
  rawTpConf,
  syscallConf,
  syscallReturnConf,
  tracepointConf,
} from '../src/kernel/tracefs.js';
import { OPTS, policy, int, event } from './helpers/core.js';

const needsOf = (kprobe: Record<string, unknown>) => {
  const r = compile([policy({ kprobes: [kprobe] })], OPTS);
  assert.ok(r.image, JSON.stringify(r.diagnostics));
  return inspectImage(r.image!)[0].hooks[0].spec?.needs;
};
const hookOf = (kprobe: Record<string, unknown>) => inspectImage(compile([policy({ kprobes: [kprobe] })], OPTS).image!)[0].hooks[0];

const write = (buf: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  call: 'sys_write',
  syscall: true,
  args: [
    { index: 0n, type: 'int' },
    { index: 1n, type: 'char_buf', ...buf },
    { index: 2n, type: 'size_t' },
  ],
  ...extra,
});

test('nop: declared positions are no need on any hook kind', () => {
  assert.equal(
    needsOf({
      call: 'security_mmap_file',
      args: [
        { index: 0n, type: 'file' },
        { index: 1n, type: 'uint32' },
        { index: 2n, type: 'nop' },
      ],
    }),
    [],
  );
  assert.equal(
    needsOf({
      call: 'sys_lseek',
      syscall: true,
      args: [
        { index: 0n, type: 'nop' },
        { index: 2n, type: 'int' },
      ],
    }),
    [],
  );
  const r = compile([policy({ tracepoints: [{ subsystem: 'syscalls', event: 'sys_enter_lseek', args: [{ index: 5n, type: 'nop' }] }] })], OPTS);
  assert.equal(inspectImage(r.image!)[0].hooks[0].spec?.needs, []);
});

test('nop: a filter after a nop names the same argument in a Tetragon event (nop left out) and in a kernel-shaped one (empty slot)', () => {
  const doc = policy({
    kprobes: [
      {
        call: 'sys_lseek',
        syscall: true,
        args: [
          { index: 0n, type: 'nop' },
          { index: 2n, type: 'int' },
        ],
        selectors: [{ matchArgs: [{ index: 2n, operator: 'Equal', values: ['4242'] }] }],
      },
    ],
  });
  const ev = new Evaluator(compile([doc], OPTS).image!);
  const none: EvalArg = { kind: 'none' } as EvalArg;
  const v = (args: EvalArg[]) => ev.evaluate(event('__x64_sys_lseek', args)).verdict;
  assert.is(v([int(4242)]), 'post', 'Tetragon shape: the nop is not in args');
  assert.is(v([none, int(4242)]), 'post', 'kernel shape: the nop slot is empty');
  assert.is(v([int(1)]), 'none');
  assert.is(v([none, int(1)]), 'none');
  // an event that has the nop position filled is read by position: the value at slot 1 decides
  assert.is(v([int(4242), int(1)]), 'none');
});

test('char_buf on syscall hooks: sizeArgIndex and returnCopy load; maxData, a missing size and other hook kinds stay needs', () => {
  assert.equal(needsOf(write({ sizeArgIndex: 3n })), []);
  assert.equal(needsOf(write({ returnCopy: true })), []);
  assert.equal(needsOf(write({})), ['char_buf without sizeArgIndex or returnCopy']);
  assert.equal(needsOf(write({ sizeArgIndex: 3n, maxData: true })), ['maxData']);
  // a kernel function's buffer: read by no program yet
  assert.equal(
    needsOf({
      call: 'tty_write',
      args: [
        { index: 1n, type: 'char_buf', sizeArgIndex: 3n },
        { index: 2n, type: 'size_t' },
      ],
    }),
    ['sizeArgIndex', 'argument type char_buf'],
  );
  // a filter on the buffer itself: refused at load, decided by dry-run
  const sel = [{ matchArgs: [{ index: 1n, operator: 'Prefix', values: ['GET'] }] }];
  assert.equal(needsOf(write({ sizeArgIndex: 3n }, { selectors: sel })), ['filters on char_buf arguments']);
});

const WRITE_FORMAT = `name: sys_enter_write
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:unsigned int fd;	offset:16;	size:8;	signed:0;
	field:const char * buf;	offset:24;	size:8;	signed:0;
	field:size_t count;	offset:32;	size:8;	signed:0;
`;
const EXIT_FORMAT = `name: sys_exit_write
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:long ret;	offset:16;	size:8;	signed:1;
`;

const argAt = (conf: Buffer, i: number, field: string) =>
  conf.readUIntLE(
    LAYOUT['offsetof(struct tln_gen_conf, args)'] + i * LAYOUT['sizeof(struct tln_gen_arg)'] + LAYOUT[`offsetof(struct tln_gen_arg, ${field})`],
    field === 'off' || field === 'size' ? 2 : 1,
  );
const bufAt = (conf: Buffer, i: number, field: string) =>
  conf.readUIntLE(
    LAYOUT['offsetof(struct tln_gen_conf, bufs)'] + i * LAYOUT['sizeof(struct tln_gen_buf)'] + LAYOUT[`offsetof(struct tln_gen_buf, ${field})`],
    field === 'len_off' ? 2 : 1,
  );
const flagsOf = (conf: Buffer) => conf.readUInt8(LAYOUT['offsetof(struct tln_gen_conf, flags)']);

test('char_buf sizeArgIndex: the buffer pointer is user memory at the buf field, its size the count field (sizeArgIndex counts from 1)', () => {
  const h = hookOf(write({ sizeArgIndex: 3n }));
  const conf = syscallConf(h, parseFormat(WRITE_FORMAT));
  assert.equal([argAt(conf, 1, 'src'), argAt(conf, 1, 'off')], [LAYOUT.TLN_SRC_UBUF, 24]);
  assert.equal([bufAt(conf, 1, 'len_off'), bufAt(conf, 1, 'len_size'), bufAt(conf, 1, 'flags')], [32, 8, 0]);
  assert.is(flagsOf(conf) & LAYOUT.TLN_GEN_F_RETCOPY, 0);
  assert.not.ok(hasReturnCopy(h));
  // sizeArgIndex naming the pointer itself is refused with the reason
  assert.throws(() => syscallConf(hookOf(write({ sizeArgIndex: 2n })), parseFormat(WRITE_FORMAT)), /sizeArgIndex 2 names "const char \* buf", not an integer/);
});

test('char_buf returnCopy: the exit copies as many bytes as the call returned (the exit program is attached though return: false)', () => {
  const h = hookOf(write({ returnCopy: true }));
  assert.ok(hasReturnCopy(h));
  const conf = syscallReturnConf(syscallConf(h, parseFormat(WRITE_FORMAT)), h, parseFormat(EXIT_FORMAT));
  assert.is(argAt(conf, 1, 'src'), LAYOUT.TLN_SRC_UBUF);
  assert.is(bufAt(conf, 1, 'flags'), LAYOUT.TLN_GEN_B_RETCOPY);
  assert.is(flagsOf(conf) & (LAYOUT.TLN_GEN_F_RETCOPY | LAYOUT.TLN_GEN_F_RETURN), LAYOUT.TLN_GEN_F_RETCOPY | LAYOUT.TLN_GEN_F_RETURN);
});

test('raw: true tracepoints: linux_binprm is no need; the BTF tracepoint reads TP_PROTO argument i at ctx[i]', () => {
  const tp = (args: unknown[]) => {
    const r = compile([policy({ tracepoints: [{ subsystem: 'sched', event: 'sched_process_exec', raw: true, args }] })], OPTS);
    assert.ok(r.image, JSON.stringify(r.diagnostics));
    return inspectImage(r.image!)[0].hooks[0];
  };
  const h = tp([
    { index: 2n, type: 'linux_binprm' },
    { index: 1n, type: 'int' },
  ]);
  assert.equal(h.spec?.needs, []);
  const conf = rawTpConf(h);
  assert.equal([argAt(conf, 0, 'src'), argAt(conf, 0, 'off'), argAt(conf, 1, 'src'), argAt(conf, 1, 'off')], [LAYOUT.TLN_SRC_BPRM, 16, LAYOUT.TLN_SRC_INT, 8]);
  // a type the program does not read there is refused at load with the reason
  assert.throws(() => rawTpConf(tp([{ index: 0n, type: 'file' }])), /file arguments cannot be read from a raw tracepoint yet/);
  // linux_binprm on a tracefs tracepoint: a struct linux_binprm pointer field, checked at load
  const r = compile([policy({ tracepoints: [{ subsystem: 'sched', event: 'sched_process_exec', args: [{ index: 5n, type: 'linux_binprm' }] }] })], OPTS);
  const th = inspectImage(r.image!)[0].hooks[0];
  assert.equal(th.spec?.needs, []);
  const fmt = parseFormat(
    [
      'field:unsigned short common_type; offset:0; size:2; signed:0;',
      'field:unsigned char common_flags; offset:2; size:1; signed:0;',
      'field:unsigned char common_preempt_count; offset:3; size:1; signed:0;',
      'field:int common_pid; offset:4; size:4; signed:1;',
      'field:__data_loc char[] filename; offset:8; size:4; signed:0;',
      'field:pid_t pid; offset:12; size:4; signed:1;',
    ]
      .map((l) => '\t' + l)
      .join('\n'),
  );
  assert.throws(() => tracepointConf(th, fmt), /field 5 "pid_t pid" is not a struct linux_binprm pointer/);
});

test('socket kinds (sock, socket, skb, sockaddr) and cred: no need on kprobes, LSM hooks and raw tracepoints; read through the pointer into data[]; a tracefs tracepoint field must point to the struct', () => {
  const one = (hooks: Record<string, unknown>) => {
    const r = compile([policy(hooks)], OPTS);
    assert.ok(r.image, JSON.stringify(r.diagnostics));
    return inspectImage(r.image!)[0].hooks[0];
  };
  const kinds = [
    ['sock', LAYOUT.TLN_SRC_P_SOCK],
    ['socket', LAYOUT.TLN_SRC_P_SOCKET],
    ['skb', LAYOUT.TLN_SRC_P_SKB],
    ['sockaddr', LAYOUT.TLN_SRC_P_SOCKADDR],
    ['cred', LAYOUT.TLN_SRC_P_CRED],
  ] as const;
  const args = kinds.map(([type], i) => ({ index: BigInt(i), type }));
  const k = one({ kprobes: [{ call: 'ip_output', args }] });
  assert.equal(k.spec?.needs, []);
  const kc = kprobeConf(k);
  assert.equal(
    kinds.map((_, i) => [argAt(kc, i, 'src'), argAt(kc, i, 'off')]),
    kinds.map(([, src], i) => [src, i]),
    'function argument i, its struct read by the pointer kind',
  );
  const raw = one({ tracepoints: [{ subsystem: 'sock', event: 'inet_sock_set_state', raw: true, args }] });
  assert.equal(raw.spec?.needs, []);
  const rc = rawTpConf(raw);
  assert.equal(
    kinds.map((_, i) => [argAt(rc, i, 'src'), argAt(rc, i, 'off')]),
    kinds.map(([, src], i) => [src, i * 8]),
    'TP_PROTO argument i at ctx[i]',
  );
  // a tracefs tracepoint: the format's field must be a pointer to the struct (checked at load)
  const tracefs = one({ tracepoints: [{ subsystem: 'sock', event: 'inet_sock_set_state', args: [{ index: 8n, type: 'sock' }] }] });
  assert.equal(tracefs.spec?.needs, []);
  const sockFmt = parseFormat(
    [
      'field:unsigned short common_type; offset:0; size:2; signed:0;',
      'field:unsigned char common_flags; offset:2; size:1; signed:0;',
      'field:unsigned char common_preempt_count; offset:3; size:1; signed:0;',
      'field:int common_pid; offset:4; size:4; signed:1;',
      'field:const void * skaddr; offset:8; size:8; signed:0;',
      'field:int oldstate; offset:16; size:4; signed:1;',
      'field:int newstate; offset:20; size:4; signed:1;',
      'field:__u16 sport; offset:24; size:2; signed:0;',
      'field:const void * skaddr2; offset:32; size:8; signed:0;',
    ]
      .map((l) => '\t' + l)
      .join('\n'),
  );
  assert.throws(() => tracepointConf(tracefs, sockFmt), /field 8 "const void \* skaddr2" is not a struct sock pointer, which a sock argument is read from/);
  // what the generic programs do not read yet is refused at load, naming the types they do
  const mod = one({ kprobes: [{ call: 'security_kernel_load_data', args: [{ index: 0n, type: 'load_info' }] }] });
  assert.ok(mod.spec?.needs?.includes('argument type load_info'), JSON.stringify(mod.spec?.needs));
  // a cred is shown, not compared: a filter on it is an error naming why
  const credFilter = compile(
    [
      policy({
        kprobes: [{ call: 'commit_creds', args: [{ index: 0n, type: 'cred' }], selectors: [{ matchArgs: [{ index: 0n, operator: 'Equal', values: ['0'] }] }] }],
      }),
    ],
    OPTS,
  );
  assert.match(credFilter.diagnostics.map((d) => d.message).join('\n'), /operator Equal cannot be used on argument 0 of type cred \(no operator compares it/);
});

test('user_namespace, net_device and capability: read on kprobes, raw tracepoints and pointer fields of a tracepoint (capability/cap_capable); syscall fields refused', () => {
  const one = (hooks: Record<string, unknown>) => {
    const r = compile([policy(hooks)], OPTS);
    assert.ok(r.image, JSON.stringify(r.diagnostics));
    return inspectImage(r.image!)[0].hooks[0];
  };
  const kinds = [
    ['user_namespace', LAYOUT.TLN_SRC_P_USERNS],
    ['capability', LAYOUT.TLN_SRC_REG],
    ['net_device', LAYOUT.TLN_SRC_P_NETDEV],
  ] as const;
  const args = kinds.map(([type], i) => ({ index: BigInt(i), type }));
  const k = one({ kprobes: [{ call: 'cap_capable', args }] });
  assert.equal(k.spec?.needs, []);
  const kc = kprobeConf(k);
  assert.equal(
    kinds.map((_, i) => [argAt(kc, i, 'src'), argAt(kc, i, 'off')]),
    kinds.map(([, src], i) => [src, i]),
  );
  const raw = one({ tracepoints: [{ subsystem: 'capability', event: 'cap_capable', raw: true, args }] });
  assert.equal(raw.spec?.needs, []);
  const rc = rawTpConf(raw);
  assert.equal(
    kinds.map((_, i) => [argAt(rc, i, 'src'), argAt(rc, i, 'off')]),
    [LAYOUT.TLN_SRC_P_USERNS, LAYOUT.TLN_SRC_INT, LAYOUT.TLN_SRC_P_NETDEV].map((src, i) => [src, i * 8]),
  );
  // the tracefs tracepoint of this kernel family (6.15+): cred, user namespaces and cap in its fields
  const capFmt = parseFormat(
    [
      'field:unsigned short common_type; offset:0; size:2; signed:0;',
      'field:unsigned char common_flags; offset:2; size:1; signed:0;',
      'field:unsigned char common_preempt_count; offset:3; size:1; signed:0;',
      'field:int common_pid; offset:4; size:4; signed:1;',
      'field:const struct cred * cred; offset:8; size:8; signed:0;',
      'field:struct user_namespace * target_ns; offset:16; size:8; signed:0;',
      'field:const struct user_namespace * capable_ns; offset:24; size:8; signed:0;',
      'field:int cap; offset:32; size:4; signed:1;',
      'field:int ret; offset:36; size:4; signed:1;',
    ]
      .map((l) => '\t' + l)
      .join('\n'),
  );
  const tp = one({
    tracepoints: [
      {
        subsystem: 'capability',
        event: 'cap_capable',
        args: [
          { index: 4n, type: 'cred' },
          { index: 5n, type: 'user_namespace' },
          { index: 7n, type: 'capability' },
        ],
      },
    ],
  });
  assert.equal(tp.spec?.needs, []);
  const tc = tracepointConf(tp, capFmt);
  assert.equal(
    [0, 1, 2].map((i) => [argAt(tc, i, 'src'), argAt(tc, i, 'off'), argAt(tc, i, 'size')]),
    [
      [LAYOUT.TLN_SRC_P_CRED, 8, 8],
      [LAYOUT.TLN_SRC_P_USERNS, 16, 8],
      [LAYOUT.TLN_SRC_INT, 32, 4],
    ],
  );
  // a kprobe on cap_capable served by this tracepoint: function arguments 0-2 are its cred, target_ns and
  // cap fields; return: true reads ret in the same program
  const kcap = one({
    kprobes: [
      {
        call: 'cap_capable',
        return: true,
        args: [
          { index: 1n, type: 'user_namespace' },
          { index: 2n, type: 'capability' },
        ],
        returnArg: { index: 0n, type: 'int' },
      },
    ],
  });
  const cc = capCapableConf(kcap, capFmt);
  assert.equal(
    [0, 1].map((i) => [argAt(cc, i, 'src'), argAt(cc, i, 'off')]),
    [
      [LAYOUT.TLN_SRC_P_USERNS, 16],
      [LAYOUT.TLN_SRC_INT, 32],
    ],
  );
  const ro = LAYOUT['offsetof(struct tln_gen_conf, ret)'];
  assert.equal(
    [cc.readUInt16LE(ro + LAYOUT['offsetof(struct tln_gen_arg, off)']), cc.readUInt8(ro + LAYOUT['offsetof(struct tln_gen_arg, src)'])],
    [36, LAYOUT.TLN_SRC_INT],
  );
  const flags = cc.readUInt8(LAYOUT['offsetof(struct tln_gen_conf, flags)']);
  assert.equal([flags & LAYOUT.TLN_GEN_F_RET_HERE, flags & LAYOUT.TLN_GEN_F_RETURN], [LAYOUT.TLN_GEN_F_RET_HERE, 0], 'judged in the one program');
  const opts = one({ kprobes: [{ call: 'cap_capable', args: [{ index: 3n, type: 'uint32' }] }] });
  assert.throws(
    () => capCapableConf(opts, capFmt),
    /args\[0\] \(index 3\): tracepoint capability\/cap_capable gives cap_capable's arguments 0 \(cred\), 1 \(targ_ns\) and 2 \(cap\); opts \(3\) is not available/,
  );
  const wrong = one({ tracepoints: [{ subsystem: 'capability', event: 'cap_capable', args: [{ index: 4n, type: 'user_namespace' }] }] });
  assert.throws(() => tracepointConf(wrong, capFmt), /field 4 "const struct cred \* cred" is not a struct user_namespace pointer/);
  // a syscall's pointers are user memory: a kernel struct is never read from them
  const sys = one({ tracepoints: [{ subsystem: 'syscalls', event: 'sys_enter_connect', args: [{ index: 6n, type: 'sockaddr' }] }] });
  const connFmt = parseFormat(
    [
      'field:unsigned short common_type; offset:0; size:2; signed:0;',
      'field:unsigned char common_flags; offset:2; size:1; signed:0;',
      'field:unsigned char common_preempt_count; offset:3; size:1; signed:0;',
      'field:int common_pid; offset:4; size:4; signed:1;',
      'field:int __syscall_nr; offset:8; size:4; signed:1;',
      'field:int fd; offset:16; size:8; signed:0;',
      'field:struct sockaddr * uservaddr; offset:24; size:8; signed:0;',
    ]
      .map((l) => '\t' + l)
      .join('\n'),
  );
  assert.throws(() => tracepointConf(sys, connFmt), /a syscall tracepoint's pointers are user memory; sockaddr arguments are read from the kernel's/);
  // a user namespace is shown, not compared
  const f = compile(
    [policy({ kprobes: [{ call: 'cap_capable', args, selectors: [{ matchArgs: [{ index: 0n, operator: 'Equal', values: ['0'] }] }] }] })],
    OPTS,
  );
  assert.match(f.diagnostics.map((d) => d.message).join('\n'), /operator Equal cannot be used on argument 0 of type user_namespace \(no operator compares it/);
});

test('bpf_attr, bpf_prog, bpf_map, perf_event: read through the pointer into data[] on kprobes and raw tracepoints; shown, not compared', () => {
  const kinds = [
    ['bpf_attr', LAYOUT.TLN_SRC_P_BPFATTR],
    ['bpf_prog', LAYOUT.TLN_SRC_P_BPFPROG],
    ['bpf_map', LAYOUT.TLN_SRC_P_BPFMAP],
    ['perf_event', LAYOUT.TLN_SRC_P_PERFEV],
  ] as const;
  const args = kinds.map(([type], i) => ({ index: BigInt(i), type }));
  const r = compile([policy({ kprobes: [{ call: 'bpf_check', args }] })], OPTS);
  assert.ok(r.image, JSON.stringify(r.diagnostics));
  const k = inspectImage(r.image!)[0].hooks[0];
  assert.equal(k.spec?.needs, []);
  const kc = kprobeConf(k);
  assert.equal(
    kinds.map((_, i) => [argAt(kc, i, 'src'), argAt(kc, i, 'off')]),
    kinds.map(([, src], i) => [src, i]),
  );
  const f = compile([policy({ kprobes: [{ call: 'bpf_check', args, selectors: [{ matchArgs: [{ index: 2n, operator: 'Equal', values: ['1'] }] }] }] })], OPTS);
  assert.match(f.diagnostics.map((d) => d.message).join('\n'), /operator Equal cannot be used on argument 2 of type bpf_map \(no operator compares it/);
});

test('linux_binprm on an LSM hook or kprobe: read as its file (a walk to bprm->file), filters on it in the kernel', () => {
  const r = compile(
    [
      policy({
        lsmhooks: [
          {
            hook: 'bprm_check_security',
            args: [{ index: 0n, type: 'linux_binprm' }],
            selectors: [{ matchArgs: [{ index: 0n, operator: 'Postfix', values: ['/tln-denied'] }], matchActions: [{ action: 'Override', argError: -1n }] }],
          },
        ],
      }),
    ],
    OPTS,
  );
  assert.ok(r.image, JSON.stringify(r.diagnostics));
  const h = inspectImage(r.image!)[0].hooks[0];
  assert.equal(h.spec?.needs, [], 'no need: the kernel reads and filters it');
  const conf = kprobeConf(h);
  assert.is(argAt(conf, 0, 'src'), LAYOUT.TLN_SRC_REG_FILE);
  assert.ok(hasResolve(h), 'the loader adds the walk to its file');
});

test.run();
