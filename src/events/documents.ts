// Event input in the shapes Tetragon users have: JSON lines (what `tetra getevents -o json`
// and the export file write), JSON objects one after another, pretty-printed over many lines
// (Tetragon's docs and testdata), JSON arrays of events, and markdown with fenced JSON blocks
// (an event pasted from a docs page: only the fenced blocks are read). The shape is decided once per
// input from its first non-blank line, so that a JSON-lines file keeps its per-line error
// recovery: a truncated line there is one malformed event, never the start of a document
// that swallows the lines after it.

import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { lineBatches } from './lines.js';

export type InputShape = 'lines' | 'objects' | 'array' | 'markdown';

export interface DocBatch {
  /** the texts of the events (or of malformed input, for the pipeline to report) */
  docs: string[];
  /** 0-based input line where each text starts */
  lines: number[];
  /** by index: set for a docs fragment read with its `...` elisions left out (what was left out) */
  fragments?: (string | undefined)[];
}

const ELISION = /^\s*\.\.\.\s*,?\s*\r?$/;

/**
 * A docs fragment: a block whose lines `...` stand for fields the page left out. Read with
 * those lines dropped and the commas they leave dangling removed; null when it has none.
 */
export function readFragment(block: string[]): { text: string; why: string } | null {
  const n = block.filter((l) => ELISION.test(l)).length;
  if (n === 0) return null;
  let text = block.filter((l) => !ELISION.test(l)).join('\n');
  let commas = 0;
  text = text.replace(/,(\s*[}\]])/g, (_m, rest: string) => {
    commas++;
    return rest;
  });
  const why = `a docs fragment: ${n} \`...\` placeholder${n === 1 ? '' : 's'} read as absent fields${commas ? `, ${commas} dangling comma${commas === 1 ? '' : 's'} dropped` : ''}`;
  return { text, why };
}

/** Yields the events of a stream in batches; `shape` (if given) learns which shape the input has. */
export async function* documentBatches(stream: Readable, shape?: { value?: InputShape }): AsyncGenerator<DocBatch> {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const head: Buffer[] = [];
  let kind: InputShape | undefined;
  // read until the first non-blank line is complete (or the input ends)
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    head.push(typeof r.value === 'string' ? Buffer.from(r.value, 'utf8') : r.value);
    kind = decideShape(Buffer.concat(head));
    if (kind !== undefined) break;
  }
  if (kind === undefined) kind = decideShape(Buffer.concat(head), true) ?? 'lines';
  if (shape) shape.value = kind;
  const rest = replay(head, it);
  if (kind === 'lines') {
    for await (const b of lineBatches(rest as unknown as Readable)) {
      const lines = new Array<number>(b.lines.length);
      for (let i = 0; i < lines.length; i++) lines[i] = b.first + i;
      yield { docs: b.lines, lines };
    }
    return;
  }
  if (kind === 'markdown') {
    const chunks: Buffer[] = [];
    for await (const chunk of rest) chunks.push(chunk);
    yield fencedDocuments(Buffer.concat(chunks).toString('utf8'));
    return;
  }
  const splitter = new DocumentSplitter(kind === 'array');
  const dec = new StringDecoder('utf8');
  for await (const chunk of rest) {
    const batch = splitter.push(dec.write(chunk));
    if (batch.docs.length > 0) yield batch;
  }
  const last = splitter.push(dec.end(), true);
  if (last.docs.length > 0) yield last;
}

async function* replay(head: Buffer[], it: AsyncIterator<Buffer | string>): AsyncGenerator<Buffer> {
  for (const b of head) yield b;
  for (;;) {
    const r = await it.next();
    if (r.done) return;
    yield typeof r.value === 'string' ? Buffer.from(r.value, 'utf8') : r.value;
  }
}

/**
 * The shape of an input from its start, or undefined when the first non-blank line is not
 * complete yet (and `atEnd` is false). A first line that is a whole JSON value means JSON
 * lines; `[` first means an array; an object left open at the end of its line means objects.
 */
export function decideShape(buf: Buffer, atEnd = false): InputShape | undefined {
  let i = 0;
  while (i < buf.length && (buf[i] === 32 || buf[i] === 9 || buf[i] === 10 || buf[i] === 13)) i++;
  if (i === buf.length) return atEnd ? 'lines' : undefined;
  if (buf[i] === 0x5b /* [ */) return 'array';
  if (buf[i] !== 0x7b /* { */) {
    // prose first: markdown when a fence follows (in what has been read so far)
    // (a stream that starts with junk waits for at most 64 KiB before it is read as lines)
    if (FENCE.test(buf.toString('utf8', i, Math.min(buf.length, i + PROSE_LOOKAHEAD)))) return 'markdown';
    return atEnd || buf.length - i >= PROSE_LOOKAHEAD ? 'lines' : undefined;
  }
  const nl = buf.indexOf(10, i);
  if (nl < 0 && !atEnd) return undefined;
  const end = nl < 0 ? buf.length : nl;
  return balanced(buf, i, end) ? 'lines' : 'objects';
}

const PROSE_LOOKAHEAD = 64 << 10;
const FENCE = /^```(json)?[ \t]*\r?$/m;

/** The JSON values inside the fenced code blocks of a markdown text; prose is not read. */
export function fencedDocuments(text: string): DocBatch {
  const out: DocBatch = { docs: [], lines: [] };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(json)?[ \t]*\r?$/.test(lines[i])) continue;
    let j = i + 1;
    while (j < lines.length && !/^```[ \t]*\r?$/.test(lines[j])) j++;
    const body = lines.slice(i + 1, j);
    const frag = readFragment(body);
    const block = new DocumentSplitter(true, i + 1).push(frag ? frag.text : body.join('\n'), true);
    if (frag) {
      out.fragments ??= new Array<string | undefined>(out.docs.length).fill(undefined);
      for (let k = 0; k < block.docs.length; k++) out.fragments.push(frag.why);
    } else out.fragments?.push(...new Array<string | undefined>(block.docs.length).fill(undefined));
    out.docs.push(...block.docs);
    out.lines.push(...block.lines);
    i = j;
  }
  return out;
}

/** True when the bytes [start, end) close every brace and bracket they open. */
function balanced(buf: Buffer, start: number, end: number): boolean {
  let depth = 0;
  let inStr = false;
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (inStr) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inStr = false;
    } else if (c === 0x22) inStr = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return depth <= 0 && !inStr;
}

/**
 * Splits text into top-level JSON values by tracking strings and nesting (the values
 * themselves are parsed later, by the pipeline). In array mode the values are the elements
 * of top-level arrays. Text outside any value that is not whitespace or an array's commas is
 * handed on up to its line's end, so that the pipeline reports it as a malformed event.
 */
export class DocumentSplitter {
  private buf = '';
  private pos = 0; // next character of buf to scan
  private line: number; // input line of buf[pos]
  private depth = 0;
  private inStr = false;
  private esc = false;
  private start = -1; // start of the value being read, in buf
  private startLine = 0;
  private inArray = false;

  constructor(
    private readonly arrays: boolean,
    firstLine = 0,
  ) {
    this.line = firstLine;
  }

  push(text: string, end = false): DocBatch {
    this.buf += text;
    const docs: string[] = [];
    const lines: number[] = [];
    const b = this.buf;
    let i = this.pos;
    while (i < b.length) {
      const c = b.charCodeAt(i);
      if (this.start >= 0) {
        // inside a value
        if (this.inStr) {
          if (this.esc) this.esc = false;
          else if (c === 0x5c) this.esc = true;
          else if (c === 0x22) this.inStr = false;
        } else if (c === 0x22) this.inStr = true;
        else if (c === 0x7b || c === 0x5b) this.depth++;
        else if (c === 0x7d || c === 0x5d) {
          if (--this.depth === 0) {
            docs.push(b.slice(this.start, i + 1));
            lines.push(this.startLine);
            this.start = -1;
          }
        }
        if (c === 10) this.line++;
        i++;
        continue;
      }
      // between values
      if (c === 10) {
        this.line++;
        i++;
      } else if (c === 32 || c === 9 || c === 13) i++;
      else if (this.arrays && !this.inArray && c === 0x5b) {
        this.inArray = true;
        i++;
      } else if (this.inArray && c === 0x2c) i++;
      else if (this.inArray && c === 0x5d) {
        this.inArray = false;
        i++;
      } else if (c === 0x7b || (c === 0x5b && this.inArray)) {
        this.start = i;
        this.startLine = this.line;
        this.depth = 1;
        i++;
      } else {
        // not the start of a value: the rest of the line is one malformed event
        const nl = b.indexOf('\n', i);
        if (nl < 0 && !end) break; // wait for the line's end
        const stop = nl < 0 ? b.length : nl;
        docs.push(b.slice(i, stop));
        lines.push(this.line);
        i = stop;
      }
    }
    if (end && this.start >= 0) {
      // an unterminated value: the pipeline reports it malformed at its first line
      docs.push(b.slice(this.start));
      lines.push(this.startLine);
      this.start = -1;
    }
    // keep only what is still needed
    const keep = this.start >= 0 ? this.start : i;
    this.buf = b.slice(keep);
    if (this.start >= 0) this.start -= keep;
    this.pos = i - keep;
    return { docs, lines };
  }
}
