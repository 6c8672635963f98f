// GetEvents over gRPC: Tetragon's GetEventsRequest (allow/deny Filters,
// field filters, aggregation options) mapped onto talon's event filters
// (src/events/filter.ts, the same ones the ws subscriptions use), and
// Tetragon's field filters applied to the protojson events.
import { eventKind, eventType, normaliseEventType, type EventFilter, type FilterSet } from '../events/filter.js';

type Json = Record<string, unknown>;

/** Filter fields talon evaluates, Tetragon name -> talon's EventFilter key (the same names). */
const SUPPORTED: (keyof EventFilter)[] = [
  'binary_regex',
  'namespace',
  'pid',
  'event_set',
  'pod_regex',
  'arguments_regex',
  'policy_names',
  'container_name_regex',
  'namespace_regex',
  'cel_expression',
];

/** Filter fields of Tetragon's Filter talon cannot evaluate: a request using them is refused, never half applied. */
const UNSUPPORTED = [
  'health_check',
  'pid_set',
  'labels',
  'capabilities',
  'parent_binary_regex',
  'parent_arguments_regex',
  'container_id',
  'in_init_tree',
  'ancestor_binary_regex',
];

/** A request talon refuses (INVALID_ARGUMENT). */
export class BadRequest extends Error {}

/** One Tetragon Filter (protojson) -> talon's EventFilter. */
export function filterOf(f: Json, where: string): EventFilter {
  const out: EventFilter = {};
  for (const [k, v] of Object.entries(f)) {
    if (v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    if (UNSUPPORTED.includes(k)) throw new BadRequest(`${where}: filter field ${k} is not supported by talon (supported: ${SUPPORTED.join(', ')})`);
    if (!(SUPPORTED as string[]).includes(k)) throw new BadRequest(`${where}: unknown filter field ${k}`);
    if (k === 'event_set') {
      out.event_set = (v as string[]).map((t) => {
        try {
          return normaliseEventType(String(t));
        } catch (e) {
          throw new BadRequest(`${where}: ${(e as Error).message}`);
        }
      });
    } else if (k === 'pid') {
      out.pid = (v as (number | string)[]).map(Number);
    } else {
      (out as Record<string, unknown>)[k] = (v as unknown[]).map(String);
    }
  }
  return out;
}

/** GetEventsRequest (protojson) -> the FilterSet of a pipeline subscription. */
export function filterSetOf(req: Json): FilterSet {
  const list = (k: string) => ((req[k] ?? []) as Json[]).map((f, i) => filterOf(f, `${k}[${i}]`));
  const fs: FilterSet = {};
  const allow = list('allow_list');
  const deny = list('deny_list');
  if (allow.length) fs.allow = allow;
  if (deny.length) fs.deny = deny;
  return fs;
}

/** Tetragon's field filters, compiled: each applies in order to the event body of the kinds it names. */
export function fieldFiltersOf(req: Json): (ev: Json) => Json {
  const filters = ((req.field_filters ?? []) as Json[]).map((f, i) => {
    const kinds = ((f.event_set ?? []) as string[]).map((t) => {
      try {
        return normaliseEventType(String(t));
      } catch (e) {
        throw new BadRequest(`field_filters[${i}]: ${(e as Error).message}`);
      }
    });
    const action = f.action ?? 'INCLUDE';
    if (action !== 'INCLUDE' && action !== 'EXCLUDE') throw new BadRequest(`field_filters[${i}]: invalid action ${JSON.stringify(action)}`);
    const fields = typeof f.fields === 'string' ? f.fields : '';
    const paths = fields === '' ? [] : fields.split(',').map((p) => p.split('.').map(snake));
    return { kinds: new Set(kinds), invert: f.invert_event_set === true, include: action === 'INCLUDE', paths };
  });
  if (filters.length === 0) return (ev) => ev;
  return (ev) => {
    const k = eventKind(ev);
    if (!k) return ev;
    const type = eventType(ev) ?? '';
    let body = ev[k] as Json;
    for (const f of filters) {
      // an event_set limits the filter to those kinds (or, inverted, to the others)
      if (f.kinds.size && f.kinds.has(type) === f.invert) continue;
      body = f.include ? keepPaths(body, f.paths) : dropPaths(body, f.paths);
    }
    return { ...ev, [k]: body };
  };
}

const snake = (s: string) => s.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`));

/** Only the given paths (a path to a message keeps all of it; lists apply the rest of the path to each element). */
function keepPaths(v: unknown, paths: string[][]): Json {
  if (paths.some((p) => p.length === 0)) return v as Json;
  const out: Json = {};
  const obj = v as Json;
  const byHead = new Map<string, string[][]>();
  for (const p of paths) byHead.set(p[0], [...(byHead.get(p[0]) ?? []), p.slice(1)]);
  for (const [head, rest] of byHead) {
    if (!(head in obj)) continue;
    const x = obj[head];
    if (rest.some((r) => r.length === 0)) out[head] = x;
    else if (Array.isArray(x)) out[head] = x.map((e) => (e && typeof e === 'object' ? keepPaths(e, rest) : e));
    else if (x && typeof x === 'object') out[head] = keepPaths(x, rest);
  }
  return out;
}

function dropPaths(v: unknown, paths: string[][]): Json {
  const obj = { ...(v as Json) };
  for (const p of paths) {
    if (p.length === 0) continue;
    if (p.length === 1) {
      delete obj[p[0]];
      continue;
    }
    const x = obj[p[0]];
    if (Array.isArray(x)) obj[p[0]] = x.map((e) => (e && typeof e === 'object' ? dropPaths(e, [p.slice(1)]) : e));
    else if (x && typeof x === 'object') obj[p[0]] = dropPaths(x, [p.slice(1)]);
  }
  return obj;
}
