// `talon getevents`: stream events from the agent or filter a recorded stream;
// the client side is getEvents in src/agent/commands.ts.
import type sade from 'sade';
import type { Io } from '../../agent/commands.js';
import { client } from './args.js';
import { COLOR_MODES, type ColorMode } from '../../events/color.js';
import type { EventFilter } from '../../events/filter.js';
import { UsageError } from '../errors.js';
import { choice, conn, many, one, SERVER, TOKEN, type Opts } from './args.js';

export function registerGetEvents(prog: sade.Sade, io: Io): void {
  prog
    .command('getevents', 'Stream events from the agent (or filter a recorded JSON stream)')
    .describe([
      'Stream events from the agent (or filter a recorded JSON stream).',
      'Events are Tetragon-shaped JSON (-o json, replayable by `talon dry-run`) or compact lines.',
      'With --input, or when stdin is a pipe or a file (`cat events.jsonl | talon getevents ...`),',
      'filter recorded JSON events (one per line) instead of connecting, as tetra does.',
    ])
    .option('-o, --output', 'json or compact', 'json')
    .option('--pods', 'Pod name regexes, comma separated (repeatable)')
    .option('--pod', 'Same as --pods (tetra spells both)')
    .option('-n, --namespace', 'Pod namespaces, comma separated (repeatable)')
    .option('--namespace-regex', 'Pod namespace regex (repeatable)')
    .option('--host', 'Also host processes (processes in no pod)', false)
    .option('--process', 'Binary regexes, comma separated (repeatable)')
    .option('-f, --include-fields', 'Only these fields of each event, comma separated (e.g. process.binary,parent.pid)')
    .option('-F, --exclude-fields', 'Leave these fields out of each event, comma separated')
    .option('--cel-expression', 'CEL expression over the event, e.g. \'process_exec.process.binary == "/usr/bin/cat"\' (repeatable: any matches)')
    .option('--reconnect', 'When the agent stops, wait for it and resubscribe instead of exiting', false)
    .option('--grpc', "Read the events from Tetragon's gRPC API (GetEvents) instead of talon's ws API", false)
    .option('-e, --event-types', 'Event types, comma separated: PROCESS_EXEC,PROCESS_EXIT,PROCESS_KPROBE')
    .option('--policy-names', 'Policy names, comma separated')
    .option('--color', 'Colours in compact output: auto, always or never', 'auto')
    .option('--timestamps', 'Prefix each compact line with the event time', false)
    .option('-i, --input', 'Read JSON events from this file ("-" for stdin) instead of the agent (default: stdin when piped)')
    .option('--count', 'Stop after this many events')
    .option(...SERVER)
    .option(...TOKEN)
    .example('getevents -o compact --pods xwing')
    .example('getevents -o compact --namespace default,empire --process curl,cat')
    .example('getevents -o json -f process.binary,process.pod.name --grpc')
    .example('getevents -o json --namespace default > events.jsonl')
    .example('getevents -i events.jsonl -o compact --pods xwing')
    .example('getevents -o compact --process curl < events.jsonl')
    .action(async (opts: Opts) => {
      const cmd = 'getevents';
      const output = choice(one(opts, 'output', '-o/--output', cmd) ?? 'json', ['json', 'compact'] as const, '-o/--output', cmd)!;
      const color = choice<ColorMode>(one(opts, 'color', '--color', cmd) ?? 'auto', COLOR_MODES, '--color', cmd)!;
      // tetra splits its list flags on commas (`--namespace a,b`, `--pods a,b`)
      const split = (xs: string[]) =>
        xs
          .flatMap((x) => x.split(','))
          .map((x) => x.trim())
          .filter(Boolean);
      const namespace = split(many(opts, 'namespace', '-n/--namespace', cmd));
      if (opts.host === true) namespace.push('');
      const filter: EventFilter = {
        pod_regex: split([...many(opts, 'pods', '--pods', cmd), ...many(opts, 'pod', '--pod', cmd)]),
        namespace,
        namespace_regex: many(opts, 'namespace-regex', '--namespace-regex', cmd),
        binary_regex: split(many(opts, 'process', '--process', cmd)),
        event_set: split(many(opts, 'event-types', '-e/--event-types', cmd)),
        policy_names: split(many(opts, 'policy-names', '--policy-names', cmd)),
        // not split: a CEL expression may hold commas
        cel_expression: many(opts, 'cel-expression', '--cel-expression', cmd),
      };
      const include = split(many(opts, 'include-fields', '-f/--include-fields', cmd));
      const exclude = split(many(opts, 'exclude-fields', '-F/--exclude-fields', cmd));
      const countS = one(opts, 'count', '--count', cmd);
      const count = countS === undefined ? undefined : Number(countS);
      if (count !== undefined && !(Number.isInteger(count) && count > 0)) throw new UsageError('--count must be a positive integer', cmd);
      return (await client()).getEvents(
        conn(opts, cmd),
        {
          output,
          filter,
          color,
          timestamps: opts.timestamps === true,
          input: one(opts, 'input', '-i/--input', cmd),
          count,
          fields: { include, exclude },
          reconnect: opts.reconnect === true,
          grpc: opts.grpc === true,
        },
        io,
      );
    });
}
