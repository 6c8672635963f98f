// Map updates that follow a core decision (a run-time mode, the pods of a
// policy's filter, the set of pod cgroups), as bytes the loader applies
// without knowing any map layout (docs/map-format.md §7):
//
//   u32 count, then per update:
//     u8 op (UPD_UPDATE | UPD_DELETE), u8 name length, name (UTF-8, no NUL),
//     u16 key length, u16 value length (0 for a delete), key, value
import * as A from "./abi";
import * as M from "./messages";
import { ByteWriter } from "./bytes";

export const UPD_UPDATE: u8 = 1;
export const UPD_DELETE: u8 = 2;

/** the shared map of all pods' cgroup ids (bpf/lib/tln_maps.h: must match; the loader refuses an unknown name) */
export const TLN_MAP_POD_CGROUPS = "tln_pod_cgroups";

/** an ordered list of updates */
export class MapUpdates {
  w: ByteWriter = new ByteWriter(64);
  count: u32 = 0;

  constructor() {
    this.w.u32(0);
  }

  private head(op: u8, map: string, keyLen: i32, valueLen: i32): void {
    const name = String.UTF8.encode(map);
    this.w.u8(op);
    this.w.u8(<u32>name.byteLength);
    this.w.buffer(name);
    this.w.u16(<u32>keyLen);
    this.w.u16(<u32>valueLen);
    this.count++;
  }

  update(map: string, key: usize, keyLen: i32, value: usize, valueLen: i32): void {
    this.head(UPD_UPDATE, map, keyLen, valueLen);
    this.w.bytes(key, keyLen);
    this.w.bytes(value, valueLen);
  }

  remove(map: string, key: usize, keyLen: i32): void {
    this.head(UPD_DELETE, map, keyLen, 0);
    this.w.bytes(key, keyLen);
  }

  finish(): ArrayBuffer {
    this.w.patchU32(0, this.count);
    return this.w.toBuffer();
  }
}

/**
 * The run-time mode a policy may take, decided from its image mode:
 * TLN_MODE_ENFORCE or TLN_MODE_MONITOR, or -1 with the reason in `err`.
 * The evaluator (setRuntimeMode) and the kernel's updates both use it.
 */
export class ModeDecision {
  mode: i32 = -1;
  err: string = "";
}

export function decideRuntimeMode(policy: string, imageMode: u8, mode: string): ModeDecision {
  const d = new ModeDecision();
  if (imageMode == A.TLN_MODE_MONITOR_ONLY) d.err = M.runtimeModeMonitorOnly(policy);
  else if (mode == "enforce") d.mode = A.TLN_MODE_ENFORCE;
  else if (mode == "monitor") d.mode = A.TLN_MODE_MONITOR;
  else d.err = M.badRuntimeMode(mode);
  return d;
}

/** tln_policy entry 0 with `.mode` rewritten (the rest as the image wrote it: the kernel never writes it) */
export function modeUpdate(u: MapUpdates, conf: usize, mode: u8): void {
  const key = new ArrayBuffer(4); // index 0
  const v = new ArrayBuffer(A.CONF_SIZE);
  memory.copy(changetype<usize>(v), conf, <usize>A.CONF_SIZE);
  store<u8>(changetype<usize>(v) + <usize>A.CONF_MODE, mode);
  u.update(A.TLN_MAP_POLICY, changetype<usize>(key), 4, changetype<usize>(v), A.CONF_SIZE);
}

/** a cgroup-id set (u64 cgroup id -> u8 1): removals first, then additions */
export function cgroupSetUpdates(u: MapUpdates, map: string, add: usize, nadd: i32, remove: usize, nrem: i32): void {
  const one = new ArrayBuffer(1);
  store<u8>(changetype<usize>(one), 1);
  for (let i = 0; i < nrem; i++) u.remove(map, remove + <usize>(i * 8), 8);
  for (let i = 0; i < nadd; i++) u.update(map, add + <usize>(i * 8), 8, changetype<usize>(one), 1);
}
