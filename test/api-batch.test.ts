// Batched event frames (events.subscribe with batch: true): many notifications in one ws
// frame (one per line), and getevents writing a frame's lines at once, must not reorder, lose or duplicate
// an event, nor move a loss notice away from where the loss happened (no kernel needed).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { ApiServer, MAX_BATCH, type Connection } from '../src/api/server.js';
import { ApiClient } from '../src/api/client.js';
import { ROOT, tempDir } from './helpers/common.js';

const SUB = 5;
const ROUNDS = 8;
const PER_ROUND = 1500;
const LOST_AT = 4; // the round after which a loss notice goes out
const TOTAL = ROUNDS * PER_ROUND;

/** an agent stand-in: a burst of events over several turns of the event loop, a loss notice in the middle */
const handlers = {
  status: () => ({ events: { losses: { ringbuf: 0 } } }),
  'events.subscribe': (p: Record<string, unknown>, conn: Connection) => {
    const batch = p.batch === true;
    let round = 0;
    const next = (): void => {
      for (let i = 0; i < PER_ROUND; i++) conn.notify({ subscription: SUB, event: { process_kprobe: { n: round * PER_ROUND + i } } }, batch);
      round++;
      if (round === LOST_AT) conn.notify({ subscription: SUB, lost: 3 }, batch);
      if (round < ROUNDS) setImmediate(next);
    };
    setTimeout(next, 20);
    return { subscription: SUB };
  },
};

async function withServer(fn: (address: string) => Promise<void>): Promise<void> {
  const t = tempDir('talon-batch-');
  const path = join(t.dir, 'talon.sock');
  const server = new ApiServer({ address: { kind: 'unix', path }, handlers, maxBuffered: 1 << 30 });
  try {
    await server.listen();
    await fn(`unix://${path}`);
  } finally {
    await server.close();
    t.remove();
  }
}

/** the raw frames of one subscription, until `total` notifications arrived */
async function rawFrames(address: string, batch: boolean, total: number): Promise<unknown[][]> {
  const ws = new WebSocket(`ws+unix://${address.slice('unix://'.length)}:/`);
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  const frames: unknown[][] = [];
  let got = 0;
  try {
    await new Promise<void>((resolve) => {
      ws.on('message', (d) => {
        const list = d
          .toString()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        if ('id' in list[0]) return; // the subscribe answer
        frames.push(list);
        got += list.length;
        if (got >= total) resolve();
      });
      ws.send(JSON.stringify({ id: 1, method: 'events.subscribe', params: { filter: {}, ...(batch ? { batch: true } : {}) } }));
    });
  } finally {
    ws.close();
  }
  return frames;
}

test('batch: true sends frames of many notifications, in order; without it one notification per frame', async () => {
  await withServer(async (address) => {
    const batched = await rawFrames(address, true, TOTAL + 1);
    const all = batched.flat() as Record<string, unknown>[];
    assert.is(all.length, TOTAL + 1, 'every notification once');
    assert.ok(batched.length < all.length / 10, `${batched.length} frames for ${all.length} notifications`);
    assert.ok(
      batched.every((f) => f.length <= MAX_BATCH),
      'no frame above MAX_BATCH',
    );
    const ns = all.filter((m) => 'event' in m).map((m) => (m.event as { process_kprobe: { n: number } }).process_kprobe.n);
    assert.equal(
      ns,
      Array.from({ length: TOTAL }, (_, i) => i),
      'in order, none lost or twice',
    );
    const lostAt = all.findIndex((m) => 'lost' in m);
    assert.is(lostAt, LOST_AT * PER_ROUND, 'the loss notice where the loss happened');

    const single = await rawFrames(address, false, TOTAL + 1);
    assert.is(single.length, TOTAL + 1, 'a client that did not ask gets one notification per frame');
    assert.ok(single.every((f) => f.length === 1));
  });
});

test('ApiClient.subscribe: every event once, in order, the loss told', async () => {
  await withServer(async (address) => {
    const c = await ApiClient.connect({ address });
    try {
      const seen: (number | string)[] = [];
      await new Promise<void>((resolve) => {
        void c.subscribe(
          {},
          (ev) => {
            seen.push((ev as { process_kprobe: { n: number } }).process_kprobe.n);
            if (seen.length === TOTAL + 1) resolve();
          },
          (n) => seen.push(`lost ${n}`),
        );
      });
      const want: (number | string)[] = Array.from({ length: TOTAL }, (_, i) => i);
      want.splice(LOST_AT * PER_ROUND, 0, 'lost 3');
      assert.equal(seen, want);
    } finally {
      c.close();
    }
  });
});

test('talon getevents -o json: one line per event, in order, the rate_limit_info line where the loss was', async () => {
  await withServer(async (address) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'talon.js'), 'getevents', '-o', 'json', '--count', String(TOTAL), '--server-address', address], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.is(code, 0, err);
    const lines = out.trimEnd().split('\n');
    assert.is(lines.length, TOTAL + 1, 'the events and one loss notice');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, { n?: number; number_of_dropped_process_events?: string }>);
    assert.is(parsed[LOST_AT * PER_ROUND].rate_limit_info?.number_of_dropped_process_events, '3');
    const ns = parsed.filter((e) => e.process_kprobe).map((e) => e.process_kprobe.n);
    assert.equal(
      ns,
      Array.from({ length: TOTAL }, (_, i) => i),
    );
    assert.match(err, /lost: 3 by this subscriber/);
  });
});

test.run();
