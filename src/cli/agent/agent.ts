// `talon agent` and `talon quickstart`: the two commands that run an agent in
// this process (the work is in src/agent/run.ts and src/agent/quickstart.ts).
import type sade from 'sade';
import type { Io } from '../../agent/commands.js';
import { COLOR_MODES, type ColorMode } from '../../events/color.js';
import { AGENT_OPTIONS } from '../../agent/options.js';
import { UsageError } from '../errors.js';
import { choice, one, type Opts } from './args.js';

/** `talon agent`: run the agent in the foreground; its options are the table of src/agent/options.ts. */
export function registerAgent(prog: sade.Sade, io: Io): void {
  let cmd = prog
    .command('agent', 'Run the talon agent: enforce policies in this kernel, serve the API')
    .describe([
      'Run the talon agent: enforce policies in this kernel, serve the API.',
      'Runs in the foreground, as root. Loads the policies of --tracing-policy-dir, --policy-dir and',
      '--tracing-policy, then accepts policies, pods and event subscriptions on the API. Its programs',
      'are pinned in bpffs: after a crash they keep enforcing and the next agent takes over with no',
      'gap. SIGTERM or SIGINT detaches every program and removes the socket (with',
      '--keep-sensors-on-exit the programs stay, as after a crash; --cleanup removes them); pods and',
      "API policies are kept in the state dir for the next start. Options may also come from Tetragon's configuration files",
      '(see --config-dir); the command line wins.',
    ]);
  for (const o of AGENT_OPTIONS) {
    cmd = cmd.option(`--${o.name}`, o.help);
    for (const a of o.aliases ?? []) cmd = cmd.option(`--${a}`, `Same as --${o.name}`);
  }
  cmd
    .example('agent --tracing-policy-dir /etc/tetragon/tetragon.tp.d')
    .example('agent --export-filename /var/log/talon/events.log --metrics-server 127.0.0.1:2112')
    .example('agent --config-dir /etc/tetragon/tetragon.conf.d --log-format json')
    .example('agent --enable-cri --cri-endpoint unix:///run/containerd/containerd.sock --enable-k8s-api')
    .example('agent --server-address 127.0.0.1:54321 --state-dir /tmp/talon')
    .action(async (opts: Opts) => {
      const { resolveAgentOptions, OptionsError } = await import('../../agent/config.js');
      let resolved;
      try {
        resolved = resolveAgentOptions(opts);
      } catch (e) {
        if (!(e instanceof OptionsError)) throw e;
        for (const p of e.problems) io.stderr.write(`talon agent: ${p}\n`);
        return 1;
      }
      const { runAgent } = await import('../../agent/run.js');
      return runAgent(resolved.options, io.stderr, resolved.sources);
    });
}

/** `talon quickstart`: a temporary agent, pods and the seed scenarios. */
export function registerQuickstart(prog: sade.Sade, io: Io): void {
  prog
    .command('quickstart', 'Walk through the Tetragon enforcement quickstart in this kernel (root)')
    .describe([
      'Walk through the Tetragon enforcement quickstart in this kernel (root).',
      'Starts a temporary agent, creates pods (containerd pods over CRI when containerd and runc',
      'are installed, else cgroup pods), loads examples/file-monitoring-enforce.yaml and',
      'examples/egress-cluster-enforce.yaml, runs the quickstart scenarios in the xwing pod and',
      'prints the events; everything is cleaned up, also on failure or Ctrl-C.',
    ])
    .option('--color', 'Colours: auto, always or never', 'auto')
    .option('--cgroup-pods', 'Use cgroup pods (talon pod add) even where containerd can run')
    .action(async (opts: Opts) => {
      const cmd = 'quickstart';
      const color = choice<ColorMode>(one(opts, 'color', '--color', cmd) ?? 'auto', COLOR_MODES, '--color', cmd)!;
      const cgroupPods = opts['cgroup-pods'];
      if (cgroupPods !== undefined && typeof cgroupPods !== 'boolean') throw new UsageError('--cgroup-pods takes no value', cmd);
      const { runQuickstart } = await import('../../agent/quickstart.js');
      return runQuickstart({ color, out: io.stdout, pods: cgroupPods ? 'cgroup' : 'auto' });
    });
}
