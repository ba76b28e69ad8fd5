/*
 * splice.c: one job, moving a relayed connection's bytes from socket to socket inside the
 * kernel: a pipe to carry them, splice(2) in and out of it, and shutdown(2) for half-close. The
 * bytes never reach JavaScript; the relay's policy (when to move, backpressure, half-close,
 * timeouts) is src/dispatch/redirect.ts's.
 *
 * Functions that take decisions, and why:
 *   - js_pipe asks for a RELAY_PIPE_BYTES pipe with F_SETPIPE_SZ and keeps the default size when
 *     the kernel refuses (a non-root supervisor above pipe-max-size): a smaller pipe only means
 *     more calls. It reports the size it got, which the relay uses as its window.
 *   - js_splice returns null for EAGAIN (nothing to move now) and also for EINTR, which the
 *     relay treats the same way: it waits for the next readiness and calls again.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exports.h"
#include "napi.h"

/*
 * Bytes asked for each relay pipe: four times the 64 KiB default, for fewer calls per MiB, and
 * small enough that a stalled relay (both pipes full) pins at most 512 KiB of kernel memory.
 */
#define RELAY_PIPE_BYTES (256 << 10)

/* pipe2(2) with O_CLOEXEC | O_NONBLOCK: { read, write, size }. */
napi_value js_pipe(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) return throw_errno(env, errno, "pipe2");
  (void)fcntl(fds[1], F_SETPIPE_SZ, RELAY_PIPE_BYTES);
  int size = fcntl(fds[1], F_GETPIPE_SZ);
  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok || !set_int(env, obj, "read", fds[0]) || !set_int(env, obj, "write", fds[1]) ||
      !set_int(env, obj, "size", size > 0 ? size : 65536)) {
    close(fds[0]);
    close(fds[1]);
    return napi_failed(env);
  }
  return obj;
}

/* splice(2) of up to `len` bytes from fdIn to fdOut (one of them a pipe), non-blocking: the bytes moved, 0 at end of file, null when nothing can move now. */
napi_value js_splice(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t in, out, len;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fdIn", &in) || !arg_int(env, a.argv[1], "fdOut", &out) ||
      !arg_int(env, a.argv[2], "len", &len))
    return NULL;
  if (len <= 0) return int_value(env, 0);
  ssize_t n = splice(in, NULL, out, NULL, (size_t)len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return null_value(env);
    return throw_errno(env, errno, "splice");
  }
  return int_value(env, n);
}

/* shutdown(2); `how` is SHUT_RD, SHUT_WR or SHUT_RDWR. ENOTCONN (the peer is gone) is not an error. */
napi_value js_shutdown(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd, how;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd) || !arg_int(env, a.argv[1], "how", &how)) return NULL;
  if (shutdown(fd, how) < 0 && errno != ENOTCONN) return throw_errno(env, errno, "shutdown");
  return undefined(env);
}
