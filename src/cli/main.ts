// The `talon` command line.

import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import sade from 'sade';
import type { Mode } from '../core/types.js';
import { COLOR_MODES, type ColorMode } from '../events/color.js';
import type { DryRunFormat } from '../events/dryrun.js';
import { AGENT_BOOLEAN_FLAGS, AGENT_VALUE_FLAGS, registerAgentCommands, rewriteExecFlags } from './agent-commands.js';
import { CoreUnavailable } from './core.js';
import { EXIT_INPUT, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, InputError, UsageError } from './errors.js';
import { InvalidName } from '../pods/pod.js';
import { STDIN_TOKEN } from './stdin-token.js';

/**
 * Where a command reads and writes. bin/talon.js passes the process's streams;
 * tests pass their own and call main() in process (test/helpers/cli.ts).
 */
export interface MainIo {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  /**
   * Called when writing stdout fails, which can happen after main() resolved
   * and its code was taken; the process's io sets process.exitCode.
   */
  lateExit?: (code: number) => void;
}

/** The process's own streams: what bin/talon.js runs with. */
export function processIo(): MainIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    lateExit: (code) => {
      process.exitCode = code;
    },
  };
}

/** Flags that take a value: a lone "-" after one of them is that value (stdin/stdout). */
const OWN_STRING_FLAGS = ['kernel-btf', 'kernel', 'output', 'o', 'namespace', 'n', 'mode', 'm', 'policy', 'p', 'events', 'e', 'color'];
const STRING_FLAGS = [...new Set([...OWN_STRING_FLAGS, ...AGENT_VALUE_FLAGS])];
/** value flags that may be given "-" (stdin) as their value */
const VALUE_FLAGS = new Set(STRING_FLAGS.map((f) => (f.length === 1 ? `-${f}` : `--${f}`)));

const MODES: readonly Mode[] = ['enforce', 'monitor'];
const FORMATS: readonly DryRunFormat[] = ['json', 'compact'];

type Opts = Record<string, unknown> & { _: unknown[] };

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function preprocess(raw: string[]): string[] {
  const argv = [...raw.slice(0, 2), ...rewriteExecFlags(raw.slice(2))];
  const out = argv.slice(0, 2);
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-') {
      const prev = out[out.length - 1];
      if (out.length > 2 && VALUE_FLAGS.has(prev)) out[out.length - 1] = `${prev}=-`;
      else out.push(STDIN_TOKEN);
    } else out.push(a);
  }
  return out;
}

function positional(v: unknown): string {
  const s = String(v);
  return s === STDIN_TOKEN ? '-' : s;
}

/** A flag that may be given once; `undefined` when absent. */
function single(opts: Opts, name: string, flag: string, command: string): string | undefined {
  const v = opts[name];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) throw new UsageError(`${flag} given more than once`, command);
  const s = String(v);
  if (s === '') throw new UsageError(`${flag} needs a value`, command);
  return s;
}

function list(opts: Opts, name: string, flag: string, command: string): string[] {
  const v = opts[name];
  if (v === undefined) return [];
  const all = (Array.isArray(v) ? v : [v]).map(String);
  if (all.some((s) => s === '')) throw new UsageError(`${flag} needs a value`, command);
  return all;
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string, command: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} must be ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}, not "${value}"`, command);
  }
  return value as T;
}

function build(io: MainIo): sade.Sade {
  const prog = sade('talon').version(version());

  prog
    .command('compile <policy>', 'Check Tetragon tracing policies and compile them into a talon image')
    .describe([
      'Check Tetragon tracing policies and compile them into a talon image.',
      'Every problem of every file is reported as file:line:col: path: message.',
      'Each <policy> is a YAML file of one or more documents ("-" reads stdin).',
    ])
    .option('-o, --output', 'Write the image to this file ("-" for stdout); required unless --check')
    .option('-n, --namespace', 'Namespace of TracingPolicyNamespaced documents that name none (default: "default")')
    .option('-m, --mode', 'Load-time mode, enforce or monitor (overrides spec.options policy-mode)')
    .option('--check', 'Only check the policies, write nothing')
    .option('--kernel-btf', 'With --check: also check that the programs the policies need relocate and load on the kernel of this BTF file (repeatable)')
    .option(
      '--kernel',
      'With --check: say per hook which implementation it gets on the kernel whose features this file holds (talon probe -o json; repeatable); exit 1 when some hook cannot load on one of them',
    )
    .example('compile examples/file-monitoring-enforce.yaml -o file.img')
    .example('compile --check examples/*.yaml')
    .example('compile --check --kernel features-6.1.json --kernel features-6.8.json policy.yaml')
    .action(async (policy: unknown, opts: Opts) => {
      const cmd = 'compile';
      const files = [positional(policy), ...opts._.map(positional)];
      const output = single(opts, 'output', '-o/--output', cmd);
      const check = opts.check === true;
      if (check && output !== undefined) throw new UsageError('--check writes nothing; leave out -o/--output', cmd);
      if (!check && output === undefined) throw new UsageError('-o/--output <image> is required (or --check to only check)', cmd);
      const namespace = single(opts, 'namespace', '-n/--namespace', cmd) ?? 'default';
      const mode = oneOf(single(opts, 'mode', '-m/--mode', cmd), MODES, '-m/--mode', cmd);
      if (files.filter((f) => f === '-').length > 1) throw new UsageError('stdin ("-") can be read only once', cmd);
      const kernelBtf = list(opts, 'kernel-btf', '--kernel-btf', cmd);
      const kernels = list(opts, 'kernel', '--kernel', cmd);
      if (kernels.length > 0 && !check) throw new UsageError('--kernel needs --check', cmd);
      if (kernels.length > 0 && kernelBtf.length > 0) throw new UsageError('--kernel and --kernel-btf are separate checks: give one of them', cmd);
      if (kernelBtf.length > 0) {
        if (!check) throw new UsageError('--kernel-btf needs --check', cmd);
        const { runKernelBtfCheck } = await import('./kernel-btf.js');
        return runKernelBtfCheck(files, { namespace, mode, kernelBtf }, io);
      }
      // loaded here: --help and usage errors never load the policy loader (ajv, yaml) or the core
      const { runCompile } = await import('./compile.js');
      return runCompile(files, { output, namespace, mode, check, kernels }, io);
    });

  prog
    .command('dry-run', 'Evaluate recorded Tetragon events against policies, without a kernel')
    .describe([
      'Evaluate recorded Tetragon events (tetra getevents -o json) against policies, without a kernel.',
      'Policies are YAML files or compiled images, all evaluated together; verdicts recorded in the events are ignored.',
      'Prints one verdict per event line; malformed lines are reported on stderr and skipped.',
    ])
    .option('-p, --policy', 'Policy YAML file or talon image (repeatable; further arguments are policies too)')
    .option('-e, --events', 'Tetragon JSON events, one per line ("-" for stdin)')
    .option('-n, --namespace', 'Namespace of TracingPolicyNamespaced documents that name none (default: "default")')
    .option('-m, --mode', 'Mode for every policy, enforce or monitor (YAML: load-time; images: run-time)')
    .option('-o, --output', 'Output format, json or compact', 'json')
    .option('--color', 'Colours in compact output: auto, always or never', 'auto')
    .example('dry-run -p examples/file-monitoring-enforce.yaml -e examples/events/cat-shadow.jsonl')
    .example('dry-run -p file.img -p egress.img -e - -o compact < events.jsonl')
    .action(async (opts: Opts) => {
      const cmd = 'dry-run';
      const policies = [...list(opts, 'policy', '-p/--policy', cmd), ...opts._.map(positional)];
      if (policies.length === 0) throw new UsageError('at least one -p/--policy is required', cmd);
      const events = single(opts, 'events', '-e/--events', cmd);
      if (events === undefined) throw new UsageError('-e/--events <file|-> is required', cmd);
      if (events === '-' && policies.includes('-')) throw new UsageError('stdin ("-") cannot hold both policies and events', cmd);
      if (policies.filter((f) => f === '-').length > 1) throw new UsageError('stdin ("-") can be read only once', cmd);
      const namespace = single(opts, 'namespace', '-n/--namespace', cmd) ?? 'default';
      const mode = oneOf(single(opts, 'mode', '-m/--mode', cmd), MODES, '-m/--mode', cmd);
      const format = oneOf(single(opts, 'output', '-o/--output', cmd) ?? 'json', FORMATS, '-o/--output', cmd)!;
      const color = oneOf<ColorMode>(single(opts, 'color', '--color', cmd) ?? 'auto', COLOR_MODES, '--color', cmd)!;
      const { runDryRun } = await import('./dryrun.js');
      return runDryRun({ policies, events, namespace, mode, format, color }, io);
    });

  registerAgentCommands(prog, io);
  return prog;
}

class SadeExit {
  constructor(readonly code: number) {}
}

type Parsed = { kind: 'run'; name: string; handler: sade.Handler; args: unknown[] } | { kind: 'done' } | { kind: 'usage'; message: string; command?: string };

/**
 * sade reports command-line errors by printing and calling process.exit(1);
 * talon's usage errors exit 2 and read like its other errors, so parsing runs
 * with both intercepted and the message is re-worded. sade prints --help and
 * --version with console.log: that goes to io.stdout.
 */
function parse(prog: sade.Sade, argv: string[], io: MainIo): Parsed {
  const exit = process.exit;
  const error = console.error;
  const log = console.log;
  let captured = '';
  console.error = (...a: unknown[]) => {
    captured += a.map(String).join(' ') + '\n';
  };
  console.log = (...a: unknown[]) => {
    io.stdout.write(a.map(String).join(' ') + '\n');
  };
  process.exit = ((code?: number) => {
    throw new SadeExit(code ?? 0);
  }) as typeof process.exit;
  try {
    const r = prog.parse(argv, {
      lazy: true,
      // a copy: mri appends the aliases to this array, which would grow with every call of main()
      string: [...STRING_FLAGS],
      boolean: ['check', ...AGENT_BOOLEAN_FLAGS],
      unknown: (flag: string) => `unknown option ${flag.split('=')[0]}`,
    });
    if (r === undefined) return { kind: 'done' };
    return { kind: 'run', name: r.name, handler: r.handler, args: r.args };
  } catch (e) {
    if (!(e instanceof SadeExit)) throw e;
    const lines = captured.split('\n').map((l) => l.trim());
    const at = lines.indexOf('ERROR');
    let message = (at >= 0 ? lines[at + 1] : lines.find((l) => l !== '')) ?? 'invalid command line';
    const hint = /Run `\$ talon (.*?) ?--help`/.exec(captured);
    const command = hint?.[1]?.trim() || commandOf(prog, argv);
    if (message.startsWith('Invalid command: ')) message = `unknown command "${message.slice(17)}"`;
    else if (message === 'No command specified.') message = 'no command given';
    else if (message === 'Insufficient arguments!') message = 'missing argument';
    return { kind: 'usage', message, command };
  } finally {
    process.exit = exit;
    console.error = error;
    console.log = log;
  }
}

/** The command named on the command line, if it is one talon has. */
function commandOf(prog: sade.Sade, argv: string[]): string | undefined {
  const first = argv.slice(2).find((a) => !a.startsWith('-'));
  const tree = (prog as unknown as { tree?: Record<string, unknown> }).tree ?? {};
  return first !== undefined && first !== STDIN_TOKEN && Object.hasOwn(tree, first) && !first.startsWith('__') ? first : undefined;
}

function usage(io: MainIo, message: string, command?: string): number {
  const where = command ? `talon ${command}` : 'talon';
  io.stderr.write(`${where}: ${message}\nRun "${where} --help" for usage.\n`);
  return EXIT_USAGE;
}

/** Runs the command line; resolves to the exit code (it never calls process.exit). */
export async function main(argv: string[] = process.argv, io: MainIo = processIo()): Promise<number> {
  // a closed stdout (`talon ... | head`) is not an error; other write errors are reported once
  let reported = false;
  const onError = (e: NodeJS.ErrnoException): void => {
    if (e.code === 'EPIPE' || reported) return;
    reported = true;
    // a command that listens for itself (dry-run's output, compile -o -) reports it itself
    if (io.stdout.listenerCount('error') === 1) io.stderr.write(`talon: cannot write the output: ${e.message}\n`);
    io.lateExit?.(EXIT_INPUT);
  };
  io.stdout.on('error', onError);
  // a closed stderr (the agent's parent went away) loses the log, never the agent: an unhandled
  // EPIPE there would end it without its cleanup
  io.stderr.on('error', () => undefined);
  try {
    const words = argv.slice(2);
    if ((words[0] === 'tp' || words[0] === 'tracingpolicy') && (words.length === 1 || (words.length === 2 && (words[1] === '--help' || words[1] === '-h')))) {
      const { tracingPolicyGroupHelp } = await import('./agent/tracingpolicy.js');
      tracingPolicyGroupHelp(io);
      return EXIT_OK;
    }
    const prog = build(io);
    const parsed = parse(prog, preprocess(argv), io);
    if (parsed.kind === 'done') return EXIT_OK;
    if (parsed.kind === 'usage') return usage(io, parsed.message, parsed.command);
    const code: unknown = await parsed.handler(...parsed.args);
    return typeof code === 'number' ? code : EXIT_OK;
  } catch (e) {
    if (e instanceof UsageError) return usage(io, e.message, e.command);
    if (e instanceof InvalidName) return usage(io, e.message, commandOf(build(io), argv));
    if (e instanceof InputError) {
      io.stderr.write(`talon: ${e.message}\n`);
      return EXIT_INPUT;
    }
    if (e instanceof CoreUnavailable) {
      io.stderr.write(`talon: ${e.message}\n`);
      return EXIT_INTERNAL;
    }
    const err = e as Error;
    io.stderr.write(`talon: internal error: ${err?.message ?? String(e)}\n`);
    if (process.env.TALON_DEBUG) io.stderr.write(`${err?.stack ?? ''}\n`);
    return EXIT_INTERNAL;
  }
}
