// The agent's API while it compiles a large policy (root only): policy.list
// answered with nothing else under way, and again while a 12,000-CIDR
// `tp add` from another client is compiling in the agent's worker. A list
// that queued behind the compile would take about as long as the add's rest;
// test/fault-agents.test.ts checks only that it answers before the add ends,
// the figures live here.
//
// Run: npm run build && node dist/bench/run.js api      TALON_BENCH_RUNS=N (default 5)
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ApiClient } from '../src/api/client.js';
import { cidrPolicy, isolatedAgent, sleep, talon } from '../test/helpers/agent.js';

const RUNS = Number(process.env.TALON_BENCH_RUNS ?? 5);

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const median = (xs: number[]) => pct(xs, 0.5);

async function timedList(c: ApiClient): Promise<number> {
  const t0 = process.hrtime.bigint();
  await c.call('policy.list', {});
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export async function run(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('\nskipped: the agent needs root');
    return;
  }
  const t = isolatedAgent('bench-api');
  await t.start();
  const f = path.join(t.dir, 'big-cidrs.yaml');
  writeFileSync(f, cidrPolicy(12000, 'big-cidrs'));
  const c = await ApiClient.connect({ address: t.A[1] });
  const idle: number[] = [];
  const during: number[] = [];
  const adds: number[] = [];
  try {
    for (let i = 0; i < 20; i++) idle.push(await timedList(c));
    for (let r = 0; r < RUNS; r++) {
      const t0 = Date.now();
      let done = 0;
      const add = talon(['tp', 'add', f, '-n', `bench-${r}`, ...t.A]).then((x) => ((done = Date.now()), x));
      // lists one after another until the add ends: each of them met the compile
      await sleep(300);
      while (!done) {
        const ms = await timedList(c);
        if (!done) during.push(ms);
      }
      const x = await add;
      if (x.code !== 0) throw new Error(`tp add: ${x.stderr}`);
      adds.push(done - t0);
      await talon(['tp', 'delete', 'big-cidrs', '-n', `bench-${r}`, ...t.A]);
    }
  } finally {
    c.close();
    await t.stop();
  }
  console.log(`\n| what (${RUNS} adds) | median | p99 | max |\n|---|---:|---:|---:|`);
  console.log(`| policy.list, agent idle (20 calls) | ${median(idle).toFixed(1)} ms | ${pct(idle, 0.99).toFixed(1)} ms | ${Math.max(...idle).toFixed(1)} ms |`);
  console.log(
    `| policy.list during a 12,000-CIDR tp add (${during.length} calls) | ${median(during).toFixed(1)} ms | ${pct(during, 0.99).toFixed(1)} ms | ${Math.max(...during).toFixed(1)} ms |`,
  );
  console.log(`| the 12,000-CIDR tp add itself | ${median(adds)} ms | | ${Math.max(...adds)} ms |`);
  console.log(
    `\nratio list during add / add: ${(median(during) / median(adds)).toFixed(3)} (1 would mean the list waited for the add; the max is a list that met the load into the kernel, done on the API thread)`,
  );
}
