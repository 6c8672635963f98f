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
      const split = (xs: string[]) =>
        xs
          .flatMap((x) => x.split(','))
          .map((x) => x.trim())
          .filter(Boolean);
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
      return (await client()).getEvents(
        conn(opts, cmd),
        {
          output,
          filter,
          color,
          timestamps: opts.timestamps === true,
          input: one(opts, 'input', '-i/--input', cmd),
          count,
        },
        io,
      );
    });
}
