// The agent's commands: `talon agent`, `tracingpolicy` (tp), `getevents`,
// `pod`, `exec`, `status`, `version`, `probe`, `quickstart`, one register
// function per command group in src/cli/agent/. Only argument handling there;
// the work is in src/agent (see docs/agent.md).

import type sade from 'sade';
import type { Io } from '../agent/commands.js';
import { AGENT_OPTION_BOOLEAN_FLAGS, AGENT_OPTION_VALUE_FLAGS } from '../agent/options.js';
import { registerAgent, registerQuickstart } from './agent/agent.js';
import { registerGetEvents } from './agent/getevents.js';
import { registerInfo } from './agent/info.js';
import { registerExec, registerPod } from './agent/pod.js';
import { registerTracingPolicy } from './agent/tracingpolicy.js';

/** options of these commands that take a value (main.ts parses them as strings,
 * so "--token 007" stays "007" and "-i -" reaches us as stdin) */
export const AGENT_VALUE_FLAGS: readonly string[] = [
  ...AGENT_OPTION_VALUE_FLAGS,
  'server-address',
  'token',
  'label',
  'l',
  'container',
  'image',
  'pods',
  'pod',
  'namespace-regex',
  'include-fields',
  'f',
  'exclude-fields',
  'F',
  'cel-expression',
  'c',
  'process',
  'event-types',
  'e',
  'policy-names',
  'input',
  'i',
  'count',
];

/** boolean options of these commands (a value after them is the next argument, never theirs) */
export const AGENT_BOOLEAN_FLAGS: readonly string[] = [
  ...AGENT_OPTION_BOOLEAN_FLAGS,
  'reconnect',
  'grpc',
  'host',
  'timestamps',
  'tty',
  'stdin',
  'server',
  's',
  'build',
  'b',
];

/**
 * kubectl exec's `-ti` / `-it` / `-t` / `-i` spelled for `talon exec`: talon always runs the command
 * with this terminal, so they are accepted and mean what talon does anyway. Rewritten before parsing
 * because `-i` is also getevents' --input (a value flag) and would swallow the pod name.
 */
export function rewriteExecFlags(words: string[]): string[] {
  if (words[0] !== 'exec') return words;
  const end = words.indexOf('--');
  const head = end < 0 ? words : words.slice(0, end);
  const tail = end < 0 ? [] : words.slice(end);
  const out: string[] = [];
  for (const w of head) {
    if (/^-[ti]+$/.test(w)) {
      if (w.includes('t')) out.push('--tty');
      if (w.includes('i')) out.push('--stdin');
    } else out.push(w);
  }
  return [...out, ...tail];
}

/** Registers every agent command on `prog`; their output goes to `io`. The order is the order of `talon --help`. */
export function registerAgentCommands(prog: sade.Sade, io: Io): void {
  registerAgent(prog, io);
  registerTracingPolicy(prog, io);
  registerGetEvents(prog, io);
  registerPod(prog, io);
  registerExec(prog, io);
  registerInfo(prog, io);
  registerQuickstart(prog, io);
}
