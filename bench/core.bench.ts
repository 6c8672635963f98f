// Benchmarks of the policy core: compile latency and evaluator throughput.
// Targets: compile of file_monitoring_enforce.yaml < 5 ms warm;
//          evaluateEncoded >= 1,000,000 events/s on one core.
//
// Run: npm run bench (all benches), or npm run build && node dist/bench/core.bench.js
// The seed policies (../shared/seeds/policies) are used when they are there,
// else the examples/ policies that follow them.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import YAML from 'yaml';
import { compile, Evaluator } from '../src/core/index.js';
import type { EvalEvent } from '../src/core/types.js';
import { coreMemoryOfLastCall } from '../src/core/wasm.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SEEDS = path.resolve(ROOT, '../shared/seeds/policies');

/** the seed policy, or the example that follows it */
function policyFile(seed: string, example: string): string {
  const s = path.join(SEEDS, seed);
  return existsSync(s) ? s : path.join(ROOT, 'examples', example);
}

function docs(file: string, subst: Record<string, string> = {}): unknown[] {
  let t = readFileSync(file, 'utf8');
  for (const [k, v] of Object.entries(subst)) t = t.split(k).join(v);
  return YAML.parseAllDocuments(t, { intAsBigInt: true }).map((d) => d.toJS({}));
}

function time(n: number, f: () => void): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f();
  return Number(process.hrtime.bigint() - t0) / 1e6; // ms
}

export async function run(): Promise<void> {
  const opts = { defaultNamespace: 'default' };
  const fileYaml = policyFile('file_monitoring_enforce.yaml', 'file-monitoring-enforce.yaml');
  const egressYaml = policyFile('network_egress_cluster_enforce.yaml', 'egress-cluster-enforce.yaml');
  // a destination inside the cluster ranges of that policy (the example uses 127.x ranges)
  const inside = path.basename(egressYaml).startsWith('network_') ? '10.44.1.2' : '127.10.3.4';
  const fileDocs = docs(fileYaml);
  const egressDocs = docs(egressYaml, { '${PODCIDR}': '10.44.0.0/14', '${SERVICECIDR}': '10.48.0.0/20' });
  console.log(`\npolicies: ${path.relative(ROOT, fileYaml)}, ${path.relative(ROOT, egressYaml)}\n`);

  // ---- compile ----
  const cold = time(1, () => compile(fileDocs, opts));
  time(200, () => compile(fileDocs, opts));
  const n = 500;
  const warm = time(n, () => compile(fileDocs, opts)) / n;
  const yamlText = readFileSync(fileYaml, 'utf8');
  const parse = time(n, () => YAML.parseAllDocuments(yamlText, { intAsBigInt: true }).map((d) => d.toJS({}))) / n;
  console.log(
    `compile ${path.basename(fileYaml)}: first ${cold.toFixed(2)} ms, warm ${warm.toFixed(3)} ms (target < 5 ms); for scale, yaml parse of the same file ${parse.toFixed(3)} ms`,
  );
  // the largest policy of Tetragon's own corpus (../shared/tetragon-corpus), when it is there
  const big = path.resolve(ROOT, '../shared/tetragon-corpus/policies/examples__policylibrary__privileges__privileges-raise.yaml');
  if (existsSync(big)) {
    const bigDocs = docs(big);
    const r = compile(bigDocs, opts);
    if (r.image === null) throw new Error(`${path.basename(big)} does not compile: ${r.diagnostics.map((d) => d.message).join('; ')}`);
    time(50, () => compile(bigDocs, opts));
    const m = 200;
    const bigWarm = time(m, () => compile(bigDocs, opts)) / m;
    const bigText = readFileSync(big, 'utf8');
    const bigParse = time(m, () => YAML.parseAllDocuments(bigText, { intAsBigInt: true }).map((d) => d.toJS({}))) / m;
    console.log(
      `compile ${path.basename(big)} (the corpus' largest, ${bigText.length} bytes): warm ${bigWarm.toFixed(3)} ms, image ${r.image.length} bytes; yaml parse of the same file ${bigParse.toFixed(3)} ms`,
    );
  }

  // ---- a large value list (issue 13: linear in the list) ----
  const cidrList = Array.from({ length: 12000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24`);
  const bigDoc = {
    apiVersion: 'cilium.io/v1alpha1',
    kind: 'TracingPolicy',
    metadata: { name: 'many-cidrs' },
    spec: {
      kprobes: [{ call: 'tcp_connect', args: [{ index: 0n, type: 'sock' }], selectors: [{ matchArgs: [{ index: 0n, operator: 'DAddr', values: cidrList }] }] }],
    },
  };
  const bigMs = time(1, () => compile([bigDoc], opts));
  console.log(
    `compile 12,000 CIDRs in one matchArgs: ${bigMs.toFixed(0)} ms, ${(coreMemoryOfLastCall() / 1048576).toFixed(0)} MiB of core memory (target < 2,000 ms, < 100 MB)`,
  );

  // ---- evaluate ----
  const pod = { namespace: 'default', name: 'web-1', labels: { app: 'web' } };
  const base = { kind: 'kprobe' as const, timeNs: 1n, pid: 42, tid: 42, binary: '/usr/bin/cat', pod };
  const cases: [string, Evaluator, EvalEvent][] = [];
  const fileEv = new Evaluator(compile(fileDocs, opts).image!);
  const egressEv = new Evaluator(compile(egressDocs, opts).image!);
  cases.push([
    'file: /etc/shadow read (kill, selector 0)',
    fileEv,
    {
      ...base,
      hook: 'security_file_permission',
      args: [
        { kind: 'str', value: '/etc/shadow' },
        { kind: 'int', value: 4n },
      ],
    },
  ]);
  cases.push([
    'file: /home/u/project/src/main.c read (no match)',
    fileEv,
    {
      ...base,
      hook: 'security_file_permission',
      args: [
        { kind: 'str', value: '/home/u/project/src/main.c' },
        { kind: 'int', value: 4n },
      ],
    },
  ]);
  cases.push([
    'file: mmap /usr/lib/x86_64-linux-gnu/libc.so.6 (no match)',
    fileEv,
    {
      ...base,
      hook: 'security_mmap_file',
      args: [
        { kind: 'str', value: '/usr/lib/x86_64-linux-gnu/libc.so.6' },
        { kind: 'int', value: 5n },
        { kind: 'int', value: 2n },
      ],
    },
  ]);
  const sock = (daddr: string) => ({ kind: 'sock' as const, family: 2, protocol: 6, state: 2, saddr: '10.44.0.7', daddr, sport: 40001, dport: 443 });
  cases.push(['egress: tcp_connect 104.198.14.52 (kill)', egressEv, { ...base, hook: 'tcp_connect', args: [sock('104.198.14.52')] }]);
  cases.push([`egress: tcp_connect ${inside} (no match)`, egressEv, { ...base, hook: 'tcp_connect', args: [sock(inside)] }]);

  for (const [name, ev, e] of cases) {
    const rec = ev.encode(e);
    const m = 2_000_000;
    time(100_000, () => ev.evaluateEncoded(rec));
    const ms = time(m, () => ev.evaluateEncoded(rec));
    const k = 20_000;
    time(1000, () => ev.evaluate(e));
    const ms2 = time(k, () => ev.evaluate(e));
    const rate = m / (ms / 1000);
    const rate2 = k / (ms2 / 1000);
    console.log(
      `${name}: evaluateEncoded ${(rate / 1e6).toFixed(2)} M events/s (${((ms * 1e6) / m).toFixed(0)} ns/event); evaluate(EvalEvent) ${(rate2 / 1e3).toFixed(0)} k events/s; ratio ${(rate / rate2).toFixed(0)}x`,
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
