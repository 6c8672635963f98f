// The kernel side of talon: loader, hook catalog, features, ring-buffer records.
export { Kernel, LoadError, NotSupportedError } from './loader.js';
export { LoadedPolicy } from './policy.js';
export { MAP_TYPE, planLoad, checkKernel, checkProcessSensor, sharedMaps } from './plan.js';
export type { LoadPlan, InstancePlan, AttachPoint, PlannedAttach, Refusal, PlanHost, SharedMapDef } from './plan.js';
export type { KernelOptions } from './loader.js';
export type { SelectorStats } from './policy.js';
export { CATALOG, HOOK_ID, chooseImpl, catalogEntry } from './catalog.js';
export type { CatalogEntry, HookImpl, AttachSpec } from './catalog.js';
export { probeFeatures, describeFeatures, findCgroup2 } from './features.js';
export type { Features, FeatureName } from './features.js';
export { decodeRecord, decodeExec, decodeExit, decodeHook, LAYOUT, ACTION_NAMES } from './records.js';
export type { TlnRecord, ExecRecord, ExitRecord, HookRecord, TaskInfo } from './records.js';
export { loadShim } from './shim.js';
export { ABI_TAG, BPFFS_TALON, pinDirFor, removePins } from './pins.js';
export type { Generation } from './pins.js';
export type { Shim, ProbeResult, ShimError } from './shim.js';
export { kernelCheck, readFeatures, returnWarning, unsupportedReasons } from './support.js';
export type { HookOnKernel } from './support.js';
