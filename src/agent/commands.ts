// The client side of the agent commands (`talon tracingpolicy`, `pod`, `exec`,
// `getevents`, `status`): talk to the agent API and print. Argument parsing is
// in src/cli/agent-commands.ts.
import { fstatSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { ApiClient, RemoteError, type ConnectOptions } from '../api/client.js';
import { compileFilterSet, normaliseEventType, type EventFilter, type FilterSet } from '../events/filter.js';
import { createColorer, type ColorMode } from '../events/color.js';
import { CompactRenderer } from '../events/compact.js';
import { lineBatches, openInput } from '../events/lines.js';
import type { TetragonEvent } from '../events/tetragon.js';
import { execInCgroup } from '../pods/exec.js';
import { parsePodRef, type Pod } from '../pods/pod.js';
import type { PolicyStatus } from './policies.js';

export interface Io {
  stdout: Writable;
  stderr: Writable;
}

export const stdio: Io = { stdout: process.stdout, stderr: process.stderr };

/** Exit codes shared with the rest of the CLI (src/cli/errors.ts). */
export const EXIT_OK = 0;
export const EXIT_FAIL = 1;

/** Connects, runs `fn`, closes; connection and remote errors are printed and give exit 1. */
async function withClient(conn: ConnectOptions, io: Io, what: string, fn: (c: ApiClient) => Promise<number>): Promise<number> {
  let client: ApiClient;
  try {
    client = await ApiClient.connect(conn);
  } catch (e) {
    io.stderr.write(`talon ${what}: ${(e as Error).message}\n`);
    return EXIT_FAIL;
  }
  try {
    return await fn(client);
  } catch (e) {
    if (e instanceof RemoteError) {
      for (const d of e.diagnostics) io.stderr.write(d + '\n');
      io.stderr.write(`talon ${what}: ${e.message}\n`);
      return EXIT_FAIL;
    }
    throw e;
  } finally {
    client.close();
  }
}

// ---- tracingpolicy ------------------------------------------------------

export interface TpAddFlags {
  file: string;
  namespace: string;
  mode?: 'enforce' | 'monitor';
}

export async function tpAdd(conn: ConnectOptions, f: TpAddFlags, io: Io = stdio): Promise<number> {
  let yaml: string;
  try {
    yaml = f.file === '-' ? await readStdin() : await readFile(f.file, 'utf8');
  } catch (e) {
    io.stderr.write(`talon tracingpolicy add: cannot read ${f.file}: ${(e as Error).message}\n`);
    return EXIT_FAIL;
  }
  return withClient(conn, io, 'tracingpolicy add', async (c) => {
    const r = await c.call<{ policies: PolicyStatus[]; warnings: string[] }>('policy.add', {
      yaml,
      file: f.file,
      namespace: f.namespace,
      ...(f.mode ? { mode: f.mode } : {}),
    });
    for (const w of r.warnings) io.stderr.write(w + '\n');
    for (const p of r.policies) io.stdout.write(`tracing policy ${qualified(p)} added (${p.mode}${p.sensors.length ? `, ${p.sensors.join(',')}` : ''})\n`);
    return EXIT_OK;
  });
}

export async function tpDelete(conn: ConnectOptions, name: string, namespace: string | undefined, io: Io = stdio): Promise<number> {
  return withClient(conn, io, 'tracingpolicy delete', async (c) => {
    const r = await c.call<{ policy: PolicyStatus }>('policy.delete', { name, ...(namespace !== undefined ? { namespace } : {}) });
    io.stdout.write(`tracing policy ${qualified(r.policy)} deleted\n`);
    return EXIT_OK;
  });
}

/** `tp enable` / `tp disable`. */
export async function tpEnable(conn: ConnectOptions, name: string, enable: boolean, namespace: string | undefined, io: Io = stdio): Promise<number> {
  const what = enable ? 'enable' : 'disable';
  return withClient(conn, io, `tracingpolicy ${what}`, async (c) => {
    const r = await c.call<{ policy: PolicyStatus }>(`policy.${what}`, { name, ...(namespace !== undefined ? { namespace } : {}) });
    io.stdout.write(`tracing policy ${qualified(r.policy)} ${what}d\n`);
    return EXIT_OK;
  });
}

export async function tpSetMode(conn: ConnectOptions, name: string, mode: string, namespace: string | undefined, io: Io = stdio): Promise<number> {
  return withClient(conn, io, 'tracingpolicy set-mode', async (c) => {
    const r = await c.call<{ policy: PolicyStatus }>('policy.setMode', { name, mode, ...(namespace !== undefined ? { namespace } : {}) });
    io.stdout.write(
      `tracing policy ${qualified(r.policy)} is now in ${r.policy.mode} mode${r.policy.state === 'enabled' ? '' : ` (it is ${r.policy.state}; the mode applies when it is enabled)`}\n`,
    );
    return EXIT_OK;
  });
}

/** Tetragon's `tetra tp list` columns, in its order. */
export const TP_LIST_COLUMNS = ['ID', 'NAME', 'DOMAIN', 'STATE', 'FILTERID', 'NAMESPACE', 'SENSORS', 'KERNELMEMORY', 'MODE', 'NPOST', 'NENFORCE', 'NMONITOR'];

/** The `tp list` table (kubectl-like: columns three spaces apart). */
export function formatPolicyTable(policies: PolicyStatus[]): string {
  const rows = [TP_LIST_COLUMNS];
  for (const p of policies) {
    rows.push([
      String(p.id),
      p.name,
      p.domain,
      p.state,
      String(p.filterId),
      p.namespace ?? '(global)',
      p.sensors.join(','),
      humanizeBytes(p.kernelMemory),
      p.mode,
      String(p.counters.post),
      String(p.counters.enforce),
      String(p.counters.monitor),
    ]);
  }
  return table(rows);
}

export async function tpList(conn: ConnectOptions, output: 'text' | 'json', io: Io = stdio): Promise<number> {
  return withClient(conn, io, 'tracingpolicy list', async (c) => {
    const r = await c.call<{ policies: PolicyStatus[] }>('policy.list');
    if (output === 'json') {
      io.stdout.write(JSON.stringify(r, null, 2) + '\n');
      return EXIT_OK;
    }
    io.stdout.write(formatPolicyTable(r.policies));
    return EXIT_OK;
  });
}

/** Bytes as Tetragon's tetra prints them: SI units, two decimals ("1.88 MB", "512 B"). */
export function humanizeBytes(b: number): string {
  const unit = 1000;
  if (b < unit) return `${b} B`;
  let div = unit;
  let exp = 0;
  for (let n = Math.floor(b / unit); n >= unit; n = Math.floor(n / unit)) {
    div *= unit;
    exp++;
  }
  return `${(b / div).toFixed(2)} ${'kMGTPE'[exp]}B`;
}

function qualified(p: { name: string; namespace: string | null }): string {
  return p.namespace ? `${p.namespace}/${p.name}` : p.name;
}

export function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map(
      (r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i] + 3)))
          .join('')
          .trimEnd() + '\n',
    )
    .join('');
}

// ---- pods ----------------------------------------------------------------

export interface PodAddFlags {
  ref: string;
  namespace: string;
  labels: Record<string, string>;
  container?: string;
  image?: string;
}

export async function podAdd(conn: ConnectOptions, f: PodAddFlags, io: Io = stdio): Promise<number> {
  const { namespace, name } = parsePodRef(f.ref, f.namespace);
  return withClient(conn, io, 'pod add', async (c) => {
    const r = await c.call<{ pod: Pod }>('pod.add', {
      namespace,
      name,
      labels: f.labels,
      container: { ...(f.container ? { name: f.container } : {}), ...(f.image ? { image: f.image } : {}) },
    });
    io.stdout.write(`pod ${r.pod.namespace}/${r.pod.name} added (cgroup ${r.pod.cgroupPath}, id ${r.pod.cgroupId})\n`);
    return EXIT_OK;
  });
}

export async function podLabel(conn: ConnectOptions, ref: string, namespace: string, changes: string[], io: Io = stdio): Promise<number> {
  const pod = parsePodRef(ref, namespace);
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const ch of changes) {
    if (ch.endsWith('-') && !ch.includes('=')) remove.push(ch.slice(0, -1));
    else {
      const eq = ch.indexOf('=');
      if (eq <= 0) {
        io.stderr.write(`talon pod label: invalid label change ${JSON.stringify(ch)}: expected key=value or key-\n`);
        return EXIT_FAIL;
      }
      set[ch.slice(0, eq)] = ch.slice(eq + 1);
    }
  }
  return withClient(conn, io, 'pod label', async (c) => {
    const r = await c.call<{ pod: Pod }>('pod.label', { ...pod, set, remove });
    io.stdout.write(`pod ${r.pod.namespace}/${r.pod.name} labels: ${formatLabels(r.pod.labels)}\n`);
    return EXIT_OK;
  });
}

export async function podDelete(conn: ConnectOptions, ref: string, namespace: string, io: Io = stdio): Promise<number> {
  const pod = parsePodRef(ref, namespace);
  return withClient(conn, io, 'pod delete', async (c) => {
    await c.call('pod.delete', pod);
    io.stdout.write(`pod ${pod.namespace}/${pod.name} deleted\n`);
    return EXIT_OK;
  });
}

export async function podList(conn: ConnectOptions, output: 'text' | 'json', io: Io = stdio): Promise<number> {
  return withClient(conn, io, 'pod list', async (c) => {
    const r = await c.call<{ pods: Pod[] }>('pod.list');
    if (output === 'json') {
      io.stdout.write(JSON.stringify(r, null, 2) + '\n');
      return EXIT_OK;
    }
    const rows = [['NAMESPACE', 'NAME', 'LABELS', 'CONTAINER', 'IMAGE', 'CGROUPID']];
    for (const p of r.pods) rows.push([p.namespace, p.name, formatLabels(p.labels) || '<none>', p.container.name, p.container.image, p.cgroupId]);
    io.stdout.write(table(rows));
    return EXIT_OK;
  });
}

function formatLabels(l: Record<string, string>): string {
  return Object.entries(l)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

// ---- exec ----------------------------------------------------------------

/**
 * `talon exec`: asks the agent where the pod's cgroup is and runs the command
 * there with this terminal, like `kubectl exec`. Resolves with the command's
 * exit status (128 + signal when it was killed).
 */
export async function execCommand(conn: ConnectOptions, ref: string, namespace: string, argv: string[], io: Io = stdio): Promise<number> {
  if (argv.length === 0) {
    io.stderr.write('talon exec: no command given (talon exec <pod> -- <command> [args...])\n');
    return 2;
  }
  const { namespace: ns, name } = parsePodRef(ref, namespace);
  let pod: Pod | null = null;
  const rc = await withClient(conn, io, 'exec', async (c) => {
    pod = (await c.call<{ pod: Pod }>('pod.get', { namespace: ns, name })).pod;
    return EXIT_OK;
  });
  if (rc !== EXIT_OK || pod === null) return rc;
  // the terminal's ^C goes to the command; talon waits for it like kubectl does
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  process.on('SIGQUIT', ignore);
  try {
    const status = await execInCgroup((pod as Pod).cgroupPath, argv);
    if (status !== 0) io.stderr.write(`command terminated with exit code ${status}\n`);
    return status;
  } catch (e) {
    io.stderr.write(`talon exec: ${(e as Error).message}\n`);
    return 126;
  } finally {
    process.off('SIGINT', ignore);
    process.off('SIGQUIT', ignore);
  }
}

// ---- getevents -------------------------------------------------------------

export interface GetEventsFlags {
  output: 'json' | 'compact';
  filter: EventFilter;
  color: ColorMode;
  timestamps: boolean;
  /** read JSON events from this file ("-" stdin) instead of the agent; absent: stdin when it is piped (see stdinIsEvents) */
  input?: string;
  /** stop after this many events */
  count?: number;
}

/**
 * Is stdin a stream of recorded events? Like `tetra getevents`, which filters
 * piped JSON offline: yes when stdin is a pipe (FIFO) or a regular file
 * (`< events.jsonl`); no for a terminal, /dev/null (character devices), a
 * socket (what some supervisors give), or no stdin at all.
 */
export function stdinIsEvents(fd = 0): boolean {
  try {
    const st = fstatSync(fd);
    return st.isFIFO() || st.isFile();
  } catch {
    return false;
  }
}

/** Builds the one allow filter of getevents from its flags (throws on a bad event type or regex). */
export function filterSetOf(f: EventFilter): FilterSet {
  const allow: EventFilter = {};
  for (const [k, v] of Object.entries(f) as [keyof EventFilter, unknown[] | undefined][]) {
    if (Array.isArray(v) && v.length) (allow as Record<string, unknown>)[k] = v;
  }
  if (allow.event_set) allow.event_set = allow.event_set.map(normaliseEventType);
  compileFilterSet({ allow: [allow] }); // validate here, with a clear message
  return Object.keys(allow).length ? { allow: [allow] } : {};
}

export async function getEvents(conn: ConnectOptions, f: GetEventsFlags, io: Io = stdio, signal?: AbortSignal): Promise<number> {
  let fs: FilterSet;
  try {
    fs = filterSetOf(f.filter);
  } catch (e) {
    io.stderr.write(`talon getevents: ${(e as Error).message}\n`);
    return 2;
  }
  const renderer = new CompactRenderer({ colorer: createColorer(f.color, io.stdout as unknown as { isTTY?: boolean }), timestamps: f.timestamps });
  let n = 0;
  let done: (code: number) => void = () => undefined;
  const finished = new Promise<number>((r) => (done = r));
  const emit = (ev: Record<string, unknown>): void => {
    if (f.count !== undefined && n >= f.count) return;
    n++;
    if (f.output === 'json') io.stdout.write(JSON.stringify(ev) + '\n');
    else {
      const line = renderer.render(ev as TetragonEvent);
      if (line !== null) io.stdout.write(line + '\n');
    }
    if (f.count !== undefined && n >= f.count) done(EXIT_OK);
  };

  const input = f.input ?? (stdinIsEvents() ? '-' : undefined);
  if (input !== undefined) {
    // offline: filter a recorded JSON stream
    const pass = compileFilterSet(fs);
    for await (const batch of lineBatches(openInput(input))) {
      for (const line of batch.lines) {
        if (line.trim() === '') continue;
        let ev: Record<string, unknown>;
        try {
          ev = JSON.parse(line);
        } catch (e) {
          io.stderr.write(
            `talon getevents: ${input === '-' ? 'stdin' : input}:${batch.first + batch.lines.indexOf(line) + 1}: invalid JSON: ${(e as Error).message}\n`,
          );
          continue;
        }
        if (pass(ev)) emit(ev);
        if (f.count !== undefined && n >= f.count) return EXIT_OK;
      }
    }
    return EXIT_OK;
  }

  return withClient(conn, io, 'getevents', async (c) => {
    c.onClose((err) => done(err ? EXIT_FAIL : EXIT_OK));
    const stop = () => done(EXIT_OK);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    signal?.addEventListener('abort', stop);
    try {
      await c.subscribe(fs as Record<string, unknown>, emit);
      const code = await finished;
      return code;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      signal?.removeEventListener('abort', stop);
    }
  });
}

// ---- status ----------------------------------------------------------------

export async function status(conn: ConnectOptions, output: 'text' | 'json', io: Io = stdio): Promise<number> {
  return withClient(conn, io, 'status', async (c) => {
    const s = await c.call<Record<string, unknown>>('status');
    if (output === 'json') io.stdout.write(JSON.stringify(s, null, 2) + '\n');
    else io.stdout.write(formatStatus(s));
    return EXIT_OK;
  });
}

export function formatStatus(s: Record<string, unknown>): string {
  const d = (s.differential ?? {}) as { checked?: number; agreed?: number; disagreed?: number; samples?: Record<string, unknown>[] };
  const e = (s.events ?? {}) as Record<string, number>;
  const st = (s.policyStates ?? {}) as Record<string, number>;
  const ex = s.export as { file: string; lines: number; rotations: number; error: string | null } | null | undefined;
  const lines = [
    'Health Status: running',
    `  node: ${s.node}, pid ${s.pid}, up ${s.uptime}s, version ${s.version ?? '?'}, API ${s.serverAddress}`,
    `  policies: ${s.policies} (${['enabled', 'disabled', 'load_error', 'error'].map((k) => `${st[k] ?? 0} ${k}`).join(', ')})`,
    `  pods: ${s.pods}, processes cached: ${s.processes ?? 0}, event subscribers: ${e.subscribers ?? 0}`,
    `  events: ${e.records ?? 0} kernel records, ${e.emitted ?? 0} events; lost records: ${e.lost ?? 0} (ring buffer full), ${e.dropped ?? 0} events dropped for slow clients`,
    `  differential check: ${d.checked ?? 0} kernel verdicts checked, ${d.agreed ?? 0} agreed, ${d.disagreed ?? 0} disagreements with the Wasm evaluator`,
  ];
  for (const x of (d.samples ?? []).slice(-3)) {
    const k = x.kernel as { selector: number | null; actions: string[] };
    const v = x.evaluator as { selector: number; actions: string[] } | null;
    lines.push(
      `    ${x.time} ${x.policy} ${x.hook} pid ${x.pid} ${x.binary}: kernel selector ${k.selector ?? '-'} [${k.actions.join(',')}], evaluator ${v ? `selector ${v.selector} [${v.actions.join(',')}]` : 'no match'}`,
    );
  }
  if (ex) lines.push(`  export: ${ex.file} (${ex.lines} events, ${ex.rotations} rotations${ex.error ? `, last error: ${ex.error}` : ''})`);
  if (s.metrics) lines.push(`  metrics: http://${s.metrics}/metrics`);
  return lines.join('\n') + '\n';
}

// ---- probe -------------------------------------------------------------------

/** `talon probe`: kernel features and the implementation each hook gets here. No agent needed; root is. */
export async function probe(output: 'text' | 'json', io: Io = stdio): Promise<number> {
  if (process.platform !== 'linux') {
    io.stderr.write(`talon probe: needs Linux (this is ${process.platform})\n`);
    return EXIT_FAIL;
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    io.stderr.write('talon probe: needs root: it probes by loading small BPF programs (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN); run it with sudo\n');
    return EXIT_FAIL;
  }
  const { loadShim, BPF_DIR } = await import('../kernel/shim.js');
  const { probeFeatures } = await import('../kernel/features.js');
  const { probeReport, formatProbeReport } = await import('../kernel/probe.js');
  let shim;
  try {
    shim = loadShim();
  } catch (e) {
    io.stderr.write(`talon probe: ${(e as Error).message}\n`);
    return EXIT_FAIL;
  }
  // as the agent does: a fresh machine may lack these mounts, and the answers depend on them
  for (const [fs, dir] of [
    ['tracefs', '/sys/kernel/tracing'],
    ['securityfs', '/sys/kernel/security'],
  ] as const) {
    try {
      shim.ensureMount(fs, dir);
    } catch {
      /* the probe says what is missing */
    }
  }
  const report = probeReport(probeFeatures(shim), BPF_DIR());
  io.stdout.write(output === 'json' ? JSON.stringify(report, null, 2) + '\n' : formatProbeReport(report));
  return EXIT_OK;
}

// ---- version -----------------------------------------------------------------

/** `talon version`: the client's version, and the agent's when it answers. */
export async function version(conn: ConnectOptions, clientVersion: string, io: Io = stdio): Promise<number> {
  io.stdout.write(`CLI version: ${clientVersion}\n`);
  let client: ApiClient;
  try {
    client = await ApiClient.connect({ ...conn, timeoutMs: conn.timeoutMs ?? 3000 });
  } catch (e) {
    io.stderr.write(`talon version: no agent to ask for its version: ${(e as Error).message}\n`);
    return EXIT_OK;
  }
  try {
    const s = await client.call<{ version?: string; protocol?: number }>('status');
    io.stdout.write(`Server version: ${s.version ?? 'unknown'} (API protocol ${s.protocol ?? '?'})\n`);
    return EXIT_OK;
  } catch (e) {
    io.stderr.write(`talon version: the agent did not say its version: ${(e as Error).message}\n`);
    return EXIT_OK;
  } finally {
    client.close();
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const ch of process.stdin) chunks.push(ch as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
