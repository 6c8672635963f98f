// Tracepoint formats (tracefs events/<subsystem>/<event>/format) and the
// per-instance configuration of the generic hook programs (struct
// tln_gen_conf in bpf/include/tln_events.h): where each declared argument of a
// tracepoint or uprobe hook is and how the program reads it. Field offsets are
// kernel-specific, so this is decided here, at load, never in the image.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HookSpec } from '../core/types.js';
import { LAYOUT } from './records.js';

/** one `field:` line of a format file */
export interface FormatField {
  /** the C declaration as printed, e.g. "const char * filename", "__data_loc char[] comm" */
  decl: string;
  name: string;
  offset: number;
  size: number;
  signed: boolean;
  /** what kind of value the field holds */
  shape: 'int' | 'pointer' | 'char-pointer' | 'char-array' | 'array' | 'data-loc-string' | 'data-loc';
}

/** enum tln_src (bpf/include/tln_events.h, checked by test/kernel-abi.test.ts through LAYOUT) */
export const SRC = {
  NONE: LAYOUT.TLN_SRC_NONE,
  INT: LAYOUT.TLN_SRC_INT,
  USTR: LAYOUT.TLN_SRC_USTR,
  KSTR: LAYOUT.TLN_SRC_KSTR,
  DATA_LOC: LAYOUT.TLN_SRC_DATA_LOC,
  ARRAY: LAYOUT.TLN_SRC_ARRAY,
  REG: LAYOUT.TLN_SRC_REG,
  REG_USTR: LAYOUT.TLN_SRC_REG_USTR,
} as const;

const GEN_CONF_SIZE = LAYOUT['sizeof(struct tln_gen_conf)'];
const GEN_ARG_SIZE = LAYOUT['sizeof(struct tln_gen_arg)'];
const GEN_ARGS_OFF = LAYOUT['offsetof(struct tln_gen_conf, args)'];
/** uprobe arguments read from registers: 0..5 */
export const UPROBE_MAX_ARG = 5;

/** enum tln_arg_type values the generic programs read */
const ARG_INT_TYPES = new Set([1, 2, 3, 4, 5, 6, 7, 8]);
const ARG_STRING = 19;

const TRACEFS_DIRS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

/** the tracefs directory with events/, or null */
export function tracefsDir(): string | null {
  return TRACEFS_DIRS.find((d) => existsSync(join(d, 'events'))) ?? null;
}

function shapeOf(decl: string, size: number): FormatField['shape'] {
  const d = decl.replace(/\s+/g, ' ').trim();
  if (d.startsWith('__data_loc ')) return /\bchar\b/.test(d) ? 'data-loc-string' : 'data-loc';
  if (/\[[^\]]*\]\s*$/.test(d)) return /\bchar\b/.test(d) ? 'char-array' : 'array';
  if (d.includes('*')) return /\bchar\b/.test(d) ? 'char-pointer' : 'pointer';
  return size >= 1 && size <= 8 ? 'int' : 'array';
}

/** Parses a format file's text: its fields in order, common_* fields included (Tetragon's indexes). */
export function parseFormat(text: string): FormatField[] {
  const out: FormatField[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*field:(.*?);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/.exec(line);
    if (!m) continue;
    const decl = m[1].trim();
    const size = Number(m[3]);
    // the name: the last identifier before an optional [N]
    const nm = /([A-Za-z_][A-Za-z0-9_]*)\s*(\[[^\]]*\])?\s*$/.exec(decl);
    out.push({ decl, name: nm ? nm[1] : decl, offset: Number(m[2]), size, signed: m[4] === '1', shape: shapeOf(decl, size) });
  }
  return out;
}

/** The fields of tracepoint subsystem/event, or an error text naming what is missing. */
export function readFormat(subsystem: string, event: string, dir = tracefsDir()): FormatField[] | string {
  if (!dir) return 'tracefs is not mounted (no /sys/kernel/tracing/events)';
  const file = join(dir, 'events', subsystem, event, 'format');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      return existsSync(join(dir, 'events', subsystem))
        ? `tracepoint ${subsystem}/${event} does not exist on this kernel (no ${file})`
        : `tracepoint subsystem ${subsystem} does not exist on this kernel (no ${join(dir, 'events', subsystem)})`;
    }
    return `cannot read ${file}: ${(e as Error).message}`;
  }
  const fields = parseFormat(text);
  if (!fields.length) return `${file} lists no fields`;
  return fields;
}

function put(buf: Buffer, i: number, off: number, size: number, src: number, signed: boolean): void {
  const o = GEN_ARGS_OFF + i * GEN_ARG_SIZE;
  buf.writeUInt16LE(off, o + LAYOUT['offsetof(struct tln_gen_arg, off)']);
  buf.writeUInt16LE(size, o + LAYOUT['offsetof(struct tln_gen_arg, size)']);
  buf.writeUInt8(src, o + LAYOUT['offsetof(struct tln_gen_arg, src)']);
  buf.writeUInt8(signed ? 1 : 0, o + LAYOUT['offsetof(struct tln_gen_arg, is_signed)']);
}

const typeWord = (t: number) => (t === ARG_STRING ? 'string' : ARG_INT_TYPES.has(t) ? 'integer' : `type #${t}`);

/**
 * struct tln_gen_conf of a tracepoint hook: each declared argument matched
 * with its format field. Throws an Error with the reason when an argument
 * cannot be read (index beyond the format, a string type on a non-string field ...).
 */
export function tracepointConf(hook: HookSpec, fields: FormatField[]): Buffer {
  const tp = hook.tracepoint!;
  const args = hook.args ?? [];
  const buf = Buffer.alloc(GEN_CONF_SIZE);
  buf.writeUInt8(args.length, LAYOUT['offsetof(struct tln_gen_conf, nargs)']);
  // syscall tracepoints get their pointers straight from user space
  const user = tp.subsystem === 'syscalls';
  args.forEach((a, i) => {
    const f = fields[a.index];
    const where = `tracepoint ${tp.subsystem}/${tp.event} args[${i}] (index ${a.index})`;
    if (!f) throw new Error(`${where}: the tracepoint has ${fields.length} fields (0-${fields.length - 1}, common_* fields included), see its format file`);
    const field = `field ${a.index} "${f.decl}"`;
    if (ARG_INT_TYPES.has(a.type)) {
      if (f.shape === 'int' || f.shape === 'pointer' || f.shape === 'char-pointer') {
        if (f.size < 1 || f.size > 8) throw new Error(`${where}: ${field} is ${f.size} bytes, not an integer`);
        put(buf, i, f.offset, f.size, SRC.INT, f.signed);
        return;
      }
      throw new Error(`${where}: ${field} is not an integer (declare it as string if it holds characters)`);
    }
    if (a.type === ARG_STRING) {
      switch (f.shape) {
        case 'char-pointer':
          put(buf, i, f.offset, 8, user ? SRC.USTR : SRC.KSTR, false);
          return;
        case 'data-loc-string':
          put(buf, i, f.offset, 4, SRC.DATA_LOC, false);
          return;
        case 'char-array':
          put(buf, i, f.offset, f.size, SRC.ARRAY, false);
          return;
        default:
          throw new Error(`${where}: ${field} is not a string (a char pointer, char array or __data_loc char[]); declare an integer type`);
      }
    }
    throw new Error(`${where}: ${typeWord(a.type)} arguments cannot be read from a tracepoint`);
  });
  return buf;
}

/** struct tln_gen_conf of a uprobe hook: arguments from the registers. */
export function uprobeConf(hook: HookSpec): Buffer {
  const args = hook.args ?? [];
  const buf = Buffer.alloc(GEN_CONF_SIZE);
  buf.writeUInt8(args.length, LAYOUT['offsetof(struct tln_gen_conf, nargs)']);
  args.forEach((a, i) => {
    const where = `uprobe ${hook.name} args[${i}] (index ${a.index})`;
    if (a.index > UPROBE_MAX_ARG) throw new Error(`${where}: only the first ${UPROBE_MAX_ARG + 1} arguments are in registers`);
    if (ARG_INT_TYPES.has(a.type)) put(buf, i, a.index, 8, SRC.REG, false);
    else if (a.type === ARG_STRING) put(buf, i, a.index, 8, SRC.REG_USTR, false);
    else throw new Error(`${where}: ${typeWord(a.type)} arguments cannot be read from a uprobe`);
  });
  return buf;
}
