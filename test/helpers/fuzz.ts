// Fixed-seed mutation of text inputs for the fuzz suites: the same seed gives the same mutants
// on every run, so a failure names a mutant that can be reproduced.

/** mulberry32: a small, fast, seeded PRNG */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rand = ReturnType<typeof rng>;

export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
export const int = (r: Rand, n: number): number => Math.floor(r() * n);

/** a mutation of text at the character level: flip, insert, delete, duplicate or truncate */
export function mutateChars(r: Rand, s: string, alphabet: string): string {
  if (s.length === 0) return pick(r, [...alphabet]);
  const at = int(r, s.length);
  switch (int(r, 5)) {
    case 0:
      return s.slice(0, at) + pick(r, [...alphabet]) + s.slice(at + 1);
    case 1:
      return s.slice(0, at) + pick(r, [...alphabet]) + s.slice(at);
    case 2:
      return s.slice(0, at) + s.slice(at + 1 + int(r, 8));
    case 3: {
      const n = 1 + int(r, 24);
      return s.slice(0, at + n) + s.slice(at, at + n) + s.slice(at + n);
    }
    default:
      return s.slice(0, at);
  }
}
