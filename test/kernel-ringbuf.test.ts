// The ring-buffer consumer must never keep Kernel.close() from returning,
// even when the JS thread has fallen far behind a flood of records.
import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Kernel } from '../src/kernel/index.js';
import { kernelSkipReason } from './helpers/kernel.js';

const skip = kernelSkipReason();

test('close() returns while the JS thread is behind a flood of exec records', async () => {
  if (skip) {
    console.log(`  skipped: ${skip}`);
    return;
  }
  const k = await Kernel.open();
  let records = 0;
  k.onRecords((rs) => (records += rs.length));
  const flood = spawn('sh', ['-c', 'for i in $(seq 3000); do /bin/true; done'], { stdio: 'ignore' });
  const busy = (ms: number) => {
    // keep the JS thread busy so the consumer's queue to it fills up
    const end = Date.now() + ms;
    while (Date.now() < end) {
      /* busy */
    }
  };
  try {
    busy(1000);
    // the batches queued meanwhile reach the JS thread once it is free
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(records > 0, 'exec records of the flood were delivered');
    busy(1000);
  } finally {
    const t0 = Date.now();
    k.close();
    flood.kill('SIGKILL');
    // before the fix this never returned (pthread_join on a thread blocked in node-api)
    assert.ok(Date.now() - t0 < 2000, `close() took ${Date.now() - t0} ms`);
  }
});

test.run();
