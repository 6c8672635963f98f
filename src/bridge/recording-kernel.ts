// The recording kernel: what libbpf in wasm gets for bpf(2), perf_event_open(2)
// and close(2). It creates no kernel object. Maps, BTF and programs get fake
// fds (from 1000 up, clear of emscripten's own file fds, see bridge/host.c),
// program loads are recorded with their instructions, and every feature libbpf
// 1.1.2 probes is answered the same way on every run:
//
//   supported:   program names, global data (array maps, BPF_F_MMAPABLE), BTF
//                with FUNC/global FUNC/DATASEC/FLOAT/DECL_TAG/TYPE_TAG/ENUM64,
//                expected_attach_type, bpf_probe_read_kernel, BPF_PROG_BIND_MAP,
//                perf links (BPF_LINK_CREATE on fd -1 answers EBADF, as a
//                kernel with perf links does), memcg accounting (so libbpf does
//                not raise RLIMIT_MEMLOCK), bpf cookies.
//   unsupported: module BTF (BPF_OBJ_GET_INFO_BY_FD answers EINVAL): the only
//                kernel BTF is the vmlinux BTF under check; the syscall
//                wrapper probe (perf_event_open answers EOPNOTSUPP); attaching.
//
// That is the feature set of the kernels talon targets (5.15 and later), so
// the instructions libbpf computes are the ones it computes against a real
// kernel of that BTF (test/bridge-truth.test.ts compares them with native
// libbpf on this machine). Errors are Linux errno numbers; bridge/host.c
// translates them for emscripten's libc.

/** bpf(2) commands (enum bpf_cmd, include/uapi/linux/bpf.h) */
export const BPF_CMD = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  OBJ_GET_INFO_BY_FD: 15,
  BTF_LOAD: 18,
  MAP_FREEZE: 22,
  BTF_GET_NEXT_ID: 23,
  LINK_CREATE: 28,
  PROG_BIND_MAP: 35,
} as const;

/** Linux errno numbers the recording kernel answers with */
export const ERRNO = { ENOENT: 2, EBADF: 9, EINVAL: 22, EOPNOTSUPP: 95 } as const;

/** the first fd handed out (bridge/host.c TLN_FD_BASE: close() of fds from here goes to the host) */
export const FD_BASE = 1000;

export interface RecordedMap {
  fd: number;
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

export interface RecordedProgram {
  fd: number;
  /** bpf_attr.prog_name: at most 15 bytes of the program's name */
  name: string;
  type: number;
  expectedAttachType: number;
  attachBtfId: number;
  /** 8 bytes per instruction, as handed to the kernel */
  insns: Uint8Array;
}

export interface LogLine {
  /** enum libbpf_print_level: 0 warn, 1 info, 2 debug */
  level: number;
  text: string;
}

export class RecordingKernel {
  readonly maps: RecordedMap[] = [];
  readonly programs: RecordedProgram[] = [];
  readonly log: LogLine[] = [];
  private nextFd = FD_BASE;
  private readonly open = new Set<number>();

  /** `memory` returns the current view of wasm memory (it is replaced when memory grows) */
  constructor(private readonly memory: () => Uint8Array) {}

  private view(ptr: number, len: number): DataView {
    const m = this.memory();
    return new DataView(m.buffer, m.byteOffset + ptr, len);
  }

  private cstr(bytes: Uint8Array): string {
    const end = bytes.indexOf(0);
    return Buffer.from(end < 0 ? bytes : bytes.subarray(0, end)).toString('latin1');
  }

  private fd(): number {
    const fd = this.nextFd++;
    this.open.add(fd);
    return fd;
  }

  bpf(cmd: number, attr: number, size: number): number {
    const a = this.view(attr, size);
    const u32 = (off: number): number => (off + 4 <= size ? a.getUint32(off, true) : 0);
    // __aligned_u64 pointer fields: wasm32 pointers are the low half
    const ptr = (off: number): number => u32(off);
    switch (cmd) {
      case BPF_CMD.MAP_CREATE: {
        const fd = this.fd();
        const name = size >= 44 ? this.cstr(this.memory().subarray(attr + 28, attr + 44)) : '';
        this.maps.push({ fd, name, type: u32(0), keySize: u32(4), valueSize: u32(8), maxEntries: u32(12), flags: u32(16) });
        return fd;
      }
      case BPF_CMD.PROG_LOAD: {
        const fd = this.fd();
        const cnt = u32(4);
        const insns = this.memory().slice(ptr(8), ptr(8) + cnt * 8);
        const name = size >= 64 ? this.cstr(this.memory().subarray(attr + 48, attr + 64)) : '';
        this.programs.push({ fd, name, type: u32(0), expectedAttachType: u32(68), attachBtfId: u32(108), insns });
        return fd;
      }
      case BPF_CMD.BTF_LOAD:
        return this.fd();
      case BPF_CMD.MAP_UPDATE_ELEM:
      case BPF_CMD.MAP_FREEZE:
      case BPF_CMD.PROG_BIND_MAP:
        return this.open.has(u32(0)) ? 0 : -ERRNO.EBADF;
      case BPF_CMD.MAP_LOOKUP_ELEM:
      case BPF_CMD.MAP_DELETE_ELEM:
      case BPF_CMD.MAP_GET_NEXT_KEY:
      case BPF_CMD.BTF_GET_NEXT_ID:
        return -ERRNO.ENOENT;
      case BPF_CMD.OBJ_GET_INFO_BY_FD:
        return -ERRNO.EINVAL;
      case BPF_CMD.LINK_CREATE:
        // prog_fd @0, target_fd @4: libbpf's perf-link probe passes target fd -1
        return -ERRNO.EBADF;
      default:
        return -ERRNO.EINVAL;
    }
  }

  perfEventOpen(): number {
    return -ERRNO.EOPNOTSUPP;
  }

  close(fd: number): number {
    return this.open.delete(fd) ? 0 : -ERRNO.EBADF;
  }

  onLog(level: number, text: string): void {
    this.log.push({ level, text });
  }

  /** the map a fake fd stands for */
  mapByFd(fd: number): RecordedMap | undefined {
    return this.maps.find((m) => m.fd === fd);
  }
}
