// talon's events against Tetragon's recorded ones (../shared/tetragon-corpus/
// events), field by field: a real agent in this kernel, with Tetragon's
// --enable-process-cred, --enable-process-ns and --enable-ancestors, records
// a workload in a pod (exec in place, exec, file read, connect, exit); then
//  - every field talon writes is a field Tetragon writes for the same kind of
//    event, with the same JSON type (parent and ancestors are Processes too);
//  - every field that every recorded Tetragon event of that kind has, talon
//    has too, but for the few listed below with the reason talon lacks them.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createReadStream, existsSync, readdirSync, readlinkSync } from 'node:fs';
import { documentBatches } from '../src/events/documents.js';
import { fromProtoJson } from '../src/api/grpc-json.js';
import { join } from 'node:path';
import { listen } from '../src/agent/quickstart.js';
import { jsonEvents, repoRoot, skipUnlessRoot, spawnAgent, talon, tempDir, terminate, useTestCgroupParent, type Background } from './helpers/agent.js';

useTestCgroupParent();
type Json = Record<string, any>;
const CORPUS = join(repoRoot(), '..', 'shared', 'tetragon-corpus', 'events');
const reason = skipUnlessRoot('events in the kernel') ?? (existsSync(CORPUS) ? null : `${CORPUS} is absent`);
const test = suite('agent-events-corpus');

/** Fields every recorded Tetragon event of a kind has that talon does not write, and why. */
const ABSENT: Record<string, string> = {
  'process.docker': 'a Docker container id: talon pods are cgroups, not Docker containers',
  'process.refcnt': "Tetragon's process-cache reference count, an internal of its cache",
  'process.pod.container.pid': 'the pid inside the container: talon pods share the host pid namespace',
  'process.pod.container.start_time': 'container start time from the container runtime (no runtime here)',
};

/** Fields of Tetragon's current API (its .proto) that the recorded events, from older releases, predate. */
const NOT_RECORDED: Record<string, string> = {
  'process.pod.uid': "Pod.uid (the pod's UID), newer than the recordings",
  time: 'ProcessExit.time (when the process exited), newer than the one recorded exit event',
  ancestors: 'no recording was made with --enable-ancestors; its elements are Processes, compared as process.*',
};

/** The recorded events (files of JSON documents; prose between them is skipped). */
async function corpus(): Promise<Json[]> {
  const out: Json[] = [];
  for (const f of readdirSync(CORPUS).filter((n) => n.endsWith('.json'))) {
    for await (const b of documentBatches(createReadStream(join(CORPUS, f)))) {
      for (const text of b.docs) {
        try {
          out.push(JSON.parse(text));
        } catch {
          /* prose */
        }
      }
    }
  }
  return out;
}

const typeOf = (v: unknown) => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);

/**
 * Leaf paths of an event body with their JSON types; arrays as [], user label keys as *, and
 * every Process (parent, ancestors[]) under "process" (one message type in Tetragon's .proto).
 */
function shape(body: Json): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (v: unknown, p: string) => {
    const path = p.replace(/^(parent|ancestors\[\])\./, 'process.').replace(/pod_labels\.[^.]+$/, 'pod_labels.*');
    if (Array.isArray(v)) {
      out.set(path, 'array');
      for (const x of v) walk(x, `${p}[]`);
    } else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
    else out.set(path, typeOf(v));
  };
  walk(body, '');
  return out;
}

const kindOf = (e: Json) => Object.keys(e).find((k) => k.startsWith('process_'))!;

if (reason) {
  test('talon events against recorded Tetragon events', () => console.log(`  skipped: ${reason}`));
} else {
  const t = tempDir('talon-corpus-');
  const A = ['--server-address', `unix://${join(t.dir, 'talon.sock')}`];
  let agent: Background | null = null;
  let events: Json[] = [];

  test.before(async () => {
    agent = await spawnAgent(['--state-dir', join(t.dir, 'state'), ...A, '--enable-process-cred', '--enable-process-ns', '--enable-ancestors', 'base,kprobe']);
    assert.is((await talon(['pod', 'add', 'default/corpus', '--label', 'app=corpus', ...A])).code, 0);
    for (const f of ['file-monitoring.yaml', 'egress-cluster.yaml']) {
      const r = await talon(['tp', 'add', join(repoRoot(), 'examples', f), ...A]);
      assert.is(r.code, 0, r.stderr);
    }
    const outside = await listen('127.200.0.1', 0, 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    const port = (outside.server.address() as { port: number }).port;
    try {
      const g = await jsonEvents(['--pods', 'corpus'], A);
      // as the seed: `bash -c 'curl ...'` (bash execs curl in place), then a read of a watched file
      for (const cmd of [
        `curl -s --max-time 5 --interface 127.10.0.5 -o /dev/null http://127.200.0.1:${port}/`,
        'cat /etc/shadow > /dev/null; true',
        'setpriv --reuid=65534 --regid=65534 --clear-groups true',
      ]) {
        const r = await talon(['exec', 'corpus', ...A, '--', 'bash', '-c', cmd]);
        assert.is(r.code, 0, r.stderr);
      }
      events = await g.stop();
    } finally {
      await outside.close();
    }
  });

  test.after(async () => {
    if (agent) {
      await talon(['pod', 'delete', 'default/corpus', ...A]).catch(() => undefined);
      await terminate(agent);
    }
    t.remove();
  });

  test('the workload gave exec, exit and kprobe events with credentials, namespaces and ancestors', () => {
    const kinds = new Set(events.map(kindOf));
    for (const k of ['process_exec', 'process_exit', 'process_kprobe']) assert.ok(kinds.has(k), `${k} among ${[...kinds]}`);
    const curl = events.find((e) => e.process_exec?.process.binary.endsWith('/curl'))?.process_exec;
    assert.ok(curl, 'curl exec');
    assert.is(
      curl.parent.pid,
      curl.process.pid,
      `bash exec'd curl in place: the parent is bash, same pid: ${JSON.stringify(events.filter((e) => e.process_exec).map((e) => [e.process_exec.process.pid, e.process_exec.process.binary, e.process_exec.process.flags, e.process_exec.parent?.pid, e.process_exec.parent?.binary]))}`,
    );
    assert.match(curl.parent.binary, /bash$/);
    assert.not.match(curl.process.flags, /clone/);
    const cat = events.find((e) => e.process_exec?.process.binary.endsWith('/cat'))?.process_exec;
    assert.ok(cat, 'cat exec');
    assert.match(cat.process.flags, /clone/, 'forked by bash');
    assert.ok(Array.isArray(cat.ancestors) && cat.ancestors.length >= 1, 'ancestors: the parent of bash and up');
    assert.is(cat.ancestors[0].exec_id, cat.parent.parent_exec_id);
    assert.type(cat.process.process_credentials.uid, 'number');
    // talon exec confines as a container runtime would: root with the runtime's default capabilities
    assert.ok(cat.process.cap.effective.includes('CAP_CHOWN'), 'root in the pod: the default container capabilities');
    assert.not.ok(cat.process.cap.effective.includes('CAP_SYS_ADMIN'), 'no CAP_SYS_ADMIN in the pod');
    assert.type(cat.process.ns.mnt.inum, 'number');
    // is_host: the namespace of init (pid 1), as Tetragon marks it; talon pods share the agent's network namespace
    // (a sandbox may hide init's namespaces: then nothing is marked is_host)
    let host = -1;
    try {
      host = Number(/\[(\d+)\]/.exec(readlinkSync('/proc/1/ns/net'))![1]);
    } catch {
      /* hidden */
    }
    assert.is(cat.process.ns.net.is_host, cat.process.ns.net.inum === host ? true : undefined);
    assert.is(cat.process.ns.net.inum, Number(/\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/net'))![1]), "the pod's network namespace is the agent's");
    // a process that exits at once still has the credentials it ran with: the kernel reads them at the exec
    const nobody = events.find(
      (e) => /\/true$/.test(e.process_exec?.process.binary ?? '') && e.process_exec.process.process_credentials?.uid === 65534,
    )?.process_exec;
    assert.ok(
      nobody,
      `the exec of true as nobody (setpriv) with its credentials: ${JSON.stringify(events.filter((e) => /\/(true|setpriv)$/.test(e.process_exec?.process.binary ?? '')).map((e) => e.process_exec.process.process_credentials))}`,
    );
    assert.equal(
      [nobody.process.process_credentials.euid, nobody.process.process_credentials.gid, nobody.process.process_credentials.fsuid],
      [65534, 65534, 65534],
    );
    assert.is(nobody.process.cap.effective, undefined, 'a non-root exec has no effective capabilities');
    assert.type(nobody.process.ns.pid.inum, 'number');
    const connect = events.find((e) => e.process_kprobe?.function_name === 'tcp_connect')?.process_kprobe;
    assert.ok(connect, 'tcp_connect');
    assert.ok(connect.ancestors.length >= 1, 'kprobe events carry ancestors too (--enable-ancestors kprobe)');
  });

  test("every field talon writes is one Tetragon writes for that kind, with Tetragon's JSON type", async () => {
    const recorded = new Map<string, Map<string, Set<string>>>();
    for (const e of await corpus()) {
      const k = kindOf(e);
      if (!k) continue;
      const m = recorded.get(k) ?? new Map<string, Set<string>>();
      for (const [p, ty] of shape(e[k])) m.set(p, (m.get(p) ?? new Set()).add(ty));
      recorded.set(k, m);
    }
    // a Process is one message whatever the event kind: its fields are pooled over the kinds
    const processPaths = new Map<string, Set<string>>();
    for (const m of recorded.values())
      for (const [p, tys] of m) if (p.startsWith('process.')) processPaths.set(p, new Set([...(processPaths.get(p) ?? []), ...tys]));
    for (const m of recorded.values()) for (const [p, tys] of processPaths) m.set(p, tys);
    const argKinds = (m: Map<string, Set<string>>) => new Set([...m.keys()].filter((p) => p.startsWith('args[].')).map((p) => p.split('.')[1]));
    const checked = new Set<string>();
    for (const e of events) {
      const k = kindOf(e);
      const want = recorded.get(k);
      assert.ok(want, `Tetragon recorded ${k} events`);
      for (const [p, ty] of shape(e[k])) {
        // an argument kind no recorded event has (sock_arg: no tcp_connect among them) cannot be compared
        if (p.startsWith('args[].') && !argKinds(want!).has(p.split('.')[1])) continue;
        if (p in NOT_RECORDED) {
          assert.not.ok(want!.has(p), `${p} is recorded now: remove it from NOT_RECORDED`);
          continue;
        }
        // no recording was made with --enable-process-cred; the same message (ProcessCredentials)
        // is recorded as kprobe arguments (process_credentials_arg): compared with those
        const cred = /^process\.process_credentials\.(.*)$/.exec(p);
        const tys = cred ? recorded.get('process_kprobe')!.get(`args[].process_credentials_arg.${cred[1]}`) : want!.get(p);
        assert.ok(tys, `${k}.${p}: a field Tetragon does not write`);
        assert.ok(tys!.has(ty), `${k}.${p}: ${ty} here, ${[...tys!]} in Tetragon's events`);
        checked.add(`${k}.${p}`);
      }
      for (const f of ['node_name', 'time']) assert.type(e[f], 'string', f);
      const dropped: string[] = [];
      fromProtoJson('GetEventsResponse', e, dropped);
      assert.equal(dropped, [], "every field is one of Tetragon's .proto");
    }
    assert.ok(checked.size > 60, `${checked.size} fields compared`);
  });

  test('every field all recorded Tetragon events of a kind have, talon has (but the listed ones)', async () => {
    const all = await corpus();
    for (const k of ['process_exec', 'process_exit', 'process_kprobe']) {
      // in pods, as talon's workload ran: compare with recorded events of pods only
      const rec = all.filter((e) => e[k]?.process?.pod).map((e) => shape(e[k]));
      const ours = events.filter((e) => e[k]).map((e) => shape(e[k]));
      const always = [...rec[0].keys()].filter((p) => !p.startsWith('args[]') && p.startsWith('process.') && rec.every((m) => m.has(p)));
      for (const p of always) {
        if (p in ABSENT) {
          assert.not.ok(
            ours.some((m) => m.has(p)),
            `${p} is listed as absent but talon writes it now: remove it from ABSENT`,
          );
          continue;
        }
        assert.ok(
          ours.some((m) => m.has(p)),
          `${k}.${p}: every recorded Tetragon event has it, talon's do not`,
        );
      }
    }
  });
}

test.run();
