// The one-file build of the yaml package (scripts/bundle-yaml.mjs) is the
// installed package: same version, same documents and errors for real policies.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as Yaml from 'yaml';

const require = createRequire(import.meta.url);
const SEEDS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/seeds/policies');

const bundled = () => require('../src/policy/yaml.gen.cjs') as typeof Yaml & { bundledVersion: string };

test('the bundle is of the installed yaml version', () => {
  const pkg = JSON.parse(readFileSync(require.resolve('yaml/package.json'), 'utf8')) as { version: string };
  assert.is(bundled().bundledVersion, pkg.version, 'rebuild: node scripts/gen-validator.mjs');
});

test('the bundle parses the seed policies and a broken file as the package does', () => {
  const texts = readdirSync(SEEDS)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => readFileSync(path.join(SEEDS, f), 'utf8'));
  assert.ok(texts.length > 3, 'seed policies found');
  texts.push('a: [1, 2\nb: &x {c: *y}\n---\n- z: "unterminated\n');
  const B = bundled();
  for (const text of texts) {
    const view = (Y: typeof Yaml) => {
      const lc = new Y.LineCounter();
      return JSON.stringify(
        Y.parseAllDocuments(text, { lineCounter: lc, intAsBigInt: true }).map((d) => ({
          js: d.errors.length ? null : d.toJS({}),
          errors: d.errors.map((e) => [e.code, e.message, e.pos]),
          range: d.range,
          isMap: Y.isMap(d.contents),
        })),
        (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v),
      );
    };
    assert.is(view(B), view(Yaml), text.slice(0, 60));
  }
});

test.run();
