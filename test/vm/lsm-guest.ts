// Runs INSIDE the QEMU guest of scripts/vm.sh (a kernel booted with bpf in
// lsm=), started by test/vm-lsm.test.ts: the BPF LSM implementations chosen by
// the catalog, enforcing for real. Small on purpose: node is slow under TCG.
// Prints one "ok - name" / "not ok - name: why" line per check, then
// "TALON-VM-RESULT {json}"; exits 0 when every check passed.
// Every enforcing policy is scoped to a cgroup this script creates (even in
// a throwaway VM); connects stay on 127.0.0.0/8.
import { createServer, type Server } from 'node:net';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Kernel, LoadError, chooseImpl, HOOK_ID, type LoadedPolicy } from '../../src/kernel/index.js';
import type { HookRecord, TlnRecord } from '../../src/kernel/records.js';
import { ACT, ARG, OP, TestCgroup, buildSpec, run, sleep, type HSelector } from '../helpers/kernel.js';

const t0 = performance.now();
const results: { name: string; ok: boolean; why?: string; ms: number }[] = [];
const notes: string[] = [];

async function check(name: string, f: () => Promise<void> | void): Promise<void> {
  const s = performance.now();
  try {
    await f();
    results.push({ name, ok: true, ms: Math.round(performance.now() - s) });
    console.log(`ok - ${name}`);
  } catch (e) {
    // the message, and the end of the verifier log when a load was refused
    const log = (e as { log?: string }).log?.trim().split('\n').slice(-6) ?? [];
    const why = [...(e as Error).message.split('\n').slice(0, 4), ...log].join(' | ');
    results.push({ name, ok: false, why, ms: Math.round(performance.now() - s) });
    console.log(`not ok - ${name}: ${why}`);
  }
}

function expect(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(what);
}

const json = (x: unknown) => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? String(v) : v));

/** a file_permission policy: Prefix on the path + mask (MAY_READ 4 unless said), one selector per rule */
function filePolicy(name: string, rules: { prefix: string; mask?: bigint; action: { id: number; arg?: number } }[]) {
  const selectors: HSelector[] = rules.map((r) => ({
    filters: [
      { op: OP.PREFIX, slot: 0, type: ARG.FILE, strs: [r.prefix] },
      { op: OP.EQUAL, slot: 1, type: ARG.INT, vals: [r.mask ?? 4n] },
    ],
    actions: [r.action],
  }));
  return buildSpec({
    name,
    filtered: true,
    hooks: [
      {
        name: 'security_file_permission',
        hookId: HOOK_ID.SECURITY_FILE_PERMISSION,
        args: [
          { index: 0, type: ARG.FILE },
          { index: 1, type: ARG.INT },
        ],
        selectors,
      },
    ],
  });
}

const recs: TlnRecord[] = [];
const hookRec = async (policyId: number, pred: (r: HookRecord) => boolean): Promise<HookRecord | undefined> => {
  for (let i = 0; i < 120; i++) {
    const r = recs.find((x): x is HookRecord => x.type === 'hook' && x.policyId === policyId && pred(x));
    if (r) return r;
    await sleep(25);
  }
  return undefined;
};
// the record's sensor: tln_lsm_file (3) until records.ts names it, 'sensor#3'
const isLsmSensor = (s: string, label: string, id: number) => s === label || s === `sensor#${id}`;

let k: Kernel | undefined;
let procSensor = true;
let cg: TestCgroup | undefined;
const servers: Server[] = [];

async function main(): Promise<void> {
  // 1. the kernel: LSM probed, catalog picks the LSM implementations
  await check('open: features report BPF LSM', async () => {
    // TALON_VM_BPF_DIR: BPF objects from another build (default bpf/.output)
    const bpfDir = process.env.TALON_VM_BPF_DIR || undefined;
    try {
      k = await Kernel.open({ bpfDir });
    } catch (e) {
      // the process sensor is optional here: judge the hooks without it
      if (!(e instanceof LoadError)) throw e;
      procSensor = false;
      notes.push(`process sensor refused on this kernel (${e.message.split('\n')[0]}); opened without it`);
      k = await Kernel.open({ bpfDir, processSensor: false });
    }
    k.onRecords((r) => recs.push(...r));
    expect(k.features.lsm, `lsm=false: ${k.describe().join('; ')}`);
    notes.push(...k.describe());
  });
  if (!k) return;
  const kernel = k;
  cg = TestCgroup.create('vm-lsm');
  const cgroup = cg;

  await check('catalog: the LSM implementations serve the file hooks and tcp_connect', () => {
    const want: [number, string, string][] = [
      [HOOK_ID.SECURITY_FILE_PERMISSION, 'security_file_permission', 'tln_lsm_file'],
      [HOOK_ID.SECURITY_MMAP_FILE, 'security_mmap_file', 'tln_lsm_file'],
      [HOOK_ID.SECURITY_PATH_TRUNCATE, 'security_path_truncate', 'tln_lsm_file'],
      [HOOK_ID.TCP_CONNECT, 'tcp_connect', 'tln_lsm_sock'],
    ];
    for (const [id, name, sensor] of want) {
      const c = chooseImpl(id, name, kernel.features);
      expect(c.ok && c.impl.sensor === sensor && c.impl.mechanism === 'lsm', `${name}: ${json(c.ok ? c.impl.sensor : c.reason)}`);
    }
  });

  // 2. Sigkill: killed before a byte is read; outside the cgroup untouched
  let kill: LoadedPolicy | undefined;
  await check('Sigkill: cat /etc/shadow in the cgroup is killed (137), outside untouched; a killed write writes nothing', async () => {
    const wdir = '/tmp/vm-lsm-w';
    mkdirSync(wdir, { recursive: true });
    kill = kernel.loadPolicy(
      filePolicy('vm-lsm-kill', [
        { prefix: '/etc/shadow', action: { id: ACT.SIGKILL } },
        { prefix: `${wdir}/`, mask: 2n, action: { id: ACT.SIGKILL } },
      ]),
      201,
    );
    kill.setFilterCgroups([cgroup.id], []);
    expect(json(kill.sensors) === '["tln_lsm_file"]', `sensors ${json(kill.sensors)}`);
    const r = await run(`sh -c 'echo $$ > ${cgroup.path}/cgroup.procs; exec cat /etc/shadow'; echo "status=$?"`);
    expect(/status=137/.test(r.stdout), `in the cgroup: ${json(r)}`);
    expect(!/root:/.test(r.stdout), 'no byte of /etc/shadow reached user space');
    const ok = await cgroup.run('cat /etc/hostname');
    expect(ok.code === 0, `unrelated file in the cgroup: ${json(ok)}`);
    const out = await run('cat /etc/shadow');
    expect(out.code === 0 && /root:/.test(out.stdout), `outside the cgroup: ${json({ code: out.code, signal: out.signal })}`);
    const rec = await hookRec(201, (x) => x.actions.includes('Sigkill'));
    expect(rec, 'a Sigkill record');
    expect(isLsmSensor(rec.sensor, 'tln_lsm_file', 3), `record sensor ${rec.sensor}`);
    if (rec.sensor !== 'tln_lsm_file') notes.push(`record sensor decodes as ${rec.sensor}: records.ts SENSOR_NAMES lacks 3 -> tln_lsm_file`);
    expect(json(rec.args[0]) === json({ kind: 'str', value: '/etc/shadow' }), `arg 0 ${json(rec.args[0])}`);
    expect(json(rec.args[1]) === json({ kind: 'int', value: 4n }), `arg 1 ${json(rec.args[1])}`);
    if (procSensor) expect(rec.binary === '/usr/bin/cat', `binary ${rec.binary}`);
    expect(kill.stats()[0].enforce >= 1n, 'enforce counter');
    // the write is refused, not only signalled: the file stays empty
    const w = await run(`sh -c 'echo $$ > ${cgroup.path}/cgroup.procs; exec dd if=/etc/hostname of=${wdir}/f status=none'; echo "status=$?"`);
    expect(/status=137/.test(w.stdout), `write in the cgroup: ${json(w)}`);
    expect(readFileSync(`${wdir}/f`, 'utf8') === '', 'nothing was written');
  });
  kill?.unload();

  // 3. Override: the read fails with the policy's errno, the process lives
  let ovr: LoadedPolicy | undefined;
  await check('Override -1: cat /etc/shadow fails with EPERM (exit 1), not killed; -13 gives EACCES', async () => {
    ovr = kernel.loadPolicy(
      filePolicy('vm-lsm-override', [
        { prefix: '/etc/shadow', action: { id: ACT.OVERRIDE, arg: -1 } },
        { prefix: '/etc/gshadow', action: { id: ACT.OVERRIDE, arg: -13 } },
      ]),
      202,
    );
    ovr.setFilterCgroups([cgroup.id], []);
    expect(json(ovr.sensors) === '["tln_lsm_file"]', `sensors ${json(ovr.sensors)}`);
    const r = await cgroup.run('cat /etc/shadow');
    expect(r.code === 1 && r.signal === null, `exit: ${json(r)}`);
    expect(/Operation not permitted/.test(r.stderr), `stderr: ${r.stderr}`);
    expect(r.stdout === '', 'no data read');
    const r13 = await cgroup.run('cat /etc/gshadow');
    expect(r13.code === 1 && /Permission denied/.test(r13.stderr), `gshadow: ${json(r13)}`);
    const out = await run('cat /etc/shadow');
    expect(out.code === 0, `outside the cgroup: ${json({ code: out.code, stderr: out.stderr })}`);
    const rec = await hookRec(202, (x) => x.actions.includes('Override') && x.selector === 0);
    expect(rec && rec.error === -1, `an Override record with error -1: ${json(rec)}`);
  });
  ovr?.unload();

  // 4. two hooks of one policy in one instance: truncate(2) refused, mmap of libc seen
  await check('path_truncate Override -1 refuses truncate(2) (EPERM), mmap_file sees libc with PROT_EXEC', async () => {
    const dir = '/tmp/vm-lsm-trunc';
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/victim`, 'data');
    const spec = buildSpec({
      name: 'vm-lsm-files',
      filtered: true,
      hooks: [
        {
          name: 'security_path_truncate',
          hookId: HOOK_ID.SECURITY_PATH_TRUNCATE,
          args: [{ index: 0, type: ARG.PATH }],
          selectors: [{ filters: [{ op: OP.PREFIX, slot: 0, type: ARG.PATH, strs: [dir] }], actions: [{ id: ACT.OVERRIDE, arg: -1 }] }],
        },
        {
          name: 'security_mmap_file',
          hookId: HOOK_ID.SECURITY_MMAP_FILE,
          args: [
            { index: 0, type: ARG.FILE },
            { index: 1, type: ARG.UINT32 },
            { index: 2, type: ARG.UINT32 },
          ],
          // Post only: PROT_EXEC (4) mappings of libc
          selectors: [
            {
              filters: [
                { op: OP.POSTFIX, slot: 0, type: ARG.FILE, strs: ['libc.so.6'] },
                { op: OP.MASK, slot: 1, type: ARG.UINT32, vals: [4n] },
              ],
            },
          ],
        },
      ],
    });
    const p = kernel.loadPolicy(spec, 204);
    try {
      p.setFilterCgroups([cgroup.id], []);
      expect(json(p.sensors) === '["tln_lsm_file"]', `sensors ${json(p.sensors)}`);
      expect(p.programs().length === 2, `one instance, two programs: ${json(p.programs())}`);
      const r = await cgroup.run(`perl -e 'truncate(q(${dir}/victim), 0) or die "$!\\n"'`);
      expect(r.code !== 0 && r.signal === null && /Operation not permitted/.test(r.stderr), `truncate: ${json(r)}`);
      expect(readFileSync(`${dir}/victim`, 'utf8') === 'data', 'the file kept its data');
      const t = await hookRec(204, (x) => x.slot === 0);
      expect(t && t.error === -1 && json(t.args[0]) === json({ kind: 'str', value: `${dir}/victim` }), `truncate record ${json(t)}`);
      const m = await hookRec(204, (x) => x.slot === 1);
      const a0 = m?.args[0],
        prot = m?.args[1];
      expect(a0?.kind === 'str' && a0.value.startsWith('/') && a0.value.endsWith('/libc.so.6'), `mmap record ${json(m)}`);
      expect(prot?.kind === 'int' && (prot.value & 4n) === 4n, `prot ${json(prot)}`);
    } finally {
      p.unload();
    }
  });

  // 5. tcp_connect through lsm/socket_connect: Sigkill outside the loopback "cluster"
  await check('tcp_connect: Sigkill on a connect outside 127.10.0.0/16, no connection made; inside allowed', async () => {
    const spec = buildSpec({
      name: 'vm-lsm-egress',
      filtered: true,
      hooks: [
        {
          name: 'tcp_connect',
          hookId: HOOK_ID.TCP_CONNECT,
          args: [{ index: 0, type: ARG.SOCK }],
          selectors: [{ filters: [{ op: OP.NOT_DADDR, slot: 0, type: ARG.SOCK, cidrs: ['127.10.0.0/16'] }], actions: [{ id: ACT.SIGKILL }] }],
        },
      ],
    });
    const p = kernel.loadPolicy(spec, 203);
    try {
      p.setFilterCgroups([cgroup.id], []);
      expect(json(p.sensors) === '["tln_lsm_sock"]', `sensors ${json(p.sensors)}`);
      let conns = 0;
      const port = await new Promise<number>((resolve, reject) => {
        const s = createServer((c) => {
          conns++;
          c.destroy();
        });
        servers.push(s);
        s.once('error', reject);
        s.listen(0, '127.200.0.1', () => resolve((s.address() as { port: number }).port));
      });
      const refused = await cgroup.run(`bash -c 'exec 3<>/dev/tcp/127.200.0.1/${port}; echo connected'`);
      expect(refused.signal === 'SIGKILL' && !/connected/.test(refused.stdout), `outside the cluster: ${json(refused)}`);
      await sleep(100);
      expect(conns === 0, 'the listener saw no connection');
      const rec = await hookRec(203, (x) => x.actions.includes('Sigkill'));
      const a = rec?.args[0];
      expect(a && a.kind === 'sock' && a.daddr === '127.200.0.1' && a.dport === port, `record ${json(rec)}`);
      expect(isLsmSensor(rec!.sensor, 'tln_lsm_sock', 4), `record sensor ${rec!.sensor}`);
      const host = await run(`bash -c 'exec 3<>/dev/tcp/127.200.0.1/${port}; echo connected'`);
      expect(host.code === 0 && /connected/.test(host.stdout), `outside the cgroup: ${json(host)}`);
    } finally {
      p.unload();
    }
  });
}

try {
  await main();
} catch (e) {
  results.push({ name: 'guest script', ok: false, why: String(e), ms: 0 });
  console.log(`not ok - guest script: ${e}`);
} finally {
  for (const s of servers) s.close();
  k?.close();
  cg?.remove();
}
const failed = results.filter((r) => !r.ok).length;
console.log(`TALON-VM-RESULT ${json({ kernel: k?.features.release, results, notes, ms: Math.round(performance.now() - t0) })}`);
process.exit(failed ? 1 : 0);
