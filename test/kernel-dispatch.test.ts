// One shared program per hook for every policy, and the per-file verdict
// cache, in the running kernel (root only): two policies on the same hook in
// different cgroups each enforce in their own only, and removing one leaves
// the other working; a read judged "no match" once is not reused when
// something it depended on changed (rename of the file or of a directory
// above it, dup2 over the fd, reuse of a closed file's slot, a policy loaded
// after the cached read, another process reading the same open file after
// fork or fd passing over a unix socket).
// Safety: every policy here kills only reads of files under this suite's temp
// directory, scoped to cgroups this suite created.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kernel, type LoadedPolicy } from '../src/kernel/index.js';
import type { PolicySpec } from '../src/core/types.js';
import { ACT, ARG, OP, TestCgroup, bpftoolTlnProgs, buildSpec, kernelSkipReason, type HSelector, type RunResult } from './helpers/kernel.js';
import { waitFor } from './helpers/common.js';

const S = suite('kernel: shared dispatch and the per-file verdict cache');
const skip = kernelSkipReason();
const root = typeof process.getuid === 'function' && process.getuid() === 0;
const PY = '/usr/bin/python3';
const TMP = `/tmp/talon-dispatch-${process.pid}`;

interface Ctx {
  k?: Kernel;
  cgs: TestCgroup[];
  children: ChildProcess[];
}
const ctx: Ctx = { cgs: [], children: [] };

/** Sigkill on a read (MAY_READ) of a path starting with `prefix`, scoped by cgroup; optional matchPIDs */
function killReads(name: string, prefix: string, pids?: HSelector['pids']): PolicySpec {
  return buildSpec({
    name,
    filtered: true,
    hooks: [
      {
        name: 'security_file_permission',
        hookId: 1,
        args: [
          { index: 0, type: ARG.FILE },
          { index: 1, type: ARG.INT },
        ],
        selectors: [
          {
            filters: [
              { op: OP.PREFIX, slot: 0, type: ARG.FILE, strs: [prefix] },
              { op: OP.EQUAL, slot: 1, type: ARG.INT, vals: [4n] },
            ],
            actions: [{ id: ACT.SIGKILL }],
            ...(pids ? { pids } : {}),
          },
        ],
      },
    ],
  });
}

function load(spec: PolicySpec, id: number, cg: TestCgroup): LoadedPolicy {
  const p = ctx.k!.loadPolicy(spec, id);
  p.setFilterCgroups([cg.id], []);
  return p;
}

function cgroup(tag: string): TestCgroup {
  const cg = TestCgroup.create(tag);
  ctx.cgs.push(cg);
  return cg;
}

/** a python script from this suite, run in `cg`, not awaited: its output so far, and its end */
function start(cg: TestCgroup, script: string, args: string[] = []): { child: ChildProcess; out: () => string; done: Promise<RunResult> } {
  const file = join(TMP, `${script.slice(0, 12).replace(/\W/g, '_')}-${ctx.children.length}.py`);
  writeFileSync(file, script);
  const child = spawn('sh', ['-c', `echo $$ > ${cg.path}/cgroup.procs && exec ${PY} ${file} ${args.join(' ')}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  ctx.children.push(child);
  let stdout = '',
    stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
  const done = new Promise<RunResult>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return { child, out: () => stdout, done };
}

const runPy = (cg: TestCgroup, script: string, args: string[] = []) => start(cg, script, args).done;

/** reads a file three times (the first read decides, the others hit the cache) */
const READ3 = 'for _ in range(3): os.pread(fd, 16, 0)\n';

if (skip) {
  if (root) S('kernel tests can run here', () => assert.unreachable(`kernel tests cannot run as root: ${skip}`));
  else S.skip('kernel tests (skipped: ' + skip + ')', () => {});
} else {
  S.after(() => {
    for (const c of ctx.children) c.kill('SIGKILL');
    ctx.k?.close();
    for (const cg of ctx.cgs) cg.remove();
    rmSync(TMP, { recursive: true, force: true });
  });

  S('open', async () => {
    mkdirSync(TMP, { recursive: true });
    for (const f of ['a-secret', 'b-secret', 'secret', 'plain', 'later']) writeFileSync(join(TMP, f), `${f}\n`);
    // no process sensor: these tests judge files, not processes
    ctx.k = await Kernel.open({ procfs: false, processSensor: false });
  });

  S('two policies on one hook in two cgroups: one shared program, each enforces in its own cgroup only', async () => {
    const k = ctx.k!;
    const before = new Set(bpftoolTlnProgs().map((p) => p.id));
    const cgA = cgroup('dispA');
    const cgB = cgroup('dispB');
    const a = load(killReads('disp-a', join(TMP, 'a-secret')), 201, cgA);
    const b = load(killReads('disp-b', join(TMP, 'b-secret')), 202, cgB);
    const ids = (p: LoadedPolicy) => p.programs().map((x) => k.shim.progInfo(x.fd).id);
    assert.equal(ids(a), ids(b), 'both policies are served by the same program instances');
    assert.is(bpftoolTlnProgs().filter((p) => p.name === 'tln_file_read' && !before.has(p.id)).length, 1, 'one tln_file_read in the kernel');
    assert.ok(a.mapBytes() < 256 * 1024, `kernel memory of one policy: ${a.mapBytes()} bytes`);

    const cat = (cg: TestCgroup, f: string) => cg.run(`cat ${join(TMP, f)}`);
    assert.is((await cat(cgA, 'a-secret')).signal, 'SIGKILL', 'A kills in its cgroup');
    assert.is((await cat(cgA, 'b-secret')).code, 0, "B's file in A's cgroup");
    assert.is((await cat(cgB, 'b-secret')).signal, 'SIGKILL', 'B kills in its cgroup');
    assert.is((await cat(cgB, 'a-secret')).code, 0, "A's file in B's cgroup");

    a.unload();
    assert.is((await cat(cgA, 'a-secret')).code, 0, 'A unloaded: its file reads again');
    assert.is((await cat(cgB, 'b-secret')).signal, 'SIGKILL', 'B still kills after A left');
    assert.equal(b.filterCgroups(), [cgB.id]);
    b.unload();
    assert.is(bpftoolTlnProgs().filter((p) => p.name === 'tln_file_read' && !before.has(p.id)).length, 0, 'the last policy took the shared program with it');
  });

  S('verdict cache: rename of an open file (and of a directory above it) makes its reads judged again', async () => {
    const cg = cgroup('rename');
    const p = load(killReads('cache-rename', join(TMP, 'secret')), 203, cg);
    try {
      mkdirSync(join(TMP, 'dir'), { recursive: true });
      writeFileSync(join(TMP, 'dir', 'x'), 'x\n');
      writeFileSync(join(TMP, 'plain2'), 'p\n');
      const file = await runPy(
        cg,
        `import os, sys\nd = sys.argv[1]\nfd = os.open(d + '/plain2', os.O_RDONLY)\n${READ3}os.rename(d + '/plain2', d + '/secret-renamed')\nprint('renamed', flush=True)\nos.pread(fd, 16, 0)\nprint('read after rename', flush=True)\n`,
        [TMP],
      );
      assert.is(file.signal, 'SIGKILL', JSON.stringify(file));
      assert.is(file.stdout, 'renamed\n');
      const dir = await runPy(
        cg,
        `import os, sys\nd = sys.argv[1]\nfd = os.open(d + '/dir/x', os.O_RDONLY)\n${READ3}os.rename(d + '/dir', d + '/secretdir')\nprint('renamed', flush=True)\nos.pread(fd, 16, 0)\nprint('read after rename', flush=True)\n`,
        [TMP],
      );
      assert.is(dir.signal, 'SIGKILL', JSON.stringify(dir));
      assert.is(dir.stdout, 'renamed\n');
    } finally {
      p.unload();
    }
  });

  S('verdict cache: dup2 over a judged fd, and a closed file slot reused, are judged again', async () => {
    const cg = cgroup('dup');
    const p = load(killReads('cache-dup', join(TMP, 'secret')), 204, cg);
    try {
      const dup = await runPy(
        cg,
        `import os, sys\nd = sys.argv[1]\nfd = os.open(d + '/plain', os.O_RDONLY)\n${READ3}s = os.open(d + '/secret', os.O_RDONLY)\nos.dup2(s, fd)\nprint('dup2', flush=True)\nos.pread(fd, 16, 0)\nprint('read after dup2', flush=True)\n`,
        [TMP],
      );
      assert.is(dup.signal, 'SIGKILL', JSON.stringify(dup));
      assert.is(dup.stdout, 'dup2\n');
      const reuse = await runPy(
        cg,
        `import os, sys\nd = sys.argv[1]\nfor _ in range(50):\n    fd = os.open(d + '/plain', os.O_RDONLY)\n    ${READ3.trim()}\n    os.close(fd)\nfd = os.open(d + '/secret', os.O_RDONLY)\nprint('reopened', flush=True)\nos.pread(fd, 16, 0)\nprint('read', flush=True)\n`,
        [TMP],
      );
      assert.is(reuse.signal, 'SIGKILL', JSON.stringify(reuse));
      assert.is(reuse.stdout, 'reopened\n');
    } finally {
      p.unload();
    }
  });

  S('verdict cache: a policy loaded after a cached allow applies to the very next read', async () => {
    const cg = cgroup('later');
    const go = join(TMP, 'go-later');
    // a policy on another file first: the script's reads are judged and cached as "no match"
    const other = load(killReads('cache-other', join(TMP, 'secret')), 205, cg);
    let later: LoadedPolicy | undefined;
    const r = start(
      cg,
      `import os, sys, time\nd = sys.argv[1]\nfd = os.open(d + '/later', os.O_RDONLY)\n${READ3}print('ready', flush=True)\nwhile not os.path.exists(d + '/go-later'): time.sleep(0.02)\nos.pread(fd, 16, 0)\nprint('read after load', flush=True)\n`,
      [TMP],
    );
    try {
      assert.ok(await waitFor(() => r.out().includes('ready'), 10000), 'the script read its file');
      later = load(killReads('cache-later', join(TMP, 'later')), 206, cg);
      writeFileSync(go, '');
      const res = await r.done;
      assert.is(res.signal, 'SIGKILL', JSON.stringify(res));
      assert.is(res.stdout, 'ready\n');
    } finally {
      later?.unload();
      other.unload();
      rmSync(go, { force: true });
    }
  });

  S('verdict cache: the same open file read by a forked child, or passed over a unix socket, is judged for that process', async () => {
    const cg = cgroup('procs');
    // fork: every process but the parent is killed reading the file
    const parent = start(
      cg,
      `import os, sys, time\nd = sys.argv[1]\nfd = os.open(d + '/secret', os.O_RDONLY)\nprint('ready', flush=True)\nwhile not os.path.exists(d + '/go-fork'): time.sleep(0.02)\n${READ3}pid = os.fork()\nif pid == 0:\n    os.pread(fd, 16, 0)\n    os._exit(0)\n_, st = os.waitpid(pid, 0)\nprint('child', os.WTERMSIG(st) if os.WIFSIGNALED(st) else 'exited', flush=True)\n`,
      [TMP],
    );
    assert.ok(await waitFor(() => parent.out().includes('ready'), 10000));
    const pf = load(killReads('cache-fork', join(TMP, 'secret'), { op: OP.NOT_IN, pids: [parent.child.pid!] }), 207, cg);
    try {
      writeFileSync(join(TMP, 'go-fork'), '');
      const res = await parent.done;
      assert.is(res.code, 0, JSON.stringify(res));
      assert.is(res.stdout, 'ready\nchild 9\n', 'the parent read it, the child was killed');
    } finally {
      pf.unload();
    }
    // fd passing: only the receiver is killed reading the file
    const sock = join(TMP, 'fd.sock');
    const recv = start(
      cg,
      `import os, sys, socket\ns = socket.socket(socket.AF_UNIX)\ns.bind(sys.argv[1])\ns.listen(1)\nprint('listening', flush=True)\nc, _ = s.accept()\n_, fds, _, _ = socket.recv_fds(c, 16, 1)\nprint('got', flush=True)\nos.pread(fds[0], 16, 0)\nprint('read', flush=True)\n`,
      [sock],
    );
    assert.ok(await waitFor(() => recv.out().includes('listening'), 10000));
    const pp = load(killReads('cache-pass', join(TMP, 'secret'), { op: OP.IN, pids: [recv.child.pid!] }), 208, cg);
    try {
      const send = await runPy(
        cg,
        `import os, sys, socket\nfd = os.open(sys.argv[1] + '/secret', os.O_RDONLY)\n${READ3}c = socket.socket(socket.AF_UNIX)\nc.connect(sys.argv[2])\nsocket.send_fds(c, [b'f'], [fd])\nprint('sent', flush=True)\n`,
        [TMP, sock],
      );
      assert.is(send.code, 0, `the sender reads the file: ${JSON.stringify(send)}`);
      const res = await recv.done;
      assert.is(res.signal, 'SIGKILL', JSON.stringify(res));
      assert.is(res.stdout, 'listening\ngot\n');
    } finally {
      pp.unload();
    }
  });
}

S.run();
