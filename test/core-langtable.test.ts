// README's language table is what scripts/gen-lang-table.mjs generates from the
// core's tables (hook kinds, argument types, operators, actions, options), the
// schema's selector fields and the load plan's catalog on the committed kernel
// features: edit the code, then run the generator; never the table.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { languageTables } from '../src/core/index.js';
import { ROOT } from './helpers/common.js';

interface Gen {
  generate(root: string): Promise<string>;
  BEGIN: string;
  END: string;
}
const gen = (): Promise<Gen> => import(pathToFileURL(path.join(ROOT, 'scripts/gen-lang-table.mjs')).href) as Promise<Gen>;

test('README.md holds the generated language table (run: npm run build && node scripts/gen-lang-table.mjs)', async () => {
  const g = await gen();
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const a = readme.indexOf(g.BEGIN);
  const b = readme.indexOf(g.END);
  assert.ok(a >= 0 && b > a, 'the markers are in README.md');
  assert.fixture(readme.slice(a, b + g.END.length), await g.generate(ROOT));
});

test('the table names every element of the core tables exactly once', async () => {
  const table = await (await gen()).generate(ROOT);
  const t = languageTables();
  assert.is(t.argTypes.length, 52);
  assert.is(t.operators.length, 36);
  const names = [...t.hookKinds.map((k) => k[0]), ...t.argTypes.map((x) => x[0]), ...t.operators.map((x) => x[0]), ...t.actions.map((x) => x[0]), ...t.options];
  for (const n of names) assert.ok(table.includes(`\`${n}\``), `${n} is in the table`);
});

test.run();
