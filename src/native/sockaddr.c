/*
 * sockaddr.c: one job, translating addresses: text ('127.0.0.1', '::1%lo', '/run/x.sock',
 * '@name') and JavaScript SockAddr objects to struct sockaddr, and kernel addresses back to
 * SockAddr objects. No system call but getsockopt(SO_DOMAIN) and if_nametoindex.
 *
 * Decisions taken here, each a reading of the text rather than a policy:
 *   - make_sockaddr: '' and '*' mean the any address; an IPv6 %scope that is all digits is an
 *     interface index, anything else an interface name (as getaddrinfo reads it); a unix path
 *     starting with '@' is abstract; '' is no address at all (the kernel autobinds).
 *   - fill_sockaddr: a kernel address shorter than its family field (an unbound unix peer)
 *     is reported with the socket's own family and an empty path.
 * Host names are never resolved: callers pass literals.
 */
#include "sockaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

/* The socket's address family, from getsockopt(SO_DOMAIN); -1 with errno set on failure. */
int socket_domain(int fd) {
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
int make_sockaddr(int domain, const char *host, size_t hostlen, int32_t port, struct sockaddr_storage *ss,
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
bool fill_sockaddr(napi_env env, napi_value obj, const struct sockaddr_storage *ss, socklen_t len, int domain) {
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

napi_value sockaddr_value(napi_env env, const struct sockaddr_storage *ss, socklen_t len, int domain) {
  napi_value obj;
  CHECK(napi_create_object(env, &obj));
  if (!fill_sockaddr(env, obj, ss, len, domain)) return napi_failed(env);
  return obj;
}

/* Reads a SockAddr object ({family, address, port, scopeId?} or {family: 'unix', path}). */
bool read_sockaddr(napi_env env, napi_value obj, const char *syscall, struct sockaddr_storage *ss, socklen_t *sslen) {
  if (!is_type(env, obj, napi_object)) return bad_arg(env, "to", "object");
  napi_value v;
  char family[8] = "";
  size_t n = 0;
  if (napi_get_named_property(env, obj, "family", &v) != napi_ok || !is_type(env, v, napi_string)) return bad_arg(env, "to.family", "string");
  napi_get_value_string_utf8(env, v, family, sizeof family, &n);
  int domain = strcmp(family, "IPv4") == 0 ? AF_INET : strcmp(family, "IPv6") == 0 ? AF_INET6 : strcmp(family, "unix") == 0 ? AF_UNIX : -1;
  if (domain < 0) {
    return (throw_errno_detail(env, EAFNOSUPPORT, syscall, "(family must be IPv4, IPv6 or unix)"), false);
  }
  int32_t port = 0;
  uint32_t scope = 0;
  char *text;
  size_t len = 0;
  if (domain == AF_UNIX) {
    if (napi_get_named_property(env, obj, "path", &v) != napi_ok) return (napi_failed(env), false);
    text = arg_string(env, v, "to.path", &len);
  } else {
    if (napi_get_named_property(env, obj, "port", &v) != napi_ok || !arg_int(env, v, "to.port", &port)) return false;
    if (napi_get_named_property(env, obj, "scopeId", &v) != napi_ok) return (napi_failed(env), false);
    if (!is_type(env, v, napi_undefined) && !arg_uint(env, v, "to.scopeId", &scope)) return false;
    if (napi_get_named_property(env, obj, "address", &v) != napi_ok) return (napi_failed(env), false);
    text = arg_string(env, v, "to.address", &len);
  }
  if (text == NULL) return false;
  char why[96];
  int err = make_sockaddr(domain, text, len, port, ss, sslen, why, sizeof why);
  free(text);
  if (err) return (throw_errno_detail(env, err, syscall, why), false);
  if (domain == AF_INET6 && scope) ((struct sockaddr_in6 *)ss)->sin6_scope_id = scope;
  return true;
}
