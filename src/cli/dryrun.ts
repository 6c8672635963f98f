// `talon dry-run`: evaluate recorded Tetragon events against policies.

import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Mode } from '../core/types.js';
import { createColorer, type ColorMode } from '../events/color.js';
import { combineEvaluators, DryRunPipeline, fastEvaluate, type DryRunFormat, type Evaluate } from '../events/dryrun.js';
import { documentBatches, type InputShape } from '../events/documents.js';
import { openInput } from '../events/lines.js';
import { describeFsError } from '../policy/index.js';
import { loadAndCheck, type Io } from './compile.js';
import { isImage, loadCore } from './core.js';
import { EXIT_INPUT, EXIT_OK } from './errors.js';

export interface DryRunFlags {
  policies: string[];
  events: string;
  namespace: string;
  mode?: Mode;
  format: DryRunFormat;
  color: ColorMode;
}

export type DryRunIo = Io;

/** Buffers output and honours back-pressure; stops quietly when the reader goes away (EPIPE). */
class Output {
  private buf = '';
  closed = false;
  /** a write error other than EPIPE */
  error: NodeJS.ErrnoException | undefined;
  constructor(private readonly stream: NodeJS.WritableStream) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      this.closed = true;
      if (e.code !== 'EPIPE') this.error = e;
    });
  }
  write(s: string): void {
    this.buf += s;
  }
  async flush(force = false): Promise<void> {
    if (this.closed) {
      this.buf = '';
      return;
    }
    if (this.buf.length === 0 || (!force && this.buf.length < 1 << 16)) return;
    const chunk = this.buf;
    this.buf = '';
    let ok: boolean;
    try {
      ok = this.stream.write(chunk);
    } catch (e) {
      // synchronous streams (files, /dev/full) throw instead of emitting
      this.closed = true;
      if ((e as NodeJS.ErrnoException).code !== 'EPIPE') this.error = e as NodeJS.ErrnoException;
      return;
    }
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.stream.off('drain', done);
          this.stream.off('close', done);
          this.stream.off('error', done);
          resolve();
        };
        this.stream.on('drain', done);
        this.stream.on('close', done);
        this.stream.on('error', done);
      });
    }
  }
}

export async function runDryRun(flags: DryRunFlags, io: DryRunIo): Promise<number> {
  // sort inputs: images by their magic bytes, everything else is YAML
  const yamlFiles: string[] = [];
  const images: { file: string; bytes: Uint8Array }[] = [];
  for (const file of flags.policies) {
    if (file === '-') {
      yamlFiles.push(file);
      continue;
    }
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (e) {
      io.stderr.write(`${file}: cannot read: ${describeFsError(e)}\n`);
      return EXIT_INPUT;
    }
    if (isImage(bytes)) images.push({ file, bytes });
    else yamlFiles.push(file);
  }

  const core = await loadCore();
  const evaluators: Evaluate[] = [];
  if (yamlFiles.length > 0) {
    const check = await loadAndCheck(yamlFiles, flags.namespace, flags.mode, io, 'dry-run');
    if (check === null || check.image === null) return EXIT_INPUT;
    const ev = new core.Evaluator(check.image);
    evaluators.push(fastEvaluate(ev));
  }
  for (const { file, bytes } of images) {
    let ev;
    let specs;
    try {
      specs = core.inspectImage(bytes);
      ev = new core.Evaluator(bytes);
    } catch (e) {
      io.stderr.write(`${file}: not a valid talon image: ${(e as Error).message}\n`);
      return EXIT_INPUT;
    }
    if (flags.mode !== undefined) {
      for (const spec of specs) {
        const r = ev.setRuntimeMode(spec.index, flags.mode);
        if (!r.ok) io.stderr.write(`${file}: policy ${spec.name}: warning: ${r.error}\n`);
      }
    }
    evaluators.push(fastEvaluate(ev));
  }

  let input: Readable;
  if (flags.events === '-') input = io.stdin ?? process.stdin;
  else {
    input = openInput(flags.events);
    try {
      await once(input, 'open');
    } catch (e) {
      io.stderr.write(`${flags.events}: cannot read: ${describeFsError(e)}\n`);
      return EXIT_INPUT;
    }
  }
  const eventsName = flags.events === '-' ? '<stdin>' : flags.events;

  const colorer = createColorer(flags.color, io.stdout as { isTTY?: boolean });
  const pipeline = new DryRunPipeline(combineEvaluators(evaluators), { format: flags.format, colorer });
  const out = new Output(io.stdout);
  const shape: { value?: InputShape } = {};
  try {
    for await (const batch of documentBatches(input, shape)) {
      const { docs, lines, fragments } = batch;
      for (let i = 0; i < docs.length; i++) {
        const frag = fragments?.[i];
        if (frag !== undefined) io.stderr.write(`${eventsName}:${lines[i] + 1}: ${frag}\n`);
        const r = pipeline.line(docs[i], lines[i], frag);
        if (r === null) io.stderr.write(`${eventsName}:${lines[i] + 1}: skipped malformed event: ${pipeline.lastError}\n`);
        else if (r !== '') out.write(r);
      }
      await out.flush();
      if (out.closed) break;
    }
  } catch (e) {
    io.stderr.write(`${eventsName}: cannot read: ${describeFsError(e)}\n`);
    return EXIT_INPUT;
  }
  await out.flush(true);
  if (out.error !== undefined) {
    io.stderr.write(`talon dry-run: cannot write the output: ${describeFsError(out.error)}\n`);
    return EXIT_INPUT;
  }
  io.stderr.write(`talon dry-run: ${pipeline.summary()}\n`);
  const c = pipeline.counts;
  if (c.events === 0 && c.malformed > 0) {
    // input was there, but not one event in it: say so rather than report an empty success
    io.stderr.write(`talon dry-run: no event could be read from ${eventsName} (read as ${shape.value ?? 'lines'}); nothing was evaluated\n`);
    return EXIT_INPUT;
  }
  return EXIT_OK;
}
