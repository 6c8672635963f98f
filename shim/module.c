// SPDX-License-Identifier: Apache-2.0
/*
 * tln_shim: a Node addon (node-api, C) over the system libbpf. Policy-agnostic:
 * it knows nothing of selectors or images, only of BPF objects, maps, links
 * and the ring buffer. Everything it creates lives in fds held by this
 * process (no pinning), so nothing outlives the agent.
 *
 * JS API (see src/kernel/shim.ts for the typed wrapper):
 *   probe() -> { feature: boolean | string, ... }
 *   ensureMount(fstype, target) -> 'present' | 'mounted'
 *   objLoad(path, { name?, rodata?: {var: number|bigint|Buffer}, reuse?: {map: fd},
 *           programs?: string[] }) -> { handle, progs: {name: fd}, maps: {name: fd} }
 *   objClose(handle)
 *   attach(handle, prog) -> link          (section-defined target: tp_btf, tracepoint/x/y)
 *   attachTracepoint(handle, prog, category, name) -> link
 *   attachCgroup(handle, prog, cgroupPath) -> link
 *   attachUprobe(handle, prog, path, symbol, retprobe, pid) -> link   (pid -1: every process)
 *   linkDestroy(link)
 *   mapCreate(type, name, keySize, valueSize, maxEntries, flags) -> fd
 *   mapUpdate(fd, key, value, flags?)   mapUpdateBatch(fd, keys, values, count) -> count
 *   mapLookup(fd, key, valueSize) -> Buffer | null   mapDelete(fd, key) -> boolean
 *   mapNextKey(fd, key | null, keySize) -> Buffer | null
 *   mapInfo(fd) -> { id, type, keySize, valueSize, maxEntries, flags, name }
 *   fdMemlock(fd) -> number (bytes, /proc/self/fdinfo)   closeFd(fd)
 *   ringbufOpen(fd, cb(records: Buffer[])) -> id   ringbufClose(id)
 *   numPossibleCpus() -> number
 * Errors are Error objects with .errno, .code (errno name) and, for loads,
 * .log (the verifier log) and .libbpf (libbpf's messages).
 */
#include "shim.h"

/* ---- module -------------------------------------------------------------- */

static void cleanup_hook(void *arg)
{
	rb_stop_all();
}

static napi_value init(napi_env env, napi_value exports)
{
	static const struct {
		const char *name;
		napi_callback fn;
	} fns[] = {
		{ "probe", js_probe },
		{ "ensureMount", js_ensure_mount },
		{ "objLoad", js_obj_load },
		{ "objClose", js_obj_close },
		{ "attach", js_attach },
		{ "attachTracepoint", js_attach_tracepoint },
		{ "attachCgroup", js_attach_cgroup },
		{ "attachUprobe", js_attach_uprobe },
		{ "linkDestroy", js_link_destroy },
		{ "mapCreate", js_map_create },
		{ "mapUpdate", js_map_update },
		{ "mapUpdateBatch", js_map_update_batch },
		{ "mapLookup", js_map_lookup },
		{ "mapDelete", js_map_delete },
		{ "mapNextKey", js_map_next_key },
		{ "mapInfo", js_map_info },
		{ "progInfo", js_prog_info },
		{ "fdMemlock", js_fd_memlock },
		{ "closeFd", js_close_fd },
		{ "numPossibleCpus", js_num_cpus },
		{ "ringbufOpen", js_ringbuf_open },
		{ "ringbufClose", js_ringbuf_close },
	};
	napi_value fn;

	lbpf_init();
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &fn);
		napi_set_named_property(env, exports, fns[i].name, fn);
	}
	napi_add_env_cleanup_hook(env, cleanup_hook, NULL);
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
