// `talon agent` and `talon quickstart`: the two commands that run an agent in
// this process (the work is in src/agent/run.ts and src/agent/quickstart.ts).
import type sade from 'sade';
import type { Io } from '../../agent/commands.js';
import { COLOR_MODES, type ColorMode } from '../../events/color.js';
import { UsageError } from '../errors.js';
import { choice, one, type Opts } from './args.js';

function exportFile(opts: Opts, cmd: string): string | undefined {
  const a = one(opts, 'export-filename', '--export-filename', cmd);
  const b = one(opts, 'export-file', '--export-file', cmd);
  if (a !== undefined && b !== undefined && a !== b) throw new UsageError('--export-file is another name for --export-filename: give one', cmd);
  return a ?? b;
}

/** A non-negative number option (integers only when `integer`). */
function number(opts: Opts, name: string, flag: string, cmd: string, integer: boolean): number | undefined {
  const v = one(opts, name, flag, cmd);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} must be a ${integer ? 'whole ' : ''}number >= 0, not "${v}"`, cmd);
  }
  return n;
}

function tlsFiles(opts: Opts, cmd: string): { certFile: string; keyFile: string } | undefined {
  const certFile = one(opts, 'server-tls-cert-file', '--server-tls-cert-file', cmd);
  const keyFile = one(opts, 'server-tls-key-file', '--server-tls-key-file', cmd);
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) throw new UsageError('--server-tls-cert-file and --server-tls-key-file go together', cmd);
  return { certFile, keyFile };
}

function metricsServer(opts: Opts, cmd: string): string | undefined {
  const v = one(opts, 'metrics-server', '--metrics-server', cmd);
  if (v !== undefined && !/^(\[[^\]]+\]|[^:]*):\d+$/.test(v)) throw new UsageError(`--metrics-server must be host:port (e.g. 127.0.0.1:2112), not "${v}"`, cmd);
  return v;
}

/** `talon agent`: run the agent in the foreground. */
export function registerAgent(prog: sade.Sade, io: Io): void {
  prog
    .command('agent', 'Run the talon agent: enforce policies in this kernel, serve the API')
    .describe([
      'Run the talon agent: enforce policies in this kernel, serve the API.',
      'Runs in the foreground, as root. Loads the policies of --policy-dir, then accepts policies,',
      'pods and event subscriptions on the API. SIGTERM or SIGINT detaches every program and',
      'removes the socket; pods and API policies are kept in the state dir for the next start.',
    ])
    .option('--policy-dir', 'Load every *.yaml in this directory at start (domain "static")')
    .option('--server-address', 'API address: unix:///path (mode 0600) or host:port (needs a token)', 'unix:///run/talon/talon.sock')
    .option('--state-dir', 'Pods, API policies and the token live here (default $TALON_STATE_DIR, else /var/lib/talon)')
    .option('--token', 'Token TCP clients must send (default: generated, written to <state dir>/token)')
    .option('--node-name', 'Node name in events (default: the host name)')
    .option('--export-filename', 'Also append every event to this file, one JSON object per line (mode 0600)')
    .option('--export-file', 'Same as --export-filename')
    .option('--export-file-max-size-mb', 'Rotate the export file when it would grow past this size (0: never)', 10)
    .option('--export-file-rotation-max-backups', 'Rotated export files to keep: FILE.1 (newest) .. FILE.N', 5)
    .option('--metrics-server', 'Serve Prometheus metrics on host:port at /metrics (e.g. 127.0.0.1:2112; off by default)')
    .option('--metrics-label-filter', "Labels of Tetragon's metrics to fill, comma-separated (Tetragon's default: namespace,workload,pod,binary)")
    .option(
      '--grpc-server-address',
      'Tetragon\'s gRPC API (FineGuidanceSensors): unix:///path (mode 0600) or host:port (needs the token); "" turns it off (default: tetragon.sock beside the API socket)',
    )
    .option('--server-tls-cert-file', 'TLS certificate for a TCP gRPC address')
    .option('--server-tls-key-file', 'TLS key for a TCP gRPC address')
    .example('agent --policy-dir /etc/talon/policies')
    .example('agent --export-filename /var/log/talon/events.log --metrics-server 127.0.0.1:2112')
    .example('agent --server-address 127.0.0.1:54321 --state-dir /tmp/talon')
    .action(async (opts: Opts) => {
      const cmd = 'agent';
      const { runAgent } = await import('../../agent/run.js');
      return runAgent(
        {
          policyDir: one(opts, 'policy-dir', '--policy-dir', cmd),
          serverAddress: one(opts, 'server-address', '--server-address', cmd),
          stateDir: one(opts, 'state-dir', '--state-dir', cmd),
          token: one(opts, 'token', '--token', cmd),
          nodeName: one(opts, 'node-name', '--node-name', cmd),
          exportFile: exportFile(opts, cmd),
          exportFileMaxSizeMb: number(opts, 'export-file-max-size-mb', '--export-file-max-size-mb', cmd, false),
          exportFileMaxBackups: number(opts, 'export-file-rotation-max-backups', '--export-file-rotation-max-backups', cmd, true),
          metricsServer: metricsServer(opts, cmd),
          metricsLabelFilter: one(opts, 'metrics-label-filter', '--metrics-label-filter', cmd),
          grpcServerAddress: one(opts, 'grpc-server-address', '--grpc-server-address', cmd),
          grpcTls: tlsFiles(opts, cmd),
        },
        io.stderr,
      );
    });
}

/** `talon quickstart`: a temporary agent, pods and the seed scenarios. */
export function registerQuickstart(prog: sade.Sade, io: Io): void {
  prog
    .command('quickstart', 'Walk through the Tetragon enforcement quickstart in this kernel (root)')
    .describe([
      'Walk through the Tetragon enforcement quickstart in this kernel (root).',
      'Starts a temporary agent, creates pods, loads examples/file-monitoring-enforce.yaml and',
      'examples/egress-cluster-enforce.yaml, runs the quickstart scenarios with `talon exec`',
      'semantics and prints the events; everything is cleaned up, also on failure or Ctrl-C.',
    ])
    .option('--color', 'Colours: auto, always or never', 'auto')
    .action(async (opts: Opts) => {
      const cmd = 'quickstart';
      const color = choice<ColorMode>(one(opts, 'color', '--color', cmd) ?? 'auto', COLOR_MODES, '--color', cmd)!;
      const { runQuickstart } = await import('../../agent/quickstart.js');
      return runQuickstart({ color, out: io.stdout });
    });
}
