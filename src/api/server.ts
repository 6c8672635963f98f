// The agent's API server: WebSocket over a unix socket (mode 0600, so root
// only) or, when asked for, over TCP with a bearer token.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as netConnect } from 'node:net';
import { promises as fsp, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket } from 'ws';
import { formatServerAddress, type ServerAddress } from './address.js';
import { CALL_PATH } from './call.js';
import { ApiError, AUTH_HEADER, type Notification, type Request, type Response } from './protocol.js';

/** notifications in one batched frame at most, and its size past which it goes out at once */
export const MAX_BATCH = 1024;
const MAX_BATCH_BYTES = 1 << 20;

/** One client connection, as method handlers see it. */
export interface Connection {
  readonly id: number;
  /**
   * pushes a notification; false when it was dropped (slow client). With `batch`, it waits
   * (at most until the event loop turns, or MAX_BATCH notifications) to go out with the
   * others in one frame, one notification per line (JSON text has no raw newline): one ws frame per event costs more
   * than the event. Order is kept: a frame sent meanwhile goes out after the waiting ones.
   */
  notify(n: Notification, batch?: boolean): boolean;
  /** runs `fn` when the connection closes */
  onClose(fn: () => void): void;
}

export type Handler = (params: Record<string, unknown>, conn: Connection) => unknown | Promise<unknown>;

export interface ApiServerOptions {
  address: ServerAddress;
  /** required for TCP; ignored for unix sockets (file permissions guard them) */
  token?: string;
  handlers: Record<string, Handler>;
  /** bytes queued to one client before its notifications are dropped */
  maxBuffered?: number;
  /** open connections at most (default 256); more are closed at once */
  maxConnections?: number;
  /** requests of one connection in progress at once (default 32); more get error "busy" */
  maxInFlight?: number;
  /** a connection that has not sent its upgrade request by then is closed (default 5,000 ms) */
  headersTimeoutMs?: number;
}

export class ApiServer {
  private http: Server | null = null;
  private wss: WebSocketServer | null = null;
  private nextConn = 1;
  private socketPath: string | null = null;
  /** notifications dropped because a client did not keep up */
  dropped = 0;

  constructor(private readonly opts: ApiServerOptions) {
    if (opts.address.kind === 'tcp' && !opts.token) {
      throw new Error(`api: a TCP server address (${formatServerAddress(opts.address)}) needs a token`);
    }
  }

  get address(): string {
    return formatServerAddress(this.opts.address);
  }

  async listen(): Promise<void> {
    const a = this.opts.address;
    const headersTimeout = this.opts.headersTimeoutMs ?? 5_000;
    // sockets past the upgrade-time limit: upgraded ones, and those of a complete POST /call (its
    // answer may take longer than the limit, e.g. a large tp add)
    const upgraded = new WeakSet<Duplex>();
    const http = createServer({ connectionsCheckingInterval: Math.min(1_000, Math.max(50, headersTimeout >> 1)) }, (req, res) => {
      if (req.method === 'POST' && req.url === CALL_PATH) {
        upgraded.add(req.socket);
        return this.serveCall(req, res);
      }
      res.writeHead(426, { 'content-type': 'text/plain' }).end('talon agent API: WebSocket, or POST /call for one request\n');
    });
    const wss = new WebSocketServer({ noServer: true, maxPayload: 16 << 20 });
    http.on('upgrade', (req: IncomingMessage, sock: Duplex, head: Buffer) => {
      upgraded.add(sock);
      if (!this.authorized(req)) {
        sock.end('HTTP/1.1 401 Unauthorized\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nmissing or wrong token\n');
        return;
      }
      wss.handleUpgrade(req, sock, head, (ws) => this.serve(ws));
    });
    // bounded: file descriptors (connections), time to send the upgrade (a silent client is cut
    // off), frame size (maxPayload), requests in progress per connection (dispatch)
    http.maxConnections = this.opts.maxConnections ?? 256;
    http.headersTimeout = headersTimeout;
    http.requestTimeout = headersTimeout;
    http.keepAliveTimeout = 1_000;
    // the parser's timeouts start with the first byte: a client that never sends one is cut off here
    http.on('connection', (sock: Duplex) => {
      const timer = setTimeout(() => {
        if (!upgraded.has(sock)) sock.destroy();
      }, headersTimeout);
      timer.unref();
      sock.once('close', () => clearTimeout(timer));
    });
    this.http = http;
    this.wss = wss;
    if (a.kind === 'unix') {
      await prepareSocketPath(a.path);
      // the socket is created 0600 from the start: no window where others could connect
      const old = process.umask(0o177);
      try {
        await new Promise<void>((res, rej) => {
          http.once('error', rej);
          http.listen(a.path, () => {
            http.off('error', rej);
            res();
          });
        });
      } finally {
        process.umask(old);
      }
      await fsp.chmod(a.path, 0o600);
      this.socketPath = a.path;
    } else {
      await new Promise<void>((res, rej) => {
        http.once('error', rej);
        http.listen(a.port, a.host, () => {
          http.off('error', rej);
          res();
        });
      });
    }
  }

  /** The TCP port actually bound (useful with port 0 in tests). */
  get port(): number | null {
    const ad = this.http?.address();
    return ad && typeof ad === 'object' ? ad.port : null;
  }

  async close(): Promise<void> {
    for (const c of this.wss?.clients ?? []) c.terminate();
    this.wss?.close();
    if (this.http) {
      const h = this.http;
      h.closeAllConnections?.();
      await new Promise<void>((res) => h.close(() => res()));
    }
    this.http = null;
    this.wss = null;
    if (this.socketPath) {
      await fsp.rm(this.socketPath, { force: true });
      this.socketPath = null;
    }
  }

  private authorized(req: IncomingMessage): boolean {
    if (this.opts.address.kind === 'unix') return true;
    const h = req.headers[AUTH_HEADER];
    const m = typeof h === 'string' ? /^Bearer\s+(\S+)$/.exec(h) : null;
    if (!m || !this.opts.token) return false;
    const got = Buffer.from(m[1]);
    const want = Buffer.from(this.opts.token);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  /** POST /call: one request of the ws protocol as the body, its response as the answer (no notifications). */
  private serveCall(req: IncomingMessage, res: ServerResponse): void {
    if (!this.authorized(req)) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('missing or wrong token\n');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 16 << 20) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      const closers: (() => void)[] = [];
      const conn: Connection = { id: this.nextConn++, notify: () => false, onClose: (fn) => closers.push(fn) };
      void this.dispatch(Buffer.concat(chunks).toString('utf8'), conn).then((resp) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(resp));
        for (const fn of closers.splice(0)) fn();
      });
    });
  }

  private serve(ws: WebSocket): void {
    const closers: (() => void)[] = [];
    const max = this.opts.maxBuffered ?? 8 << 20;
    // batched notifications waiting for their frame, as JSON texts
    let queue: string[] = [];
    let queued = 0;
    let flushing: NodeJS.Immediate | null = null;
    const flush = (): void => {
      if (flushing) clearImmediate(flushing);
      flushing = null;
      if (queue.length === 0) return;
      const frame = queue.length === 1 ? queue[0] : queue.join('\n');
      queue = [];
      queued = 0;
      if (ws.readyState === WebSocket.OPEN) ws.send(frame);
    };
    const send = (text: string): void => {
      flush();
      ws.send(text);
    };
    const conn: Connection = {
      id: this.nextConn++,
      notify: (n, batch) => {
        if (ws.readyState !== WebSocket.OPEN) return false;
        if (ws.bufferedAmount + queued > max) {
          this.dropped++;
          return false;
        }
        const text = JSON.stringify(n);
        if (!batch) {
          send(text);
          return true;
        }
        queue.push(text);
        queued += text.length;
        if (queue.length >= MAX_BATCH || queued >= MAX_BATCH_BYTES) flush();
        else flushing ??= setImmediate(flush);
        return true;
      },
      onClose: (fn) => closers.push(fn),
    };
    ws.on('close', () => {
      if (flushing) clearImmediate(flushing);
      flushing = null;
      queue = [];
      for (const fn of closers.splice(0)) {
        try {
          fn();
        } catch {
          /* a closer must not break the others */
        }
      }
    });
    ws.on('error', () => ws.terminate());
    let inFlight = 0;
    const maxInFlight = this.opts.maxInFlight ?? 32;
    ws.on('message', (data, isBinary) => {
      if (inFlight >= maxInFlight) {
        const id = requestId(isBinary ? null : data.toString());
        send(
          JSON.stringify({ id, error: { code: 'busy', message: `more than ${maxInFlight} requests in progress on this connection: wait for the answers` } }),
        );
        return;
      }
      inFlight++;
      void this.dispatch(isBinary ? null : data.toString(), conn).then((resp) => {
        inFlight--;
        if (ws.readyState === WebSocket.OPEN) send(JSON.stringify(resp));
      });
    });
  }

  private async dispatch(text: string | null, conn: Connection): Promise<Response> {
    let req: Request;
    try {
      if (text === null) throw new Error('binary frames are not part of the protocol');
      req = JSON.parse(text);
      if (typeof req !== 'object' || req === null || typeof req.id !== 'number' || typeof req.method !== 'string') {
        throw new Error('a request is {"id": number, "method": string, "params"?: object}');
      }
    } catch (e) {
      return { id: -1, error: { code: 'bad_request', message: (e as Error).message } };
    }
    const h = Object.prototype.hasOwnProperty.call(this.opts.handlers, req.method) ? this.opts.handlers[req.method] : undefined;
    if (!h) return { id: req.id, error: { code: 'unknown_method', message: `unknown method ${JSON.stringify(req.method)}` } };
    const params = req.params && typeof req.params === 'object' ? req.params : {};
    try {
      const result = await h(params, conn);
      return { id: req.id, result: result ?? null };
    } catch (e) {
      if (e instanceof ApiError) {
        return { id: req.id, error: { code: e.code, message: e.message, ...(e.diagnostics ? { diagnostics: e.diagnostics } : {}) } };
      }
      return { id: req.id, error: { code: 'failed', message: (e as Error).message ?? String(e) } };
    }
  }
}

/** the id of a request text, or -1 (for a refusal that does not parse it further) */
function requestId(text: string | null): number {
  try {
    const r = text === null ? null : JSON.parse(text);
    return r && typeof r === 'object' && typeof r.id === 'number' ? r.id : -1;
  } catch {
    return -1;
  }
}

/** Makes the socket's directory (0700 when created) and removes a stale socket; refuses a live one. */
export async function prepareSocketPath(path: string): Promise<void> {
  const dir = dirname(path);
  if (!existsSync(dir)) await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(path)) return;
  const live = await new Promise<boolean>((res) => {
    const s = netConnect(path);
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
  if (live) throw new Error(`api: ${path} is in use (is another talon agent running?)`);
  await fsp.rm(path, { force: true });
}
