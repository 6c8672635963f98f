/* Forced include (-include) for every libbpf source compiled to wasm.
 *
 * libbpf reaches the kernel through syscall(2) (bpf and perf_event_open) and
 * closes the fds it got back with close(2). In wasm there is no kernel: both
 * go to the host (the recording kernel in src/bridge/) through tln_syscall
 * and tln_close in bridge/host.c. Nothing else in libbpf is redirected: files
 * (the target BTF) are read from emscripten's in-memory file system.
 */
#ifndef TLN_BRIDGE_HOST_H
#define TLN_BRIDGE_HOST_H

/* bpf.c takes __NR_bpf from <asm/unistd.h>: linux-libc-dev's x86 header,
 * which gives wasm32 (ILP32) the x32 numbers (0x40000000 + n); host.c must
 * compare with the same values, so everyone gets them from here first. The
 * fallbacks are for headers without them; the numbers never reach a kernel. */
#include <asm/unistd.h>
#ifndef __NR_bpf
#define __NR_bpf 321
#endif
#ifndef __NR_perf_event_open
#define __NR_perf_event_open 298
#endif

/* object-like, so unistd.h's own declaration becomes tln_syscall's */
#define syscall tln_syscall
long tln_syscall(long nr, ...);

/* function-like: only calls are renamed (libbpf has no member named close) */
#define close(fd) tln_close(fd)
int tln_close(int fd);

#endif
