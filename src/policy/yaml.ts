// Reading policy files: YAML streams of one or more documents, with the
// positions needed to point every diagnostic at its line and column.

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as Yaml from 'yaml';
import type { Document, LineCounter, Node, Pair } from 'yaml';
import { requireCached } from './code-cache.js';
import { normalizeDoc } from './normalize.js';
import type { Anchor, Path } from './validate.js';

/** the yaml package, from its one-file build (scripts/bundle-yaml.mjs: start-up time, with its code cache) when present */
function loadYaml(): typeof Yaml {
  try {
    return requireCached(fileURLToPath(new URL('./yaml.gen.cjs', import.meta.url))) as typeof Yaml;
  } catch {
    return createRequire(import.meta.url)('yaml') as typeof Yaml;
  }
}
const { isAlias, isMap, isPair, isScalar, isSeq, LineCounter: LineCounterClass, parseAllDocuments } = loadYaml();

export interface PolicySource {
  /** the name diagnostics use (the path as given on the command line) */
  name: string;
  text: string;
  lineCounter: LineCounter;
}

/** One YAML document of a policy file that parsed without syntax errors. */
export interface PolicyDocument {
  source: PolicySource;
  /** 0-based position of the document in its file */
  index: number;
  doc: Document.Parsed;
  /** the document as a plain JSON value (see normalize.ts) */
  value: unknown;
}

/** a policy nests about 10 levels; the core reads at most 256 */
const MAX_DEPTH = 64;
const MAX_ALIASES = 1000;

/** the first node nested deeper than MAX_DEPTH (iterative: the input may nest thousands deep) */
function tooDeep(root: unknown): Node | null {
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [n, d] = stack.pop()!;
    if (d > MAX_DEPTH) return n as Node;
    if (isMap(n) || isSeq(n)) for (const it of n.items) stack.push([it, d + 1]);
    else if (isPair(n)) {
      stack.push([n.key, d]);
      stack.push([n.value, d]);
    }
  }
  return null;
}

/** the first alias node of a document, in document order */
function firstAlias(root: unknown): Node | null {
  let found: Node | null = null;
  const stack: unknown[] = [root];
  while (stack.length > 0 && found === null) {
    const n = stack.pop();
    if (isAlias(n)) found = n;
    else if (isMap(n) || isSeq(n)) for (let i = n.items.length - 1; i >= 0; i--) stack.push(n.items[i]);
    else if (isPair(n)) stack.push(n.value, n.key);
  }
  return found;
}

export interface Position {
  line: number;
  col: number;
  offset: number;
}

/** A syntax problem found while reading a file, before any document is checked. */
export interface SyntaxProblem {
  source: PolicySource;
  pos: Position;
  message: string;
  severity: 'error' | 'warning';
}

export function position(source: PolicySource, offset: number): Position {
  const o = Math.max(0, Math.min(offset, source.text.length));
  const lp = source.lineCounter.linePos(o);
  return { line: lp.line, col: lp.col, offset: o };
}

/** Splits a policy file into documents. Documents with syntax errors are reported and left out. */
export function readPolicySource(name: string, text: string): { docs: PolicyDocument[]; problems: SyntaxProblem[] } {
  const lineCounter = new LineCounterClass();
  const source: PolicySource = { name, text, lineCounter };
  const problems: SyntaxProblem[] = [];
  const docs: PolicyDocument[] = [];
  const parsed = parseAllDocuments(text, { lineCounter, intAsBigInt: true, prettyErrors: false, uniqueKeys: true });
  if ('empty' in parsed) {
    // an empty stream: only comments and directives
    for (const e of parsed.errors) problems.push({ source, pos: position(source, e.pos[0]), message: e.message, severity: 'error' });
  }
  // a Go template left unrendered (Tetragon's testdata/*.tmpl): say where, after parsing (positions need the line counter)
  for (const m of text.matchAll(/\{\{[^\n]*?\}\}/g)) {
    const lineStart = text.lastIndexOf('\n', m.index) + 1;
    if (/^\s*#/.test(text.slice(lineStart, m.index))) continue; // in a comment
    problems.push({
      source,
      pos: position(source, m.index ?? 0),
      message: `a Go template placeholder ${m[0]} is left in the file: render the template first`,
      severity: 'error',
    });
  }
  const list: Document.Parsed[] = [...parsed];
  let seen = 0;
  list.forEach((doc, index) => {
    let tooDeepToParse = false;
    for (const e of doc.errors) {
      // the YAML parser's own stack ran out (once per level it unwinds): the input nests far past
      // what a policy needs; said once, at the first place
      const deepParse = /Maximum call stack size exceeded/.test(e.message);
      if (deepParse && tooDeepToParse) continue;
      tooDeepToParse ||= deepParse;
      const message = deepParse ? `the document nests too deeply to parse here (at most ${MAX_DEPTH} levels)` : e.message;
      problems.push({ source, pos: position(source, errorOffset(text, e.code, e.message, e.pos[0])), message, severity: 'error' });
    }
    for (const w of doc.warnings) problems.push({ source, pos: position(source, w.pos[0]), message: w.message, severity: 'warning' });
    if (doc.errors.length > 0) {
      seen++;
      return;
    }
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return; // empty document
    seen++;
    const deep = tooDeep(doc.contents);
    if (deep) {
      problems.push({
        source,
        pos: position(source, deep.range?.[0] ?? 0),
        message: `the document nests deeper than ${MAX_DEPTH} levels here`,
        severity: 'error',
      });
      return;
    }
    let value: unknown;
    try {
      value = normalizeDoc(doc.toJS({ maxAliasCount: MAX_ALIASES }));
    } catch (e) {
      // yaml's resource checks (alias bombs) and an alias inside its own anchor: errors of the input
      const alias = firstAlias(doc.contents);
      const why = /alias count/i.test((e as Error).message)
        ? `aliases expand to too much data (more than ${MAX_ALIASES} alias expansions): a YAML alias bomb?`
        : `an alias refers to the node that contains it (or the aliases nest too deeply): ${(e as Error).message}`;
      problems.push({ source, pos: position(source, alias?.range?.[0] ?? doc.range[0]), message: why, severity: 'error' });
      return;
    }
    docs.push({ source, index, doc, value });
  });
  if (seen === 0 && problems.every((p) => p.severity !== 'error')) {
    problems.push({ source, pos: position(source, 0), message: 'no policy document in this file', severity: 'error' });
  }
  return { docs, problems };
}

/**
 * Where a syntax error should point. The parser reports an unterminated quoted
 * string at the end of the input; the opening quote is what to fix.
 */
function errorOffset(text: string, code: string, message: string, offset: number): number {
  if (code !== 'MISSING_CHAR' || !/quote/.test(message)) return offset;
  const quote = message.includes("'") ? "'" : '"';
  // the last (unescaped) quote before the end opened the string: nothing after it closed it
  let q = text.lastIndexOf(quote, Math.min(offset, text.length) - 1);
  while (q > 0 && quote === '"') {
    let k = q - 1;
    while (k >= 0 && text[k] === '\\') k--;
    if ((q - 1 - k) % 2 === 0) break;
    q = text.lastIndexOf(quote, q - 1);
  }
  return q >= 0 ? q : offset;
}

function findPair(map: { items: Pair[] }, key: string | number): Pair | undefined {
  let loose: Pair | undefined;
  for (const p of map.items) {
    if (!isPair(p)) continue;
    const k = p.key;
    const kv = isScalar(k) ? k.value : k;
    if (kv === null || kv === undefined) continue;
    if (String(kv) === String(key)) return p;
    // a key renamed to its canonical spelling (canonicalKeys: matchPids -> matchPIDs)
    if (loose === undefined && String(kv).toLowerCase() === String(key).toLowerCase()) loose = p;
  }
  return loose;
}

function start(n: unknown): number | undefined {
  const r = (n as Node | null | undefined)?.range;
  return Array.isArray(r) ? r[0] : undefined;
}

function isEmptyValue(n: unknown): boolean {
  if (!isScalar(n)) return n === null || n === undefined;
  const r = n.range;
  return n.value === null && (r === undefined || r === null || r[0] === r[1]);
}

/**
 * The offset a diagnostic about `path` should point at. When the path does not
 * exist (a missing field), the deepest node that does exists: the parent map.
 */
export function locate(doc: Document.Parsed, path: Path, at: Anchor): number {
  let node: unknown = doc.contents;
  let fallback = start(node) ?? 0;
  let keyOffset: number | undefined;
  for (const seg of path) {
    keyOffset = undefined;
    if (isMap(node)) {
      const pair = findPair(node, seg);
      if (pair === undefined) return fallback;
      keyOffset = start(pair.key);
      node = pair.value;
      const s = start(node);
      if (s === undefined || isEmptyValue(node)) {
        // `field:` with no value: point at the key
        return keyOffset ?? fallback;
      }
      fallback = s;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      const s = start(item);
      if (item === undefined || s === undefined) return fallback;
      node = item;
      fallback = s;
    } else {
      return fallback;
    }
  }
  if (at === 'key' && keyOffset !== undefined) return keyOffset;
  return fallback;
}
