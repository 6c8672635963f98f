// dry-run reads Tetragon's process_usdt events: a usdts[] policy judged on
// recorded USDT events (path:provider:name, its args) as the agent judges the
// kernel's records (test/agent-uprobes.test.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, verdicts } from './helpers/cli.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'talon-usdt-dryrun-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const POLICY = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "usdt-work"
spec:
  usdts:
  - path: "/opt/app/bin"
    provider: "talon"
    name: "work"
    args: [{ index: 0, type: "int32" }, { index: 1, type: "string" }]
    selectors:
    - matchArgs: [{ index: 0, operator: "Equal", values: ["13"] }]
      matchActions: [{ action: "Sigkill" }]
    - matchArgs: [{ index: 1, operator: "Prefix", values: ["he"] }]
`;

function usdt(n: number, word: string, name = 'work') {
  return {
    process_usdt: {
      process: { pid: 10 + n, tid: 10 + n, binary: '/opt/app/bin', arguments: `${n} ${word}` },
      path: '/opt/app/bin',
      provider: 'talon',
      name,
      args: [{ int_arg: n }, { string_arg: word }],
      policy_name: 'usdt-work',
      action: 'KPROBE_ACTION_POST',
    },
    node_name: 'n1',
    time: '2026-12-02T06:00:00Z',
  };
}

test('dry-run: process_usdt events judged by the usdts policy (kill, post, none; another probe: none)', async () => {
  const pol = path.join(tmp, 'usdt.yaml');
  writeFileSync(pol, POLICY);
  const ev = path.join(tmp, 'usdt.jsonl');
  writeFileSync(ev, [usdt(13, 'x'), usdt(21, 'hello'), usdt(21, 'bye'), usdt(13, 'x', 'other')].map((e) => JSON.stringify(e)).join('\n') + '\n');
  const r = await runCli(['dry-run', '-p', pol, '-e', ev]);
  assert.is(r.code, 0, r.stderr);
  assert.equal(
    verdicts(r.stdout).map((v) => v.verdict),
    ['kill', 'post', 'none', 'none'],
  );
});

test.run();
