// The ajv options and keywords of the policy validator, shared by the run-time
// compile (src/policy/validate.ts) and the build-time standalone code
// (scripts/gen-validator.mjs), so that both validate alike.
export const AJV_OPTIONS = { allErrors: true, strict: true, allowUnionTypes: true, verbose: true } as const;
export const AJV_KEYWORDS = [{ keyword: 'x-unsupported', schemaType: 'array' }] as const;
