// talon's version: the one in package.json (client and agent report it).
import { readFileSync } from 'node:fs';

let cached: string | null = null;

export function talonVersion(): string {
  if (cached !== null) return cached;
  try {
    // dist/src/agent/version.js -> package.json at the repository (or package) root
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    cached = pkg.version ?? '0.0.0';
  } catch {
    cached = '0.0.0';
  }
  return cached;
}
