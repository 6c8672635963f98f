// Argument types in the kernel (issue 10): `nop` positions (declared, never read,
// left out of the event as Tetragon does) and `char_buf` buffers of syscall hooks,
// sized by another argument (sizeArgIndex) or copied at the exit with as many
// bytes as the call returned (returnCopy). An isolated agent on its own socket
// and state dir loads the policies, a test pod writes, reads and maps files, and
// the events are checked field by field against Tetragon's shapes (bytes_arg,
// truncated_bytes_arg with orig_size); dry-run replays them with the kernel's
// verdicts; the agent's differential check agrees with every kernel record.
// Runs as root; skipped with a reason otherwise. The enforcing selector only
// matches a write of exactly 4999 bytes in the test pod.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { isolatedAgent, assertStopLeavesNothing, agentStatus, jsonEvents, skipUnlessRoot, talon } from './helpers/agent.js';

const reason = skipUnlessRoot('argument types in the kernel');
const test = suite('agent-args');

const t = isolatedAgent('args', 'default/argsk');
const A = t.A;
const programs = new Set<number>();

/** Tetragon's sys-write example (char_buf, sizeArgIndex 3), namespaced, on this test's write sizes; 4999 bytes are killed */
const WRITE = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: "args-write"
  namespace: "default"
spec:
  kprobes:
  - call: "sys_write"
    syscall: true
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "char_buf"
      sizeArgIndex: 3
    - index: 2
      type: "size_t"
    selectors:
    - matchArgs:
      - index: 2
        operator: "Equal"
        values:
        - "4999"
      matchActions:
      - action: Sigkill
    - matchArgs:
      - index: 2
        operator: "Equal"
        values:
        - "13"
`;

/** read() with returnCopy: the bytes the call filled, as many as it returned */
const READ = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: "args-read"
  namespace: "default"
spec:
  kprobes:
  - call: "sys_read"
    syscall: true
    args:
    - index: 0
      type: "fd"
    - index: 1
      type: "char_buf"
      returnCopy: true
    - index: 2
      type: "size_t"
    selectors:
    - matchArgs:
      - index: 2
        operator: "Equal"
        values:
        - "7777"
`;

/** Tetragon's filename_monitoring mmap hook (file, uint32 prot, nop flags) on this test's directory */
const MMAP = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: "args-mmap-nop"
  namespace: "default"
spec:
  kprobes:
  - call: "security_mmap_file"
    syscall: false
    args:
    - index: 0
      type: "file"
    - index: 1
      type: "uint32"
    - index: 2
      type: "nop"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Prefix"
        values:
        - "${t.dir}/mm-"
`;

/** a syscall hook with a nop before the argument it filters on: the filter names the same argument in the kernel and in dry-run */
const LSEEK = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: "args-lseek-nop"
  namespace: "default"
spec:
  kprobes:
  - call: "sys_lseek"
    syscall: true
    args:
    - index: 0
      type: "nop"
    - index: 2
      type: "int"
    selectors:
    - matchArgs:
      - index: 2
        operator: "Equal"
        values:
        - "4242"
`;

/** Tetragon's rawtp examples (a BTF tracepoint; TP_PROTO (p, old_pid, bprm)), namespaced: the task's
 * pid through resolve as in its docs, its parent's tgid (a pointer on the way), its comm (a char array),
 * a filter on the resolved comm; bprm as the executed file; the task's cred (a pointer to a cred) */
const RAWTP = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: "args-rawtp"
  namespace: "default"
spec:
  tracepoints:
    - subsystem: "sched"
      event: "sched_process_exec"
      raw: true
      args:
        - index: 0
          type: "int"
          resolve: "pid"
        - index: 0
          type: "int"
          resolve: "real_parent.tgid"
        - index: 0
          type: "string"
          resolve: "comm"
        - index: 2
          type: "linux_binprm"
        - index: 0
          type: "cred"
          resolve: "cred"
      selectors:
        - matchArgs:
          - index: 2
            operator: Equal
            values: ["tln-true"]
`;

/** socket arguments of raw tracepoints (BTF): TCP state changes (TP_PROTO (sk, oldstate, newstate)) of
 * a connect to 127.0.0.2:47311, and the packets queued to a device (TP_PROTO (skb)) to UDP port 47312 */
const RAWSOCK = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: "args-rawsock"
  namespace: "default"
spec:
  tracepoints:
    - subsystem: "sock"
      event: "inet_sock_set_state"
      raw: true
      args:
        - index: 0
          type: "sock"
        - index: 2
          type: "int"
      selectors:
        - matchArgs:
          - index: 0
            operator: "DPort"
            values: ["47311"]
          - index: 0
            operator: "DAddr"
            values: ["127.0.0.2/32"]
    - subsystem: "net"
      event: "net_dev_queue"
      raw: true
      args:
        - index: 0
          type: "skb"
      selectors:
        - matchArgs:
          - index: 0
            operator: "DPort"
            values: ["47312"]
          - index: 0
            operator: "Protocol"
            values: ["IPPROTO_UDP"]
    - subsystem: "net"
      event: "net_dev_xmit"
      raw: true
      args:
        - index: 0
          type: "skb"
        - index: 2
          type: "net_device"
      selectors:
        - matchArgs:
          - index: 0
            operator: "DPort"
            values: ["47313"]
          - index: 1
            operator: "Equal"
            values: ["lo"]
`;

/** the capability checks of a tracefs tracepoint (capability/cap_capable, Linux 6.15+): the cred, the
 * target user namespace and the capability in its pointer and int fields; CAP_SYS_NICE (23) is killed */
const CAPS = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: "args-caps"
  namespace: "default"
spec:
  tracepoints:
    - subsystem: "capability"
      event: "cap_capable"
      args:
        - index: 4
          type: "cred"
        - index: 5
          type: "user_namespace"
        - index: 7
          type: "capability"
        - index: 8
          type: "int"
      selectors:
        - matchArgs:
          - index: 2
            operator: "Equal"
            values: ["23"]
          matchActions:
          - action: Sigkill
`;
const CAP_TP = '/sys/kernel/tracing/events/capability/cap_capable';

/** Tetragon's creds-capability-usage shape on cap_capable (a kprobe; here the tracepoint serves it), with
 * the return value filtered in the kernel: a failed CAP_SYS_RESOURCE (24) check is killed, CAP_SETGID (6) posted */
const KCAP = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicyNamespaced
metadata:
  name: "args-kcap"
  namespace: "default"
spec:
  kprobes:
  - call: "cap_capable"
    syscall: false
    return: true
    args:
    - index: 1
      type: "user_namespace"
    - index: 2
      type: "capability"
    returnArg:
      index: 0
      type: "int"
    selectors:
    - matchArgs:
      - index: 2
        operator: "Equal"
        values: ["24"]
      matchReturnArgs:
      - index: 0
        operator: "Equal"
        values: ["-1"]
      matchActions:
      - action: Sigkill
    - matchArgs:
      - index: 2
        operator: "Equal"
        values: ["6"]
`;

const py = (code: string) => ['python3', '-c', code];
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

if (reason) {
  test.skip('argument types in the kernel');
} else {
  test.after(() => t.stop());

  test('tp add: nop and char_buf (sizeArgIndex, returnCopy) hooks load', async () => {
    await t.start();
    let r;
    for (const [name, text] of [
      ['write.yaml', WRITE],
      ['read.yaml', READ],
      ['mmap.yaml', MMAP],
      ['lseek.yaml', LSEEK],
      ['rawtp.yaml', RAWTP],
      ['rawsock.yaml', RAWSOCK],
      ...(existsSync(CAP_TP) ? [['caps.yaml', CAPS]] : []),
      ...(existsSync(CAP_TP) ? [['kcap.yaml', KCAP]] : []),
    ]) {
      const f = join(t.dir, name);
      writeFileSync(f, text);
      r = await talon(['tp', 'add', f, ...A]);
      assert.is(r.code, 0, `${name}: ${r.stderr}`);
      if (name.startsWith('raw')) assert.match(r.stdout, /generic_rawtp/);
    }
    r = await talon(['tp', 'list', '-o', 'json', ...A]);
    for (const p of JSON.parse(r.stdout).policies) for (const id of p.programs ?? []) programs.add(typeof id === 'number' ? id : id.id);
    assert.ok(programs.size >= 4, `programs: ${[...programs].join(',')}`);
  });

  test('char_buf sizeArgIndex: the bytes written, as bytes_arg; 4999 bytes are truncated_bytes_arg (first 4095, orig_size) and killed in the pod only', async () => {
    const g = await jsonEvents([], A);
    let r = await talon(['exec', 'argsk', ...A, '--', ...py('import os\nos.write(1, b"hello, talon\\n")')]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'hello, talon\n');
    r = await talon(['exec', 'argsk', ...A, '--', ...py('import os\nos.write(2, bytes(range(256)) * 19 + b"x" * 135)')]);
    assert.is(r.code, 137, `killed in the pod: ${r.stderr.slice(0, 200)}`);
    const host = spawnSync('python3', ['-c', 'import os\nos.write(2, b"y" * 4999)'], { encoding: 'utf8' });
    assert.is(host.status, 0, 'the namespaced policy does not cover the host');
    const events = await g.stop();
    const kp = events.filter((e) => e.process_kprobe?.policy_name === 'args-write').map((e) => e.process_kprobe);
    assert.is(kp.length, 2, JSON.stringify(kp).slice(0, 3000));
    const [small, big] = kp[0].args[2].size_arg === '13' ? kp : [kp[1], kp[0]];
    assert.is(small.function_name, '__x64_sys_write');
    assert.equal(small.args, [{ int_arg: 1 }, { bytes_arg: b64('hello, talon\n') }, { size_arg: '13' }]);
    assert.is(small.action, 'KPROBE_ACTION_POST');
    const data = Buffer.concat([Buffer.from(Array.from({ length: 19 }, () => [...Array(256).keys()]).flat()), Buffer.from('x'.repeat(135))]);
    assert.is(data.length, 4999);
    assert.equal(big.args, [{ int_arg: 2 }, { truncated_bytes_arg: { bytes_arg: b64(data.subarray(0, 4095)), orig_size: '4999' } }, { size_arg: '4999' }]);
    assert.is(big.action, 'KPROBE_ACTION_SIGKILL');
    assert.is(big.process.pod?.name, 'argsk');
    // dry-run replays both with the kernel's selectors
    const f = join(t.dir, 'write.jsonl');
    writeFileSync(f, [small, big].map((e) => JSON.stringify({ process_kprobe: e })).join('\n') + '\n');
    const dr = await talon(['dry-run', '-n', 'default', '-p', join(t.dir, 'write.yaml'), '-e', f, '-o', 'compact', '--color', 'never']);
    assert.is(dr.code, 0, dr.stderr);
    const out = dr.stdout.split('\n').filter(Boolean);
    assert.match(out[0], /default\/args-write\/1 Post/);
    assert.match(out[1], /default\/args-write\/0 Sigkill/);
  });

  test('char_buf returnCopy: the bytes read() filled, as many as it returned, at the exit', async () => {
    const content = 'talon read me\n';
    writeFileSync(join(t.dir, 'rd-file'), content);
    const g = await jsonEvents([], A);
    const r = await talon([
      'exec',
      'argsk',
      ...A,
      '--',
      ...py(`import os\nfd = os.open(${JSON.stringify(join(t.dir, 'rd-file'))}, os.O_RDONLY)\nprint(len(os.read(fd, 7777)))`),
    ]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout.trim(), String(content.length));
    const events = await g.stop();
    const kp = events.filter((e) => e.process_kprobe?.policy_name === 'args-read').map((e) => e.process_kprobe);
    assert.is(kp.length, 1, JSON.stringify(kp).slice(0, 3000));
    assert.is(kp[0].function_name, '__x64_sys_read');
    assert.equal(kp[0].args[1], { bytes_arg: b64(content) });
    assert.equal(kp[0].args[2], { size_arg: '7777' });
    assert.is(kp[0].args[0].file_arg?.path, join(t.dir, 'rd-file'));
    assert.is(kp[0].return, undefined, 'return: false: no return value in the event');
  });

  test('nop: declared, not read, left out of the event; a filter after it names the same argument in the kernel and dry-run', async () => {
    writeFileSync(join(t.dir, 'mm-file'), 'mapped\n');
    const g = await jsonEvents([], A);
    let r = await talon([
      'exec',
      'argsk',
      ...A,
      '--',
      ...py(
        `import mmap, os\nfd = os.open(${JSON.stringify(join(t.dir, 'mm-file'))}, os.O_RDONLY)\nm = mmap.mmap(fd, 0, prot=mmap.PROT_READ)\nprint(m[:6].decode())`,
      ),
    ]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout.trim(), 'mapped');
    r = await talon(['exec', 'argsk', ...A, '--', ...py('import os\ntry:\n  os.lseek(-1, 0, 4242)\nexcept OSError:\n  pass')]);
    assert.is(r.code, 0, r.stderr);
    const events = await g.stop();
    const mm = events.filter((e) => e.process_kprobe?.policy_name === 'args-mmap-nop').map((e) => e.process_kprobe);
    assert.ok(mm.length >= 1, JSON.stringify(events).slice(0, 2000));
    assert.is(mm[0].function_name, 'security_mmap_file');
    assert.is(mm[0].args.length, 2, `the nop is left out: ${JSON.stringify(mm[0].args)}`);
    assert.is(mm[0].args[0].file_arg?.path, join(t.dir, 'mm-file'));
    assert.is(mm[0].args[1].uint_arg & 1, 1, 'PROT_READ');
    const ls = events.filter((e) => e.process_kprobe?.policy_name === 'args-lseek-nop').map((e) => e.process_kprobe);
    assert.is(ls.length, 1, JSON.stringify(ls).slice(0, 2000));
    assert.equal(ls[0].args, [{ int_arg: 4242 }]);
    // Tetragon's shape (no nop entry) is judged on the same argument by dry-run
    const f = join(t.dir, 'lseek.jsonl');
    const other = { ...ls[0], args: [{ int_arg: 1 }] };
    writeFileSync(f, [ls[0], other].map((e) => JSON.stringify({ process_kprobe: e })).join('\n') + '\n');
    const dr = await talon(['dry-run', '-n', 'default', '-p', join(t.dir, 'lseek.yaml'), '-e', f, '-o', 'compact', '--color', 'never']);
    assert.is(dr.code, 0, dr.stderr);
    const out = dr.stdout.split('\n').filter(Boolean);
    assert.match(out[0], /default\/args-lseek-nop\/0 Post/);
    assert.not.match(out[1], /args-lseek-nop/);
  });

  test('raw: true tracepoint (tp_btf): sched_process_exec, resolve pid / real_parent.tgid / comm (filtered on) and its linux_binprm as the executed file, in the pod only', async () => {
    const bin = join(t.dir, 'tln-true');
    copyFileSync('/usr/bin/true', bin);
    chmodSync(bin, 0o755);
    const g = await jsonEvents([], A);
    // a shell forks the binary (the trailing true keeps it from exec-ing it in place): its pid is the parent's tgid
    const r = await talon(['exec', 'argsk', ...A, '--', 'sh', '-c', `${bin}; true`]);
    assert.is(r.code, 0, r.stderr);
    assert.is(spawnSync(bin).status, 0);
    const events = await g.stop();
    const tp = events.filter((e) => e.process_tracepoint?.policy_name === 'args-rawtp').map((e) => e.process_tracepoint);
    // the kernel's filter on the resolved comm: the pod's other execs (the exec helper's) post nothing
    assert.ok(tp.length >= 1 && tp.every((e) => e.args[2]?.string_arg === 'tln-true'), JSON.stringify(tp).slice(0, 2000));
    const mine = tp.filter((e) => e.args[3]?.linux_binprm_arg?.path === bin);
    assert.is(mine.length, 1, `one exec in the pod, the host's not: ${JSON.stringify(tp).slice(0, 2000)}`);
    const ev = mine[0];
    assert.equal(
      [ev.subsys, ev.event, ev.args[0], ev.args[2], ev.args[3]],
      ['sched', 'sched_process_exec', { int_arg: ev.process.pid }, { string_arg: 'tln-true' }, { linux_binprm_arg: { path: bin, permission: '-rwxr-xr-x' } }],
    );
    const ppid = ev.args[1]?.int_arg;
    // the shell's exec event names its pid as the host sees it (the pod has its own pid namespace);
    // the pod's setup shells before it carry the command in their arguments too
    const shell = events.find((e) => e.process_exec?.process.arguments === `-c "${bin}; true"`)?.process_exec.process.pid;
    assert.is(ppid, shell, `the parent's tgid (real_parent.tgid): ${JSON.stringify(ev.args[1])}`);
    assert.is(ev.process.pod?.name, 'argsk');
    assert.is(ev.action, 'KPROBE_ACTION_POST');
    // the task's struct cred (resolve "cred"), as Tetragon's process_credentials_arg: the pod's root, every capability it has
    const cred = ev.args[4]?.process_credentials_arg;
    assert.equal([cred?.uid, cred?.euid, cred?.gid, cred?.fsuid], [0, 0, 0, 0], JSON.stringify(ev.args[4]));
    assert.ok(cred?.caps?.effective?.includes('CAP_CHOWN'), JSON.stringify(cred?.caps));
    assert.ok(cred?.user_ns?.ns?.inum > 0 && typeof cred.user_ns.level === 'number', JSON.stringify(cred?.user_ns));
  });

  test('raw: true tracepoints with socket arguments: a struct sock (TCP state change) and an sk_buff (a queued UDP packet), filtered on address, port and protocol in the kernel, in the pod only', async () => {
    const g = await jsonEvents([], A);
    // a connect to a closed port: SYN_SENT, then the reset closes it; a datagram nobody receives
    const code = [
      'import socket',
      's = socket.socket()',
      'try:',
      '  s.connect(("127.0.0.2", 47311))',
      'except OSError:',
      '  pass',
      'for port in (47312, 47313):',
      '  socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"talon", ("127.0.0.2", port))',
    ].join('\n');
    const r = await talon(['exec', 'argsk', ...A, '--', ...py(code)]);
    assert.is(r.code, 0, r.stderr);
    assert.is(spawnSync('python3', ['-c', code]).status, 0);
    const events = await g.stop();
    const tp = events.filter((e) => e.process_tracepoint?.policy_name === 'args-rawsock').map((e) => e.process_tracepoint);
    assert.ok(tp.length >= 2 && tp.every((e) => e.process.pod?.name === 'argsk'), `the pod only: ${JSON.stringify(tp).slice(0, 2000)}`);
    const states = tp.filter((e) => e.event === 'inet_sock_set_state');
    assert.ok(states.length >= 1, JSON.stringify(tp).slice(0, 2000));
    const first = states[0].args[0]?.sock_arg;
    assert.equal(
      [first?.family, first?.type, first?.protocol, first?.daddr, first?.dport, states[0].args[1]],
      ['AF_INET', 'SOCK_STREAM', 'IPPROTO_TCP', '127.0.0.2', 47311, { int_arg: 2 }],
      `the connect's state change to TCP_SYN_SENT (2): ${JSON.stringify(states[0])}`,
    );
    // the datagram to 47313 leaves by lo: net_dev_xmit's device, compared by name in the kernel
    const xmit = tp.filter((e) => e.event === 'net_dev_xmit');
    assert.is(xmit.length, 1, JSON.stringify(xmit).slice(0, 2000));
    assert.equal([xmit[0].args[0]?.skb_arg?.dport, xmit[0].args[1]], [47313, { net_dev_arg: { name: 'lo' } }], JSON.stringify(xmit[0]));
    const pkts = tp.filter((e) => e.event === 'net_dev_queue');
    // one datagram to 47312, none to 47313 (the kernel filtered it out)
    assert.is(pkts.length, 1, JSON.stringify(pkts).slice(0, 2000));
    const skb = pkts[0].args[0]?.skb_arg;
    assert.equal([skb?.family, skb?.protocol, skb?.daddr, skb?.dport], ['AF_INET', 'IPPROTO_UDP', '127.0.0.2', 47312], JSON.stringify(pkts[0]));
    assert.match(String(skb?.saddr), /^127\./);
    assert.ok(skb?.sport > 0, JSON.stringify(skb));
  });

  test('a tracefs tracepoint with cred, user_namespace and capability fields (capability/cap_capable): CAP_SYS_NICE killed in the pod only', async () => {
    if (!existsSync(CAP_TP)) {
      // older kernels: the load says the tracepoint is missing
      const f = join(t.dir, 'caps.yaml');
      writeFileSync(f, CAPS);
      const r = await talon(['tp', 'add', f, ...A]);
      assert.is(r.code, 1);
      assert.match(r.stderr, /capability/);
      return;
    }
    const g = await jsonEvents([], A);
    const nice = py('import os\nos.nice(-1)\nprint("niced")');
    const r = await talon(['exec', 'argsk', ...A, '--', ...nice]);
    assert.is(r.code, 137, `killed in the pod: ${r.stdout} ${r.stderr.slice(0, 300)}`);
    const host = spawnSync(nice[0], nice.slice(1), { encoding: 'utf8' });
    assert.equal([host.status, host.stdout.trim()], [0, 'niced'], 'the namespaced policy does not cover the host');
    const events = await g.stop();
    const tp = events.filter((e) => e.process_tracepoint?.policy_name === 'args-caps').map((e) => e.process_tracepoint);
    assert.is(tp.length, 1, `one check, in the pod: ${JSON.stringify(tp).slice(0, 2000)}`);
    const ev = tp[0];
    assert.equal([ev.subsys, ev.event, ev.action, ev.process.pod?.name], ['capability', 'cap_capable', 'KPROBE_ACTION_SIGKILL', 'argsk']);
    assert.equal(ev.args[2], { capability_arg: { value: 23, name: 'CAP_SYS_NICE' } });
    // setpriority asks the initial user namespace; the pod's root has its own (level 1), without CAP_SYS_NICE
    assert.equal(ev.args[1]?.user_ns_arg?.ns?.is_host, true, JSON.stringify(ev.args[1]));
    assert.is(ev.args[1]?.user_ns_arg?.level, 0);
    const cred = ev.args[0]?.process_credentials_arg;
    assert.equal([cred?.uid, cred?.user_ns?.level, cred?.caps?.effective?.includes('CAP_SYS_NICE')], [0, 1, false], JSON.stringify(ev.args[0]));
    assert.ok(cred?.user_ns?.ns?.inum > 0 && !cred.user_ns.ns.is_host, JSON.stringify(cred?.user_ns));
    assert.ok(typeof ev.args[3]?.int_arg === 'number', JSON.stringify(ev.args[3]));
  });

  test('a kprobe on cap_capable served by capability/cap_capable: the return value with the arguments, filtered in the kernel (a failed CAP_SYS_RESOURCE killed, CAP_SETGID posted), in the pod only', async () => {
    if (!existsSync(CAP_TP)) {
      // no kprobes and no tracepoint: refused at load, saying what is missing
      const f = join(t.dir, 'kcap.yaml');
      writeFileSync(f, KCAP);
      const r = await talon(['tp', 'add', f, ...A]);
      assert.is(r.code, 1);
      assert.match(r.stderr, /cap_capable/);
      return;
    }
    const g = await jsonEvents([], A);
    let r = await talon(['exec', 'argsk', ...A, '--', ...py('import os\nos.setgid(4242)\nprint(os.getgid())')]);
    assert.equal([r.code, r.stdout.trim()], [0, '4242'], r.stderr);
    // lower the hard limit (no capability needed), then raise it again (CAP_SYS_RESOURCE)
    const N = 'resource.RLIMIT_NOFILE';
    const raise = py(`import resource\nresource.setrlimit(${N}, (512, 1024))\nresource.setrlimit(${N}, (512, 2048))\nprint("raised")`);
    r = await talon(['exec', 'argsk', ...A, '--', ...raise]);
    assert.is(r.code, 137, `a failed CAP_SYS_RESOURCE check is killed in the pod: ${r.stdout} ${r.stderr.slice(0, 300)}`);
    const host = spawnSync(raise[0], raise.slice(1), { encoding: 'utf8' });
    // the host is out of scope: not killed, whether its check passes (root) or fails (a sandbox without CAP_SYS_RESOURCE)
    assert.ok(
      host.signal === null && (host.status === 0 ? host.stdout.trim() === 'raised' : /not allowed to raise/.test(host.stderr)),
      `the host: ${host.status} ${host.signal} ${host.stdout} ${host.stderr}`,
    );
    const events = await g.stop();
    const kp = events.filter((e) => e.process_kprobe?.policy_name === 'args-kcap').map((e) => e.process_kprobe);
    assert.ok(kp.length >= 2 && kp.every((e) => e.function_name === 'cap_capable' && e.process.pod?.name === 'argsk'), JSON.stringify(kp).slice(0, 2000));
    const killed = kp.filter((e) => e.action === 'KPROBE_ACTION_SIGKILL');
    assert.is(killed.length, 1, JSON.stringify(kp).slice(0, 2000));
    assert.equal([killed[0].args[1], killed[0].return], [{ capability_arg: { value: 24, name: 'CAP_SYS_RESOURCE' } }, { int_arg: -1 }]);
    assert.equal(killed[0].args[0]?.user_ns_arg?.ns?.is_host, true, JSON.stringify(killed[0].args[0]));
    // setgid asks the pod's own user namespace, where its root has CAP_SETGID: granted (0), posted
    const setgid = kp.filter((e) => e.args[1]?.capability_arg?.value === 6);
    assert.ok(setgid.length >= 1 && setgid.every((e) => e.action === 'KPROBE_ACTION_POST'), JSON.stringify(setgid).slice(0, 2000));
    assert.ok(
      setgid.some((e) => e.return?.int_arg === 0 && e.args[0]?.user_ns_arg?.level === 1),
      `a granted check in the pod's user namespace: ${JSON.stringify(setgid).slice(0, 2000)}`,
    );
    assert.ok(!kp.some((e) => e.args[1]?.capability_arg?.value === 24 && e.return?.int_arg === 0), 'a passed CAP_SYS_RESOURCE check matches no selector');
  });

  test('differential check: the evaluator agrees with every kernel record', async () => {
    const st = await agentStatus(A);
    assert.ok(st.differential.checked >= 4, JSON.stringify(st.differential));
    assert.is(st.differential.disagreed, 0, JSON.stringify(st.differential.samples, null, 2));
  });

  test('stop: no program of the agent is left; pods removed', async () => {
    assert.is((await talon(['pod', 'delete', 'default/argsk', ...A])).code, 0);
    const a = t.agent!;
    t.agent = null;
    await assertStopLeavesNothing(a, programs);
  });
}

test.run();
