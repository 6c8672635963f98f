// Tetragon's --health-server-address: an HTTP endpoint a supervisor or a
// liveness probe polls. GET /healthz answers 200 with the agent's state while
// it runs, 503 when it is stopping.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseMetricsAddress } from './metrics.js';

export class HealthServer {
  private server: Server | null = null;

  constructor(private readonly status: () => { ok: boolean; body: Record<string, unknown> }) {}

  /** Listens on host:port (":6789" is every address); resolves with the address bound. */
  async listen(address: string): Promise<string> {
    const { host, port } = parseMetricsAddress(address);
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' || path !== '/healthz') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('talon: the health endpoint is /healthz\n');
        return;
      }
      const s = this.status();
      res.writeHead(s.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(s.body) + '\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new Error(`health server on ${address}: ${e.message}`)));
      server.listen(port, host || undefined, () => resolve());
    });
    this.server = server;
    const a = server.address() as AddressInfo;
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  close(): Promise<void> {
    const s = this.server;
    this.server = null;
    s?.closeAllConnections();
    return new Promise((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }
}
