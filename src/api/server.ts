// The agent's API server: WebSocket over a unix socket (mode 0600, so root
// only) or, when asked for, over TCP with a bearer token.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect as netConnect } from 'node:net';
import { promises as fsp, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket } from 'ws';
import { formatServerAddress, type ServerAddress } from './address.js';
import { ApiError, AUTH_HEADER, type Notification, type Request, type Response } from './protocol.js';

/** One client connection, as method handlers see it. */
export interface Connection {
  readonly id: number;
  /** pushes a notification; false when it was dropped (slow client) */
  notify(n: Notification): boolean;
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
    const http = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('talon agent API: WebSocket only\n');
    });
    const wss = new WebSocketServer({ noServer: true, maxPayload: 16 << 20 });
    http.on('upgrade', (req: IncomingMessage, sock: Duplex, head: Buffer) => {
      if (!this.authorized(req)) {
        sock.end('HTTP/1.1 401 Unauthorized\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nmissing or wrong token\n');
        return;
      }
      wss.handleUpgrade(req, sock, head, (ws) => this.serve(ws));
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

  private serve(ws: WebSocket): void {
    const closers: (() => void)[] = [];
    const max = this.opts.maxBuffered ?? 8 << 20;
    const conn: Connection = {
      id: this.nextConn++,
      notify: (n) => {
        if (ws.readyState !== WebSocket.OPEN) return false;
        if (ws.bufferedAmount > max) {
          this.dropped++;
          return false;
        }
        ws.send(JSON.stringify(n));
        return true;
      },
      onClose: (fn) => closers.push(fn),
    };
    ws.on('close', () => {
      for (const fn of closers.splice(0)) {
        try {
          fn();
        } catch {
          /* a closer must not break the others */
        }
      }
    });
    ws.on('error', () => ws.terminate());
    ws.on('message', (data, isBinary) => {
      void this.dispatch(isBinary ? null : data.toString(), conn).then((resp) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(resp));
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
