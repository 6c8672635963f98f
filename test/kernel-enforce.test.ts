// Enforcement in the running kernel (root only): file and network policies
// scoped to a test cgroup, monitor mode, records, refusal of what this kernel
// cannot serve, and nothing left behind after close().
// Safety: every enforcing policy here is scoped to a cgroup this test created;
// network traffic stays on 127.0.0.0/8.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kernel, LoadError, type LoadedPolicy } from '../src/kernel/index.js';
import { LAYOUT, type HookRecord, type TlnRecord, type ExecRecord, type ExitRecord } from '../src/kernel/records.js';
import type { PolicySpec } from '../src/core/types.js';
import { ACT, ARG, OP, TestCgroup, bpftoolTlnProgs, buildSpec, compileSeedFull, kernelSkipReason, run, sleep, type CoreCompiled } from './helpers/kernel.js';
import { waitFor } from './helpers/common.js';

const HOOK_FILE_PERMISSION = 1;
const HOOK_PATH_TRUNCATE = 3;
const HOOK_TCP_CONNECT = 4;

const S = suite('kernel: enforcement in the running kernel');
const skip = kernelSkipReason();
const root = typeof process.getuid === 'function' && process.getuid() === 0;

interface Ctx {
  k?: Kernel;
  cg?: TestCgroup;
  recs: TlnRecord[];
  file?: LoadedPolicy;
  net?: LoadedPolicy;
  progIds: number[];
  servers: Server[];
  tmp: string;
  /** policies compiled by the Wasm core, by kernel policy id (differential check) */
  compiled: Map<number, CoreCompiled>;
  /** tln_ programs loaded before this suite (another suite's, not ours to judge) */
  preexisting?: Set<number>;
}
const ctx: Ctx = { recs: [], progIds: [], servers: [], tmp: `/tmp/talon-test-${process.pid}`, compiled: new Map() };

/** the file policy: Prefix /etc/shadow + MAY_READ -> Sigkill (as the seed's first selector) */
async function filePolicySpec(): Promise<{ spec: PolicySpec; source: string; core?: CoreCompiled }> {
  const core = await compileSeedFull('file');
  if (core) return { spec: core.spec, source: 'compiled from YAML by the Wasm core', core };
  return {
    source: 'built by hand (Wasm core not available)',
    spec: buildSpec({
      name: 'test-file-shadow',
      filtered: true,
      hooks: [
        {
          name: 'security_file_permission',
          hookId: HOOK_FILE_PERMISSION,
          args: [
            { index: 0, type: ARG.FILE },
            { index: 1, type: ARG.INT },
          ],
          selectors: [
            {
              filters: [
                { op: OP.PREFIX, slot: 0, type: ARG.FILE, strs: ['/etc/shadow', '/boot', '/root/.ssh'] },
                { op: OP.EQUAL, slot: 1, type: ARG.INT, vals: [4n] },
              ],
              actions: [{ id: ACT.SIGKILL }],
            },
            {
              filters: [
                { op: OP.POSTFIX, slot: 0, type: ARG.FILE, strs: ['.talonrc', '.bash_history'] },
                { op: OP.EQUAL, slot: 1, type: ARG.INT, vals: [4n] },
              ],
              actions: [{ id: ACT.SIGKILL }],
            },
          ],
        },
      ],
    }),
  };
}

/** egress: NotDAddr of the loopback "cluster" -> Sigkill */
async function netPolicySpec(): Promise<{ spec: PolicySpec; source: string; core?: CoreCompiled }> {
  const core = await compileSeedFull('net');
  if (core) return { spec: core.spec, source: 'compiled from YAML by the Wasm core', core };
  return {
    source: 'built by hand (Wasm core not available)',
    spec: buildSpec({
      name: 'test-egress',
      filtered: true,
      hooks: [
        {
          name: 'tcp_connect',
          hookId: HOOK_TCP_CONNECT,
          args: [{ index: 0, type: ARG.SOCK }],
          selectors: [
            {
              filters: [{ op: OP.NOT_DADDR, slot: 0, type: ARG.SOCK, cidrs: ['127.0.0.1', '127.10.0.0/16', '127.96.0.0/12'] }],
              actions: [{ id: ACT.SIGKILL }],
            },
          ],
        },
      ],
    }),
  };
}

function hookRecs(policyId: number): HookRecord[] {
  return ctx.recs.filter((r): r is HookRecord => r.type === 'hook' && r.policyId === policyId);
}

function listen(host: string): Promise<{ server: Server; port: number; conns: () => number }> {
  return new Promise((resolve, reject) => {
    let n = 0;
    const server = createServer((s) => {
      n++;
      s.destroy();
    });
    server.once('error', reject);
    server.listen(0, host, () => {
      ctx.servers.push(server);
      const a = server.address();
      resolve({ server, port: typeof a === 'object' && a ? a.port : 0, conns: () => n });
    });
  });
}

if (skip) {
  if (root) {
    // as root the kernel tests must run: a missing build is a failure, not a skip
    S('kernel tests can run here', () => assert.unreachable(`kernel tests cannot run as root: ${skip}`));
  } else {
    console.log(`  [skip] kernel tests: ${skip}`);
    S.skip('kernel tests (skipped: ' + skip + ')', () => {});
  }
} else {
  S.after(() => {
    for (const s of ctx.servers) s.close();
    ctx.k?.close();
    ctx.cg?.remove();
    rmSync(ctx.tmp, { recursive: true, force: true });
  });

  S('open: probes the kernel, loads the process sensor, fills the process table', async () => {
    ctx.preexisting = new Set(bpftoolTlnProgs().map((p) => p.id));
    ctx.k = await Kernel.open();
    ctx.k.onRecords((r) => ctx.recs.push(...r));
    ctx.cg = TestCgroup.create('enforce');
    mkdirSync(ctx.tmp, { recursive: true });
    const f = ctx.k.features;
    assert.ok(f.bpf && f.ringbuf && f.lpmTrie && f.sendSignal, ctx.k.describe().join('\n'));
    assert.ok(ctx.k.procfs.length > 0, 'processes from /proc');
    assert.ok(
      ctx.k.procfs.some((p) => p.pid === process.pid && p.procfs),
      'this process is in the procfs snapshot',
    );
  });

  S('file: Sigkill on a read of /etc/shadow in the test cgroup only', async () => {
    const { k, cg } = ctx;
    if (!k || !cg) throw new Error('kernel not open');
    const { spec, source, core } = await filePolicySpec();
    console.log(`  file policy ${source}`);
    const p = (ctx.file = k.loadPolicy(spec, 101));
    if (core) ctx.compiled.set(101, core);
    p.setFilterCgroups([cg.id], []);
    assert.equal(p.filterCgroups(), [cg.id]);
    assert.ok(p.sensors.includes('tln_tp_file'), `sensors: ${p.sensors}`);
    ctx.progIds.push(...p.programs().map((x) => k.shim.progInfo(x.fd).id));

    const killed = await cg.run('cat /etc/shadow');
    assert.is(killed.signal, 'SIGKILL', `cat /etc/shadow in the cgroup: ${JSON.stringify(killed)}`);
    assert.is(killed.stdout, '', 'no byte of /etc/shadow reached user space');
    // as a shell sees it: status 137
    const viaSh = await run(`sh -c 'echo $$ > ${cg.path}/cgroup.procs; exec cat /etc/shadow' >/dev/null 2>&1; echo $?`);
    assert.is(viaSh.stdout.trim(), '137');

    // cat into a regular file copies with copy_file_range, with no read() to see
    const tmp = mkdtempSync(join(tmpdir(), 'talon-copy-'));
    try {
      const copied = await cg.run(`cat /etc/shadow > ${tmp}/out`);
      assert.is(copied.signal, 'SIGKILL', `cat /etc/shadow > file in the cgroup: ${JSON.stringify(copied)}`);
      assert.is(readFileSync(join(tmp, 'out'), 'utf8'), '', 'nothing was copied');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }

    const ok = await cg.run('cat /etc/hostname');
    assert.is(ok.code, 0, `unrelated file: ${JSON.stringify(ok)}`);
    const outside = await run('cat /etc/shadow >/dev/null');
    assert.is(outside.code, 0, 'the same command outside the cgroup is untouched');

    const st = p.stats();
    assert.ok(st[0].enforce >= 2n, `enforce counter: ${st[0].enforce}`);
    assert.ok(st[0].post >= 2n);

    const rec = await waitFor(() => hookRecs(101).find((r) => r.actions.includes('Sigkill')));
    assert.ok(rec, 'a hook record arrived');
    assert.is(rec!.selector, 0);
    assert.is(rec!.hookId, HOOK_FILE_PERMISSION);
    assert.is(rec!.mode, 'enforce');
    assert.is(rec!.sensor, 'tln_tp_file');
    assert.is(rec!.cgroupId, cg.id);
    assert.is(rec!.binary, '/usr/bin/cat');
    assert.equal(rec!.args[0], { kind: 'str', value: '/etc/shadow' });
    assert.equal(rec!.args[1], { kind: 'int', value: 4n });
  });

  S('file: a cgroup made in a pod cgroup marked inherit is covered from its first process, before the loader is told of it', async () => {
    const { k } = ctx;
    const p = ctx.file;
    if (!k || !p) throw new Error('kernel not open');
    const F = k.dispatcher;
    const pod = TestCgroup.create('inhpod');
    try {
      p.setInheritCgroups([pod.id], []);
      // as runc makes a new container's cgroup in its pod's: nobody tells the loader
      const ctr = pod.child('ctr');
      const e = F.kernelEntry(ctr.id);
      assert.ok(e, "tln_cgroup_mkdir made the new cgroup's entry");
      assert.is(e!.flags, LAYOUT.TLN_CG_F_POD | LAYOUT.TLN_CG_F_INHERITED, 'a pod cgroup, made in the kernel');
      assert.ok(e!.listed, 'its bit in cgbits is set');
      assert.is((await ctr.run('cat /etc/shadow')).signal, 'SIGKILL', 'its first process is killed');
      // the loader writes the dispatch state again (a mode change): the kernel's entry keeps its bit
      p.setMode('enforce');
      assert.ok(F.kernelEntry(ctr.id)?.listed, 'still listed after the loader rewrote cgbits');
      assert.is((await ctr.run('cat /etc/shadow')).signal, 'SIGKILL', 'still killed');
      // the agent takes the container over (as a pod of its own): same units, its entry now
      k.addPodCgroups([ctr.id]);
      const taken = F.kernelEntry(ctr.id)!;
      assert.is(taken.flags, LAYOUT.TLN_CG_F_POD, 'taken over: no longer marked as made in the kernel');
      assert.ok(taken.units !== 0n && taken.listed, 'its units and bit stay');
      assert.is((await ctr.run('cat /etc/shadow')).signal, 'SIGKILL', 'killed after the take-over');
      k.removePodCgroups([ctr.id]);
      // a cgroup made in another (unmarked) one is not covered
      const other = TestCgroup.create('inhnone');
      try {
        const sib = other.child('ctr');
        assert.is(F.kernelEntry(sib.id), null, 'no entry for a cgroup made elsewhere');
        assert.is((await sib.run('cat /etc/shadow >/dev/null')).code, 0, 'not covered');
      } finally {
        other.remove();
      }
      // removed with its cgroup
      const gone = pod.child('gone');
      assert.ok(F.kernelEntry(gone.id));
      gone.remove();
      assert.is(F.kernelEntry(gone.id), null, 'tln_cgroup_rmdir removed the entry with the cgroup');
      // the pod no longer passes the policy on: a new cgroup in it is not covered
      p.setInheritCgroups([], [pod.id]);
      const late = pod.child('late');
      assert.is(F.kernelEntry(late.id), null, 'not marked: no entry');
      assert.is((await late.run('cat /etc/shadow >/dev/null')).code, 0, 'not covered');
    } finally {
      p.setInheritCgroups([], [pod.id]);
      pod.remove();
    }
  });

  S('file: Postfix selector matches the reversed path', async () => {
    const { cg } = ctx;
    if (!cg || !ctx.file) throw new Error('no file policy');
    writeFileSync(`${ctx.tmp}/x.talonrc`, 'hello\n');
    const r = await cg.run(`cat ${ctx.tmp}/x.talonrc`);
    assert.is(r.signal, 'SIGKILL');
    const rec = await waitFor(() => hookRecs(101).find((x) => x.selector === 1));
    assert.ok(rec);
    assert.equal(rec!.args[0], { kind: 'str', value: `${ctx.tmp}/x.talonrc` });
  });

  S('file: monitor mode (set in place) kills nothing and counts monitor', async () => {
    const { cg } = ctx;
    const p = ctx.file;
    if (!cg || !p) throw new Error('no file policy');
    const before = p.stats()[0];
    p.setMode(1);
    assert.is(p.mode(), 1);
    const r = await cg.run('cat /etc/shadow');
    assert.is(r.code, 0, `monitor mode: ${JSON.stringify(r.signal)}`);
    assert.ok(r.stdout.length > 0);
    const after = p.stats()[0];
    assert.ok(after.monitor > before.monitor, 'monitor counter rose');
    assert.is(after.enforce, before.enforce, 'nothing enforced');
    const rec = await waitFor(() => hookRecs(101).find((x) => x.mode === 'monitor'));
    assert.ok(rec);
    assert.equal(rec!.skipped, ['Sigkill']);
    assert.equal(rec!.actions, []);
    // and back
    p.setMode(0);
    const again = await cg.run('cat /etc/shadow');
    assert.is(again.signal, 'SIGKILL');
  });

  S('file: truncate of a relative path resolves against the cwd', async () => {
    const { k, cg } = ctx;
    if (!k || !cg) throw new Error('kernel not open');
    const dir = `${ctx.tmp}/trunc`;
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/victim`, 'data');
    const spec = buildSpec({
      name: 'test-truncate',
      filtered: true,
      hooks: [
        {
          name: 'security_path_truncate',
          hookId: HOOK_PATH_TRUNCATE,
          args: [{ index: 0, type: ARG.PATH }],
          selectors: [{ filters: [{ op: OP.PREFIX, slot: 0, type: ARG.PATH, strs: [dir] }], actions: [{ id: ACT.SIGKILL }] }],
        },
      ],
    });
    const p = k.loadPolicy(spec, 103);
    try {
      p.setFilterCgroups([cg.id], []);
      // truncate(2) on a relative pathname (coreutils truncate uses ftruncate)
      const r = await cg.run(`sh -c 'cd ${dir} && exec perl -e "truncate(q(victim), 0) or die"'`);
      assert.is(r.signal, 'SIGKILL', JSON.stringify(r));
      const rec = await waitFor(() => hookRecs(103)[0]);
      assert.ok(rec);
      assert.equal(rec!.args[0], { kind: 'str', value: `${dir}/victim` });
    } finally {
      p.unload();
    }
  });

  S('file: mmap of a file (the dynamic loader mapping libc) is seen with prot and flags', async () => {
    const { k, cg } = ctx;
    if (!k || !cg) throw new Error('kernel not open');
    const spec = buildSpec({
      name: 'test-mmap',
      filtered: true,
      hooks: [
        {
          name: 'security_mmap_file',
          hookId: 2,
          args: [
            { index: 0, type: ARG.FILE },
            { index: 1, type: ARG.UINT32 },
            { index: 2, type: ARG.UINT32 },
          ],
          // Post only: observe, never kill
          selectors: [
            {
              filters: [
                { op: OP.POSTFIX, slot: 0, type: ARG.FILE, strs: ['libc.so.6'] },
                { op: OP.MASK, slot: 1, type: ARG.UINT32, vals: [1n] },
              ],
            },
          ],
        },
      ],
    });
    const p = k.loadPolicy(spec, 106);
    try {
      p.setFilterCgroups([cg.id], []);
      const r = await cg.run('true');
      assert.is(r.code, 0);
      const rec = await waitFor(() => hookRecs(106)[0]);
      assert.ok(rec, 'an mmap record');
      const a0 = rec!.args[0];
      assert.ok(a0.kind === 'str' && a0.value.endsWith('/libc.so.6') && a0.value.startsWith('/'), JSON.stringify(a0));
      const prot = rec!.args[1];
      assert.ok(prot.kind === 'int' && (prot.value & 1n) === 1n, 'PROT_READ');
      assert.ok(p.stats()[0].post >= 1n);
    } finally {
      p.unload();
    }
  });

  S('refuses what this kernel cannot serve: Override on a tracepoint hook, matchReturnArgs', () => {
    const { k } = ctx;
    if (!k) throw new Error('kernel not open');
    const spec = buildSpec({
      name: 'test-override',
      filtered: true,
      hooks: [
        {
          name: 'security_file_permission',
          hookId: HOOK_FILE_PERMISSION,
          args: [{ index: 0, type: ARG.FILE }],
          selectors: [{ filters: [{ op: OP.PREFIX, slot: 0, type: ARG.FILE, strs: ['/nonexistent'] }], actions: [{ id: ACT.OVERRIDE, arg: -1 }] }],
        },
      ],
    });
    const n = k.policies().length;
    try {
      k.loadPolicy(spec, 104);
      assert.unreachable('Override on the tracepoint implementation must be refused');
    } catch (e) {
      assert.instance(e, LoadError);
      assert.match((e as Error).message, /Override/);
      assert.match((e as Error).message, /tln_tp_file/);
    }
    spec.hooks[0].returnFilters = true;
    spec.hooks[0].actions = [];
    assert.throws(() => k.loadPolicy(spec, 105), /matchReturnArgs/);
    assert.is(k.policies().length, n, 'nothing half-loaded');
  });

  S('network: NotDAddr egress kills a connect outside the loopback "cluster", no packet leaves', async () => {
    const { k, cg } = ctx;
    if (!k || !cg) throw new Error('kernel not open');
    const outside = await listen('127.200.0.1');
    const inside = await listen('127.10.0.7');
    const { spec, source, core } = await netPolicySpec();
    console.log(`  egress policy ${source}`);
    const p = (ctx.net = k.loadPolicy(spec, 102));
    if (core) ctx.compiled.set(102, core);
    p.setFilterCgroups([cg.id], []);
    assert.ok(p.sensors.includes('tln_cgroup_sock'), `sensors: ${p.sensors}`);
    ctx.progIds.push(...p.programs().map((x) => k.shim.progInfo(x.fd).id));

    const refused = await cg.run(`bash -c 'exec 3<>/dev/tcp/127.200.0.1/${outside.port}; echo connected'`);
    assert.is(refused.signal, 'SIGKILL', JSON.stringify(refused));
    assert.not.match(refused.stdout, /connected/);
    await sleep(100);
    assert.is(outside.conns(), 0, 'the listener outside the cluster saw no connection');

    const allowed = await cg.run(`bash -c 'exec 3<>/dev/tcp/127.10.0.7/${inside.port}; echo connected'`);
    assert.is(allowed.code, 0, JSON.stringify(allowed));
    assert.match(allowed.stdout, /connected/);
    assert.ok((await waitFor(() => (inside.conns() > 0 ? true : undefined))) === true, 'the cluster listener saw it');

    // outside the cgroup: untouched
    const host = await run(`bash -c 'exec 3<>/dev/tcp/127.200.0.1/${outside.port}; echo connected'`);
    assert.is(host.code, 0);
    assert.ok((await waitFor(() => (outside.conns() > 0 ? true : undefined))) === true);

    const rec = await waitFor(() => hookRecs(102).find((r) => r.actions.includes('Sigkill')));
    assert.ok(rec, 'a connect record');
    assert.is(rec!.selector, 0);
    assert.is(rec!.sensor, 'tln_cgroup_sock');
    const a = rec!.args[0];
    assert.ok(a.kind === 'sock' && a.daddr === '127.200.0.1' && a.dport === outside.port && a.family === 2 && a.protocol === 6, JSON.stringify(a));
    assert.ok(p.stats()[0].enforce >= 1n);
  });

  S('network: monitor mode lets the connect through and counts it', async () => {
    const { cg } = ctx;
    const p = ctx.net;
    if (!cg || !p) throw new Error('no network policy');
    const outside = await listen('127.200.0.2');
    const m0 = p.stats()[0].monitor;
    p.setMode(1);
    const r = await cg.run(`bash -c 'exec 3<>/dev/tcp/127.200.0.2/${outside.port}; echo connected'`);
    assert.is(r.code, 0, JSON.stringify(r));
    assert.ok(p.stats()[0].monitor > m0);
    p.setMode(0);
  });

  S('differential: the Wasm evaluator agrees with every kernel verdict (enforce mode)', () => {
    if (!ctx.compiled.size) {
      console.log('  [skip] differential check: the Wasm core is not built');
      return;
    }
    let n = 0;
    for (const [id, c] of ctx.compiled) {
      const ev = new c.core.Evaluator(c.image);
      for (const r of hookRecs(id)) {
        if (r.mode !== 'enforce') continue;
        const v = ev.evaluate({
          kind: 'kprobe',
          hook: c.spec.hooks[r.slot].name,
          timeNs: r.ktime,
          pid: r.pid,
          tid: r.tid,
          binary: r.binary,
          pod: { namespace: 'talon-test', name: 'talon-test-pod', labels: {} },
          args: r.args,
        });
        const kernelVerdict = r.actions.includes('Sigkill')
          ? 'kill'
          : r.actions.includes('Override')
            ? 'override'
            : r.actions.includes('Signal')
              ? 'signal'
              : 'post';
        assert.is(v.verdict, kernelVerdict, `policy ${id} record ${JSON.stringify(r.args, (_k, x) => (typeof x === 'bigint' ? String(x) : x))}`);
        assert.is(v.matches[0]?.selector, r.selector ?? undefined, 'same selector');
        n++;
      }
    }
    assert.ok(n >= 3, `compared ${n} records`);
    console.log(`  differential: ${n} kernel records, same verdict and selector in the Wasm evaluator`);
  });

  S('records: exec and exit of the test processes', async () => {
    const { cg } = ctx;
    if (!cg) throw new Error('no cgroup');
    const ex = await waitFor(() =>
      ctx.recs.find((r): r is ExecRecord => r.type === 'exec' && r.cgroupId === cg.id && r.binary === '/usr/bin/cat' && r.args[1] === '/etc/shadow'),
    );
    assert.ok(ex, 'exec record of cat /etc/shadow');
    assert.equal(ex!.args, ['cat', '/etc/shadow']);
    assert.ok(ex!.cwd.startsWith('/'), `cwd ${ex!.cwd}`);
    assert.is(ex!.uid, 0);
    const exit = await waitFor(() => ctx.recs.find((r): r is ExitRecord => r.type === 'exit' && r.pid === ex!.pid));
    assert.ok(exit, 'exit record');
    assert.is(exit!.signal, 9);
    assert.is(exit!.binary, '/usr/bin/cat');
  });

  S('memory: maps and programs have a size; ring buffer lost nothing', () => {
    const { k } = ctx;
    if (!k || !ctx.file) throw new Error('kernel not open');
    assert.ok(ctx.file.memoryBytes() > 0);
    assert.ok(k.memoryBytes() > 4 << 20, 'shared maps include the 4 MiB ring');
    assert.is(k.lostRecords(), 0n);
  });

  S('close: no tln_ program remains', async () => {
    const { k } = ctx;
    if (!k) throw new Error('kernel not open');
    const ours = new Set(ctx.progIds);
    assert.ok(ours.size > 0);
    k.close();
    // programs are freed once their last link is gone; allow the kernel a moment
    const pre = ctx.preexisting ?? new Set<number>();
    const remaining = () => bpftoolTlnProgs().filter((p) => !pre.has(p.id));
    let left = remaining();
    for (let i = 0; i < 100 && left.length; i++) {
      await sleep(50);
      left = remaining();
    }
    assert.equal(
      left.filter((p) => ours.has(p.id)),
      [],
      'our programs are gone',
    );
    assert.equal(left, [], `tln_ programs still loaded: ${JSON.stringify(left)}`);
    if (pre.size) console.log(`  note: ${pre.size} tln_ program(s) were loaded before this suite started (not ours)`);
  });
}

S.run();
