// Streaming line splitting for event files of any size (and stdin).

import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

export interface LineBatch {
  /** 0-based number of the first line of the batch in the input */
  first: number;
  lines: string[];
}

/**
 * Yields the lines of a stream in batches (one per chunk read), without the
 * line terminator (`\n` or `\r\n`). A last line without a newline is yielded
 * too. Memory use is bounded by the chunk size plus the longest line.
 */
export async function* lineBatches(stream: Readable): AsyncGenerator<LineBatch> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let next = 0;
  for await (const chunk of stream) {
    const text = rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer));
    const lines = text.split('\n');
    rest = lines.pop()!;
    if (lines.length === 0) continue;
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i];
      if (l.length > 0 && l.charCodeAt(l.length - 1) === 13) lines[i] = l.slice(0, -1);
    }
    yield { first: next, lines };
    next += lines.length;
  }
  const tail = rest + decoder.end();
  if (tail.length > 0) yield { first: next, lines: [tail.endsWith('\r') ? tail.slice(0, -1) : tail] };
}

/** A readable stream of a file, or of stdin for "-". */
export function openInput(path: string): Readable {
  if (path === '-') return process.stdin;
  return createReadStream(path, { highWaterMark: 1 << 20 });
}
