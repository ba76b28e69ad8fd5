/*
 * sock.c: one job, the socket system calls by fd number: socket, setsockopt/getsockopt, bind,
 * connect, listen, accept, getsockname, SO_PEERCRED, and the send and receive calls. Node exposes
 * none of these for an fd it did not create, nor AF_UNIX datagram or SOCK_SEQPACKET at all.
 * Every fd made here is close-on-exec.
 *
 * Functions that take decisions, and why:
 *   - js_accept returns null, not an error, on EAGAIN/EWOULDBLOCK (nothing pending: readiness
 *     is level-triggered and another process may have taken the connection), ECONNABORTED (the
 *     client gave up while queued: nothing to serve) and EINTR (nothing was accepted); the
 *     caller simply waits for the next readiness.
 *   - js_recvfrom and js_recvmmsgRaw return null on EAGAIN: nothing queued is not a failure of
 *     a non-blocking read. js_recvfrom reports a connected stream socket's peer through
 *     getpeername when recvfrom gives no source address.
 *   - js_sendto reads an unnamed unix destination as "the connected peer" (no address).
 *   - js_sendmmsgRaw skips a reply the kernel refuses and sends the rest of the batch (one
 *     sendto per datagram would lose that one reply only), but stops on EAGAIN/ENOBUFS.
 *   - bind and connect take the address family from the socket itself (SO_DOMAIN).
 * Nothing here retries.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dgram.h"
#include "exports.h"
#include "napi.h"
#include "sockaddr.h"

/* socket(2), always SOCK_CLOEXEC | SOCK_NONBLOCK. */
napi_value js_socket(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t domain, type;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "domain", &domain) || !arg_int(env, a.argv[1], "type", &type)) return NULL;
  int fd = socket(domain, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  return int_value(env, fd);
}

/* setsockopt(2) with an int value. */
napi_value js_setsockopt(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd, level, name, value;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd) || !arg_int(env, a.argv[1], "level", &level) ||
      !arg_int(env, a.argv[2], "name", &name) || !arg_int(env, a.argv[3], "value", &value))
    return NULL;
  if (setsockopt(fd, level, name, &value, sizeof value) < 0) return throw_errno(env, errno, "setsockopt");
  return undefined(env);
}

/* setsockopt(2) SO_LINGER: `seconds` >= 0 turns lingering on for that long, < 0 turns it off. */
napi_value js_setLinger(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd, seconds;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd) || !arg_int(env, a.argv[1], "seconds", &seconds)) return NULL;
  struct linger l = {.l_onoff = seconds >= 0, .l_linger = seconds >= 0 ? seconds : 0};
  if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l) < 0) return throw_errno(env, errno, "setsockopt");
  return undefined(env);
}

/* getsockopt(2) for an int option. */
napi_value js_getsockopt(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd, level, name;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd) || !arg_int(env, a.argv[1], "level", &level) ||
      !arg_int(env, a.argv[2], "name", &name))
    return NULL;
  int value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(fd, level, name, &value, &len) < 0) return throw_errno(env, errno, "getsockopt");
  return int_value(env, value);
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
napi_value js_bind(napi_env env, napi_callback_info info) { return bind_or_connect(env, info, true); }

/* connect(2); on a non-blocking socket EINPROGRESS/EAGAIN are thrown like any other error. */
napi_value js_connect(napi_env env, napi_callback_info info) { return bind_or_connect(env, info, false); }

/* listen(2) */
napi_value js_listen(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd, backlog;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd) || !arg_int(env, a.argv[1], "backlog", &backlog)) return NULL;
  if (listen(fd, backlog) < 0) return throw_errno(env, errno, "listen");
  return undefined(env);
}

/* accept4(2) with SOCK_CLOEXEC (and SOCK_NONBLOCK on request); null when nothing is pending. */
napi_value js_accept(napi_env env, napi_callback_info info) {
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

/* getsockname(2) */
napi_value js_getsockname(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd)) return NULL;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&ss, 0, sizeof ss);
  if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) return throw_errno(env, errno, "getsockname");
  return sockaddr_value(env, &ss, len, len < sizeof(sa_family_t) ? socket_domain(fd) : AF_UNSPEC);
}

/* getsockopt(2) SO_PEERCRED */
napi_value js_getpeercred(napi_env env, napi_callback_info info) {
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
napi_value js_recvfrom(napi_env env, napi_callback_info info) {
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
  return int_value(env, n);
}

/* send(2) with MSG_DONTWAIT | MSG_NOSIGNAL on a connected socket: the bytes that fitted. */
napi_value js_send(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd;
  void *data;
  size_t size;
  if (!fd_buf_args(env, info, &a, &fd, &data, &size)) return NULL;
  return send_to(env, fd, data, size, NULL, 0);
}

/* sendto(2) with MSG_DONTWAIT | MSG_NOSIGNAL to an inet or unix SockAddr. */
napi_value js_sendto(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd;
  void *data;
  size_t size;
  if (!fd_buf_args(env, info, &a, &fd, &data, &size)) return NULL;
  struct sockaddr_storage ss;
  socklen_t len;
  if (!read_sockaddr(env, a.argv[2], "sendto", &ss, &len)) return NULL;
  /* An unnamed unix destination means "the connected peer". */
  if (ss.ss_family == AF_UNIX && len <= offsetof(struct sockaddr_un, sun_path)) len = 0;
  return send_to(env, fd, data, size, &ss, len);
}

/*
 * The datagram fast path of internal UDP services, a batch at a time: recvmmsg(2) fills up to
 * BATCH_MAX slots of a caller's buffer (slot i at i * stride), each sender's address stays the
 * kernel's sockaddr in a 28-byte slot of `addrs` (sizeof(struct sockaddr_in6), the larger), and
 * each length goes to an int32 of `lens`; sendmmsg(2) sends the slots whose length is not
 * negative back to those addresses. No object or string is made per datagram, and two system
 * calls serve a whole batch. For IPv4 and IPv6 sockets only.
 */

#define BATCH_MAX 64
#define RAW_ADDR_BYTES ((size_t)sizeof(struct sockaddr_in6))

typedef struct {
  int32_t fd, stride;
  uint8_t *bufs, *addrs;
  int32_t *lens;
  size_t slots; /* how many whole slots all three buffers hold, at most BATCH_MAX */
} batch_args_t;

/* (fd, bufs, stride, addrs, lens): the buffers, and how many slots they have room for. */
static bool get_batch_args(napi_env env, args_t *a, batch_args_t *b) {
  void *bufs, *addrs, *lens;
  size_t nbufs, naddrs, nlens;
  if (!arg_int(env, a->argv[0], "fd", &b->fd) || !arg_buffer(env, a->argv[1], "bufs", &bufs, &nbufs) ||
      !arg_int(env, a->argv[2], "stride", &b->stride) || !arg_buffer(env, a->argv[3], "addrs", &addrs, &naddrs) ||
      !arg_buffer(env, a->argv[4], "lens", &lens, &nlens))
    return false;
  if (b->stride <= 0) return out_of_range(env, "The \"stride\" argument must be positive");
  if (((uintptr_t)lens & (sizeof(int32_t) - 1)) != 0) return out_of_range(env, "The \"lens\" buffer must be 4-byte aligned");
  size_t n = nbufs / (size_t)b->stride;
  if (naddrs / RAW_ADDR_BYTES < n) n = naddrs / RAW_ADDR_BYTES;
  if (nlens / sizeof(int32_t) < n) n = nlens / sizeof(int32_t);
  if (n > BATCH_MAX) n = BATCH_MAX;
  if (n == 0) return out_of_range(env, "The buffers must hold at least one slot");
  b->bufs = bufs;
  b->addrs = addrs;
  b->lens = lens;
  b->slots = n;
  return true;
}

/*
 * recvmmsg(2) with MSG_DONTWAIT into the slots: the number of datagrams read (their lengths in
 * `lens`, truncated to `stride` as recvfrom truncates), or null when nothing is queued.
 */
napi_value js_recvmmsgRaw(napi_env env, napi_callback_info info) {
  args_t a;
  batch_args_t b;
  if (!get_args(env, info, &a) || !get_batch_args(env, &a, &b)) return NULL;
  struct mmsghdr msgs[BATCH_MAX];
  struct iovec iov[BATCH_MAX];
  memset(msgs, 0, b.slots * sizeof msgs[0]);
  for (size_t i = 0; i < b.slots; i++) {
    iov[i].iov_base = b.bufs + i * (size_t)b.stride;
    iov[i].iov_len = (size_t)b.stride;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = b.addrs + i * RAW_ADDR_BYTES;
    msgs[i].msg_hdr.msg_namelen = (socklen_t)RAW_ADDR_BYTES;
  }
  int n = recvmmsg(b.fd, msgs, (unsigned)b.slots, MSG_DONTWAIT, NULL);
  if (n < 0) {
    int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) return null_value(env);
    return throw_errno(env, err, "recvmmsg");
  }
  for (int i = 0; i < n; i++) b.lens[i] = (int32_t)msgs[i].msg_len;
  return int_value(env, n);
}

/*
 * sendmmsg(2) with MSG_DONTWAIT | MSG_NOSIGNAL of the first `count` slots whose length is not
 * negative, each to the address in its slot: the number sent. A reply the kernel refuses (an
 * unreachable sender, a full send buffer) is lost alone, as one sendto's would be: the batch
 * goes on past it, except on EAGAIN/ENOBUFS, after which the rest would only fail too.
 */
napi_value js_sendmmsgRaw(napi_env env, napi_callback_info info) {
  args_t a;
  batch_args_t b;
  int32_t count;
  if (!get_args(env, info, &a) || !get_batch_args(env, &a, &b) || !arg_int(env, a.argv[5], "count", &count)) return NULL;
  if (count < 0 || (size_t)count > b.slots) return (out_of_range(env, "The \"count\" argument is out of range"), NULL);
  struct mmsghdr msgs[BATCH_MAX];
  struct iovec iov[BATCH_MAX];
  unsigned m = 0;
  for (int32_t i = 0; i < count; i++) {
    if (b.lens[i] < 0 || b.lens[i] > b.stride) continue;
    struct sockaddr *sa = (struct sockaddr *)(b.addrs + (size_t)i * RAW_ADDR_BYTES);
    socklen_t len = sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : 0;
    if (len == 0) continue;
    memset(&msgs[m], 0, sizeof msgs[m]);
    iov[m].iov_base = b.bufs + (size_t)i * (size_t)b.stride;
    iov[m].iov_len = (size_t)b.lens[i];
    msgs[m].msg_hdr.msg_iov = &iov[m];
    msgs[m].msg_hdr.msg_iovlen = 1;
    msgs[m].msg_hdr.msg_name = sa;
    msgs[m].msg_hdr.msg_namelen = len;
    m++;
  }
  return int_value(env, dgram_send_batch(b.fd, msgs, m));
}

/* sendto(2) to a unix path or '@abstract' name (sd_notify, /dev/log). */
napi_value js_sendtoUnix(napi_env env, napi_callback_info info) {
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
