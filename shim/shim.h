// SPDX-License-Identifier: Apache-2.0
/*
 * The shim's private header: what its files share (includes, limits, the
 * node-api helpers of napi.c, the JS functions module.c registers). Not an
 * API: src/kernel/shim.ts is the typed face of the addon.
 */
#ifndef TLN_SHIM_H
#define TLN_SHIM_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <node_api.h>

#define TLN_LOG_SIZE (1u << 20)
#define TLN_MAX_OBJS 1024
#define TLN_MAX_LINKS 4096
#define TLN_MAX_RBS 16

#define NAPI_OK(call)                                                                      \
	do {                                                                               \
		if ((call) != napi_ok) {                                                   \
			napi_throw_error(env, NULL, "tln_shim: napi call failed: " #call); \
			return NULL;                                                       \
		}                                                                          \
	} while (0)

/* napi.c */
void lbpf_init(void);
void lbpf_reset(void);
void throw_err(napi_env env, int err, const char *log, const char *fmt, ...);
int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
int get_i64(napi_env env, napi_value v, int64_t *out);
int get_u32(napi_env env, napi_value v, uint32_t *out);
int get_i32(napi_env env, napi_value v, int32_t *out);
char *get_str(napi_env env, napi_value v);
int get_buf(napi_env env, napi_value v, void **data, size_t *len);
napi_value mk_i32(napi_env env, int32_t x);
napi_value mk_f64(napi_env env, double x);
napi_value mk_bool(napi_env env, bool x);
napi_value mk_str(napi_env env, const char *s);
void set_prop(napi_env env, napi_value obj, const char *k, napi_value v);

/* probe.c */
napi_value js_probe(napi_env env, napi_callback_info info);
napi_value js_ensure_mount(napi_env env, napi_callback_info info);

/* object.c */
napi_value js_obj_load(napi_env env, napi_callback_info info);
napi_value js_obj_close(napi_env env, napi_callback_info info);
napi_value js_attach(napi_env env, napi_callback_info info);
napi_value js_attach_tracepoint(napi_env env, napi_callback_info info);
napi_value js_attach_cgroup(napi_env env, napi_callback_info info);
napi_value js_attach_uprobe(napi_env env, napi_callback_info info);
napi_value js_attach_kprobe(napi_env env, napi_callback_info info);
napi_value js_link_destroy(napi_env env, napi_callback_info info);
napi_value js_link_pin(napi_env env, napi_callback_info info);
napi_value js_link_release(napi_env env, napi_callback_info info);

/* maps.c */
napi_value js_map_create(napi_env env, napi_callback_info info);
napi_value js_map_update(napi_env env, napi_callback_info info);
napi_value js_map_update_batch(napi_env env, napi_callback_info info);
napi_value js_map_lookup(napi_env env, napi_callback_info info);
napi_value js_map_delete(napi_env env, napi_callback_info info);
napi_value js_map_next_key(napi_env env, napi_callback_info info);
napi_value js_map_info(napi_env env, napi_callback_info info);
napi_value js_prog_info(napi_env env, napi_callback_info info);
napi_value js_fd_memlock(napi_env env, napi_callback_info info);
napi_value js_close_fd(napi_env env, napi_callback_info info);
napi_value js_obj_pin(napi_env env, napi_callback_info info);
napi_value js_obj_get(napi_env env, napi_callback_info info);
napi_value js_num_cpus(napi_env env, napi_callback_info info);

/* ringbuf.c */
napi_value js_ringbuf_open(napi_env env, napi_callback_info info);
napi_value js_ringbuf_close(napi_env env, napi_callback_info info);
void rb_stop_all(void);

#endif
