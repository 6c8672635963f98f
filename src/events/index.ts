// Tetragon events: JSON lines -> EvalEvent, and compact rendering.

export * from './tetragon.js';
export { parseEventLine, parseEventLineForEval, EVAL_PROJECTION, type ParseResult } from './parse.js';
export { toEvalEvent, toEvalArg, toPodInfo, imageRepo, parseTimeNs, formatTimeNs, FAMILIES, PROTOCOLS, TCP_STATES } from './convert.js';
export { CompactRenderer, renderCompact, goQuote, maybeQuote, safeArguments, type CompactOptions } from './compact.js';
export { createColorer, colorEnabled, plainColorer, COLOR_MODES, type Colorer, type ColorMode } from './color.js';
export { lineBatches, openInput, type LineBatch } from './lines.js';
export { scanObject, projection, items, cached, Projection, type ProjectionSpec } from './scan.js';
export { RecordWriter, coreHookLookup, type HookLookup } from './record.js';
