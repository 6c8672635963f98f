// The body of the agent's compile worker (compiler.ts): YAML, schema and the Wasm core run
// here, off the API thread; the core's instance lives in this worker, with the memory budget
// the agent gave it (the engine refuses growth past it).
import { parentPort, workerData } from 'node:worker_threads';
import { checkPolicies, type PolicyInput } from '../policy/index.js';
import { compile } from '../core/index.js';
import { coreMemoryOfLastCall, setCoreMemoryBudget, sharedCore } from '../core/wasm.js';
import type { CompileOptions } from '../core/types.js';
import { typeAutoArgs } from '../kernel/tracefs.js';

const { memoryBytes } = workerData as { memoryBytes: number };
setCoreMemoryBudget(memoryBytes);
// warmed up before the first job (the Wasm module, the YAML parser, the schema validator):
// a job's time budget is its own compile's
sharedCore();
checkPolicies(
  [
    {
      name: 'warm-up.yaml',
      text: 'apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: warm-up\nspec:\n  kprobes:\n  - call: tcp_connect\n    syscall: false\n',
    },
  ],
  { defaultNamespace: 'default' },
  compile,
);
parentPort!.postMessage({ ready: true });

// every compile here is for a load on this kernel: auto tracepoint fields get their format's type
parentPort!.on('message', (job: { id: number; inputs: PolicyInput[]; opts: CompileOptions }) => {
  try {
    const c = checkPolicies(job.inputs, job.opts, compile, { typeAuto: typeAutoArgs });
    parentPort!.postMessage({ id: job.id, image: c.image, diagnostics: c.diagnostics, errors: c.errors, coreBytes: coreMemoryOfLastCall() });
  } catch (e) {
    // an engine error (a stack overflow, say) is no diagnostic of the input: where it happened
    // goes with it, so the agent log and the client name the place instead of a bare message
    const err = e as Error;
    const where =
      err instanceof RangeError
        ? (err.stack ?? '')
            .split('\n')
            .slice(1, 4)
            .map((l) => l.trim())
            .join('; ')
        : '';
    parentPort!.postMessage({ id: job.id, failed: where ? `${err.message} (${where})` : err.message });
  }
});
