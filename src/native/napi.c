/*
 * napi.c: the addon's one failure convention (see napi.h) and the argument readers and value
 * setters every room shares. No system calls but the errno-to-name lookups, and no decisions.
 */
#include "napi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

napi_value napi_failed(napi_env env) {
  const napi_extended_error_info *info = NULL;
  char msg[256] = "N-API call failed";
  if (napi_get_last_error_info(env, &info) == napi_ok && info && info->error_message)
    snprintf(msg, sizeof msg, "%s", info->error_message);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, "ERR_NATIVE", msg);
  return NULL;
}

napi_value errno_error(napi_env env, int err, const char *syscall, const char *detail) {
  char code[64], desc[128], msg[512];
  uv_err_name_r(-err, code, sizeof code);
  uv_strerror_r(-err, desc, sizeof desc);
  if (strncmp(code, "Unknown", 7) == 0) {
#ifdef __GLIBC__
    const char *name = strerrorname_np(err);
    snprintf(code, sizeof code, "%s", name ? name : "UNKNOWN");
#else
    snprintf(code, sizeof code, "UNKNOWN");
#endif
    char buf[128];
    snprintf(desc, sizeof desc, "%s", strerror_r(err, buf, sizeof buf));
  }
  if (detail && *detail)
    snprintf(msg, sizeof msg, "%s: %s %s", syscall, desc, detail);
  else
    snprintf(msg, sizeof msg, "%s: %s", syscall, desc);

  napi_value jcode, jmsg, jerr, jerrno, jsyscall;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &jcode) != napi_ok ||
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &jmsg) != napi_ok ||
      napi_create_error(env, jcode, jmsg, &jerr) != napi_ok ||
      napi_create_int32(env, -err, &jerrno) != napi_ok ||
      napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &jsyscall) != napi_ok ||
      napi_set_named_property(env, jerr, "errno", jerrno) != napi_ok ||
      napi_set_named_property(env, jerr, "syscall", jsyscall) != napi_ok)
    return NULL;
  return jerr;
}

napi_value throw_error_value(napi_env env, napi_value e) {
  if (e == NULL) return napi_failed(env);
  napi_throw(env, e);
  return NULL;
}

napi_value throw_errno_detail(napi_env env, int err, const char *syscall, const char *detail) {
  return throw_error_value(env, errno_error(env, err, syscall, detail));
}

napi_value throw_errno(napi_env env, int err, const char *syscall) { return throw_errno_detail(env, err, syscall, NULL); }

bool bad_arg(napi_env env, const char *name, const char *type) {
  char msg[160];
  snprintf(msg, sizeof msg, "The \"%s\" argument must be of type %s", name, type);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return false;
}

bool out_of_range(napi_env env, const char *msg) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
  return false;
}

bool get_args(napi_env env, napi_callback_info info, args_t *a) {
  a->argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &a->argc, a->argv, &a->self, NULL) != napi_ok) return (napi_failed(env), false);
  for (size_t i = a->argc; i < MAX_ARGS; i++) napi_get_undefined(env, &a->argv[i]);
  return true;
}

bool is_type(napi_env env, napi_value v, napi_valuetype want) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && t == want;
}

bool arg_int(napi_env env, napi_value v, const char *name, int32_t *out) {
  if (!is_type(env, v, napi_number)) return bad_arg(env, name, "number");
  return napi_get_value_int32(env, v, out) == napi_ok || (napi_failed(env), false);
}

bool arg_uint(napi_env env, napi_value v, const char *name, uint32_t *out) {
  if (!is_type(env, v, napi_number)) return bad_arg(env, name, "number");
  return napi_get_value_uint32(env, v, out) == napi_ok || (napi_failed(env), false);
}

bool arg_id(napi_env env, napi_value v, const char *name, int64_t *out) {
  double d;
  if (!is_type(env, v, napi_number)) return bad_arg(env, name, "number");
  if (napi_get_value_double(env, v, &d) != napi_ok) return (napi_failed(env), false);
  if (d != (double)(int64_t)d || d < -1 || d > 4294967295.0) {
    char msg[160];
    snprintf(msg, sizeof msg, "The value of \"%s\" is out of range. It must be -1 or an integer from 0 to 4294967295", name);
    return out_of_range(env, msg);
  }
  *out = (int64_t)d;
  return true;
}

bool arg_bool(napi_env env, napi_value v, const char *name, bool dflt, bool *out) {
  if (is_type(env, v, napi_undefined)) {
    *out = dflt;
    return true;
  }
  if (!is_type(env, v, napi_boolean)) return bad_arg(env, name, "boolean");
  return napi_get_value_bool(env, v, out) == napi_ok || (napi_failed(env), false);
}

char *arg_string(napi_env env, napi_value v, const char *name, size_t *len) {
  size_t n = 0;
  if (!is_type(env, v, napi_string)) return (bad_arg(env, name, "string"), NULL);
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) return (napi_failed(env), NULL);
  char *s = malloc(n + 1);
  if (s == NULL) return (throw_errno(env, ENOMEM, "malloc"), NULL);
  if (napi_get_value_string_utf8(env, v, s, n + 1, &n) != napi_ok) {
    free(s);
    return (napi_failed(env), NULL);
  }
  if (len) *len = n;
  return s;
}

char *arg_cstring(napi_env env, napi_value v, const char *name) {
  size_t len;
  char *s = arg_string(env, v, name, &len);
  if (s && strlen(s) != len) {
    char msg[160];
    snprintf(msg, sizeof msg, "The argument '%s' must be a string without null bytes", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", msg);
    free(s);
    return NULL;
  }
  return s;
}

bool arg_buffer(napi_env env, napi_value v, const char *name, void **data, size_t *len) {
  bool ok = false;
  if (napi_is_buffer(env, v, &ok) != napi_ok || !ok) return bad_arg(env, name, "Buffer");
  return napi_get_buffer_info(env, v, data, len) == napi_ok || (napi_failed(env), false);
}

bool set_int(napi_env env, napi_value obj, const char *key, int64_t value) {
  napi_value v;
  return napi_create_int64(env, value, &v) == napi_ok && napi_set_named_property(env, obj, key, v) == napi_ok;
}

bool set_str(napi_env env, napi_value obj, const char *key, const char *s, size_t len) {
  napi_value v;
  return napi_create_string_utf8(env, s, len, &v) == napi_ok && napi_set_named_property(env, obj, key, v) == napi_ok;
}

napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value null_value(napi_env env) {
  napi_value n;
  napi_get_null(env, &n);
  return n;
}

napi_value int_value(napi_env env, int64_t value) {
  napi_value v;
  CHECK(napi_create_int64(env, value, &v));
  return v;
}
