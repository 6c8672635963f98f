// The agent's compiles run in a worker with a time and a memory budget: the thread that serves
// the API keeps running while a 12,000-CIDR policy compiles, a compile past a budget is refused
// with an error naming the budget (never garbage), and the worker serves the next compile.
// No root, no kernel: the Compiler alone (fault-agents.test.ts has the agent's side).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Compiler, CompileBudgetError } from '../src/agent/compiler.js';
import { formatDiagnostic } from '../src/policy/index.js';
import { cidrPolicy } from './helpers/agent.js';

const OPTS = { defaultNamespace: 'default' };

test('a 12,000-CIDR compile runs off this thread: timers keep firing, the image is right', async () => {
  const c = new Compiler({ timeoutMs: 30_000, memoryMb: 512 });
  try {
    await c.check([{ name: 'warm.yaml', text: cidrPolicy(1) }], OPTS); // the worker is up
    let last = Date.now();
    let worst = 0;
    const tick = setInterval(() => {
      const now = Date.now();
      worst = Math.max(worst, now - last);
      last = now;
    }, 5);
    const t0 = Date.now();
    const r = await c.check([{ name: 'big.yaml', text: cidrPolicy(12000) }], OPTS);
    const took = Date.now() - t0;
    clearInterval(tick);
    assert.is(r.errors, 0, r.diagnostics.map(formatDiagnostic).join('\n'));
    assert.ok(r.image && r.image.length > 12000 * 8, 'an image holding the list');
    // the compile took far longer than the longest pause of this thread
    assert.ok(worst < took / 2, `this thread paused ${worst} ms during a ${took} ms compile`);
    // a large compile recycles the worker: the next one runs in a fresh worker
    const before = c.started;
    await c.check([{ name: 'small.yaml', text: cidrPolicy(1) }], OPTS);
    assert.is(c.started, before + 1);
  } finally {
    await c.close();
  }
});

test('over the memory budget: a located error naming the budget and its option; the next compile works', async () => {
  const c = new Compiler({ timeoutMs: 30_000, memoryMb: 16 });
  try {
    const r = await c.check([{ name: 'big.yaml', text: cidrPolicy(12000) }], OPTS);
    assert.is(r.image, null);
    assert.is(r.errors, 1);
    const line = formatDiagnostic(r.diagnostics[0]);
    assert.match(line, /^big\.yaml:1:1: .*policy too large to compile: the input needs more than 16 MiB of policy-core memory/);
    assert.match(line, /--policy-compile-memory/);
    const ok = await c.check([{ name: 'small.yaml', text: cidrPolicy(10) }], OPTS);
    assert.is(ok.errors, 0);
    assert.ok(ok.image);
  } finally {
    await c.close();
  }
});

test('over the time budget: refused naming the budget and its option; a fresh worker serves the next compile', async () => {
  const c = new Compiler({ timeoutMs: 300, memoryMb: 512 });
  try {
    const t0 = Date.now();
    // 50,000 CIDRs take about 1 s here (12,000 took 0.3-0.4 s: too close to the budget)
    const e = await c.check([{ name: 'big.yaml', text: cidrPolicy(50000) }], OPTS).then(
      () => null,
      (x: Error) => x,
    );
    assert.ok(e instanceof CompileBudgetError, String(e));
    assert.match(e!.message, /^big\.yaml: compile stopped: over its time budget of 0\.3 s \(agent option --policy-compile-timeout\)/);
    assert.ok(Date.now() - t0 < 2000, 'refused at the budget, not after the compile');
    const ok = await c.check([{ name: 'small.yaml', text: cidrPolicy(10) }], OPTS);
    assert.is(ok.errors, 0);
  } finally {
    await c.close();
  }
});

test.run();
