// Client side of the agent API, used by the CLI commands and the tests.
import { WebSocket } from 'ws';
import { clientAddress, formatServerAddress, parseServerAddress, type ServerAddress } from './address.js';
import { AUTH_HEADER, eventText, type ServerMessage } from './protocol.js';
import { clientToken, connectError, RemoteError, type ConnectOptions } from './call.js';

export { RemoteError, type ConnectOptions } from './call.js';

export class ApiClient {
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private subs = new Map<number, (ev: Record<string, unknown>) => void>();
  /** subscriptions that take each event as the agent's JSON text (subscribeText) */
  private rawSubs = new Map<number, (json: string) => void>();
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
      const token = clientToken(opts);
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
      ws.once('error', (e: NodeJS.ErrnoException) => reject(connectError(formatServerAddress(address), e)));
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
  async subscribe(filter: Record<string, unknown>, onEvent: (ev: Record<string, unknown>) => void, onLost?: (n: number) => void): Promise<number> {
    // register before the answer arrives: events may follow it immediately
    // batch: the agent sends its events in frames of many (protocol.ts)
    const r = await this.call<{ subscription: number }>('events.subscribe', { filter, batch: true });
    this.subs.set(r.subscription, onEvent);
    if (onLost) this.lostHandlers.set(r.subscription, onLost);
    for (const ev of this.early.get(r.subscription) ?? []) onEvent(ev);
    this.early.delete(r.subscription);
    const lost = this.earlyLost.get(r.subscription);
    this.earlyLost.delete(r.subscription);
    if (lost) onLost?.(lost);
    return r.subscription;
  }

  /**
   * Subscribes to events as the agent's JSON text of each (`getevents -o json` writes it as it
   * is: parsing and writing it again cost more than the rest of its path). Events that arrive
   * before the answer are parsed (the id is not known yet) and given as JSON.stringify's text.
   */
  async subscribeText(filter: Record<string, unknown>, onEvent: (json: string) => void, onLost?: (n: number) => void): Promise<number> {
    const id = await this.subscribe(filter, (ev) => onEvent(JSON.stringify(ev)), onLost);
    this.rawSubs.set(id, onEvent);
    return id;
  }

  async unsubscribe(id: number): Promise<void> {
    this.subs.delete(id);
    this.rawSubs.delete(id);
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
  private earlyLost = new Map<number, number>();
  private lostHandlers = new Map<number, (n: number) => void>();

  private onMessage(text: string): void {
    // a batch of notifications (events.subscribe with batch: true) is one per line, in their order
    for (let at = 0; at < text.length;) {
      let end = text.indexOf('\n', at);
      if (end < 0) end = text.length;
      this.onLine(end === text.length && at === 0 ? text : text.slice(at, end));
      at = end + 1;
    }
  }

  private onLine(line: string): void {
    if (this.rawSubs.size > 0 && line.startsWith('{"subscription":')) {
      for (const [id, fn] of this.rawSubs) {
        const ev = eventText(line, id);
        if (ev !== null) return fn(ev);
      }
    }
    let msg: ServerMessage;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    if ('subscription' in msg && 'lost' in msg) {
      this.lostHandlers.get(msg.subscription)?.(msg.lost);
      return;
    }
    if ('subscription' in msg) {
      const fn = this.subs.get(msg.subscription);
      if (fn) fn(msg.event);
      else {
        // events before the subscribe answer: kept up to a bound, the rest counted and told as lost
        const q = this.early.get(msg.subscription) ?? [];
        if (q.length < 10_000) q.push(msg.event);
        else this.earlyLost.set(msg.subscription, (this.earlyLost.get(msg.subscription) ?? 0) + 1);
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
