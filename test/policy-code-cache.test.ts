// The V8 code cache of the generated CommonJS files (src/policy/code-cache.ts): used when it is
// of this very source, never for another source (even of the same length), and a cache V8
// rejects only costs the compile.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cacheUse, requireCached, writeCodeCaches } from '../src/policy/code-cache.js';
import { ROOT, tempDir } from './helpers/common.js';

test('a cache is used for its source only', () => {
  const t = tempDir('talon-cc-');
  try {
    const file = join(t.dir, 'm.cjs');
    writeFileSync(file, 'module.exports = { v: 1, twice: (x) => x * 2 };\n');
    assert.equal((requireCached(file) as { v: number }).v, 1);
    assert.is(cacheUse.get(file), 'none', 'no cache yet');
    assert.equal(writeCodeCaches([file]), [`${file}.v8cache`]);
    const m = requireCached(file) as { v: number; twice: (x: number) => number };
    assert.is(cacheUse.get(file), 'used');
    assert.equal([m.v, m.twice(21)], [1, 42]);
    // another source of the same length: V8 alone would take the cache; the digest does not
    writeFileSync(file, 'module.exports = { v: 2, twice: (x) => x * 3 };\n');
    const m2 = requireCached(file) as { v: number; twice: (x: number) => number };
    assert.is(cacheUse.get(file), 'none');
    assert.equal([m2.v, m2.twice(21)], [2, 63]);
    // the right digest over bytes V8 cannot use (a source this process has not compiled yet): rejected, compiled as without it
    const src = 'module.exports = { v: 3, twice: (x) => x * 4 };\n';
    writeFileSync(file, src);
    writeFileSync(`${file}.v8cache`, Buffer.concat([createHash('sha256').update(src).digest(), Buffer.alloc(256, 7)]));
    assert.equal((requireCached(file) as { v: number }).v, 3);
    assert.is(cacheUse.get(file), 'rejected');
  } finally {
    t.remove();
  }
});

test('the build writes the caches and a compile in a fresh process uses them', () => {
  const yaml = join(ROOT, 'dist', 'src', 'policy', 'yaml.gen.cjs');
  assert.ok(existsSync(`${yaml}.v8cache`), 'npm run build writes dist/src/policy/yaml.gen.cjs.v8cache');
  assert.ok(existsSync(join(ROOT, 'dist', 'src', 'policy', 'schema-validator.gen.cjs.v8cache')));
  // a process of its own, as `talon compile` is: V8 rejects a cache made under other flags,
  // and this test process has others (the regex filters enable V8's linear regexp engine)
  const url = (f: string) => pathToFileURL(join(ROOT, 'dist', 'src', f)).href;
  const script = `
    import { checkPolicies } from ${JSON.stringify(url('policy/index.js'))};
    import { compile } from ${JSON.stringify(url('core/index.js'))};
    import { cacheUse } from ${JSON.stringify(url('policy/code-cache.js'))};
    import { readFileSync } from 'node:fs';
    const text = readFileSync(${JSON.stringify(join(ROOT, 'examples', 'file-monitoring-enforce.yaml'))}, 'utf8');
    const r = checkPolicies([{ name: 'p.yaml', text }], { defaultNamespace: 'default' }, compile);
    console.log(JSON.stringify({ image: !!r.image, yaml: cacheUse.get(${JSON.stringify(yaml)}) }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), { image: true, yaml: 'used' }, 'the example compiles; the YAML parser came from its cache');
});

test.run();
