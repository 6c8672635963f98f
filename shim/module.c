// SPDX-License-Identifier: Apache-2.0
/*
 * tln_shim: a Node addon (node-api, C) over the system libbpf. Policy-agnostic:
 * it knows nothing of selectors or images, only of BPF objects, maps, links
 * and the ring buffer. Everything it creates lives in fds held by this
 * process unless the caller pins it (linkPin, objPin): then it outlives the agent.
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
 *   attachUprobe(handle, prog, path, symbol, retprobe, pid, offset?, refCtrOffset?) -> link   (pid -1: every process)
 *   attachKprobe(handle, prog, function, retprobe) -> link
 *   linkDestroy(link)   linkPin(link, bpffsPath)   linkRelease(link) (forget, stay attached)
 *   objPin(fd, bpffsPath)   objGet(bpffsPath) -> fd
 *   mapCreate(type, name, keySize, valueSize, maxEntries, flags, innerFd?) -> fd
 *       (innerFd: map-in-map types, the shape of the inner maps)
 *   mapUpdate(fd, key, value, flags?)   mapUpdateBatch(fd, keys, values, count) -> count
 *   mapLookup(fd, key, valueSize) -> Buffer | null   mapDelete(fd, key) -> boolean
 *   mapNextKey(fd, key | null, keySize) -> Buffer | null
 *   mapInfo(fd) -> { id, type, keySize, valueSize, maxEntries, flags, name }
 *   fdMemlock(fd) -> number (bytes, /proc/self/fdinfo)   closeFd(fd)
 *   ringbufOpen(fd, cb(data: Buffer, ends: Uint32Array)) -> id   ringbufClose(id)
 *       (a batch: record i is data[ends[i-1] .. ends[i]), ends[-1] = 0)
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
		{ "attachKprobe", js_attach_kprobe },
		{ "linkDestroy", js_link_destroy },
		{ "linkPin", js_link_pin },
		{ "linkRelease", js_link_release },
		{ "objPin", js_obj_pin },
		{ "objGet", js_obj_get },
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
