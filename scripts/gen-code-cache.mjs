// Writes the V8 code caches of the generated CommonJS files that `talon compile` loads
// (dist/src/policy/*.gen.cjs.v8cache; see src/policy/code-cache.ts): after a warm-up that
// checks and compiles the example policies, so the cache holds the functions a compile runs.
// Run by scripts/gen-validator.mjs (after the bundles, in every build).
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist', 'src');
for (const f of readdirSync(path.join(dist, 'policy'))) if (f.endsWith('.v8cache')) rmSync(path.join(dist, 'policy', f));
if (!existsSync(path.join(root, 'build', 'talon.wasm'))) {
  // `npm run build:ts` before the core is built: no warm-up possible; talon runs without the caches
  console.warn('gen-code-cache: build/talon.wasm is not built yet: no code caches written (npm run build writes them)');
  process.exit(0);
}
const { checkPolicies } = await import(pathToFileURL(path.join(dist, 'policy', 'index.js')).href);
const { compile } = await import(pathToFileURL(path.join(dist, 'core', 'index.js')).href);
const { writeCodeCaches, cacheUse } = await import(pathToFileURL(path.join(dist, 'policy', 'code-cache.js')).href);
const dir = path.join(root, 'examples');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => ({ name: f, text: readFileSync(path.join(dir, f), 'utf8') }));
// twice: functions V8 compiles lazily on the first run are in the cache after the second
for (let i = 0; i < 2; i++) checkPolicies(files, { defaultNamespace: 'default' }, compile);
// a policy with errors too: the diagnostics' paths through the validator and the YAML nodes
checkPolicies(
  [{ name: 'bad.yaml', text: 'apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata: {name: x}\nspec: {kprobes: [{call: 1, bogus: 2}]}\n' }],
  { defaultNamespace: 'default' },
  compile,
);
if (cacheUse.size === 0) throw new Error('gen-code-cache: no generated file was loaded through the code cache');
writeCodeCaches();
