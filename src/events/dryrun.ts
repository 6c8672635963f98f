// The dry-run pipeline: one Tetragon event line in, one verdict line out.
// Matching is not done here: the evaluate function (the Wasm core's Evaluator,
// or several combined) decides; this module parses, converts and formats.

import type { EvalEvent, Match, Verdict, VerdictKind } from '../core/types.js';
import { plainColorer, type Colorer } from './color.js';
import { CompactRenderer } from './compact.js';
import { toEvalEvent } from './convert.js';
import { parseEventLine, parseEventLineForEval } from './parse.js';
import { coreHookLookup, RecordWriter } from './record.js';

/** `readsContext` false: no selector reads EvalEvent.process / fileTypes, so the conversion may skip them */
export type Evaluate = ((ev: EvalEvent) => Verdict) & { readsContext?: boolean };
export type DryRunFormat = 'json' | 'compact';

export const VERDICTS: readonly VerdictKind[] = ['kill', 'override', 'signal', 'post', 'none'];

/** Strength of a verdict when several images judge one event: kill > override > signal > post > none. */
const RANK: Record<VerdictKind, number> = { kill: 4, override: 3, signal: 2, post: 1, none: 0 };

/** Combines the verdicts of several images on one event: the strongest verdict, all matches in order. */
export function mergeVerdicts(verdicts: Verdict[]): Verdict {
  if (verdicts.length === 1) return verdicts[0];
  let verdict: VerdictKind = 'none';
  const matches: Match[] = [];
  let unknown: string | undefined;
  for (const v of verdicts) {
    if (RANK[v.verdict] > RANK[verdict]) verdict = v.verdict;
    for (const m of v.matches) matches.push(m);
    if (v.unknown !== undefined && unknown === undefined) unknown = v.unknown;
  }
  return unknown === undefined ? { verdict, matches } : { verdict, matches, unknown };
}

/** What fastEvaluate needs of the core's Evaluator. */
export interface RecordEvaluator {
  evaluate(ev: EvalEvent): Verdict;
  encode(ev: EvalEvent): Uint8Array;
  evaluateEncoded(bytes: Uint8Array): number;
  lastVerdict?(code: number): Verdict;
  lastMatchCount?(): number;
  lastUnknown?(): boolean;
  readsContext?: boolean;
}

/**
 * An Evaluate over the core's allocation-free path: the event record is written
 * in the host (RecordWriter) and evaluated with evaluateEncoded; the verdict's
 * matches are read from the core's match records (lastVerdict: no JSON, nothing
 * to collect), only when the core recorded any (a verdict of none can still
 * hide silent matches: NoPost, an exhausted rate limit).
 */
export function fastEvaluate(e: RecordEvaluator): Evaluate {
  const last = e.lastVerdict;
  const reads = e.readsContext !== false;
  if (typeof last !== 'function' || typeof e.lastMatchCount !== 'function') return Object.assign((ev: EvalEvent) => e.evaluate(ev), { readsContext: reads });
  const writer = new RecordWriter(coreHookLookup((ev) => e.encode(ev)));
  const f: Evaluate = (ev) => {
    const code = e.evaluateEncoded(writer.write(ev));
    if (code < 0) return e.evaluate(ev);
    // only selectors decided from the spec record (readsContext) can leave a selector undecided
    if (code === 0 && e.lastMatchCount!() === 0 && !(reads && e.lastUnknown?.() === true)) return NONE;
    return last.call(e, code);
  };
  f.readsContext = reads;
  return f;
}

/** Evaluates with every evaluator and merges the verdicts. */
export function combineEvaluators(evaluators: Evaluate[]): Evaluate {
  if (evaluators.length === 1) return evaluators[0];
  if (evaluators.length === 0) return Object.assign(() => NONE, { readsContext: false });
  return Object.assign((ev: EvalEvent) => mergeVerdicts(evaluators.map((e) => e(ev))), { readsContext: evaluators.some((e) => e.readsContext !== false) });
}

const NONE: Verdict = Object.freeze({ verdict: 'none', matches: [] }) as unknown as Verdict;

export interface DryRunCounts {
  /** non-blank lines that were events */
  events: number;
  kill: number;
  override: number;
  signal: number;
  post: number;
  none: number;
  malformed: number;
  blank: number;
  /** events with a selector the evaluator could not decide (the verdict's "unknown") */
  unknown: number;
}

type ShownMatch = Pick<Match, 'policy' | 'namespace' | 'selector' | 'actions' | 'mode' | 'enforced'>;

// most matching events match the same few selectors: the JSON of the last
// ones is kept (compared field by field; the strings are mostly the very same
// objects, from the evaluator's cache)
const RECENT_MATCHES = 8;
const recentMatches: { m: ShownMatch; json: string }[] = [];

function sameShown(a: ShownMatch, b: Match): boolean {
  if (a.policy !== b.policy || a.namespace !== b.namespace || a.selector !== b.selector || a.mode !== b.mode || a.enforced !== b.enforced) return false;
  const x = a.actions;
  const y = b.actions;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function matchJson(m: Match): string {
  for (let i = 0; i < recentMatches.length; i++) if (sameShown(recentMatches[i].m, m)) return recentMatches[i].json;
  const shown: ShownMatch = {
    policy: m.policy,
    namespace: m.namespace,
    selector: m.selector,
    actions: m.actions.slice(),
    mode: m.mode,
    enforced: m.enforced,
  };
  const json = JSON.stringify(shown);
  if (recentMatches.length >= RECENT_MATCHES) recentMatches.pop();
  recentMatches.unshift({ m: shown, json });
  return json;
}

/** `{"index":N,"verdict":"...","matches":[...]}` */
export function verdictJson(index: number, v: Verdict): string {
  const unk = v.unknown !== undefined ? `,"unknown":${JSON.stringify(v.unknown)}` : '';
  if (v.matches.length === 0) return `{"index":${index},"verdict":"${v.verdict}","matches":[]${unk}}`;
  return `{"index":${index},"verdict":"${v.verdict}","matches":[${v.matches.map(matchJson).join(',')}]${unk}}`;
}

/** `➜ kill (file-monitoring-filtered/0 Sigkill)`; namespaced policies as ns/name/selector. */
export function verdictCompact(v: Verdict, c: Colorer = plainColorer): string {
  const color = v.verdict === 'kill' ? c.red : v.verdict === 'none' ? c.dim : v.verdict === 'post' ? c.cyan : c.yellow;
  let out = `➜ ${color(v.verdict)}`;
  if (v.matches.length > 0) {
    const parts = v.matches.map((m) => {
      const who = `${m.namespace !== null ? `${m.namespace}/` : ''}${m.policy}/${m.selector}`;
      const acts = m.actions.join(',');
      const mode = m.mode === 'enforce' ? '' : ` [${m.mode}]`;
      return `${who} ${acts}${mode}`;
    });
    out += ` (${parts.join('; ')})`;
  }
  if (v.unknown !== undefined) out += ` ${c.yellow('unknown')}: ${v.unknown}`;
  return out;
}

export interface DryRunOptions {
  format: DryRunFormat;
  colorer?: Colorer;
}

/**
 * Processes event lines one at a time. `line()` returns the output for the line
 * (with its newline), '' for a blank line, or null for a malformed line (the
 * reason is in `lastError`). Verdicts recorded in the events are ignored.
 */
export class DryRunPipeline {
  readonly counts: DryRunCounts = { events: 0, kill: 0, override: 0, signal: 0, post: 0, none: 0, malformed: 0, blank: 0, unknown: 0 };
  lastError = '';
  readonly format: DryRunFormat;
  private readonly evaluate: Evaluate;
  private readonly colorer: Colorer;
  private readonly renderer: CompactRenderer | undefined;
  private readonly context: boolean;

  constructor(evaluate: Evaluate, opts: DryRunOptions) {
    this.evaluate = evaluate;
    this.context = evaluate.readsContext !== false;
    this.format = opts.format;
    this.colorer = opts.colorer ?? plainColorer;
    this.renderer = opts.format === 'compact' ? new CompactRenderer({ colorer: this.colorer }) : undefined;
  }

  /** `fragment`: the text is a docs fragment read with elided fields left out (documents.ts readFragment) */
  line(text: string, index: number, fragment?: string): string | null {
    if (isBlank(text)) {
      this.counts.blank++;
      return '';
    }
    // one reader decides for every format: the verdict never depends on -o
    const parsed = parseEventLineForEval(text, this.context);
    if (!parsed.ok) {
      this.counts.malformed++;
      this.lastError = parsed.error;
      return null;
    }
    const ev = toEvalEvent(parsed.event, this.context);
    let verdict = ev === null ? NONE : this.evaluate(ev);
    // fields the page left out may be what a selector reads: never a silent no-match
    if (ev !== null && fragment !== undefined && verdict.unknown === undefined)
      verdict = { ...verdict, unknown: `${fragment}: a selector may read what was left out` };
    this.counts.events++;
    this.counts[verdict.verdict]++;
    if (verdict.unknown !== undefined) this.counts.unknown++;
    if (this.renderer === undefined) return verdictJson(index, verdict) + '\n';
    // the compact line shows more fields than the evaluator reads: the whole line, when JSON.parse takes it
    const whole = parseEventLine(text);
    const shown = this.renderer.render(whole.ok ? whole.event : parsed.event) ?? this.colorer.dim('(event of an unknown kind)');
    return `${shown} ${verdictCompact(verdict, this.colorer)}\n`;
  }

  /** e.g. "6 events: 1 kill, 0 override, 0 signal, 0 post, 5 none; 1 malformed line skipped" */
  summary(): string {
    const c = this.counts;
    let s = `${c.events} event${c.events === 1 ? '' : 's'}: ${VERDICTS.map((v) => `${c[v]} ${v}`).join(', ')}`;
    if (c.unknown > 0) s += `; ${c.unknown} with a selector it could not decide ("unknown")`;
    if (c.malformed > 0) s += `; ${c.malformed} malformed line${c.malformed === 1 ? '' : 's'} skipped`;
    return s;
  }
}

function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 10) return false;
  }
  return true;
}
