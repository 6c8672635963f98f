// libbpf-wasm-bridge and `talon compile --check --kernel-btf`: the seed
// policies load on this kernel's BTF and on the 6.1 guest kernel's; edited
// BTFs (a renamed field a program reads, a missing LSM hook) fail, naming the
// program and the relocation or attach target. No root, no kernel objects.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readBtf, rawBtf } from '../src/bridge/btf.js';
import { bridgeDir } from '../src/bridge/module.js';
import { RecordingKernel, FD_BASE, BPF_CMD, ERRNO } from '../src/bridge/recording-kernel.js';
import { relocateObjects, POISON_IMM } from '../src/bridge/relocate.js';
import { targetFeatures } from '../src/bridge/target.js';
import { BPF_DIR } from '../src/kernel/shim.js';
import { ROOT, talon } from './helpers/cli.js';
import { guestVmlinux, renameBtfString } from './helpers/bridge-btf.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const tmp = mkdtempSync(path.join(tmpdir(), 'talon-bridge-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

/** the seed's policies with their CIDR variables filled in (as the README's envsubst step does), else examples/ */
function seedPolicies(): string[] {
  const dir = path.join(ROOT, '../shared/seeds/policies');
  const seeds = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.yaml')) : [];
  const out = seeds.map((f) => {
    const text = readFileSync(path.join(dir, f), 'utf8').replaceAll('${PODCIDR}', '10.244.0.0/16').replaceAll('${SERVICECIDR}', '10.96.0.0/12');
    const p = path.join(tmp, f);
    writeFileSync(p, text);
    return p;
  });
  const examples = readdirSync(path.join(ROOT, 'examples'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => path.join('examples', f));
  return [...out, ...examples];
}

const built = existsSync(path.join(bridgeDir(), 'libbpf.wasm')) && existsSync(path.join(BPF_DIR(), 'tln_process.bpf.o'));
const skip = !built ? 'bridge or BPF objects not built (bash scripts/setup.sh)' : !existsSync(VMLINUX) ? 'this kernel has no BTF' : null;
if (skip) console.log(`  [skip] bridge tests: ${skip}`);
const T = skip ? test.skip : test;
// in CI the setup script builds the bridge: not finding it there is a failure, not a skip
if (skip && !built && process.env.CI) test('the bridge is built (CI)', () => assert.unreachable(skip));

T('the seed policies and the examples relocate and load on this kernel', async () => {
  const r = await talon(['compile', '--check', '--kernel-btf', VMLINUX, ...seedPolicies()]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ok {2}\d+ files, /);
  assert.match(r.stdout, new RegExp(`\nok  ${VMLINUX}: \\d+ programs of \\d+ policies relocate and load \\(\\d+ BTF types\\)\n`));
  assert.is(r.stderr, '');
});

T('a renamed task_struct.tgid poisons the process sensor: program and relocation named, exit 1', async () => {
  const btf = path.join(tmp, 'tgid.btf');
  writeFileSync(btf, renameBtfString(readFileSync(VMLINUX), 'tgid', 'tgiX'));
  const r = await talon(['compile', '--check', '--kernel-btf', btf, 'examples/file-monitoring.yaml']);
  assert.is(r.code, 1, r.stdout);
  const lines = r.stderr.trim().split('\n');
  for (const prog of ['tln_exec', 'tln_fork', 'tln_exit']) {
    const l = lines.find((x) => x.includes(`program ${prog} `));
    assert.ok(l, `no line for ${prog} in:\n${r.stderr}`);
    assert.match(l!, /^examples\/file-monitoring\.yaml: policy file-monitoring: kernel .*tgid\.btf: process sensor \(tln_process\): /);
    assert.match(
      l!,
      /CO-RE relocation #\d+ <byte_off> \[\d+\] struct task_struct\.tgid \([0-9:]+ @ offset \d+\) has no match in the target BTF \(insn #\d+ poisoned\)$/,
    );
  }
  // the file programs' verdict cache reads task_struct.tgid too (its tgid key): poisoned as well
  assert.ok(
    lines.some((x) => /security_file_permission \(tln_\w+\): program tln_\w+ /.test(x)),
    r.stderr,
  );
  assert.match(lines[lines.length - 1], /^talon compile: 4 problems on .*tgid\.btf$/);
});

T('a missing bpf_lsm_file_permission fails the LSM file program where BPF LSM is chosen', async () => {
  const btf = path.join(tmp, 'lsm.btf');
  writeFileSync(btf, renameBtfString(readFileSync(VMLINUX), 'bpf_lsm_file_permission', 'bpf_lsm_file_permissioX'));
  const r = await talon(['compile', '--check', '--kernel-btf', btf, 'examples/file-monitoring.yaml', 'examples/egress-cluster.yaml']);
  assert.is(r.code, 1, r.stdout);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines, [
    `examples/file-monitoring.yaml: policy file-monitoring: kernel ${btf}: security_file_permission (tln_lsm_file): program tln_lsm_file_perm (tln_lsm.bpf.o, lsm/file_permission): libbpf cannot prepare it: failed to find kernel BTF type ID of 'file_permission'`,
    `talon compile: 1 problem on ${btf}`,
  ]);
});

T("the 6.1 guest kernel's BTF (Debian's linux-image, as scripts/vm.sh boots it) passes", async () => {
  const g = guestVmlinux();
  if ('skip' in g) {
    console.log(`  [skip] guest kernel: ${g.skip}`);
    return;
  }
  const info = readBtf(rawBtf(readFileSync(g.path)));
  assert.ok(info.funcs.has('bpf_lsm_file_permission'), 'Debian 6.1 is built with BPF LSM');
  const r = await talon(['compile', '--check', '--kernel-btf', VMLINUX, '--kernel-btf', g.path, ...seedPolicies()]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`\nok  ${g.path}: \\d+ programs of \\d+ policies relocate and load`));
});

T('every program of every object: no poison, no failure on this kernel; all poisoned where a field is gone', async () => {
  const objects = readdirSync(BPF_DIR())
    .filter((f) => f.endsWith('.bpf.o'))
    .sort()
    .map((name) => ({ name, bytes: readFileSync(path.join(BPF_DIR(), name)) }));
  const btf = readFileSync(VMLINUX);
  const ok = await relocateObjects(btf, objects, readBtf(btf));
  assert.is(new Set(ok.map((r) => r.object)).size, objects.length);
  for (const r of ok) {
    assert.equal(r.problems, [], `${r.program}`);
    assert.ok(r.insns && r.insns.length > 0);
    const v = new DataView(r.insns!.buffer, r.insns!.byteOffset, r.insns!.byteLength);
    for (let i = 0; i < r.insns!.length; i += 8) assert.ok(!(v.getUint8(i) === 0x85 && v.getInt32(i + 4, true) === POISON_IMM), `${r.program} insn ${i / 8}`);
  }
  // sock.sk_protocol is read by the LSM connect hook (the cgroup one reads the context's protocol)
  const edited = renameBtfString(btf, 'sk_protocol', 'sk_protocoX');
  const bad = await relocateObjects(
    edited,
    objects.filter((o) => o.name === 'tln_sock.bpf.o' || o.name === 'tln_lsm.bpf.o'),
    readBtf(edited),
  );
  const hit = bad.filter((r) => r.problems.some((p) => p.kind === 'relocation' && p.spec.includes('sock.sk_protocol')));
  assert.ok(
    hit.some((r) => r.program === 'tln_lsm_connect'),
    JSON.stringify(bad.map((r) => [r.program, r.problems])),
  );
  assert.ok(!hit.some((r) => r.object === 'tln_sock.bpf.o'));
});

T('features read from BTF: helpers, LSM built in or not', async () => {
  const btf = readFileSync(VMLINUX);
  const f = targetFeatures(readBtf(btf));
  assert.ok(f.sendSignal && f.bpfLoop && f.ringbuf && f.lsm);
  const noLsm = targetFeatures(readBtf(renameBtfString(btf, 'BPF_LSM_MAC', 'BPF_LSM_MAX')));
  assert.is(noLsm.lsm, false);
  assert.match(noLsm.lsmError ?? '', /CONFIG_BPF_LSM/);
});

test('the recording kernel: fake fds from 1000, recorded loads, Linux errno answers', () => {
  const mem = new Uint8Array(4096);
  const k = new RecordingKernel(() => mem);
  const dv = new DataView(mem.buffer);
  dv.setUint32(0, 2, true); // BPF_MAP_TYPE_ARRAY
  dv.setUint32(4, 4, true);
  dv.setUint32(8, 8, true);
  dv.setUint32(12, 1, true);
  mem.set(Buffer.from('tln_x\0'), 28);
  const map = k.bpf(BPF_CMD.MAP_CREATE, 0, 72);
  assert.is(map, FD_BASE);
  assert.equal(k.maps[0], { fd: FD_BASE, name: 'tln_x', type: 2, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 });
  mem.fill(0, 0, 128);
  dv.setUint32(0, 5, true); // tracepoint
  dv.setUint32(4, 2, true);
  dv.setUint32(8, 1024, true);
  mem.set([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0], 1024);
  mem.set(Buffer.from('tln_prog\0'), 48);
  const prog = k.bpf(BPF_CMD.PROG_LOAD, 0, 128);
  assert.is(prog, FD_BASE + 1);
  assert.is(k.programs[0].name, 'tln_prog');
  assert.equal([...k.programs[0].insns], [0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  assert.is(k.bpf(BPF_CMD.OBJ_GET_INFO_BY_FD, 0, 16), -ERRNO.EINVAL);
  assert.is(k.bpf(BPF_CMD.LINK_CREATE, 0, 16), -ERRNO.EBADF);
  assert.is(k.bpf(9999, 0, 16), -ERRNO.EINVAL);
  assert.is(k.close(map), 0);
  assert.is(k.close(map), -ERRNO.EBADF);
});

T('--kernel-btf: needs --check; an unreadable or non-BTF file is a file: error', async () => {
  const u = await talon(['compile', '--kernel-btf', VMLINUX, 'examples/file-monitoring.yaml', '-o', path.join(tmp, 'x.img')]);
  assert.is(u.code, 2);
  assert.match(u.stderr, /^talon compile: --kernel-btf needs --check\n/);
  const junk = path.join(tmp, 'junk');
  writeFileSync(junk, 'not btf at all, not an ELF either');
  const r = await talon(['compile', '--check', '--kernel-btf', junk, '--kernel-btf', path.join(tmp, 'absent'), 'examples/file-monitoring.yaml']);
  assert.is(r.code, 1);
  assert.match(r.stderr, new RegExp(`^${junk}: cannot read the kernel BTF: neither raw BTF \\(0xeB9F magic\\) nor an ELF file\n`));
  assert.match(r.stderr, /absent: cannot read the kernel BTF: /);
});

test.run();
