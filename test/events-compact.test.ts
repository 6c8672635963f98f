// Compact rendering, in the format of `tetra getevents -o compact`.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CompactRenderer, colorEnabled, createColorer, goQuote, maybeQuote, renderCompact, type TetragonEvent } from '../src/events/index.js';

import { ROOT } from './helpers/common.js';

function render(file: string): string[] {
  return readFileSync(path.join(ROOT, 'examples/events', file), 'utf8')
    .trim()
    .split('\n')
    .map((l) => renderCompact(JSON.parse(l) as TetragonEvent) ?? '(null)');
}

test('cat /etc/shadow in default/xwing, as the Tetragon quickstart shows it', () => {
  assert.equal(render('cat-shadow.jsonl'), [
    '🚀 process default/xwing /bin/bash -c "cat /etc/shadow"',
    '🚀 process default/xwing /bin/cat /etc/shadow',
    '📚 read    default/xwing /bin/cat /etc/shadow',
    '📚 read    default/xwing /bin/cat /etc/shadow',
    '📚 read    default/xwing /bin/cat /etc/shadow',
    '💥 exit    default/xwing /bin/cat /etc/shadow SIGKILL',
  ]);
});

test('writes, mmap and exit statuses', () => {
  assert.equal(render('echo-bar.jsonl'), [
    '🚀 process default/xwing /bin/bash -c "echo foo >> bar; cat bar"',
    '📝 write   default/xwing /bin/bash /bar',
    '🚀 process default/xwing /bin/cat bar',
    '📝 mmap-rx default/xwing /bin/cat /usr/lib/x86_64-linux-gnu/libc.so.6',
    '📚 read    default/xwing /bin/cat /bar',
    '📚 read    default/xwing /bin/cat /bar',
    '💥 exit    default/xwing /bin/cat bar 0',
    '💥 exit    default/xwing /bin/bash -c "echo foo >> bar; cat bar" 0',
  ]);
});

test('tcp_connect', () => {
  const r = render('curl-egress.jsonl');
  assert.is(r[2], '🔌 connect default/xwing /usr/bin/curl tcp 127.10.0.28:45200 -> 104.198.14.52:443');
  assert.is(r[3], '💥 exit    default/xwing /usr/bin/curl https://ebpf.io/applications/#tetragon SIGKILL');
});

test('host processes show the node name', () => {
  assert.equal(render('host-cat-shadow.jsonl'), [
    '🚀 process talon-lab-worker /usr/bin/cat /etc/shadow',
    '📚 read    talon-lab-worker /usr/bin/cat /etc/shadow',
    '💥 exit    talon-lab-worker /usr/bin/cat /etc/shadow 0',
  ]);
  const noNode = { process_exec: { process: { binary: '/bin/true', arguments: '' } } };
  assert.is(renderCompact(noNode), '🚀 process  /bin/true ');
});

test('other hooks and event kinds', () => {
  const p = { pid: 1, binary: '/bin/x', pod: { namespace: 'ns', name: 'p' } };
  const k = (function_name: string, args: unknown[]) => ({ process_kprobe: { process: p, function_name, args } }) as TetragonEvent;
  assert.is(renderCompact(k('security_path_truncate', [{ path_arg: { path: '/etc/x' } }])), '📝 truncate ns/p /bin/x /etc/x');
  assert.is(renderCompact(k('security_file_permission', [{ file_arg: { path: '/f' } }, { int_arg: 32 }])), '❓ security_file_permission ns/p /bin/x /f');
  assert.is(renderCompact(k('__x64_sys_write', [{ file_arg: { path: '/f' } }, {}, { size_arg: '12' }])), '📝 write   ns/p /bin/x /f 12 bytes');
  assert.is(renderCompact(k('do_something', [])), '❓ syscall ns/p /bin/x do_something');
  assert.is(renderCompact({ process_tracepoint: { process: p, subsys: 'sched', event: 'sched_switch' } }), '⁉️ tracepoint ns/p /bin/x sched sched_switch');
  assert.is(renderCompact({ process_uprobe: { process: p, path: '/bin/bash', symbol: 'readline' } }), '🕵️ uprobe  ns/p /bin/x /bin/bash readline');
  assert.is(renderCompact({ process_lsm: { process: p, function_name: 'file_open' } }), '🔒 LSM     ns/p /bin/x file_open');
  assert.is(renderCompact({ node_name: 'n' }), null);
});

test('untrusted strings are quoted when they hold spaces or control characters', () => {
  assert.is(maybeQuote('/usr/bin/curl'), '/usr/bin/curl');
  assert.is(maybeQuote('/tmp/my file'), '"/tmp/my file"');
  assert.is(goQuote('a\u001b[31mred\n'), '"a\\x1b[31mred\\n"');
  assert.is(goQuote('tab\there "q" \\'), '"tab\\there \\"q\\" \\\\"');
  const ev = { process_exec: { process: { binary: '/bin/ev il', arguments: 'x \u001b]0;pwned\u0007' } }, node_name: 'n' };
  assert.is(renderCompact(ev), '🚀 process n "/bin/ev il" "x \\x1b]0;pwned\\a"');
});

test('CAP_SYS_ADMIN is shown at column 120', () => {
  const ev = { process_exec: { process: { binary: '/bin/sh', arguments: '', cap: { effective: ['CAP_CHOWN', 'CAP_SYS_ADMIN'] } } }, node_name: 'n' };
  const line = renderCompact(ev)!;
  assert.ok(line.endsWith('🛑 CAP_SYS_ADMIN'));
  assert.ok(line.length > 100);
});

test('colours: always, never, and auto by terminal', () => {
  const ev = JSON.parse(readFileSync(path.join(ROOT, 'examples/events/cat-shadow.jsonl'), 'utf8').split('\n')[2]) as TetragonEvent;
  const coloured = new CompactRenderer({ colorer: createColorer('always') }).render(ev)!;
  assert.match(coloured, /\u001b\[3\dm/);
  assert.is(coloured.replace(/\u001b\[\d+m/g, ''), '📚 read    default/xwing /bin/cat /etc/shadow');
  assert.not.match(new CompactRenderer({ colorer: createColorer('never') }).render(ev)!, /\u001b/);
  assert.is(colorEnabled('auto', { isTTY: false }, {}), false);
  assert.is(colorEnabled('auto', { isTTY: true }, {}), true);
  assert.is(colorEnabled('auto', { isTTY: true }, { NO_COLOR: '1' }), false);
  assert.is(colorEnabled('auto', { isTTY: true }, { TERM: 'dumb' }), false);
  assert.is(colorEnabled('auto', { isTTY: false }, { FORCE_COLOR: '1' }), true);
});

test('timestamps prefix the event time', () => {
  const ev = { process_exec: { process: { binary: '/bin/true', arguments: '' } }, node_name: 'n', time: '2024-04-14T02:18:02.2Z' };
  assert.is(new CompactRenderer({ timestamps: true }).render(ev), '2024-04-14T02:18:02.200000000Z 🚀 process n /bin/true ');
});

test.run();
