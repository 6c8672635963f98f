// Shared helpers of the core test suites (test/core-*.test.ts, golden, abi).
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import path from 'node:path';
import YAML from 'yaml';
import { compile, Evaluator } from '../../src/core/index.js';
import type { CompileOptions, Diagnostic, EvalArg, EvalEvent, HookSpec, PodInfo } from '../../src/core/types.js';
import { ROOT } from './common.js';

export { ROOT };
export const SEEDS = path.resolve(ROOT, '../shared/seeds/policies');
/** the seed policies sit beside the clone in CI (../shared); elsewhere they may be absent */
export const HAVE_SEEDS = existsSync(SEEDS);

/** a test that needs the seed policies: skipped, with the reason printed, when they are absent */
export function seedTest(name: string, fn: () => void | Promise<void>): void {
  if (HAVE_SEEDS) test(name, fn);
  else test(name, () => console.log(`  skipped "${name}": ${SEEDS} is absent`));
}

export const EGRESS_SUBST: Record<string, string> = {
  '${PODCIDR}': '10.44.0.0/14',
  '${SERVICECIDR}': '10.48.0.0/20',
};

/** YAML text -> plain documents, as the policy loader parses them */
export function parseDocs(text: string): unknown[] {
  return YAML.parseAllDocuments(text, { intAsBigInt: true }).map((d) => d.toJS({}));
}

export function loadDocs(file: string, subst: Record<string, string> = {}): unknown[] {
  let t = readFileSync(file, 'utf8');
  for (const [k, v] of Object.entries(subst)) t = t.split(k).join(v);
  return parseDocs(t);
}

export const OPTS: CompileOptions = { defaultNamespace: 'default' };

/** a TracingPolicy document around a spec */
export function policy(spec: Record<string, unknown>, meta: Record<string, unknown> = {}, kind = 'TracingPolicy'): Record<string, unknown> {
  return { apiVersion: 'cilium.io/v1alpha1', kind, metadata: { name: 'p', ...meta }, spec };
}

/** a policy document as YAML text; namespaced (TracingPolicyNamespaced) when a namespace is given */
export function policyYaml(name: string, spec: Record<string, unknown>, namespace?: string): string {
  const meta = namespace ? { name, namespace } : { name };
  return YAML.stringify(policy(spec, meta, namespace ? 'TracingPolicyNamespaced' : 'TracingPolicy'));
}

/** Tetragon's list-syscalls example: one kprobe on a list of syscalls (dup, dup2 with an arch
 * prefix), killing a call on fd -7 */
export function listDupsPolicy(namespace?: string): string {
  return policyYaml(
    'list-dups',
    {
      lists: [{ name: 'dups', type: 'syscalls', values: ['sys_dup', '__x64_sys_dup2'] }],
      kprobes: [
        {
          call: 'list:dups',
          args: [{ index: 0, type: 'int' }],
          selectors: [{ matchArgs: [{ index: 0, operator: 'Equal', values: ['-7'] }], matchActions: [{ action: 'Sigkill' }] }],
        },
      ],
    },
    namespace,
  );
}

/** Tetragon's list-syscalls-tracepoint example: raw_syscalls/sys_enter whose syscall id is in a list */
export function listIdsPolicy(name: string, values: string[], namespace?: string): string {
  return policyYaml(
    name,
    {
      lists: [{ name: 'ids', type: 'syscalls', values }],
      tracepoints: [
        {
          subsystem: 'raw_syscalls',
          event: 'sys_enter',
          args: [{ index: 4, type: 'uint64' }],
          selectors: [{ matchArgs: [{ index: 0, operator: 'InMap', values: ['list:ids'] }] }],
        },
      ],
    },
    namespace,
  );
}

/** a one-hook policy: security_file_permission(file, int) with these selectors */
export function filePolicy(selectors: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return policy({
    kprobes: [
      {
        call: 'security_file_permission',
        syscall: false,
        args: [
          { index: 0n, type: 'file' },
          { index: 1n, type: 'int' },
        ],
        selectors,
        ...extra,
      },
    ],
  });
}

export function sockPolicy(selectors: unknown[]): Record<string, unknown> {
  return policy({ kprobes: [{ call: 'tcp_connect', args: [{ index: 0n, type: 'sock' }], selectors }] });
}

export function mmapPolicy(selectors: unknown[]): Record<string, unknown> {
  return policy({
    kprobes: [
      {
        call: 'security_mmap_file',
        args: [
          { index: 0n, type: 'file' },
          { index: 1n, type: 'uint32' },
          { index: 2n, type: 'uint32' },
        ],
        selectors,
      },
    ],
  });
}

/** compiles documents; throws with the diagnostics when there is no image */
export function image(docs: unknown[], opts: CompileOptions = OPTS): Uint8Array {
  const r = compile(docs, opts);
  if (!r.image) throw new Error('compile failed: ' + JSON.stringify(r.diagnostics, null, 1));
  return r.image;
}

export function errors(docs: unknown[], opts: CompileOptions = OPTS): Diagnostic[] {
  return compile(docs, opts).diagnostics.filter((d) => d.severity === 'error');
}

export function evaluator(docs: unknown[], opts: CompileOptions = OPTS): Evaluator {
  return new Evaluator(image(docs, opts));
}

export const str = (value: string): EvalArg => ({ kind: 'str', value });
export const int = (value: bigint | number): EvalArg => ({ kind: 'int', value: BigInt(value) });
export const sock = (o: Partial<{ family: number; protocol: number; state: number; saddr: string; daddr: string; sport: number; dport: number }>): EvalArg => ({
  kind: 'sock',
  family: 2,
  protocol: 6,
  state: 2,
  saddr: '10.0.0.1',
  daddr: '10.0.0.2',
  sport: 40000,
  dport: 443,
  ...o,
});

export const POD: PodInfo = { namespace: 'default', name: 'web-1', labels: { app: 'web' }, container: { name: 'nginx', repo: 'docker.io/library/nginx' } };

export function event(hook: string, args: EvalArg[], extra: Partial<EvalEvent> = {}): EvalEvent {
  return { kind: 'kprobe', hook, timeNs: 1000n, pid: 100, tid: 101, binary: '/usr/bin/cat', pod: null, args, ...extra };
}

/** verdict kind of one event */
export function verdictOf(ev: Evaluator, e: EvalEvent): string {
  return ev.evaluate(e).verdict;
}

/** A tracepoint hook as the image describes it, for the loader's conf writers (tracefs.ts): no selectors, no actions. */
export function tracepointHook(subsystem: string, event: string, args: { index: number; type: number }[], spec?: HookSpec['spec']): HookSpec {
  return {
    name: `${subsystem}/${event}`,
    kind: 'tracepoint',
    hookId: 100,
    slot: 0,
    selectors: 0,
    returnFilters: false,
    actions: [],
    args,
    tracepoint: { subsystem, event },
    ...(spec ? { spec } : {}),
  };
}
