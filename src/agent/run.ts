// `talon agent`: run the agent in the foreground until SIGTERM or SIGINT.
// Log lines follow --log-level and --log-format (text: "talon agent: msg";
// json: one object per line with time, level and msg, as Tetragon's logger).
import { Agent, type AgentOptions } from './agent.js';
import { LOG_LEVELS, type LogFormat, type LogLevel } from './options.js';

type Level = LogLevel;

/** The agent logs in plain sentences; problems start with these words and are warnings. */
const WARNING = /^(cannot|warning|failed|refused)/i;

export function makeLogger(stderr: NodeJS.WritableStream, level: LogLevel = 'info', format: LogFormat = 'text'): (msg: string, lvl?: Level) => void {
  const min = LOG_LEVELS.indexOf(level);
  return (msg, lvl) => {
    const l: Level = lvl ?? (WARNING.test(msg) ? 'warn' : 'info');
    if (LOG_LEVELS.indexOf(l) < min) return;
    if (format === 'json') stderr.write(JSON.stringify({ time: new Date().toISOString(), level: l, msg }) + '\n');
    else stderr.write(`talon agent: ${msg}\n`);
  };
}

export async function runAgent(opts: AgentOptions, stderr: NodeJS.WritableStream = process.stderr, sources: string[] = []): Promise<number> {
  const log = makeLogger(stderr, opts.logLevel, opts.logFormat);
  for (const s of sources) log(`configuration read from ${s}`, 'debug');
  if (opts.cleanup) {
    try {
      const r = await Agent.cleanup(opts);
      log(`cleanup: ${r.links} pinned links removed (${r.dir}); their programs and maps are gone`);
      return 0;
    } catch (e) {
      log(`cannot clean up: ${(e as Error).message}`, 'error');
      return 1;
    }
  }
  let agent: Agent;
  try {
    agent = await Agent.start({ ...opts, log: opts.log ?? ((m) => log(m)) });
  } catch (e) {
    log(`cannot start: ${(e as Error).message}`, 'error');
    return 1;
  }
  const sig = await new Promise<NodeJS.Signals>((resolve) => {
    const on = (s: NodeJS.Signals) => resolve(s);
    process.once('SIGTERM', on);
    process.once('SIGINT', on);
  });
  log(`${sig}: stopping`);
  // a second signal while stopping ends the process at once (pinned programs stay, as after a crash)
  const hard = () => process.exit(130);
  process.once('SIGINT', hard);
  process.once('SIGTERM', hard);
  try {
    await agent.stop({ keep: opts.keepSensorsOnExit });
    log(
      opts.keepSensorsOnExit
        ? 'stopped: socket removed; the pinned programs keep enforcing (the next agent takes over; talon agent --cleanup removes them)'
        : 'stopped: programs detached, pins and maps removed, socket removed',
    );
    return 0;
  } catch (e) {
    log((e as Error).message, 'error');
    return 1;
  } finally {
    process.off('SIGINT', hard);
    process.off('SIGTERM', hard);
  }
}
