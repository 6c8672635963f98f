// The client side of the agent commands (`talon tracingpolicy`, `pod`, `exec`,
// `getevents`, `status`): talk to the agent API and print. Argument parsing is
// in src/cli/agent-commands.ts.
import { createHash } from 'node:crypto';
import { fstatSync, readFileSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { describeFsError } from '../policy/fs-error.js';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseServerAddress } from '../api/address.js';
import type { Writable } from 'node:stream';
// only what the one-shot commands need is loaded up front (start-up time: `talon tp list`);
// getevents loads the ws client and the event modules, exec the cgroup runner
import { callAgent, RemoteError, type ConnectOptions } from '../api/call.js';
import type { ApiClient } from '../api/client.js';
import type { EventFilter, FilterCompilers, FilterSet } from '../events/filter.js';
import type { ColorMode } from '../events/color.js';
import type { TetragonEvent } from '../events/tetragon.js';
import { parsePodRef, type Pod } from '../pods/pod.js';
import type { PolicyStatus } from './policies.js';
import { tetragonDomain, tracingPolicyStatus, type HookInfo } from '../api/tetragon-status.js';

export interface Io {
  stdout: Writable;
  stderr: Writable;
}

export const stdio: Io = { stdout: process.stdout, stderr: process.stderr };

/** Exit codes shared with the rest of the CLI (src/cli/errors.ts). */
export const EXIT_OK = 0;
export const EXIT_FAIL = 1;

/** What a one-shot command talks to: calls, each one HTTP request (src/api/call.ts). */
interface Caller {
  call<T = unknown>(method: string, params?: Record<string, unknown>): Promise<T>;
}

/** Runs `fn` with a caller; connection and remote errors are printed and give exit 1. */
async function withClient(conn: ConnectOptions, io: Io, what: string, fn: (c: Caller) => Promise<number>): Promise<number> {
  const c: Caller = { call: (method, params) => callAgent(conn, method, params) };
  try {
    return await fn(c);
  } catch (e) {
    if (e instanceof RemoteError) {
      for (const d of e.diagnostics) io.stderr.write(d + '\n');
      io.stderr.write(`talon ${what}: ${e.message}\n`);
      return EXIT_FAIL;
    }
    if (/^(connect to agent at |agent at )/.test((e as Error).message)) {
      io.stderr.write(`talon ${what}: ${(e as Error).message}\n`);
      return EXIT_FAIL;
    }
    throw e;
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
    // what the load did differently from what the policy asks (a skipped hook, no return value)
    for (const p of r.policies) for (const w of p.warnings ?? []) io.stderr.write(`warning: ${qualified(p)}: ${w}\n`);
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
      tetragonDomain(p.domain),
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
    const r = await c.call<{ policies: PolicyStatus[]; hooks?: Record<string, HookInfo[]>; events_lost?: Record<string, number> }>('policy.list');
    if (output === 'json') {
      const policies = await Promise.all(r.policies.map((p) => tetraPolicyJson(p, r.hooks?.[p.id] ?? [])));
      // talon's own: events lost by where (ring buffer, agent queue, subscribers)
      io.stdout.write(JSON.stringify({ policies, ...(r.events_lost ? { events_lost: r.events_lost } : {}) }, null, 2) + '\n');
      return EXIT_OK;
    }
    io.stdout.write(formatPolicyTable(r.policies));
    for (const p of r.policies) for (const w of p.warnings ?? []) io.stdout.write(`warning: ${p.namespace ? `${p.namespace}/` : ''}${p.name}: ${w}\n`);
    return EXIT_OK;
  });
}

/** talon's fields that Tetragon's TracingPolicyStatus has under its own name (and type) */
const TETRAGON_NAMED = new Set(['id', 'name', 'namespace', 'domain', 'state', 'error', 'mode', 'sensors']);

/**
 * One policy of `tp list -o json` as tetra prints it: Tetragon's TracingPolicyStatus in protojson
 * (snake_case, enum names, int64 as strings, defaults left out; the same mapping as the gRPC
 * answer, through talon's copy of Tetragon's .proto), followed by talon's own fields that Tetragon
 * has no name for (counters per selector, pods, programs, verifier log, ...).
 */
export async function tetraPolicyJson(p: PolicyStatus, hooks: HookInfo[]): Promise<Record<string, unknown>> {
  const { fromProtoJson, toProtoJson } = await import('../api/grpc-json.js');
  const t = toProtoJson('TracingPolicyStatus', fromProtoJson('TracingPolicyStatus', tracingPolicyStatus(p, hooks)));
  for (const [k, v] of Object.entries(p)) if (!TETRAGON_NAMED.has(k) && !(k in t)) t[k] = v;
  return t;
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
export async function execCommand(conn: ConnectOptions, ref: string, namespace: string, argv: string[], io: Io = stdio, container?: string): Promise<number> {
  if (argv.length === 0) {
    io.stderr.write('talon exec: no command given (talon exec <pod> -- <command> [args...])\n');
    return 2;
  }
  const { namespace: ns, name } = parsePodRef(ref, namespace);
  let pod: Pod | null = null;
  const hide: string[] = [];
  const rc = await withClient(conn, io, 'exec', async (c) => {
    pod = (await c.call<{ pod: Pod }>('pod.get', { namespace: ns, name })).pod;
    // the command must not reach the agent (its socket, its token) from inside the pod
    const s = await c.call<{ serverAddress?: string; grpcServerAddress?: string | null; stateDir?: string }>('status');
    for (const addr of [s.serverAddress, s.grpcServerAddress]) {
      const a = addr ? parseServerAddress(addr) : null;
      if (a?.kind === 'unix') hide.push(a.path);
    }
    if (s.stateDir) hide.push(resolve(s.stateDir));
    // the pins of its programs: a pod's root could unlink them (then a crash of the agent would end enforcement)
    hide.push('/sys/fs/bpf');
    return EXIT_OK;
  });
  if (rc !== EXIT_OK || pod === null) return rc;
  const have = (pod as Pod).container.name;
  if (container !== undefined && container !== have) {
    io.stderr.write(`talon exec: pod ${ns}/${name} has no container "${container}" (its container is "${have}")\n`);
    return EXIT_FAIL;
  }
  // the terminal's ^C goes to the command; talon waits for it like kubectl does
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  process.on('SIGQUIT', ignore);
  try {
    const { execInCgroup } = await import('../pods/exec.js');
    const status = await execInCgroup((pod as Pod).cgroupPath, argv, { hide });
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
  /** tetra's -f/--include-fields and -F/--exclude-fields: paths inside the event body (process.binary) */
  fields?: { include: string[]; exclude: string[] };
  /** when the agent goes away, wait for it and subscribe again */
  reconnect?: boolean;
  /** read from Tetragon's gRPC API instead of the ws API */
  grpc?: boolean;
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

/** The CEL compiler, loaded only when a filter has an expression (protobufjs costs start-up time). */
async function celCompilers(f: EventFilter): Promise<FilterCompilers> {
  if (!f.cel_expression?.length) return {};
  const { compileCel } = await import('../api/cel.js');
  return { cel: (x) => compileCel(x) };
}

/** Builds the one allow filter of getevents from its flags (throws on a bad event type or regex). */
export async function filterSetOf(f: EventFilter): Promise<FilterSet> {
  const { compileFilterSet, normaliseEventType } = await import('../events/filter.js');
  const allow: EventFilter = {};
  for (const [k, v] of Object.entries(f) as [keyof EventFilter, unknown[] | undefined][]) {
    if (Array.isArray(v) && v.length) (allow as Record<string, unknown>)[k] = v;
  }
  if (allow.event_set) allow.event_set = allow.event_set.map(normaliseEventType);
  compileFilterSet({ allow: [allow] }, await celCompilers(allow)); // validate here, with a clear message
  return Object.keys(allow).length ? { allow: [allow] } : {};
}

/** tetra's field flags as Tetragon's FieldFilters (protojson), applied to every event kind. */
export function fieldFiltersOf(f: GetEventsFlags['fields']): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  if (f?.include.length) out.push({ fields: f.include.join(','), action: 'INCLUDE' });
  if (f?.exclude.length) out.push({ fields: f.exclude.join(','), action: 'EXCLUDE' });
  return out;
}

const RECONNECT_MS = 1000;

export async function getEvents(conn: ConnectOptions, f: GetEventsFlags, io: Io = stdio, signal?: AbortSignal): Promise<number> {
  const { compileFilterSet } = await import('../events/filter.js');
  const { createColorer } = await import('../events/color.js');
  const { CompactRenderer } = await import('../events/compact.js');
  const { lineBatches, openInput } = await import('../events/lines.js');
  let fs: FilterSet;
  const fieldFilters = fieldFiltersOf(f.fields);
  let project: (ev: Record<string, unknown>) => Record<string, unknown> = (ev) => ev;
  try {
    fs = await filterSetOf(f.filter);
    if (fieldFilters.length) {
      const { fieldFiltersOf: compileFields } = await import('../api/grpc-events.js');
      project = compileFields({ field_filters: fieldFilters });
    }
  } catch (e) {
    io.stderr.write(`talon getevents: ${(e as Error).message}\n`);
    return 2;
  }
  const renderer = new CompactRenderer({ colorer: createColorer(f.color, io.stdout as unknown as { isTTY?: boolean }), timestamps: f.timestamps });
  let n = 0;
  const full = () => f.count !== undefined && n >= f.count;
  /** one event as it arrives (already projected by the field filters) */
  // live, the lines of a frame of events go out in one write (flushed when the event loop turns):
  // a write per event cost more than the event; offline they are written as they come
  let pending: string[] = [];
  let pendingBytes = 0;
  let flushing: NodeJS.Immediate | null = null;
  const flushOut = (): void => {
    if (flushing) clearImmediate(flushing);
    flushing = null;
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    pendingBytes = 0;
    io.stdout.write(text);
  };
  let out = (text: string): void => void io.stdout.write(text);
  const buffered = (text: string): void => {
    pending.push(text);
    pendingBytes += text.length;
    if (pendingBytes >= 1 << 16) flushOut();
    else flushing ??= setImmediate(flushOut);
  };
  const emit = (ev: Record<string, unknown>): void => {
    if (full()) return;
    n++;
    if (f.output === 'json') out(JSON.stringify(ev) + '\n');
    else {
      const line = renderer.render(ev as TetragonEvent);
      if (line !== null) out(line + '\n');
    }
  };

  const input = f.input ?? (stdinIsEvents() ? '-' : undefined);
  if (input !== undefined) {
    // offline: filter a recorded JSON stream
    const pass = compileFilterSet(fs, await celCompilers(fs.allow?.[0] ?? {}));
    const stream = openInput(input);
    if (input !== '-') {
      try {
        await once(stream, 'open');
      } catch (e) {
        io.stderr.write(`talon getevents: ${input}: cannot read: ${describeFsError(e)}\n`);
        return EXIT_FAIL;
      }
    }
    for await (const batch of lineBatches(stream)) {
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
        if (pass(ev)) emit(project(ev));
        if (full()) return EXIT_OK;
      }
    }
    return EXIT_OK;
  }

  // live: subscribe; when the agent goes away, say so, and with --reconnect wait for it
  out = buffered;
  let stopped = false;
  let wake: () => void = () => undefined;
  let cancel: () => void = () => undefined;
  const stop = () => {
    stopped = true;
    cancel();
    wake();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  signal?.addEventListener('abort', stop);
  const subscribe = f.grpc ? subscribeGrpc : subscribeWs;
  let waiting = false;
  // losses are never silent: a line where they happen (Tetragon's rate_limit_info event in JSON),
  // and the counts at exit, the kernel ring buffer's during this subscription apart
  const ringbufLost = async (): Promise<number | null> => {
    // never wait long for it: at exit the agent may be gone
    const timeout = new Promise<null>((r) => setTimeout(() => r(null), 2_000).unref());
    const ask = callAgent<{ events?: { losses?: { ringbuf?: number } } }>({ ...conn, timeoutMs: 2_000 }, 'status').then(
      (st) => (st.events?.losses?.ringbuf ?? null) as number | null,
      () => null,
    );
    return Promise.race([ask, timeout]);
  };
  const ringStart = f.grpc ? null : await ringbufLost();
  let lost = 0;
  const onLost = (k: number): void => {
    lost += k;
    if (f.output === 'json') out(JSON.stringify({ rate_limit_info: { number_of_dropped_process_events: String(k) }, time: new Date().toISOString() }) + '\n');
    else out(`⚠️  ${k} event${k === 1 ? '' : 's'} lost: this subscriber fell behind the agent\n`);
  };
  const finish = async (code: number): Promise<number> => {
    flushOut();
    const ringEnd = ringStart !== null ? await ringbufLost() : null;
    const ring = ringStart !== null && ringEnd !== null ? ringEnd - ringStart : null;
    if (lost > 0 || (ring ?? 0) > 0) {
      io.stderr.write(
        `talon getevents: ${n} events received; lost: ${lost} by this subscriber (it fell behind), ${ring ?? '?'} by the kernel ring buffer meanwhile\n`,
      );
    }
    return code;
  };
  try {
    for (;;) {
      const r = await subscribe(
        conn,
        fs,
        fieldFilters,
        project,
        (ev) => {
          emit(ev);
          if (full()) stop();
        },
        (c) => {
          cancel = c;
          if (stopped) c();
          if (waiting) io.stderr.write('talon getevents: connected again\n');
          waiting = false;
        },
        onLost,
        // -o json without field filters: the agent's text of each event, written as it is
        f.output === 'json' && fieldFilters.length === 0
          ? (json) => {
              if (full()) return;
              n++;
              out(json + '\n');
              if (full()) stop();
            }
          : undefined,
      );
      flushOut();
      if (stopped || full()) return await finish(EXIT_OK);
      if (!f.reconnect) {
        io.stderr.write(
          r.connected
            ? `talon getevents: the agent closed the stream (it stopped or restarted): ${r.error.message}; --reconnect waits for it\n`
            : `talon getevents: ${r.error.message}\n`,
        );
        return EXIT_FAIL;
      }
      if (!waiting) io.stderr.write(`talon getevents: ${r.connected ? 'the agent closed the stream' : 'no agent'} (${r.error.message}); reconnecting\n`);
      waiting = true;
      await new Promise<void>((res) => {
        const t = setTimeout(res, RECONNECT_MS);
        wake = () => {
          clearTimeout(t);
          res();
        };
      });
      if (stopped) return await finish(EXIT_OK);
    }
  } finally {
    flushOut();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    signal?.removeEventListener('abort', stop);
  }
}

/** How one subscription ended: `connected` says whether it was established first. */
type StreamEnd = { connected: boolean; error: Error };
type Subscribe = (
  conn: ConnectOptions,
  fs: FilterSet,
  fieldFilters: Record<string, unknown>[],
  project: (ev: Record<string, unknown>) => Record<string, unknown>,
  onEvent: (ev: Record<string, unknown>) => void,
  onOpen: (cancel: () => void) => void,
  onLost: (n: number) => void,
  /** when given, events as JSON text instead of onEvent (no field filters to apply) */
  onText?: (json: string) => void,
) => Promise<StreamEnd>;

/** talon's ws API: events.subscribe with the filter; field filters applied here. */
const subscribeWs: Subscribe = async (conn, fs, _ff, project, onEvent, onOpen, onLost, onText) => {
  const { ApiClient } = await import('../api/client.js');
  let c: ApiClient;
  try {
    c = await ApiClient.connect(conn);
  } catch (e) {
    return { connected: false, error: e as Error };
  }
  const ended = new Promise<Error>((res) => c.onClose((err) => res(err ?? new Error('closed'))));
  try {
    if (onText) await c.subscribeText(fs as Record<string, unknown>, onText, onLost);
    else await c.subscribe(fs as Record<string, unknown>, (ev) => onEvent(project(ev)), onLost);
  } catch (e) {
    c.close();
    if (e instanceof RemoteError) return { connected: false, error: new Error(`the agent refused the subscription: ${e.message}`) };
    return { connected: false, error: e as Error };
  }
  onOpen(() => c.close());
  return { connected: true, error: await ended };
};

/** Tetragon's gRPC API: GetEvents with the filter as an allow list and the field filters. */
const subscribeGrpc: Subscribe = async (conn, fs, fieldFilters, _project, onEvent, onOpen) => {
  const { getEventsStream, grpcClientAddress } = await import('../api/grpc-client.js');
  let address;
  try {
    address = grpcClientAddress(conn.address);
  } catch (e) {
    return { connected: false, error: e as Error };
  }
  const token = conn.token || process.env.TALON_TOKEN;
  let connected = false;
  return new Promise<StreamEnd>((resolve) => {
    const s = getEventsStream(
      address,
      token,
      { allow_list: fs.allow ?? [], deny_list: fs.deny ?? [], field_filters: fieldFilters },
      onEvent,
      (err) => resolve({ connected, error: err ?? new Error('closed') }),
      () => {
        connected = true;
        onOpen(() => s.cancel());
      },
    );
  });
};

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

/** `talon version`: the client's version, the build (-b), and the agent's (always tried; required with -s). */
export async function version(conn: ConnectOptions, clientVersion: string, io: Io = stdio, f: { server?: boolean; build?: boolean } = {}): Promise<number> {
  io.stdout.write(`CLI version: ${clientVersion}\n`);
  if (f.build) io.stdout.write(buildInfo());
  const fail = (m: string) => {
    io.stderr.write(`talon version: ${m}\n`);
    return f.server ? EXIT_FAIL : EXIT_OK;
  };
  try {
    const s = await callAgent<{ version?: string; protocol?: number }>({ ...conn, timeoutMs: conn.timeoutMs ?? 3000 }, 'status');
    io.stdout.write(`Server version: ${s.version ?? 'unknown'} (API protocol ${s.protocol ?? '?'})\n`);
    return EXIT_OK;
  } catch (e) {
    if (e instanceof RemoteError) return fail(`the agent did not say its version: ${e.message}`);
    return fail(`no agent to ask for its version: ${(e as Error).message}`);
  }
}

/** tetra's `version --build` lines, for what talon is built of. */
function buildInfo(): string {
  const root = new URL('../../../', import.meta.url);
  const core = new URL('build/talon.wasm', root);
  let coreLine = 'not built';
  try {
    const bytes = readFileSync(core);
    coreLine = `sha256:${createHash('sha256').update(bytes).digest('hex').slice(0, 16)} (${bytes.length} bytes, built ${statSync(core).mtime.toISOString()})`;
  } catch {
    /* "not built" */
  }
  return `Build info:\n  Node.js version: ${process.version}\n  Platform: ${process.platform}/${process.arch}\n  Core: ${coreLine}\n`;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const ch of process.stdin) chunks.push(ch as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
