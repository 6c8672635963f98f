// Runs INSIDE the QEMU guest of scripts/vm.sh (a kernel with kprobes), started
// by test/vm-kprobe.test.ts: kprobes on kernel functions the seeds do not use,
// through the agent and the CLI as a user drives them. A namespaced policy
// hooks security_file_open (Sigkill on a test path) and fd_install (Post on
// another), served by the generic kprobe (sensor generic_kprobe); the guest
// checks the kill in a test pod only and the events in the export file.
// Prints one "ok - name" / "not ok - name: why" line per check, then
// "TALON-VM-RESULT {json}"; exits 0 when every check passed.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { release } from 'node:os';
import { join } from 'node:path';
import { talon, talonBackground, type Background } from '../helpers/cli.js';
import { jsonLines, sleep } from '../helpers/common.js';

const t0 = performance.now();
const results: { name: string; ok: boolean; why?: string; ms: number }[] = [];
const notes: string[] = [];

async function check(name: string, f: () => Promise<void> | void): Promise<boolean> {
  const s = performance.now();
  try {
    await f();
    results.push({ name, ok: true, ms: Math.round(performance.now() - s) });
    console.log(`ok - ${name}`);
    return true;
  } catch (e) {
    const why = (e as Error).message.split('\n').slice(0, 6).join(' | ');
    results.push({ name, ok: false, why, ms: Math.round(performance.now() - s) });
    console.log(`not ok - ${name}: ${why}`);
    return false;
  }
}

function expect(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(what);
}

const D = '/tmp/vmkp';
const SOCK = join(D, 'talon.sock');
const EXPORT = join(D, 'events.jsonl');
const A = ['--server-address', `unix://${SOCK}`];
process.env.TALON_CGROUP_PARENT = 'talon-vm-kprobe';

/** a policy with one hook on opening a file: argument 0 (the file) under D/<prefix> gets the action */
function openPolicy(name: string, hook: string, prefix: string, action: string): string {
  return `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: ${name}
  namespace: default
spec:
  ${hook}
    args:
    - index: 0
      type: file
    selectors:
    - matchArgs:
      - index: 0
        operator: Prefix
        values: ["${D}/${prefix}"]
      matchActions:
      - action: ${action}
`;
}
const KPROBE_OPEN = 'kprobes:\n  - call: security_file_open\n    syscall: false';

const POLICY =
  openPolicy('vm-kprobe', KPROBE_OPEN, 'kill-', 'Sigkill') +
  `  - call: fd_install
    args:
    - index: 0
      type: int
    - index: 1
      type: file
    - index: 1
      type: string
      resolve: "f_path.dentry.d_name.name"
    selectors:
    - matchArgs:
      - index: 1
        operator: Prefix
        values: ["${D}/seen-"]
`;

/** the corpus' capchanges sys_write hook (returnCopy char_buf, matchPIDs followForks, matchCapabilityChanges), which 6.1's verifier once refused, with a second selector that posts writes to D/rc-w */
const RETCOPY_POLICY = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: vm-retcopy
  namespace: default
spec:
  kprobes:
  - call: sys_write
    syscall: true
    args:
    - index: 0
      type: fd
    - index: 1
      type: char_buf
      returnCopy: true
    - index: 2
      type: size_t
    selectors:
    - matchPIDs:
      - operator: In
        followForks: true
        isNamespacePID: false
        values: [4242]
      matchCapabilityChanges:
      - type: Effective
        operator: In
        values: [CAP_MKNOD]
      matchArgs:
      - index: 0
        operator: Postfix
        values: [strange.txt]
    - matchArgs:
      - index: 0
        operator: Postfix
        values: [/rc-w]
`;

/** Tetragon's list form on kernel functions: one hook, a kprobe per function of the list */
const LIST_POLICY = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: vm-list
  namespace: default
spec:
  lists:
  - name: rw
    values: [vfs_read, vfs_write]
  kprobes:
  - call: "list:rw"
    syscall: false
    args:
    - index: 0
      type: file
    selectors:
    - matchArgs:
      - index: 0
        operator: Prefix
        values: ["${D}/lst-"]
`;

/** Tetragon's lsm_bprm_check example's shape: the executed file of a linux_binprm (bprm->file), filtered in the kernel */
const BPRM_POLICY = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: vm-bprm
  namespace: default
spec:
  lsmhooks:
  - hook: "bprm_check_security"
    args:
    - index: 0
      type: "linux_binprm"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Postfix"
        values: ["/tln-denied"]
      matchActions:
      - action: Override
        argError: -1
`;

/** BTF programs: an LSM hook (Override = the hook's verdict), an fentry (Sigkill) and a kprobe that Overrides (fmod_ret) */
const BTF_POLICY = [
  openPolicy('vm-lsm', 'lsmhooks:\n  - hook: file_open', 'lsm-', 'Override\n        argError: -13'),
  openPolicy('vm-fentry', 'fentries:\n  - call: security_file_open', 'fe-', 'Sigkill'),
  openPolicy('vm-fmod', KPROBE_OPEN, 'ovr-', 'Override\n        argError: -1'),
  BPRM_POLICY,
].join('---\n');

/**
 * Socket arguments read through their pointers: ip_output (net, sk, skb) posts a UDP datagram to
 * 127.0.0.2:47321 (the kernel filters on the packet's address and port), and a connect to
 * 127.0.0.3:47322 is killed at security_socket_connect (socket, sockaddr: the address connected to)
 */
const SOCK_POLICY = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: vm-sock
  namespace: default
spec:
  kprobes:
  - call: ip_output
    syscall: false
    args:
    - index: 1
      type: sock
    - index: 2
      type: skb
    selectors:
    - matchArgs:
      - index: 2
        operator: DAddr
        values: ["127.0.0.2/32"]
      - index: 2
        operator: DPort
        values: ["47321"]
  - call: security_socket_connect
    syscall: false
    args:
    - index: 0
      type: socket
    - index: 1
      type: sockaddr
    selectors:
    - matchArgs:
      - index: 1
        operator: SAddr
        values: ["127.0.0.3/32"]
      - index: 1
        operator: SPort
        values: ["47322"]
      matchActions:
      - action: Sigkill
`;

/** Tetragon's process-creds-installed shape: commit_creds (cred), the credentials a process installs */
const CRED_POLICY = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: vm-cred
  namespace: default
spec:
  kprobes:
  - call: commit_creds
    syscall: false
    args:
    - index: 0
      type: cred
`;

/** return: true on a kprobe (a kretprobe): vfs_read returning 7 bytes of a ret- file is killed in the
 * kernel by matchReturnArgs; on an fentry (an fexit, FEXIT_POLICY): vfs_write's return is posted for 6 bytes only */
const RET_POLICY = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: vm-ret
  namespace: default
spec:
  kprobes:
  - call: vfs_read
    syscall: false
    return: true
    args:
    - index: 0
      type: file
    returnArg:
      index: 0
      type: int
    selectors:
    - matchArgs:
      - index: 0
        operator: Prefix
        values: ["${D}/ret-"]
      matchReturnArgs:
      - index: 0
        operator: Equal
        values: ["7"]
      matchActions:
      - action: Sigkill
`;
const FEXIT_POLICY = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: vm-retfx
  namespace: default
spec:
  fentries:
  - call: vfs_write
    return: true
    args:
    - index: 0
      type: file
    returnArg:
      index: 0
      type: int
    selectors:
    - matchArgs:
      - index: 0
        operator: Prefix
        values: ["${D}/fx-"]
      matchReturnArgs:
      - index: 0
        operator: Equal
        values: ["6"]
`;

/** Tetragon's capability-check shape (cap_capable: user_namespace, capability) killing CAP_SYS_NICE, and
 * the device a packet leaves by (dev_hard_start_xmit: skb, net_device) compared by name in the kernel */
const CAPDEV_POLICY = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: vm-capdev
  namespace: default
spec:
  kprobes:
  - call: cap_capable
    syscall: false
    args:
    - index: 1
      type: user_namespace
    - index: 2
      type: capability
    selectors:
    - matchArgs:
      - index: 2
        operator: Equal
        values: ["23"]
      matchActions:
      - action: Sigkill
  - call: dev_hard_start_xmit
    syscall: false
    args:
    - index: 0
      type: skb
    - index: 1
      type: net_device
    selectors:
    - matchArgs:
      - index: 0
        operator: DPort
        values: ["47323"]
      - index: 1
        operator: Equal
        values: ["lo"]
`;

/** Tetragon's bpf policy (policylibrary/bpf.yaml's kprobes), namespaced: a program's load, a map's creation
 * (security_bpf_map_alloc before 6.9, security_bpf_map_create after: the other is ignore.callNotFound) and a
 * perf event's creation, shown as bpf_attr_arg, bpf_map_arg, perf_event_arg */
const BPF_POLICY = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: vm-bpf
  namespace: default
spec:
  kprobes:
  - call: bpf_check
    syscall: false
    args:
    - index: 1
      type: bpf_attr
  - call: security_perf_event_alloc
    syscall: false
    args:
    - index: 0
      type: perf_event
  - call: security_bpf_map_alloc
    syscall: false
    args:
    - index: 0
      type: bpf_map
    ignore:
      callNotFound: true
  - call: security_bpf_map_create
    syscall: false
    args:
    - index: 0
      type: bpf_map
    ignore:
      callNotFound: true
`;

/** creates a hash map, loads a two-instruction socket filter and opens a software perf event (raw syscalls, ctypes) */
const BPF_PY = [
  'import ctypes, struct',
  'libc = ctypes.CDLL(None, use_errno=True)',
  'libc.syscall.restype = ctypes.c_long',
  'def sc(*a):',
  '  r = libc.syscall(*[ctypes.c_long(x) if isinstance(x, int) else x for x in a])',
  '  assert r >= 0, (a[0], ctypes.get_errno())',
  '  return r',
  'm = ctypes.create_string_buffer(struct.pack("<IIIIIII16s", 1, 4, 4, 8, 0, 0, 0, b"tln_vmmap"), 128)',
  'sc(321, 0, m, 128)',
  'insns = ctypes.create_string_buffer(struct.pack("<BBhiBBhi", 0xb7, 0, 0, 0, 0x95, 0, 0, 0))',
  'lic = ctypes.create_string_buffer(b"GPL")',
  'p = struct.pack("<IIQQIIQII16s", 1, 2, ctypes.addressof(insns), ctypes.addressof(lic), 0, 0, 0, 0, 0, b"tln_vmprog")',
  'sc(321, 5, ctypes.create_string_buffer(p, 144), 144)',
  // PERF_TYPE_SOFTWARE, PERF_COUNT_SW_DUMMY (6.12 shows a cpu-clock event under a PMU of its own: type 6)
  'sc(298, ctypes.create_string_buffer(struct.pack("<IIQ", 1, 128, 9), 128), 0, -1, -1, 0)',
  'print("ok")',
].join('\n');

type Json = Record<string, any>;
const events = (): Json[] => (existsSync(EXPORT) ? jsonLines(readFileSync(EXPORT, 'utf8')) : []);
async function eventWhere(pred: (e: Json) => boolean, ms = 20_000): Promise<Json | undefined> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) {
    const e = events().find(pred);
    if (e) return e;
  }
  return undefined;
}

const tlnProgs = (): string[] =>
  (JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as { name?: string }[])
    .map((p) => p.name ?? '')
    .filter((n) => n.startsWith('tln_'));

/**
 * Runs argv in pod default/kp and returns its exit status and output. The guest runs chrooted
 * (scripts/vm.sh), where the kernel refuses new user namespaces, so `talon exec`'s container
 * confinement cannot be set up here; the command joins the pod's cgroup directly, which is all
 * the policies' scope looks at (the confinement has its own suite on the host, fault-pods).
 */
let podCgroup = '';
async function inPod(argv: string[]): Promise<{ code: number; stdout: string; stderr: string; raw: Buffer }> {
  if (!podCgroup) {
    const r = await talon(['pod', 'list', '-o', 'json', ...A], { timeoutMs: 120_000 });
    const j = JSON.parse(r.stdout) as Json;
    const pods = (Array.isArray(j) ? j : j.pods) as Json[];
    podCgroup = pods.find((p) => p.namespace === 'default' && p.name === 'kp')?.cgroupPath ?? '';
    expect(podCgroup, `pod default/kp in: ${r.stdout}`);
  }
  const r = spawnSync('sh', ['-c', `echo $$ > "$0/cgroup.procs" && exec "$@"`, podCgroup, ...argv], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? 128 + (r.signal === 'SIGKILL' ? 9 : 15), stdout: r.stdout, stderr: r.stderr, raw: Buffer.from(r.stdout) };
}

async function main(): Promise<void> {
  mkdirSync(D, { recursive: true });
  writeFileSync(join(D, 'kill-x'), 'secret\n');
  writeFileSync(join(D, 'seen-y'), 'talon\n');
  for (const f of ['lsm-a', 'fe-b', 'ovr-c']) writeFileSync(join(D, f), 'secret\n');
  let agent: Background | undefined;
  const up = await check('the agent starts (process sensor, APIs)', async () => {
    agent = talonBackground(['agent', '--state-dir', join(D, 'state'), ...A, '--export-filename', EXPORT, '--node-name', 'vm-kprobe']);
    for (let i = 0; i < 1200 && !/ready:/.test(agent.err()); i++) await sleep(100);
    expect(/ready:/.test(agent.err()), `no ready line: ${agent.err().slice(-800)}`);
  });
  if (!up || !agent) return;
  try {
    await check('tp add: security_file_open and fd_install load as generic_kprobe', async () => {
      let r = await talon(['pod', 'add', 'default/kp', ...A], { timeoutMs: 120_000 });
      expect(r.code === 0, `pod add: ${r.stderr}`);
      writeFileSync(join(D, 'policy.yaml'), POLICY);
      r = await talon(['tp', 'add', join(D, 'policy.yaml'), ...A], { timeoutMs: 120_000 });
      expect(r.code === 0, `tp add: ${r.stderr}`);
      expect(/generic_kprobe/.test(r.stdout), `sensors: ${r.stdout}`);
      r = await talon(['tp', 'list', ...A], { timeoutMs: 120_000 });
      expect(/vm-kprobe\s+\S+\s+enabled\s+\d+\s+default\s+generic_kprobe\s/.test(r.stdout), r.stdout);
    });
    await check('Sigkill at security_file_open: cat in the pod is killed (137), outside untouched', async () => {
      let r = await inPod(['cat', join(D, 'kill-x')]);
      expect(r.code === 137, `in the pod: ${r.code} ${r.stdout} ${r.stderr}`);
      expect(!/secret/.test(r.stdout), 'nothing read');
      const host = spawnSync('cat', [join(D, 'kill-x')], { encoding: 'utf8' });
      expect(host.status === 0 && host.stdout === 'secret\n', `outside the pod: ${host.status}`);
      r = await inPod(['cat', join(D, 'seen-y')]);
      expect(r.code === 0 && r.stdout === 'talon\n', `unmatched file in the pod: ${r.code} ${r.stderr}`);
      const kill = await eventWhere((e) => e.process_kprobe?.function_name === 'security_file_open' && e.process_kprobe.action === 'KPROBE_ACTION_SIGKILL');
      expect(kill, 'a process_kprobe security_file_open event with KPROBE_ACTION_SIGKILL');
      const k = kill.process_kprobe;
      expect(k.args?.[0]?.file_arg?.path === join(D, 'kill-x'), `its file argument: ${JSON.stringify(k.args)}`);
      expect(k.process?.pod?.name === 'kp', `its pod: ${JSON.stringify(k.process?.pod)}`);
    });
    await check('fd_install events: the fd and the file as Tetragon writes them, the name of the file through resolve', async () => {
      const ev = await eventWhere((e) => e.process_kprobe?.function_name === 'fd_install' && e.process_kprobe.args?.[1]?.file_arg?.path === join(D, 'seen-y'));
      expect(
        ev,
        `a process_kprobe fd_install event for seen-y; kprobe events: ${JSON.stringify(
          events()
            .filter((e) => e.process_kprobe)
            .slice(0, 3),
        )}`,
      );
      const k = ev.process_kprobe;
      expect(typeof k.args[0].int_arg === 'number' && k.args[0].int_arg >= 0, `the fd: ${JSON.stringify(k.args[0])}`);
      // resolve through the BTF: an embedded struct path, the dentry pointer, its name
      expect(k.args[2]?.string_arg === 'seen-y', `resolve f_path.dentry.d_name.name: ${JSON.stringify(k.args[2])}`);
      expect(k.policy_name === 'vm-kprobe' && k.action === 'KPROBE_ACTION_POST', `${k.policy_name} ${k.action}`);
    });
    await check('a kprobe on a list of functions: a kprobe on each; each event names the function that ran', async () => {
      writeFileSync(join(D, 'lst-a'), 'talon\n');
      writeFileSync(join(D, 'list.yaml'), LIST_POLICY);
      let r = await talon(['tp', 'add', join(D, 'list.yaml'), ...A], { timeoutMs: 120_000 });
      expect(r.code === 0 && r.stdout.includes('generic_kprobe'), `tp add: ${r.code} ${r.stdout} ${r.stderr}`);
      // the shell's read and echo builtins: vfs_read on lst-a, vfs_write on lst-b (cat would use copy_file_range)
      r = await inPod(['sh', '-c', `read x < ${D}/lst-a; echo "$x" > ${D}/lst-b`]);
      expect(r.code === 0, `in the pod: ${r.code} ${r.stderr}`);
      const on = (fn: string, f: string) => (e: Json) =>
        e.process_kprobe?.policy_name === 'vm-list' && e.process_kprobe.function_name === fn && e.process_kprobe.args?.[0]?.file_arg?.path === join(D, f);
      expect(await eventWhere(on('vfs_read', 'lst-a')), 'a vfs_read event on lst-a');
      expect(await eventWhere(on('vfs_write', 'lst-b')), 'a vfs_write event on lst-b');
      expect(!events().some(on('vfs_read', 'lst-b')) && !events().some(on('vfs_write', 'lst-a')), 'no event under the other function name');
      await talon(['tp', 'delete', 'vm-list', '-n', 'default', ...A], { timeoutMs: 120_000 });
    });
    await check(
      'sys_write with returnCopy, matchPIDs followForks and matchCapabilityChanges (the corpus capchanges shape) loads; its Post selector gives the bytes written',
      async () => {
        writeFileSync(join(D, 'retcopy.yaml'), RETCOPY_POLICY);
        let r = await talon(['tp', 'add', join(D, 'retcopy.yaml'), ...A], { timeoutMs: 120_000 });
        expect(r.code === 0, `tp add: ${r.code} ${r.stdout} ${r.stderr}`);
        r = await inPod(['sh', '-c', `echo retcopy > ${D}/rc-w`]);
        expect(r.code === 0, `in the pod: ${r.code} ${r.stderr}`);
        const ev = await eventWhere((e) => e.process_kprobe?.policy_name === 'vm-retcopy');
        expect(ev, 'a vm-retcopy event');
        const a1 = ev.process_kprobe.args?.[1];
        expect(a1?.bytes_arg === Buffer.from('retcopy\n').toString('base64'), `the bytes written: ${JSON.stringify(ev.process_kprobe.args)}`);
        await talon(['tp', 'delete', 'vm-retcopy', '-n', 'default', ...A], { timeoutMs: 120_000 });
      },
    );
    await check(
      'BTF programs: lsmhooks Override (EACCES), fentry Sigkill, a kprobe Override through fmod_ret (EPERM), a bprm_check_security linux_binprm Override (the exec fails), in the pod only',
      async () => {
        writeFileSync(join(D, 'btf.yaml'), BTF_POLICY);
        let r = await talon(['tp', 'add', join(D, 'btf.yaml'), ...A], { timeoutMs: 120_000 });
        expect(r.code === 0, `tp add: ${r.stderr}`);
        for (const s of ['generic_lsm', 'generic_fentry', 'generic_fmod_ret']) expect(r.stdout.includes(s), `sensor ${s}: ${r.stdout}`);
        r = await inPod(['cat', join(D, 'lsm-a')]);
        expect(r.code === 1 && /Permission denied/.test(r.stderr) && r.stdout === '', `lsm Override: ${r.code} ${r.stderr}`);
        r = await inPod(['cat', join(D, 'fe-b')]);
        expect(r.code === 137 && r.stdout === '', `fentry Sigkill: ${r.code} ${r.stderr}`);
        r = await inPod(['cat', join(D, 'ovr-c')]);
        expect(r.code === 1 && /Operation not permitted/.test(r.stderr) && r.stdout === '', `fmod_ret Override: ${r.code} ${r.stderr}`);
        for (const f of ['lsm-a', 'fe-b', 'ovr-c']) {
          const host = spawnSync('cat', [join(D, f)], { encoding: 'utf8' });
          expect(host.status === 0 && host.stdout === 'secret\n', `outside the pod ${f}: ${host.status} ${host.stderr}`);
        }
        // bprm_check_security on a linux_binprm: the exec of tln-denied fails in the pod, runs outside
        const denied = join(D, 'tln-denied');
        copyFileSync('/bin/true', denied);
        chmodSync(denied, 0o755);
        r = await inPod([denied]);
        expect(r.code !== 0 && /not permitted/i.test(r.stderr), `bprm_check_security Override: ${r.code} ${r.stderr}`);
        expect(spawnSync(denied).status === 0, 'outside the pod the exec runs');
        const bprm = await eventWhere(
          (e) => e.process_lsm?.function_name === 'bprm_check_security' && e.process_lsm.args?.[0]?.linux_binprm_arg?.path === denied,
        );
        expect(bprm?.process_lsm.action === 'KPROBE_ACTION_OVERRIDE', `process_lsm bprm event: ${JSON.stringify(bprm)}`);
        const lsm = await eventWhere((e) => e.process_lsm?.function_name === 'file_open' && e.process_lsm.args?.[0]?.file_arg?.path === join(D, 'lsm-a'));
        expect(lsm?.process_lsm.action === 'KPROBE_ACTION_OVERRIDE', `process_lsm event: ${JSON.stringify(lsm)}`);
        const fe = await eventWhere((e) => e.process_kprobe?.policy_name === 'vm-fentry' && e.process_kprobe.args?.[0]?.file_arg?.path === join(D, 'fe-b'));
        expect(fe?.process_kprobe.action === 'KPROBE_ACTION_SIGKILL', `fentry event: ${JSON.stringify(fe)}`);
        for (const n of ['vm-lsm', 'vm-fentry', 'vm-fmod', 'vm-bprm']) await talon(['tp', 'delete', n, '-n', 'default', ...A], { timeoutMs: 120_000 });
      },
    );
    await check(
      'socket arguments: ip_output sock + skb (a UDP datagram, filtered on its address and port), security_socket_connect socket + sockaddr Sigkill, in the pod only',
      async () => {
        writeFileSync(join(D, 'sock.yaml'), SOCK_POLICY);
        let r = await talon(['tp', 'add', join(D, 'sock.yaml'), ...A], { timeoutMs: 120_000 });
        expect(r.code === 0, `tp add: ${r.code} ${r.stdout} ${r.stderr}`);
        // a connected datagram socket (its struct sock names the peer), then one that only names it in sendto
        const udp = (port: number) =>
          `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.connect(("127.0.0.2", ${port}))\ns.send(b"talon")\nsocket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"talon", ("127.0.0.2", ${port + 2}))`;
        const connect = 'import socket\ntry:\n  socket.create_connection(("127.0.0.3", 47322), 2)\nexcept OSError:\n  pass\nprint("alive")';
        r = await inPod(['python3', '-c', udp(47321)]);
        expect(r.code === 0, `udp in the pod: ${r.code} ${r.stderr}`);
        r = await inPod(['python3', '-c', connect]);
        expect(r.code === 137 && r.stdout === '', `connect in the pod: ${r.code} ${r.stdout} ${r.stderr}`);
        const host = spawnSync('python3', ['-c', connect], { encoding: 'utf8' });
        expect(host.status === 0 && host.stdout === 'alive\n', `outside the pod: ${host.status} ${host.stderr}`);
        const out = await eventWhere((e) => e.process_kprobe?.policy_name === 'vm-sock' && e.process_kprobe.function_name === 'ip_output');
        expect(out, 'an ip_output event');
        const [sk, skb] = out.process_kprobe.args;
        expect(
          sk?.sock_arg?.type === 'SOCK_DGRAM' && sk.sock_arg.protocol === 'IPPROTO_UDP' && sk.sock_arg.daddr === '127.0.0.2' && sk.sock_arg.dport === 47321,
          `its sock: ${JSON.stringify(sk)}`,
        );
        expect(skb?.skb_arg?.daddr === '127.0.0.2' && skb.skb_arg.dport === 47321 && skb.skb_arg.protocol === 'IPPROTO_UDP', `its skb: ${JSON.stringify(skb)}`);
        expect(out.process_kprobe.process?.pod?.name === 'kp', `its pod: ${JSON.stringify(out.process_kprobe.process?.pod)}`);
        const outs = events().filter((e) => e.process_kprobe?.policy_name === 'vm-sock' && e.process_kprobe.function_name === 'ip_output');
        expect(
          outs.every((e) => e.process_kprobe.args[1]?.skb_arg?.dport === 47321),
          `only port 47321 passes the kernel filter: ${JSON.stringify(outs).slice(0, 600)}`,
        );
        const kill = await eventWhere(
          (e) => e.process_kprobe?.function_name === 'security_socket_connect' && e.process_kprobe.action === 'KPROBE_ACTION_SIGKILL',
        );
        const [so, sa] = kill?.process_kprobe.args ?? [];
        expect(so?.sock_arg?.type === 'SOCK_STREAM' && so.sock_arg.protocol === 'IPPROTO_TCP', `the socket: ${JSON.stringify(kill)}`);
        expect(
          sa?.sockaddr_arg?.addr === '127.0.0.3' && sa.sockaddr_arg.port === 47322 && sa.sockaddr_arg.family === 'AF_INET',
          `the sockaddr: ${JSON.stringify(sa)}`,
        );
        await talon(['tp', 'delete', 'vm-sock', '-n', 'default', ...A], { timeoutMs: 120_000 });
      },
    );
    await check('a cred argument: commit_creds of a setgid in the pod, as process_credentials_arg', async () => {
      writeFileSync(join(D, 'cred.yaml'), CRED_POLICY);
      let r = await talon(['tp', 'add', join(D, 'cred.yaml'), ...A], { timeoutMs: 120_000 });
      expect(r.code === 0, `tp add: ${r.code} ${r.stdout} ${r.stderr}`);
      r = await inPod(['python3', '-c', 'import os\nos.setgid(4242)\nprint(os.getgid())']);
      expect(r.code === 0 && r.stdout === '4242\n', `setgid in the pod: ${r.code} ${r.stdout} ${r.stderr}`);
      const ev = await eventWhere((e) => e.process_kprobe?.policy_name === 'vm-cred' && e.process_kprobe.args?.[0]?.process_credentials_arg?.gid === 4242);
      const c = ev?.process_kprobe.args[0].process_credentials_arg;
      expect(
        c,
        `a commit_creds event with gid 4242: ${JSON.stringify(
          events()
            .filter((e) => e.process_kprobe?.policy_name === 'vm-cred')
            .slice(0, 2),
        )}`,
      );
      expect(c.uid === 0 && c.euid === 0 && c.egid === 4242 && c.fsgid === 4242, `the ids: ${JSON.stringify(c)}`);
      expect(c.caps?.effective?.includes('CAP_SETGID'), `the capabilities: ${JSON.stringify(c.caps)}`);
      expect(c.user_ns?.level === 0 && c.user_ns.ns?.is_host === true, `the host user namespace: ${JSON.stringify(c.user_ns)}`);
      expect(ev.process_kprobe.process?.pod?.name === 'kp', 'in the pod');
      expect(!events().some((e) => e.process_kprobe?.policy_name === 'vm-cred' && !e.process_kprobe.process?.pod), 'no event outside the pod');
      await talon(['tp', 'delete', 'vm-cred', '-n', 'default', ...A], { timeoutMs: 120_000 });
    });
    await check('user_namespace, capability and net_device: cap_capable(CAP_SYS_NICE) killed in the pod, dev_hard_start_xmit names lo', async () => {
      writeFileSync(join(D, 'capdev.yaml'), CAPDEV_POLICY);
      let r = await talon(['tp', 'add', join(D, 'capdev.yaml'), ...A], { timeoutMs: 120_000 });
      expect(r.code === 0, `tp add: ${r.code} ${r.stdout} ${r.stderr}`);
      const nice = ['python3', '-c', 'import os\nos.nice(-1)\nprint("niced")'];
      r = await inPod(nice);
      expect(r.code === 137, `os.nice(-1) in the pod is killed: ${r.code} ${r.stdout} ${r.stderr}`);
      const host = spawnSync(nice[0], nice.slice(1), { encoding: 'utf8' });
      expect(host.status === 0 && host.stdout === 'niced\n', `the host is not covered: ${host.status} ${host.stdout} ${host.stderr}`);
      const send = [
        'python3',
        '-c',
        'import socket\nfor p in (47323, 47324):\n  socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"talon", ("127.0.0.1", p))',
      ];
      r = await inPod(send);
      expect(r.code === 0, `sendto in the pod: ${r.code} ${r.stderr}`);
      const cap = await eventWhere((e) => e.process_kprobe?.policy_name === 'vm-capdev' && e.process_kprobe.function_name === 'cap_capable');
      expect(
        cap,
        `a cap_capable event: ${JSON.stringify(
          events()
            .filter((e) => e.process_kprobe?.policy_name === 'vm-capdev')
            .slice(0, 2),
        )}`,
      );
      const ca = cap.process_kprobe.args;
      expect(JSON.stringify(ca[1]) === JSON.stringify({ capability_arg: { value: 23, name: 'CAP_SYS_NICE' } }), `the capability: ${JSON.stringify(ca)}`);
      expect(ca[0]?.user_ns_arg?.level === 0 && ca[0].user_ns_arg.ns?.is_host === true, `the initial user namespace: ${JSON.stringify(ca[0])}`);
      expect(
        cap.process_kprobe.action === 'KPROBE_ACTION_SIGKILL' && cap.process_kprobe.process?.pod?.name === 'kp',
        `killed in the pod: ${JSON.stringify(cap.process_kprobe.process?.pod)}`,
      );
      const dev = await eventWhere((e) => e.process_kprobe?.policy_name === 'vm-capdev' && e.process_kprobe.function_name === 'dev_hard_start_xmit');
      expect(dev, 'a dev_hard_start_xmit event');
      const da = dev.process_kprobe.args;
      expect(
        da[0]?.skb_arg?.dport === 47323 && JSON.stringify(da[1]) === JSON.stringify({ net_dev_arg: { name: 'lo' } }),
        `the packet and its device: ${JSON.stringify(da)}`,
      );
      const all = events().filter((e) => e.process_kprobe?.policy_name === 'vm-capdev');
      expect(!all.some((e) => e.process_kprobe.args?.[0]?.skb_arg?.dport === 47324), 'the kernel filtered out port 47324');
      expect(!all.some((e) => !e.process_kprobe.process?.pod), 'no event outside the pod');
      await talon(['tp', 'delete', 'vm-capdev', '-n', 'default', ...A], { timeoutMs: 120_000 });
    });
    await check('return: true: a kretprobe on vfs_read kills a 7-byte read in the pod (matchReturnArgs), an fexit on vfs_write posts the return', async () => {
      writeFileSync(join(D, 'ret-a'), 'secret\n');
      writeFileSync(join(D, 'ret-b'), 'talon\n');
      writeFileSync(join(D, 'ret.yaml'), RET_POLICY);
      writeFileSync(join(D, 'retfx.yaml'), FEXIT_POLICY);
      let r = await talon(['tp', 'add', join(D, 'ret.yaml'), ...A], { timeoutMs: 120_000 });
      expect(r.code === 0 && /generic_kprobe/.test(r.stdout), `tp add: ${r.code} ${r.stdout} ${r.stderr}`);
      r = await talon(['tp', 'add', join(D, 'retfx.yaml'), ...A], { timeoutMs: 120_000 });
      expect(r.code === 0 && /generic_fentry/.test(r.stdout), `tp add: ${r.code} ${r.stdout} ${r.stderr}`);
      const rd = (f: string) => ['python3', '-c', `import sys\nsys.stdout.write(open("${join(D, f)}").read())`];
      r = await inPod(rd('ret-a'));
      expect(r.code === 137 && r.stdout === '', `the 7-byte read in the pod is killed: ${r.code} ${r.stdout} ${r.stderr}`);
      r = await inPod(rd('ret-b'));
      expect(r.code === 0 && r.stdout === 'talon\n', `a 6-byte read in the pod runs: ${r.code} ${r.stderr}`);
      const host = spawnSync(rd('ret-a')[0], rd('ret-a').slice(1), { encoding: 'utf8' });
      expect(host.status === 0 && host.stdout === 'secret\n', `outside the pod: ${host.status} ${host.stderr}`);
      const kill = await eventWhere((e) => e.process_kprobe?.policy_name === 'vm-ret' && e.process_kprobe.function_name === 'vfs_read');
      expect(
        kill?.process_kprobe.action === 'KPROBE_ACTION_SIGKILL' &&
          kill.process_kprobe.args?.[0]?.file_arg?.path === join(D, 'ret-a') &&
          JSON.stringify(kill.process_kprobe.return) === JSON.stringify({ int_arg: 7 }),
        `the vfs_read event: ${JSON.stringify(kill)}`,
      );
      r = await inPod(['sh', '-c', `echo talon > ${D}/fx-a; echo hello-talon > ${D}/fx-b`]);
      expect(r.code === 0, `the writes in the pod: ${r.code} ${r.stderr}`);
      const wr = await eventWhere((e) => e.process_kprobe?.policy_name === 'vm-retfx' && e.process_kprobe.function_name === 'vfs_write');
      expect(
        wr?.process_kprobe.args?.[0]?.file_arg?.path === join(D, 'fx-a') && JSON.stringify(wr.process_kprobe.return) === JSON.stringify({ int_arg: 6 }),
        `the vfs_write event: ${JSON.stringify(wr)}`,
      );
      const mine = events().filter((e) => /^vm-ret(fx)?$/.test(e.process_kprobe?.policy_name ?? ''));
      expect(!mine.some((e) => e.process_kprobe.args?.[0]?.file_arg?.path === join(D, 'fx-b')), 'the 12-byte write is filtered out in the kernel');
      expect(!mine.some((e) => e.process_kprobe.args?.[0]?.file_arg?.path === join(D, 'ret-b')), 'the 6-byte read matches no selector');
      expect(!mine.some((e) => !e.process_kprobe.process?.pod), 'no event outside the pod');
      for (const n of ['vm-ret', 'vm-retfx']) await talon(['tp', 'delete', n, '-n', 'default', ...A], { timeoutMs: 120_000 });
    });
    await check('bpf_attr, bpf_map and perf_event: a program load, a map and a perf event created in the pod, as Tetragon shows them', async () => {
      writeFileSync(join(D, 'bpf.yaml'), BPF_POLICY);
      let r = await talon(['tp', 'add', join(D, 'bpf.yaml'), ...A], { timeoutMs: 120_000 });
      expect(r.code === 0, `tp add: ${r.code} ${r.stdout} ${r.stderr}`);
      expect(/callNotFound/.test(r.stderr), `the function this kernel lacks is named as skipped: ${r.stderr}`);
      r = await inPod(['python3', '-c', BPF_PY]);
      expect(r.code === 0 && r.stdout === 'ok\n', `the syscalls in the pod: ${r.code} ${r.stdout} ${r.stderr}`);
      const mine = (fn: string) => (e: Json) => e.process_kprobe?.policy_name === 'vm-bpf' && e.process_kprobe.function_name === fn;
      const load = await eventWhere((e) => mine('bpf_check')(e) && e.process_kprobe.args?.[0]?.bpf_attr_arg?.ProgName === 'tln_vmprog');
      expect(
        JSON.stringify(load?.process_kprobe.args[0]) ===
          JSON.stringify({ bpf_attr_arg: { ProgType: 'BPF_PROG_TYPE_SOCKET_FILTER', InsnCnt: 2, ProgName: 'tln_vmprog' } }),
        `the program load: ${JSON.stringify(events().filter(mine('bpf_check')).slice(0, 2))}`,
      );
      const map = await eventWhere((e) => e.process_kprobe?.policy_name === 'vm-bpf' && e.process_kprobe.args?.[0]?.bpf_map_arg?.MapName === 'tln_vmmap');
      expect(
        JSON.stringify(map?.process_kprobe.args[0]) ===
          JSON.stringify({ bpf_map_arg: { MapType: 'BPF_MAP_TYPE_HASH', KeySize: 4, ValueSize: 4, MaxEntries: 8, MapName: 'tln_vmmap' } }),
        `the map: ${JSON.stringify(
          events()
            .filter((e) => e.process_kprobe?.policy_name === 'vm-bpf' && /map/.test(e.process_kprobe.function_name))
            .slice(0, 2),
        )}`,
      );
      const pe = await eventWhere(mine('security_perf_event_alloc'));
      const pa = pe?.process_kprobe.args[0]?.perf_event_arg;
      expect(pa?.Type === 'PERF_TYPE_SOFTWARE' && pa.Config === '9' && pa.KprobeFunc === '', `the perf event: ${JSON.stringify(pe?.process_kprobe.args)}`);
      expect(
        !events().some((e) => e.process_kprobe?.policy_name === 'vm-bpf' && !e.process_kprobe.process?.pod),
        'no event outside the pod (the agent loads programs too)',
      );
      await talon(['tp', 'delete', 'vm-bpf', '-n', 'default', ...A], { timeoutMs: 120_000 });
    });
    await check('status: the evaluator agrees with every kernel record', async () => {
      const r = await talon(['status', '-o', 'json', ...A], { timeoutMs: 120_000 });
      expect(r.code === 0, r.stderr);
      const d = JSON.parse(r.stdout).differential;
      expect(d.checked >= 2 && d.disagreed === 0, JSON.stringify(d));
    });
  } finally {
    await check('stop: tp delete, pod delete, SIGTERM; no tln_ program left', async () => {
      await talon(['tp', 'delete', 'vm-kprobe', '-n', 'default', ...A], { timeoutMs: 120_000 });
      await talon(['pod', 'delete', 'default/kp', ...A], { timeoutMs: 120_000 });
      agent!.child.kill('SIGTERM');
      const code = await agent!.exited;
      // the agent's log when anything failed, as notes: the host prints them in the test's output (a check's line keeps only its start)
      if (results.some((x) => !x.ok) || code !== 0) for (const l of agent!.err().slice(-6000).split('\n')) if (l.trim()) notes.push(`agent: ${l}`);
      expect(code === 0, `agent exit ${code}: ${agent!.err().slice(-500)}`);
      expect(tlnProgs().length === 0, `left: ${tlnProgs().join(', ')}`);
    });
  }
}

main()
  .catch((e) => results.push({ name: 'guest script', ok: false, why: String((e as Error).stack ?? e), ms: 0 }))
  .finally(() => {
    const out = { kernel: release(), results, notes, ms: Math.round(performance.now() - t0) };
    console.log(`TALON-VM-RESULT ${JSON.stringify(out)}`);
    process.exit(results.every((r) => r.ok) ? 0 : 1);
  });
