/*
 * nss.c: one job, user and group lookups through the C library's NSS (getpwnam_r, getgrnam_r,
 * getgrouplist), which Node has no call for; /etc/passwd is not enough where users
 * come from LDAP or systemd-userdb.
 *
 * Functions that take decisions, and why:
 *   - nss_with_buffer retries a lookup with a doubled buffer on ERANGE, up to 16 MiB: the
 *     size sysconf suggests is only a hint, and groups with many members outgrow it.
 *   - js_getpwnam and js_getgrnam report "no such entry" as null, not an error, and treat
 *     ENOENT and ESRCH like it (some NSS modules report a missing name that way).
 *   - js_getgrouplist grows its list until every group fits (at most 16 times).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "exports.h"
#include "napi.h"

static size_t lookup_buffer_size(int name) {
  long n = sysconf(name);
  return n > 1024 ? (size_t)n : 1024;
}

static napi_value passwd_value(napi_env env, const struct passwd *pw) {
  napi_value obj;
  CHECK(napi_create_object(env, &obj));
  if (!set_str(env, obj, "name", pw->pw_name, NAPI_AUTO_LENGTH) || !set_int(env, obj, "uid", pw->pw_uid) ||
      !set_int(env, obj, "gid", pw->pw_gid) || !set_str(env, obj, "home", pw->pw_dir ? pw->pw_dir : "", NAPI_AUTO_LENGTH) ||
      !set_str(env, obj, "shell", pw->pw_shell ? pw->pw_shell : "", NAPI_AUTO_LENGTH))
    return napi_failed(env);
  return obj;
}

/*
 * Runs an NSS lookup with a buffer that doubles on ERANGE, up to 16 MiB; returns the lookup's
 * error (ENOMEM if the buffer cannot grow). The caller frees *bufp, whatever the outcome.
 */
typedef int (*nss_lookup_t)(void *query, char *buf, size_t size);
static int nss_with_buffer(int size_name, nss_lookup_t lookup, void *query, char **bufp) {
  size_t size = lookup_buffer_size(size_name);
  *bufp = NULL;
  for (;;) {
    char *grown = realloc(*bufp, size);
    if (grown == NULL) return ENOMEM;
    *bufp = grown;
    int err = lookup(query, grown, size);
    if (err != ERANGE || size >= (1u << 24)) return err;
    size *= 2;
  }
}

typedef struct {
  const char *name;
  struct passwd pw, *res;
} passwd_query_t;

static int passwd_lookup(void *query, char *buf, size_t size) {
  passwd_query_t *q = query;
  return getpwnam_r(q->name, &q->pw, buf, size, &q->res);
}

/* getpwnam_r(3) */
napi_value js_getpwnam(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a)) return NULL;
  char *name = arg_string(env, a.argv[0], "name", NULL);
  if (name == NULL) return NULL;
  passwd_query_t q = {.name = name, .res = NULL};
  char *buf;
  int err = nss_with_buffer(_SC_GETPW_R_SIZE_MAX, passwd_lookup, &q, &buf);
  napi_value result;
  if (err != 0 && err != ENOENT && err != ESRCH)
    result = throw_errno(env, err, "getpwnam_r");
  else
    result = q.res ? passwd_value(env, q.res) : null_value(env);
  free(buf);
  free(name);
  return result;
}

typedef struct {
  const char *name;
  struct group gr, *res;
} group_query_t;

static int group_lookup(void *query, char *buf, size_t size) {
  group_query_t *q = query;
  return getgrnam_r(q->name, &q->gr, buf, size, &q->res);
}

/* getgrnam_r(3) */
napi_value js_getgrnam(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a)) return NULL;
  char *name = arg_string(env, a.argv[0], "name", NULL);
  if (name == NULL) return NULL;
  group_query_t q = {.name = name, .res = NULL};
  char *buf;
  int err = nss_with_buffer(_SC_GETGR_R_SIZE_MAX, group_lookup, &q, &buf);
  napi_value result = NULL;
  if (err != 0 && err != ENOENT && err != ESRCH) {
    result = throw_errno(env, err, "getgrnam_r");
  } else if (q.res == NULL) {
    result = null_value(env);
  } else if (napi_create_object(env, &result) != napi_ok || !set_str(env, result, "name", q.res->gr_name, NAPI_AUTO_LENGTH) ||
             !set_int(env, result, "gid", q.res->gr_gid)) {
    result = napi_failed(env);
  }
  free(buf);
  free(name);
  return result;
}

/* getgrouplist(3); the list grows until every group fits. */
napi_value js_getgrouplist(napi_env env, napi_callback_info info) {
  args_t a;
  uint32_t gid;
  if (!get_args(env, info, &a) || !arg_uint(env, a.argv[1], "gid", &gid)) return NULL;
  char *user = arg_string(env, a.argv[0], "user", NULL);
  if (user == NULL) return NULL;
  int count = 32;
  gid_t *groups = NULL;
  napi_value result = NULL;
  for (int attempt = 0;; attempt++) {
    gid_t *grown = realloc(groups, (size_t)count * sizeof *groups);
    if (grown == NULL) {
      result = throw_errno(env, ENOMEM, "getgrouplist");
      goto out;
    }
    groups = grown;
    int want = count;
    if (getgrouplist(user, (gid_t)gid, groups, &want) >= 0) {
      count = want;
      break;
    }
    if (attempt >= 16) {
      result = throw_errno(env, ERANGE, "getgrouplist");
      goto out;
    }
    count = want > count ? want : count * 2;
  }
  if (napi_create_array_with_length(env, (size_t)count, &result) != napi_ok) {
    result = napi_failed(env);
    goto out;
  }
  for (int i = 0; i < count; i++) {
    napi_value v;
    if (napi_create_int64(env, groups[i], &v) != napi_ok || napi_set_element(env, result, (uint32_t)i, v) != napi_ok) {
      result = napi_failed(env);
      goto out;
    }
  }
out:
  free(groups);
  free(user);
  return result;
}
