// The export file: every event as one JSON line, rotated by size like
// Tetragon's --export-filename with --export-file-max-size-mb and
// --export-file-rotation-max-backups (FILE, then FILE.1 the newest backup,
// FILE.2, ...). Lines are queued and written in one write per event-loop turn,
// so a burst of ring-buffer records costs one syscall, and a line is never
// split across two files.
import { closeSync, constants, fchmodSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ExportOptions {
  /** rotate when the file would grow past this many bytes (0: never) */
  maxBytes: number;
  /** backups kept (FILE.1 .. FILE.N); 0 keeps none: the file is truncated when it rotates */
  maxBackups: number;
  /** file mode of a new file (default 0600) */
  mode?: number;
}

/** Tetragon's defaults: 10 MB per file, 5 backups. */
export const EXPORT_DEFAULTS = { maxSizeMb: 10, maxBackups: 5 } as const;

export class ExportFile {
  private fd: number;
  private size: number;
  private queue: string[] = [];
  private scheduled = false;
  private closed = false;
  /** rotations done (status, tests) */
  rotations = 0;
  /** lines written */
  lines = 0;
  /** the last write error, if any (the agent keeps running; status shows it) */
  lastError: string | null = null;

  constructor(
    readonly path: string,
    private readonly opts: ExportOptions,
  ) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    this.fd = openExport(path, opts.mode ?? 0o600);
    this.size = fstatSync(this.fd).size;
  }

  /** Queues one event; it is written at the end of this event-loop turn. */
  write(ev: unknown): void {
    if (this.closed) return;
    this.queue.push(JSON.stringify(ev) + '\n');
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes what is queued, rotating before a line that would not fit. */
  flush(): void {
    this.scheduled = false;
    const lines = this.queue;
    this.queue = [];
    if (lines.length === 0 || this.closed) return;
    try {
      let batch = '';
      let batchBytes = 0;
      for (const l of lines) {
        const n = Buffer.byteLength(l);
        if (this.opts.maxBytes > 0 && this.size + batchBytes + n > this.opts.maxBytes && this.size + batchBytes > 0) {
          this.writeAll(batch);
          batch = '';
          batchBytes = 0;
          this.rotate();
        }
        batch += l;
        batchBytes += n;
      }
      this.writeAll(batch);
      this.lines += lines.length;
    } catch (e) {
      this.lastError = (e as Error).message;
    }
  }

  private writeAll(s: string): void {
    if (s === '') return;
    const b = Buffer.from(s);
    let off = 0;
    while (off < b.length) off += writeSync(this.fd, b, off, b.length - off);
    this.size += b.length;
  }

  /** FILE.N-1 -> FILE.N ... FILE -> FILE.1, then a new FILE. */
  private rotate(): void {
    closeSync(this.fd);
    const n = this.opts.maxBackups;
    if (n > 0) {
      rmSync(`${this.path}.${n}`, { force: true });
      for (let i = n - 1; i >= 1; i--) if (existsSync(`${this.path}.${i}`)) renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
      renameSync(this.path, `${this.path}.1`);
    } else {
      rmSync(this.path, { force: true });
    }
    this.fd = openExport(this.path, this.opts.mode ?? 0o600);
    this.size = 0;
    this.rotations++;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    closeSync(this.fd);
  }
}

/** Opens for append without following a symlink (an attacker's link to /etc/shadow stays a refusal)
 *  and only as a regular file; a file created now gets `mode` whatever the umask. */
function openExport(path: string, mode: number): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, mode);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ELOOP') throw new Error(`export file ${path} is a symbolic link: refused (give the real path)`);
    throw new Error(`export file ${path}: ${err.message}`);
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new Error(`export file ${path} is not a regular file`);
  }
  if (st.size === 0) fchmodSync(fd, mode);
  return fd;
}
