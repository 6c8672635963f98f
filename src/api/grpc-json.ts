// Tetragon's API messages (proto/tetragon/*.proto) and their JSON form.
//
// talon's events are protojson objects with proto field names, exactly what
// Tetragon's JSON export writes (int64 as strings, enum names, Timestamps as
// RFC 3339, wrapper types as bare values). gRPC needs them as messages. The
// mapping is driven by the .proto reflection (protobufjs), not by a second
// list of fields, so a field added to the .proto is carried without code:
//
//   fromProtoJson(type, json) -> the object form grpc-js serialises
//                                (proto-loader: keepCase, longs and enums as strings)
//   toProtoJson(type, object) -> protojson (what a client prints, and what
//                                the agent makes of a decoded request)
//
// Keys the .proto does not know are dropped (Tetragon's own decoder ignores
// them too); `dropped` collects their paths for the caller to report.
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** Where the .proto files are: <root>/proto (dist/src/api/ -> ../../../proto). */
export const PROTO_DIR = fileURLToPath(new URL('../../../proto', import.meta.url));

/** The .proto files of the API, relative to PROTO_DIR. */
export const PROTO_FILES = ['tetragon/sensors.proto'];

/** Options shared by proto-loader (the grpc-js service) and these converters. */
export const LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: false, oneofs: false } as const;

let root: protobuf.Root | null = null;

/** The protobufjs reflection of the API (loaded once). */
export function tetragonRoot(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  // imports are "tetragon/x.proto" and "google/protobuf/x.proto": the first
  // live in PROTO_DIR, the second are protobufjs' bundled well-known types
  r.resolvePath = (_origin, target) => (target.startsWith('/') || target.startsWith('google/protobuf/') ? target : `${PROTO_DIR}/${target}`);
  r.loadSync(
    PROTO_FILES.map((f) => `${PROTO_DIR}/${f}`),
    { keepCase: true },
  );
  r.resolveAll();
  root = r;
  return r;
}

export function messageType(name: string): protobuf.Type {
  return tetragonRoot().lookupType(name.startsWith('.') ? name : `.tetragon.${name}`);
}

type Json = Record<string, unknown>;

const WRAPPERS = new Set(
  ['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map(
    (n) => `.google.protobuf.${n}`,
  ),
);

/** RFC 3339 (any fraction, Z or an offset) -> {seconds, nanos}. */
export function parseTimestamp(s: string): { seconds: string; nanos: number } {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) throw new Error(`invalid timestamp ${JSON.stringify(s)}`);
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) throw new Error(`invalid timestamp ${JSON.stringify(s)}`);
  return { seconds: String(Math.floor(ms / 1000)), nanos: Number((m[2] ?? '').padEnd(9, '0')) };
}

/** {seconds, nanos} -> RFC 3339 in UTC with 0, 3, 6 or 9 fraction digits, as protojson writes it. */
export function formatTimestamp(t: { seconds?: string | number; nanos?: number }): string {
  const secs = Number(t.seconds ?? 0);
  const nanos = t.nanos ?? 0;
  const base = new Date(secs * 1000).toISOString().replace(/\.\d{3}Z$/, '');
  if (nanos === 0) return `${base}Z`;
  let frac = String(nanos).padStart(9, '0');
  while (frac.length > 3 && frac.endsWith('000')) frac = frac.slice(0, -3);
  return `${base}.${frac}Z`;
}

/** "1.5s" -> {seconds, nanos}. */
function parseDuration(s: string): { seconds: string; nanos: number } {
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(s);
  if (!m) throw new Error(`invalid duration ${JSON.stringify(s)}`);
  const sign = m[1] ? -1 : 1;
  return { seconds: String(sign * Number(m[2])), nanos: sign * Number((m[3] ?? '').padEnd(9, '0')) };
}

function formatDuration(d: { seconds?: string | number; nanos?: number }): string {
  const s = Number(d.seconds ?? 0);
  const n = Math.abs(d.nanos ?? 0);
  return `${s}${n ? '.' + String(n).padStart(9, '0').replace(/0+$/, '') : ''}s`;
}

/** A protojson object of message `type` -> the object form grpc-js serialises. */
export function fromProtoJson(type: protobuf.Type | string, json: Json, dropped: string[] = [], path = ''): Json {
  const t = typeof type === 'string' ? messageType(type) : type;
  const out: Json = {};
  for (const [k, v] of Object.entries(json)) {
    if (v === undefined || v === null) continue;
    const f = t.fields[k] ?? Object.values(t.fields).find((x) => x.options?.json_name === k || camel(x.name) === k);
    if (!f) {
      dropped.push(path + k);
      continue;
    }
    const p = `${path}${k}.`;
    if (f.map) {
      const m: Json = {};
      for (const [mk, mv] of Object.entries(v as Json)) m[mk] = fieldIn(f, mv, dropped, p);
      out[f.name] = m;
    } else if (f.repeated) {
      out[f.name] = (Array.isArray(v) ? v : [v]).map((x) => fieldIn(f, x, dropped, p));
    } else {
      // proto3 does not send a default scalar (Go's encoder leaves it out; protobufjs would not)
      if (!(f.resolvedType instanceof protobuf.Type) && !f.partOf && isDefault(f, typeof v === 'number' && f.long ? String(v) : v)) continue;
      out[f.name] = fieldIn(f, v, dropped, p);
    }
  }
  return out;
}

function fieldIn(f: protobuf.Field, v: unknown, dropped: string[], path: string): unknown {
  const rt = f.resolvedType;
  if (rt instanceof protobuf.Type) {
    const n = rt.fullName;
    if (n === '.google.protobuf.Timestamp') return typeof v === 'string' ? parseTimestamp(v) : v;
    if (n === '.google.protobuf.Duration') return typeof v === 'string' ? parseDuration(v) : v;
    if (n === '.google.protobuf.FieldMask') return typeof v === 'string' ? { paths: v === '' ? [] : v.split(',').map(snake) } : v;
    if (WRAPPERS.has(n)) return { value: v };
    return fromProtoJson(rt, v as Json, dropped, path);
  }
  if (rt instanceof protobuf.Enum) return v; // names and numbers both serialise
  if (f.type === 'bytes' && typeof v === 'string') return Buffer.from(v, 'base64');
  return v;
}

/** A decoded message (proto-loader object form, LOADER_OPTIONS) -> protojson with proto field names. */
export function toProtoJson(type: protobuf.Type | string, obj: Json): Json {
  const t = typeof type === 'string' ? messageType(type) : type;
  const out: Json = {};
  for (const f of t.fieldsArray) {
    const v = obj[f.name];
    if (v === undefined || v === null) continue;
    if (f.map) {
      const m: Json = {};
      for (const [mk, mv] of Object.entries(v as Json)) m[mk] = fieldOut(f, mv);
      if (Object.keys(m).length) out[f.name] = m;
    } else if (f.repeated) {
      const a = (v as unknown[]).map((x) => fieldOut(f, x));
      if (a.length) out[f.name] = a;
    } else {
      const x = fieldOut(f, v);
      // proto3 leaves defaults out unless the field tracks presence (messages, optional, oneof members)
      if (!(f.resolvedType instanceof protobuf.Type) && !f.partOf && isDefault(f, x)) continue;
      out[f.name] = x;
    }
  }
  return out;
}

function fieldOut(f: protobuf.Field, v: unknown): unknown {
  const rt = f.resolvedType;
  if (rt instanceof protobuf.Type) {
    const n = rt.fullName;
    const o = v as Json;
    if (n === '.google.protobuf.Timestamp') return formatTimestamp(o as { seconds?: string; nanos?: number });
    if (n === '.google.protobuf.Duration') return formatDuration(o as { seconds?: string; nanos?: number });
    if (n === '.google.protobuf.FieldMask') return ((o.paths ?? []) as string[]).join(',');
    if (WRAPPERS.has(n)) return wrapperValue(rt, o.value);
    return toProtoJson(rt, o);
  }
  if (rt instanceof protobuf.Enum) return typeof v === 'number' ? (rt.valuesById[v] ?? v) : v;
  if (f.type === 'bytes') return Buffer.isBuffer(v) || v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v;
  if (f.long) return String(v);
  return v;
}

/** The value of a wrapper; absent means the type's zero (a wrapper that is present is never omitted). */
function wrapperValue(t: protobuf.Type, v: unknown): unknown {
  if (v !== undefined && v !== null) return t.fields.value.long ? String(v) : Buffer.isBuffer(v) ? v.toString('base64') : v;
  const ft = t.fields.value.type;
  return ft === 'bool' ? false : ft === 'string' || ft === 'bytes' ? '' : t.fields.value.long ? '0' : 0;
}

function isDefault(f: protobuf.Field, v: unknown): boolean {
  if (f.resolvedType instanceof protobuf.Enum) return f.resolvedType.values[v as string] === 0 || v === 0;
  return v === '' || v === 0 || v === false || (f.long && v === '0');
}

const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
