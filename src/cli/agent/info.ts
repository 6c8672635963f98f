// `talon status`, `talon version`, `talon probe`: what the agent and this
// kernel say about themselves; the client side is in src/agent/commands.ts.
import type sade from 'sade';
import type { Io } from '../../agent/commands.js';
import { client } from './args.js';
import { choice, conn, one, SERVER, TOKEN, type Opts } from './args.js';

export function registerInfo(prog: sade.Sade, io: Io): void {
  prog
    .command('status', "Show the agent's health: policies, pods, lost records, differential check")
    .option('-o, --output', 'text or json', 'text')
    .option(...SERVER)
    .option(...TOKEN)
    .action(async (opts: Opts) => {
      const cmd = 'status';
      const out = choice(one(opts, 'output', '-o/--output', cmd) ?? 'text', ['text', 'json'] as const, '-o/--output', cmd)!;
      return (await client()).status(conn(opts, cmd), out, io);
    });

  prog
    .command('version', 'Print the version of talon, and of the agent when it answers')
    .describe([
      'Print the version of talon, and of the agent when it answers.',
      'As tetra: -s/--server asks the agent and fails when it does not answer; -b/--build adds the build.',
    ])
    .option('-s, --server', 'Also the version of the agent; exit 1 when it does not answer', false)
    .option('-b, --build', 'Also the build: Node.js, platform, the core and when it was built', false)
    .option(...SERVER)
    .option(...TOKEN)
    .action(async (opts: Opts) => {
      const cmd = 'version';
      const { talonVersion } = await import('../../agent/version.js');
      return (await client()).version(conn(opts, cmd), talonVersion(), io, { server: opts.server === true, build: opts.build === true });
    });

  prog
    .command('probe', 'Probe the kernel: features, and which implementation serves each hook here (root)')
    .describe([
      'Probe the kernel: features, and which implementation serves each hook here (root).',
      'Loads small test programs (no agent needed), then applies the hook catalog as the agent',
      'would: for each hook, the implementation chosen and why each other one was not.',
    ])
    .option('-o, --output', 'text or json', 'text')
    .action(async (opts: Opts) => {
      const cmd = 'probe';
      const out = choice(one(opts, 'output', '-o/--output', cmd) ?? 'text', ['text', 'json'] as const, '-o/--output', cmd)!;
      return (await client()).probe(out, io);
    });
}
