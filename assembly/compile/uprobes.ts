// uprobes (symbols, offsets, addrs, refCtrOffsets, return probes, btfPath,
// binaryDigests) and USDTs (path, provider, name). A uprobe makes one hook per
// attach point, all sharing the compiled args and selectors. Offsets, addrs,
// semaphores, digests and the USDT note are resolved at load, against the
// binary on the host (src/kernel/plan.ts, usdt.ts); btfPath stays a need.
import * as A from "../abi";
import * as M from "../messages";
import { Node } from "../value";
import { Path } from "../diag";
import { HookM } from "../model";
import { jstr } from "../json";
import { Ctx } from "./context";
import { strOf, scalarOf, isPresent, listOf } from "./nodes";
import { parseTyped } from "../parse";
import { compileHookBody, compileReturn, finishHook } from "./hooks";
import { expandMacros } from "./macros";
import { addNeed } from "./spec";

function isHex64(s: string): bool {
  if (s.length != 64) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) | 0x20;
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** offsets/addrs/refCtrOffsets entries as u64 text, reported when not integers */
function u64List(cx: Ctx, h: Node, hp: Path, f: string): Array<string> {
  const out = new Array<string>();
  const l = listOf(h.get(f));
  if (l == null) return out;
  for (let i = 0; i < l.length; i++) {
    const t = scalarOf(l.at(i));
    if (t == null) continue;
    const v = parseTyped(t, A.TLN_ARG_UINT64, "uint64");
    if (!v.ok) cx.err(hp.k(f).i(i), M.badUprobeAddr(t, f));
    else out.push("0x" + v.v.toString(16));
  }
  return out;
}

export function compileUprobe(cx: Ctx, h0: Node, hp: Path): void {
  const h = expandMacros(cx, h0, hp);
  const hook = new HookM();
  cx.hook = hook;
  cx.def = null;
  hook.kind = A.TLN_HOOK_UPROBE;
  hook.id = A.TLN_HOOK_GENERIC_UPROBE;
  const pathN = h.get("path");
  const path = strOf(pathN);
  if (pathN == null) cx.missing(hp, "path", M.missingField("path", "the binary or library to probe, e.g. /bin/bash"));
  else if (path != null && path.length == 0) cx.err(hp.k("path"), M.emptyUprobePath());

  // attach points: one of symbols, offsets, addrs
  const points = new Array<string>();
  const kinds = new Array<string>();
  const symN = h.get("symbols");
  const syms = listOf(symN);
  const offs = u64List(cx, h, hp, "offsets");
  const addrs = u64List(cx, h, hp, "addrs");
  let given = 0;
  if (syms != null && syms.length > 0) given++;
  if (offs.length > 0) given++;
  if (addrs.length > 0) given++;
  if (given > 1) cx.err(hp, M.uprobeAttachChoice());
  if (symN == null && !isPresent(h.get("offsets")) && !isPresent(h.get("addrs"))) cx.missing(hp, "symbols", M.missingField("symbols", "the functions to probe, e.g. [readline]"));
  if (syms != null) {
    if (syms.length == 0 && given == 0) cx.err(hp.k("symbols"), M.noUprobeSymbols());
    for (let i = 0; i < syms.length; i++) {
      const s = strOf(syms.at(i));
      if (s == null) continue;
      const sp = hp.k("symbols").i(i);
      if (s.length == 0 || s.indexOf(":") >= 0 || s.indexOf("/") >= 0) {
        cx.err(sp, M.badUprobeSymbol(s));
        continue;
      }
      if (points.includes(s)) {
        cx.err(sp, M.duplicateUprobeSymbol(s));
        continue;
      }
      points.push(s);
      kinds.push("symbol");
    }
  }
  for (let i = 0; i < offs.length; i++) {
    points.push("+" + offs[i]);
    kinds.push("offset");
  }
  for (let i = 0; i < addrs.length; i++) {
    points.push("@" + addrs[i]);
    kinds.push("addr");
  }
  const refs = u64List(cx, h, hp, "refCtrOffsets");
  if (refs.length > 0) {
    if (refs.length != points.length) cx.err(hp.k("refCtrOffsets"), M.refCtrCount(refs.length, points.length));
  }
  const dl = listOf(h.get("binaryDigests"));
  if (dl != null) {
    for (let i = 0; i < dl.length; i++) {
      const d = strOf(dl.at(i));
      if (d == null) continue;
      const hex = d.startsWith("sha256:") ? d.substring(7) : d;
      if (!isHex64(hex)) cx.err(hp.k("binaryDigests").i(i), M.badDigest(d));
    }
  }
  const btf = strOf(h.get("btfPath"));
  if (btf != null && btf.length > 0) addNeed(hook.needs, "btfPath");
  const isReturn = compileReturn(cx, h, hp, hook);
  compileHookBody(cx, h, hp, hook, null, isReturn);

  const pol = cx.pol;
  for (let i = 0; i < points.length; i++) {
    if (pol.hooks.length >= A.TLN_MAX_HOOKS) {
      const sym = kinds[i] == "symbol";
      cx.err(sym ? hp.k("symbols").i(i) : hp, M.tooManyHooksOf(pol.hooks.length + points.length - i, sym ? "uprobe symbols" : "uprobe attach points", A.TLN_MAX_HOOKS));
      break;
    }
    const x = new HookM();
    x.call = (path != null ? path : "") + ":" + points[i];
    x.id = hook.id;
    x.kind = hook.kind;
    x.flags = hook.flags;
    x.args = hook.args;
    x.retType = hook.retType;
    x.selectors = hook.selectors; // shared: written once per hook, same sets
    x.message = hook.message;
    x.tags = hook.tags;
    x.actionsMask = hook.actionsMask;
    x.needs = hook.needs;
    const sym = kinds[i] == "symbol" ? points[i] : "";
    finishHook(cx, h, x, '"uprobe":{"path":' + jstr(path != null ? path : "") + ',"symbol":' + jstr(sym) +
      (kinds[i] == "offset" ? ',"offset":' + jstr(points[i].substring(1)) : "") +
      (kinds[i] == "addr" ? ',"addr":' + jstr(points[i].substring(1)) : "") +
      (i < refs.length ? ',"refCtrOffset":' + jstr(refs[i]) : "") + "}");
    pol.hooks.push(x);
  }
}

export function compileUsdt(cx: Ctx, h0: Node, hp: Path): void {
  const h = expandMacros(cx, h0, hp);
  const hook = new HookM();
  cx.hook = hook;
  cx.def = null;
  hook.kind = A.TLN_HOOK_USDT;
  hook.id = A.TLN_HOOK_GENERIC_USDT;
  const f: StaticArray<string> = ["path", "provider", "name"];
  const hints: StaticArray<string> = ["the binary holding the probe", "the USDT provider, e.g. python", "the probe name, e.g. function__entry"];
  const v = new Array<string>();
  for (let i = 0; i < 3; i++) {
    const n = h.get(f[i]);
    const s = strOf(n);
    if (n == null) {
      // the CRD does not require them (Tetragon's docs show such entries): compiled, refused at load
      cx.warn(hp, M.usdtField(f[i], hints[i]));
      addNeed(hook.needs, "usdt " + f[i]);
    }
    else if (s != null && s.length == 0) cx.err(hp.k(f[i]), M.emptyActionArg("usdt", f[i]));
    v.push(s == null ? "" : s);
  }
  hook.call = v[0] + ":" + v[1] + ":" + v[2];
  if (isPresent(h.get("btfPath"))) addNeed(hook.needs, "btfPath");
  compileHookBody(cx, h, hp, hook, null, false);
  finishHook(cx, h, hook, '"usdt":{"path":' + jstr(v[0]) + ',"provider":' + jstr(v[1]) + ',"name":' + jstr(v[2]) + "}");
  cx.pol.hooks.push(hook);
}
