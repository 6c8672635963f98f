// Benchmarks of the policy core: compile latency and evaluator throughput.
// Run: npm run build && node dist/bench/core.bench.js
// Targets: compile of file_monitoring_enforce.yaml < 5 ms warm;
//          evaluateEncoded >= 1,000,000 events/s on one core.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import YAML from 'yaml';
import { compile, Evaluator } from '../src/core/index.js';
import type { EvalEvent } from '../src/core/types.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SEEDS = path.resolve(ROOT, '../shared/seeds/policies');

function docs(file: string, subst: Record<string, string> = {}): unknown[] {
  let t = readFileSync(path.join(SEEDS, file), 'utf8');
  for (const [k, v] of Object.entries(subst)) t = t.split(k).join(v);
  return YAML.parseAllDocuments(t, { intAsBigInt: true }).map((d) => d.toJS({}));
}

function time(n: number, f: () => void): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f();
  return Number(process.hrtime.bigint() - t0) / 1e6; // ms
}

const opts = { defaultNamespace: 'default' };
const fileDocs = docs('file_monitoring_enforce.yaml');
const egressDocs = docs('network_egress_cluster_enforce.yaml', { '${PODCIDR}': '10.44.0.0/14', '${SERVICECIDR}': '10.48.0.0/20' });

// ---- compile ----
const cold = time(1, () => compile(fileDocs, opts));
time(200, () => compile(fileDocs, opts));
const n = 500;
const warm = time(n, () => compile(fileDocs, opts)) / n;
const yamlText = readFileSync(path.join(SEEDS, 'file_monitoring_enforce.yaml'), 'utf8');
const parse = time(n, () => YAML.parseAllDocuments(yamlText, { intAsBigInt: true }).map((d) => d.toJS({}))) / n;
console.log(`compile file_monitoring_enforce.yaml: first ${cold.toFixed(2)} ms, warm ${warm.toFixed(3)} ms (target < 5 ms); for scale, yaml parse of the same file ${parse.toFixed(3)} ms`);

// ---- evaluate ----
const pod = { namespace: 'default', name: 'web-1', labels: { app: 'web' } };
const base = { kind: 'kprobe' as const, timeNs: 1n, pid: 42, tid: 42, binary: '/usr/bin/cat', pod };
const cases: [string, Evaluator, EvalEvent][] = [];
const fileEv = new Evaluator(compile(fileDocs, opts).image!);
const egressEv = new Evaluator(compile(egressDocs, opts).image!);
cases.push(['file: /etc/shadow read (kill, selector 0)', fileEv, { ...base, hook: 'security_file_permission', args: [{ kind: 'str', value: '/etc/shadow' }, { kind: 'int', value: 4n }] }]);
cases.push(['file: /home/u/project/src/main.c read (no match)', fileEv, { ...base, hook: 'security_file_permission', args: [{ kind: 'str', value: '/home/u/project/src/main.c' }, { kind: 'int', value: 4n }] }]);
cases.push(['file: mmap /usr/lib/x86_64-linux-gnu/libc.so.6 (no match)', fileEv, { ...base, hook: 'security_mmap_file', args: [{ kind: 'str', value: '/usr/lib/x86_64-linux-gnu/libc.so.6' }, { kind: 'int', value: 5n }, { kind: 'int', value: 2n }] }]);
const sock = (daddr: string) => ({ kind: 'sock' as const, family: 2, protocol: 6, state: 2, saddr: '10.44.0.7', daddr, sport: 40001, dport: 443 });
cases.push(['egress: tcp_connect 104.198.14.52 (kill)', egressEv, { ...base, hook: 'tcp_connect', args: [sock('104.198.14.52')] }]);
cases.push(['egress: tcp_connect 10.44.1.2 (no match)', egressEv, { ...base, hook: 'tcp_connect', args: [sock('10.44.1.2')] }]);

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
  console.log(`${name}: evaluateEncoded ${(rate / 1e6).toFixed(2)} M events/s (${(ms * 1e6 / m).toFixed(0)} ns/event); evaluate(EvalEvent) ${(rate2 / 1e3).toFixed(0)} k events/s; ratio ${(rate / rate2).toFixed(0)}x`);
}
