// `talon agent`: run the agent in the foreground until SIGTERM or SIGINT.
import { Agent, type AgentOptions } from './agent.js';

export async function runAgent(opts: AgentOptions, stderr: NodeJS.WritableStream = process.stderr): Promise<number> {
  let agent: Agent;
  try {
    agent = await Agent.start({ ...opts, log: opts.log ?? ((m) => stderr.write(`talon agent: ${m}\n`)) });
  } catch (e) {
    stderr.write(`talon agent: cannot start: ${(e as Error).message}\n`);
    return 1;
  }
  const sig = await new Promise<NodeJS.Signals>((resolve) => {
    const on = (s: NodeJS.Signals) => resolve(s);
    process.once('SIGTERM', on);
    process.once('SIGINT', on);
  });
  stderr.write(`talon agent: ${sig}: stopping\n`);
  // a second signal while stopping ends the process at once (the kernel drops our fds anyway)
  const hard = () => process.exit(130);
  process.once('SIGINT', hard);
  process.once('SIGTERM', hard);
  try {
    await agent.stop();
    stderr.write('talon agent: stopped: programs detached, maps closed, socket removed\n');
    return 0;
  } catch (e) {
    stderr.write(`talon agent: ${(e as Error).message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', hard);
    process.off('SIGTERM', hard);
  }
}
