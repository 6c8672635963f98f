// SPDX-License-Identifier: Apache-2.0
/* tln_shim: maps (create, update, lookup, iterate, info) and fd facts (memlock, program info) (see module.c for the JS API) */
#include "shim.h"

/* ---- maps ---------------------------------------------------------------- */

napi_value js_map_create(napi_env env, napi_callback_info info)
{
	napi_value argv[7];
	uint32_t type, ks, vs, me, flags;
	int32_t inner = -1;
	napi_valuetype t;
	char *name;
	int fd;

	if (get_args(env, info, 7, argv))
		return NULL;
	name = get_str(env, argv[1]);
	if (get_u32(env, argv[0], &type) || !name || get_u32(env, argv[2], &ks) ||
	    get_u32(env, argv[3], &vs) || get_u32(env, argv[4], &me) ||
	    get_u32(env, argv[5], &flags)) {
		free(name);
		napi_throw_type_error(
			env, NULL,
			"mapCreate(type, name, keySize, valueSize, maxEntries, flags, innerFd?)");
		return NULL;
	}
	/* map-in-map: the inner map fd gives the shape of every inner map */
	napi_typeof(env, argv[6], &t);
	if (t == napi_number)
		get_i32(env, argv[6], &inner);
	{
		LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = flags);

		if (inner >= 0)
			mo.inner_map_fd = inner;
		fd = bpf_map_create(type, name, ks, vs, me, &mo);
	}
	if (fd < 0) {
		throw_err(env, errno, NULL,
			  "create map %s (type %u, key %u, value %u, entries %u, flags 0x%x)", name,
			  type, ks, vs, me, flags);
		free(name);
		return NULL;
	}
	free(name);
	return mk_i32(env, fd);
}

napi_value js_map_update(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	int32_t fd;
	uint32_t flags = 0;
	void *k, *v;
	size_t kl, vl;
	napi_valuetype t;

	if (get_args(env, info, 4, argv))
		return NULL;
	if (get_i32(env, argv[0], &fd) || get_buf(env, argv[1], &k, &kl) ||
	    get_buf(env, argv[2], &v, &vl)) {
		napi_throw_type_error(env, NULL,
				      "mapUpdate(fd, key: Buffer, value: Buffer, flags?)");
		return NULL;
	}
	napi_typeof(env, argv[3], &t);
	if (t == napi_number)
		get_u32(env, argv[3], &flags);
	if (bpf_map_update_elem(fd, k, v, flags)) {
		throw_err(env, errno, NULL, "map update (fd %d)", fd);
		return NULL;
	}
	return NULL;
}

napi_value js_map_update_batch(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	int32_t fd;
	uint32_t count;
	void *k, *v;
	size_t kl, vl;

	if (get_args(env, info, 4, argv))
		return NULL;
	if (get_i32(env, argv[0], &fd) || get_buf(env, argv[1], &k, &kl) ||
	    get_buf(env, argv[2], &v, &vl) || get_u32(env, argv[3], &count)) {
		napi_throw_type_error(env, NULL, "mapUpdateBatch(fd, keys, values, count)");
		return NULL;
	}
	{
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		__u32 c = count;
		if (bpf_map_update_batch(fd, k, v, &c, &bo)) {
			throw_err(env, errno, NULL, "map batch update (fd %d, %u entries, %u done)",
				  fd, count, c);
			return NULL;
		}
		return mk_f64(env, c);
	}
}

napi_value js_map_lookup(napi_env env, napi_callback_info info)
{
	napi_value argv[3], out;
	int32_t fd;
	uint32_t vs;
	void *k, *data;
	size_t kl;

	if (get_args(env, info, 3, argv))
		return NULL;
	if (get_i32(env, argv[0], &fd) || get_buf(env, argv[1], &k, &kl) ||
	    get_u32(env, argv[2], &vs)) {
		napi_throw_type_error(env, NULL, "mapLookup(fd, key, valueSize)");
		return NULL;
	}
	NAPI_OK(napi_create_buffer(env, vs, &data, &out));
	if (bpf_map_lookup_elem(fd, k, data)) {
		if (errno == ENOENT) {
			napi_get_null(env, &out);
			return out;
		}
		throw_err(env, errno, NULL, "map lookup (fd %d)", fd);
		return NULL;
	}
	return out;
}

napi_value js_map_delete(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	int32_t fd;
	void *k;
	size_t kl;

	if (get_args(env, info, 2, argv))
		return NULL;
	if (get_i32(env, argv[0], &fd) || get_buf(env, argv[1], &k, &kl)) {
		napi_throw_type_error(env, NULL, "mapDelete(fd, key)");
		return NULL;
	}
	if (bpf_map_delete_elem(fd, k)) {
		if (errno == ENOENT)
			return mk_bool(env, false);
		throw_err(env, errno, NULL, "map delete (fd %d)", fd);
		return NULL;
	}
	return mk_bool(env, true);
}

napi_value js_map_next_key(napi_env env, napi_callback_info info)
{
	napi_value argv[3], out;
	int32_t fd;
	uint32_t ks;
	void *k = NULL, *data;
	size_t kl;
	napi_valuetype t;

	if (get_args(env, info, 3, argv))
		return NULL;
	if (get_i32(env, argv[0], &fd) || get_u32(env, argv[2], &ks)) {
		napi_throw_type_error(env, NULL, "mapNextKey(fd, key | null, keySize)");
		return NULL;
	}
	napi_typeof(env, argv[1], &t);
	if (t != napi_null && t != napi_undefined && get_buf(env, argv[1], &k, &kl)) {
		napi_throw_type_error(env, NULL, "mapNextKey: key must be a Buffer or null");
		return NULL;
	}
	NAPI_OK(napi_create_buffer(env, ks, &data, &out));
	if (bpf_map_get_next_key(fd, k, data)) {
		if (errno == ENOENT) {
			napi_get_null(env, &out);
			return out;
		}
		throw_err(env, errno, NULL, "map next key (fd %d)", fd);
		return NULL;
	}
	return out;
}

napi_value js_map_info(napi_env env, napi_callback_info info)
{
	napi_value argv[1], r;
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi);
	int32_t fd;

	if (get_args(env, info, 1, argv) || get_i32(env, argv[0], &fd))
		return NULL;
	if (bpf_obj_get_info_by_fd(fd, &mi, &len)) {
		throw_err(env, errno, NULL, "map info (fd %d)", fd);
		return NULL;
	}
	napi_create_object(env, &r);
	set_prop(env, r, "id", mk_f64(env, mi.id));
	set_prop(env, r, "type", mk_f64(env, mi.type));
	set_prop(env, r, "keySize", mk_f64(env, mi.key_size));
	set_prop(env, r, "valueSize", mk_f64(env, mi.value_size));
	set_prop(env, r, "maxEntries", mk_f64(env, mi.max_entries));
	set_prop(env, r, "flags", mk_f64(env, mi.map_flags));
	set_prop(env, r, "name", mk_str(env, mi.name));
	return r;
}

napi_value js_prog_info(napi_env env, napi_callback_info info)
{
	napi_value argv[1], r;
	struct bpf_prog_info pi = {};
	__u32 len = sizeof(pi);
	int32_t fd;

	if (get_args(env, info, 1, argv) || get_i32(env, argv[0], &fd))
		return NULL;
	if (bpf_obj_get_info_by_fd(fd, &pi, &len)) {
		throw_err(env, errno, NULL, "prog info (fd %d)", fd);
		return NULL;
	}
	napi_create_object(env, &r);
	set_prop(env, r, "id", mk_f64(env, pi.id));
	set_prop(env, r, "type", mk_f64(env, pi.type));
	set_prop(env, r, "name", mk_str(env, pi.name));
	set_prop(env, r, "jitedLen", mk_f64(env, pi.jited_prog_len));
	set_prop(env, r, "xlatedLen", mk_f64(env, pi.xlated_prog_len));
	set_prop(env, r, "verifiedInsns", mk_f64(env, pi.verified_insns));
	set_prop(env, r, "runTimeNs", mk_f64(env, (double)pi.run_time_ns));
	set_prop(env, r, "runCnt", mk_f64(env, (double)pi.run_cnt));
	return r;
}

/* memlock of an fd (map or program): its kernel memory, in bytes */
napi_value js_fd_memlock(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	char path[64], line[256];
	int32_t fd;
	double mem = 0;
	FILE *f;

	if (get_args(env, info, 1, argv) || get_i32(env, argv[0], &fd))
		return NULL;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f) {
		throw_err(env, errno, NULL, "read %s", path);
		return NULL;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long long x;
		if (sscanf(line, "memlock: %llu", &x) == 1)
			mem = (double)x;
	}
	fclose(f);
	return mk_f64(env, mem);
}

napi_value js_close_fd(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	int32_t fd;

	if (get_args(env, info, 1, argv) || get_i32(env, argv[0], &fd))
		return NULL;
	if (fd > 2)
		close(fd);
	return NULL;
}

napi_value js_num_cpus(napi_env env, napi_callback_info info)
{
	return mk_i32(env, libbpf_num_possible_cpus());
}

/* objPin(fd, path): a map (or program) pinned in bpffs */
napi_value js_obj_pin(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	int32_t fd;
	char *path;

	if (get_args(env, info, 2, argv) || get_i32(env, argv[0], &fd))
		return NULL;
	path = get_str(env, argv[1]);
	if (!path)
		return NULL;
	if (bpf_obj_pin(fd, path))
		throw_err(env, errno, NULL, "pin fd %d at %s", fd, path);
	free(path);
	return NULL;
}

/* objGet(path) -> fd of a pinned map, program or link */
napi_value js_obj_get(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	char *path;
	int fd;

	if (get_args(env, info, 1, argv))
		return NULL;
	path = get_str(env, argv[0]);
	if (!path)
		return NULL;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		throw_err(env, errno, NULL, "open pinned %s", path);
		free(path);
		return NULL;
	}
	free(path);
	return mk_i32(env, fd);
}
