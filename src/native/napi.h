/*
 * napi.h: the one failure convention of the addon, and the argument readers and value setters
 * every room shares. Nothing here touches the OS.
 *
 * The convention: a C function that fails has already thrown a JavaScript exception and
 * returns NULL (napi_value) or false (bool); its caller returns at once, passing the same
 * NULL/false up, and never throws a second time. What is thrown:
 *   - a failed system call: an Error shaped like Node's own, with `code` ('EADDRINUSE'),
 *     `errno` (negative) and `syscall` (throw_errno);
 *   - a bad argument: Node's TypeError ERR_INVALID_ARG_TYPE (bad_arg), or a RangeError
 *     ERR_OUT_OF_RANGE where the value is out of range;
 *   - a failed N-API call (out of memory in V8, a pending exception): an Error with code
 *     ERR_NATIVE and N-API's own message (napi_failed), unless an exception is already pending.
 * The one exception to "already thrown": the value builders (set_int, set_str, fill_sockaddr)
 * return false without throwing, so that a caller building a large object checks once and
 * returns napi_failed().
 */
#ifndef NINETD_NAPI_H
#define NINETD_NAPI_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Returns napi_failed() from the calling function when an N-API call fails. */
#define CHECK(call)                                                                         \
  do {                                                                                      \
    if ((call) != napi_ok) return napi_failed(env);                                         \
  } while (0)

/* Throws whatever N-API reported (code ERR_NATIVE), unless a JS exception is already pending. Returns NULL. */
napi_value napi_failed(napi_env env);

/* The Node-shaped Error for a positive errno, `<syscall>: <description>[ <detail>]`, not thrown; NULL if it cannot be made. */
napi_value errno_error(napi_env env, int err, const char *syscall, const char *detail);

/* Throws errno_error(err, syscall, detail). Returns NULL. */
napi_value throw_errno_detail(napi_env env, int err, const char *syscall, const char *detail);

/* Throws errno_error(err, syscall). Returns NULL. */
napi_value throw_errno(napi_env env, int err, const char *syscall);

/* Throws an Error made by errno_error after the caller added properties to it (`e` may be NULL). Returns NULL. */
napi_value throw_error_value(napi_env env, napi_value e);

/* Throws Node's ERR_INVALID_ARG_TYPE TypeError for argument `name`. Returns false. */
bool bad_arg(napi_env env, const char *name, const char *type);

/* Throws a RangeError with code ERR_OUT_OF_RANGE. Returns false. */
bool out_of_range(napi_env env, const char *msg);

#define MAX_ARGS 6

/* The arguments of a call; missing ones are `undefined`. */
typedef struct {
  size_t argc;
  napi_value argv[MAX_ARGS];
  napi_value self;
} args_t;

bool get_args(napi_env env, napi_callback_info info, args_t *a);
bool is_type(napi_env env, napi_value v, napi_valuetype want);
bool arg_int(napi_env env, napi_value v, const char *name, int32_t *out);
bool arg_uint(napi_env env, napi_value v, const char *name, uint32_t *out);
/* A uid or gid argument: -1 (unchanged) or an integer from 0 to 2^32 - 1. */
bool arg_id(napi_env env, napi_value v, const char *name, int64_t *out);
/* A boolean argument; `dflt` when undefined. */
bool arg_bool(napi_env env, napi_value v, const char *name, bool dflt, bool *out);
/* A malloc'd, NUL-terminated UTF-8 copy of a string argument; *len (if asked) excludes the NUL. */
char *arg_string(napi_env env, napi_value v, const char *name, size_t *len);
/* As arg_string, but the string must not contain NUL bytes (paths, argv, environment). */
char *arg_cstring(napi_env env, napi_value v, const char *name);
/* The bytes of a Buffer argument, not copied. */
bool arg_buffer(napi_env env, napi_value v, const char *name, void **data, size_t *len);

bool set_int(napi_env env, napi_value obj, const char *key, int64_t value);
bool set_str(napi_env env, napi_value obj, const char *key, const char *s, size_t len);
napi_value undefined(napi_env env);
napi_value null_value(napi_env env);
/* A JS number for an int, or napi_failed(). */
napi_value int_value(napi_env env, int64_t value);

#endif
