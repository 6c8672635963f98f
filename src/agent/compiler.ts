// Policy compiles off the API thread: one worker (compile-worker.ts) holds the Wasm core and
// runs one compile at a time, so a huge `tp add` never blocks the other clients. Budgets:
//   time    the worker is terminated past it (a fresh one serves the next compile);
//   memory  the core's memory may not grow past it (the engine refuses) and the worker's JS
//           heap is limited to it (V8 ends the worker).
// Either way the add is refused with an error naming the budget and the agent option.
// After a large compile the worker is recycled: its memory goes back to the system.
import { Worker } from 'node:worker_threads';
import type { CompileOptions } from '../core/types.js';
import type { PolicyDiagnostic, PolicyInput } from '../policy/index.js';

export interface CompileBudget {
  /** wall-clock time of one compile, ms */
  timeoutMs: number;
  /** the core's memory and the worker's JS heap, each, MiB */
  memoryMb: number;
}

export const DEFAULT_COMPILE_BUDGET: CompileBudget = { timeoutMs: 30_000, memoryMb: 512 };

/** past this much core memory the worker is replaced after the compile (its JS heap went up with it) */
const RECYCLE_BYTES = 16 * 1048576;

export interface CompileOutcome {
  image: Uint8Array | null;
  diagnostics: PolicyDiagnostic[];
  errors: number;
}

/** A compile refused for its budget: the message names the budget and the option that sets it. */
export class CompileBudgetError extends Error {}

interface Reply {
  id: number;
  image?: Uint8Array | null;
  diagnostics?: PolicyDiagnostic[];
  errors?: number;
  coreBytes?: number;
  failed?: string;
}

export class Compiler {
  private worker: { w: Worker; ready: Promise<void> } | null = null;
  private seq = 0;
  private queue: Promise<unknown> = Promise.resolve();
  /** workers started so far (the first, and one after each recycle, timeout or crash) */
  started = 0;

  constructor(readonly budget: CompileBudget = DEFAULT_COMPILE_BUDGET) {}

  private spawn(): { w: Worker; ready: Promise<void> } {
    this.started++;
    const w = new Worker(new URL('./compile-worker.js', import.meta.url), {
      workerData: { memoryBytes: this.budget.memoryMb * 1048576 },
      resourceLimits: { maxOldGenerationSizeMb: Math.max(32, this.budget.memoryMb) },
    });
    w.unref();
    const ready = new Promise<void>((resolve, reject) => {
      const onReady = (m: { ready?: boolean }) => {
        if (!m.ready) return;
        w.off('message', onReady);
        w.off('error', reject);
        resolve();
      };
      w.on('message', onReady);
      w.once('error', reject);
    });
    return { w, ready };
  }

  /** Compiles like checkPolicies, in the worker; one at a time. */
  check(inputs: PolicyInput[], opts: CompileOptions): Promise<CompileOutcome> {
    const run = this.queue.then(() => this.once(inputs, opts));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async once(inputs: PolicyInput[], opts: CompileOptions): Promise<CompileOutcome> {
    const cur = (this.worker ??= this.spawn());
    try {
      await cur.ready;
    } catch (e) {
      if (this.worker === cur) this.worker = null;
      throw new Error(`compile worker did not start: ${(e as Error).message}`);
    }
    const w = cur.w;
    const id = ++this.seq;
    const file = inputs[0]?.name ?? 'policy';
    return new Promise<CompileOutcome>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      };
      const drop = (): void => {
        if (this.worker === cur) this.worker = null;
        void w.terminate();
      };
      const timer = setTimeout(() => {
        done();
        drop();
        reject(
          new CompileBudgetError(`${file}: compile stopped: over its time budget of ${this.budget.timeoutMs / 1000} s (agent option --policy-compile-timeout)`),
        );
      }, this.budget.timeoutMs);
      const onMessage = (r: Reply): void => {
        if (r.id !== id) return;
        done();
        if ((r.coreBytes ?? 0) > RECYCLE_BYTES) drop();
        if (r.failed !== undefined) return reject(new Error(`compile: ${r.failed}`));
        // the core's own refusal at its memory limit: say which budget that is
        const diagnostics = (r.diagnostics ?? []).map((d) =>
          d.origin === 'core' && d.message.startsWith('policy too large to compile:')
            ? { ...d, message: `${d.message} (the compile memory budget: agent option --policy-compile-memory)` }
            : d,
        );
        resolve({ image: r.image ?? null, diagnostics, errors: r.errors ?? 0 });
      };
      const onError = (e: Error & { code?: string }): void => {
        done();
        drop();
        if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') {
          reject(
            new CompileBudgetError(`${file}: compile stopped: over its memory budget of ${this.budget.memoryMb} MiB (agent option --policy-compile-memory)`),
          );
        } else reject(new Error(`compile worker failed: ${e.message}`));
      };
      const onExit = (code: number): void => {
        done();
        drop();
        reject(new Error(`compile worker exited (code ${code})`));
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      w.postMessage({ id, inputs, opts });
    });
  }

  /** ends the worker (agent stop) */
  async close(): Promise<void> {
    const cur = this.worker;
    this.worker = null;
    if (cur) await cur.w.terminate();
  }
}
