// The private containerd of the CRI suites lives in src/pods/containerd.ts (the quickstart uses it too).
export * from '../../src/pods/containerd.js';
