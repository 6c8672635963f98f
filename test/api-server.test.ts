// The agent API on its own: unix socket permissions, TCP tokens, the
// request/response framing and subscriptions (no kernel needed).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { statSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { WebSocket } from 'ws';
import { ApiServer, type Connection } from '../src/api/server.js';
import { ApiClient, RemoteError } from '../src/api/client.js';
import { ApiError } from '../src/api/protocol.js';
import { waitFor } from './helpers/common.js';
import { parseServerAddress, formatServerAddress } from '../src/api/address.js';
import { tempDir } from './helpers/agent.js';

const handlers = {
  echo: (p: Record<string, unknown>) => ({ echo: p }),
  fail: () => {
    throw new ApiError('invalid', '2 errors in 1 file', ['a.yaml:1:2: x: bad', 'a.yaml:3:4: y: worse']);
  },
  boom: () => {
    throw new Error('something broke');
  },
  'events.subscribe': (_p: Record<string, unknown>, conn: Connection) => {
    const id = 7;
    setTimeout(() => {
      for (let i = 0; i < 3; i++) conn.notify({ subscription: id, event: { n: i } });
    }, 10);
    return { subscription: id };
  },
};

test('server addresses', () => {
  assert.equal(parseServerAddress('unix:///run/talon/talon.sock'), { kind: 'unix', path: '/run/talon/talon.sock' });
  assert.equal(parseServerAddress('/tmp/x.sock'), { kind: 'unix', path: '/tmp/x.sock' });
  assert.equal(parseServerAddress('127.0.0.1:54321'), { kind: 'tcp', host: '127.0.0.1', port: 54321 });
  assert.equal(parseServerAddress('localhost:1'), { kind: 'tcp', host: 'localhost', port: 1 });
  assert.equal(parseServerAddress('[::1]:80'), { kind: 'tcp', host: '::1', port: 80 });
  assert.is(formatServerAddress({ kind: 'tcp', host: '::1', port: 80 }), '[::1]:80');
  assert.throws(() => parseServerAddress('unix://relative'), /absolute/);
  assert.throws(() => parseServerAddress('nohost'), /invalid server address/);
  assert.throws(() => parseServerAddress('1.2.3.4:99999'), /port out of range/);
  assert.equal(parseServerAddress('127.0.0.1:0'), { kind: 'tcp', host: '127.0.0.1', port: 0 });
});

test('unix socket: mode 0600, requests, errors, subscriptions, removed on close', async () => {
  const t = tempDir('talon-api-');
  const path = join(t.dir, 'sub', 'talon.sock');
  const server = new ApiServer({ address: { kind: 'unix', path }, handlers });
  try {
    await server.listen();
    assert.is(statSync(path).mode & 0o777, 0o600, 'socket is root only');
    assert.is(statSync(join(t.dir, 'sub')).mode & 0o777, 0o700, 'its directory too');
    const c = await ApiClient.connect({ address: `unix://${path}` });
    try {
      assert.equal(await c.call('echo', { a: 1 }), { echo: { a: 1 } });
      try {
        await c.call('fail');
        assert.unreachable('fail must reject');
      } catch (e) {
        assert.instance(e, RemoteError);
        assert.is((e as RemoteError).code, 'invalid');
        assert.is((e as RemoteError).message, '2 errors in 1 file');
        assert.equal((e as RemoteError).diagnostics, ['a.yaml:1:2: x: bad', 'a.yaml:3:4: y: worse']);
      }
      await c.call('boom').then(
        () => assert.unreachable(),
        (e: RemoteError) => assert.equal([e.code, e.message], ['failed', 'something broke']),
      );
      await c.call('nope').then(
        () => assert.unreachable(),
        (e: RemoteError) => assert.is(e.code, 'unknown_method'),
      );
      const got: unknown[] = [];
      await c.subscribe({}, (ev) => got.push(ev));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(got, [{ n: 0 }, { n: 1 }, { n: 2 }]);
    } finally {
      c.close();
    }
    // malformed frames get a bad_request answer, the connection stays usable
    const ws = new WebSocket(`ws+unix://${path}:/`);
    await new Promise((r) => ws.once('open', r));
    const answer = new Promise<string>((r) => ws.once('message', (d) => r(d.toString())));
    ws.send('not json');
    assert.is(JSON.parse(await answer).error.code, 'bad_request');
    ws.close();
  } finally {
    await server.close();
    assert.not.ok(existsSync(path), 'socket removed on close');
    t.remove();
  }
});

test('unix socket: a stale socket file is replaced, a live one refused', async () => {
  const t = tempDir('talon-api-');
  const path = join(t.dir, 'talon.sock');
  // a live listener on the path
  const other = createServer();
  await new Promise<void>((r) => other.listen(path, () => r()));
  try {
    const s = new ApiServer({ address: { kind: 'unix', path }, handlers });
    await s.listen().then(
      () => assert.unreachable('must refuse a live socket'),
      (e: Error) => assert.match(e.message, /in use \(is another talon agent running\?\)/),
    );
  } finally {
    await new Promise<void>((r) => other.close(() => r()));
  }
  // a stale file (no listener)
  writeFileSync(path, '');
  const s = new ApiServer({ address: { kind: 'unix', path }, handlers });
  await s.listen();
  await s.close();
  t.remove();
});

test('TCP: refused without a token, with a wrong one; served with the right one', async () => {
  assert.throws(() => new ApiServer({ address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, handlers }), /needs a token/);
  const server = new ApiServer({ address: { kind: 'tcp', host: '127.0.0.1', port: 0 }, token: 's3cret-token', handlers });
  await server.listen();
  const address = `127.0.0.1:${server.port}`;
  const saved = process.env.TALON_TOKEN;
  const savedState = process.env.TALON_STATE_DIR;
  delete process.env.TALON_TOKEN;
  process.env.TALON_STATE_DIR = '/nonexistent-talon-state';
  try {
    await ApiClient.connect({ address }).then(
      (c) => {
        c.close();
        assert.unreachable('no token must be refused');
      },
      (e: Error) => assert.match(e.message, /refused the connection: HTTP 401 \(missing or wrong token/),
    );
    await ApiClient.connect({ address, token: 'wrong-token!' }).then(
      (c) => {
        c.close();
        assert.unreachable('a wrong token must be refused');
      },
      (e: Error) => assert.match(e.message, /HTTP 401/),
    );
    const c = await ApiClient.connect({ address, token: 's3cret-token' });
    assert.equal(await c.call('echo', { ok: true }), { echo: { ok: true } });
    c.close();
    process.env.TALON_TOKEN = 's3cret-token';
    const c2 = await ApiClient.connect({ address });
    assert.equal(await c2.call('echo'), { echo: {} });
    c2.close();
  } finally {
    if (saved === undefined) delete process.env.TALON_TOKEN;
    else process.env.TALON_TOKEN = saved;
    if (savedState === undefined) delete process.env.TALON_STATE_DIR;
    else process.env.TALON_STATE_DIR = savedState;
    await server.close();
  }
});

test('TCP limits: connections capped, silent clients cut off, requests in progress bounded', async () => {
  let release: () => void = () => undefined;
  const slow = () => new Promise<string>((r) => (release = () => r('done')));
  const server = new ApiServer({
    address: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    token: 'tok',
    handlers: { ...handlers, slow },
    maxConnections: 8,
    maxInFlight: 2,
    headersTimeoutMs: 300,
  });
  await server.listen();
  const { connect } = await import('node:net');
  const socks: import('node:net').Socket[] = [];
  const closed: boolean[] = [];
  try {
    // 20 clients that never speak: at most 8 stay open, and those are cut off after the timeout
    for (let i = 0; i < 20; i++) {
      const s = connect(server.port!, '127.0.0.1');
      const n = i;
      closed[n] = false;
      s.on('close', () => (closed[n] = true));
      s.on('error', () => undefined);
      socks.push(s);
    }
    await new Promise((r) => setTimeout(r, 150));
    assert.ok(closed.filter(Boolean).length >= 12, `closed at once: ${closed.filter(Boolean).length} of 20`);
    // the 300 ms limit starts when the server accepts a connection, which a loaded machine may do late
    await waitFor(() => closed.every(Boolean), 5000, 50);
    assert.is(closed.filter(Boolean).length, 20, 'every silent client is cut off');
    // a real client gets in again, and may not pile up requests
    const c = await ApiClient.connect({ address: `127.0.0.1:${server.port}`, token: 'tok' });
    const pending = [c.call('slow'), c.call('slow')];
    await c.call('slow').then(
      () => assert.unreachable('a third request in progress must be refused'),
      (e: Error) => assert.match(e.message, /more than 2 requests in progress/),
    );
    release();
    release();
    c.close();
    await Promise.allSettled(pending);
  } finally {
    for (const s of socks) s.destroy();
    await server.close();
  }
});

test('client: a missing agent gives a clear message', async () => {
  await ApiClient.connect({ address: 'unix:///nonexistent/talon.sock' }).then(
    () => assert.unreachable(),
    (e: Error) => assert.match(e.message, /connect to agent at unix:\/\/\/nonexistent\/talon.sock: .*\(is `talon agent` running\?\)/),
  );
});

test.run();
