// The build-time standalone validator (scripts/gen-validator.mjs) is of the
// current schema and judges documents as ajv compiling the schema at run time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import { policySchema } from '../src/policy/schema.js';
import { AJV_KEYWORDS, AJV_OPTIONS, validatorSchema } from '../src/policy/ajv-options.js';

const require = createRequire(import.meta.url);

const docs: unknown[] = [
  { apiVersion: 'cilium.io/v1alpha1', kind: 'TracingPolicy', metadata: { name: 'a' }, spec: { kprobes: [{ call: 'x', syscall: false }] } },
  { apiVersion: 'cilium.io/v1alpha1', kind: 'TracingPolicy', metadata: { name: 'a', uid: 'u' }, spec: { kprobes: [{ call: 1, sylscall: false }] } },
  { kind: 'TracingPolicy', metadata: {}, spec: { kprobes: 'no', lists: [] } },
  {
    apiVersion: 'v',
    kind: 'k',
    metadata: { name: 'n' },
    spec: { kprobes: [{ call: 'c', selectors: [{ matchArgs: [{ index: 'zero', operator: 'Equal', values: [1, 'a', true] }] }] }] },
  },
  null,
  [],
];

test('the generated validator is of the current schema', () => {
  const m = require('../src/policy/schema-validator.gen.cjs') as { default: ValidateFunction; schemaJson: string };
  assert.type(m.default, 'function');
  assert.is(m.schemaJson, JSON.stringify(policySchema), 'regenerate with node scripts/gen-validator.mjs');
});

test('the generated validator judges as the run-time compile: verdicts and errors', () => {
  const gen = (require('../src/policy/schema-validator.gen.cjs') as { default: ValidateFunction }).default;
  const ajv = new Ajv(AJV_OPTIONS);
  for (const k of AJV_KEYWORDS) ajv.addKeyword(k);
  const rt = ajv.compile(validatorSchema(policySchema));
  let invalid = 0;
  for (const d of docs) {
    const a = gen(d),
      b = rt(d);
    assert.is(a, b, JSON.stringify(d));
    if (!a) invalid++;
    const strip = (es: typeof rt.errors) =>
      JSON.stringify((es ?? []).map((e) => ({ ...e, schema: JSON.stringify(e.schema), parentSchema: JSON.stringify(e.parentSchema) })));
    assert.is(strip(gen.errors), strip(rt.errors), JSON.stringify(d));
  }
  assert.ok(invalid >= 4, 'the invalid documents are refused');
});

test('the shared subschemas moved to $defs judge as the schema written inline', () => {
  const compile = (schema: Record<string, unknown>) => {
    const ajv = new Ajv({ ...AJV_OPTIONS, inlineRefs: true });
    for (const k of AJV_KEYWORDS) ajv.addKeyword(k);
    return ajv.compile(schema);
  };
  const hoisted = validatorSchema(policySchema);
  assert.ok(Object.keys((hoisted.$defs ?? {}) as object).length > 0, 'some subschemas are shared');
  const inline = compile(policySchema),
    refs = compile(hoisted);
  for (const d of docs) {
    assert.is(refs(d), inline(d), JSON.stringify(d));
    // the same errors at the same places; the path in the schema differs, and a parent's
    // subschemas may be references: what validate.ts reads of it (field names, x-unsupported) may not
    const strip = (es: typeof inline.errors) =>
      JSON.stringify(
        (es ?? []).map((e) => {
          const p = (e.parentSchema ?? {}) as { properties?: object; 'x-unsupported'?: string[]; type?: unknown };
          return { ...e, schemaPath: '', parentSchema: { fields: Object.keys(p.properties ?? {}), unsupported: p['x-unsupported'], type: p.type } };
        }),
      );
    assert.is(strip(refs.errors), strip(inline.errors), JSON.stringify(d));
  }
});

test.run();
