// CEL filters over events: GetEvents' `cel_expression` and `getevents --cel-expression`, as
// Tetragon evaluates them. Each event kind of GetEventsResponse's oneof (process_exec,
// process_kprobe, ...) is a variable holding that message; the event's own kind is bound, the
// others are not (an expression that reads them fails on this event, and a failing expression
// does not match, as in Tetragon). Values are typed from the .proto (protobufjs reflection), so
// `process_exec.process.pid == 1234` compares integers although protojson writes int64 as
// strings; scalars a message leaves out read as their proto3 default, as cel-go reads a
// message; an absent sub-message has no fields (`has()` tells).
import { Environment } from '@marcbachmann/cel-js';
import protobuf from 'protobufjs';
import { messageType } from './grpc-json.js';

type Json = Record<string, unknown>;

/** Evaluation budget per event and expression: past it the event does not match (and it is counted). */
export const CEL_BUDGET_MS = 5;
/** Parse-time bounds: CEL has no loops, so the AST size and the event size bound the work. */
const LIMITS = { maxAstNodes: 2000, maxDepth: 64, maxListElements: 1000, maxMapEntries: 1000, maxCallArguments: 32 };

/** Counters of a compiled filter (shown by the agent's metrics/log when non-zero). */
export interface CelStats {
  errors: number;
  overBudget: number;
}

let env: Environment | null = null;
let kinds: { name: string; type: protobuf.Type }[] = [];

function celEnv(): Environment {
  if (env) return env;
  const resp = messageType('GetEventsResponse');
  kinds = resp.oneofs.event.fieldsArray.map((f) => ({ name: f.name, type: f.resolvedType as protobuf.Type }));
  const e = new Environment({ unlistedVariablesAreDyn: false, limits: LIMITS });
  for (const k of kinds) e.registerVariable(k.name, 'dyn');
  env = e;
  return e;
}

const INTS = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64']);
const WRAPPERS = new Set(['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue']);

/** A protojson value of field `f` -> its CEL value. */
function scalar(f: protobuf.Field, v: unknown): unknown {
  const rt = f.resolvedType;
  if (rt instanceof protobuf.Enum) return BigInt(typeof v === 'number' ? v : (rt.values[String(v)] ?? 0));
  if (INTS.has(f.type)) return typeof v === 'string' || typeof v === 'number' ? BigInt(v) : v;
  if (f.type === 'bytes') return typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'base64')) : v;
  return v;
}

function defaultOf(f: protobuf.Field): unknown {
  if (f.map) return {};
  if (f.repeated) return [];
  if (f.resolvedType instanceof protobuf.Enum || INTS.has(f.type)) return 0n;
  if (f.type === 'bool') return false;
  if (f.type === 'string') return '';
  if (f.type === 'double' || f.type === 'float') return 0;
  if (f.type === 'bytes') return new Uint8Array();
  return undefined; // a message: absent
}

function value(f: protobuf.Field, v: unknown): unknown {
  const rt = f.resolvedType;
  if (rt instanceof protobuf.Type) {
    const n = rt.fullName.replace(/^\.google\.protobuf\./, '');
    if (rt.fullName.startsWith('.google.protobuf.')) {
      if (n === 'Timestamp' && typeof v === 'string') return new Date(v);
      if (WRAPPERS.has(n)) return scalar(rt.fields.value, v);
      return v;
    }
    return message(rt, v as Json);
  }
  return scalar(f, v);
}

/** A protojson message -> a plain object CEL reads: typed values, proto3 defaults for absent scalars. */
function message(t: protobuf.Type, json: Json): Json {
  const out: Json = {};
  for (const f of t.fieldsArray) {
    const v = json?.[f.name];
    if (v === undefined || v === null) {
      const d = f.partOf ? undefined : defaultOf(f);
      if (d !== undefined) out[f.name] = d;
      continue;
    }
    if (f.map) out[f.name] = Object.fromEntries(Object.entries(v as Json).map(([k, x]) => [k, value(f, x)]));
    else if (f.repeated) out[f.name] = (v as unknown[]).map((x) => value(f, x));
    else out[f.name] = value(f, v);
  }
  return out;
}

/** The CEL activation of one event: its kind's variable only. */
export function celActivation(ev: Json): Json {
  celEnv();
  for (const k of kinds) {
    const body = ev[k.name];
    if (body && typeof body === 'object') return { [k.name]: message(k.type, body as Json) };
  }
  return {};
}

/**
 * Compiles CEL expressions into one predicate (any of them true: the values of one filter
 * field are alternatives, as for Tetragon's other filter fields). Throws with the reason when
 * an expression does not parse, names an unknown variable, or cannot yield a bool.
 */
export function compileCel(exprs: string[], stats: CelStats = { errors: 0, overBudget: 0 }): (ev: Json) => boolean {
  const e = celEnv();
  const progs = exprs.map((src) => {
    let p: ReturnType<Environment['parse']>;
    try {
      p = e.parse(src);
    } catch (x) {
      throw new Error(`invalid CEL expression ${JSON.stringify(src)}: ${firstLine(x)}`);
    }
    const c = p.check() as { valid: boolean; type?: string; error?: unknown };
    if (!c.valid) throw new Error(`invalid CEL expression ${JSON.stringify(src)}: ${firstLine(c.error)}`);
    if (c.type !== 'bool' && c.type !== 'dyn') throw new Error(`invalid CEL expression ${JSON.stringify(src)}: it yields ${c.type}, a filter needs bool`);
    return p;
  });
  return (ev) => {
    const act = celActivation(ev);
    for (const p of progs) {
      const t0 = performance.now();
      let r: unknown;
      try {
        r = p(act);
      } catch (x) {
        // an event of another kind leaves that kind's variable unbound: a plain no-match
        if (!/^Unknown variable/.test(firstLine(x))) stats.errors++;
        r = false;
      }
      if (performance.now() - t0 > CEL_BUDGET_MS) {
        stats.overBudget++;
        continue;
      }
      if (r === true) return true;
    }
    return false;
  };
}

function firstLine(x: unknown): string {
  const m = x instanceof Error ? x.message : typeof x === 'object' && x && 'message' in x ? String((x as { message: unknown }).message) : String(x);
  return m.split('\n')[0];
}
