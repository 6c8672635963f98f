// Loads libbpf-wasm-bridge (bridge/dist/libbpf.wasm + libbpf.mjs, built by
// bridge/build.sh): libbpf 1.1.2 compiled to WebAssembly. Every instance gets
// its own host (the recording kernel) and its own in-memory file system.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The exports the bridge is linked with (bridge/build.sh EXPORTS); pointers are wasm32 offsets. */
export interface LibbpfExports {
  _malloc(size: number): number;
  _free(ptr: number): void;
  _tln_init(): void;
  /** bpf_object__open_mem; 0 on failure (then _tln_errno) */
  _tln_obj_open(buf: number, size: number, name: number): number;
  /** bpf_object__load; 0 or -errno (Linux numbers) */
  _tln_obj_load(obj: number): number;
  _tln_errno(): number;
  _bpf_object__close(obj: number): void;
  _bpf_object__next_program(obj: number, prev: number): number;
  _bpf_program__name(prog: number): number;
  _bpf_program__section_name(prog: number): number;
  _bpf_program__insns(prog: number): number;
  _bpf_program__insn_cnt(prog: number): number;
  _bpf_program__set_autoload(prog: number, autoload: number): number;
  _bpf_program__autoload(prog: number): number;
  _bpf_object__next_map(obj: number, prev: number): number;
  _bpf_map__name(map: number): number;
  _bpf_map__fd(map: number): number;
  HEAPU8: Uint8Array;
  UTF8ToString(ptr: number, maxBytes?: number): string;
  FS: {
    mkdirTree(path: string): void;
    writeFile(path: string, data: Uint8Array): void;
    unlink(path: string): void;
  };
}

/** What libbpf's redirected calls reach (bridge/host-lib.js); results are -errno with Linux numbers. */
export interface BridgeHost {
  bpf(cmd: number, attr: number, size: number): number;
  perfEventOpen(attr: number, pid: number, cpu: number, groupFd: number, flags: number): number;
  close(fd: number): number;
  log(level: number, message: string): void;
}

export class BridgeUnavailable extends Error {}

/** bridge/dist, or $TALON_BRIDGE_DIR */
export function bridgeDir(): string {
  return process.env.TALON_BRIDGE_DIR ?? fileURLToPath(new URL('../../../bridge/dist', import.meta.url));
}

type Factory = (opts: Record<string, unknown>) => Promise<LibbpfExports>;
let factory: Promise<{ create: Factory; wasm: Uint8Array }> | undefined;

/** A fresh libbpf instance whose kernel is `host`. */
export async function instantiate(host: BridgeHost): Promise<LibbpfExports> {
  if (factory === undefined) {
    factory = (async () => {
      const dir = bridgeDir();
      const glue = join(dir, 'libbpf.mjs');
      const wasmFile = join(dir, 'libbpf.wasm');
      if (!existsSync(glue) || !existsSync(wasmFile)) {
        throw new BridgeUnavailable(`libbpf-wasm-bridge is not built (${wasmFile} is missing): run \`bash bridge/build.sh\``);
      }
      const mod = (await import(pathToFileURL(glue).href)) as { default: Factory };
      return { create: mod.default, wasm: readFileSync(wasmFile) };
    })();
    factory.catch(() => (factory = undefined));
  }
  const { create, wasm } = await factory;
  // the glue would read the file itself; handing the bytes over keeps one read per process
  const m = await create({
    wasmBinary: wasm,
    tlnHost: host,
    print: () => undefined,
    printErr: () => undefined,
  });
  m._tln_init();
  return m;
}
