// Tetragon's gRPC API (tetragon.FineGuidanceSensors) with a client built in
// the test from proto/tetragon by grpc-js + proto-loader, as any Tetragon
// client would be:
//  - without a kernel: Tetragon's recorded events survive encode/decode with
//    talon's .proto unchanged; a TCP server refuses calls without the token;
//  - against a live agent in the real kernel (root): the seed workflow call by
//    call (add, list, set the mode, enable, disable, delete, getevents) with
//    each answer checked field by field against the ws API's view, and
//    GetEvents giving the same events as the ws stream for the same workload.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createReadStream, mkdirSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { documentBatches } from '../src/events/documents.js';
import { fromProtoJson, messageType, toProtoJson, LOADER_OPTIONS, PROTO_DIR } from '../src/api/grpc-json.js';
import { GrpcServer } from '../src/api/grpc.js';
import { ApiError } from '../src/api/protocol.js';
import { cgroup2Root, podCgroupPath, removeCgroup, talonCgroupParent } from '../src/pods/cgroup.js';
import {
  agentStatus,
  jsonEvents,
  repoRoot,
  skipUnlessRoot,
  spawnAgent,
  talon,
  terminate,
  tempDir,
  tlnProgramsAfterStop,
  sleep,
  waitFor,
  useTestCgroupParent,
  type Background,
  fileReadPolicy,
} from './helpers/agent.js';
import { talonVersion } from '../src/agent/version.js';

type Json = Record<string, any>;

const test = suite('api-grpc');

// ---- a Tetragon client from the .proto files -------------------------------

type Client = grpc.Client & Record<string, (...a: unknown[]) => unknown>;

function client(target: string, md?: grpc.Metadata): { c: Client; call: (m: string, req?: Json) => Promise<Json>; close: () => void } {
  const def = protoLoader.loadSync('tetragon/sensors.proto', {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: false,
    includeDirs: [PROTO_DIR],
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { tetragon: { FineGuidanceSensors: grpc.ServiceClientConstructor } };
  const c = new pkg.tetragon.FineGuidanceSensors(target, grpc.credentials.createInsecure()) as unknown as Client;
  const call = (m: string, req: Json = {}) =>
    new Promise<Json>((res, rej) =>
      (c[m] as (r: Json, md: grpc.Metadata, cb: (e: grpc.ServiceError | null, r: Json) => void) => void).call(c, req, md ?? new grpc.Metadata(), (e, r) =>
        e ? rej(e) : res(r),
      ),
    );
  return { c, call, close: () => c.close() };
}

async function rejects(p: Promise<unknown>, code: grpc.status, re: RegExp): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (e) {
    const err = e as grpc.ServiceError;
    assert.is(err.code, code, `${grpc.status[err.code]}: ${err.details}`);
    assert.match(err.details, re);
    return err;
  }
  assert.unreachable(`expected the call to fail with ${grpc.status[code]}`);
  throw new Error('unreachable');
}

// ---- without a kernel --------------------------------------------------------

const CORPUS = join(repoRoot(), '..', 'shared', 'tetragon-corpus', 'events');

test("Tetragon's recorded events go through talon's .proto and back unchanged", async () => {
  if (!existsSync(CORPUS)) {
    console.log(`  skipped: ${CORPUS} is absent`);
    return;
  }
  const T = messageType('GetEventsResponse');
  let n = 0;
  for (const f of readdirSync(CORPUS)) {
    for await (const b of documentBatches(createReadStream(join(CORPUS, f)))) {
      for (const text of b.docs) {
        let ev: Json;
        try {
          ev = JSON.parse(text);
        } catch {
          continue; // a corpus file's prose, not an event
        }
        const dropped: string[] = [];
        const bytes = T.encode(T.fromObject(fromProtoJson(T, ev, dropped))).finish();
        assert.equal(dropped, [], `${f}: fields talon's .proto lacks`);
        assert.equal(toProtoJson(T, T.toObject(T.decode(bytes), LOADER_OPTIONS) as Json), ev, f);
        n++;
      }
    }
  }
  assert.ok(n >= 30, `${n} events`);
});

test('TCP: every call needs the token; unknown operations answer UNIMPLEMENTED', async () => {
  const seen: Json[] = [];
  const s = new GrpcServer({
    address: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    token: 'sekrit',
    handlers: {
      status: () => ({}),
      'policy.delete': (p) => {
        seen.push(p);
        throw new ApiError('not_found', `tracing policy ${String(p.name)} not found`);
      },
    },
    hooks: () => [],
    version: '9.9.9',
  });
  await s.listen();
  const bearer = new grpc.Metadata();
  bearer.set('authorization', 'Bearer sekrit');
  const wrong = new grpc.Metadata();
  wrong.set('authorization', 'Bearer nope');
  const ok = client(s.address, bearer);
  const none = client(s.address);
  const bad = client(s.address, wrong);
  try {
    assert.equal(await ok.call('GetVersion'), { version: '9.9.9' });
    await rejects(none.call('GetVersion'), grpc.status.UNAUTHENTICATED, /token/);
    await rejects(bad.call('GetHealth'), grpc.status.UNAUTHENTICATED, /token/);
    await rejects(ok.call('DeleteTracingPolicy', { name: 'x', namespace: 'ns' }), grpc.status.NOT_FOUND, /tracing policy x not found/);
    assert.equal(seen, [{ name: 'x', namespace: 'ns' }], 'the ws handler got the call');
    await rejects(ok.call('SetDebug', {}), grpc.status.UNIMPLEMENTED, /talon does not implement SetDebug/);
    await rejects(ok.call('RemoveSensor', { name: 'x' }), grpc.status.UNIMPLEMENTED, /DeleteTracingPolicy/);
    const events = ok.c.GetEvents({}, new grpc.Metadata()) as grpc.ClientReadableStream<Json>;
    const err = await new Promise<grpc.ServiceError>((r) => events.on('error', r));
    assert.is(err.code, grpc.status.UNAUTHENTICATED, 'GetEvents metadata is per call: none given');
  } finally {
    ok.close();
    none.close();
    bad.close();
    await s.close();
  }
});

// ---- against a live agent ----------------------------------------------------

useTestCgroupParent();
const reason = skipUnlessRoot('api-grpc against an agent in the kernel');
const NS = `grpc-${process.pid}`;
const t = tempDir('talon-grpc-');
const state = join(t.dir, 'state');
const files = join(t.dir, 'files');
const sock = join(t.dir, 'talon.sock');
const gsock = join(t.dir, 'tetragon.sock');
const A = ['--server-address', `unix://${sock}`];
const secret = join(files, 'secret');
const other = join(files, 'other');
let agent: Background | null = null;
let g: ReturnType<typeof client>;

const policy = (name: string, opts: { mode?: string } = {}) =>
  fileReadPolicy({ name, namespace: NS, prefix: secret, app: 'xwing', actions: '- action: Sigkill', ...opts });

const exec = (cmd: string) => talon(['exec', '-n', NS, 'xwing', ...A, '--', 'bash', '-c', cmd]);
const wsList = async (): Promise<Json[]> => {
  const r = await talon(['tp', 'list', '-o', 'json', ...A]);
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).policies;
};
/** ListTracingPolicies as protojson (what tetra prints: wrappers as bare values, defaults left out) */
const grpcList = async (): Promise<Json[]> => (toProtoJson('ListTracingPoliciesResponse', await g.call('ListTracingPolicies', {})).policies as Json[]) ?? [];
const subscribers = async () => (await agentStatus(A)).events.subscribers as number;

/** A GetEvents stream; events as protojson (the test's own decoding of the messages). */
async function getEvents(req: Json): Promise<{ events: Json[]; error: () => grpc.ServiceError | null; cancel: () => void }> {
  const before = await subscribers();
  const s = g.c.GetEvents(req, new grpc.Metadata()) as grpc.ClientReadableStream<Json>;
  const events: Json[] = [];
  let error: grpc.ServiceError | null = null;
  s.on('data', (m: Json) => events.push(toProtoJson('GetEventsResponse', m)));
  s.on('error', (e: grpc.ServiceError) => (error = e));
  await waitFor(async () => error !== null || (await subscribers()) > before, 10_000, 50);
  return { events, error: () => error, cancel: () => s.cancel() };
}

/** Leaves of a JSON value: path -> value. */
function leaves(v: unknown, path = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (Array.isArray(v)) v.forEach((x, i) => leaves(x, `${path}[${i}]`, out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) leaves(x, path ? `${path}.${k}` : k, out);
  else out.set(path, v);
  return out;
}
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const ns = (s: string) => {
  const [sec, frac = ''] = s.replace('Z', '').split('.');
  return BigInt(Date.parse(sec + 'Z')) * 1_000_000n + BigInt(frac.padEnd(9, '0'));
};

/** The gRPC event has every field of the ws event with the same value; it may only lack proto3 defaults (0, "", false). */
function assertSameEvent(viaGrpc: Json, viaWs: Json, what: string): void {
  const a = leaves(viaGrpc);
  const b = leaves(viaWs);
  for (const [p, v] of b) {
    if (!a.has(p)) {
      assert.ok(v === 0 || v === '' || v === false, `${what}: ${p} = ${JSON.stringify(v)} is missing over gRPC`);
      continue;
    }
    const w = a.get(p);
    if (typeof v === 'string' && RFC3339.test(v) && typeof w === 'string' && RFC3339.test(w)) assert.is(ns(w), ns(v), `${what}: ${p}`);
    else assert.is(w, v, `${what}: ${p}`);
  }
  for (const p of a.keys()) assert.ok(b.has(p), `${what}: ${p} only over gRPC`);
}

if (reason) {
  test.skip('api-grpc against an agent in the kernel');
} else {
  test.after(async () => {
    g?.close();
    if (agent) {
      await talon(['pod', 'delete', `${NS}/xwing`, ...A]).catch(() => undefined);
      await terminate(agent);
      agent = null;
    }
    await removeCgroup(podCgroupPath(NS, 'xwing'), join(cgroup2Root(), talonCgroupParent())).catch((e) => console.log(`  cleanup: ${(e as Error).message}`));
    t.remove();
  });

  test('the agent serves the gRPC API on a root-only unix socket beside its ws socket', async () => {
    mkdirSync(files, { recursive: true });
    writeFileSync(secret, 'the death star plans\n');
    writeFileSync(other, 'not secret\n');
    agent = await spawnAgent(['--state-dir', state, ...A, '--node-name', 'talon-grpc']);
    assert.match(agent.err(), new RegExp(`Tetragon gRPC API on unix://${gsock.replace(/[.]/g, '\\.')}`));
    const st = statSync(gsock);
    assert.ok(st.isSocket());
    assert.is(st.mode & 0o777, 0o600, 'root only');
    g = client(`unix://${gsock}`);
    const r = await talon(['pod', 'add', `${NS}/xwing`, '--label', 'app=xwing', ...A]);
    assert.is(r.code, 0, r.stderr);
    assert.equal(await g.call('GetHealth', { event_set: ['HEALTH_STATUS_TYPE_STATUS'] }), {
      health_status: [{ event: 'HEALTH_STATUS_TYPE_STATUS', status: 'HEALTH_STATUS_RUNNING', details: 'running' }],
    });
    assert.equal(await g.call('GetVersion'), { version: talonVersion() });
  });

  test('AddTracingPolicy, then ListTracingPolicies field by field against the ws API', async () => {
    assert.equal(await g.call('AddTracingPolicy', { yaml: policy('file-monitoring-enforce') }), {});
    const [ws] = (await wsList()).filter((p) => p.name === 'file-monitoring-enforce');
    const [p] = (await grpcList()).filter((x) => x.name === 'file-monitoring-enforce');
    assert.ok(ws && p);
    assert.is(p.id, String(ws.id), 'uint64 as a string');
    assert.is(p.namespace, NS);
    assert.is(p.state, 'TP_STATE_ENABLED');
    assert.is(p.enabled, true);
    assert.is(p.mode, 'TP_MODE_ENFORCE');
    assert.is(p.filter_id, String(ws.filterId));
    assert.ok(ws.filterId > 0, 'pod-scoped');
    assert.equal(p.sensors, ws.sensors);
    assert.is(p.kernel_memory_bytes, String(ws.kernelMemory));
    assert.ok(ws.kernelMemory > 0);
    assert.is(p.domain, 'grpc', 'Tetragon calls API-added policies grpc');
    // tetra's `tp list -o json` is the gRPC answer in protojson: every Tetragon field the same
    for (const [k, v] of Object.entries(p)) assert.equal(ws[k], v, `tp list -o json: ${k}`);
    assert.is(ws.enabled, true);
    assert.type(ws.kernel_memory_bytes, 'string', 'int64 as a string');
    assert.is(p.error, undefined, 'no error: the field is left out, as protobuf does');
    assert.equal(p.hook_statuses, [{ section: 'kprobes', state: 'STATUS_LOADED', hook_description: 'kprobe:security_file_permission' }]);
    assert.equal(p.stats, {
      action_counters: {},
      selector_action_counters: [{ hook: 'kprobe:security_file_permission', hook_index: 0, selector_index: 0, action_counters: {} }],
    });
    // the same name again, and a broken policy: the ws API's errors with Tetragon's codes
    await rejects(g.call('AddTracingPolicy', { yaml: policy('file-monitoring-enforce') }), grpc.status.ALREADY_EXISTS, /already exists/);
    const err = await rejects(g.call('AddTracingPolicy', { yaml: policy('broken').replace('Prefix', 'Prefixx') }), grpc.status.INVALID_ARGUMENT, /error/);
    assert.match(err.details, /policy\.yaml:\d+:\d+: .*unknown operator "Prefixx"/, 'the diagnostics follow, with their positions');
  });

  test('GetEvents: the same events as the ws stream; deny lists and field filters as Tetragon', async () => {
    const ws = await jsonEvents(['--namespace', NS], A);
    const all = await getEvents({ allow_list: [{ namespace: [NS] }] });
    const noCat = await getEvents({ allow_list: [{ namespace: [NS] }], deny_list: [{ binary_regex: ['/cat$'] }] });
    const slim = await getEvents({
      allow_list: [{ namespace: [NS], event_set: ['PROCESS_EXEC', 'PROCESS_KPROBE'] }],
      field_filters: [{ event_set: ['PROCESS_EXEC'], fields: { paths: ['process.binary', 'process.pod.name'] }, action: 'INCLUDE' }],
    });
    assert.is((await exec(`cat ${secret}`)).code, 137, 'killed');
    assert.is((await exec(`cat ${other}`)).code, 0);
    const wsEvents = await ws.stop();
    await sleep(300);
    for (const s of [all, noCat, slim]) {
      assert.is(s.error(), null);
      s.cancel();
    }
    assert.ok(wsEvents.length >= 6, `${wsEvents.length} events`);
    assert.is(all.events.length, wsEvents.length, 'as many events');
    wsEvents.forEach((e, i) => assertSameEvent(all.events[i], e, `event ${i} (${Object.keys(e)[0]})`));
    const kinds = new Set(all.events.map((e) => Object.keys(e).find((k) => k.startsWith('process_'))));
    assert.ok(kinds.has('process_exec') && kinds.has('process_kprobe') && kinds.has('process_exit'), [...kinds].join());
    const kp = all.events.find((e) => e.process_kprobe)!.process_kprobe;
    assert.is(kp.policy_name, 'file-monitoring-enforce');
    assert.is(kp.action, 'KPROBE_ACTION_SIGKILL');
    assert.is(kp.args[0].file_arg.path, secret);
    assert.is(all.events[0].node_name, 'talon-grpc');
    // deny: nothing of cat, everything else
    const isCat = (e: Json) => /\/cat$/.test(Object.values(e).find((v) => v?.process)?.process.binary ?? '');
    assert.equal(
      noCat.events,
      all.events.filter((e) => !isCat(e)),
    );
    assert.ok(noCat.events.length < all.events.length);
    // field filter: exec events keep only the named fields, kprobes are whole
    const execs = slim.events.filter((e) => e.process_exec);
    assert.ok(execs.length >= 2);
    for (const e of execs) {
      assert.equal(Object.keys(e.process_exec), ['process']);
      assert.equal(Object.keys(e.process_exec.process).sort(), ['binary', 'pod']);
    }
    assert.equal(execs[0].process_exec.process.pod, { name: 'xwing' });
    assert.equal(
      slim.events.filter((e) => e.process_kprobe),
      all.events.filter((e) => e.process_kprobe),
    );
    // a filter field talon cannot evaluate is refused, not ignored
    const refused = await getEvents({ allow_list: [{ labels: ['app=xwing'] }] });
    await waitFor(() => refused.error(), 5000);
    assert.is(refused.error()?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(refused.error()!.details, /labels is not supported/);
  });

  test('ConfigureTracingPolicy sets the mode in place (seed: tp set-mode), counters follow', async () => {
    assert.equal(await g.call('ConfigureTracingPolicy', { name: 'file-monitoring-enforce', namespace: NS, mode: 'TP_MODE_MONITOR' }), {});
    let [p] = await grpcList();
    assert.is(p.mode, 'TP_MODE_MONITOR');
    assert.is((await wsList())[0].mode, 'TP_MODE_MONITOR', 'tp list -o json: the enum name, as tetra prints it');
    assert.is((await exec(`cat ${secret}`)).code, 0, 'monitor: not killed');
    [p] = await grpcList();
    const [ws] = await wsList();
    assert.equal(
      p.stats.action_counters,
      { post: String(ws.counters.post), signal: String(ws.counters.enforce), monitor_signal: String(ws.counters.monitor) },
      'Sigkill counts as signal',
    );
    assert.ok(ws.counters.monitor >= 1, 'each read of the file counted');
    assert.equal(p.stats.selector_action_counters[0].action_counters, p.stats.action_counters);
    await rejects(
      g.call('ConfigureTracingPolicy', { name: 'file-monitoring-enforce', namespace: NS, mode: 'TP_MODE_MONITOR_ONLY' }),
      grpc.status.INVALID_ARGUMENT,
      /TP_MODE_ENFORCE or TP_MODE_MONITOR/,
    );
    await g.call('ConfigureTracingPolicy', { name: 'file-monitoring-enforce', namespace: NS, mode: 'TP_MODE_ENFORCE' });
    assert.is((await grpcList())[0].mode, 'TP_MODE_ENFORCE');
    assert.is((await exec(`cat ${secret}`)).code, 137, 'enforce again');
  });

  test('Disable/EnableTracingPolicy and ConfigureTracingPolicy{enable}', async () => {
    const name = { name: 'file-monitoring-enforce', namespace: NS };
    assert.equal(await g.call('DisableTracingPolicy', name), {});
    let [p] = await grpcList();
    assert.equal([p.state, p.enabled, p.kernel_memory_bytes], ['TP_STATE_DISABLED', undefined, undefined], 'false and 0 are left out, as protobuf does');
    assert.is((await wsList())[0].state, 'TP_STATE_DISABLED');
    assert.is((await exec(`cat ${secret}`)).code, 0, 'disabled: not enforced');
    await rejects(g.call('DisableTracingPolicy', name), grpc.status.INVALID_ARGUMENT, /disabled/);
    assert.equal(await g.call('EnableTracingPolicy', name), {});
    assert.is((await grpcList())[0].state, 'TP_STATE_ENABLED');
    await g.call('ConfigureTracingPolicy', { ...name, enable: false });
    assert.is((await grpcList())[0].state, 'TP_STATE_DISABLED');
    await g.call('ConfigureTracingPolicy', { ...name, enable: true });
    [p] = await grpcList();
    assert.equal([p.state, p.enabled, p.mode], ['TP_STATE_ENABLED', true, 'TP_MODE_ENFORCE']);
    assert.is((await exec(`cat ${secret}`)).code, 137, 'enabled again: enforced');
    const sensors = await g.call('ListSensors');
    assert.equal(
      sensors.sensors,
      p.sensors.map((s: string) => ({ name: s, enabled: true, collection: `${NS}/file-monitoring-enforce` })),
    );
  });

  test('DeleteTracingPolicy; the policy is gone from both APIs', async () => {
    assert.equal(await g.call('DeleteTracingPolicy', { name: 'file-monitoring-enforce', namespace: NS }), {});
    assert.equal(await grpcList(), []);
    assert.equal(await wsList(), []);
    await rejects(g.call('DeleteTracingPolicy', { name: 'file-monitoring-enforce', namespace: NS }), grpc.status.NOT_FOUND, /not found/);
    assert.is((await exec(`cat ${secret}`)).code, 0, 'deleted: not enforced');
  });

  test('stop: both sockets removed, no tln_ program left', async () => {
    g.close();
    await talon(['pod', 'delete', `${NS}/xwing`, ...A]);
    assert.is(await terminate(agent!), 0);
    agent = null;
    assert.not.ok(existsSync(gsock));
    assert.not.ok(existsSync(sock));
    assert.equal(await tlnProgramsAfterStop(), []);
  });
}

test.run();
