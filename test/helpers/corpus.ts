// Tetragon's policy corpus (../shared/tetragon-corpus/policies) as the corpus
// suites load it into an agent: the CIDR placeholders filled with loopback
// ranges, each file's policies renamed so that variants of one example (which
// share a name) coexist; and the tally of what an agent did with them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';

export const CORPUS_DIR = join(process.cwd(), '..', 'shared', 'tetragon-corpus', 'policies');

export interface CorpusPolicy {
  file: string;
  /** the name it is added under (c<index>-<its name>) */
  name: string;
  /** the YAML to add */
  text: string;
}

/** every corpus file that parses as YAML, ready to `tp add` */
export function corpusPolicies(dir = CORPUS_DIR): CorpusPolicy[] {
  const out: CorpusPolicy[] = [];
  for (const [i, file] of readdirSync(dir).sort().entries()) {
    const text = readFileSync(join(dir, file), 'utf8').replaceAll('${PODCIDR}', '127.10.0.0/16').replaceAll('${SERVICECIDR}', '127.96.0.0/12');
    let docs: YAML.Document[];
    try {
      docs = YAML.parseAllDocuments(text);
    } catch {
      continue;
    }
    const name = `c${i}-${String(docs[0]?.getIn(['metadata', 'name']) ?? 'p')}`.slice(0, 63).replace(/[^a-z0-9.-]+/g, '-');
    for (const d of docs) if (d.hasIn(['metadata', 'name'])) d.setIn(['metadata', 'name'], name);
    out.push({ file, name, text: docs.map((d) => d.toString()).join('---\n') });
  }
  return out;
}

/** ordinary commands touching files, links, sockets, namespaces and credentials (each may fail), for `sh -c` */
export function corpusWorkload(dir: string): string {
  return [
    'cat /etc/passwd /etc/hostname > /dev/null',
    'ls -la /tmp > /dev/null',
    `f=${dir}/w.$$; echo x > $f; dd if=/dev/zero of=$f bs=16 count=4 2>/dev/null; ln -s $f $f.s; ln $f $f.h; mkdir $f.d; rmdir $f.d; rm -f $f $f.s $f.h`,
    'python3 -c "import os\ntry: os.lseek(-1, 0, 0)\nexcept OSError: pass"',
    'python3 -c "import socket\ns=socket.socket()\ntry: s.connect((\'127.0.0.1\', 9))\nexcept OSError: pass"',
    'unshare -U true',
    'setpriv --reuid=65534 --regid=65534 --clear-groups true',
    'mount -t tmpfs none /nonexistent-talon',
    'true',
  ].join('; ');
}

/**
 * Actions (posts, kills, overrides, signals) per policy name from `tp list -o json`: the agent's
 * counters, so a count needs no event stream (a subscriber's own writes feed a policy on every
 * syscall, such as Tetragon's raw_syscalls example, without end).
 */
export function actionsPerPolicy(listed: ListedPolicy[]): Map<string, number> {
  const count = new Map<string, number>();
  for (const p of listed) {
    const c = p.stats?.action_counters ?? {};
    count.set(p.name, (count.get(p.name) ?? 0) + Object.values(c).reduce<number>((a, v) => a + Number(v), 0));
  }
  return count;
}

/** a tp list -o json policy */
export interface ListedPolicy {
  name: string;
  state: string;
  sensors?: string[];
  error?: string;
  errorKind?: string;
  stats?: { action_counters?: Record<string, string | number> };
}

/** the policies the kernel refused after the load plan accepted them (bugs), as "name: kind: error" */
export function kernelRefusals(listed: ListedPolicy[]): string[] {
  return listed.filter((p) => p.state === 'TP_STATE_LOAD_ERROR' && p.errorKind !== 'unsupported').map((p) => `${p.name}: ${p.errorKind}: ${p.error}`);
}
