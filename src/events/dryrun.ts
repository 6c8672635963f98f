// The dry-run pipeline: one Tetragon event line in, one verdict line out.
// Matching is not done here: the evaluate function (the Wasm core's Evaluator,
// or several combined) decides; this module parses, converts and formats.

import type { EvalEvent, Match, Verdict, VerdictKind } from '../core/types.js';
import { plainColorer, type Colorer } from './color.js';
import { CompactRenderer } from './compact.js';
import { toEvalEvent } from './convert.js';
import { parseEventLine, parseEventLineForEval } from './parse.js';
import { coreHookLookup, RecordWriter } from './record.js';

export type Evaluate = (ev: EvalEvent) => Verdict;
export type DryRunFormat = 'json' | 'compact';

export const VERDICTS: readonly VerdictKind[] = ['kill', 'override', 'signal', 'post', 'none'];

/** Strength of a verdict when several images judge one event: kill > override > signal > post > none. */
const RANK: Record<VerdictKind, number> = { kill: 4, override: 3, signal: 2, post: 1, none: 0 };

/** Combines the verdicts of several images on one event: the strongest verdict, all matches in order. */
export function mergeVerdicts(verdicts: Verdict[]): Verdict {
  if (verdicts.length === 1) return verdicts[0];
  let verdict: VerdictKind = 'none';
  const matches: Match[] = [];
  for (const v of verdicts) {
    if (RANK[v.verdict] > RANK[verdict]) verdict = v.verdict;
    for (const m of v.matches) matches.push(m);
  }
  return { verdict, matches };
}

/** What fastEvaluate needs of the core's Evaluator. */
export interface RecordEvaluator {
  evaluate(ev: EvalEvent): Verdict;
  encode(ev: EvalEvent): Uint8Array;
  evaluateEncoded(bytes: Uint8Array): number;
  lastVerdict?(code: number): Verdict;
  lastMatchCount?(): number;
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
  if (typeof last !== 'function' || typeof e.lastMatchCount !== 'function') return (ev) => e.evaluate(ev);
  const writer = new RecordWriter(coreHookLookup((ev) => e.encode(ev)));
  return (ev) => {
    const code = e.evaluateEncoded(writer.write(ev));
    if (code < 0) return e.evaluate(ev);
    if (code === 0 && e.lastMatchCount!() === 0) return NONE;
    return last.call(e, code);
  };
}

/** Evaluates with every evaluator and merges the verdicts. */
export function combineEvaluators(evaluators: Evaluate[]): Evaluate {
  if (evaluators.length === 1) return evaluators[0];
  if (evaluators.length === 0) return () => NONE;
  return (ev) => mergeVerdicts(evaluators.map((e) => e(ev)));
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
  if (v.matches.length === 0) return `{"index":${index},"verdict":"${v.verdict}","matches":[]}`;
  return `{"index":${index},"verdict":"${v.verdict}","matches":[${v.matches.map(matchJson).join(',')}]}`;
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
  readonly counts: DryRunCounts = { events: 0, kill: 0, override: 0, signal: 0, post: 0, none: 0, malformed: 0, blank: 0 };
  lastError = '';
  readonly format: DryRunFormat;
  private readonly evaluate: Evaluate;
  private readonly colorer: Colorer;
  private readonly renderer: CompactRenderer | undefined;

  constructor(evaluate: Evaluate, opts: DryRunOptions) {
    this.evaluate = evaluate;
    this.format = opts.format;
    this.colorer = opts.colorer ?? plainColorer;
    this.renderer = opts.format === 'compact' ? new CompactRenderer({ colorer: this.colorer }) : undefined;
  }

  line(text: string, index: number): string | null {
    if (isBlank(text)) {
      this.counts.blank++;
      return '';
    }
    const parsed = this.renderer === undefined ? parseEventLineForEval(text) : parseEventLine(text);
    if (!parsed.ok) {
      this.counts.malformed++;
      this.lastError = parsed.error;
      return null;
    }
    const ev = toEvalEvent(parsed.event);
    const verdict = ev === null ? NONE : this.evaluate(ev);
    this.counts.events++;
    this.counts[verdict.verdict]++;
    if (this.renderer === undefined) return verdictJson(index, verdict) + '\n';
    const shown = this.renderer.render(parsed.event) ?? this.colorer.dim('(event of an unknown kind)');
    return `${shown} ${verdictCompact(verdict, this.colorer)}\n`;
  }

  /** e.g. "6 events: 1 kill, 0 override, 0 signal, 0 post, 5 none; 1 malformed line skipped" */
  summary(): string {
    const c = this.counts;
    let s = `${c.events} event${c.events === 1 ? '' : 's'}: ${VERDICTS.map((v) => `${c[v]} ${v}`).join(', ')}`;
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
