// SPDX-License-Identifier: Apache-2.0
/* tln_shim: libbpf message capture and the node-api helpers every file uses (see module.c for the JS API) */
#include "shim.h"

/* ---- libbpf messages: captured per thread, printed only with TLN_SHIM_DEBUG */

static __thread char lbpf_msgs[8192];
static __thread size_t lbpf_len;
static int lbpf_debug;

static int lbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	if (lbpf_debug) {
		va_copy(ap2, ap);
		vfprintf(stderr, fmt, ap2);
		va_end(ap2);
	}
	if (level == LIBBPF_DEBUG)
		return 0;
	if (lbpf_len < sizeof(lbpf_msgs) - 1) {
		n = vsnprintf(lbpf_msgs + lbpf_len, sizeof(lbpf_msgs) - lbpf_len, fmt, ap);
		if (n > 0)
			lbpf_len += (size_t)n;
		if (lbpf_len > sizeof(lbpf_msgs) - 1)
			lbpf_len = sizeof(lbpf_msgs) - 1;
	}
	return 0;
}

void lbpf_reset(void)
{
	lbpf_len = 0;
	lbpf_msgs[0] = 0;
}

/* ---- napi helpers -------------------------------------------------------- */

static const char *errno_code(int err)
{
	switch (err) {
	case EPERM:
		return "EPERM";
	case ENOENT:
		return "ENOENT";
	case EINVAL:
		return "EINVAL";
	case EACCES:
		return "EACCES";
	case EBADF:
		return "EBADF";
	case E2BIG:
		return "E2BIG";
	case ENOMEM:
		return "ENOMEM";
	case EEXIST:
		return "EEXIST";
	case ENOSPC:
		return "ENOSPC";
	case EBUSY:
		return "EBUSY";
	case ENOTSUP:
		return "ENOTSUP";
	case ESRCH:
		return "ESRCH";
	case ENODEV:
		return "ENODEV";
	case EFAULT:
		return "EFAULT";
	case 524:
		return "ENOTSUPP";
	default:
		return "EUNKNOWN";
	}
}

/* throws Error(msg: strerror) with errno/code and optional log/libbpf text */
void throw_err(napi_env env, int err, const char *log, const char *fmt, ...)
{
	char msg[1024], full[1400];
	napi_value e, m, v;
	va_list ap;

	if (err < 0)
		err = -err;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s: %s", msg, err ? strerror(err) : "failed");
	napi_create_string_utf8(env, full, NAPI_AUTO_LENGTH, &m);
	napi_create_error(env, NULL, m, &e);
	napi_create_int32(env, err, &v);
	napi_set_named_property(env, e, "errno", v);
	napi_create_string_utf8(env, errno_code(err), NAPI_AUTO_LENGTH, &v);
	napi_set_named_property(env, e, "code", v);
	if (log) {
		napi_create_string_utf8(env, log, NAPI_AUTO_LENGTH, &v);
		napi_set_named_property(env, e, "log", v);
	}
	if (lbpf_len) {
		napi_create_string_utf8(env, lbpf_msgs, lbpf_len, &v);
		napi_set_named_property(env, e, "libbpf", v);
	}
	napi_throw(env, e);
}

int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv)
{
	size_t argc = want;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)
		return -1;
	for (size_t i = argc; i < want; i++)
		napi_get_undefined(env, &argv[i]);
	return 0;
}

int get_i64(napi_env env, napi_value v, int64_t *out)
{
	napi_valuetype t;
	bool lossless;

	napi_typeof(env, v, &t);
	if (t == napi_bigint)
		return napi_get_value_bigint_int64(env, v, out, &lossless) == napi_ok ? 0 : -1;
	if (t == napi_boolean) {
		bool b;
		napi_get_value_bool(env, v, &b);
		*out = b;
		return 0;
	}
	return napi_get_value_int64(env, v, out) == napi_ok ? 0 : -1;
}

int get_u32(napi_env env, napi_value v, uint32_t *out)
{
	return napi_get_value_uint32(env, v, out) == napi_ok ? 0 : -1;
}

int get_i32(napi_env env, napi_value v, int32_t *out)
{
	return napi_get_value_int32(env, v, out) == napi_ok ? 0 : -1;
}

/* a malloc'd C string from a JS string */
char *get_str(napi_env env, napi_value v)
{
	size_t len;
	char *s;

	if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok)
		return NULL;
	s = malloc(len + 1);
	if (!s)
		return NULL;
	napi_get_value_string_utf8(env, v, s, len + 1, &len);
	return s;
}

int get_buf(napi_env env, napi_value v, void **data, size_t *len)
{
	bool is;

	if (napi_is_buffer(env, v, &is) != napi_ok || !is)
		return -1;
	return napi_get_buffer_info(env, v, data, len) == napi_ok ? 0 : -1;
}

napi_value mk_i32(napi_env env, int32_t x)
{
	napi_value v;

	napi_create_int32(env, x, &v);
	return v;
}

napi_value mk_f64(napi_env env, double x)
{
	napi_value v;

	napi_create_double(env, x, &v);
	return v;
}

napi_value mk_bool(napi_env env, bool x)
{
	napi_value v;

	napi_get_boolean(env, x, &v);
	return v;
}

napi_value mk_str(napi_env env, const char *s)
{
	napi_value v;

	napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
	return v;
}

void set_prop(napi_env env, napi_value obj, const char *k, napi_value v)
{
	napi_set_named_property(env, obj, k, v);
}

/* libbpf prints through lbpf_print; TLN_SHIM_DEBUG also echoes it to stderr */
void lbpf_init(void)
{
	lbpf_debug = getenv("TLN_SHIM_DEBUG") != NULL;
	libbpf_set_print(lbpf_print);
}
