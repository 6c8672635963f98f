// The process filters that compare a process with itself, in the kernel (issue 10):
// matchCapabilityChanges and matchNamespaceChanges (against what the process table
// recorded at fork and first exec, rebased after a matched change, as Tetragon's
// execve_map), and matchPIDs followForks with isNamespacePID (the ancestors' pids in
// their pid namespace). Syscall kprobes served by the syscall tracepoints; every
// enforcing selector is scoped to a probe binary built here and an lseek on a
// negative fd no real program uses. A changed process is killed (137), the same
// probe without the change exits 1 (EBADF). Every kernel record is evaluated by the
// Wasm core (the differential check). Runs as root; skipped with a reason otherwise.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { isolatedAgent, assertStopLeavesNothing, agentStatus, jsonEvents, skipUnlessRoot, talon } from './helpers/agent.js';

const reason = skipUnlessRoot('capability, namespace and namespace-pid filters in the kernel');
const test = suite('agent-changes');

const t = isolatedAgent('chg');
const A = t.A;
const PROBE = join(t.dir, 'chgprobe');
const programs = new Set<number>();

/** chgprobe MODE FD [N]: after 200 ms (the agent reads the new process), changes itself
 * (caps: drops CAP_SYS_ADMIN from the effective set; uts: a new UTS namespace; none),
 * then lseek(FD) N times; exits 1 with the last errno printed */
const PROBE_C = `#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
int main(int argc, char **argv)
{
	int n = argc > 3 ? atoi(argv[3]) : 1, e = 0;
	usleep(200000);
	if (argc < 3)
		return 2;
	if (!strcmp(argv[1], "caps")) {
		struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2];
		if (syscall(SYS_capget, &h, d))
			return 3;
		d[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
		if (syscall(SYS_capset, &h, d))
			return 4;
	} else if (!strcmp(argv[1], "uts")) {
		if (unshare(CLONE_NEWUTS))
			return 5;
	}
	for (int i = 0; i < n; i++)
		if (lseek(atoi(argv[2]), 0, SEEK_SET) < 0)
			e = errno;
	printf("%d\\n", e);
	return 1;
}
`;

/** pid namespace: its init (ns pid 1) runs this; the inner shell is ns pid 2, the probe under it 3 */
const NS_OUTER = `sh "$1/ns-inner.sh" "$1"
echo done > "$1/ns-outer.done"
`;
const NS_INNER = `"$1/chgprobe" none -204; echo $? > "$1/ns-204"
true
`;

function kprobe(name: string, selectors: string): string {
  return `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "${name}"
spec:
  kprobes:
  - call: "sys_lseek"
    syscall: true
    args:
    - index: 0
      type: "int"
    selectors:
${selectors.replaceAll('@BIN@', PROBE)}`;
}

/** one selector: the probe binary, lseek(fd), and `more` */
function sel(fd: number, more: string, action: string | null): string {
  return `    - matchBinaries:
      - operator: In
        values: ["@BIN@"]
      matchArgs:
      - index: 0
        operator: Equal
        values: ["${fd}"]
${more}${action ? `      matchActions:\n      - action: ${action}\n` : ''}`;
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

const kprobes = (events: Record<string, any>[], policy: string) => events.filter((e) => e.process_kprobe?.policy_name === policy).map((e) => e.process_kprobe);

if (reason) {
  test.skip('capability, namespace and namespace-pid filters in the kernel');
} else {
  test.after(() => t.stop());

  test('an isolated agent loads the *Changes and namespace-pid policies (no need left for the kernel)', async () => {
    writeFileSync(join(t.dir, 'chgprobe.c'), PROBE_C);
    execFileSync('cc', ['-O2', '-o', PROBE, join(t.dir, 'chgprobe.c')]);
    writeFileSync(join(t.dir, 'ns-outer.sh'), NS_OUTER);
    writeFileSync(join(t.dir, 'ns-inner.sh'), NS_INNER);
    await t.start(['--enable-process-ns']);
    const capch = `      matchCapabilityChanges:
      - type: Effective
        operator: In
        values: [CAP_SYS_ADMIN]
`;
    await addPolicy('chg-caps', kprobe('chg-caps', sel(-201, capch, 'Sigkill')));
    // Post only: the process lives on, and the rebase shows (one event per change, not per call)
    await addPolicy('chg-caps-post', kprobe('chg-caps-post', sel(-203, capch, null)));
    await addPolicy(
      'chg-ns',
      kprobe(
        'chg-ns',
        sel(
          -202,
          `      matchNamespaceChanges:
      - operator: In
        values: [Uts]
`,
          'Sigkill',
        ),
      ),
    );
    await addPolicy(
      'chg-nspid',
      kprobe(
        'chg-nspid',
        sel(
          -204,
          `      matchPIDs:
      - operator: In
        followForks: true
        isNamespacePID: true
        values: [2]
`,
          'Sigkill',
        ),
      ),
    );
  });

  test('matchCapabilityChanges: dropping CAP_SYS_ADMIN after exec is killed; the same probe unchanged is not', async () => {
    const g = await jsonEvents([], A);
    const same = host([PROBE, 'none', '-201']);
    assert.is(same.status, 1, 'no change: not killed');
    assert.is(same.stdout.trim(), '9', 'EBADF');
    assert.is(host([PROBE, 'caps', '-201']).status, 137, 'CAP_SYS_ADMIN left the effective set since exec');
    // a change of another capability only does not match In [CAP_SYS_ADMIN]
    assert.is(host(['setpriv', '--inh-caps=+chown', PROBE, 'none', '-201']).status, 1, 'inheritable set changed before exec, effective unchanged');
    const events = await g.stop();
    const kp = kprobes(events, 'chg-caps');
    assert.equal(
      kp.map((k) => k.action),
      ['KPROBE_ACTION_SIGKILL'],
      JSON.stringify(kp).slice(0, 1500),
    );
  });

  test('matchCapabilityChanges: after a matched change the table takes the new sets (one event for three calls)', async () => {
    const g = await jsonEvents([], A);
    const r = host([PROBE, 'caps', '-203', '3']);
    assert.is(r.status, 1, 'Post only');
    assert.is(host([PROBE, 'none', '-203', '3']).status, 1);
    const events = await g.stop();
    const kp = kprobes(events, 'chg-caps-post');
    assert.is(kp.length, 1, JSON.stringify(kp).slice(0, 1500));
    assert.is(kp[0].action, 'KPROBE_ACTION_POST');
    assert.is(kp[0].process.binary, PROBE);
  });

  test('matchNamespaceChanges: a new UTS namespace after exec is killed; unshare before a later exec too (Tetragon keeps the first exec), none is not', async () => {
    const g = await jsonEvents([], A);
    assert.is(host([PROBE, 'none', '-202']).status, 1, 'no change');
    assert.is(host([PROBE, 'uts', '-202']).status, 137, 'unshare(CLONE_NEWUTS) after exec');
    // unshare(1) execs itself first (the baseline), then unshares and execs the probe: a change since that exec
    assert.is(host(['unshare', '--uts', PROBE, 'none', '-202']).status, 137, 'changed between two execs of one process');
    // a mount namespace change is not a UTS change
    assert.is(host(['unshare', '--mount', PROBE, 'none', '-202']).status, 1, 'another namespace type changed');
    const events = await g.stop();
    assert.equal(
      kprobes(events, 'chg-ns').map((k) => k.action),
      ['KPROBE_ACTION_SIGKILL', 'KPROBE_ACTION_SIGKILL'],
    );
  });

  test('matchPIDs followForks with isNamespacePID: a grandchild of ns pid 2 in a new pid namespace is killed; on the host (pid 2 is kthreadd) not', async () => {
    const g = await jsonEvents([], A);
    assert.is(host([PROBE, 'none', '-204']).status, 1, 'host: no ancestor with pid 2');
    const r = host(['unshare', '--pid', '--fork', 'sh', join(t.dir, 'ns-outer.sh'), t.dir]);
    assert.is(r.status, 0, r.stdout);
    assert.ok(existsSync(join(t.dir, 'ns-outer.done')));
    assert.is(readFileSync(join(t.dir, 'ns-204'), 'utf8').trim(), '137', 'the probe (ns pid 3) under the inner shell (ns pid 2) is killed');
    const events = await g.stop();
    const kp = kprobes(events, 'chg-nspid');
    assert.is(kp.length, 1, JSON.stringify(kp).slice(0, 1500));
    assert.is(kp[0].action, 'KPROBE_ACTION_SIGKILL');
  });

  test('differential check: the evaluator agrees with every kernel record, decided on what the kernel read', async () => {
    const st = await agentStatus(A);
    // chg-caps 1, chg-caps-post 1, chg-ns 2, chg-nspid 1
    assert.ok(st.differential.checked >= 5, JSON.stringify(st.differential));
    assert.is(st.differential.disagreed, 0, JSON.stringify(st.differential.samples, null, 2));
    const r = await talon(['tp', 'list', '-o', 'json', ...A]);
    for (const p of JSON.parse(r.stdout).policies) for (const id of p.programs ?? []) programs.add(typeof id === 'number' ? id : id.id);
  });

  test('stop: no program of the agent is left', async () => {
    const a = t.agent!;
    t.agent = null;
    await assertStopLeavesNothing(a, programs);
  });
}

test.run();
