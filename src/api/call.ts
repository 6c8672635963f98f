// One-shot calls to the agent API: one HTTP POST /call on the API's socket
// ({method, params} -> the ws protocol's response), answered by the same
// handlers as the ws requests. The CLI's commands that only ask and print
// (tp list, tp add, pod, status, version) use it: node:http loads in a
// fraction of the time of the WebSocket client, which only getevents needs.
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clientAddress, formatServerAddress, parseServerAddress } from './address.js';
import { AUTH_HEADER, type ErrorBody } from './protocol.js';

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

/** The path of one-shot calls on the API socket. */
export const CALL_PATH = '/call';

/** The token a TCP client sends: the flag, $TALON_TOKEN, else <state dir>/token. */
export function clientToken(opts: ConnectOptions): string | undefined {
  if (opts.token || process.env.TALON_TOKEN) return opts.token || process.env.TALON_TOKEN;
  const dir = opts.stateDir || process.env.TALON_STATE_DIR || '/var/lib/talon';
  try {
    return readFileSync(join(dir, 'token'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Why a connection failed, said as the CLI says it. */
export function connectError(where: string, e: NodeJS.ErrnoException): Error {
  const hint = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? ' (is `talon agent` running?)' : e.code === 'EACCES' ? ' (the socket is for root only)' : '';
  return new Error(`connect to agent at ${where}: ${e.message}${hint}`);
}

/** Calls `method` once; resolves with its result, rejects with RemoteError on an error answer. */
export function callAgent<T = unknown>(opts: ConnectOptions, method: string, params: Record<string, unknown> = {}): Promise<T> {
  const address = parseServerAddress(clientAddress(opts.address));
  const where = formatServerAddress(address);
  const body = JSON.stringify({ id: 1, method, params });
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (address.kind === 'tcp') {
    const token = clientToken(opts);
    if (token) headers[AUTH_HEADER] = `Bearer ${token}`;
  }
  // servername '': no TLS here, and http.Agent would otherwise test the host with net.isIP, whose
  // IPv6 regular expression costs a CLI start-up about 20 ms to compile on a busy 2-core VM
  const target = address.kind === 'unix' ? { socketPath: address.path, servername: '' } : { host: address.host, port: address.port, servername: '' };
  return new Promise<T>((resolve, reject) => {
    const req = request({ ...target, method: 'POST', path: CALL_PATH, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 401)
          return reject(new Error(`agent at ${where} refused the connection: HTTP 401 (missing or wrong token: pass --token or set TALON_TOKEN)`));
        let msg: { result?: unknown; error?: ErrorBody };
        try {
          msg = JSON.parse(text);
        } catch {
          return reject(new Error(`agent at ${where} answered HTTP ${res.statusCode}: ${text.trim().slice(0, 200)}`));
        }
        if (msg.error) reject(new RemoteError(msg.error));
        else resolve(msg.result as T);
      });
      res.on('error', reject);
    });
    if (opts.timeoutMs) req.setTimeout(opts.timeoutMs, () => req.destroy(Object.assign(new Error(`no answer in ${opts.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => reject(connectError(where, e)));
    req.end(body);
  });
}
