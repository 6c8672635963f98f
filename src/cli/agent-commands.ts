// The agent's commands: `talon agent`, `tracingpolicy` (tp), `getevents`,
// `pod`, `exec`, `status`, `quickstart`. Only argument handling here; the
// work is in src/agent (see docs/agent.md).

import type sade from 'sade';
import type { ConnectOptions } from '../api/client.js';
import { COLOR_MODES, type ColorMode } from '../events/color.js';
import type { EventFilter } from '../events/filter.js';
import { parseLabels } from '../pods/pod.js';
import * as cmds from '../agent/commands.js';
import { UsageError } from './errors.js';

type Opts = Record<string, unknown> & { _: unknown[] };

/** main.ts carries a lone "-" argument through as this token */
const STDIN_TOKEN = '\u0000-';
const arg = (v: unknown): string => (String(v) === STDIN_TOKEN ? '-' : String(v));

function one(opts: Opts, name: string, flag: string, cmd: string): string | undefined {
  const v = opts[name];
  if (v === undefined || v === false) return undefined;
  if (Array.isArray(v)) throw new UsageError(`${flag} given more than once`, cmd);
  if (v === true || String(v) === '') throw new UsageError(`${flag} needs a value`, cmd);
  return arg(v);
}

function many(opts: Opts, name: string, flag: string, cmd: string): string[] {
  const v = opts[name];
  if (v === undefined || v === false) return [];
  const all = (Array.isArray(v) ? v : [v]).map(arg);
  if (all.some((s) => s === '' || s === 'true')) throw new UsageError(`${flag} needs a value`, cmd);
  return all;
}

function choice<T extends string>(v: string | undefined, allowed: readonly T[], flag: string, cmd: string): T | undefined {
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`${flag} must be ${allowed.join(' or ')}, not "${v}"`, cmd);
  return v as T;
}

function conn(opts: Opts, cmd: string): ConnectOptions {
  return { address: one(opts, 'server-address', '--server-address', cmd), token: one(opts, 'token', '--token', cmd) };
}

const SERVER = ['--server-address', 'Agent API address: unix:///path or host:port (default $TALON_SERVER_ADDRESS, else unix:///run/talon/talon.sock)'] as const;
const TOKEN = ['--token', 'Token for a TCP address (default $TALON_TOKEN, else <state dir>/token)'] as const;

/** options of these commands that take a value (main.ts parses them as strings,
 * so "--token 007" stays "007" and "-i -" reaches us as stdin) */
export const AGENT_VALUE_FLAGS: readonly string[] = [
  'server-address', 'state-dir', 'policy-dir', 'token', 'node-name', 'export-file',
  'export-filename', 'export-file-max-size-mb', 'export-file-rotation-max-backups', 'metrics-server',
  'label', 'l', 'container', 'image', 'pods', 'process', 'event-types', 'e',
  'policy-names', 'input', 'i', 'count',
];

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

function metricsServer(opts: Opts, cmd: string): string | undefined {
  const v = one(opts, 'metrics-server', '--metrics-server', cmd);
  if (v !== undefined && !/^(\[[^\]]+\]|[^:]*):\d+$/.test(v)) throw new UsageError(`--metrics-server must be host:port (e.g. 127.0.0.1:2112), not "${v}"`, cmd);
  return v;
}

export function registerAgentCommands(prog: sade.Sade): void {
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
    .example('agent --policy-dir /etc/talon/policies')
    .example('agent --export-filename /var/log/talon/events.log --metrics-server 127.0.0.1:2112')
    .example('agent --server-address 127.0.0.1:54321 --state-dir /tmp/talon')
    .action(async (opts: Opts) => {
      const cmd = 'agent';
      const { runAgent } = await import('../agent/run.js');
      return runAgent({
        policyDir: one(opts, 'policy-dir', '--policy-dir', cmd),
        serverAddress: one(opts, 'server-address', '--server-address', cmd),
        stateDir: one(opts, 'state-dir', '--state-dir', cmd),
        token: one(opts, 'token', '--token', cmd),
        nodeName: one(opts, 'node-name', '--node-name', cmd),
        exportFile: exportFile(opts, cmd),
        exportFileMaxSizeMb: number(opts, 'export-file-max-size-mb', '--export-file-max-size-mb', cmd, false),
        exportFileMaxBackups: number(opts, 'export-file-rotation-max-backups', '--export-file-rotation-max-backups', cmd, true),
        metricsServer: metricsServer(opts, cmd),
      });
    });

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
      return cmds.tpAdd(conn(opts, cmd), { file: arg(file), namespace: one(opts, 'namespace', '-n/--namespace', cmd) ?? 'default', mode });
    });

  prog
    .command('tracingpolicy delete <name>', 'Delete a tracing policy from the running agent', { alias: 'tp delete' })
    .option('-n, --namespace', 'Namespace of the policy (when several have the name)')
    .option(...SERVER)
    .option(...TOKEN)
    .action(async (name: unknown, opts: Opts) => {
      const cmd = 'tracingpolicy delete';
      return cmds.tpDelete(conn(opts, cmd), arg(name), one(opts, 'namespace', '-n/--namespace', cmd));
    });

  for (const what of ['enable', 'disable'] as const) {
    prog
      .command(`tracingpolicy ${what} <name>`, what === 'enable' ? 'Enable a disabled policy: its programs are loaded again' : 'Disable a policy: its programs are unloaded, it stays listed as disabled', {
        alias: `tp ${what}`,
      })
      .option('-n, --namespace', 'Namespace of the policy (when several have the name)')
      .option(...SERVER)
      .option(...TOKEN)
      .example(`tp ${what} file-monitoring-enforce -n default`)
      .action(async (name: unknown, opts: Opts) => {
        const cmd = `tracingpolicy ${what}`;
        return cmds.tpEnable(conn(opts, cmd), arg(name), what === 'enable', one(opts, 'namespace', '-n/--namespace', cmd));
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
      return cmds.tpList(conn(opts, cmd), out);
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
      return cmds.tpSetMode(conn(opts, cmd), arg(name), m, one(opts, 'namespace', '-n/--namespace', cmd));
    });

  prog
    .command('getevents', 'Stream events from the agent (or filter a recorded JSON stream)')
    .describe([
      'Stream events from the agent (or filter a recorded JSON stream).',
      'Events are Tetragon-shaped JSON (-o json, replayable by `talon dry-run`) or compact lines.',
      'With --input, or when stdin is a pipe or a file (`cat events.jsonl | talon getevents ...`),',
      'filter recorded JSON events (one per line) instead of connecting, as tetra does.',
    ])
    .option('-o, --output', 'json or compact', 'json')
    .option('--pods', 'Pod name regex (repeatable)')
    .option('-n, --namespace', 'Pod namespace (repeatable)')
    .option('--host', 'Also host processes (processes in no pod)', false)
    .option('--process', 'Binary regex (repeatable)')
    .option('-e, --event-types', 'Event types, comma separated: PROCESS_EXEC,PROCESS_EXIT,PROCESS_KPROBE')
    .option('--policy-names', 'Policy names, comma separated')
    .option('--color', 'Colours in compact output: auto, always or never', 'auto')
    .option('--timestamps', 'Prefix each compact line with the event time', false)
    .option('-i, --input', 'Read JSON events from this file ("-" for stdin) instead of the agent (default: stdin when piped)')
    .option('--count', 'Stop after this many events')
    .option(...SERVER)
    .option(...TOKEN)
    .example('getevents -o compact --pods xwing')
    .example('getevents -o json --namespace default > events.jsonl')
    .example('getevents -i events.jsonl -o compact --pods xwing')
    .example('getevents -o compact --process curl < events.jsonl')
    .action(async (opts: Opts) => {
      const cmd = 'getevents';
      const output = choice(one(opts, 'output', '-o/--output', cmd) ?? 'json', ['json', 'compact'] as const, '-o/--output', cmd)!;
      const color = choice<ColorMode>(one(opts, 'color', '--color', cmd) ?? 'auto', COLOR_MODES, '--color', cmd)!;
      const namespace = many(opts, 'namespace', '-n/--namespace', cmd);
      if (opts.host === true) namespace.push('');
      const split = (xs: string[]) => xs.flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
      const filter: EventFilter = {
        pod_regex: many(opts, 'pods', '--pods', cmd),
        namespace,
        binary_regex: many(opts, 'process', '--process', cmd),
        event_set: split(many(opts, 'event-types', '-e/--event-types', cmd)),
        policy_names: split(many(opts, 'policy-names', '--policy-names', cmd)),
      };
      const countS = one(opts, 'count', '--count', cmd);
      const count = countS === undefined ? undefined : Number(countS);
      if (count !== undefined && !(Number.isInteger(count) && count > 0)) throw new UsageError('--count must be a positive integer', cmd);
      return cmds.getEvents(conn(opts, cmd), {
        output,
        filter,
        color,
        timestamps: opts.timestamps === true,
        input: one(opts, 'input', '-i/--input', cmd),
        count,
      });
    });

  prog
    .command('pod add <pod>', 'Create a pod: a cgroup with a namespace, a name and labels')
    .option('-n, --namespace', 'Namespace when <pod> has no "<ns>/"', 'default')
    .option('-l, --label', 'Label key=value (repeatable)')
    .option('--container', 'Container name (default: the pod name)')
    .option('--image', 'Container image (default: localhost/<pod>:latest)')
    .option(...SERVER)
    .option(...TOKEN)
    .example('pod add default/xwing --label app=xwing --label org=alliance')
    .action(async (pod: unknown, opts: Opts) => {
      const cmd = 'pod add';
      let labels: Record<string, string>;
      try {
        labels = parseLabels(many(opts, 'label', '-l/--label', cmd));
      } catch (e) {
        throw new UsageError((e as Error).message, cmd);
      }
      return cmds.podAdd(conn(opts, cmd), {
        ref: arg(pod),
        namespace: one(opts, 'namespace', '-n/--namespace', cmd) ?? 'default',
        labels,
        container: one(opts, 'container', '--container', cmd),
        image: one(opts, 'image', '--image', cmd),
      });
    });

  prog
    .command('pod label <pod>', 'Change labels of a pod: key=value sets, key- removes (policies follow)')
    .option('-n, --namespace', 'Namespace when <pod> has no "<ns>/"', 'default')
    .option(...SERVER)
    .option(...TOKEN)
    .example('pod label default/xwing app=xwing org-')
    .action(async (pod: unknown, opts: Opts) => {
      const cmd = 'pod label';
      const changes = opts._.map(arg);
      if (changes.length === 0) throw new UsageError('give at least one key=value or key-', cmd);
      return cmds.podLabel(conn(opts, cmd), arg(pod), one(opts, 'namespace', '-n/--namespace', cmd) ?? 'default', changes);
    });

  prog
    .command('pod list', 'List the pods')
    .option('-o, --output', 'text or json', 'text')
    .option(...SERVER)
    .option(...TOKEN)
    .action(async (opts: Opts) => {
      const cmd = 'pod list';
      const out = choice(one(opts, 'output', '-o/--output', cmd) ?? 'text', ['text', 'json'] as const, '-o/--output', cmd)!;
      return cmds.podList(conn(opts, cmd), out);
    });

  prog
    .command('pod delete <pod>', 'Delete a pod: its processes are killed and its cgroup removed')
    .option('-n, --namespace', 'Namespace when <pod> has no "<ns>/"', 'default')
    .option(...SERVER)
    .option(...TOKEN)
    .action(async (pod: unknown, opts: Opts) => {
      const cmd = 'pod delete';
      return cmds.podDelete(conn(opts, cmd), arg(pod), one(opts, 'namespace', '-n/--namespace', cmd) ?? 'default');
    });

  prog
    .command('exec <pod>', 'Run a command inside a pod, like kubectl exec; exits with its status')
    .describe([
      'Run a command inside a pod, like kubectl exec; exits with its status.',
      'The command runs in the pod\'s cgroup with this terminal. The exit status is the command\'s,',
      '128+signal when it was killed (137: SIGKILL).',
    ])
    .option('-n, --namespace', 'Namespace when <pod> has no "<ns>/"', 'default')
    .option(...SERVER)
    .option(...TOKEN)
    .example("exec xwing -- bash -c 'cat /etc/shadow'")
    .example('exec -n empire deathstar -- curl -s http://127.96.0.10/')
    .action(async (pod: unknown, opts: Opts) => {
      const cmd = 'exec';
      const argv = opts._.map(arg);
      if (argv.length === 0) throw new UsageError('no command given: talon exec <pod> -- <command> [args...]', cmd);
      return cmds.execCommand(conn(opts, cmd), arg(pod), one(opts, 'namespace', '-n/--namespace', cmd) ?? 'default', argv);
    });

  prog
    .command('status', 'Show the agent\'s health: policies, pods, lost records, differential check')
    .option('-o, --output', 'text or json', 'text')
    .option(...SERVER)
    .option(...TOKEN)
    .action(async (opts: Opts) => {
      const cmd = 'status';
      const out = choice(one(opts, 'output', '-o/--output', cmd) ?? 'text', ['text', 'json'] as const, '-o/--output', cmd)!;
      return cmds.status(conn(opts, cmd), out);
    });

  prog
    .command('version', 'Print the version of talon, and of the agent when it answers')
    .option(...SERVER)
    .option(...TOKEN)
    .action(async (opts: Opts) => {
      const cmd = 'version';
      const { talonVersion } = await import('../agent/version.js');
      return cmds.version(conn(opts, cmd), talonVersion());
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
      return cmds.probe(out);
    });

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
      const { runQuickstart } = await import('../agent/quickstart.js');
      return runQuickstart({ color });
    });
}
