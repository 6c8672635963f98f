// One-line human rendering of Tetragon events, in the format of
// `tetra getevents -o compact`:
//
//   <emoji> <kind, padded to 7> <source> <binary> <details>
//
// source is `namespace/pod` for processes in a pod, else the node name (empty
// when the event carries none). Used by `talon dry-run -o compact`, and meant for
// the agent's and `getevents`' human output too.

import { plainColorer, type Colorer } from './color.js';
import { formatTimeNs, parseTimeNs } from './convert.js';
import type { TetragonArg, TetragonEvent, TetragonProcess } from './tetragon.js';
import { syscallName } from './syscalls.js';

export interface CompactOptions {
  colorer?: Colorer;
  /** prefix the event time (RFC 3339, UTC, nanoseconds), like `tetra getevents --timestamps` */
  timestamps?: boolean;
}

// Go's strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
const NOT_PRINT_OR_SPACE = /[^\p{L}\p{M}\p{N}\p{P}\p{S}]/u;
const NOT_PRINT = /[^\p{L}\p{M}\p{N}\p{P}\p{S} ]/u;

/**
 * The syscall of a raw_syscalls/sys_enter event, from its first argument (the id,
 * as long_arg or syscall_id {id, abi}), as Tetragon names it: the x86_64 name,
 * "abi/name" for another ABI talon knows, "unknown" otherwise. Tetragon also
 * lists the syscall's arguments after the name; talon does not.
 */
export function rawSyscallName(a: TetragonArg | undefined): string {
  let nr = -1;
  let abi = 'x64';
  const id = a?.syscall_id as { id?: number; abi?: string } | undefined;
  if (id !== undefined && id !== null) {
    nr = typeof id.id === 'number' ? id.id : -1;
    if (typeof id.abi === 'string' && id.abi !== '') abi = id.abi;
  } else if (a?.long_arg !== undefined) {
    nr = Number(a.long_arg);
  }
  if (abi !== 'x64') return 'unknown';
  return syscallName(nr) ?? 'unknown';
}

/** A double-quoted string with Go escapes (strconv.Quote). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (ch === ' ' || !NOT_PRINT_OR_SPACE.test(ch)) out += ch;
    else if (cp < 0x80) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp < 0x10000) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + '"';
}

/** Quotes strings with spaces or non-printable characters (paths, binaries, node names). */
export function maybeQuote(s: string): string {
  return NOT_PRINT_OR_SPACE.test(s) ? goQuote(s) : s;
}

/**
 * Process arguments are printed as recorded (they are already a shell-like
 * string, e.g. `-c "cat /etc/shadow"`), unless they hold non-printable
 * characters such as terminal escapes, which are quoted.
 */
export function safeArguments(s: string): string {
  return NOT_PRINT.test(s) ? goQuote(s) : s;
}

function pad7(s: string): string {
  // fmt's %-7s: pad with spaces to 7 runes, never truncate
  let n = 0;
  for (const _ of s) n++;
  return n >= 7 ? s : s + ' '.repeat(7 - n);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function num(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string' && v !== '') return v;
  return '0';
}

function arg(args: TetragonArg[] | undefined, i: number): TetragonArg | undefined {
  if (!Array.isArray(args) || i >= args.length) return undefined;
  const a = args[i];
  return a !== null && typeof a === 'object' ? a : undefined;
}

function filePath(a: TetragonArg | undefined): string {
  return str(a?.file_arg?.path);
}

const CAPS_COLUMN = 120;
const SYSCALL_PREFIXES = ['__x64_', '__arm64_', '__ia32_', '__riscv_', '__s390x_'];

const NAMESPACE_TYPES: Record<number, string> = {
  0: 'any',
  0x2000000: 'cgroup',
  0x8000000: 'ipc',
  0x40000000: 'net',
  0x20000: 'mnt',
  0x20000000: 'pid',
  0x80: 'time',
  0x10000000: 'user',
  0x4000000: 'uts',
};

function runeLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

export class CompactRenderer {
  readonly c: Colorer;
  readonly timestamps: boolean;

  constructor(opts: CompactOptions = {}) {
    this.c = opts.colorer ?? plainColorer;
    this.timestamps = opts.timestamps === true;
  }

  private kind(emoji: string, name: string): string {
    return this.c.blue(`${emoji} ${pad7(name)}`);
  }

  /** `<source> <binary>`, and the capability trailer (only CAP_SYS_ADMIN is shown, as Tetragon does). */
  private processInfo(ev: TetragonEvent, p: TetragonProcess): [string, string] {
    const pod = p.pod;
    const source =
      pod !== null && typeof pod === 'object' ? this.c.green(`${str(pod.namespace)}/${str(pod.name)}`) : this.c.green(maybeQuote(str(ev.node_name)));
    const binary = this.c.magenta(maybeQuote(str(p.binary)));
    let caps = '';
    const eff = p.cap?.effective;
    if (Array.isArray(eff) && eff.includes('CAP_SYS_ADMIN')) caps = this.c.magenta('🛑 CAP_SYS_ADMIN');
    return [`${source} ${binary}`, caps];
  }

  private trailer(line: string, caps: string): string {
    if (caps === '') return line;
    const width = Math.max(0, CAPS_COLUMN - utf8Length(line));
    const padding = Math.max(0, width - runeLength(caps));
    return `${line} ${' '.repeat(padding)}${caps}`;
  }

  private sock(a: TetragonArg | undefined): string {
    const s = a?.sock_arg;
    if (s === undefined || s === null) return this.c.cyan('tcp :0 -> :0');
    return this.c.cyan(`tcp ${str(s.saddr)}:${s.sport ?? 0} -> ${str(s.daddr)}:${s.dport ?? 0}`);
  }

  /**
   * The compact line of an event, without a trailing newline; null when the
   * event carries no kind talon knows or no process where one is needed.
   */
  render(ev: TetragonEvent): string | null {
    const line = this.body(ev);
    if (line === null || !this.timestamps) return line;
    return `${formatTimeNs(parseTimeNs(ev.time))} ${line}`;
  }

  private body(ev: TetragonEvent): string | null {
    const c = this.c;
    if (ev.process_exec) {
      const p = ev.process_exec.process;
      if (!p) return null;
      const [info, caps] = this.processInfo(ev, p);
      return this.trailer(`${this.kind('🚀', 'process')} ${info} ${c.cyan(safeArguments(str(p.arguments)))}`, caps);
    }
    if (ev.process_exit) {
      const x = ev.process_exit;
      const p = x.process;
      if (!p) return null;
      const [info, caps] = this.processInfo(ev, p);
      const status = x.signal ? x.signal : String(x.status ?? 0);
      return this.trailer(`${this.kind('💥', 'exit')} ${info} ${c.cyan(safeArguments(str(p.arguments)))} ${c.red(status)}`, caps);
    }
    if (ev.process_kprobe) return this.kprobe(ev);
    if (ev.process_tracepoint) {
      const t = ev.process_tracepoint;
      if (!t.process) return null;
      const [info, caps] = this.processInfo(ev, t.process);
      if (t.subsys === 'raw_syscalls' && t.event === 'sys_enter') {
        return this.trailer(`${c.blue(`☎  ${pad7('syscall')}`)} ${info} ${rawSyscallName(arg(t.args, 0))}`, caps);
      }
      return this.trailer(`${this.kind('⁉️', 'tracepoint')} ${info} ${maybeQuote(str(t.subsys))} ${maybeQuote(str(t.event))}`, caps);
    }
    if (ev.process_uprobe) {
      const u = ev.process_uprobe;
      if (!u.process) return null;
      const [info, caps] = this.processInfo(ev, u.process);
      return this.trailer(`${this.kind('🕵️', 'uprobe')} ${info} ${maybeQuote(str(u.path))} ${maybeQuote(str(u.symbol))}`, caps);
    }
    if (ev.process_lsm) {
      const l = ev.process_lsm;
      if (!l.process) return null;
      const [info, caps] = this.processInfo(ev, l.process);
      return this.trailer(`${this.kind('🔒', 'LSM')} ${info} ${maybeQuote(str(l.function_name))}`, caps);
    }
    if (ev.process_usdt) {
      const u = ev.process_usdt;
      if (!u.process) return null;
      const [info, caps] = this.processInfo(ev, u.process);
      return this.trailer(`${this.kind('🕵️', 'usdt')} ${info} ${maybeQuote(str(u.path))} ${maybeQuote(str(u.provider))} ${maybeQuote(str(u.name))}`, caps);
    }
    if (ev.process_loader) {
      const l = ev.process_loader;
      if (!l.process) return null;
      const [info, caps] = this.processInfo(ev, l.process);
      let buildid = '';
      if (typeof l.buildid === 'string' && l.buildid !== '') buildid = Buffer.from(l.buildid, 'base64').toString('hex') + ' ';
      return this.trailer(`${this.kind('🧬', 'loader')} ${info} ${buildid}${c.yellow(maybeQuote(str(l.path)))}`, caps);
    }
    if (ev.process_throttle) {
      const t = ev.process_throttle;
      const typ = t.type === 'THROTTLE_START' ? c.red('START') : t.type === 'THROTTLE_STOP' ? c.green('STOP ') : '';
      return `${c.red(`🧬 ${pad7('throttle')}`)} ${typ} ${maybeQuote(str(t.cgroup))}`;
    }
    return null;
  }

  private kprobe(ev: TetragonEvent): string | null {
    const k = ev.process_kprobe!;
    const c = this.c;
    if (!k.process) return null;
    const [info, caps] = this.processInfo(ev, k.process);
    const fn = str(k.function_name);
    let name = fn;
    for (const p of SYSCALL_PREFIXES) {
      if (fn.startsWith(p)) {
        name = fn.slice(p.length);
        break;
      }
    }
    const args = k.args;
    const line = (kind: string, details: string): string => this.trailer(`${kind} ${info} ${details}`, caps);
    switch (name) {
      case 'sys_write':
      case 'sys_read': {
        const a2 = arg(args, 2);
        const bytes = a2 !== undefined ? c.cyan(`${num(a2.size_arg)} bytes`) : '';
        const kind = name === 'sys_write' ? this.kind('📝', 'write') : this.kind('📚', 'read');
        return line(kind, `${c.cyan(maybeQuote(filePath(arg(args, 0))))} ${bytes}`);
      }
      case 'fd_install':
        return line(this.kind('📬', 'open'), c.cyan(maybeQuote(filePath(arg(args, 1)))));
      case 'sys_openat':
        return line(this.kind('📬️', 'openat'), c.cyan(maybeQuote(str(arg(args, 1)?.string_arg))));
      case 'sys_open':
        return line(this.kind('📬️', 'open'), c.cyan(maybeQuote(str(arg(args, 1)?.string_arg))));
      case 'sys_close':
        return line(this.kind('📪', 'close'), c.cyan(maybeQuote(filePath(arg(args, 0)))));
      case 'sys_mount':
      case 'sys_pivot_root': {
        const src = c.cyan(maybeQuote(str(arg(args, 0)?.string_arg)));
        const dst = c.cyan(maybeQuote(str(arg(args, 1)?.string_arg)));
        return line(this.kind('💾', name === 'sys_mount' ? 'mount' : 'pivot_root'), `${src} ${dst}`);
      }
      case 'sys_setuid': {
        const a0 = arg(args, 0);
        return line(this.kind('🔑', 'setuid'), a0 !== undefined ? c.cyan(num(a0.int_arg)) : '');
      }
      case 'sys_clock_settime':
        return this.trailer(`${this.kind('⏰', 'clock_settime')} ${info}`, caps);
      case 'proc_exec_connector':
        return this.trailer(`${this.kind('🔧', 'proc_exec_connector')} ${info}`, caps);
      case 'sys_setns': {
        const a1 = arg(args, 1);
        const ns = a1 !== undefined ? (NAMESPACE_TYPES[Number(a1.int_arg ?? 0)] ?? '') : '';
        return line(this.kind('🔧', 'setns'), ns);
      }
      case 'tcp_connect':
        return line(this.kind('🔌', 'connect'), this.sock(arg(args, 0)));
      case 'tcp_close':
        return line(this.kind('🧹', 'close'), this.sock(arg(args, 0)));
      case 'tcp_sendmsg': {
        const a1 = arg(args, 1);
        return line(this.kind('📤', 'sendmsg'), `${this.sock(arg(args, 0))} bytes ${a1 !== undefined ? num(a1.int_arg) : '0'}`);
      }
      case 'bpf_check': {
        const a = arg(args, 0)?.bpf_attr_arg as { ProgType?: string; prog_type?: string; prog_name?: string; insn_cnt?: number } | undefined;
        const attr = a !== undefined ? c.cyan(`${str(a.prog_type)} ${maybeQuote(str(a.prog_name))} instruction count ${a.insn_cnt ?? 0}`) : '';
        return line(this.kind('🐝', 'bpf_load'), attr);
      }
      case 'security_perf_event_alloc': {
        const a = arg(args, 0)?.perf_event_arg as { type?: string; kprobe_func?: string } | undefined;
        return line(this.kind('🐝', 'perf_event_alloc'), a !== undefined ? c.cyan(`${str(a.type)} ${maybeQuote(str(a.kprobe_func))}`) : '');
      }
      case 'security_bpf_map_alloc':
      case 'security_bpf_map_create': {
        const m = arg(args, 0)?.bpf_map_arg as
          { map_type?: string; map_name?: string; key_size?: number; value_size?: number; max_entries?: number } | undefined;
        const attr =
          m !== undefined
            ? c.cyan(
                `${str(m.map_type)} ${maybeQuote(str(m.map_name))} key size ${m.key_size ?? 0} value size ${m.value_size ?? 0} max entries ${m.max_entries ?? 0}`,
              )
            : '';
        return line(this.kind('🗺', 'bpf_map_create'), attr);
      }
      case 'security_file_permission': {
        const a0 = arg(args, 0);
        const a1 = arg(args, 1);
        if (a0 === undefined || a1 === undefined) return line(this.kind('❓', 'security_file_permission'), '');
        const mask = Number(a1.int_arg ?? 0);
        const kind = mask === 0x02 ? this.kind('📝', 'write') : mask === 0x04 ? this.kind('📚', 'read') : this.kind('❓', 'security_file_permission');
        return line(kind, c.cyan(maybeQuote(filePath(a0))));
      }
      case 'security_mmap_file': {
        const a0 = arg(args, 0);
        const a1 = arg(args, 1);
        if (a0 === undefined || a1 === undefined) return line(this.kind('❓', 'security_mmap_file'), '');
        const prot = Number(a1.uint_arg ?? 0);
        const tag = 'mmap-' + (prot & 1 ? 'r' : '') + (prot & 2 ? 'w' : '') + (prot & 4 ? 'x' : '');
        return line(this.kind('📝', tag), c.cyan(maybeQuote(filePath(a0))));
      }
      case 'security_path_truncate': {
        const a0 = arg(args, 0);
        if (a0 === undefined) return line(this.kind('❓', 'security_path_truncate'), '');
        return line(this.kind('📝', 'truncate'), c.cyan(maybeQuote(str(a0.path_arg?.path))));
      }
      case 'security_file_truncate': {
        const a0 = arg(args, 0);
        if (a0 === undefined) return line(this.kind('❓', 'security_file_truncate'), '');
        return line(this.kind('📝', 'truncate'), c.cyan(maybeQuote(filePath(a0))));
      }
      default:
        return line(this.kind('❓', 'syscall'), maybeQuote(fn));
    }
  }
}

/** Renders one event with default options (no colour, no timestamp). */
export function renderCompact(ev: TetragonEvent, opts?: CompactOptions): string | null {
  return new CompactRenderer(opts).render(ev);
}
