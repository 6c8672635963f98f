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
	/* BTF-attached programs (fentry, fmod_ret, lsm) without a target in their section:
	 * the function (or LSM hook) they attach to, set before load */
	napi_has_named_property(env, opts, "attachTargets", &has);
	if (has) {
		napi_get_named_property(env, opts, "attachTargets", &v);
		napi_get_property_names(env, v, &keys);
		napi_get_array_length(env, keys, &n);
		for (i = 0; i < n; i++) {
			napi_value kv, vv;
			char *fn;
			napi_get_element(env, keys, i, &kv);
			k = get_str(env, kv);
			napi_get_property(env, v, kv, &vv);
			fn = get_str(env, vv);
			prog = k ? bpf_object__find_program_by_name(obj, k) : NULL;
			err = prog && fn ? bpf_program__set_attach_target(prog, 0, fn) : -ENOENT;
			if (err) {
				throw_err(env, err, NULL, "%s: attach target %s of %s", path,
					  fn ? fn : "?", k ? k : "?");
				free(fn);
				goto fail;
			}
			free(fn);
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

/* the (handle, prog, ...) arguments every attach call starts with: the program, or NULL
 * with a JS exception pending */
static struct bpf_program *attach_args(napi_env env, napi_callback_info info, size_t n,
				       napi_value *argv)
{
	struct bpf_object *obj;

	if (get_args(env, info, n, argv))
		return NULL;
	lbpf_reset();
	obj = obj_get(env, argv[0]);
	return obj ? find_prog(env, obj, argv[1]) : NULL;
}

/* an optional boolean argument: false unless it is true */
static bool opt_bool(napi_env env, napi_value v)
{
	napi_valuetype t;
	bool b = false;

	napi_typeof(env, v, &t);
	if (t == napi_boolean)
		napi_get_value_bool(env, v, &b);
	return b;
}

napi_value js_attach(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct bpf_program *p;

	p = attach_args(env, info, 2, argv);
	if (!p)
		return NULL;
	return link_result(env, bpf_program__attach(p), bpf_program__section_name(p),
			   bpf_program__name(p));
}

napi_value js_attach_tracepoint(napi_env env, napi_callback_info info)
{
	napi_value argv[4], res;
	struct bpf_program *p;
	char *cat, *name, what[256];

	p = attach_args(env, info, 4, argv);
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

/* attachUprobe(handle, prog, path, symbol, retprobe, pid, offset?, refCtrOffset?): libbpf
 * resolves the symbol in the ELF file (errno ENOENT when the file or the symbol is
 * missing); `offset` is added to the symbol's, or with symbol "" is the file offset
 * itself; `refCtrOffset` the file offset of a USDT semaphore the kernel counts up
 * while the probe is attached */
napi_value js_attach_uprobe(napi_env env, napi_callback_info info)
{
	napi_value argv[8], res;
	struct bpf_program *p;
	char *path, *sym, what[512];
	bool ret;
	int32_t pid = -1;
	int64_t off = 0, ref = 0;
	napi_valuetype t;

	p = attach_args(env, info, 8, argv);
	if (!p)
		return NULL;
	ret = opt_bool(env, argv[4]);
	napi_typeof(env, argv[5], &t);
	if (t == napi_number && get_i32(env, argv[5], &pid))
		pid = -1;
	napi_typeof(env, argv[6], &t);
	if ((t == napi_number || t == napi_bigint) && get_i64(env, argv[6], &off))
		off = 0;
	napi_typeof(env, argv[7], &t);
	if ((t == napi_number || t == napi_bigint) && get_i64(env, argv[7], &ref))
		ref = 0;
	path = get_str(env, argv[2]);
	sym = get_str(env, argv[3]);
	snprintf(what, sizeof(what), "%s %s:%s+0x%llx", ret ? "uretprobe" : "uprobe",
		 path ? path : "?", sym ? sym : "?", (unsigned long long)off);
	if (path && sym) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = sym[0] ? sym : NULL, .retprobe = ret,
			    .ref_ctr_offset = (size_t)ref);
		res = link_result(env,
				  bpf_program__attach_uprobe_opts(p, pid, path, (size_t)off, &uo),
				  what, bpf_program__name(p));
	} else {
		res = link_result(env, NULL, what, bpf_program__name(p));
	}
	free(path);
	free(sym);
	return res;
}

/* attachKprobe(handle, prog, function, retprobe): errno ENOENT when the kernel has no
 * such function (or it cannot be probed) */
napi_value js_attach_kprobe(napi_env env, napi_callback_info info)
{
	napi_value argv[4], res;
	struct bpf_program *p;
	char *fn, what[300];
	bool ret;

	p = attach_args(env, info, 4, argv);
	if (!p)
		return NULL;
	ret = opt_bool(env, argv[3]);
	fn = get_str(env, argv[2]);
	snprintf(what, sizeof(what), "%s %s", ret ? "kretprobe" : "kprobe", fn ? fn : "?");
	res = link_result(env, fn ? bpf_program__attach_kprobe(p, ret, fn) : NULL, what,
			  bpf_program__name(p));
	free(fn);
	return res;
}

napi_value js_attach_cgroup(napi_env env, napi_callback_info info)
{
	napi_value argv[3], res;
	struct bpf_program *p;
	char *path;
	int fd;

	p = attach_args(env, info, 3, argv);
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

/* linkPin(link, path): the link outlives this process (bpffs); errno EINVAL/EOPNOTSUPP
 * where the kernel's link type cannot be pinned */
napi_value js_link_pin(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	int32_t id;
	char *path;
	int err;

	if (get_args(env, info, 2, argv) || get_i32(env, argv[0], &id))
		return NULL;
	if (id <= 0 || id >= TLN_MAX_LINKS || !links[id]) {
		napi_throw_error(env, "EBADF", "tln_shim: bad link handle");
		return NULL;
	}
	path = get_str(env, argv[1]);
	if (!path)
		return NULL;
	lbpf_reset();
	err = bpf_link__pin(links[id], path);
	if (err)
		throw_err(env, err, NULL, "pin link at %s", path);
	free(path);
	return NULL;
}

/* linkRelease(link): forgets the link without detaching it (a pinned link that must
 * keep enforcing after this process); its fd closes with the process */
napi_value js_link_release(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	int32_t id;

	if (get_args(env, info, 1, argv) || get_i32(env, argv[0], &id))
		return NULL;
	if (id > 0 && id < TLN_MAX_LINKS && links[id]) {
		bpf_link__disconnect(links[id]);
		bpf_link__destroy(links[id]);
		links[id] = NULL;
	}
	return NULL;
}
