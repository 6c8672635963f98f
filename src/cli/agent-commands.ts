// The agent's commands: `talon agent`, `tracingpolicy` (tp), `getevents`,
// `pod`, `exec`, `status`, `version`, `probe`, `quickstart`, one register
// function per command group in src/cli/agent/. Only argument handling there;
// the work is in src/agent (see docs/agent.md).

import type sade from 'sade';
import type { Io } from '../agent/commands.js';
import { registerAgent, registerQuickstart } from './agent/agent.js';
import { registerGetEvents } from './agent/getevents.js';
import { registerInfo } from './agent/info.js';
import { registerExec, registerPod } from './agent/pod.js';
import { registerTracingPolicy } from './agent/tracingpolicy.js';

/** options of these commands that take a value (main.ts parses them as strings,
 * so "--token 007" stays "007" and "-i -" reaches us as stdin) */
export const AGENT_VALUE_FLAGS: readonly string[] = [
  'server-address',
  'state-dir',
  'policy-dir',
  'token',
  'node-name',
  'export-file',
  'export-filename',
  'export-file-max-size-mb',
  'export-file-rotation-max-backups',
  'metrics-server',
  'metrics-label-filter',
  'grpc-server-address',
  'server-tls-cert-file',
  'server-tls-key-file',
  'label',
  'l',
  'container',
  'image',
  'pods',
  'process',
  'event-types',
  'e',
  'policy-names',
  'input',
  'i',
  'count',
];

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
