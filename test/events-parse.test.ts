// Tetragon event lines -> EvalEvent: the projecting scanner against JSON.parse,
// conversion details, malformed lines, time parsing and line splitting.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { EvalEvent } from '../src/core/types.js';
import { imageRepo, lineBatches, parseEventLine, parseEventLineForEval, parseTimeNs, toEvalEvent, type TetragonEvent } from '../src/events/index.js';

import { ROOT } from './helpers/common.js';
const EXAMPLES = ['cat-shadow', 'echo-bar', 'curl-egress', 'host-cat-shadow'];

function exampleLines(): string[] {
  return EXAMPLES.flatMap((f) =>
    readFileSync(path.join(ROOT, 'examples/events', `${f}.jsonl`), 'utf8')
      .trim()
      .split('\n'),
  );
}

function viaScan(line: string): EvalEvent | null {
  const r = parseEventLineForEval(line);
  assert.ok(r.ok, `scan rejected: ${line.slice(0, 120)}`);
  return toEvalEvent(r.event);
}

function viaParse(line: string): EvalEvent | null {
  return toEvalEvent(JSON.parse(line) as TetragonEvent);
}

/** deep-equal that prints bigints */
function same(a: unknown, b: unknown, msg?: string): void {
  const j = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x));
  assert.is(j(a), j(b), msg);
}

/** the same object with its keys in reverse order, recursively */
function reversed(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reversed);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v).reverse()) o[k] = reversed((v as Record<string, unknown>)[k]);
    return o;
  }
  return v;
}

test('a file-permission kprobe event', () => {
  const line = readFileSync(path.join(ROOT, 'examples/events/cat-shadow.jsonl'), 'utf8').split('\n')[2];
  const ev = viaScan(line)!;
  same(ev, {
    kind: 'kprobe',
    hook: 'security_file_permission',
    timeNs: parseTimeNs(JSON.parse(line).time),
    pid: 52699,
    tid: 52699,
    binary: '/bin/cat',
    pod: {
      namespace: 'default',
      name: 'xwing',
      labels: { app: 'xwing', class: 'xwing', org: 'alliance' },
      container: { name: 'spaceship', repo: 'quay.io/cilium/json-mock' },
    },
    args: [
      { kind: 'str', value: '/etc/shadow' },
      { kind: 'int', value: 4n },
    ],
    // what the event says of its process beyond pid and binary: the parent, the pid in the
    // container (pod.container.pid) and the file type from the permission string
    process: { parent: { binary: '/usr/bin/containerd-shim-runc-v2', pid: 31338 }, nsPid: 42 },
    fileTypes: [8, null],
    ret: { kind: 'int', value: 0n },
  });
});

test('a tcp_connect event: socket fields by name', () => {
  const line = readFileSync(path.join(ROOT, 'examples/events/curl-egress.jsonl'), 'utf8').split('\n')[2];
  const ev = viaScan(line)!;
  same(ev.args, [{ kind: 'sock', family: 2, protocol: 6, state: 2, saddr: '127.10.0.28', daddr: '104.198.14.52', sport: 45200, dport: 443 }]);
  assert.is(ev.ret, undefined);
});

test('host processes have no pod; exec and exit are not evaluated', () => {
  const lines = readFileSync(path.join(ROOT, 'examples/events/host-cat-shadow.jsonl'), 'utf8').trim().split('\n');
  assert.is(viaScan(lines[0]), null);
  assert.is(viaScan(lines[1])!.pod, null);
  assert.is(viaScan(lines[2]), null);
});

test('tracepoint and uprobe events pass through with their hook names', () => {
  const tp =
    '{"process_tracepoint":{"process":{"pid":7,"binary":"/bin/x"},"subsys":"raw_syscalls","event":"sys_enter","args":[{"long_arg":"59"}]},"time":"2024-01-01T00:00:00Z"}';
  const up = '{"process_uprobe":{"process":{"pid":8,"tid":9,"binary":"/bin/bash"},"path":"/bin/bash","symbol":"readline"}}';
  same(viaScan(tp), {
    kind: 'tracepoint',
    hook: 'raw_syscalls/sys_enter',
    timeNs: 1704067200000000000n,
    pid: 7,
    tid: 7,
    binary: '/bin/x',
    pod: null,
    args: [{ kind: 'int', value: 59n }],
  });
  same(viaScan(up), { kind: 'uprobe', hook: '/bin/bash:readline', timeNs: 0n, pid: 8, tid: 9, binary: '/bin/bash', pod: null, args: [] });
  // LSM events are evaluated too (lsmhooks), by the hook name Tetragon prints
  same(viaScan('{"process_lsm":{"process":{"pid":1},"function_name":"file_open"}}'), {
    kind: 'lsm',
    hook: 'file_open',
    timeNs: 0n,
    pid: 1,
    tid: 1,
    binary: '',
    pod: null,
    args: [],
  });
  assert.is(viaScan('{"process_exec":{"process":{"pid":1}}}'), null);
});

test('argument kinds: 64-bit values as strings, paths, strings, bytes, unknown kinds', () => {
  const line = JSON.stringify({
    process_kprobe: {
      process: { pid: 1, binary: '/b' },
      function_name: 'f',
      args: [
        { size_arg: '18446744073709551615' },
        { long_arg: '-5' },
        { uint_arg: 3 },
        { path_arg: { path: '/etc' } },
        { string_arg: 'x"y' },
        { bytes_arg: 'AAEC' },
        {},
        { int_arg: 0, label: 'mask' },
        { sockaddr_arg: { family: 'AF_INET6', addr: '::1', port: 80 } },
      ],
      return: { int_arg: -13 },
    },
  });
  same(viaScan(line)!.args, [
    { kind: 'int', value: 18446744073709551615n },
    { kind: 'int', value: -5n },
    { kind: 'int', value: 3n },
    { kind: 'str', value: '/etc' },
    { kind: 'str', value: 'x"y' },
    // char_buf: base64 as protojson writes bytes (the fast reader read it as none once)
    { kind: 'str', value: '\u0000\u0001\u0002', bytes: Buffer.from([0, 1, 2]), origSize: 3n },
    { kind: 'none' },
    { kind: 'int', value: 0n },
    { kind: 'sock', family: 10, protocol: 0, state: 0, saddr: '::1', daddr: '', sport: 80, dport: 0 },
  ]);
  same(viaScan(line)!.ret, { kind: 'int', value: -13n });
});

test('the scanner agrees with JSON.parse on every example, whatever the layout', () => {
  for (const line of exampleLines()) {
    const obj = JSON.parse(line) as unknown;
    const variants = [
      line,
      JSON.stringify(obj, null, 1).replace(/\n/g, ' '), // spaces everywhere
      JSON.stringify(obj, null, '\t').replace(/\n/g, '\r'), // tabs and CRs
      JSON.stringify(reversed(obj)), // other key order
      line.replace(/"\/(bin|usr|etc)/g, '"\\/$1'), // escaped slashes
      line.replace(/xwing/g, 'x\\u0077ing'), // unicode escapes in values
    ];
    for (const v of variants) same(viaScan(v), viaParse(v), v.slice(0, 100));
  }
});

test('repeated processes, parents and pods are recognised, changed ones are not', () => {
  const lines = exampleLines().filter((l) => l.includes('process_kprobe'));
  // twice through, so the second pass hits what the first remembered
  for (let pass = 0; pass < 2; pass++) {
    for (const l of lines) {
      same(viaScan(l), viaParse(l));
      const changed = l.replace('"pid":', '"pid":1').replace('"xwing"', '"ywing"').replace('"name":"spaceship"', '"name":"shuttle"');
      same(viaScan(changed), viaParse(changed));
    }
  }
});

test('malformed lines are rejected with a reason', () => {
  const good = exampleLines()[2];
  const bad = [
    good.slice(0, good.length - 1), // truncated
    good.slice(0, 700), // truncated in the middle
    good + '}', // unbalanced
    good + ' x', // trailing garbage
    '[1,2,3]', // not an object
    'null',
    'hello world',
    '{"process_kprobe":{"process":{"pid":12x}}}', // bad number inside a projected value
    '{"process_exec":{"process":{"pid":1,}}}', // trailing comma
    '{"process_exec":{"process":{"binary":"abc}}}', // unterminated string
    '{"a":1 "b":2}',
  ];
  for (const l of bad) {
    const r = parseEventLineForEval(l);
    assert.is(r.ok, false, l.slice(0, 80));
    if (!r.ok) assert.ok(r.error.length > 0);
    assert.is(parseEventLine(l).ok, false, l.slice(0, 80));
  }
});

test('events of unknown kinds are well-formed but not evaluated', () => {
  const r = parseEventLineForEval('{"node_name":"n","time":"2024-01-01T00:00:00Z"}');
  assert.ok(r.ok);
  if (r.ok) assert.is(toEvalEvent(r.event), null);
});

test('parseTimeNs: RFC 3339 with up to nanoseconds, offsets, and junk', () => {
  assert.is(parseTimeNs('2024-04-14T02:18:02.246412613Z'), 1713061082246412613n);
  assert.is(parseTimeNs('2024-04-14T02:18:02.2Z'), 1713061082200000000n);
  assert.is(parseTimeNs('2024-04-14T02:18:02Z'), 1713061082000000000n);
  assert.is(parseTimeNs('2024-04-14T04:18:02.246412613+02:00'), 1713061082246412613n);
  assert.is(parseTimeNs('2024-04-14T02:18:02.2464126139Z'), 1713061082246412613n);
  assert.is(parseTimeNs('1970-01-01T00:00:00.000000001Z'), 1n);
  assert.is(parseTimeNs('2024-02-29T23:59:59.999999999Z'), 1709251199999999999n);
  assert.is(parseTimeNs('2024-13-01T00:00:00Z'), 0n);
  assert.is(parseTimeNs('yesterday'), 0n);
  assert.is(parseTimeNs(undefined), 0n);
});

test('imageRepo drops the tag and the digest, not a registry port', () => {
  assert.is(imageRepo('quay.io/cilium/json-mock:v1.3.8'), 'quay.io/cilium/json-mock');
  assert.is(imageRepo('quay.io/cilium/json-mock@sha256:5aad04835eda'), 'quay.io/cilium/json-mock');
  assert.is(imageRepo('docker.io/library/nginx:1.25@sha256:abc'), 'docker.io/library/nginx');
  assert.is(imageRepo('registry:5000/team/app'), 'registry:5000/team/app');
  assert.is(imageRepo('registry:5000/team/app:2'), 'registry:5000/team/app');
  assert.is(imageRepo('nginx'), 'nginx');
});

async function collect(chunks: (string | Buffer)[]): Promise<{ first: number; lines: string[] }[]> {
  const out = [];
  for await (const b of lineBatches(Readable.from(chunks))) out.push(b);
  return out;
}

test('lineBatches: CRLF, a last line without newline, numbering', async () => {
  const batches = await collect([Buffer.from('a\r\nb\n\nc')]);
  assert.equal(batches, [
    { first: 0, lines: ['a', 'b', ''] },
    { first: 3, lines: ['c'] },
  ]);
});

test('lineBatches: lines and multi-byte characters split across chunks', async () => {
  const text = '{"a":"é✓"}\n{"b":"🚀"}\nlast';
  const bytes = Buffer.from(text);
  const oneByteChunks = [...bytes].map((b) => Buffer.from([b]));
  const lines = (await collect(oneByteChunks)).flatMap((b) => b.lines);
  assert.equal(lines, ['{"a":"é✓"}', '{"b":"🚀"}', 'last']);
});

test.run();
