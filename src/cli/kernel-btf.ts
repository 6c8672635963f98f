// `talon compile --check --kernel-btf <BTF>...`: would the policies' programs
// load on those kernels? For each target BTF, talon's BPF objects go through
// libbpf's CO-RE relocation in the wasm bridge (src/bridge/), and every program
// a policy needs there (the loader's catalog decides which) is reported with
// the relocation, attach target or helper that fails. No root, no kernel.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BridgeUnavailable } from '../bridge/module.js';
import { BtfError, rawBtf, readBtf } from '../bridge/btf.js';
import { describeProblem, relocateObjects, type ProgramResult } from '../bridge/relocate.js';
import { programsFor, targetFeatures } from '../bridge/target.js';
import { BPF_DIR } from '../kernel/shim.js';
import { describeFsError } from '../policy/index.js';
import { describePolicies, loadAndCheck, plural, type Io } from './compile.js';
import { loadCore } from './core.js';
import { EXIT_INPUT, EXIT_INTERNAL, EXIT_OK } from './errors.js';

export interface KernelBtfFlags {
  namespace: string;
  mode?: 'enforce' | 'monitor';
  /** BTF files of the target kernels */
  kernelBtf: string[];
  /** where the BPF objects are (default bpf/.output) */
  bpfDir?: string;
}

export async function runKernelBtfCheck(files: string[], flags: KernelBtfFlags, io: Io): Promise<number> {
  const check = await loadAndCheck(files, flags.namespace, flags.mode, io, 'compile');
  if (check === null || check.image === null) return EXIT_INPUT;
  const core = await loadCore();
  const specs = core.inspectImage(check.image);
  const fileOf = (i: number): string => check.documents[specs[i].index]?.source.name ?? files[0];
  io.stdout.write(`ok  ${plural(files.length, 'file')}, ${describePolicies(specs)}\n`);

  const dir = flags.bpfDir ?? BPF_DIR();
  const objectCache = new Map<string, Uint8Array>();
  const object = async (name: string): Promise<Uint8Array> => {
    let b = objectCache.get(name);
    if (!b) {
      b = await readFile(join(dir, name));
      objectCache.set(name, b);
    }
    return b;
  };

  let failures = 0;
  for (const target of flags.kernelBtf) {
    let btf: Uint8Array;
    let info;
    try {
      btf = rawBtf(await readFile(target));
      info = readBtf(btf);
    } catch (e) {
      const why = e instanceof BtfError ? e.message : describeFsError(e);
      io.stderr.write(`${target}: cannot read the kernel BTF: ${why}\n`);
      failures++;
      continue;
    }
    const features = targetFeatures(info);
    // the objects every policy needs on this kernel, relocated once
    const plans = specs.map((s) => programsFor(s, features));
    const names = [...new Set(plans.flatMap((p) => (p.ok ? p.needs.map((n) => n.object) : [])))].sort();
    let results: ProgramResult[];
    try {
      results = await relocateObjects(btf, await Promise.all(names.map(async (n) => ({ name: n, bytes: await object(n) }))), info);
    } catch (e) {
      if (e instanceof BridgeUnavailable) {
        io.stderr.write(`talon: ${e.message}\n`);
        return EXIT_INTERNAL;
      }
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        io.stderr.write(`talon compile: BPF objects not built: ${describeFsError(e)} (run: bash scripts/build-native.sh)\n`);
        return EXIT_INTERNAL;
      }
      io.stderr.write(`${target}: ${(e as Error).message}\n`);
      failures++;
      continue;
    }
    let bad = 0;
    let checked = 0;
    specs.forEach((spec, i) => {
      const plan = plans[i];
      const who = `${fileOf(i)}: policy ${spec.name}: kernel ${target}`;
      if (!plan.ok) {
        io.stderr.write(`${who}: ${plan.reason}\n`);
        bad++;
        return;
      }
      for (const need of plan.needs) {
        for (const prog of need.programs) {
          checked++;
          const r = results.find((x) => x.object === need.object && x.program === prog);
          if (!r) {
            io.stderr.write(`${who}: ${need.hook} (${need.sensor}): program ${prog} is not in ${need.object}\n`);
            bad++;
            continue;
          }
          for (const p of r.problems) {
            io.stderr.write(`${who}: ${need.hook} (${need.sensor}): program ${prog} (${need.object}, ${r.section}): ${describeProblem(p)}\n`);
          }
          if (r.problems.length) bad++;
        }
      }
    });
    if (bad === 0)
      io.stdout.write(
        `ok  ${target}: ${plural(checked, 'program')} of ${plural(specs.length, 'policy', 'policies')} relocate and load (${info.count} BTF types)\n`,
      );
    else io.stderr.write(`talon compile: ${plural(bad, 'problem')} on ${target}\n`);
    failures += bad;
  }
  return failures > 0 ? EXIT_INPUT : EXIT_OK;
}
