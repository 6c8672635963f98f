// Tracepoint formats and the configuration of the generic hook programs
// (src/kernel/tracefs.ts): field shapes, Tetragon's indexes (common_* fields
// counted), how each declared argument is read, and the refusals. No root:
// format texts as this kernel prints them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { autoTypeOf, parseFormat, tracepointConf, typeAutoArgs, uprobeConf, SRC } from '../src/kernel/tracefs.js';
import { LAYOUT } from '../src/kernel/records.js';
import { NEED_AUTO_TRACEPOINT, unsupportedReasons } from '../src/kernel/support.js';
import { compile, inspectImage } from '../src/core/index.js';
import type { HookSpec } from '../src/core/types.js';
import { policy, tracepointHook } from './helpers/core.js';

const COMMON = `	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;
`;
const OPENAT = `name: sys_enter_openat
ID: 782
format:
${COMMON}
	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:int dfd;	offset:16;	size:8;	signed:0;
	field:const char * filename;	offset:24;	size:8;	signed:0;
	field:int flags;	offset:32;	size:8;	signed:0;
	field:umode_t mode;	offset:40;	size:8;	signed:0;

print fmt: "dfd: 0x%08lx, filename: 0x%08lx", ((unsigned long)(REC->dfd)), ((unsigned long)(REC->filename))
`;
const FORK = `name: sched_process_fork
format:
${COMMON}
	field:__data_loc char[] parent_comm;	offset:8;	size:4;	signed:0;
	field:pid_t parent_pid;	offset:12;	size:4;	signed:1;
	field:char child_comm[16];	offset:16;	size:16;	signed:0;
	field:unsigned long args[6];	offset:32;	size:48;	signed:0;
	field:const char * name;	offset:80;	size:8;	signed:0;
`;

const hook = tracepointHook;

/** (off, size, src, signed) of argument i of a tln_gen_conf */
function arg(buf: Buffer, i: number): [number, number, number, number] {
  const o = LAYOUT['offsetof(struct tln_gen_conf, args)'] + i * LAYOUT['sizeof(struct tln_gen_arg)'];
  return [buf.readUInt16LE(o), buf.readUInt16LE(o + 2), buf.readUInt8(o + 4), buf.readUInt8(o + 5)];
}

test('parseFormat: every field, common_* first, with its shape', () => {
  const f = parseFormat(OPENAT);
  assert.equal(
    f.map((x) => x.name),
    ['common_type', 'common_flags', 'common_preempt_count', 'common_pid', '__syscall_nr', 'dfd', 'filename', 'flags', 'mode'],
  );
  assert.equal([f[6].offset, f[6].size, f[6].shape], [24, 8, 'char-pointer']);
  assert.equal([f[4].signed, f[5].signed, f[5].shape], [true, false, 'int']);
  const g = parseFormat(FORK);
  assert.equal(
    g.slice(4).map((x) => [x.name, x.shape]),
    [
      ['parent_comm', 'data-loc-string'],
      ['parent_pid', 'int'],
      ['child_comm', 'char-array'],
      ['args', 'array'],
      ['name', 'char-pointer'],
    ],
  );
});

test('tracepointConf: syscall tracepoint, integers and a user string', () => {
  const T = { INT: 1, UINT32: 2, STRING: 19 };
  const b = tracepointConf(
    hook('syscalls', 'sys_enter_openat', [
      { index: 4, type: T.INT },
      { index: 5, type: T.INT },
      { index: 6, type: T.STRING },
      { index: 8, type: T.UINT32 },
    ]),
    parseFormat(OPENAT),
  );
  assert.is(b.length, LAYOUT['sizeof(struct tln_gen_conf)']);
  assert.is(b.readUInt8(0), 4);
  assert.equal(arg(b, 0), [8, 4, SRC.INT, 1]);
  assert.equal(arg(b, 1), [16, 8, SRC.INT, 0]);
  assert.equal(arg(b, 2), [24, 8, SRC.USTR, 0]);
  assert.equal(arg(b, 3), [40, 8, SRC.INT, 0]);
  assert.equal(arg(b, 4), [0, 0, SRC.NONE, 0]);
});

test('tracepointConf: other subsystems read kernel strings, __data_loc and char arrays', () => {
  const b = tracepointConf(
    hook('sched', 'sched_process_fork', [
      { index: 4, type: 19 },
      { index: 5, type: 1 },
      { index: 6, type: 19 },
      { index: 8, type: 19 },
      { index: 8, type: 4 },
    ]),
    parseFormat(FORK),
  );
  assert.equal(arg(b, 0), [8, 4, SRC.DATA_LOC, 0]);
  assert.equal(arg(b, 1), [12, 4, SRC.INT, 1]);
  assert.equal(arg(b, 2), [16, 16, SRC.ARRAY, 0]);
  assert.equal(arg(b, 3), [80, 8, SRC.KSTR, 0]);
  assert.equal(arg(b, 4), [80, 8, SRC.INT, 0], 'a pointer read as an integer: its value');
});

test('tracepointConf refuses what cannot be read, naming the field', () => {
  const f = parseFormat(FORK);
  assert.throws(
    () => tracepointConf(hook('sched', 'sched_process_fork', [{ index: 9, type: 1 }]), f),
    /args\[0\] \(index 9\): the tracepoint has 9 fields \(0-8, common_\* fields included\)/,
  );
  assert.throws(() => tracepointConf(hook('sched', 'sched_process_fork', [{ index: 5, type: 19 }]), f), /field 5 "pid_t parent_pid" is not a string/);
  assert.throws(() => tracepointConf(hook('sched', 'sched_process_fork', [{ index: 7, type: 19 }]), f), /field 7 "unsigned long args\[6\]" is not a string/);
  assert.throws(
    () => tracepointConf(hook('sched', 'sched_process_fork', [{ index: 6, type: 1 }]), f),
    /field 6 "char child_comm\[16\]" is not an integer \(declare it as string/,
  );
  assert.throws(() => tracepointConf(hook('sched', 'sched_process_fork', [{ index: 5, type: 16 }]), f), /file arguments cannot be read from a tracepoint/);
});

const LSEEK = `name: sys_enter_lseek
format:
${COMMON}
	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:unsigned int fd;	offset:16;	size:8;	signed:0;
	field:off_t offset;	offset:24;	size:8;	signed:0;
	field:unsigned int whence;	offset:32;	size:8;	signed:0;
`;

test('autoTypeOf: integers as declared (syscall fields are stored as 8 bytes), strings, pointers; nothing for arrays', () => {
  const types = (text: string) => parseFormat(text).map(autoTypeOf);
  assert.equal(types(LSEEK), ['uint16', 'uint8', 'uint8', 'int32', 'int32', 'uint32', 'int64', 'uint32']);
  assert.equal(types(OPENAT).slice(5), ['int32', 'string', 'int32', 'uint16']);
  assert.equal(types(FORK).slice(4), ['string', 'int32', 'string', null, 'string']);
  assert.is(autoTypeOf({ decl: 'void * ptr', name: 'ptr', offset: 8, size: 8, signed: false, shape: 'pointer' }), 'uint64');
  assert.is(autoTypeOf({ decl: '__u64 ino', name: 'ino', offset: 8, size: 8, signed: false, shape: 'int' }), 'uint64');
  assert.is(autoTypeOf({ decl: 'long long int x', name: 'x', offset: 8, size: 8, signed: true, shape: 'int' }), 'int64');
  assert.is(autoTypeOf({ decl: 'some_enum_t st', name: 'st', offset: 8, size: 4, signed: false, shape: 'int' }), 'uint32', 'unknown names: by size and sign');
});

test('typeAutoArgs: auto and untyped fields of tracepoints get their format type; declared types, raw tracepoints and unknown fields stay', () => {
  const doc = {
    spec: {
      tracepoints: [
        { subsystem: 'syscalls', event: 'sys_enter_lseek', args: [{ index: 7, type: 'auto' }, { index: 5 }, { index: 6, type: 'int' }, { index: 99 }] },
        { subsystem: 'sched', event: 'sched_process_fork', raw: true, args: [{ index: 0 }] },
        { subsystem: 'sched', event: 'sched_process_fork', args: [{ index: 7, type: 'auto' }] },
        { subsystem: 'nope', event: 'none', args: [{ index: 5 }] },
      ],
    },
  };
  const formats: Record<string, string> = { 'syscalls/sys_enter_lseek': LSEEK, 'sched/sched_process_fork': FORK };
  const typed = typeAutoArgs(doc, (s, e) => (formats[`${s}/${e}`] ? parseFormat(formats[`${s}/${e}`]) : `tracepoint ${s}/${e} does not exist`));
  assert.equal(typed, ['syscalls/sys_enter_lseek args[0] (index 7): uint32', 'syscalls/sys_enter_lseek args[1] (index 5): uint32']);
  const tps = doc.spec.tracepoints;
  assert.equal(
    tps.map((t) => t.args.map((a) => (a as { type?: string }).type)),
    [['uint32', 'uint32', 'int', undefined], [undefined], ['auto'], [undefined]],
  );
});

test('auto tracepoint fields: the need the core reports is the one the loader counts as met at load; one left auto is refused naming its field', () => {
  const doc = policy({
    tracepoints: [
      {
        subsystem: 'syscalls',
        event: 'sys_enter_lseek',
        args: [{ index: 7, type: 'auto' }, { index: 5 }],
        selectors: [{ matchArgs: [{ index: 7, operator: 'Equal', values: ['4'] }] }],
      },
    ],
  });
  const r = compile([doc], { defaultNamespace: 'default' });
  assert.ok(r.image, JSON.stringify(r.diagnostics));
  const spec = inspectImage(r.image!)[0];
  assert.equal(spec.hooks[0].spec?.needs, [NEED_AUTO_TRACEPOINT], 'the same text in the core and the loader');
  assert.equal(unsupportedReasons(spec, { tracepoint: true }), []);
  const f = parseFormat(FORK);
  assert.throws(
    () => tracepointConf(hook('sched', 'sched_process_fork', [{ index: 7, type: LAYOUT.TLN_ARG_AUTO }]), f),
    /field 7 "unsigned long args\[6\]" from this kernel's format at load, and no type talon reads fits it; declare the type/,
  );
});

test('uprobeConf: registers 0-5, integers and user strings', () => {
  const h: HookSpec = {
    ...hook('x', 'y', [
      { index: 0, type: 19 },
      { index: 5, type: 3 },
    ]),
    kind: 'uprobe',
    name: '/bin/x:f',
    tracepoint: undefined,
    uprobe: { path: '/bin/x', symbol: 'f' },
  };
  const b = uprobeConf(h);
  assert.equal(arg(b, 0), [0, 8, SRC.REG_USTR, 0]);
  assert.equal(arg(b, 1), [5, 8, SRC.REG, 0]);
  assert.throws(() => uprobeConf({ ...h, args: [{ index: 6, type: 1 }] }), /only the first 6 arguments are in registers/);
});

test.run();
