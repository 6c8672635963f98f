// Where a uprobe or USDT hook attaches, resolved at load against the binary on
// this host, with Tetragon's meaning (pkg/sensors/tracing/genericuprobe.go,
// genericusdt.go): `symbols` entries "name" or "name+offset"; `offsets` file
// offsets; `addrs` virtual addresses (turned into file offsets through the
// ELF's loadable segments); `refCtrOffsets` the semaphore (reference counter)
// of each attach point; `binaryDigests` the sha256 the file must have; a USDT
// probe's sites, semaphore and argument specs from its ELF notes. Pure given
// the host's file reads (UprobeHost): tested without root.
import type { HookSpec } from '../core/types.js';
import { LAYOUT } from './records.js';
import { fileDigest, fileOffsetOf, readElf, type ElfFile } from './elf.js';
import { ARG_INT_TYPES, ARG_STRING, typeWord } from './tracefs.js';
import { parseUsdtArg, usdtArgs, usdtConf, usdtProbes } from './usdt.js';

/** what resolving reads from the host; replaceable in tests */
export interface UprobeHost {
  readElf(path: string): ElfFile;
  digest(path: string): string;
}
export const realUprobeHost: UprobeHost = { readElf, digest: fileDigest };

/** libbpf's uprobe: a symbol (+ offset) or, with symbol "", a file offset; and the semaphore's file offset (0: none) */
export interface UprobeTarget {
  symbol: string;
  offset: number;
  refCtrOffset: number;
}

function u64(text: string, what: string): bigint {
  try {
    return BigInt(text);
  } catch {
    throw new Error(`${what} "${text}" is not an integer`);
  }
}

function safe(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${what} 0x${v.toString(16)} is beyond any file`);
  return Number(v);
}

/** The attach target of one uprobe hook (one symbol, offset or addr of its entry); throws with the reason. */
export function uprobeTarget(h: HookSpec, host: UprobeHost = realUprobeHost): UprobeTarget {
  const u = h.spec?.uprobe;
  const path = u?.path ?? h.uprobe?.path ?? '';
  const ref = u?.refCtrOffset ? safe(u64(u.refCtrOffset, 'refCtrOffset'), 'refCtrOffset') : 0;
  if (u?.offset) return { symbol: '', offset: safe(u64(u.offset, 'offset'), 'offset'), refCtrOffset: ref };
  if (u?.addr) {
    const addr = u64(u.addr, 'addr');
    const off = fileOffsetOf(host.readElf(path), addr);
    if (off === null) throw new Error(`addr 0x${addr.toString(16)} is in no loadable segment of ${path}`);
    return { symbol: '', offset: safe(off, 'addr'), refCtrOffset: ref };
  }
  const sym = u?.symbol ?? h.uprobe?.symbol ?? '';
  // Tetragon's "symbol+offset": an offset from the symbol's address
  const parts = sym.split('+');
  if (parts.length > 2 || parts[0] === '') throw new Error(`symbol "${sym}": expected <name> or <name>+<offset>`);
  const offset = parts.length === 2 ? safe(u64(parts[1]!, `symbol "${sym}": offset`), 'offset') : 0;
  return { symbol: parts[0]!, offset, refCtrOffset: ref };
}

/**
 * Tetragon's binaryDigests: the file's sha256 must be one of them; a mismatch
 * refuses the policy with both digests. Tetragon skips a mismatched uprobe when
 * `ignore.digestVerificationFailure` is set; talon loads a policy whole or not
 * at all, so it refuses then too, and says so.
 */
export function checkDigests(h: HookSpec, host: UprobeHost = realUprobeHost): void {
  const spec = (h.spec?.spec ?? {}) as { binaryDigests?: unknown; ignore?: { digestVerificationFailure?: unknown } };
  const want = Array.isArray(spec.binaryDigests) ? spec.binaryDigests.map((d) => String(d).trim().toLowerCase()) : [];
  if (want.length === 0) return;
  const path = h.spec?.uprobe?.path ?? h.uprobe?.path ?? '';
  if (!path.includes('/')) throw new Error(`binaryDigests: the binary must be given by its path (libbpf looks "${path}" up in the library path at attach)`);
  let got: string;
  try {
    got = host.digest(path);
  } catch (e) {
    throw new Error(`binaryDigests: cannot read ${path}: ${(e as Error).message}`);
  }
  const norm = want.map((d) => (d.startsWith('sha256:') ? d : `sha256:${d}`));
  if (norm.includes(got)) return;
  const skip = spec.ignore?.digestVerificationFailure === true;
  throw new Error(
    `digest mismatch: ${path} is ${got}, none of binaryDigests (${norm.join(', ')})` +
      (skip ? '; ignore.digestVerificationFailure: Tetragon would skip this uprobe, talon loads a policy whole or not at all' : ''),
  );
}

/** One instance of a USDT hook: the probe's sites that share argument specs, and its rodata. */
export interface UsdtInstance {
  /** file offsets of the sites */
  offsets: number[];
  /** the semaphore's file offset (0: none) */
  refCtrOffset: number;
  /** struct tln_gen_conf and struct tln_usdt_conf */
  gen: Buffer;
  usdt: Buffer;
}

/**
 * A USDT hook's probe in its binary: every site of provider:name (a probe a
 * compiler duplicated has several), grouped by argument specs (one instance
 * per group: each reads its own registers), with the args[] of the hook
 * mapped onto the note's arguments. Throws with the reason.
 */
export function usdtInstances(h: HookSpec, host: UprobeHost = realUprobeHost): UsdtInstance[] {
  const u = h.spec?.usdt;
  if (!u) throw new Error('the image names no usdt');
  let elf: ElfFile;
  try {
    elf = host.readElf(u.path);
  } catch (e) {
    throw new Error(`usdt binary ${u.path}: ${(e as Error).message}`);
  }
  const sites = usdtProbes(elf).filter((p) => p.provider === u.provider && p.name === u.name);
  if (sites.length === 0) throw new Error(`usdt ${u.provider}:${u.name} not found in ${u.path} (no such .note.stapsdt note)`);
  const groups = new Map<string, UsdtInstance>();
  for (const s of sites) {
    if (s.pcOffset === null) throw new Error(`usdt ${u.provider}:${u.name}: its pc 0x${s.pc.toString(16)} is in no loadable segment of ${u.path}`);
    if (s.semaphore && s.semaphoreOffset === null)
      throw new Error(`usdt ${u.provider}:${u.name}: its semaphore 0x${s.semaphore.toString(16)} is in no loadable segment of ${u.path}`);
    const ref = s.semaphoreOffset === null ? 0 : safe(s.semaphoreOffset, 'semaphore');
    const key = `${s.args}\0${ref}`;
    const g = groups.get(key);
    if (g) {
      g.offsets.push(safe(s.pcOffset, 'pc'));
      continue;
    }
    const specs = usdtArgs(s, elf.machine);
    const args = h.args ?? [];
    const gen = Buffer.alloc(LAYOUT['sizeof(struct tln_gen_conf)']);
    gen.writeUInt8(args.length, LAYOUT['offsetof(struct tln_gen_conf, nargs)']);
    const esz = LAYOUT['sizeof(struct tln_gen_arg)'];
    const read = args.map((a, i) => {
      const where = `usdt ${u.provider}:${u.name} args[${i}] (index ${a.index})`;
      if (a.index >= specs.length) throw new Error(`${where}: the probe has ${specs.length} argument${specs.length === 1 ? '' : 's'} (${s.args || 'none'})`);
      if (!ARG_INT_TYPES.has(a.type) && a.type !== ARG_STRING)
        throw new Error(`${where}: ${typeWord(a.type)} arguments cannot be read from a USDT probe (integers, string)`);
      const o = LAYOUT['offsetof(struct tln_gen_conf, args)'] + i * esz;
      gen.writeUInt8(LAYOUT.TLN_SRC_USDT, o + LAYOUT['offsetof(struct tln_gen_arg, src)']);
      try {
        return parseUsdtArg(specs[a.index]!);
      } catch (e) {
        throw new Error(`${where}: ${(e as Error).message}`);
      }
    });
    groups.set(key, { offsets: [safe(s.pcOffset, 'pc')], refCtrOffset: ref, gen, usdt: usdtConf(read) });
  }
  return [...groups.values()];
}
