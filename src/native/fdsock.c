/*
 * fdsock: the few system calls Node does not expose and an inetd needs: sockets by number
 * (including AF_UNIX datagram and SOCK_SEQPACKET), a readiness watch that never reads the
 * socket, fcntl-style flags and locks, NSS user and group lookups, and a handler spawn
 * (clone + execve with credentials set by raw system calls) that reports exits through a pidfd.
 *
 * Each function wraps one system call (or one libc lookup) and takes no decisions: retries,
 * back-off, address resolution and every other policy live in src/native/index.ts and its
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
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
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

/* The (fd, buf, ...) arguments that the send and receive calls start with. */
static bool fd_buf_args(napi_env env, napi_callback_info info, args_t *a, int32_t *fd, void **data, size_t *size) {
  return get_args(env, info, a) && arg_int(env, a->argv[0], "fd", fd) && arg_buffer(env, a->argv[1], "buf", data, size);
}

/* recvfrom(2) with MSG_DONTWAIT into the caller's buffer; null when nothing is queued. */
static napi_value js_recvfrom(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd;
  void *data;
  size_t size;
  bool peek;
  if (!fd_buf_args(env, info, &a, &fd, &data, &size) ||
      !arg_bool(env, a.argv[2], "peek", false, &peek))
    return NULL;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&ss, 0, sizeof ss);
  ssize_t n = recvfrom(fd, data, size, MSG_DONTWAIT | (peek ? MSG_PEEK : 0), (struct sockaddr *)&ss, &len);
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

/* send(2) with MSG_DONTWAIT | MSG_NOSIGNAL on a connected socket: the bytes that fitted. */
static napi_value js_send(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd;
  void *data;
  size_t size;
  if (!fd_buf_args(env, info, &a, &fd, &data, &size)) return NULL;
  return send_to(env, fd, data, size, NULL, 0);
}

/* sendto(2) with MSG_DONTWAIT | MSG_NOSIGNAL to an inet or unix SockAddr. */
static napi_value js_sendto(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd;
  void *data;
  size_t size;
  if (!fd_buf_args(env, info, &a, &fd, &data, &size)) return NULL;
  struct sockaddr_storage ss;
  socklen_t len;
  if (!js_to_sockaddr(env, a.argv[2], "sendto", &ss, &len)) return NULL;
  /* An unnamed unix destination means "the connected peer". */
  if (ss.ss_family == AF_UNIX && len <= offsetof(struct sockaddr_un, sun_path)) len = 0;
  return send_to(env, fd, data, size, &ss, len);
}

/*
 * The datagram fast path of internal UDP services: the sender's address stays the kernel's
 * sockaddr, in a caller's buffer of at least sizeof(struct sockaddr_in6) bytes, so that no
 * address object or string is made per datagram. For IPv4 and IPv6 sockets only.
 */

/* The arguments of recvfromRaw and sendtoRaw: (fd, buf, addr), two of them buffers. */
typedef struct {
  int32_t fd;
  void *data, *addr;
  size_t size, addr_size;
} raw_args_t;

static bool get_raw_args(napi_env env, napi_callback_info info, raw_args_t *r) {
  args_t a;
  return fd_buf_args(env, info, &a, &r->fd, &r->data, &r->size) && arg_buffer(env, a.argv[2], "addr", &r->addr, &r->addr_size);
}

/* recvfrom(2) with MSG_DONTWAIT; the sender's sockaddr goes to `addr`. Bytes read, or null when nothing is queued. */
static napi_value js_recvfromRaw(napi_env env, napi_callback_info info) {
  raw_args_t r;
  if (!get_raw_args(env, info, &r)) return NULL;
  if (r.addr_size < sizeof(struct sockaddr_in6)) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "The \"addr\" buffer must be at least 28 bytes long");
    return NULL;
  }
  socklen_t len = (socklen_t)sizeof(struct sockaddr_in6);
  ssize_t n = recvfrom(r.fd, r.data, r.size, MSG_DONTWAIT, (struct sockaddr *)r.addr, &len);
  if (n < 0) {
    int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) return null_value(env);
    return throw_errno(env, err, "recvfrom");
  }
  napi_value bytes;
  CHECK(napi_create_int64(env, n, &bytes));
  return bytes;
}

/* sendto(2) with MSG_DONTWAIT | MSG_NOSIGNAL to a sockaddr that recvfromRaw filled in. */
static napi_value js_sendtoRaw(napi_env env, napi_callback_info info) {
  raw_args_t r;
  if (!get_raw_args(env, info, &r)) return NULL;
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  memcpy(&ss, r.addr, r.addr_size < sizeof ss ? r.addr_size : sizeof ss);
  socklen_t len;
  if (ss.ss_family == AF_INET && r.addr_size >= sizeof(struct sockaddr_in))
    len = sizeof(struct sockaddr_in);
  else if (ss.ss_family == AF_INET6 && r.addr_size >= sizeof(struct sockaddr_in6))
    len = sizeof(struct sockaddr_in6);
  else
    return throw_errno(env, EAFNOSUPPORT, "sendto");
  return send_to(env, r.fd, r.data, r.size, &ss, len);
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
  const char *name; /* NULL: look up by uid */
  uid_t uid;
  struct passwd pw, *res;
} passwd_query_t;

static int passwd_lookup(void *query, char *buf, size_t size) {
  passwd_query_t *q = query;
  return q->name ? getpwnam_r(q->name, &q->pw, buf, size, &q->res) : getpwuid_r(q->uid, &q->pw, buf, size, &q->res);
}

/* getpwnam_r(3) when `name` is set, else getpwuid_r(3). */
static napi_value lookup_passwd(napi_env env, const char *name, uid_t uid) {
  passwd_query_t q = {.name = name, .uid = uid, .res = NULL};
  char *buf;
  int err = nss_with_buffer(_SC_GETPW_R_SIZE_MAX, passwd_lookup, &q, &buf);
  napi_value result;
  if (err != 0 && err != ENOENT && err != ESRCH)
    result = throw_errno(env, err, name ? "getpwnam_r" : "getpwuid_r");
  else
    result = q.res ? passwd_value(env, q.res) : null_value(env);
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

typedef struct {
  const char *name;
  struct group gr, *res;
} group_query_t;

static int group_lookup(void *query, char *buf, size_t size) {
  group_query_t *q = query;
  return getgrnam_r(q->name, &q->gr, buf, size, &q->res);
}

/* getgrnam_r(3) */
static napi_value js_getgrnam(napi_env env, napi_callback_info info) {
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
/* Processes: starting a handler, and learning how it ended                                   */

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
/* P_PIDFD of linux/wait.h (Linux 5.4); glibc only names it since 2.36. */
#define WAIT_P_PIDFD 3
/* The kernel's sigset_t: _NSIG - 1 signals, one bit each (glibc's _NSIG counts signal 0). */
#define KERNEL_SIGSET_BYTES ((_NSIG - 1) / 8)
/* The child runs a few system calls and nothing else; 64 KiB is far more than it needs. */
#define CHILD_STACK_BYTES (64 * 1024)

/* 32-bit x86 and arm name the 32-bit-id calls apart from the 16-bit ones. */
#ifdef SYS_setgroups32
#define NR_SETGROUPS SYS_setgroups32
#define NR_SETGID SYS_setgid32
#define NR_SETUID SYS_setuid32
#else
#define NR_SETGROUPS SYS_setgroups
#define NR_SETGID SYS_setgid
#define NR_SETUID SYS_setuid
#endif

/*
 * The steps of the child between clone and execve, in order. When one fails the child records
 * the step and errno in memory it shares with the parent (CLONE_VM) and exits at once with the
 * step's status, so that even a reaper that is not us can tell what went wrong:
 *
 *   status  step            system call(s)
 *   101     setsid          setsid
 *   102     rt_sigaction    rt_sigaction(sig, SIG_DFL) for signals 1..64 but SIGKILL, SIGSTOP
 *   103     rt_sigprocmask  rt_sigprocmask(SIG_SETMASK, empty)
 *   104     dup2            dup3(fd, 0|1|2), or fcntl(F_SETFD, 0) where fd already is 0, 1 or 2
 *   105     close           close(fd) when fd > 2
 *   106     setgroups       setgroups
 *   107     setgid          setgid
 *   108     setuid          setuid
 *   109     setpriority     setpriority(PRIO_PROCESS, 0, nice) when nice != 0
 *   110     prlimit         prlimit64(0, resource, limit) for each limit asked
 *   111     chdir           chdir
 *   112     fcntl           fcntl(0, F_GETFL / F_SETFL) clearing O_NONBLOCK
 *   127     execve          execve (as posix_spawn and the shells report a failed exec)
 *
 * umask(2) cannot fail, so it has no status.
 */
typedef enum {
  STEP_NONE,
  STEP_SETSID,
  STEP_SIGACTION,
  STEP_SIGMASK,
  STEP_DUP,
  STEP_CLOSE,
  STEP_SETGROUPS,
  STEP_SETGID,
  STEP_SETUID,
  STEP_NICE,
  STEP_RLIMIT,
  STEP_CHDIR,
  STEP_BLOCKING,
  STEP_EXECVE,
  STEP_COUNT
} spawn_step_t;

static const struct {
  const char *syscall;
  int status;
} spawn_steps[STEP_COUNT] = {
    [STEP_NONE] = {"clone", 0},
    [STEP_SETSID] = {"setsid", 101},
    [STEP_SIGACTION] = {"rt_sigaction", 102},
    [STEP_SIGMASK] = {"rt_sigprocmask", 103},
    [STEP_DUP] = {"dup2", 104},
    [STEP_CLOSE] = {"close", 105},
    [STEP_SETGROUPS] = {"setgroups", 106},
    [STEP_SETGID] = {"setgid", 107},
    [STEP_SETUID] = {"setuid", 108},
    [STEP_NICE] = {"setpriority", 109},
    [STEP_RLIMIT] = {"prlimit", 110},
    [STEP_CHDIR] = {"chdir", 111},
    [STEP_BLOCKING] = {"fcntl", 112},
    [STEP_EXECVE] = {"execve", 127},
};

/* prlimit64's struct rlimit64. */
typedef struct {
  uint64_t cur;
  uint64_t max;
} kernel_rlimit_t;

typedef struct {
  int resource;
  kernel_rlimit_t limit;
} spawn_rlimit_t;

/* Everything the child needs, prepared by the parent: the child allocates nothing. */
typedef struct {
  char *file;
  char **argv;
  char **envp;
  char *cwd;
  int fd;
  int64_t uid; /* -1: unchanged */
  int64_t gid; /* -1: unchanged */
  bool set_groups;
  size_t ngroups;
  gid_t *groups;
  uint32_t umask;
  int32_t nice;
  size_t nrlimits;
  spawn_rlimit_t *rlimits;
  /* Written by the child on failure, read by the parent once clone returns. */
  volatile int failed_step;
  volatile int failed_errno;
  volatile int failed_rlimit;
} spawn_t;

/* Child: record the failed step and its errno where the parent will look, and exit. */
static void child_fail(spawn_t *s, spawn_step_t step) {
  s->failed_errno = errno;
  s->failed_step = step;
  syscall(SYS_exit_group, spawn_steps[step].status);
  __builtin_unreachable();
}

/*
 * The child, between clone and execve. It shares the parent's memory and the calling thread's
 * TLS, so it uses raw system calls only: glibc's setuid, setgid and setgroups signal every thread
 * of the process (they are process-wide in POSIX), which in a vfork child would reach the
 * parent's threads. All signals are blocked on entry (inherited from the parent's mask), so no
 * handler of the parent can run here before the dispositions are reset.
 */
static int spawn_child(void *arg) {
  spawn_t *s = arg;
  if (syscall(SYS_setsid) < 0) child_fail(s, STEP_SETSID);

  /* A zeroed kernel struct sigaction is SIG_DFL, no flags and an empty mask on every layout. */
  static const unsigned char dfl[64];
  for (int sig = 1; sig < _NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    if (syscall(SYS_rt_sigaction, sig, dfl, NULL, KERNEL_SIGSET_BYTES) < 0) child_fail(s, STEP_SIGACTION);
  }
  static const unsigned char empty[KERNEL_SIGSET_BYTES];
  if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, empty, NULL, KERNEL_SIGSET_BYTES) < 0) child_fail(s, STEP_SIGMASK);

  /* dup3 rather than dup2 (which some architectures lack); both leave the copy without CLOEXEC. */
  for (int target = 0; target <= 2; target++) {
    long r = s->fd == target ? syscall(SYS_fcntl, target, F_SETFD, 0) : syscall(SYS_dup3, s->fd, target, 0);
    if (r < 0) child_fail(s, STEP_DUP);
  }
  if (s->fd > 2 && syscall(SYS_close, s->fd) < 0) child_fail(s, STEP_CLOSE);

  /* Groups first and uid last: once the uid is not 0, the other two are no longer allowed. */
  if (s->set_groups && syscall(NR_SETGROUPS, s->ngroups, s->groups) < 0) child_fail(s, STEP_SETGROUPS);
  if (s->gid >= 0 && syscall(NR_SETGID, (gid_t)s->gid) < 0) child_fail(s, STEP_SETGID);
  if (s->uid >= 0 && syscall(NR_SETUID, (uid_t)s->uid) < 0) child_fail(s, STEP_SETUID);

  syscall(SYS_umask, s->umask);
  if (s->nice != 0 && syscall(SYS_setpriority, PRIO_PROCESS, 0, s->nice) < 0) child_fail(s, STEP_NICE);
  for (size_t i = 0; i < s->nrlimits; i++) {
    if (syscall(SYS_prlimit64, 0, s->rlimits[i].resource, &s->rlimits[i].limit, NULL) < 0) {
      s->failed_rlimit = s->rlimits[i].resource;
      child_fail(s, STEP_RLIMIT);
    }
  }
  if (syscall(SYS_chdir, s->cwd) < 0) child_fail(s, STEP_CHDIR);

  /* The handler gets a blocking socket (the flag is the open file's, shared by 0, 1 and 2). */
  long flags = syscall(SYS_fcntl, 0, F_GETFL);
  if (flags < 0) child_fail(s, STEP_BLOCKING);
  if ((flags & O_NONBLOCK) && syscall(SYS_fcntl, 0, F_SETFL, flags & ~(long)O_NONBLOCK) < 0) child_fail(s, STEP_BLOCKING);

  syscall(SYS_execve, s->file, s->argv, s->envp);
  child_fail(s, STEP_EXECVE);
  return 127;
}

/* Frees a NULL-terminated array of strings. */
static void free_strings(char **v) {
  if (v == NULL) return;
  for (char **p = v; *p; p++) free(*p);
  free(v);
}

/* A string argument that must not contain NUL bytes (paths, argv, environment). */
static char *arg_cstring(napi_env env, napi_value v, const char *name) {
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

/* A malloc'd, NULL-terminated copy of an array of strings. */
static char **arg_strings(napi_env env, napi_value v, const char *name) {
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array) {
    bad_arg(env, name, "string[]");
    return NULL;
  }
  if (napi_get_array_length(env, v, &n) != napi_ok) return napi_failed(env), NULL;
  char **out = calloc((size_t)n + 1, sizeof *out);
  if (out == NULL) return throw_errno(env, ENOMEM, "malloc"), NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    if (napi_get_element(env, v, i, &item) != napi_ok) {
      napi_failed(env);
      free_strings(out);
      return NULL;
    }
    if ((out[i] = arg_cstring(env, item, name)) == NULL) {
      free_strings(out);
      return NULL;
    }
  }
  return out;
}

/* A named property of the options object. */
static bool opt(napi_env env, napi_value opts, const char *key, napi_value *out) {
  if (napi_get_named_property(env, opts, key, out) != napi_ok) return napi_failed(env) != NULL;
  return true;
}

/* A uid or gid option: -1 (unchanged) or an id of 0..2^32-1. */
static bool opt_id(napi_env env, napi_value opts, const char *key, int64_t *out) {
  napi_value v;
  if (!opt(env, opts, key, &v)) return false;
  if (!is_type(env, v, napi_number)) return bad_arg(env, key, "number");
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return napi_failed(env) != NULL;
  if (d != (double)(int64_t)d || d < -1 || d > 4294967295.0) {
    char msg[160];
    snprintf(msg, sizeof msg, "The value of \"%s\" is out of range. It must be -1 or an integer from 0 to 4294967295", key);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return false;
  }
  *out = (int64_t)d;
  return true;
}

/* An rlimit value: Infinity or -1 mean RLIM_INFINITY. */
static bool rlimit_value(napi_env env, napi_value v, uint64_t *out) {
  double d;
  if (!is_type(env, v, napi_number)) return bad_arg(env, "rlimits[i][1..2]", "number");
  if (napi_get_value_double(env, v, &d) != napi_ok) return napi_failed(env) != NULL;
  if (d == -1 || d >= 18446744073709551615.0) {
    *out = UINT64_MAX;
    return true;
  }
  if (d < 0 || d != d || d != (double)(uint64_t)d) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "An rlimit must be -1, Infinity or a non-negative integer");
    return false;
  }
  *out = (uint64_t)d;
  return true;
}

/* opts.groups: null (unchanged) or an array of gids. */
static bool opt_groups(napi_env env, napi_value opts, spawn_t *s) {
  napi_value v;
  if (!opt(env, opts, "groups", &v)) return false;
  if (is_type(env, v, napi_null) || is_type(env, v, napi_undefined)) return true;
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array) return bad_arg(env, "groups", "number[] or null");
  if (napi_get_array_length(env, v, &n) != napi_ok) return napi_failed(env) != NULL;
  s->set_groups = true;
  s->ngroups = n;
  s->groups = calloc(n ? n : 1, sizeof *s->groups);
  if (s->groups == NULL) return throw_errno(env, ENOMEM, "malloc") != NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    uint32_t gid;
    if (napi_get_element(env, v, i, &item) != napi_ok) return napi_failed(env) != NULL;
    if (!arg_uint(env, item, "groups[i]", &gid)) return false;
    s->groups[i] = (gid_t)gid;
  }
  return true;
}

/* opts.rlimits: an array of [resource, soft, hard]. */
static bool opt_rlimits(napi_env env, napi_value opts, spawn_t *s) {
  napi_value v;
  if (!opt(env, opts, "rlimits", &v)) return false;
  if (is_type(env, v, napi_undefined)) return true;
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array) return bad_arg(env, "rlimits", "Array<[number, number, number]>");
  if (napi_get_array_length(env, v, &n) != napi_ok) return napi_failed(env) != NULL;
  s->rlimits = calloc(n ? n : 1, sizeof *s->rlimits);
  if (s->rlimits == NULL) return throw_errno(env, ENOMEM, "malloc") != NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value item, part[3];
    bool tuple = false;
    uint32_t len = 0;
    if (napi_get_element(env, v, i, &item) != napi_ok) return napi_failed(env) != NULL;
    if (napi_is_array(env, item, &tuple) != napi_ok || !tuple || napi_get_array_length(env, item, &len) != napi_ok || len != 3)
      return bad_arg(env, "rlimits[i]", "[number, number, number]");
    for (uint32_t k = 0; k < 3; k++)
      if (napi_get_element(env, item, k, &part[k]) != napi_ok) return napi_failed(env) != NULL;
    int32_t resource;
    if (!arg_int(env, part[0], "rlimits[i][0]", &resource) || !rlimit_value(env, part[1], &s->rlimits[i].limit.cur) ||
        !rlimit_value(env, part[2], &s->rlimits[i].limit.max))
      return false;
    s->rlimits[i].resource = resource;
  }
  s->nrlimits = n;
  return true;
}

/* Reads (file, argv, env, opts) into `s`; false with a JS exception pending on bad input. */
static bool spawn_args(napi_env env, const args_t *a, spawn_t *s) {
  napi_value opts = a->argv[3], v;
  if ((s->file = arg_cstring(env, a->argv[0], "file")) == NULL) return false;
  if ((s->argv = arg_strings(env, a->argv[1], "argv")) == NULL) return false;
  if ((s->envp = arg_strings(env, a->argv[2], "env")) == NULL) return false;
  if (!is_type(env, opts, napi_object)) return bad_arg(env, "opts", "object");
  int32_t fd, nice;
  uint32_t mask;
  if (!opt(env, opts, "fd", &v) || !arg_int(env, v, "fd", &fd)) return false;
  if (fd < 0) return throw_errno_detail(env, EBADF, "dup2", "(negative fd)") != NULL;
  s->fd = fd;
  if (!opt_id(env, opts, "uid", &s->uid) || !opt_id(env, opts, "gid", &s->gid) || !opt_groups(env, opts, s)) return false;
  if (!opt(env, opts, "umask", &v) || !arg_uint(env, v, "umask", &mask)) return false;
  s->umask = mask & 0777;
  if (!opt(env, opts, "nice", &v) || !arg_int(env, v, "nice", &nice)) return false;
  s->nice = nice;
  if (!opt_rlimits(env, opts, s)) return false;
  if (!opt(env, opts, "cwd", &v) || (s->cwd = arg_cstring(env, v, "cwd")) == NULL) return false;
  return true;
}

static void spawn_free(spawn_t *s) {
  free(s->file);
  free_strings(s->argv);
  free_strings(s->envp);
  free(s->cwd);
  free(s->groups);
  free(s->rlimits);
}

/* The error of a child that failed before execve, naming the step, with the path where one applies. */
static napi_value child_error(napi_env env, const spawn_t *s) {
  spawn_step_t step = (spawn_step_t)s->failed_step;
  const char *syscall = spawn_steps[step].syscall;
  char detail[96] = "";
  const char *path = step == STEP_EXECVE ? s->file : step == STEP_CHDIR ? s->cwd : NULL;
  if (path) snprintf(detail, sizeof detail, "%.80s", path);
  if (step == STEP_RLIMIT) snprintf(detail, sizeof detail, "(resource %d)", s->failed_rlimit);
  napi_value e = errno_error(env, s->failed_errno, syscall, detail);
  if (e == NULL || (path && !set_str(env, e, "path", path, NAPI_AUTO_LENGTH))) return NULL;
  return e;
}

/*
 * clone(2) with CLONE_VM | CLONE_VFORK | CLONE_PIDFD, then execve(2) in the child: starts a
 * handler with `opts.fd` on 0, 1 and 2 and returns { pid, pidfd } (pidfd close-on-exec). The
 * calling thread is suspended only until the child has exec'd or failed; a failure before exec
 * is thrown here, with `syscall` naming the step, and that child is already reaped.
 */
static napi_value js_spawnHandler(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a)) return NULL;
  spawn_t s;
  memset(&s, 0, sizeof s);
  napi_value result = NULL;
  char *stack = NULL;
  if (!spawn_args(env, &a, &s)) goto out;
  if ((stack = malloc(CHILD_STACK_BYTES)) == NULL) {
    throw_errno(env, ENOMEM, "malloc");
    goto out;
  }
  char *top = (char *)((uintptr_t)(stack + CHILD_STACK_BYTES) & ~(uintptr_t)15);

  /*
   * Block every signal in this thread (glibc's internal ones too, as its posix_spawn does) so
   * that the child starts with all of them blocked and none of our handlers can run in it.
   */
  unsigned char all[KERNEL_SIGSET_BYTES], old[KERNEL_SIGSET_BYTES];
  memset(all, 0xff, sizeof all);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, all, old, KERNEL_SIGSET_BYTES);
  int pidfd = -1;
  pid_t pid = clone(spawn_child, top, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &s, &pidfd);
  int clone_errno = errno;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, old, NULL, KERNEL_SIGSET_BYTES);

  if (pid < 0) {
    throw_errno(env, clone_errno, "clone");
    goto out;
  }
  if (s.failed_step != STEP_NONE) {
    /* The child has exited (or is about to): reap it, so no zombie is left behind. */
    siginfo_t si;
    while (syscall(SYS_waitid, WAIT_P_PIDFD, pidfd, &si, WEXITED, NULL) < 0 && errno == EINTR) {
    }
    close(pidfd);
    napi_value e = child_error(env, &s);
    if (e == NULL)
      napi_failed(env);
    else
      napi_throw(env, e);
    goto out;
  }
  if (napi_create_object(env, &result) != napi_ok || !set_int(env, result, "pid", pid) || !set_int(env, result, "pidfd", pidfd)) {
    /* Not reachable in practice; the child runs on, and its pidfd stays ours to report. */
    result = napi_failed(env);
  }
out:
  free(stack);
  spawn_free(&s);
  return result;
}

/* Node's name for a signal number ('SIGSEGV'); realtime signals are 'SIGRTMIN+n'. */
static const struct {
  int signo;
  const char *name;
} signal_names[] = {
    {SIGHUP, "SIGHUP"},     {SIGINT, "SIGINT"},       {SIGQUIT, "SIGQUIT"},     {SIGILL, "SIGILL"},   {SIGTRAP, "SIGTRAP"},
    {SIGABRT, "SIGABRT"},   {SIGBUS, "SIGBUS"},       {SIGFPE, "SIGFPE"},       {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"},
    {SIGSEGV, "SIGSEGV"},   {SIGUSR2, "SIGUSR2"},     {SIGPIPE, "SIGPIPE"},     {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"},
    {SIGCHLD, "SIGCHLD"},   {SIGCONT, "SIGCONT"},     {SIGSTOP, "SIGSTOP"},     {SIGTSTP, "SIGTSTP"}, {SIGTTIN, "SIGTTIN"},
    {SIGTTOU, "SIGTTOU"},   {SIGURG, "SIGURG"},       {SIGXCPU, "SIGXCPU"},     {SIGXFSZ, "SIGXFSZ"}, {SIGVTALRM, "SIGVTALRM"},
    {SIGPROF, "SIGPROF"},   {SIGWINCH, "SIGWINCH"},   {SIGIO, "SIGIO"},         {SIGSYS, "SIGSYS"},
#ifdef SIGSTKFLT
    {SIGSTKFLT, "SIGSTKFLT"},
#endif
#ifdef SIGPWR
    {SIGPWR, "SIGPWR"},
#endif
};

static void signal_name(int signo, char *buf, size_t size) {
  for (size_t i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++) {
    if (signal_names[i].signo == signo) {
      snprintf(buf, size, "%s", signal_names[i].name);
      return;
    }
  }
  if (signo >= SIGRTMIN && signo <= SIGRTMAX)
    snprintf(buf, size, "SIGRTMIN+%d", signo - SIGRTMIN);
  else
    snprintf(buf, size, "SIG%d", signo);
}

/* waitid(2) P_PIDFD with WEXITED | WNOHANG: { code, signal } once the child ended (and is reaped), null while it runs. */
static napi_value js_waitPidfd(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t pidfd;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "pidfd", &pidfd)) return NULL;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  long r;
  do r = syscall(SYS_waitid, WAIT_P_PIDFD, pidfd, &si, WEXITED | WNOHANG, NULL);
  while (r < 0 && errno == EINTR);
  if (r < 0 && errno != EAGAIN) return throw_errno(env, errno, "waitid");
  if (r < 0 || si.si_pid == 0) return null_value(env);
  napi_value obj, code, sig;
  CHECK(napi_create_object(env, &obj));
  if (si.si_code == CLD_EXITED) {
    CHECK(napi_create_int32(env, si.si_status, &code));
    CHECK(napi_get_null(env, &sig));
  } else {
    char name[32];
    signal_name(si.si_status, name, sizeof name);
    CHECK(napi_get_null(env, &code));
    CHECK(napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &sig));
  }
  CHECK(napi_set_named_property(env, obj, "code", code));
  CHECK(napi_set_named_property(env, obj, "signal", sig));
  return obj;
}

/* pidfd_open(2): a close-on-exec fd for process `pid`; ENOSYS on kernels before 5.3. */
static napi_value js_pidfdOpen(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t pid;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "pid", &pid)) return NULL;
  long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return throw_errno(env, errno, "pidfd_open");
  napi_value r;
  CHECK(napi_create_int32(env, (int32_t)fd, &r));
  return r;
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
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
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
      FN(accept),      FN(bind),         FN(close),       FN(cloexecFrom),    FN(connect),     FN(getFlags),
      FN(getgrnam),    FN(getgrouplist), FN(getpeercred), FN(getpeername),    FN(getpwnam),    FN(getpwuid),
      FN(getsockname), FN(getsockopt),   FN(listen),      FN(lockPidFile),    FN(pidfdOpen),   FN(recvfrom),
      FN(recvfromRaw), FN(send),         FN(sendto),      FN(sendtoRaw),      FN(sendtoUnix),  FN(setNonBlocking),
      FN(setsockopt),  FN(socket),       FN(spawnHandler), FN(waitPidfd),
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
