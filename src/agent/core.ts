// The Wasm policy core (src/core) behind the agent's CorePort.
import * as core from '../core/index.js';
import type { CorePort } from './ports.js';

export const corePort: CorePort = {
  compile: (docs, opts) => core.compile(docs, opts),
  inspectImage: (image) => core.inspectImage(image),
  podMatches: (image, i, pod) => core.podMatches(image, i, pod),
  newEvaluator: (image) => new core.Evaluator(image),
};
