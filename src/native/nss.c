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
 *   - user_exists answers "yes" without a lookup only when the last lookup's answer came from
 *     /etc/passwd and nothing it depended on can have changed since, and decides whether it
 *     may once per state of the files (see "a user's existence").
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <unistd.h>

#include "exports.h"
#include "napi.h"
#include "nss.h"

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

/*
 * A user's existence, checked before every spawn as root (the ids were resolved when the
 * configuration was read; a user deleted since must not get a process under its old uid).
 * A lookup reads nsswitch.conf's time and all of /etc/passwd, some 4 µs a spawn. Its "yes"
 * carries over to the next spawn, which then costs two stat(2) calls, when all of this held
 * while it was made: nsswitch.conf names exactly one passwd line, whose first source is
 * `files` with no action after it (so glibc answers from /etc/passwd when the name is there,
 * whatever the later sources say); the name is in /etc/passwd (read with glibc's own parser);
 * and both files stat the same before and after the reads, each last changed more than
 * STAMP_AGE_S ago, on a local filesystem (on_local_fs). A file's times come from a coarse
 * clock, so a file changed within a tick of being read could change again with the same times;
 * one older than that cannot change without new times. Any difference in either file (device,
 * inode, size, mtime, ctime) asks NSS again. A "no" to carrying over is remembered the same
 * way: while the files stay as they are, each spawn costs the stat calls and the lookup, and
 * nsswitch.conf and /etc/passwd are not read again to decide it anew.
 */
#define NSSWITCH_CONF "/etc/nsswitch.conf"
#define PASSWD_FILE "/etc/passwd"
#define STAMP_AGE_S 1

/*
 * Whether the file at `path` is on a local filesystem whose stat(2) says what the file is now.
 * A network filesystem's client may answer stat from attributes it cached seconds ago while an
 * open reads the file anew, so a stamp there could miss a change glibc would see: the list is of
 * the local filesystems /etc lives on, and any other asks NSS every time.
 */
static bool on_local_fs(const char *path) {
  static const unsigned long local[] = {
      0xEF53,     /* ext2, ext3, ext4 */
      0x58465342, /* XFS */
      0x9123683E, /* Btrfs */
      0xF2F52010, /* F2FS */
      0x2FC12FC1, /* ZFS */
      0x01021994, /* tmpfs */
      0x794C7630, /* overlayfs */
      0x73717368, /* SquashFS */
      0xE0F5E1E2, /* EROFS */
  };
  struct statfs sf;
  if (statfs(path, &sf) < 0) return false;
  for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
    if ((unsigned long)sf.f_type == local[i]) return true;
  return false;
}

static bool file_stamp(const char *path, file_stamp_t *f) {
  struct stat st;
  if (stat(path, &st) < 0) return false;
  memset(f, 0, sizeof *f);
  f->dev = st.st_dev;
  f->ino = st.st_ino;
  f->size = st.st_size;
  f->mtime = st.st_mtim;
  f->ctime = st.st_ctim;
  return true;
}

static bool same_stamp(const file_stamp_t *a, const file_stamp_t *b) {
  return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
         a->mtime.tv_nsec == b->mtime.tv_nsec && a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* Both of the file's times more than STAMP_AGE_S before `now` (a time in the future is not). */
static bool stamp_settled(const file_stamp_t *f, const struct timespec *now) {
  return f->mtime.tv_sec + STAMP_AGE_S < now->tv_sec && f->ctime.tv_sec + STAMP_AGE_S < now->tv_sec;
}

static const char *skip_blanks(const char *p) {
  while (*p == ' ' || *p == '\t') p++;
  return p;
}

/* Whether nsswitch.conf has one passwd line and it starts with `files`, no action after it. */
static bool passwd_files_first(void) {
  FILE *f = fopen(NSSWITCH_CONF, "re");
  if (f == NULL) return false;
  char line[4096];
  int lines = 0;
  bool first = false;
  while (fgets(line, sizeof line, f) != NULL) {
    size_t len = strlen(line);
    /* A line longer than the buffer is not understood: no carrying over. */
    if (len == sizeof line - 1 && line[len - 1] != '\n') {
      lines = 2;
      break;
    }
    const char *p = skip_blanks(line);
    if (strncasecmp(p, "passwd", 6) != 0) continue;
    p = skip_blanks(p + 6);
    if (*p != ':') continue;
    lines++;
    p = skip_blanks(p + 1);
    bool files = strncmp(p, "files", 5) == 0 && (p[5] == ' ' || p[5] == '\t' || p[5] == '\n' || p[5] == '\0' || p[5] == '#');
    first = files && *skip_blanks(p + 5) != '[';
  }
  fclose(f);
  return lines == 1 && first;
}

/* Whether /etc/passwd has an entry named `name`, as glibc's files source reads it. */
static bool in_passwd_file(const char *name) {
  FILE *f = fopen(PASSWD_FILE, "re");
  if (f == NULL) return false;
  struct passwd pw, *res;
  char buf[4096];
  bool found = false;
  int err;
  while ((err = fgetpwent_r(f, &pw, buf, sizeof buf, &res)) == 0) {
    if (strcmp(res->pw_name, name) == 0) {
      found = true;
      break;
    }
  }
  /* A line too long for the buffer ends the reading: not found, so no carrying over. */
  fclose(f);
  return found;
}

bool user_exists(const char *name, user_stamp_t *stamp) {
  file_stamp_t conf, pw;
  bool stamped = file_stamp(NSSWITCH_CONF, &conf) && file_stamp(PASSWD_FILE, &pw);
  bool known = stamped && stamp->verdict != STAMP_UNKNOWN && same_stamp(&conf, &stamp->nsswitch) && same_stamp(&pw, &stamp->passwd);
  if (known && stamp->verdict == STAMP_CARRY) return true;

  passwd_query_t q = {.name = name, .res = NULL};
  char *buf;
  nss_with_buffer(_SC_GETPW_R_SIZE_MAX, passwd_lookup, &q, &buf);
  bool found = q.res != NULL;
  free(buf);
  if (known || !found || !stamped) return found;

  /* The files are new to us: may this answer carry over while they stay as they are? */
  stamp->nsswitch = conf;
  stamp->passwd = pw;
  /* The files source skips entries whose names start with + or - (NIS compat). */
  if (name[0] == '+' || name[0] == '-' || !on_local_fs(NSSWITCH_CONF) || !on_local_fs(PASSWD_FILE) || !passwd_files_first() ||
      !in_passwd_file(name)) {
    stamp->verdict = STAMP_ASK;
    return found;
  }
  file_stamp_t conf2, pw2;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  bool settled = file_stamp(NSSWITCH_CONF, &conf2) && file_stamp(PASSWD_FILE, &pw2) && same_stamp(&conf, &conf2) && same_stamp(&pw, &pw2) &&
                 stamp_settled(&conf, &now) && stamp_settled(&pw, &now);
  /* Files changed within a tick of being read may change again with the same times: decide again next time. */
  stamp->verdict = settled ? STAMP_CARRY : STAMP_UNKNOWN;
  return found;
}
