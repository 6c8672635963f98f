// The socket hooks served by socket tracepoints instead of kprobes: which of
// the kernel function's arguments each tracepoint carries and where (struct
// tln_gen_conf). An argument the tracepoint lacks is refused, never read as 0.
import type { HookSpec } from '../core/types.js';
import { ARG_INT_TYPES, ARG_SOCK, genConf, SRC } from './tracefs.js';

/**
 * tcp_close(struct sock *sk, long timeout) served by
 * tp_btf/inet_sock_set_state: the program reads the socket itself; the
 * timeout is not in the tracepoint, so a hook that declares it is refused.
 */
export function sockCloseConf(hook: HookSpec): Buffer {
  return genConf(hook, '', (put, a, where) => {
    if (a.index !== 0) throw new Error(`${where}: sock/inet_sock_set_state gives the socket (argument 0) only, not tcp_close's timeout`);
    if (a.type !== ARG_SOCK) throw new Error(`${where}: argument 0 is the struct sock *; declare it as sock`);
    put(0, 8, SRC.SOCK, false);
  });
}

/**
 * tcp_sendmsg(struct sock *sk, struct msghdr *msg, size_t size) served by
 * tp_btf/sock_send_length(sk, ret, flags): the socket, and for index 2 what
 * the send returned (ctx[1], an int), not the size asked for.
 */
export function sockSendConf(hook: HookSpec): Buffer {
  return genConf(hook, '', (put, a, where) => {
    if (a.index === 0) {
      if (a.type !== ARG_SOCK) throw new Error(`${where}: argument 0 is the struct sock *; declare it as sock`);
      put(0, 8, SRC.SOCK, false);
    } else if (a.index === 2) {
      if (!ARG_INT_TYPES.has(a.type)) throw new Error(`${where}: argument 2 is the size; declare it as an integer type`);
      put(8, 4, SRC.INT, true);
    } else {
      throw new Error(`${where}: sock/sock_send_length gives the socket (argument 0) and the bytes sent (argument 2) only`);
    }
  });
}
