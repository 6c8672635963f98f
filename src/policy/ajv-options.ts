// The ajv options and keywords of the policy validator, shared by the run-time
// compile (src/policy/validate.ts) and the build-time standalone code
// (scripts/gen-validator.mjs), so that both validate alike.
//
// inlineRefs: false with validatorSchema(): every subschema the schema uses at
// more than one place (a selector sits under kprobes, tracepoints, uprobes,
// lsmhooks ...) becomes one function instead of a copy per place. The
// standalone module shrinks from about 1.1 MB of one function, which V8 had to
// compile whole at every `talon compile`, to functions compiled when called.
export const AJV_OPTIONS = { allErrors: true, strict: true, allowUnionTypes: true, verbose: true, inlineRefs: false } as const;
export const AJV_KEYWORDS = [{ keyword: 'x-unsupported', schemaType: 'array' }] as const;

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The schema to compile: `schema` with each object schema of its own
 * properties that occurs more than once (the same JS object) moved to `$defs`
 * and referenced. It accepts and refuses exactly what `schema` does.
 */
export function validatorSchema(schema: Json): Json {
  const seen = new Map<object, number>();
  const count = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(count);
    else if (isObj(v)) {
      if (isObj(v.properties)) seen.set(v, (seen.get(v) ?? 0) + 1);
      Object.values(v).forEach(count);
    }
  };
  count(schema);
  const names = new Map<object, string>();
  for (const [o, n] of seen) if (n > 1 && o !== schema) names.set(o, `s${names.size}`);
  const defs: Json = {};
  const copy = (v: unknown, top = false): unknown => {
    if (Array.isArray(v)) return v.map((x) => copy(x));
    if (!isObj(v)) return v;
    const name = top ? undefined : names.get(v);
    if (name !== undefined) {
      if (!(name in defs)) {
        defs[name] = {}; // placeholder first: a def that contains itself ends
        defs[name] = copy(v, true);
      }
      return { $ref: `#/$defs/${name}` };
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copy(x)]));
  };
  const root = copy(schema, true) as Json;
  return names.size ? { ...root, $defs: defs } : root;
}
