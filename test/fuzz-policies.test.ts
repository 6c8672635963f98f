// Policy fuzzing with a fixed seed: a few thousand mutants of the example and seed policies
// (line edits, odd scalars, YAML aliases and anchors, character flips, truncation) through
// `talon compile --check` in this process. Every mutant must exit 0 or 1, never 3, and every
// problem must be printed as file:line:col: path: message. The figures are printed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, ROOT } from './helpers/cli.js';
import { tempDir } from './helpers/common.js';
import { int, mutateChars, pick, rng, type Rand } from './helpers/fuzz.js';

const MUTANTS = 2500;
const SEED = 13;

function seeds(): string[] {
  const dirs = [join(ROOT, 'examples'), join(ROOT, '../shared/seeds/policies')];
  const out: string[] = [];
  for (const d of dirs) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d).sort()) if (f.endsWith('.yaml')) out.push(readFileSync(join(d, f), 'utf8'));
  }
  return out;
}

const ODD = [
  '',
  '-1',
  '0',
  '4294967296',
  '99999999999999999999999',
  '1e309',
  '0x1g',
  'true',
  'null',
  '~',
  '[]',
  '{}',
  '[[[[[]]]]]',
  '"\\u0000"',
  "'a\tb'",
  '*undefined_alias',
  '&anchor value',
  '!!binary aGVsbG8=',
  '!!str 1',
  'Sigkill',
  'Prefix',
  'NotInMap',
  '/etc/shadow',
  '10.0.0.0/33',
  '::1/129',
  '127.0.0.1/8',
  '${PODCIDR}',
  '"' + 'a'.repeat(300) + '"',
  '|\n  block',
  'a: b: c',
  '- x',
  '? complex',
];

function mutateLines(r: Rand, text: string): string {
  const lines = text.split('\n');
  const at = int(r, lines.length);
  switch (int(r, 7)) {
    case 0:
      lines.splice(at, 1);
      break;
    case 1:
      lines.splice(at, 0, lines[at] ?? '');
      break;
    case 2: {
      const b = int(r, lines.length);
      [lines[at], lines[b]] = [lines[b], lines[at]];
      break;
    }
    case 3:
      lines[at] = (int(r, 2) ? '  ' : '') + (lines[at] ?? '').replace(/^ {0,2}/, int(r, 2) ? '' : '\t');
      break;
    case 4: {
      // the value of a `key: value` line (or a list item) replaced by an odd one
      const m = /^(\s*(?:- )?[^:#]+:\s*|\s*- )(.*)$/.exec(lines[at] ?? '');
      if (m) lines[at] = m[1] + pick(r, ODD);
      else lines[at] = pick(r, ODD);
      break;
    }
    case 5: {
      // an anchor on one mapping line and an alias to it on another
      const m = /^(\s*[^:#\s-][^:#]*:)\s*$/.exec(lines[at] ?? '');
      if (m) {
        lines[at] = `${m[1]} &x`;
        lines.splice(int(r, lines.length), 0, `${(lines[at].match(/^\s*/) ?? [''])[0]}dup: *x`);
      } else lines.splice(at, 0, 'k: &x [*x]');
      break;
    }
    default:
      return mutateChars(r, text, '{}[]:,-&*!|>"\'#%@` \t\n0123456789abcxyz\\\u00e9\u0000');
  }
  return lines.join('\n');
}

test(`${MUTANTS} mutated policies: exit 0 or 1 with located messages, never an internal error`, async () => {
  const r = rng(SEED);
  const base = seeds();
  assert.ok(base.length >= 4, 'seed policies');
  const t = tempDir('talon-fuzz-pol-');
  const codes: Record<number, number> = {};
  const t0 = Date.now();
  try {
    for (let i = 0; i < MUTANTS; i++) {
      let text = pick(r, base);
      for (let k = 1 + int(r, 3); k > 0; k--) text = mutateLines(r, text);
      const f = join(t.dir, `m${i}.yaml`);
      writeFileSync(f, text);
      const res = await runCli(['compile', '--check', f]);
      codes[res.code] = (codes[res.code] ?? 0) + 1;
      const why = `mutant ${i} (seed ${SEED}):\n${text}\n--- stderr:\n${res.stderr}`;
      assert.ok(res.code === 0 || res.code === 1, `exit ${res.code}: ${why}`);
      assert.not.match(res.stderr, /internal error| {4}at |RangeError|TypeError/, why);
      for (const line of res.stderr.split('\n').filter(Boolean)) {
        if (line.startsWith('talon compile: ')) continue; // the summary
        assert.ok(line.startsWith(`${f}:`) && /^[^:]+:\d+:\d+: /.test(line), `not located: ${JSON.stringify(line)}\n${why}`);
      }
    }
  } finally {
    t.remove();
  }
  console.log(
    `  policy fuzz: ${MUTANTS} mutants (seed ${SEED}) in ${((Date.now() - t0) / 1000).toFixed(1)} s; exit codes ${JSON.stringify(codes)}; 0 internal errors`,
  );
});

test.run();
