// Shape validation of policy documents against the JSON schema, with messages
// written for people editing YAML.

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { policySchema } from './schema.js';
import { AJV_KEYWORDS, AJV_OPTIONS, validatorSchema } from './ajv-options.js';
import { requireCached } from './code-cache.js';

export type Path = (string | number)[];

/** Where in the YAML a problem should point: the key of a field, its value, or the node at `path` itself. */
export type Anchor = 'key' | 'value' | 'node';

export interface ShapeProblem {
  path: Path;
  message: string;
  at: Anchor;
  /** a missing required field: its name (`path` is the map that lacks it) */
  missing?: string;
}

let validator: ValidateFunction | undefined;

const require = createRequire(import.meta.url);

/** the validator generated at build time (scripts/gen-validator.mjs), when it is of this schema */
function generated(): ValidateFunction | undefined {
  try {
    const m = requireCached(fileURLToPath(new URL('./schema-validator.gen.cjs', import.meta.url))) as { default?: ValidateFunction; schemaJson?: string };
    if (m.default && m.schemaJson === JSON.stringify(policySchema)) return m.default;
  } catch {
    /* not generated (tsc without the generator): compile below */
  }
  return undefined;
}

function getValidator(): ValidateFunction {
  if (validator === undefined) {
    validator = generated();
    if (validator === undefined) {
      // compiling the schema costs about 0.27 s: only when the generated module is missing or stale
      const { Ajv } = require('ajv') as typeof import('ajv');
      const ajv = new Ajv(AJV_OPTIONS);
      for (const k of AJV_KEYWORDS) ajv.addKeyword(k);
      validator = ajv.compile(validatorSchema(policySchema));
    }
  }
  return validator;
}

/** Edit distance (Levenshtein), case-insensitive. */
export function editDistance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/** The closest candidate to `name`, if it is close enough to be a likely typo. */
export function suggest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.min(3, Math.floor(Math.max(name.length, best.length) / 3)));
  return bestD <= limit ? best : undefined;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'a boolean (true or false)',
  object: 'a map',
  array: 'a list',
  null: 'empty',
};

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  switch (typeof v) {
    case 'string':
      return 'a string';
    case 'number':
      return Number.isInteger(v) ? 'an integer' : `a number (${v})`;
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'a map';
    default:
      return typeof v;
  }
}

function expected(types: unknown): string {
  const list = (Array.isArray(types) ? types : String(types).split(',')).filter((t) => t !== 'null');
  const names = list.map((t) => TYPE_NAMES[t] ?? t);
  if (names.length <= 1) return names[0] ?? 'a value';
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

function pointerToPath(pointer: string, data: unknown): Path {
  if (pointer === '') return [];
  const out: Path = [];
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      const n = Number(seg);
      out.push(n);
      cur = cur[n];
    } else {
      out.push(seg);
      cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}

function convert(e: ErrorObject, data: unknown): ShapeProblem {
  const path = pointerToPath(e.instancePath, data);
  const parent = (e.parentSchema ?? {}) as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const field = String((e.params as { additionalProperty: string }).additionalProperty);
      const unsupported = (parent['x-unsupported'] as string[] | undefined) ?? [];
      if (unsupported.includes(field)) {
        return { path: [...path, field], message: `field "${field}" is not supported by talon yet`, at: 'key' };
      }
      const known = Object.keys((parent.properties as Record<string, unknown> | undefined) ?? {});
      const near = suggest(field, known);
      if (near !== undefined) {
        return { path: [...path, field], message: `unknown field "${field}" (did you mean "${near}"?)`, at: 'key' };
      }
      const nearUnsupported = suggest(field, unsupported);
      if (nearUnsupported !== undefined) {
        return {
          path: [...path, field],
          message: `unknown field "${field}" (did you mean "${nearUnsupported}"? it is not supported by talon yet)`,
          at: 'key',
        };
      }
      return { path: [...path, field], message: `unknown field "${field}"`, at: 'key' };
    }
    case 'required': {
      const field = String((e.params as { missingProperty: string }).missingProperty);
      return { path, message: `missing required field "${field}"`, at: 'node', missing: field };
    }
    case 'type':
      return { path, message: `expected ${expected((e.params as { type: unknown }).type)}, got ${describe(e.data)}`, at: 'value' };
    default:
      return { path, message: e.message ?? `invalid (${e.keyword})`, at: 'value' };
  }
}

/** Checks one document (a JSON value, see normalize.ts) against the policy schema. */
export function validateShape(doc: unknown): ShapeProblem[] {
  const validate = getValidator();
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => convert(e, doc));
}

/**
 * Field names as Tetragon reads them: Kubernetes' JSON decoding matches struct
 * fields case-insensitively, so `matchPids` means `matchPIDs`. Renames every key
 * that equals a known field of its place but for case to that field's spelling
 * (in place; an exact spelling always wins).
 */
export function canonicalKeys(doc: unknown, schema: Record<string, unknown> = policySchema): unknown {
  if (doc === null || typeof doc !== 'object') return doc;
  if (Array.isArray(doc)) {
    const items = schema.items as Record<string, unknown> | undefined;
    if (items !== undefined) for (const x of doc) canonicalKeys(x, items);
    return doc;
  }
  const o = doc as Record<string, unknown>;
  const props = schema.properties as Record<string, Record<string, unknown>> | undefined;
  const extra = schema.additionalProperties;
  for (const k of Object.keys(o)) {
    let key = k;
    if (props !== undefined && !(k in props)) {
      const lc = k.toLowerCase();
      const match = Object.keys(props).find((p) => p.toLowerCase() === lc);
      if (match !== undefined && !(match in o)) {
        o[match] = o[k];
        delete o[k];
        key = match;
      }
    }
    const sub = props?.[key] ?? (typeof extra === 'object' && extra !== null ? (extra as Record<string, unknown>) : undefined);
    if (sub !== undefined) canonicalKeys(o[key], sub);
  }
  return doc;
}
