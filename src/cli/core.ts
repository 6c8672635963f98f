// Loading the Wasm policy core for the CLI. The core is loaded on first use
// only, so that `--help` and usage errors never pay for (or fail on) it, and a
// missing build is one clear message instead of a stack trace.

import { existsSync } from 'node:fs';
import type { CompileOptions, CompileResult, EvalEvent, Mode, ModeChange, PodInfo, PolicySpec, Verdict } from '../core/types.js';

export interface EvaluatorApi {
  evaluate(ev: EvalEvent): Verdict;
  setRuntimeMode(i: number, mode: Mode): ModeChange;
  encode(ev: EvalEvent): Uint8Array;
  evaluateEncoded(bytes: Uint8Array): number;
  /** the Verdict (with matches) of the last evaluateEncoded call */
  lastVerdict?(code: number): Verdict;
}

/** What the CLI uses of src/core/index.ts. */
export interface CoreApi {
  compile(docs: unknown[], opts: CompileOptions): CompileResult;
  inspectImage(image: Uint8Array): PolicySpec[];
  Evaluator: new (image: Uint8Array) => EvaluatorApi;
  podMatches(image: Uint8Array, i: number, pod: PodInfo | null): boolean;
}

/** "TALONIMG": the first 8 bytes of every image (TLN_IMAGE_MAGIC_0/1, little-endian, in bpf/include/tln_abi.h). */
export const IMAGE_MAGIC = Buffer.from('TALONIMG', 'latin1');

export function isImage(bytes: Uint8Array): boolean {
  if (bytes.length < IMAGE_MAGIC.length) return false;
  for (let i = 0; i < IMAGE_MAGIC.length; i++) if (bytes[i] !== IMAGE_MAGIC[i]) return false;
  return true;
}

export class CoreUnavailable extends Error {}

let core: Promise<CoreApi> | undefined;

export function loadCore(): Promise<CoreApi> {
  if (core === undefined) {
    core = (async () => {
      const [mod, wasm] = await Promise.all([import('../core/index.js'), import('../core/wasm.js')]);
      const path = wasm.wasmPath();
      if (!existsSync(path)) throw new CoreUnavailable(`the policy core is not built (${path} is missing): run \`npm run build\``);
      const api: CoreApi = mod;
      return api;
    })();
  }
  return core;
}
