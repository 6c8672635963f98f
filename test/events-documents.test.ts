// Event input shapes: JSON lines, pretty-printed objects one after another, arrays;
// and Tetragon's own recorded event files, which must all parse.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Verdict } from '../src/core/types.js';
import { decideShape, documentBatches, DocumentSplitter, fencedDocuments, type InputShape } from '../src/events/documents.js';
import { DryRunPipeline } from '../src/events/dryrun.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CORPUS_EVENTS = path.join(ROOT, '../shared/tetragon-corpus/events');

async function collect(chunks: string[]): Promise<{ shape: InputShape | undefined; docs: string[]; lines: number[] }> {
  const shape: { value?: InputShape } = {};
  const docs: string[] = [];
  const lines: number[] = [];
  for await (const b of documentBatches(Readable.from(chunks.map((c) => Buffer.from(c))), shape)) {
    docs.push(...b.docs);
    lines.push(...b.lines);
  }
  return { shape: shape.value, docs, lines };
}

const EXEC = '{"process_exec":{"process":{"pid":1,"binary":"/bin/a"}},"time":"2024-01-01T00:00:00Z"}';
const PRETTY = JSON.stringify(JSON.parse(EXEC), null, 2);

test('the shape is decided from the first non-blank line', () => {
  assert.is(decideShape(Buffer.from(`\n\n${EXEC}\n`)), 'lines');
  assert.is(decideShape(Buffer.from(`${PRETTY}\n`)), 'objects');
  assert.is(decideShape(Buffer.from(`  [${EXEC}]`)), 'array');
  assert.is(decideShape(Buffer.from('not json\n')), undefined); // prose: a fence may follow
  assert.is(decideShape(Buffer.from('not json\n'), true), 'lines');
  assert.is(decideShape(Buffer.from('Events look like this:\n\n```json\n{\n')), 'markdown');
  // the first line is not complete yet: undecided until more input or the end
  assert.is(decideShape(Buffer.from('{"process_exec":')), undefined);
  assert.is(decideShape(Buffer.from('{"process_exec":'), true), 'objects');
});

test('JSON lines: one event per line, a truncated line stays one malformed line', async () => {
  const r = await collect([`${EXEC}\n{"process_kprobe": {\n${EXEC}\n`]);
  assert.is(r.shape, 'lines');
  assert.equal(r.lines, [0, 1, 2]);
  assert.is(r.docs[1], '{"process_kprobe": {');
  assert.is(r.docs[2], EXEC);
});

test('pretty-printed objects one after another, split across chunks anywhere', async () => {
  const text = `${PRETTY}\n\n${PRETTY}\n`;
  // every split point of the input gives the same documents
  for (let cut = 1; cut < text.length; cut += 7) {
    const r = await collect([text.slice(0, cut), text.slice(cut)]);
    assert.is(r.shape, 'objects');
    assert.is(r.docs.length, 2, `cut at ${cut}`);
    assert.equal(JSON.parse(r.docs[0]), JSON.parse(EXEC));
    assert.equal(r.lines, [0, PRETTY.split('\n').length + 1]);
  }
});

test('strings with braces, quotes and escapes do not end an object', async () => {
  const tricky = '{\n "a": "} { [ ] \\" \\\\",\n "b": {"c": "\\"}"}\n}';
  const r = await collect([tricky, '\n', tricky]);
  assert.is(r.docs.length, 2);
  assert.equal(JSON.parse(r.docs[1]), { a: '} { [ ] " \\', b: { c: '"}' } });
});

test('arrays of events, several arrays, and junk between objects', async () => {
  const r = await collect([`[\n${PRETTY},\n${EXEC}\n]\n[${EXEC}]\n`]);
  assert.is(r.shape, 'array');
  assert.is(r.docs.length, 3);
  for (const d of r.docs) assert.equal(JSON.parse(d), JSON.parse(EXEC));
  const junk = new DocumentSplitter(false);
  const b = junk.push(`${PRETTY}\nnot json here\n${PRETTY}`, true);
  assert.is(b.docs.length, 3);
  assert.is(b.docs[1], 'not json here');
  assert.is(b.lines[1], PRETTY.split('\n').length);
});

test('markdown: only fenced blocks are read, at their own lines', async () => {
  const md = `Some prose with {braces}.\n\n\`\`\`json\n${PRETTY}\n\`\`\`\n\nMore prose.\n\`\`\`\n${EXEC}\n\`\`\`\n`;
  const r = await collect([md]);
  assert.is(r.shape, 'markdown');
  assert.is(r.docs.length, 2);
  assert.equal(r.lines, [3, PRETTY.split('\n').length + 7]);
  for (const d of r.docs) assert.equal(JSON.parse(d), JSON.parse(EXEC));
});

test('an unterminated object is handed on whole, at its first line', async () => {
  const r = await collect([`${PRETTY}\n{\n "process_exec": {\n`]);
  assert.is(r.docs.length, 2);
  assert.is(r.lines[1], PRETTY.split('\n').length);
  assert.throws(() => JSON.parse(r.docs[1]));
});

const NONE = { verdict: 'none', matches: [] } as unknown as Verdict;

// A docs fragment: markdown prose around a fence, `...` placeholders and a dangling comma.
// It is read with the placeholders as absent fields, and says so (documents.ts readFragment).
const FRAGMENTS = new Set(['en__docs__concepts__tracing-policy__selectors__L1382.json']);

test("Tetragon's recorded event files all parse (../shared/tetragon-corpus/events)", async () => {
  if (!existsSync(CORPUS_EVENTS)) {
    console.log('  skipped: ../shared/tetragon-corpus is absent');
    return;
  }
  const files = readdirSync(CORPUS_EVENTS).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 39, `${files.length} event files`);
  let events = 0;
  for (const f of files) {
    const p = new DryRunPipeline(() => NONE, { format: 'compact' });
    const errors: string[] = [];
    const frags: string[] = [];
    for await (const b of documentBatches(Readable.from([readFileSync(path.join(CORPUS_EVENTS, f))]))) {
      for (let i = 0; i < b.docs.length; i++) {
        const fr = b.fragments?.[i];
        if (fr !== undefined) frags.push(fr);
        if (p.line(b.docs[i], b.lines[i], fr) === null) errors.push(`${f}:${b.lines[i] + 1}: ${p.lastError}`);
      }
    }
    assert.equal(errors, [], f);
    assert.ok(p.counts.events > 0, `${f}: no events`);
    if (FRAGMENTS.has(f)) assert.equal(frags, ['a docs fragment: 2 `...` placeholders read as absent fields, 1 dangling comma dropped'], f);
    else assert.equal(frags, [], f);
    events += p.counts.events;
  }
  assert.ok(events >= files.length);
});

test('a docs fragment of an evaluated event kind: the verdict says fields were left out, never a silent no-match', () => {
  const md = [
    'An event:',
    '',
    '```json',
    '{',
    '  "process_kprobe": {',
    '    "process": {',
    '      ...',
    '    },',
    '    "function_name": "security_file_permission",',
    '  },',
    '}',
    '```',
    '',
  ].join('\n');
  const b = fencedDocuments(md);
  assert.is(b.docs.length, 1);
  assert.equal(JSON.parse(b.docs[0]), { process_kprobe: { process: {}, function_name: 'security_file_permission' } });
  const p = new DryRunPipeline(() => NONE, { format: 'json' });
  const out = p.line(b.docs[0], b.lines[0], b.fragments?.[0]);
  assert.match(
    out ?? '',
    /"unknown":"a docs fragment: 1 `\.\.\.` placeholder read as absent fields, 2 dangling commas dropped: a selector may read what was left out"/,
  );
  // a whole event in a fence is not a fragment
  assert.is(fencedDocuments('```json\n{"a": 1}\n```\n').fragments, undefined);
});

test.run();
