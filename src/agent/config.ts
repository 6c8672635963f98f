// Tetragon's configuration files for `talon agent`, merged with the command
// line by the table of options.ts: tetragon.yaml (option: value), conf.d
// drop-ins (one file per option named for it, or *.yaml), --config-dir.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { AgentOptions } from './agent.js';
import { AGENT_OPTIONS, DEFAULT_CONFIG_DROPINS, DEFAULT_CONFIG_FILE, type AgentOptionSpec } from './options.js';

/** Bad options: every message is complete ("file:line:col: key: what is wrong" or "--flag: ..."). */
export class OptionsError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** One value from one place: the command line (raw as mri gives it) or a config file. */
interface Setting {
  key: string;
  value: unknown;
  /** "--flag" or "file:line:col: key" */
  where: string;
}

function specOf(key: string): AgentOptionSpec | undefined {
  return AGENT_OPTIONS.find((o) => o.name === key || o.aliases?.includes(key));
}

/** Checks one value for its option; returns the value to apply or throws the message. */
function convert(spec: AgentOptionSpec, raw: unknown): unknown {
  const scalar = (v: unknown): string => {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
    throw new Error(`must be a ${spec.kind === 'list' ? 'list or a string' : 'single value'}`);
  };
  switch (spec.kind) {
    case 'bool': {
      const s = raw === true || raw === false ? String(raw) : scalar(raw).trim().toLowerCase();
      if (s === 'true' || s === '1' || s === 'yes') return true;
      if (s === 'false' || s === '0' || s === 'no') return false;
      throw new Error(`must be true or false, not "${s}"`);
    }
    case 'number':
    case 'count': {
      const s = scalar(raw).trim();
      const n = Number(s);
      const whole = spec.kind === 'count';
      if (s === '' || !Number.isFinite(n) || n < 0 || (whole && !Number.isInteger(n)))
        throw new Error(`must be a ${whole ? 'whole ' : ''}number >= 0, not "${s}"`);
      return n;
    }
    case 'list': {
      const items = Array.isArray(raw) ? raw.map(scalar) : [scalar(raw)];
      const out = items
        .flatMap((x) => x.split(','))
        .map((x) => x.trim())
        .filter(Boolean);
      if (out.length === 0) throw new Error('needs a value');
      const bad = spec.choices ? out.filter((x) => !spec.choices!.includes(x)) : [];
      if (bad.length) throw new Error(`${bad.map((x) => `"${x}"`).join(', ')}: not one of ${spec.choices!.join(', ')}`);
      return out;
    }
    case 'string': {
      if (raw === true) throw new Error('needs a value');
      const s = scalar(raw).trim();
      if (spec.choices && !spec.choices.includes(s))
        throw new Error(`must be ${spec.choices.slice(0, -1).join(', ')} or ${spec.choices[spec.choices.length - 1]}, not "${s}"`);
      const bad = spec.check?.(s);
      if (bad) throw new Error(bad);
      return s;
    }
  }
}

/** Settings of a YAML file of `option: value` (Tetragon's tetragon.yaml and conf.d/*.yaml). */
function yamlSettings(file: string, problems: string[]): Setting[] {
  const text = readFileSync(file, 'utf8');
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const p = lc.linePos(offset);
    return `${file}:${p.line}:${p.col}`;
  };
  for (const e of doc.errors) problems.push(`${at(e.pos[0])}: ${e.message.split('\n')[0]}`);
  if (doc.errors.length) return [];
  const root = doc.contents as Node | null;
  if (root === null || (isScalar(root) && root.value === null)) return [];
  if (!isMap(root)) {
    problems.push(`${at(root.range?.[0] ?? 0)}: expected a map of option: value`);
    return [];
  }
  const out: Setting[] = [];
  for (const pair of root.items) {
    const k = pair.key as Node;
    const key = isScalar(k) ? String(k.value) : '';
    const v = pair.value as Node | null;
    const value = v === null ? '' : isSeq(v) ? v.items.map((x) => (isScalar(x) ? x.value : undefined)) : isScalar(v) ? v.value : undefined;
    out.push({ key, value: value ?? null, where: `${at(k.range?.[0] ?? 0)}: ${key}` });
  }
  return out;
}

/** Settings of a configuration directory: *.yaml files of options, and files named for an option holding its value. */
function dirSettings(dir: string, problems: string[]): Setting[] {
  const out: Setting[] = [];
  for (const name of readdirSync(dir).sort()) {
    const file = join(dir, name);
    if (name.startsWith('.') || !statSync(file).isFile()) continue;
    if (/\.ya?ml$/.test(name)) out.push(...yamlSettings(file, problems));
    else out.push({ key: name, value: readFileSync(file, 'utf8').trim(), where: `${file}:1:1: ${name}` });
  }
  return out;
}

const exists = (p: string) => {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
};

/** What the configuration files and the command line set, merged; `sources` lists the files read. */
export function resolveAgentOptions(cli: Record<string, unknown>): { options: AgentOptions; sources: string[] } {
  const problems: string[] = [];
  const settings: Setting[] = [];
  const sources: string[] = [];
  const configDir = cli['config-dir'];
  const read = (what: string, fn: () => Setting[]) => {
    try {
      settings.push(...fn());
      sources.push(what);
    } catch (e) {
      problems.push(`${what}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (e as Error).message}`);
    }
  };
  if (configDir === undefined) {
    if (exists(DEFAULT_CONFIG_FILE)) read(DEFAULT_CONFIG_FILE, () => yamlSettings(DEFAULT_CONFIG_FILE, problems));
    if (exists(DEFAULT_CONFIG_DROPINS)) read(DEFAULT_CONFIG_DROPINS, () => dirSettings(DEFAULT_CONFIG_DROPINS, problems));
  } else if (typeof configDir !== 'string' || configDir === '') problems.push('--config-dir: needs a value');
  else read(configDir, () => dirSettings(configDir, problems));
  for (const s of settings) {
    if (specOf(s.key)?.name === 'config-dir') problems.push(`${s.where}: config-dir cannot be set in a config file`);
  }
  // the command line last: it wins
  for (const [k, v] of Object.entries(cli)) {
    if (k === '_' || k.length === 1 || !specOf(k) || v === undefined) continue; // short aliases, sade's own keys, flags not given
    // mri gives every boolean flag not on the command line as false: only true is a setting there
    if (v === false) continue;
    for (const x of Array.isArray(v) && specOf(k)?.kind !== 'list' ? v : [v]) settings.push({ key: k, value: x, where: `--${k}` });
    if (Array.isArray(v) && specOf(k)?.kind !== 'list') problems.push(`--${k}: given more than once`);
  }
  const options: AgentOptions = {};
  for (const s of settings) {
    const spec = specOf(s.key);
    if (!spec) {
      problems.push(`${s.where}: unknown option (talon agent --help lists them)`);
      continue;
    }
    if (spec.name === 'config-dir') continue;
    try {
      (spec.apply as (o: AgentOptions, v: unknown) => void)(options, convert(spec, s.value));
    } catch (e) {
      problems.push(`${s.where}: ${(e as Error).message}`);
    }
  }
  if (options.grpcTls && (options.grpcTls.certFile === '' || options.grpcTls.keyFile === '')) {
    problems.push('--server-tls-cert-file and --server-tls-key-file go together');
  }
  // the runtime and the API with what they take: a companion option alone is refused, not ignored
  if (!options.enableCri && (options.criEndpoint !== undefined || options.criPollMs !== undefined)) {
    problems.push('--cri-endpoint and --cri-poll-interval need --enable-cri');
  } else if (options.criPollMs !== undefined && options.criPollMs < 10) {
    problems.push(`--cri-poll-interval must be at least 10 (ms), not ${options.criPollMs}`);
  } else if (options.enableCri) {
    options.cri = {
      endpoint: options.criEndpoint ?? 'unix:///run/containerd/containerd.sock',
      ...(options.criPollMs !== undefined ? { pollMs: options.criPollMs } : {}),
    };
  }
  if (!options.enableK8sApi && options.kubeconfig !== undefined) problems.push('--kubeconfig needs --enable-k8s-api');
  else if (options.enableK8sApi) options.k8s = options.kubeconfig !== undefined ? { kubeconfig: options.kubeconfig } : {};
  if (problems.length) throw new OptionsError(problems);
  return { options, sources };
}
