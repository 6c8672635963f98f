export * from './pod.js';
export * from './cgroup.js';
export * from './registry.js';
export * from './exec.js';
