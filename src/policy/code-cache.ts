// Loading the build's generated CommonJS files (yaml.gen.cjs, schema-validator.gen.cjs) with
// V8's code cache: `talon compile` otherwise compiles their functions again on every run
// (Node 20 has no module compile cache). The cache (<file>.v8cache) is written at build time
// by scripts/gen-code-cache.mjs after a warm-up, so it holds the functions a compile runs.
// It starts with the SHA-256 of the source it was made from: V8 itself checks only the
// source's length, so a cache of another source is never used; V8 rejects one of another
// V8 version or flags (then the file is compiled as without it).
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Script } from 'node:vm';

const DIGEST = 32;
const loaded = new Map<string, { script: Script; digest: Buffer }>();

/** what V8 says of the cache of each file loaded (tests, the build script) */
export const cacheUse = new Map<string, 'used' | 'rejected' | 'none'>();

/** `require(file)` of a CommonJS file, through its code cache when there is a valid one */
export function requireCached(file: string): unknown {
  const src = readFileSync(file, 'utf8');
  const digest = createHash('sha256').update(src).digest();
  let cachedData: Buffer | undefined;
  try {
    const c = readFileSync(`${file}.v8cache`);
    if (c.length > DIGEST && c.subarray(0, DIGEST).equals(digest)) cachedData = c.subarray(DIGEST);
  } catch {
    /* no cache: compiled as usual */
  }
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${src}\n})`, { filename: file, cachedData });
  cacheUse.set(file, cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'used');
  loaded.set(file, { script, digest });
  const module = { exports: {} as unknown };
  const fn = script.runInThisContext() as (...a: unknown[]) => void;
  fn.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  return module.exports;
}

/** Writes the code cache of the files loaded so far (all, or those named), with the functions run so far: the build's step. */
export function writeCodeCaches(only?: string[]): string[] {
  const out: string[] = [];
  for (const [file, { script, digest }] of loaded) {
    if (only && !only.includes(file)) continue;
    writeFileSync(`${file}.v8cache`, Buffer.concat([digest, script.createCachedData()]));
    out.push(`${file}.v8cache`);
  }
  return out;
}
