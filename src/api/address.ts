// Server addresses: a unix socket (the default, root only) or a TCP
// host:port (only when asked for, and then with a token).

export const DEFAULT_SERVER_ADDRESS = 'unix:///run/talon/talon.sock';

export type ServerAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** Parses `unix:///abs/path`, `unix:/abs/path`, `/abs/path`, `host:port`, `tcp://host:port`, `[::1]:port`. */
export function parseServerAddress(s: string): ServerAddress {
  const a = s.trim();
  if (a.startsWith('unix://')) return unixAddr(a.slice('unix://'.length), s);
  if (a.startsWith('unix:')) return unixAddr(a.slice('unix:'.length), s);
  if (a.startsWith('/')) return unixAddr(a, s);
  const t = a.startsWith('tcp://') ? a.slice('tcp://'.length) : a;
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s/]+)):(\d{1,5})$/.exec(t);
  if (!m) throw new Error(`invalid server address ${JSON.stringify(s)}: expected unix:///path/to/socket or host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid server address ${JSON.stringify(s)}: port out of range`);
  return { kind: 'tcp', host: m[1] ?? m[2], port };
}

function unixAddr(path: string, orig: string): ServerAddress {
  if (!path.startsWith('/')) throw new Error(`invalid server address ${JSON.stringify(orig)}: a unix socket path must be absolute`);
  return { kind: 'unix', path };
}

export function formatServerAddress(a: ServerAddress): string {
  return a.kind === 'unix' ? `unix://${a.path}` : `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

/** The address a client command uses: the flag, else $TALON_SERVER_ADDRESS, else the default. */
export function clientAddress(flag?: string): string {
  return flag || process.env.TALON_SERVER_ADDRESS || DEFAULT_SERVER_ADDRESS;
}
