// SPDX-License-Identifier: Apache-2.0
/* tln_shim: BPF objects (open, rodata, load) and their links (attach, destroy) (see module.c for the JS API) */
#include "shim.h"

/* ---- handle tables ------------------------------------------------------- */

static struct bpf_object *objs[TLN_MAX_OBJS];
static struct bpf_link *links[TLN_MAX_LINKS];

static int obj_put(struct bpf_object *o)
{
	for (int i = 1; i < TLN_MAX_OBJS; i++)
		if (!objs[i]) {
			objs[i] = o;
			return i;
		}
	return -1;
}

static struct bpf_object *obj_get(napi_env env, napi_value v)
{
	int32_t h;

	if (get_i32(env, v, &h) || h <= 0 || h >= TLN_MAX_OBJS || !objs[h]) {
		napi_throw_error(env, "EBADF", "tln_shim: bad object handle");
		return NULL;
	}
	return objs[h];
}

static int link_put(struct bpf_link *l)
{
	for (int i = 1; i < TLN_MAX_LINKS; i++)
		if (!links[i]) {
			links[i] = l;
			return i;
		}
	return -1;
}

/* ---- objects ------------------------------------------------------------- */

/* writes len bytes into the .rodata variable `name`; exact: len must be its
 * size (else the low bytes of a little-endian integer); -ENOENT when absent */
static int set_rodata_bytes(struct bpf_object *obj, const char *name, const void *data, size_t len,
			    bool exact)
{
	const struct btf *btf = bpf_object__btf(obj);
	const struct btf_type *sec, *var;
	const struct btf_var_secinfo *vs;
	struct bpf_map *map, *ro = NULL;
	const void *init;
	size_t size;
	char *copy;
	int id, i, err;

	bpf_object__for_each_map(map, obj) {
		const char *mn = bpf_map__name(map);
		size_t l = strlen(mn);
		if (l >= 7 && !strcmp(mn + l - 7, ".rodata"))
			ro = map;
	}
	if (!btf || !ro)
		return -ENOENT;
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (id < 0)
		return -ENOENT;
	sec = btf__type_by_id(btf, id);
	vs = btf_var_secinfos(sec);
	for (i = 0; i < btf_vlen(sec); i++, vs++) {
		var = btf__type_by_id(btf, vs->type);
		if (strcmp(btf__name_by_offset(btf, var->name_off), name))
			continue;
		init = bpf_map__initial_value(ro, &size);
		if (!init || vs->offset + vs->size > size)
			return -EINVAL;
		if (exact && len != vs->size)
			return -EMSGSIZE;
		copy = malloc(size);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, init, size);
		/* little-endian integers: their low bytes */
		memcpy(copy + vs->offset, data, vs->size <= len ? vs->size : len);
		err = bpf_map__set_initial_value(ro, copy, size);
		free(copy);
		return err;
	}
	return -ENOENT;
}

static int set_rodata(struct bpf_object *obj, const char *name, int64_t value)
{
	return set_rodata_bytes(obj, name, &value, sizeof(value), false);
}

napi_value js_obj_load(napi_env env, napi_callback_info info)
{
	napi_value argv[2], opts, v, keys, r, progs, maps;
	napi_valuetype t;
	struct bpf_object *obj = NULL;
	struct bpf_program *prog;
	struct bpf_map *map;
	char *path = NULL, *oname = NULL, *log = NULL, *k = NULL;
	uint32_t n, i;
	int err, h;
	bool has;

	if (get_args(env, info, 2, argv))
		return NULL;
	lbpf_reset();
	path = get_str(env, argv[0]);
	if (!path) {
		napi_throw_type_error(env, NULL, "objLoad(path, opts)");
		return NULL;
	}
	opts = argv[1];
	napi_typeof(env, opts, &t);
	if (t != napi_object)
		napi_create_object(env, &opts);
	napi_has_named_property(env, opts, "name", &has);
	if (has) {
		napi_get_named_property(env, opts, "name", &v);
		oname = get_str(env, v);
	}
	log = calloc(1, TLN_LOG_SIZE);
	if (!log) {
		throw_err(env, ENOMEM, NULL, "objLoad %s", path);
		goto out;
	}
	{
		LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = oname, .kernel_log_buf = log,
			    .kernel_log_size = TLN_LOG_SIZE, .kernel_log_level = 0);
		obj = bpf_object__open_file(path, &oo);
	}
	if (!obj) {
		throw_err(env, errno, NULL, "open %s", path);
		goto out;
	}
	/* read-only constants */
	napi_has_named_property(env, opts, "rodata", &has);
	if (has) {
		napi_get_named_property(env, opts, "rodata", &v);
		napi_get_property_names(env, v, &keys);
		napi_get_array_length(env, keys, &n);
		for (i = 0; i < n; i++) {
			napi_value kv, vv;
			int64_t x;
			void *bytes;
			size_t blen;
			napi_get_element(env, keys, i, &kv);
			k = get_str(env, kv);
			napi_get_property(env, v, kv, &vv);
			if (k && !get_buf(env, vv, &bytes, &blen)) {
				/* a struct: exactly its bytes */
				err = set_rodata_bytes(obj, k, bytes, blen, true);
			} else if (!k || get_i64(env, vv, &x)) {
				throw_err(env, EINVAL, NULL,
					  "%s: rodata %s: not a number or a Buffer", path,
					  k ? k : "?");
				goto fail;
			} else {
				err = set_rodata(obj, k, x);
			}
			if (err) {
				throw_err(env, err, NULL, "%s: rodata variable %s", path, k);
				goto fail;
			}
			free(k);
			k = NULL;
		}
	}
	/* maps the caller already created: reuse their fds */
	napi_has_named_property(env, opts, "reuse", &has);
	if (has) {
		napi_get_named_property(env, opts, "reuse", &v);
		napi_get_property_names(env, v, &keys);
		napi_get_array_length(env, keys, &n);
		for (i = 0; i < n; i++) {
			napi_value kv, vv;
			int32_t fd;
			napi_get_element(env, keys, i, &kv);
			k = get_str(env, kv);
			napi_get_property(env, v, kv, &vv);
			if (!k || get_i32(env, vv, &fd)) {
				throw_err(env, EINVAL, NULL, "%s: reuse %s: not an fd", path,
					  k ? k : "?");
				goto fail;
			}
			map = bpf_object__find_map_by_name(obj, k);
			if (!map) {
				/* an object that does not use this map: nothing to reuse */
				free(k);
				k = NULL;
				continue;
			}
			err = bpf_map__reuse_fd(map, fd);
			if (err) {
				throw_err(env, err, NULL, "%s: reuse map %s (fd %d)", path, k, fd);
				goto fail;
			}
			free(k);
			k = NULL;
		}
	}
	/* only the programs asked for */
	napi_has_named_property(env, opts, "programs", &has);
	if (has) {
		napi_value arr;
		napi_get_named_property(env, opts, "programs", &arr);
		napi_get_array_length(env, arr, &n);
		bpf_object__for_each_program(prog, obj) {
			bool want = false;
			for (i = 0; i < n && !want; i++) {
				napi_value e;
				char *pn;
				napi_get_element(env, arr, i, &e);
				pn = get_str(env, e);
				if (pn && !strcmp(pn, bpf_program__name(prog)))
					want = true;
				free(pn);
			}
			bpf_program__set_autoload(prog, want);
		}
	}
	/* load: verifier log on failure */
	err = bpf_object__load(obj);
	if (err) {
		throw_err(env, err, log, "load %s", path);
		goto fail;
	}
	h = obj_put(obj);
	if (h < 0) {
		throw_err(env, EMFILE, NULL, "load %s: too many objects", path);
		goto fail;
	}
	napi_create_object(env, &r);
	set_prop(env, r, "handle", mk_i32(env, h));
	napi_create_object(env, &progs);
	bpf_object__for_each_program(prog, obj) {
		if (bpf_program__fd(prog) >= 0)
			set_prop(env, progs, bpf_program__name(prog),
				 mk_i32(env, bpf_program__fd(prog)));
	}
	set_prop(env, r, "progs", progs);
	napi_create_object(env, &maps);
	bpf_object__for_each_map(map, obj) {
		set_prop(env, maps, bpf_map__name(map), mk_i32(env, bpf_map__fd(map)));
	}
	set_prop(env, r, "maps", maps);
	free(path);
	free(oname);
	free(log);
	return r;
fail:
	free(k);
	bpf_object__close(obj);
out:
	free(path);
	free(oname);
	free(log);
	return NULL;
}

napi_value js_obj_close(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	int32_t h;

	if (get_args(env, info, 1, argv) || get_i32(env, argv[0], &h))
		return NULL;
	if (h > 0 && h < TLN_MAX_OBJS && objs[h]) {
		bpf_object__close(objs[h]);
		objs[h] = NULL;
	}
	return NULL;
}

static struct bpf_program *find_prog(napi_env env, struct bpf_object *obj, napi_value name)
{
	char *pn = get_str(env, name);
	struct bpf_program *p = pn ? bpf_object__find_program_by_name(obj, pn) : NULL;

	if (!p)
		throw_err(env, ENOENT, NULL, "program %s", pn ? pn : "?");
	free(pn);
	return p;
}

static napi_value link_result(napi_env env, struct bpf_link *l, const char *what, const char *prog)
{
	int id;

	if (!l) {
		throw_err(env, errno, NULL, "attach %s %s", prog, what);
		return NULL;
	}
	id = link_put(l);
	if (id < 0) {
		bpf_link__destroy(l);
		throw_err(env, EMFILE, NULL, "attach %s: too many links", prog);
		return NULL;
	}
	return mk_i32(env, id);
}

napi_value js_attach(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct bpf_object *obj;
	struct bpf_program *p;

	if (get_args(env, info, 2, argv))
		return NULL;
	lbpf_reset();
	obj = obj_get(env, argv[0]);
	if (!obj)
		return NULL;
	p = find_prog(env, obj, argv[1]);
	if (!p)
		return NULL;
	return link_result(env, bpf_program__attach(p), bpf_program__section_name(p),
			   bpf_program__name(p));
}

napi_value js_attach_tracepoint(napi_env env, napi_callback_info info)
{
	napi_value argv[4], res;
	struct bpf_object *obj;
	struct bpf_program *p;
	char *cat, *name, what[256];

	if (get_args(env, info, 4, argv))
		return NULL;
	lbpf_reset();
	obj = obj_get(env, argv[0]);
	if (!obj)
		return NULL;
	p = find_prog(env, obj, argv[1]);
	if (!p)
		return NULL;
	cat = get_str(env, argv[2]);
	name = get_str(env, argv[3]);
	snprintf(what, sizeof(what), "tracepoint/%s/%s", cat ? cat : "?", name ? name : "?");
	res = link_result(env, cat && name ? bpf_program__attach_tracepoint(p, cat, name) : NULL,
			  what, bpf_program__name(p));
	free(cat);
	free(name);
	return res;
}

/* attachUprobe(handle, prog, path, symbol, retprobe, pid): libbpf resolves the
 * symbol in the ELF file (errno ENOENT when the file or the symbol is missing) */
napi_value js_attach_uprobe(napi_env env, napi_callback_info info)
{
	napi_value argv[6], res;
	struct bpf_object *obj;
	struct bpf_program *p;
	char *path, *sym, what[512];
	bool ret = false;
	int32_t pid = -1;
	napi_valuetype t;

	if (get_args(env, info, 6, argv))
		return NULL;
	lbpf_reset();
	obj = obj_get(env, argv[0]);
	if (!obj)
		return NULL;
	p = find_prog(env, obj, argv[1]);
	if (!p)
		return NULL;
	napi_typeof(env, argv[4], &t);
	if (t == napi_boolean)
		napi_get_value_bool(env, argv[4], &ret);
	napi_typeof(env, argv[5], &t);
	if (t == napi_number && get_i32(env, argv[5], &pid))
		pid = -1;
	path = get_str(env, argv[2]);
	sym = get_str(env, argv[3]);
	snprintf(what, sizeof(what), "%s %s:%s", ret ? "uretprobe" : "uprobe", path ? path : "?",
		 sym ? sym : "?");
	if (path && sym) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = sym, .retprobe = ret);
		res = link_result(env, bpf_program__attach_uprobe_opts(p, pid, path, 0, &uo), what,
				  bpf_program__name(p));
	} else {
		res = link_result(env, NULL, what, bpf_program__name(p));
	}
	free(path);
	free(sym);
	return res;
}

napi_value js_attach_cgroup(napi_env env, napi_callback_info info)
{
	napi_value argv[3], res;
	struct bpf_object *obj;
	struct bpf_program *p;
	char *path;
	int fd;

	if (get_args(env, info, 3, argv))
		return NULL;
	lbpf_reset();
	obj = obj_get(env, argv[0]);
	if (!obj)
		return NULL;
	p = find_prog(env, obj, argv[1]);
	if (!p)
		return NULL;
	path = get_str(env, argv[2]);
	if (!path)
		return NULL;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		throw_err(env, errno, NULL, "open cgroup %s", path);
		free(path);
		return NULL;
	}
	/* a bpf_link: detached when its fd closes (BPF_F_ALLOW_MULTI semantics) */
	res = link_result(env, bpf_program__attach_cgroup(p, fd), path, bpf_program__name(p));
	close(fd);
	free(path);
	return res;
}

napi_value js_link_destroy(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	int32_t id;

	if (get_args(env, info, 1, argv) || get_i32(env, argv[0], &id))
		return NULL;
	if (id > 0 && id < TLN_MAX_LINKS && links[id]) {
		bpf_link__destroy(links[id]);
		links[id] = NULL;
	}
	return NULL;
}
