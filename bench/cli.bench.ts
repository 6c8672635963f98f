// CLI start-up: wall time of one `talon` command as a user types it, from
// spawn to exit, against the floor of starting Node.js at all.
//   * `talon tp list` against an API server (the agent's own ApiServer, in
//     a helper process, answering policy.list with two policies: the client's
//     cost is what is measured, not the agent's);
//   * `talon compile --check` of a small policy (the policy loader and the
//     Wasm core load);
//   * `node -e 0`: Node.js itself.
// Target (issue 9, target 5): tp list and compile --check under 150 ms.
//
// Run: npm run build && node dist/bench/run.js cli      TALON_BENCH_RUNS=N (default 15)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin', 'talon.js');
const RUNS = Number(process.env.TALON_BENCH_RUNS ?? 15);

const SMALL = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: file-read
spec:
  kprobes:
  - call: security_file_permission
    syscall: false
    args:
    - index: 0
      type: file
    selectors:
    - matchArgs:
      - index: 0
        operator: Prefix
        values: ["/etc/shadow"]
`;

function policy(id: number, name: string): Record<string, unknown> {
  return {
    id,
    name,
    namespace: id === 1 ? null : 'default',
    kind: 'TracingPolicy',
    domain: id === 1 ? 'static' : 'api',
    file: `${name}.yaml`,
    state: 'enabled',
    mode: 'enforce',
    filterId: 0,
    filtered: false,
    host: true,
    pods: [],
    hooks: ['security_file_permission'],
    sensors: ['tln_kprobe_file'],
    kernelMemory: 1880000,
    programMemory: 40960,
    counters: { post: 3, enforce: 1, monitor: 0, nopost: 0 },
    selectors: [{ index: 0, hook: 'security_file_permission', selector: 0, label: 'security_file_permission/0', post: 3, enforce: 1, monitor: 0, nopost: 0 }],
    programs: [],
  };
}

/** Wall time of `node args` (ms), median and min over RUNS, after one warm-up run. */
function time(args: string[]): { median: number; min: number; code: number | null } {
  const ms: number[] = [];
  let code: number | null = null;
  for (let i = 0; i <= RUNS; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const d = Number(process.hrtime.bigint() - t) / 1e6;
    code = r.status;
    if (r.status !== 0) throw new Error(`node ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
    if (i > 0) ms.push(d);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)], min: ms[0], code };
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'talon-bench-cli-'));
  try {
    const file = path.join(dir, 'small.yaml');
    writeFileSync(file, SMALL);
    // spawnSync blocks this event loop: the API server (talon's ApiServer) answers from another process
    const helper = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { ApiServer } = await import(${JSON.stringify(path.join(ROOT, 'dist/src/api/server.js'))});
         const p = (id, name) => (${policy.toString()})(id, name);
         const s = new ApiServer({ address: { kind: 'unix', path: ${JSON.stringify(path.join(dir, 'helper.sock'))} },
           handlers: { 'policy.list': () => ({ policies: [p(1, 'file-monitoring'), p(2, 'egress')], hooks: {} }) } });
         await s.listen(); process.stdout.write('ready\\n');`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((res, rej) => {
      helper.stdout!.once('data', () => res());
      helper.once('exit', (c) => rej(new Error(`API server helper exited ${c}`)));
    });
    try {
      const rows: [string, ReturnType<typeof time>][] = [
        ['node -e 0 (Node.js start-up, the floor)', time(['-e', '0'])],
        ['talon tp list (agent API, 2 policies)', time([BIN, 'tp', 'list', '--server-address', `unix://${path.join(dir, 'helper.sock')}`])],
        ['talon tp list -o json', time([BIN, 'tp', 'list', '-o', 'json', '--server-address', `unix://${path.join(dir, 'helper.sock')}`])],
        ['talon compile --check small.yaml', time([BIN, 'compile', '--check', file])],
        ['talon --help', time([BIN, '--help'])],
      ];
      console.log(`\n${RUNS} runs each after a warm-up; wall time from spawn to exit. Target: tp list and compile --check < 150 ms.\n`);
      console.log('| command | median ms | min ms | over node -e 0 (median) |');
      console.log('|---|---:|---:|---:|');
      const floor = rows[0][1].median;
      for (const [name, r] of rows)
        console.log(`| ${name} | ${r.median.toFixed(0)} | ${r.min.toFixed(0)} | ${name.startsWith('node') ? '' : `+${(r.median - floor).toFixed(0)}`} |`);
    } finally {
      helper.kill('SIGTERM');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
