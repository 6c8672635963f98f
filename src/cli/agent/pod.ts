// `talon pod` (add, label, list, delete) and `talon exec`; the client side is
// the pod and exec sections of src/agent/commands.ts.
import type sade from 'sade';
import type { Io } from '../../agent/commands.js';
import { client } from './args.js';
import { parseLabels } from '../../pods/pod.js';
import { UsageError } from '../errors.js';
import { arg, choice, conn, many, one, SERVER, TOKEN, type Opts } from './args.js';

export function registerPod(prog: sade.Sade, io: Io): void {
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
      return (await client()).podAdd(
        conn(opts, cmd),
        {
          ref: arg(pod),
          namespace: one(opts, 'namespace', '-n/--namespace', cmd) ?? 'default',
          labels,
          container: one(opts, 'container', '--container', cmd),
          image: one(opts, 'image', '--image', cmd),
        },
        io,
      );
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
      return (await client()).podLabel(conn(opts, cmd), arg(pod), one(opts, 'namespace', '-n/--namespace', cmd) ?? 'default', changes, io);
    });

  prog
    .command('pod list', 'List the pods')
    .option('-o, --output', 'text or json', 'text')
    .option(...SERVER)
    .option(...TOKEN)
    .action(async (opts: Opts) => {
      const cmd = 'pod list';
      const out = choice(one(opts, 'output', '-o/--output', cmd) ?? 'text', ['text', 'json'] as const, '-o/--output', cmd)!;
      return (await client()).podList(conn(opts, cmd), out, io);
    });

  prog
    .command('pod delete <pod>', 'Delete a pod: its processes are killed and its cgroup removed')
    .option('-n, --namespace', 'Namespace when <pod> has no "<ns>/"', 'default')
    .option(...SERVER)
    .option(...TOKEN)
    .action(async (pod: unknown, opts: Opts) => {
      const cmd = 'pod delete';
      return (await client()).podDelete(conn(opts, cmd), arg(pod), one(opts, 'namespace', '-n/--namespace', cmd) ?? 'default', io);
    });
}

export function registerExec(prog: sade.Sade, io: Io): void {
  prog
    .command('exec <pod>', 'Run a command inside a pod, like kubectl exec; exits with its status')
    .describe([
      'Run a command inside a pod, like kubectl exec; exits with its status.',
      "The command runs in the pod's cgroup with this terminal. The exit status is the command's,",
      '128+signal when it was killed (137: SIGKILL).',
    ])
    .option('-n, --namespace', 'Namespace when <pod> has no "<ns>/"', 'default')
    .option('-c, --container', "Container name, as kubectl's -c (a talon pod has one; another name is refused)")
    .option('--tty', 'Accepted (also -t, -ti, -it) as kubectl exec spells it: the command always gets this terminal')
    .option('--stdin', 'Accepted (also -i) as kubectl exec spells it: the command always gets this stdin')
    .option(...SERVER)
    .option(...TOKEN)
    .example("exec xwing -- bash -c 'cat /etc/shadow'")
    .example("exec -ti xwing -c xwing -- bash -c 'curl -s http://127.96.0.10/'")
    .example('exec -n empire deathstar -- curl -s http://127.96.0.10/')
    .action(async (pod: unknown, opts: Opts) => {
      const cmd = 'exec';
      const argv = opts._.map(arg);
      if (argv.length === 0) throw new UsageError('no command given: talon exec <pod> -- <command> [args...]', cmd);
      return (await client()).execCommand(
        conn(opts, cmd),
        arg(pod),
        one(opts, 'namespace', '-n/--namespace', cmd) ?? 'default',
        argv,
        io,
        one(opts, 'container', '-c/--container', cmd),
      );
    });
}
