// Tetragon's gRPC API (service tetragon.FineGuidanceSensors, proto/tetragon)
// beside talon's ws API. Every method calls the ws API's handler for the same
// operation (the agent's `handlers()`): one implementation, two protocols.
// This file only maps Tetragon's messages onto those handlers' params and
// their results back.
//
// Transport: a unix socket created 0600 (root only) by default; TCP only
// when asked for, and then every call must carry `authorization: Bearer
// <token>` metadata, optionally over TLS.
import { promises as fsp } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { formatServerAddress, type ServerAddress } from './address.js';
import { ApiError, AUTH_HEADER, type ErrorCode } from './protocol.js';
import { prepareSocketPath, type Connection, type Handler } from './server.js';
import { fromProtoJson, toProtoJson, LOADER_OPTIONS, PROTO_DIR, PROTO_FILES } from './grpc-json.js';
import { BadRequest, fieldFiltersOf, filterSetOf } from './grpc-events.js';
import { tetragonDomain, tracingPolicyStatus, type HookInfo } from './tetragon-status.js';
import type { PolicyStatus } from './protocol.js';

type Json = Record<string, unknown>;

export interface GrpcServerOptions {
  address: ServerAddress;
  /** required for TCP */
  token?: string;
  /** TLS for TCP: PEM files */
  tls?: { certFile: string; keyFile: string };
  /** the ws API's handlers: the operations */
  handlers: Record<string, Handler>;
  /** hooks of a policy (by id) in spec order, for Tetragon's counters */
  hooks: (policyId: number) => HookInfo[];
  version: string;
  /** bytes queued to one GetEvents client before its events are dropped */
  maxBuffered?: number;
}

let service: grpc.ServiceDefinition | null = null;

/** The FineGuidanceSensors service definition from proto/tetragon (grpc-js + proto-loader). */
export function fineGuidanceSensors(): grpc.ServiceDefinition {
  if (service) return service;
  const def = protoLoader.loadSync(PROTO_FILES, { ...LOADER_OPTIONS, includeDirs: [PROTO_DIR] });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { tetragon: { FineGuidanceSensors: grpc.ServiceClientConstructor } };
  service = pkg.tetragon.FineGuidanceSensors.service;
  return service;
}

const STATUS: Record<ErrorCode, grpc.status> = {
  bad_request: grpc.status.INVALID_ARGUMENT,
  unknown_method: grpc.status.UNIMPLEMENTED,
  not_found: grpc.status.NOT_FOUND,
  exists: grpc.status.ALREADY_EXISTS,
  invalid: grpc.status.INVALID_ARGUMENT,
  failed: grpc.status.UNKNOWN,
};

/** An error as a gRPC status; policy diagnostics follow the message, one per line, as tetra prints them. */
function statusOf(e: unknown): Partial<grpc.StatusObject> {
  if (e instanceof ApiError) return { code: STATUS[e.code], details: [e.message, ...(e.diagnostics ?? [])].join('\n') };
  if (e instanceof BadRequest) return { code: grpc.status.INVALID_ARGUMENT, details: e.message };
  const m = (e as Error)?.message ?? String(e);
  if (/already exists/.test(m)) return { code: grpc.status.ALREADY_EXISTS, details: m };
  if (/not found/.test(m)) return { code: grpc.status.NOT_FOUND, details: m };
  return { code: grpc.status.UNKNOWN, details: m };
}

const unimplemented = (what: string) => ({ code: grpc.status.UNIMPLEMENTED, details: `talon does not implement ${what}` });

/** A connection for handlers of one-shot calls (they never notify). */
const NO_CONN: Connection = { id: 0, notify: () => false, onClose: () => undefined };

const MODES: Record<string, 'enforce' | 'monitor'> = { TP_MODE_ENFORCE: 'enforce', TP_MODE_MONITOR: 'monitor' };

export class GrpcServer {
  private server: grpc.Server | null = null;
  private socketPath: string | null = null;
  private boundPort: number | null = null;
  private nextConn = 1;
  /** events not sent because a GetEvents client did not keep up */
  dropped = 0;

  constructor(private readonly opts: GrpcServerOptions) {
    if (opts.address.kind === 'tcp' && !opts.token) throw new Error(`grpc: a TCP server address (${formatServerAddress(opts.address)}) needs a token`);
  }

  get address(): string {
    const a = this.opts.address;
    return a.kind === 'tcp' && a.port === 0 && this.boundPort ? formatServerAddress({ ...a, port: this.boundPort }) : formatServerAddress(a);
  }

  async listen(): Promise<void> {
    const server = new grpc.Server({ 'grpc.max_receive_message_length': 16 << 20 });
    server.addService(fineGuidanceSensors(), this.implementation());
    const a = this.opts.address;
    if (a.kind === 'unix') {
      await prepareSocketPath(a.path);
      // created 0600 from the start: no window where others could connect
      const old = process.umask(0o177);
      try {
        await bind(server, `unix://${a.path}`, grpc.ServerCredentials.createInsecure());
      } finally {
        process.umask(old);
      }
      await fsp.chmod(a.path, 0o600);
      this.socketPath = a.path;
    } else {
      const creds = this.opts.tls
        ? grpc.ServerCredentials.createSsl(
            null,
            [{ cert_chain: await readFile(this.opts.tls.certFile), private_key: await readFile(this.opts.tls.keyFile) }],
            false,
          )
        : grpc.ServerCredentials.createInsecure();
      const host = a.host.includes(':') ? `[${a.host}]` : a.host;
      this.boundPort = await bind(server, `${host}:${a.port}`, creds);
    }
    this.server = server;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) {
      // streams (GetEvents) end at once; one-shot calls in flight are cut too
      s.forceShutdown();
    }
    if (this.socketPath) {
      await fsp.rm(this.socketPath, { force: true });
      this.socketPath = null;
    }
  }

  private authorized(md: grpc.Metadata): boolean {
    if (this.opts.address.kind === 'unix') return true;
    const h = md.get(AUTH_HEADER)[0];
    const m = typeof h === 'string' ? /^Bearer\s+(\S+)$/.exec(h) : null;
    if (!m || !this.opts.token) return false;
    const got = Buffer.from(m[1]);
    const want = Buffer.from(this.opts.token);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  private call(method: string, params: Json, conn: Connection = NO_CONN): Promise<unknown> {
    const h = this.opts.handlers[method];
    if (!h) return Promise.reject(new ApiError('unknown_method', `no handler for ${method}`));
    return Promise.resolve().then(() => h(params, conn));
  }

  private async policies(): Promise<PolicyStatus[]> {
    return ((await this.call('policy.list', {})) as { policies: PolicyStatus[] }).policies;
  }

  /** The service's methods; each unary one: auth, request -> handler params, handler, result -> response. */
  private implementation(): grpc.UntypedServiceImplementation {
    const unary =
      (reqType: string, resType: string, fn: (req: Json) => Promise<Json | (Partial<grpc.StatusObject> & { code: grpc.status })>) =>
      (call: grpc.ServerUnaryCall<Json, Json>, cb: grpc.sendUnaryData<Json>) => {
        if (!this.authorized(call.metadata))
          return cb({ code: grpc.status.UNAUTHENTICATED, details: 'missing or wrong token (authorization: Bearer <token> metadata)' });
        let req: Json;
        try {
          req = toProtoJson(reqType, call.request ?? {});
        } catch (e) {
          return cb({ code: grpc.status.INVALID_ARGUMENT, details: (e as Error).message });
        }
        fn(req).then(
          (r) => (typeof (r as { code?: unknown }).code === 'number' ? cb(r as Partial<grpc.StatusObject>) : cb(null, fromProtoJson(resType, r as Json))),
          (e) => cb(statusOf(e)),
        );
      };
    const nsOf = (req: Json) => (typeof req.namespace === 'string' && req.namespace !== '' ? { namespace: req.namespace } : {});
    const byName = (req: Json) => ({ name: String(req.name ?? ''), ...nsOf(req) });
    return {
      GetEvents: (call: grpc.ServerWritableStream<Json, Json>) => this.getEvents(call),
      GetHealth: unary('GetHealthStatusRequest', 'GetHealthStatusResponse', async () => {
        await this.call('status', {});
        return { health_status: [{ event: 'HEALTH_STATUS_TYPE_STATUS', status: 'HEALTH_STATUS_RUNNING', details: 'running' }] };
      }),
      AddTracingPolicy: unary('AddTracingPolicyRequest', 'AddTracingPolicyResponse', async (req) => {
        // Tetragon's request has no namespace: a namespaced policy names its own in metadata
        await this.call('policy.add', { yaml: String(req.yaml ?? ''), file: 'policy.yaml', namespace: 'default' });
        return {};
      }),
      DeleteTracingPolicy: unary('DeleteTracingPolicyRequest', 'DeleteTracingPolicyResponse', async (req) => {
        await this.call('policy.delete', byName(req));
        return {};
      }),
      EnableTracingPolicy: unary('EnableTracingPolicyRequest', 'EnableTracingPolicyResponse', async (req) => {
        await this.call('policy.enable', byName(req));
        return {};
      }),
      DisableTracingPolicy: unary('DisableTracingPolicyRequest', 'DisableTracingPolicyResponse', async (req) => {
        await this.call('policy.disable', byName(req));
        return {};
      }),
      ConfigureTracingPolicy: unary('ConfigureTracingPolicyRequest', 'ConfigureTracingPolicyResponse', async (req) => {
        // as Tetragon: enable/disable first, then the mode; not atomic
        if (typeof req.enable === 'boolean') await this.call(req.enable ? 'policy.enable' : 'policy.disable', byName(req));
        if (req.mode !== undefined) {
          const mode = MODES[String(req.mode)];
          if (!mode) throw new ApiError('bad_request', `mode must be TP_MODE_ENFORCE or TP_MODE_MONITOR, not ${String(req.mode)}`);
          await this.call('policy.setMode', { ...byName(req), mode });
        }
        return {};
      }),
      ListTracingPolicies: unary('ListTracingPoliciesRequest', 'ListTracingPoliciesResponse', async (req) => {
        const domain = typeof req.domain === 'string' ? req.domain : '';
        const list = (await this.policies()).filter((p) => domain === '' || tetragonDomain(p.domain) === domain);
        return { policies: list.map((p) => tracingPolicyStatus(p, this.opts.hooks(p.id))) };
      }),
      ListSensors: unary('ListSensorsRequest', 'ListSensorsResponse', async () => ({
        sensors: (await this.policies()).flatMap((p) =>
          p.sensors.map((name) => ({ name, enabled: p.state === 'enabled', collection: p.namespace ? `${p.namespace}/${p.name}` : p.name })),
        ),
      })),
      EnableSensor: unary('EnableSensorRequest', 'EnableSensorResponse', async () =>
        unimplemented('EnableSensor: sensors belong to policies; use EnableTracingPolicy'),
      ),
      DisableSensor: unary('DisableSensorRequest', 'DisableSensorResponse', async () =>
        unimplemented('DisableSensor: sensors belong to policies; use DisableTracingPolicy'),
      ),
      RemoveSensor: unary('RemoveSensorRequest', 'RemoveSensorResponse', async () =>
        unimplemented('RemoveSensor: sensors belong to policies; use DeleteTracingPolicy'),
      ),
      ListDomains: unary('ListDomainsRequest', 'ListDomainsResponse', async () => ({ domains: ['grpc', 'static'] })),
      GetVersion: unary('GetVersionRequest', 'GetVersionResponse', async () => ({ version: this.opts.version })),
      GetInfo: unary('GetInfoRequest', 'GetInfoResponse', async () => {
        const s = (await this.call('status', {})) as { kernel?: Record<string, unknown> };
        const probes = Object.entries(s.kernel ?? {})
          .filter(([, v]) => typeof v === 'boolean')
          .map(([Name, Enabled]) => ({ Name, Enabled }));
        return { version: this.opts.version, name: 'talon', probes, build: {} };
      }),
      GetDebug: unary('GetDebugRequest', 'GetDebugResponse', async () => unimplemented('GetDebug (log level and process cache dumps): see `talon status`')),
      SetDebug: unary('SetDebugRequest', 'SetDebugResponse', async () => unimplemented('SetDebug (run-time log level)')),
    };
  }

  /** GetEvents: a pipeline subscription (the ws API's events.subscribe) whose events go to this stream. */
  private getEvents(call: grpc.ServerWritableStream<Json, Json>): void {
    if (!this.authorized(call.metadata)) {
      // an 'error' on a server stream is how grpc-js ends it with a status
      call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'missing or wrong token (authorization: Bearer <token> metadata)' });
      return;
    }
    const fail = (e: unknown) => {
      call.emit('error', statusOf(e));
    };
    let filter;
    let fields: (ev: Json) => Json;
    try {
      const req = toProtoJson('GetEventsRequest', call.request ?? {});
      filter = filterSetOf(req);
      fields = fieldFiltersOf(req);
      // aggregation_options: Tetragon's aggregator sends every event as it comes; so does talon
    } catch (e) {
      fail(e);
      return;
    }
    const closers: (() => void)[] = [];
    const max = this.opts.maxBuffered ?? 8 << 20;
    let open = true;
    const end = () => {
      if (!open) return;
      open = false;
      for (const fn of closers.splice(0)) {
        try {
          fn();
        } catch {
          /* a closer must not break the others */
        }
      }
    };
    call.on('cancelled', end);
    call.on('close', end);
    call.on('error', end);
    const conn: Connection = {
      id: this.nextConn++,
      notify: (n) => {
        if (!open) return false;
        if (call.writableLength > max) {
          this.dropped++;
          return false;
        }
        try {
          // a loss notice is Tetragon's rate_limit_info event
          const body = 'lost' in n ? { rate_limit_info: { number_of_dropped_process_events: String(n.lost) }, time: new Date().toISOString() } : n.event;
          call.write(fromProtoJson('GetEventsResponse', fields(body)));
          return true;
        } catch {
          this.dropped++;
          return false;
        }
      },
      onClose: (fn) => (open ? closers.push(fn) : fn()),
    };
    this.call('events.subscribe', { filter }, conn).then(
      () => call.sendMetadata(new grpc.Metadata()),
      (e) => {
        end();
        fail(e);
      },
    );
  }
}

function bind(server: grpc.Server, target: string, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(target, creds, (err, port) => (err ? reject(new Error(`grpc: listen on ${target}: ${err.message}`)) : resolve(port))),
  );
}
