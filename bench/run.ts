// The bench driver: prints the machine figures, then runs every
// bench/*.bench.ts module in one process, one after the other. Each module
// exports `async function run(): Promise<void>` that prints its own table.
//
// Run: npm run bench (builds first), or node dist/bench/run.js [name-filter]

import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

function machine(): void {
  const cpus = os.cpus();
  const model = cpus[0]?.model?.trim() ?? 'unknown CPU';
  const mhz = cpus[0]?.speed ? ` @ ${cpus[0].speed} MHz` : '';
  console.log('# talon benchmarks\n');
  console.log(`- CPU: ${model}${mhz}, ${cpus.length} logical cores`);
  console.log(
    `- memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(`- node ${process.version} (V8 ${process.versions.v8}), ${os.type()} ${os.release()} ${os.arch()}`);
  console.log(`- date ${new Date().toISOString()}`);
}

async function main(): Promise<void> {
  const filter = process.argv[2];
  const modules = readdirSync(HERE)
    .filter((f) => f.endsWith('.bench.js'))
    .filter((f) => filter === undefined || f.includes(filter))
    .sort();
  machine();
  let failed = 0;
  for (const f of modules) {
    console.log(`\n---\n\n# ${f.replace(/\.js$/, '.ts')}`);
    try {
      const mod = (await import(pathToFileURL(path.join(HERE, f)).href)) as { run?: () => Promise<void> };
      if (typeof mod.run !== 'function') throw new Error(`${f} does not export run()`);
      await mod.run();
    } catch (e) {
      failed++;
      console.log(`\n${f} failed: ${(e as Error).stack ?? e}`);
    }
  }
  if (failed > 0) process.exitCode = 1;
}

await main();
