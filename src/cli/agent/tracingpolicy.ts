// `talon tracingpolicy` (tp): add, delete, enable, disable, list, set-mode;
// the client side is the tracingpolicy section of src/agent/commands.ts.
import type sade from 'sade';
import type { Io } from '../../agent/commands.js';
import { client } from './args.js';
import { arg, choice, conn, one, SERVER, TOKEN, type Opts } from './args.js';

/** the subcommands of the group, for `talon tp` / `talon tp --help` (as tetra prints its groups) */
const SUBCOMMANDS: [string, string][] = [
  ['add <file>', 'Add a tracing policy to the running agent'],
  ['delete <name>', 'Delete a tracing policy'],
  ['enable <name>', 'Enable a disabled policy'],
  ['disable <name>', 'Disable a policy (unloaded, still listed)'],
  ['list', 'List the policies: state, sensors, kernel memory, mode, counters'],
  ['set-mode <name> <mode>', 'Switch a policy to enforce or monitor at run time'],
];

/**
 * `talon tp`, `talon tp --help`: the group's commands, as tetra lists a group's. Answered before
 * sade parses: a sade command named like the group would break its alias rewriting (`tp add`).
 */
export function tracingPolicyGroupHelp(io: Io): void {
  const w = Math.max(...SUBCOMMANDS.map(([c]) => c.length)) + 2;
  io.stdout.write(
    `\n  Description\n    Manage the tracing policies of the running agent (alias: tp).\n\n  Usage\n    $ talon tracingpolicy <command> [options]\n\n  Available Commands\n` +
      SUBCOMMANDS.map(([c, d]) => `    ${c.padEnd(w)}${d}`).join('\n') +
      `\n\n  For more info, run any command with the \`--help\` flag\n    $ talon tp add --help\n    $ talon tp list --help\n\n`,
  );
}

export function registerTracingPolicy(prog: sade.Sade, io: Io): void {
  prog
    .command('tracingpolicy add <file>', 'Add a tracing policy to the running agent', { alias: 'tp add' })
    .describe([
      'Add a tracing policy to the running agent.',
      'The agent compiles it (diagnostics as `talon compile` prints them), loads it into the kernel',
      'and keeps it across restarts.',
    ])
    .option('-n, --namespace', 'Namespace of TracingPolicyNamespaced documents that name none', 'default')
    .option('-m, --mode', 'Load-time mode: enforce or monitor (overrides spec.options policy-mode)')
    .option(...SERVER)
    .option(...TOKEN)
    .example('tp add examples/file-monitoring-enforce.yaml')
    .example('tracingpolicy add egress.yaml -n default --mode monitor')
    .action(async (file: unknown, opts: Opts) => {
      const cmd = 'tracingpolicy add';
      const mode = choice(one(opts, 'mode', '-m/--mode', cmd), ['enforce', 'monitor'] as const, '-m/--mode', cmd);
      return (await client()).tpAdd(conn(opts, cmd), { file: arg(file), namespace: one(opts, 'namespace', '-n/--namespace', cmd) ?? 'default', mode }, io);
    });

  prog
    .command('tracingpolicy delete <name>', 'Delete a tracing policy from the running agent', { alias: 'tp delete' })
    .option('-n, --namespace', 'Namespace of the policy (when several have the name)')
    .option(...SERVER)
    .option(...TOKEN)
    .action(async (name: unknown, opts: Opts) => {
      const cmd = 'tracingpolicy delete';
      return (await client()).tpDelete(conn(opts, cmd), arg(name), one(opts, 'namespace', '-n/--namespace', cmd), io);
    });

  for (const what of ['enable', 'disable'] as const) {
    prog
      .command(
        `tracingpolicy ${what} <name>`,
        what === 'enable'
          ? 'Enable a disabled policy: its programs are loaded again'
          : 'Disable a policy: its programs are unloaded, it stays listed as disabled',
        {
          alias: `tp ${what}`,
        },
      )
      .option('-n, --namespace', 'Namespace of the policy (when several have the name)')
      .option(...SERVER)
      .option(...TOKEN)
      .example(`tp ${what} file-monitoring-enforce -n default`)
      .action(async (name: unknown, opts: Opts) => {
        const cmd = `tracingpolicy ${what}`;
        return (await client()).tpEnable(conn(opts, cmd), arg(name), what === 'enable', one(opts, 'namespace', '-n/--namespace', cmd), io);
      });
  }

  prog
    .command('tracingpolicy list', 'List the policies of the running agent: state, sensors, kernel memory, mode, counters', { alias: 'tp list' })
    .describe([
      'List the policies of the running agent: state, sensors, kernel memory, mode, counters.',
      'Columns as `tetra tracingpolicy list`: ID NAME DOMAIN STATE FILTERID NAMESPACE SENSORS',
      'KERNELMEMORY MODE NPOST NENFORCE NMONITOR. -o json adds the counters per selector, the pods,',
      'the programs and, for a policy that failed to load, the reason and the end of the verifier log.',
    ])
    .option('-o, --output', 'text or json', 'text')
    .option(...SERVER)
    .option(...TOKEN)
    .action(async (opts: Opts) => {
      const cmd = 'tracingpolicy list';
      const out = choice(one(opts, 'output', '-o/--output', cmd) ?? 'text', ['text', 'json'] as const, '-o/--output', cmd)!;
      return (await client()).tpList(conn(opts, cmd), out, io);
    });

  prog
    .command('tracingpolicy set-mode <name> <mode>', 'Switch a policy to enforce or monitor at run time, in place (no reload)', { alias: 'tp set-mode' })
    .describe([
      'Switch a policy to enforce or monitor at run time, in place (no reload).',
      'Overrides spec.options policy-mode and `tp add --mode`; kept across agent restarts for',
      'policies added with `tp add`. A monitor_only policy (no enforcement action) cannot be set.',
    ])
    .example('tp set-mode --namespace default file-monitoring-enforce monitor')
    .option('-n, --namespace', 'Namespace of the policy (when several have the name)')
    .option(...SERVER)
    .option(...TOKEN)
    .action(async (name: unknown, mode: unknown, opts: Opts) => {
      const cmd = 'tracingpolicy set-mode';
      const m = choice(arg(mode), ['enforce', 'monitor'] as const, '<mode>', cmd)!;
      return (await client()).tpSetMode(conn(opts, cmd), arg(name), m, one(opts, 'namespace', '-n/--namespace', cmd), io);
    });
}
