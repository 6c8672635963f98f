// Offline CO-RE: talon's BPF objects opened and loaded by libbpf in wasm
// against a target kernel's BTF, with the recording kernel underneath. The
// result says, per program, whether libbpf could prepare it for that kernel:
//   - a relocation libbpf could not satisfy (a field or type the target lacks)
//     shows as its poison instruction (a call to 0xbad2310) while the load
//     still succeeds, so the instructions are scanned for it; the relocation
//     is named from libbpf's own log lines;
//   - an attach target libbpf cannot find (lsm/..., tp_btf/...) fails the load;
//     the program is then left out and the object loaded again, so every
//     failing program of an object is reported, not only the first;
//   - a helper call whose id the target's enum bpf_func_id does not have.
import { instantiate, type LibbpfExports } from './module.js';
import { RecordingKernel, type LogLine } from './recording-kernel.js';
import type { BtfInfo } from './btf.js';

/** libbpf's poison: `call 0xbad2310` in place of an instruction it could not relocate (relo_core.c) */
export const POISON_IMM = 0xbad2310;
const BPF_JMP_CALL = 0x85;
/** where the target BTF is put in the bridge's file system: where libbpf looks for the kernel's BTF */
const VMLINUX = '/sys/kernel/btf/vmlinux';

export type Problem =
  | { kind: 'relocation'; relo: number; insn: number; spec: string }
  | { kind: 'load'; errno: number; message: string }
  | { kind: 'helper'; helper: number; name: string };

export interface ProgramResult {
  object: string;
  program: string;
  section: string;
  problems: Problem[];
  /** the instructions libbpf would load (8 bytes each), when it got that far */
  insns: Uint8Array | null;
  /** map fd in an instruction -> map name, for comparing instructions across runs */
  mapFds: Map<number, string>;
}

export interface ObjectInput {
  /** file name, e.g. tln_file.bpf.o */
  name: string;
  bytes: Uint8Array;
}

/** helper names by id, from a BTF's enum bpf_func_id (BPF_FUNC_x -> bpf_x) */
export function helperNames(btf: BtfInfo | null): Map<number, string> {
  const out = new Map<number, string>();
  for (const [k, v] of btf?.enums.get('bpf_func_id') ?? []) out.set(v, `bpf_${k.replace(/^BPF_FUNC_/, '')}`);
  return out;
}

interface Bridge {
  m: LibbpfExports;
  kernel: RecordingKernel;
}

async function bridge(): Promise<Bridge> {
  // assigned once the module is up; the kernel's memory view reads it lazily
  // eslint-disable-next-line prefer-const
  let m: LibbpfExports | undefined;
  const kernel = new RecordingKernel(() => m!.HEAPU8);
  m = await instantiate({
    bpf: (cmd, attr, size) => kernel.bpf(cmd, attr, size),
    perfEventOpen: () => kernel.perfEventOpen(),
    close: (fd) => kernel.close(fd),
    log: (level, text) => {
      kernel.onLog(level, text);
      // TALON_BRIDGE_LOG=1: libbpf's own log on stderr, for debugging a check
      if (process.env.TALON_BRIDGE_LOG) process.stderr.write(text);
    },
  });
  return { m, kernel };
}

function cstring(m: LibbpfExports, s: string): number {
  const b = Buffer.from(s + '\0', 'utf8');
  const p = m._malloc(b.length);
  m.HEAPU8.set(b, p);
  return p;
}

/** sections of generic BTF programs (fentry, fexit, fmod_ret, lsm, raw tp_btf) whose attach target the loader
 * sets per hook (bpf_program__set_attach_target): without a hook there is nothing to relocate them against,
 * so the offline check leaves them out; a policy's load checks them on its kernel */
const TARGET_AT_LOAD = new Set(['fentry', 'fexit', 'fmod_ret', 'lsm', 'tp_btf']);

function programs(m: LibbpfExports, obj: number): number[] {
  const out: number[] = [];
  for (let p = m._bpf_object__next_program(obj, 0); p !== 0; p = m._bpf_object__next_program(obj, p)) out.push(p);
  return out;
}

/** relocation lines of one program from libbpf's log: relo number -> its local spec */
function relocationSpecs(log: LogLine[], prog: string): Map<number, string> {
  const specs = new Map<number, string>();
  const re = /^libbpf: prog '([^']+)': relo #(\d+): (<[^>]+> .*)$/;
  for (const l of log) {
    const m = re.exec(l.text.trimEnd());
    if (m && m[1] === prog && !specs.has(Number(m[2]))) specs.set(Number(m[2]), m[3]);
  }
  return specs;
}

/** libbpf's "substituting insn #N w/ invalid insn" lines of one program: insn -> relo */
function poisonedBy(log: LogLine[], prog: string): Map<number, number> {
  const out = new Map<number, number>();
  const re = /^libbpf: prog '([^']+)': relo #(\d+): substituting insn #(\d+) w\/ invalid insn/;
  for (const l of log) {
    const m = re.exec(l.text);
    if (m && m[1] === prog) out.set(Number(m[3]), Number(m[2]));
  }
  return out;
}

/** the program a failed load is about (the last one a warning names) and libbpf's first word on it */
function failedProgram(log: LogLine[], names: string[]): { name: string; message: string } | null {
  const re = /^libbpf: prog '([^']+)': (.*)$/;
  const warns = log
    .filter((l) => l.level === 0)
    .map((l) => re.exec(l.text.trimEnd()))
    .filter((m): m is RegExpExecArray => m !== null && names.includes(m[1]));
  if (warns.length === 0) return null;
  const name = warns[warns.length - 1][1];
  // libbpf's trailing error number is emscripten's errno numbering: left out
  return { name, message: warns.find((m) => m[1] === name)![2].replace(/: -\d+$/, '') };
}

function scan(insns: Uint8Array, specs: Map<number, string>, poisoned: Map<number, number>, helpers: Map<number, string> | null): Problem[] {
  const v = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const problems: Problem[] = [];
  for (let i = 0; i < insns.length / 8; i++) {
    const code = v.getUint8(i * 8);
    const src = v.getUint8(i * 8 + 1) >> 4;
    const imm = v.getInt32(i * 8 + 4, true);
    if (code !== BPF_JMP_CALL || src !== 0) continue;
    if (imm === POISON_IMM) {
      const relo = poisoned.get(i) ?? -1;
      // an ldimm64's second half is poisoned too; one report per relocation
      if (problems.some((p) => p.kind === 'relocation' && p.relo === relo && relo >= 0)) continue;
      problems.push({ kind: 'relocation', relo, insn: i, spec: specs.get(relo) ?? '(libbpf logged no spec)' });
    } else if (helpers && helpers.size > 0 && !helpers.has(imm)) {
      if (!problems.some((p) => p.kind === 'helper' && p.helper === imm)) problems.push({ kind: 'helper', helper: imm, name: `helper #${imm}` });
    }
  }
  return problems;
}

/**
 * Loads each object as libbpf would on the kernel whose BTF is `targetBtf`.
 * `btfInfo` (readBtf of the same bytes) enables the helper check.
 */
export async function relocateObjects(targetBtf: Uint8Array, objects: ObjectInput[], btfInfo: BtfInfo | null): Promise<ProgramResult[]> {
  const { m, kernel } = await bridge();
  m.FS.mkdirTree('/sys/kernel/btf');
  m.FS.writeFile(VMLINUX, targetBtf);
  const helpers = btfInfo ? helperNames(btfInfo) : null;
  const results: ProgramResult[] = [];
  for (const o of objects) {
    const failed = new Map<string, Problem>();
    for (;;) {
      kernel.log.length = 0;
      const buf = m._malloc(o.bytes.length);
      m.HEAPU8.set(o.bytes, buf);
      const name = cstring(m, o.name.replace(/\.bpf\.o$/, ''));
      const obj = m._tln_obj_open(buf, o.bytes.length, name);
      if (obj === 0) {
        const errno = m._tln_errno();
        m._free(buf);
        m._free(name);
        throw new Error(`${o.name}: libbpf cannot open the object (errno ${errno})`);
      }
      try {
        const progs = programs(m, obj).map((p) => ({
          p,
          name: m.UTF8ToString(m._bpf_program__name(p)),
          section: m.UTF8ToString(m._bpf_program__section_name(p)),
        }));
        for (const x of progs) if (failed.has(x.name) || TARGET_AT_LOAD.has(x.section)) m._bpf_program__set_autoload(x.p, 0);
        const err = m._tln_obj_load(obj);
        if (err < 0) {
          const which = failedProgram(
            kernel.log,
            progs.map((x) => x.name).filter((n) => !failed.has(n)),
          );
          if (which === null) {
            const last =
              kernel.log
                .filter((l) => l.level === 0)
                .map((l) => l.text.trim())
                .pop() ?? '';
            throw new Error(`${o.name}: libbpf cannot load the object (errno ${-err})${last ? `: ${last}` : ''}`);
          }
          failed.set(which.name, { kind: 'load', errno: -err, message: which.message });
          continue;
        }
        const mapFds = new Map<number, string>();
        for (let mp = m._bpf_object__next_map(obj, 0); mp !== 0; mp = m._bpf_object__next_map(obj, mp)) {
          mapFds.set(m._bpf_map__fd(mp), m.UTF8ToString(m._bpf_map__name(mp)));
        }
        for (const x of progs) {
          if (TARGET_AT_LOAD.has(x.section)) continue;
          const problem = failed.get(x.name);
          if (problem) {
            results.push({ object: o.name, program: x.name, section: x.section, problems: [problem], insns: null, mapFds });
            continue;
          }
          const cnt = m._bpf_program__insn_cnt(x.p);
          const at = m._bpf_program__insns(x.p);
          const insns = m.HEAPU8.slice(at, at + cnt * 8);
          const problems = scan(insns, relocationSpecs(kernel.log, x.name), poisonedBy(kernel.log, x.name), helpers);
          results.push({ object: o.name, program: x.name, section: x.section, problems, insns, mapFds });
        }
        break;
      } finally {
        m._bpf_object__close(obj);
        m._free(buf);
        m._free(name);
      }
    }
  }
  return results;
}

/** One line about a problem, e.g. `relocation #3 <byte_off> [12] struct task_struct.tgid (0:57 @ offset 2356) has no match in the target BTF (insn #40 poisoned)` */
export function describeProblem(p: Problem): string {
  switch (p.kind) {
    case 'relocation':
      return `CO-RE relocation #${p.relo} ${p.spec} has no match in the target BTF (insn #${p.insn} poisoned)`;
    case 'load':
      return `libbpf cannot prepare it: ${p.message}`;
    case 'helper':
      return `calls ${p.name}, which the target kernel does not have (not in its enum bpf_func_id)`;
  }
}
