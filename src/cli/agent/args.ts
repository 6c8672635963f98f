// Argument helpers of the agent commands (src/cli/agent/*.ts): sade hands
// every option over as unknown; these check and convert them, throwing
// UsageError (exit 2) with the flag's name.
import type { ConnectOptions } from '../../api/client.js';
import { UsageError } from '../errors.js';
import { STDIN_TOKEN } from '../stdin-token.js';

export type Opts = Record<string, unknown> & { _: unknown[] };

export const arg = (v: unknown): string => (String(v) === STDIN_TOKEN ? '-' : String(v));

export function one(opts: Opts, name: string, flag: string, cmd: string): string | undefined {
  const v = opts[name];
  if (v === undefined || v === false) return undefined;
  if (Array.isArray(v)) throw new UsageError(`${flag} given more than once`, cmd);
  if (v === true || String(v) === '') throw new UsageError(`${flag} needs a value`, cmd);
  return arg(v);
}

export function many(opts: Opts, name: string, flag: string, cmd: string): string[] {
  const v = opts[name];
  if (v === undefined || v === false) return [];
  const all = (Array.isArray(v) ? v : [v]).map(arg);
  if (all.some((s) => s === '' || s === 'true')) throw new UsageError(`${flag} needs a value`, cmd);
  return all;
}

export function choice<T extends string>(v: string | undefined, allowed: readonly T[], flag: string, cmd: string): T | undefined {
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`${flag} must be ${allowed.join(' or ')}, not "${v}"`, cmd);
  return v as T;
}

export function conn(opts: Opts, cmd: string): ConnectOptions {
  return { address: one(opts, 'server-address', '--server-address', cmd), token: one(opts, 'token', '--token', cmd) };
}

export const SERVER = [
  '--server-address',
  'Agent API address: unix:///path or host:port (default $TALON_SERVER_ADDRESS, else unix:///run/talon/talon.sock)',
] as const;
export const TOKEN = ['--token', 'Token for a TCP address (default $TALON_TOKEN, else <state dir>/token)'] as const;

/** The client side (src/agent/commands.ts), loaded when a command runs: `talon --help` and the
 * compile and dry-run commands never pay for the API client and its dependencies. */
export const client = () => import('../../agent/commands.js');
