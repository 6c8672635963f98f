// The hook catalog: the kernel functions talon can attach to, with their
// signatures (enum tln_hook_id). Which kernel mechanism serves each hook is
// decided by the loader, not here.
import {
  TLN_HOOK_SECURITY_FILE_PERMISSION, TLN_HOOK_SECURITY_MMAP_FILE, TLN_HOOK_SECURITY_PATH_TRUNCATE,
  TLN_HOOK_TCP_CONNECT, TLN_HOOK_UNKNOWN,
  TLN_ARG_FILE, TLN_ARG_INT, TLN_ARG_UINT32, TLN_ARG_PATH, TLN_ARG_SOCK,
} from "./abi";

export class HookDef {
  name: string;
  id: u16;
  params: StaticArray<u8>; // enum tln_arg_type per function argument position
  paramDecl: StaticArray<string>; // C declaration, for messages
  isSecurity: bool; // a security_* (LSM) hook: Override allowed
  isSyscall: bool;
  constructor(name: string, id: u16, params: StaticArray<u8>, paramDecl: StaticArray<string>) {
    this.name = name;
    this.id = id;
    this.params = params;
    this.paramDecl = paramDecl;
    this.isSecurity = name.startsWith("security_");
    this.isSyscall = false;
  }
}

export const HOOKS: StaticArray<HookDef> = [
  new HookDef("security_file_permission", TLN_HOOK_SECURITY_FILE_PERMISSION,
    [TLN_ARG_FILE, TLN_ARG_INT], ["struct file *file", "int mask"]),
  new HookDef("security_mmap_file", TLN_HOOK_SECURITY_MMAP_FILE,
    [TLN_ARG_FILE, TLN_ARG_UINT32, TLN_ARG_UINT32], ["struct file *file", "u32 prot", "u32 flags"]),
  new HookDef("security_path_truncate", TLN_HOOK_SECURITY_PATH_TRUNCATE,
    [TLN_ARG_PATH], ["const struct path *path"]),
  new HookDef("tcp_connect", TLN_HOOK_TCP_CONNECT,
    [TLN_ARG_SOCK], ["struct sock *sk"]),
];

export function findHook(name: string): HookDef | null {
  for (let i = 0; i < HOOKS.length; i++) if (HOOKS[i].name == name) return HOOKS[i];
  return null;
}

export function hookIdOf(name: string): u16 {
  const h = findHook(name);
  return h == null ? TLN_HOOK_UNKNOWN : h.id;
}

export function hookById(id: u16): HookDef | null {
  for (let i = 0; i < HOOKS.length; i++) if (HOOKS[i].id == id) return HOOKS[i];
  return null;
}

export function hookNames(): string {
  const n = new Array<string>();
  for (let i = 0; i < HOOKS.length; i++) n.push(HOOKS[i].name);
  return n.join(", ");
}
