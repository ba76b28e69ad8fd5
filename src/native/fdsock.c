/*
 * fdsock: the few system calls Node does not expose and an inetd needs: sockets by number
 * (including AF_UNIX datagram and SOCK_SEQPACKET), a readiness watch that never reads the
 * socket, fcntl-style flags and locks, and NSS user and group lookups.
 *
 * Each function wraps one system call (or one libc lookup) and takes no decisions: retries,
 * back-off, address resolution and every other policy live in src/net/native.ts and its
 * callers. Every fd handed to JavaScript is close-on-exec. Errors are thrown the way Node
 * throws them: an Error with `code` ('EADDRINUSE'), `errno` (negative) and `syscall`.
 */
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* ------------------------------------------------------------------------------------------ */
/* Errors                                                                                     */

/* Throws whatever N-API reported, unless a JS exception is already pending. Returns NULL. */
static napi_value napi_failed(napi_env env) {
  const napi_extended_error_info *info = NULL;
  char msg[256] = "N-API call failed";
  if (napi_get_last_error_info(env, &info) == napi_ok && info && info->error_message)
    snprintf(msg, sizeof msg, "%s", info->error_message);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, "ERR_NATIVE", msg);
  return NULL;
}

#define CHECK(call)                                                                         \
  do {                                                                                      \
    if ((call) != napi_ok) return napi_failed(env);                                         \
  } while (0)

/* Builds Node's error shape for a positive errno: `<syscall>: <description>[ <detail>]`. */
static napi_value errno_error(napi_env env, int err, const char *syscall, const char *detail) {
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

/* Throws the errno error for `syscall`. Returns NULL so callers can `return throw_errno(...)`. */
static napi_value throw_errno_detail(napi_env env, int err, const char *syscall, const char *detail) {
  napi_value e = errno_error(env, err, syscall, detail);
  if (e == NULL) return napi_failed(env);
  napi_throw(env, e);
  return NULL;
}

static napi_value throw_errno(napi_env env, int err, const char *syscall) {
  return throw_errno_detail(env, err, syscall, NULL);
}

/* Throws Node's ERR_INVALID_ARG_TYPE TypeError. */
static bool bad_arg(napi_env env, const char *name, const char *type) {
  char msg[160];
  snprintf(msg, sizeof msg, "The \"%s\" argument must be of type %s", name, type);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return false;
}

/* ------------------------------------------------------------------------------------------ */
/* Arguments                                                                                  */

#define MAX_ARGS 4

typedef struct {
  size_t argc;
  napi_value argv[MAX_ARGS];
  napi_value self;
} args_t;

static bool get_args(napi_env env, napi_callback_info info, args_t *a) {
  a->argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &a->argc, a->argv, &a->self, NULL) != napi_ok) {
    napi_failed(env);
    return false;
  }
  for (size_t i = a->argc; i < MAX_ARGS; i++) napi_get_undefined(env, &a->argv[i]);
  return true;
}

static bool is_type(napi_env env, napi_value v, napi_valuetype want) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && t == want;
}

static bool arg_int(napi_env env, napi_value v, const char *name, int32_t *out) {
  if (!is_type(env, v, napi_number)) return bad_arg(env, name, "number");
  return napi_get_value_int32(env, v, out) == napi_ok;
}

static bool arg_uint(napi_env env, napi_value v, const char *name, uint32_t *out) {
  if (!is_type(env, v, napi_number)) return bad_arg(env, name, "number");
  return napi_get_value_uint32(env, v, out) == napi_ok;
}

static bool arg_bool(napi_env env, napi_value v, const char *name, bool dflt, bool *out) {
  if (is_type(env, v, napi_undefined)) {
    *out = dflt;
    return true;
  }
  if (!is_type(env, v, napi_boolean)) return bad_arg(env, name, "boolean");
  return napi_get_value_bool(env, v, out) == napi_ok;
}

/* A malloc'd, NUL-terminated UTF-8 copy of a string argument; *len excludes the NUL. */
static char *arg_string(napi_env env, napi_value v, const char *name, size_t *len) {
  size_t n = 0;
  if (!is_type(env, v, napi_string)) {
    bad_arg(env, name, "string");
    return NULL;
  }
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) {
    napi_failed(env);
    return NULL;
  }
  char *s = malloc(n + 1);
  if (s == NULL) {
    throw_errno(env, ENOMEM, "malloc");
    return NULL;
  }
  if (napi_get_value_string_utf8(env, v, s, n + 1, &n) != napi_ok) {
    free(s);
    napi_failed(env);
    return NULL;
  }
  if (len) *len = n;
  return s;
}

static bool arg_buffer(napi_env env, napi_value v, const char *name, void **data, size_t *len) {
  bool ok = false;
  if (napi_is_buffer(env, v, &ok) != napi_ok || !ok) return bad_arg(env, name, "Buffer");
  return napi_get_buffer_info(env, v, data, len) == napi_ok;
}

/* ------------------------------------------------------------------------------------------ */
/* Small value builders                                                                       */

static bool set_int(napi_env env, napi_value obj, const char *key, int64_t value) {
  napi_value v;
  return napi_create_int64(env, value, &v) == napi_ok && napi_set_named_property(env, obj, key, v) == napi_ok;
}

static bool set_str(napi_env env, napi_value obj, const char *key, const char *s, size_t len) {
  napi_value v;
  return napi_create_string_utf8(env, s, len, &v) == napi_ok && napi_set_named_property(env, obj, key, v) == napi_ok;
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static napi_value null_value(napi_env env) {
  napi_value n;
  napi_get_null(env, &n);
  return n;
}

/* ------------------------------------------------------------------------------------------ */
/* Socket addresses                                                                           */

/* The socket's address family, from getsockopt(SO_DOMAIN); -1 with errno set on failure. */
static int socket_domain(int fd) {
  int domain = 0;
  socklen_t len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) return -1;
  return domain;
}

/*
 * Text to sockaddr for `domain`. Inet: '' or '*' is the any address; IPv6 may carry %scope
 * (interface name or number). Unix: a path, '@name' for the abstract namespace, '' for
 * none (autobind on bind). Returns 0 or a positive errno, with `why` naming the bad part.
 */
static int make_sockaddr(int domain, const char *host, size_t hostlen, int32_t port, struct sockaddr_storage *ss,
                         socklen_t *sslen, char *why, size_t whylen) {
  memset(ss, 0, sizeof *ss);
  why[0] = '\0';
  if (domain == AF_UNIX) {
    struct sockaddr_un *sun = (struct sockaddr_un *)ss;
    sun->sun_family = AF_UNIX;
    if (hostlen == 0) {
      *sslen = offsetof(struct sockaddr_un, sun_path);
      return 0;
    }
    bool abstract = host[0] == '@';
    if (!abstract && strlen(host) != hostlen) {
      snprintf(why, whylen, "(path contains a NUL byte)");
      return EINVAL;
    }
    if (hostlen > sizeof sun->sun_path - (abstract ? 0 : 1)) {
      snprintf(why, whylen, "(unix socket path longer than %zu bytes)", sizeof sun->sun_path - 1);
      return ENAMETOOLONG;
    }
    memcpy(sun->sun_path, host, hostlen);
    if (abstract) sun->sun_path[0] = '\0';
    *sslen = offsetof(struct sockaddr_un, sun_path) + hostlen + (abstract ? 0 : 1);
    return 0;
  }
  if (port < 0 || port > 65535) {
    snprintf(why, whylen, "(port %d out of range)", (int)port);
    return EINVAL;
  }
  bool any = hostlen == 0 || strcmp(host, "*") == 0;
  if (domain == AF_INET) {
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    sin->sin_addr.s_addr = htonl(INADDR_ANY);
    if (!any && inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
      snprintf(why, whylen, "(invalid IPv4 address \"%.64s\")", host);
      return EINVAL;
    }
    *sslen = sizeof *sin;
    return 0;
  }
  if (domain == AF_INET6) {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)port);
    sin6->sin6_addr = in6addr_any;
    *sslen = sizeof *sin6;
    if (any) return 0;
    char addr[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    if (hostlen >= sizeof addr) {
      snprintf(why, whylen, "(invalid IPv6 address \"%.64s\")", host);
      return EINVAL;
    }
    memcpy(addr, host, hostlen + 1);
    char *scope = strchr(addr, '%');
    if (scope) *scope++ = '\0';
    if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1) {
      snprintf(why, whylen, "(invalid IPv6 address \"%.64s\")", host);
      return EINVAL;
    }
    if (scope) {
      char *end = NULL;
      unsigned long n = strtoul(scope, &end, 10);
      if (*scope != '\0' && *end == '\0' && n <= UINT32_MAX) {
        sin6->sin6_scope_id = (uint32_t)n;
      } else {
        unsigned idx = if_nametoindex(scope);
        if (idx == 0) {
          snprintf(why, whylen, "(no interface \"%.32s\")", scope);
          return ENODEV;
        }
        sin6->sin6_scope_id = idx;
      }
    }
    return 0;
  }
  return EAFNOSUPPORT;
}

/* Fills `obj` with the SockAddr view of a kernel address; `domain` stands in for an empty one. */
static bool fill_sockaddr(napi_env env, napi_value obj, const struct sockaddr_storage *ss, socklen_t len, int domain) {
  int family = len >= sizeof(sa_family_t) ? ss->ss_family : domain;
  char text[INET6_ADDRSTRLEN];
  if (family == AF_INET) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
    inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
    return set_str(env, obj, "family", "IPv4", NAPI_AUTO_LENGTH) && set_str(env, obj, "address", text, NAPI_AUTO_LENGTH) &&
           set_int(env, obj, "port", ntohs(sin->sin_port));
  }
  if (family == AF_INET6) {
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
    inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof text);
    if (!set_str(env, obj, "family", "IPv6", NAPI_AUTO_LENGTH) || !set_str(env, obj, "address", text, NAPI_AUTO_LENGTH) ||
        !set_int(env, obj, "port", ntohs(sin6->sin6_port)))
      return false;
    return sin6->sin6_scope_id == 0 || set_int(env, obj, "scopeId", sin6->sin6_scope_id);
  }
  if (family == AF_UNIX) {
    const struct sockaddr_un *sun = (const struct sockaddr_un *)ss;
    size_t off = offsetof(struct sockaddr_un, sun_path);
    size_t n = len > off ? len - off : 0;
    if (n > sizeof sun->sun_path) n = sizeof sun->sun_path;
    char path[sizeof sun->sun_path + 1];
    if (n > 0 && sun->sun_path[0] == '\0') {
      path[0] = '@';
      memcpy(path + 1, sun->sun_path + 1, n - 1);
    } else {
      n = strnlen(sun->sun_path, n);
      memcpy(path, sun->sun_path, n);
    }
    return set_str(env, obj, "family", "unix", NAPI_AUTO_LENGTH) && set_str(env, obj, "path", path, n);
  }
  char fam[32];
  snprintf(fam, sizeof fam, "%d", family);
  return set_str(env, obj, "family", fam, NAPI_AUTO_LENGTH);
}

static napi_value sockaddr_value(napi_env env, const struct sockaddr_storage *ss, socklen_t len, int domain) {
  napi_value obj;
  CHECK(napi_create_object(env, &obj));
  if (!fill_sockaddr(env, obj, ss, len, domain)) return napi_failed(env);
  return obj;
}

/* Reads a SockAddr object ({family, address, port, scopeId?} or {family: 'unix', path}). */
static bool js_to_sockaddr(napi_env env, napi_value obj, const char *syscall, struct sockaddr_storage *ss, socklen_t *sslen) {
  if (!is_type(env, obj, napi_object)) return bad_arg(env, "to", "object");
  napi_value v;
  char family[8] = "";
  size_t n = 0;
  if (napi_get_named_property(env, obj, "family", &v) != napi_ok || !is_type(env, v, napi_string)) return bad_arg(env, "to.family", "string");
  napi_get_value_string_utf8(env, v, family, sizeof family, &n);
  int domain = strcmp(family, "IPv4") == 0 ? AF_INET : strcmp(family, "IPv6") == 0 ? AF_INET6 : strcmp(family, "unix") == 0 ? AF_UNIX : -1;
  if (domain < 0) {
    throw_errno_detail(env, EAFNOSUPPORT, syscall, "(family must be IPv4, IPv6 or unix)");
    return false;
  }
  int32_t port = 0;
  uint32_t scope = 0;
  char *text;
  size_t len = 0;
  if (domain == AF_UNIX) {
    if (napi_get_named_property(env, obj, "path", &v) != napi_ok) return napi_failed(env) != NULL;
    text = arg_string(env, v, "to.path", &len);
  } else {
    if (napi_get_named_property(env, obj, "port", &v) != napi_ok || !arg_int(env, v, "to.port", &port)) return false;
    if (napi_get_named_property(env, obj, "scopeId", &v) != napi_ok) return napi_failed(env) != NULL;
    if (!is_type(env, v, napi_undefined) && !arg_uint(env, v, "to.scopeId", &scope)) return false;
    if (napi_get_named_property(env, obj, "address", &v) != napi_ok) return napi_failed(env) != NULL;
    text = arg_string(env, v, "to.address", &len);
  }
  if (text == NULL) return false;
  char why[96];
  int err = make_sockaddr(domain, text, len, port, ss, sslen, why, sizeof why);
  free(text);
  if (err) {
    throw_errno_detail(env, err, syscall, why);
    return false;
  }
  if (domain == AF_INET6 && scope) ((struct sockaddr_in6 *)ss)->sin6_scope_id = scope;
  return true;
}

/* ------------------------------------------------------------------------------------------ */
/* Sockets                                                                                    */

/* socket(2), always SOCK_CLOEXEC | SOCK_NONBLOCK. */
static napi_value js_socket(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t domain, type;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "domain", &domain) || !arg_int(env, a.argv[1], "type", &type)) return NULL;
  int fd = socket(domain, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  napi_value r;
  CHECK(napi_create_int32(env, fd, &r));
  return r;
}

/* setsockopt(2) with an int value. */
static napi_value js_setsockopt(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd, level, name, value;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd) || !arg_int(env, a.argv[1], "level", &level) ||
      !arg_int(env, a.argv[2], "name", &name) || !arg_int(env, a.argv[3], "value", &value))
    return NULL;
  if (setsockopt(fd, level, name, &value, sizeof value) < 0) return throw_errno(env, errno, "setsockopt");
  return undefined(env);
}

/* getsockopt(2) for an int option. */
static napi_value js_getsockopt(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd, level, name;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd) || !arg_int(env, a.argv[1], "level", &level) ||
      !arg_int(env, a.argv[2], "name", &name))
    return NULL;
  int value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(fd, level, name, &value, &len) < 0) return throw_errno(env, errno, "getsockopt");
  napi_value r;
  CHECK(napi_create_int32(env, value, &r));
  return r;
}

/* Shared by bind(2) and connect(2): the address family comes from the socket itself. */
static napi_value bind_or_connect(napi_env env, napi_callback_info info, bool is_bind) {
  const char *syscall = is_bind ? "bind" : "connect";
  args_t a;
  int32_t fd, port = 0;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd)) return NULL;
  if (!is_type(env, a.argv[2], napi_undefined) && !arg_int(env, a.argv[2], "port", &port)) return NULL;
  size_t len;
  char *host = arg_string(env, a.argv[1], "host", &len);
  if (host == NULL) return NULL;
  int domain = socket_domain(fd);
  if (domain < 0) {
    free(host);
    return throw_errno(env, errno, syscall);
  }
  struct sockaddr_storage ss;
  socklen_t sslen;
  char why[96];
  int err = make_sockaddr(domain, host, len, domain == AF_UNIX ? 0 : port, &ss, &sslen, why, sizeof why);
  free(host);
  if (err) return throw_errno_detail(env, err, syscall, why);
  int r = is_bind ? bind(fd, (struct sockaddr *)&ss, sslen) : connect(fd, (struct sockaddr *)&ss, sslen);
  if (r < 0) return throw_errno(env, errno, syscall);
  return undefined(env);
}

/* bind(2) */
static napi_value js_bind(napi_env env, napi_callback_info info) { return bind_or_connect(env, info, true); }

/* connect(2); on a non-blocking socket EINPROGRESS/EAGAIN are thrown like any other error. */
static napi_value js_connect(napi_env env, napi_callback_info info) { return bind_or_connect(env, info, false); }

/* listen(2) */
static napi_value js_listen(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd, backlog;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd) || !arg_int(env, a.argv[1], "backlog", &backlog)) return NULL;
  if (listen(fd, backlog) < 0) return throw_errno(env, errno, "listen");
  return undefined(env);
}

/* accept4(2) with SOCK_CLOEXEC (and SOCK_NONBLOCK on request); null when nothing is pending. */
static napi_value js_accept(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd;
  bool nonblock;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd) || !arg_bool(env, a.argv[1], "nonblock", false, &nonblock)) return NULL;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&ss, 0, sizeof ss);
  int conn = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0));
  if (conn < 0) {
    int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ECONNABORTED || err == EINTR) return null_value(env);
    return throw_errno(env, err, "accept");
  }
  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok || !set_int(env, obj, "fd", conn) ||
      !fill_sockaddr(env, obj, &ss, len, len < sizeof(sa_family_t) ? socket_domain(conn) : AF_UNSPEC)) {
    close(conn);
    return napi_failed(env);
  }
  return obj;
}

/* Shared by getsockname(2) and getpeername(2). */
static napi_value sock_or_peer_name(napi_env env, napi_callback_info info, bool peer) {
  args_t a;
  int32_t fd;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd)) return NULL;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&ss, 0, sizeof ss);
  int r = peer ? getpeername(fd, (struct sockaddr *)&ss, &len) : getsockname(fd, (struct sockaddr *)&ss, &len);
  if (r < 0) return throw_errno(env, errno, peer ? "getpeername" : "getsockname");
  return sockaddr_value(env, &ss, len, len < sizeof(sa_family_t) ? socket_domain(fd) : AF_UNSPEC);
}

/* getsockname(2) */
static napi_value js_getsockname(napi_env env, napi_callback_info info) { return sock_or_peer_name(env, info, false); }

/* getpeername(2) */
static napi_value js_getpeername(napi_env env, napi_callback_info info) { return sock_or_peer_name(env, info, true); }

/* getsockopt(2) SO_PEERCRED */
static napi_value js_getpeercred(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd)) return NULL;
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return throw_errno(env, errno, "getsockopt");
  napi_value obj;
  CHECK(napi_create_object(env, &obj));
  if (!set_int(env, obj, "pid", cred.pid) || !set_int(env, obj, "uid", cred.uid) || !set_int(env, obj, "gid", cred.gid)) return napi_failed(env);
  return obj;
}

/* recvfrom(2) with MSG_DONTWAIT into the caller's buffer; null when nothing is queued. */
static napi_value js_recvfrom(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd;
  void *data;
  size_t size;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd) || !arg_buffer(env, a.argv[1], "buf", &data, &size)) return NULL;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&ss, 0, sizeof ss);
  ssize_t n = recvfrom(fd, data, size, MSG_DONTWAIT, (struct sockaddr *)&ss, &len);
  if (n < 0) {
    int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) return null_value(env);
    return throw_errno(env, err, "recvfrom");
  }
  int domain = AF_UNSPEC;
  if (len < sizeof(sa_family_t)) {
    /* An unbound unix sender, or a connected stream socket that reports no source. */
    domain = socket_domain(fd);
    if (domain != AF_UNIX) {
      len = sizeof ss;
      if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) len = 0;
    }
  }
  napi_value obj, from;
  CHECK(napi_create_object(env, &obj));
  if (!set_int(env, obj, "bytes", n)) return napi_failed(env);
  from = sockaddr_value(env, &ss, len, domain);
  if (from == NULL) return NULL;
  CHECK(napi_set_named_property(env, obj, "from", from));
  return obj;
}

static napi_value send_to(napi_env env, int fd, const void *data, size_t size, const struct sockaddr_storage *ss, socklen_t len) {
  ssize_t n = sendto(fd, data, size, MSG_DONTWAIT | MSG_NOSIGNAL, len ? (const struct sockaddr *)ss : NULL, len);
  if (n < 0) return throw_errno(env, errno, "sendto");
  napi_value r;
  CHECK(napi_create_int64(env, n, &r));
  return r;
}

/* sendto(2) with MSG_DONTWAIT | MSG_NOSIGNAL to an inet or unix SockAddr. */
static napi_value js_sendto(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd;
  void *data;
  size_t size;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd) || !arg_buffer(env, a.argv[1], "buf", &data, &size)) return NULL;
  struct sockaddr_storage ss;
  socklen_t len;
  if (!js_to_sockaddr(env, a.argv[2], "sendto", &ss, &len)) return NULL;
  /* An unnamed unix destination means "the connected peer". */
  if (ss.ss_family == AF_UNIX && len <= offsetof(struct sockaddr_un, sun_path)) len = 0;
  return send_to(env, fd, data, size, &ss, len);
}

/* sendto(2) to a unix path or '@abstract' name (sd_notify, /dev/log). */
static napi_value js_sendtoUnix(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd;
  void *data;
  size_t size, plen;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd) || !arg_buffer(env, a.argv[1], "data", &data, &size)) return NULL;
  char *path = arg_string(env, a.argv[2], "path", &plen);
  if (path == NULL) return NULL;
  struct sockaddr_storage ss;
  socklen_t len;
  char why[96];
  int err = plen == 0 ? EINVAL : make_sockaddr(AF_UNIX, path, plen, 0, &ss, &len, why, sizeof why);
  free(path);
  if (err) return throw_errno_detail(env, err, "sendto", plen == 0 ? "(empty unix socket path)" : why);
  return send_to(env, fd, data, size, &ss, len);
}

/* ------------------------------------------------------------------------------------------ */
/* File descriptors                                                                           */

/* ioctl(2) FIONBIO: sets or clears O_NONBLOCK on the open file description. */
static napi_value js_setNonBlocking(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd;
  bool on;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd) || !arg_bool(env, a.argv[1], "on", true, &on)) return NULL;
  int v = on ? 1 : 0;
  if (ioctl(fd, FIONBIO, &v) < 0) return throw_errno(env, errno, "ioctl");
  return undefined(env);
}

/* fcntl(2) F_GETFL */
static napi_value js_getFlags(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd)) return NULL;
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return throw_errno(env, errno, "fcntl");
  napi_value r;
  CHECK(napi_create_int32(env, flags, &r));
  return r;
}

/* close(2); EINTR still closes the fd on Linux, so it is not an error. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd)) return NULL;
  if (close(fd) < 0 && errno != EINTR) return throw_errno(env, errno, "close");
  return undefined(env);
}

/* close_range(2) with CLOSE_RANGE_CLOEXEC; on older kernels, fcntl(2) F_SETFD over /proc/self/fd. */
static napi_value js_cloexecFrom(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t min;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "minFd", &min)) return NULL;
  if (min < 0) return throw_errno_detail(env, EINVAL, "close_range", "(negative fd)");
  int err = ENOSYS;
#ifdef SYS_close_range
  if (syscall(SYS_close_range, (unsigned)min, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return undefined(env);
  err = errno;
#endif
  if (err != ENOSYS && err != EINVAL) return throw_errno(env, err, "close_range");
  DIR *dir = opendir("/proc/self/fd");
  if (dir == NULL) return throw_errno(env, errno, "opendir");
  int self = dirfd(dir);
  struct dirent *de;
  while ((de = readdir(dir)) != NULL) {
    char *end;
    long fd = strtol(de->d_name, &end, 10);
    if (*end != '\0' || end == de->d_name || fd < min || fd == self) continue;
    int flags = fcntl((int)fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC)) fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC);
  }
  closedir(dir);
  return undefined(env);
}

/* Throws EAGAIN for a pid file locked by `pid`, with `pid` and `path` on the error. */
static napi_value throw_locked(napi_env env, const char *path, pid_t pid) {
  char detail[64];
  snprintf(detail, sizeof detail, "(locked by pid %d)", (int)pid);
  napi_value e = errno_error(env, EAGAIN, "fcntl", detail);
  if (e == NULL || !set_int(env, e, "pid", pid) || !set_str(env, e, "path", path, NAPI_AUTO_LENGTH)) return napi_failed(env);
  napi_throw(env, e);
  return NULL;
}

/*
 * open(2) + fcntl(2) F_SETLK: the pid file, write-locked for as long as the returned fd stays
 * open, holding "<pid>\n". The file is opened once only: closing any fd on it would drop the
 * lock. A process must not call this twice for one path (POSIX locks do not conflict with the
 * process's own).
 */
static napi_value js_lockPidFile(napi_env env, napi_callback_info info) {
  args_t a;
  size_t plen;
  if (!get_args(env, info, &a)) return NULL;
  char *path = arg_string(env, a.argv[0], "path", &plen);
  if (path == NULL) return NULL;
  napi_value result = NULL;
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    napi_value e = errno_error(env, errno, "open", NULL);
    if (e == NULL || !set_str(env, e, "path", path, NAPI_AUTO_LENGTH))
      napi_failed(env);
    else
      napi_throw(env, e);
    goto out;
  }
  for (int attempt = 0;; attempt++) {
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(fd, F_SETLK, &fl) == 0) break;
    int err = errno;
    if (err != EAGAIN && err != EACCES) {
      close(fd);
      result = throw_errno(env, err, "fcntl");
      goto out;
    }
    struct flock holder = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if ((fcntl(fd, F_GETLK, &holder) == 0 && holder.l_type != F_UNLCK) || attempt >= 3) {
      close(fd);
      result = throw_locked(env, path, holder.l_type != F_UNLCK ? holder.l_pid : 0);
      goto out;
    }
    /* The holder let go between the two calls: try again. */
  }
  char text[32];
  int n = snprintf(text, sizeof text, "%d\n", (int)getpid());
  if (ftruncate(fd, 0) < 0) {
    int err = errno;
    close(fd);
    result = throw_errno(env, err, "ftruncate");
    goto out;
  }
  ssize_t w = pwrite(fd, text, (size_t)n, 0);
  if (w != n) {
    int err = w < 0 ? errno : EIO;
    close(fd);
    result = throw_errno(env, err, "write");
    goto out;
  }
  if (napi_create_int32(env, fd, &result) != napi_ok) {
    close(fd);
    result = napi_failed(env);
  }
out:
  free(path);
  return result;
}

/* ------------------------------------------------------------------------------------------ */
/* Users and groups (through NSS)                                                             */

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

/* getpwnam_r(3) when `name` is set, else getpwuid_r(3); the buffer grows on ERANGE. */
static napi_value lookup_passwd(napi_env env, const char *name, uid_t uid) {
  size_t size = lookup_buffer_size(_SC_GETPW_R_SIZE_MAX);
  struct passwd pw, *res = NULL;
  char *buf = NULL;
  int err;
  for (;;) {
    char *grown = realloc(buf, size);
    if (grown == NULL) {
      err = ENOMEM;
      break;
    }
    buf = grown;
    err = name ? getpwnam_r(name, &pw, buf, size, &res) : getpwuid_r(uid, &pw, buf, size, &res);
    if (err != ERANGE || size >= (1u << 24)) break;
    size *= 2;
  }
  napi_value result;
  if (err != 0 && err != ENOENT && err != ESRCH)
    result = throw_errno(env, err, name ? "getpwnam_r" : "getpwuid_r");
  else
    result = res ? passwd_value(env, res) : null_value(env);
  free(buf);
  return result;
}

/* getpwnam_r(3) */
static napi_value js_getpwnam(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a)) return NULL;
  char *name = arg_string(env, a.argv[0], "name", NULL);
  if (name == NULL) return NULL;
  napi_value r = lookup_passwd(env, name, 0);
  free(name);
  return r;
}

/* getpwuid_r(3) */
static napi_value js_getpwuid(napi_env env, napi_callback_info info) {
  args_t a;
  uint32_t uid;
  if (!get_args(env, info, &a) || !arg_uint(env, a.argv[0], "uid", &uid)) return NULL;
  return lookup_passwd(env, NULL, (uid_t)uid);
}

/* getgrnam_r(3); the buffer grows on ERANGE. */
static napi_value js_getgrnam(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a)) return NULL;
  char *name = arg_string(env, a.argv[0], "name", NULL);
  if (name == NULL) return NULL;
  size_t size = lookup_buffer_size(_SC_GETGR_R_SIZE_MAX);
  struct group gr, *res = NULL;
  char *buf = NULL;
  int err;
  for (;;) {
    char *grown = realloc(buf, size);
    if (grown == NULL) {
      err = ENOMEM;
      break;
    }
    buf = grown;
    err = getgrnam_r(name, &gr, buf, size, &res);
    if (err != ERANGE || size >= (1u << 24)) break;
    size *= 2;
  }
  napi_value result = NULL;
  if (err != 0 && err != ENOENT && err != ESRCH) {
    result = throw_errno(env, err, "getgrnam_r");
  } else if (res == NULL) {
    result = null_value(env);
  } else if (napi_create_object(env, &result) != napi_ok || !set_str(env, result, "name", res->gr_name, NAPI_AUTO_LENGTH) ||
             !set_int(env, result, "gid", res->gr_gid)) {
    result = napi_failed(env);
  }
  free(buf);
  free(name);
  return result;
}

/* getgrouplist(3); the list grows until every group fits. */
static napi_value js_getgrouplist(napi_env env, napi_callback_info info) {
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

/* ------------------------------------------------------------------------------------------ */
/* Poller: readiness of an fd through the loop's own epoll, without reading it                */

/*
 * The C side lives until both the uv handle has finished closing and the JS object has been
 * finalized, whichever comes last. While started, the JS object is held strongly so that it
 * (and its callback) cannot be collected under a live handle.
 */
typedef struct {
  uv_poll_t handle;
  napi_env env;
  napi_ref wrapper;         /* the JS object; refcount 1 while active, else weak */
  napi_ref cb;              /* the JS callback */
  napi_async_context async; /* so callbacks run in a proper callback scope */
  bool active;              /* wrapper is strong */
  bool closing;             /* uv_close called; JS references released */
  bool closed;              /* uv_close callback has run */
  bool finalized;           /* the JS object is gone (or never existed) */
  /* Holds environment teardown (and the unloading of this code) until the close callback ran. */
  napi_async_cleanup_hook_handle hook;
} poller_t;

static void poller_closed(uv_handle_t *h) {
  poller_t *p = h->data;
  p->closed = true;
  if (p->hook) {
    napi_remove_async_cleanup_hook(p->hook);
    p->hook = NULL;
  }
  if (p->finalized) free(p);
}

/* Drops the JS references and starts uv_close; safe to call more than once. */
static void poller_release(poller_t *p) {
  if (p->closing) return;
  p->closing = true;
  napi_env env = p->env;
  if (p->active) {
    p->active = false;
    napi_reference_unref(env, p->wrapper, NULL);
  }
  if (p->async) {
    napi_async_destroy(env, p->async);
    p->async = NULL;
  }
  if (p->cb) {
    napi_delete_reference(env, p->cb);
    p->cb = NULL;
  }
  /*
   * uv_close issues EPOLL_CTL_DEL for the fd number. A stopped handle is already out of epoll,
   * and when this close comes late (a GC finalizer, or a caller that closed the fd first) that
   * number may by now belong to another socket with its own live Poller, whose watch the DEL
   * would silently remove. So a stopped handle forgets its fd before closing.
   */
  if (!uv_is_active((uv_handle_t *)&p->handle)) p->handle.io_watcher.fd = -1;
  uv_close((uv_handle_t *)&p->handle, poller_closed);
}

/* Environment teardown (worker or process exit) with the poller open; poller_closed finishes it. */
static void poller_teardown(napi_async_cleanup_hook_handle hook, void *arg) {
  poller_t *p = arg;
  p->hook = hook;
  poller_release(p);
}

static void poller_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  poller_t *p = data;
  p->finalized = true;
  poller_release(p);
  if (p->wrapper) {
    napi_delete_reference(env, p->wrapper);
    p->wrapper = NULL;
  }
  if (p->closed) free(p);
}

/* uv_poll callback: hands (err, events) to JS inside a callback scope. */
static void poller_event(uv_poll_t *h, int status, int events) {
  poller_t *p = h->data;
  if (p->closing) return;
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value self = NULL, cb = NULL, argv[2], result;
  napi_get_reference_value(env, p->wrapper, &self);
  napi_get_reference_value(env, p->cb, &cb);
  if (self == NULL) napi_get_global(env, &self);
  if (status < 0) {
    argv[0] = errno_error(env, -status, "uv_poll", NULL);
    napi_create_int32(env, 0, &argv[1]);
  } else {
    napi_get_null(env, &argv[0]);
    napi_create_int32(env, events, &argv[1]);
  }
  /*
   * On POLLERR libuv has already stopped the handle but left the fd in epoll; finish the job as
   * stop() would (EPOLL_CTL_DEL while the fd is surely still ours) and let the object go.
   */
  if (!uv_is_active((uv_handle_t *)h)) {
    uv_poll_stop(h);
    if (p->active) {
      p->active = false;
      napi_reference_unref(env, p->wrapper, NULL);
    }
  }
  if (cb != NULL && argv[0] != NULL) napi_make_callback(env, p->async, self, cb, 2, argv, &result);
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value exc;
    if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
  }
  napi_close_handle_scope(env, scope);
}

static poller_t *unwrap_poller(napi_env env, napi_value self) {
  poller_t *p = NULL;
  if (napi_unwrap(env, self, (void **)&p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_THIS", "Value of \"this\" must be of type Poller");
    return NULL;
  }
  return p;
}

/* uv_poll_init(3) on the fd; sets O_NONBLOCK on it, and fails with EEXIST if it is watched. */
static napi_value poller_new(napi_env env, napi_callback_info info) {
  args_t a;
  napi_value target;
  int32_t fd;
  CHECK(napi_get_new_target(env, info, &target));
  if (target == NULL) {
    napi_throw_type_error(env, "ERR_CONSTRUCT_CALL_REQUIRED", "Class constructor Poller cannot be invoked without 'new'");
    return NULL;
  }
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd)) return NULL;
  if (!is_type(env, a.argv[1], napi_function)) {
    bad_arg(env, "cb", "function");
    return NULL;
  }
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  poller_t *p = calloc(1, sizeof *p);
  if (p == NULL) return throw_errno(env, ENOMEM, "malloc");
  int r = uv_poll_init(loop, &p->handle, fd);
  if (r < 0) {
    free(p);
    return throw_errno(env, -r, "uv_poll_init");
  }
  p->handle.data = p;
  p->env = env;
  napi_value name;
  if (napi_create_reference(env, a.argv[1], 1, &p->cb) != napi_ok ||
      napi_create_string_utf8(env, "ninetd.Poller", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, a.self, name, &p->async) != napi_ok ||
      napi_wrap(env, a.self, p, poller_finalize, NULL, &p->wrapper) != napi_ok) {
    p->finalized = true; /* no JS object owns it: free once closed */
    napi_value failed = napi_failed(env);
    poller_release(p);
    return failed;
  }
  if (napi_add_async_cleanup_hook(env, poller_teardown, p, &p->hook) != napi_ok) p->hook = NULL;
  return a.self;
}

/* uv_poll_start(3): watch for `events` (default UV_READABLE); keeps the loop alive. */
static napi_value poller_start(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t events = UV_READABLE;
  if (!get_args(env, info, &a)) return NULL;
  poller_t *p = unwrap_poller(env, a.self);
  if (p == NULL) return NULL;
  if (!is_type(env, a.argv[0], napi_undefined) && !arg_int(env, a.argv[0], "events", &events)) return NULL;
  if (p->closing) return throw_errno_detail(env, EBADF, "uv_poll_start", "(poller is closed)");
  int r = uv_poll_start(&p->handle, events, poller_event);
  if (r < 0) return throw_errno(env, -r, "uv_poll_start");
  if (!p->active) {
    CHECK(napi_reference_ref(env, p->wrapper, NULL));
    p->active = true;
  }
  return undefined(env);
}

/* uv_poll_stop(3): EPOLL_CTL_DEL, so a child can own the fd's readiness. */
static napi_value poller_stop(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a)) return NULL;
  poller_t *p = unwrap_poller(env, a.self);
  if (p == NULL) return NULL;
  if (p->closing) return undefined(env);
  int r = uv_poll_stop(&p->handle);
  if (r < 0) return throw_errno(env, -r, "uv_poll_stop");
  if (p->active) {
    p->active = false;
    CHECK(napi_reference_unref(env, p->wrapper, NULL));
  }
  return undefined(env);
}

/* uv_close(3): releases the handle for good; the fd stays open. Idempotent. */
static napi_value poller_close(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a)) return NULL;
  poller_t *p = unwrap_poller(env, a.self);
  if (p == NULL) return NULL;
  poller_release(p);
  return undefined(env);
}

/* uv_ref(3) / uv_unref(3): whether an active poller keeps the process alive. */
static napi_value poller_ref(napi_env env, napi_callback_info info) {
  args_t a;
  bool on;
  if (!get_args(env, info, &a)) return NULL;
  poller_t *p = unwrap_poller(env, a.self);
  if (p == NULL || !arg_bool(env, a.argv[0], "on", true, &on)) return NULL;
  if (!p->closing) {
    if (on)
      uv_ref((uv_handle_t *)&p->handle);
    else
      uv_unref((uv_handle_t *)&p->handle);
  }
  return undefined(env);
}

/* ------------------------------------------------------------------------------------------ */
/* Module                                                                                     */

typedef struct {
  const char *name;
  int value;
} constant_t;

static const constant_t constants[] = {
    {"AF_INET", AF_INET},
    {"AF_INET6", AF_INET6},
    {"AF_UNIX", AF_UNIX},
    {"IPPROTO_IPV6", IPPROTO_IPV6},
    {"IPPROTO_TCP", IPPROTO_TCP},
    {"IPV6_V6ONLY", IPV6_V6ONLY},
    {"O_NONBLOCK", O_NONBLOCK},
    {"SOCK_DGRAM", SOCK_DGRAM},
    {"SOCK_SEQPACKET", SOCK_SEQPACKET},
    {"SOCK_STREAM", SOCK_STREAM},
    {"SOL_SOCKET", SOL_SOCKET},
    {"SO_BROADCAST", SO_BROADCAST},
    {"SO_DOMAIN", SO_DOMAIN},
    {"SO_KEEPALIVE", SO_KEEPALIVE},
    {"SO_RCVBUF", SO_RCVBUF},
    {"SO_REUSEADDR", SO_REUSEADDR},
    {"SO_REUSEPORT", SO_REUSEPORT},
    {"SO_SNDBUF", SO_SNDBUF},
    {"SO_TYPE", SO_TYPE},
    {"TCP_NODELAY", TCP_NODELAY},
    {"UV_DISCONNECT", UV_DISCONNECT},
    {"UV_READABLE", UV_READABLE},
    {"UV_WRITABLE", UV_WRITABLE},
};

#define FN(name) {#name, NULL, js_##name, NULL, NULL, NULL, napi_enumerable, NULL}
#define METHOD(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_default_method, NULL}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor fns[] = {
      FN(accept),      FN(bind),          FN(close),       FN(cloexecFrom), FN(connect),      FN(getFlags),
      FN(getgrnam),    FN(getgrouplist),  FN(getpeercred), FN(getpeername), FN(getpwnam),     FN(getpwuid),
      FN(getsockname), FN(getsockopt), FN(listen),        FN(lockPidFile), FN(recvfrom),    FN(sendto),       FN(sendtoUnix),
      FN(setNonBlocking), FN(setsockopt), FN(socket),
  };
  CHECK(napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns));

  napi_property_descriptor methods[] = {
      METHOD("close", poller_close),
      METHOD("ref", poller_ref),
      METHOD("start", poller_start),
      METHOD("stop", poller_stop),
  };
  napi_value poller_class;
  CHECK(napi_define_class(env, "Poller", NAPI_AUTO_LENGTH, poller_new, NULL, sizeof methods / sizeof methods[0], methods,
                          &poller_class));
  CHECK(napi_set_named_property(env, exports, "Poller", poller_class));

  napi_value consts;
  CHECK(napi_create_object(env, &consts));
  for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++) {
    if (!set_int(env, consts, constants[i].name, constants[i].value)) return napi_failed(env);
  }
  CHECK(napi_object_freeze(env, consts));
  CHECK(napi_set_named_property(env, exports, "constants", consts));
  return exports;
}
