// Client side of the agent API, used by the CLI commands and the tests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { clientAddress, formatServerAddress, parseServerAddress, type ServerAddress } from './address.js';
import { AUTH_HEADER, type ErrorBody, type ServerMessage } from './protocol.js';

/** An error answer of the agent. */
export class RemoteError extends Error {
  constructor(readonly body: ErrorBody) {
    super(body.message);
  }
  get code(): string {
    return this.body.code;
  }
  get diagnostics(): string[] {
    return this.body.diagnostics ?? [];
  }
}

export interface ConnectOptions {
  /** server address (flag); falls back to $TALON_SERVER_ADDRESS and the default */
  address?: string;
  /** token for TCP; falls back to $TALON_TOKEN, then <state dir>/token */
  token?: string;
  stateDir?: string;
  timeoutMs?: number;
}

export class ApiClient {
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private subs = new Map<number, (ev: Record<string, unknown>) => void>();
  private closedErr: Error | null = null;
  private closeHandlers: ((err: Error | null) => void)[] = [];

  private constructor(
    private readonly ws: WebSocket,
    readonly address: ServerAddress,
  ) {
    ws.on('message', (data) => this.onMessage(data.toString()));
    ws.on('close', () => this.shutdown(new Error('connection to the agent closed')));
    ws.on('error', (e) => this.shutdown(e));
  }

  static async connect(opts: ConnectOptions = {}): Promise<ApiClient> {
    const address = parseServerAddress(clientAddress(opts.address));
    const headers: Record<string, string> = {};
    let url: string;
    if (address.kind === 'unix') {
      url = `ws+unix://${address.path}:/`;
    } else {
      url = `ws://${formatServerAddress(address)}/`;
      const token = opts.token || process.env.TALON_TOKEN || readToken(opts.stateDir);
      if (token) headers[AUTH_HEADER] = `Bearer ${token}`;
    }
    const ws = new WebSocket(url, { headers, handshakeTimeout: opts.timeoutMs ?? 10_000 });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        reject(
          new Error(
            `agent at ${formatServerAddress(address)} refused the connection: HTTP ${res.statusCode}${res.statusCode === 401 ? ' (missing or wrong token: pass --token or set TALON_TOKEN)' : ''}`,
          ),
        );
        ws.terminate();
      });
      ws.once('error', (e: NodeJS.ErrnoException) => {
        const hint =
          e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? ' (is `talon agent` running?)' : e.code === 'EACCES' ? ' (the socket is for root only)' : '';
        reject(new Error(`connect to agent at ${formatServerAddress(address)}: ${e.message}${hint}`));
      });
    });
    return new ApiClient(ws, address);
  }

  /** Sends a request and resolves with its result; rejects with RemoteError on an error answer. */
  call<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    if (this.closedErr) return Promise.reject(this.closedErr);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Subscribes to events; `onEvent` gets each Tetragon-shaped event. Returns the subscription id. */
  async subscribe(filter: Record<string, unknown>, onEvent: (ev: Record<string, unknown>) => void): Promise<number> {
    // register before the answer arrives: events may follow it immediately
    const r = await this.call<{ subscription: number }>('events.subscribe', { filter });
    this.subs.set(r.subscription, onEvent);
    for (const ev of this.early.get(r.subscription) ?? []) onEvent(ev);
    this.early.delete(r.subscription);
    return r.subscription;
  }

  async unsubscribe(id: number): Promise<void> {
    this.subs.delete(id);
    await this.call('events.unsubscribe', { subscription: id });
  }

  /** Runs `fn` once when the connection ends (null when closed by us). */
  onClose(fn: (err: Error | null) => void): void {
    this.closeHandlers.push(fn);
  }

  close(): void {
    this.shutdown(null);
    this.ws.close();
  }

  private early = new Map<number, Record<string, unknown>[]>();

  private onMessage(text: string): void {
    let msg: ServerMessage;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if ('subscription' in msg) {
      const fn = this.subs.get(msg.subscription);
      if (fn) fn(msg.event);
      else {
        const q = this.early.get(msg.subscription) ?? [];
        if (q.length < 10_000) q.push(msg.event);
        this.early.set(msg.subscription, q);
      }
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if ('error' in msg) p.reject(new RemoteError(msg.error));
    else p.resolve(msg.result);
  }

  private shutdown(err: Error | null): void {
    if (this.closedErr) return;
    this.closedErr = err ?? new Error('connection to the agent closed');
    for (const p of this.pending.values()) p.reject(this.closedErr);
    this.pending.clear();
    for (const fn of this.closeHandlers.splice(0)) fn(err);
  }
}

function readToken(stateDir?: string): string | undefined {
  const dir = stateDir || process.env.TALON_STATE_DIR || '/var/lib/talon';
  try {
    return readFileSync(join(dir, 'token'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
