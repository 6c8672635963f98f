// The process filters in the kernel (issue 10): matchPIDs followForks and
// several matchPIDs entries, matchNamespaces with host_ns, matchCapabilities
// with isNamespaceCapability, on syscall kprobes served by the syscall
// tracepoints. Each case has a matching and a non-matching process; the
// matching one is killed (137), the other exits 1 with EBADF. Every kernel
// record is evaluated by the Wasm core on what the kernel read of the task
// (the differential check). Runs as root; skipped with a reason otherwise.
// Every enforcing selector is scoped to this test: lseek on a negative fd no
// real program uses, by a probe binary built here, in the test pod or under
// this test's own process tree.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, readlinkSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  assertStopLeavesNothing,
  agentStatus,
  isolatedAgent,
  jsonEvents,
  skipUnlessRoot,
  talon,
  talonBackground,
  useTestCgroupParent,
  waitFor,
} from './helpers/agent.js';

useTestCgroupParent();
const reason = skipUnlessRoot('process filters in the kernel');
const test = suite('agent-selectors');

const t = isolatedAgent('sel', 'default/selk');
const A = t.A;
const PROBE = join(t.dir, 'selprobe');
let driver: ReturnType<typeof talonBackground> | null = null;
const programs = new Set<number>();

/** lseek(fd) after 200 ms (time for the agent to read the new process's /proc entry): exit 1 with the errno printed */
const PROBE_C = `#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	usleep(200000);
	if (argc < 2 || lseek(atoi(argv[1]), 0, SEEK_SET) < 0) {
		printf("%d\\n", errno);
		return 1;
	}
	return 0;
}
`;

/** P: starts Q, waits for go, runs the probe as its own child (not under Q) */
const OUTER = `d=$1
sh "$d/inner.sh" "$d" &
until [ -e "$d/go" ]; do sleep 0.05; done
"$d/selprobe" -101; echo $? > "$d/p-101"
"$d/selprobe" -102; echo $? > "$d/p-102"
wait
echo done > "$d/outer.done"
`;
/** Q: waits for go, then its grandchild runs the probe (Q -> sh -c -> selprobe) */
const INNER = `d=$1
until [ -e "$d/go" ]; do sleep 0.05; done
sh -c '"$0/selprobe" -101; echo $? > "$0/q-101"; "$0/selprobe" -102; echo $? > "$0/q-102"' "$d"
`;

/** the start of every selector here: the probe binary's lseek on the policy's own fd */
const PROBE_SEL = `    - matchBinaries:
      - operator: In
        values: ["@BIN@"]
      matchArgs:
      - index: 0
        operator: Equal
        values: ["@FD@"]
`;

function kprobe(name: string, kind: 'TracingPolicy' | 'TracingPolicyNamespaced', fd: number, selectors: string): string {
  return `apiVersion: cilium.io/v1alpha1
kind: ${kind}
metadata:
  name: "${name}"${kind === 'TracingPolicyNamespaced' ? '\n  namespace: "default"' : ''}
spec:
  kprobes:
  - call: "sys_lseek"
    syscall: true
    args:
    - index: 0
      type: "int"
    selectors:
${selectors.replaceAll('@FD@', String(fd)).replaceAll('@BIN@', PROBE)}`;
}

/** the host's processes whose command line starts with these words (not the wrappers of talon exec that pass them on) */
function pidsOf(...words: string[]): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (words.every((w, i) => cmd[i] === w)) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

function host(args: string[]): { status: number | null; stdout: string } {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8' });
  return { status: r.status ?? (r.signal === 'SIGKILL' ? 137 : null), stdout: r.stdout };
}

async function addPolicy(name: string, text: string): Promise<void> {
  const f = join(t.dir, `${name}.yaml`);
  writeFileSync(f, text);
  const r = await talon(['tp', 'add', f, ...A]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /generic_kprobe_syscall_tp/);
}

if (reason) {
  test.skip('process filters in the kernel');
} else {
  test.after(async () => {
    if (driver) driver.child.kill('SIGKILL');
    await t.stop();
  });

  test('an agent with --enable-process-ns, a pod, and the namespace and capability policies load', async () => {
    writeFileSync(join(t.dir, 'selprobe.c'), PROBE_C);
    execFileSync('cc', ['-O2', '-o', PROBE, join(t.dir, 'selprobe.c')]);
    writeFileSync(join(t.dir, 'outer.sh'), OUTER);
    writeFileSync(join(t.dir, 'inner.sh'), INNER);
    await t.start(['--enable-process-ns']);
    // mount namespace other than the host's: killed; the host's: posted
    await addPolicy(
      'sel-ns',
      kprobe(
        'sel-ns',
        'TracingPolicy',
        -103,
        `${PROBE_SEL}      matchNamespaces:
      - namespace: Mnt
        operator: NotIn
        values: [host_ns]
      matchActions:
      - action: Sigkill
${PROBE_SEL}      matchNamespaces:
      - namespace: Mnt
        operator: In
        values: [host_ns]
`,
      ),
    );
    // CAP_SYS_ADMIN in the effective set: killed; without: posted
    await addPolicy(
      'sel-caps',
      kprobe(
        'sel-caps',
        'TracingPolicy',
        -104,
        `${PROBE_SEL}      matchCapabilities:
      - type: Effective
        operator: In
        values: [CAP_SYS_ADMIN]
      matchActions:
      - action: Sigkill
${PROBE_SEL}      matchCapabilities:
      - type: Effective
        operator: NotIn
        values: [CAP_SYS_ADMIN]
`,
      ),
    );
    // CAP_CHOWN held in a user namespace other than the host's (the pod's): killed
    await addPolicy(
      'sel-capns',
      kprobe(
        'sel-capns',
        'TracingPolicy',
        -105,
        `${PROBE_SEL}      matchCapabilities:
      - type: Effective
        operator: In
        isNamespaceCapability: true
        values: [CAP_CHOWN]
      matchActions:
      - action: Sigkill
`,
      ),
    );
  });

  test('matchNamespaces host_ns: a new mount namespace and the pod are killed, the host posts', async () => {
    const g = await jsonEvents([], A);
    const onHost = host([PROBE, '-103']);
    assert.is(onHost.status, 1, 'the host mount namespace is not killed');
    assert.is(onHost.stdout.trim(), '9', 'EBADF');
    assert.is(host(['unshare', '--mount', PROBE, '-103']).status, 137, 'a new mount namespace on the host is killed');
    const r = await talon(['exec', 'selk', ...A, '--', PROBE, '-103']);
    assert.is(r.code, 137, `the pod's mount namespace is not the host's: ${r.stdout} ${r.stderr}`);
    const events = await g.stop();
    const kp = events.filter((e) => e.process_kprobe?.policy_name === 'sel-ns').map((e) => e.process_kprobe);
    assert.is(kp.filter((k) => k.action === 'KPROBE_ACTION_SIGKILL').length, 2, JSON.stringify(kp).slice(0, 1500));
    const post = kp.find((k) => k.action === 'KPROBE_ACTION_POST');
    assert.ok(post, 'the host process posts');
    assert.is(post.process.pod, undefined);
    // the event's namespaces (read from /proc at exec) agree with what the selector decided on: the host's
    // (is_host is marked only where init's namespaces can be read; a sandbox may hide them, then the kernel's
    // host_ns are the agent's)
    const mnt = Number(/\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/mnt'))![1]);
    assert.is(post.process.ns?.mnt?.inum, mnt, JSON.stringify(post.process.ns));
  });

  test('matchCapabilities: root with CAP_SYS_ADMIN is killed, without it (setpriv, the pod) posts; isNamespaceCapability only in the pod', async () => {
    const g = await jsonEvents([], A);
    assert.is(host([PROBE, '-104']).status, 137, 'root with CAP_SYS_ADMIN');
    const dropped = host(['setpriv', '--bounding-set=-sys_admin', '--inh-caps=-sys_admin', PROBE, '-104']);
    assert.is(dropped.status, 1, 'CAP_SYS_ADMIN dropped from the bounding set: not in the effective set after exec');
    let r = await talon(['exec', 'selk', ...A, '--', PROBE, '-104']);
    assert.is(r.code, 1, `the pod has no CAP_SYS_ADMIN: ${r.stderr}`);
    // CAP_CHOWN: the host's root has it in the host user namespace (not a namespace capability), the pod's in its own
    assert.is(host([PROBE, '-105']).status, 1, 'host user namespace: isNamespaceCapability does not match');
    r = await talon(['exec', 'selk', ...A, '--', PROBE, '-105']);
    assert.is(r.code, 137, `the pod's root holds CAP_CHOWN in its user namespace: ${r.stderr}`);
    const events = await g.stop();
    const caps = events.filter((e) => e.process_kprobe?.policy_name === 'sel-caps').map((e) => e.process_kprobe.action);
    assert.equal(caps.sort(), ['KPROBE_ACTION_POST', 'KPROBE_ACTION_POST', 'KPROBE_ACTION_SIGKILL']);
    const capns = events.filter((e) => e.process_kprobe?.policy_name === 'sel-capns').map((e) => e.process_kprobe);
    assert.equal(
      capns.map((k) => [k.action, k.process.pod?.name]),
      [['KPROBE_ACTION_SIGKILL', 'selk']],
    );
  });

  test('matchPIDs followForks catches a grandchild and not an unrelated process; several entries are ANDed', async () => {
    driver = talonBackground(['exec', 'selk', ...A, '--', 'sh', join(t.dir, 'outer.sh'), t.dir]);
    const outer = join(t.dir, 'outer.sh');
    const inner = join(t.dir, 'inner.sh');
    assert.ok(
      await waitFor(() => pidsOf('sh', outer).length === 1 && pidsOf('sh', inner).length === 1, 20_000, 50),
      `${driver.out()} ${driver.err()} ${JSON.stringify([pidsOf(outer), pidsOf(inner)])}`,
    );
    const [p] = pidsOf('sh', outer);
    const [q] = pidsOf('sh', inner);
    // host pids of the pod's processes (no isNamespacePID)
    await addPolicy(
      'sel-forks',
      kprobe(
        'sel-forks',
        'TracingPolicyNamespaced',
        -101,
        `    - matchPIDs:
      - operator: In
        followForks: true
        values: [${q}]
      matchArgs:
      - index: 0
        operator: Equal
        values: ["@FD@"]
      matchActions:
      - action: Sigkill
`,
      ),
    );
    await addPolicy(
      'sel-pids',
      kprobe(
        'sel-pids',
        'TracingPolicyNamespaced',
        -102,
        `    - matchPIDs:
      - operator: In
        followForks: true
        values: [${p}]
      - operator: In
        followForks: true
        values: [${q}]
      matchArgs:
      - index: 0
        operator: Equal
        values: ["@FD@"]
      matchActions:
      - action: Sigkill
`,
      ),
    );
    const g = await jsonEvents([], A);
    writeFileSync(join(t.dir, 'go'), '');
    assert.ok(await waitFor(() => existsSync(join(t.dir, 'outer.done')), 20_000, 50), driver.err());
    const code = (f: string) => readFileSync(join(t.dir, f), 'utf8').trim();
    assert.is(code('q-101'), '137', "Q's grandchild is killed (followForks)");
    assert.is(code('p-101'), '1', "P's child is not under Q: unrelated to the listed pid");
    assert.is(code('q-102'), '137', 'under P and under Q: both entries match');
    assert.is(code('p-102'), '1', 'under P only: the second entry does not match');
    // an unrelated process in the pod
    const r = await talon(['exec', 'selk', ...A, '--', PROBE, '-101']);
    assert.is(r.code, 1, r.stderr);
    assert.is(await driver.exited, 0);
    driver = null;
    const events = await g.stop();
    const kills = events.filter((e) => ['sel-forks', 'sel-pids'].includes(e.process_kprobe?.policy_name)).map((e) => e.process_kprobe);
    assert.equal(kills.map((k) => [k.policy_name, k.action]).sort(), [
      ['sel-forks', 'KPROBE_ACTION_SIGKILL'],
      ['sel-pids', 'KPROBE_ACTION_SIGKILL'],
    ]);
    for (const k of kills) assert.is(k.process.pod?.name, 'selk');
  });

  test('differential check: the evaluator agrees with every kernel record, decided on what the kernel read', async () => {
    const st = await agentStatus(A);
    // sel-ns 3, sel-caps 3, sel-capns 1, followForks 2
    assert.ok(st.differential.checked >= 9, JSON.stringify(st.differential));
    assert.is(st.differential.disagreed, 0, JSON.stringify(st.differential.samples, null, 2));
    const r = await talon(['tp', 'list', '-o', 'json', ...A]);
    for (const p of JSON.parse(r.stdout).policies) for (const id of p.programs ?? []) programs.add(typeof id === 'number' ? id : id.id);
  });

  test('stop: no program of the agent is left; pods removed', async () => {
    assert.is((await talon(['pod', 'delete', 'default/selk', ...A])).code, 0);
    const a = t.agent!;
    t.agent = null;
    await assertStopLeavesNothing(a, programs);
  });
}

test.run();
