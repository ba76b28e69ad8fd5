/*
 * fd.c: one job, file descriptor flags and lifetimes that Node does not expose: O_NONBLOCK on
 * the open file description, close, close-on-exec for everything inherited, and the pid file
 * with its lock.
 *
 * Functions that take decisions, and why:
 *   - js_close treats EINTR as success: on Linux the fd is released even then, and retrying
 *     could close an fd another thread has just been given.
 *   - js_cloexecFrom falls back from close_range(CLOSE_RANGE_CLOEXEC) to walking /proc/self/fd
 *     with fcntl(F_SETFD) when the kernel lacks it (ENOSYS, or EINVAL for the flag before 5.11):
 *     the rule that nothing our parent leaked reaches a handler must hold on old kernels too.
 *     In that fallback an fd that closes under us (fcntl fails) is skipped, not an error.
 *   - js_lockPidFile retries F_SETLK up to three times when the lock was taken but F_GETLK then
 *     finds no holder (it let go between the two calls), so that the error can name the pid.
 *     It refuses, with syscall 'open', a symlink at the path (ELOOP: O_NOFOLLOW, never followed,
 *     so a planted link cannot make us truncate another file) and anything but a regular file
 *     (EINVAL "not a regular file": a FIFO is opened non-blocking, so it cannot hang us).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "exports.h"
#include "napi.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* ioctl(2) FIONBIO: sets or clears O_NONBLOCK on the open file description. */
napi_value js_setNonBlocking(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd;
  bool on;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd) || !arg_bool(env, a.argv[1], "on", true, &on)) return NULL;
  int v = on ? 1 : 0;
  if (ioctl(fd, FIONBIO, &v) < 0) return throw_errno(env, errno, "ioctl");
  return undefined(env);
}

/* close(2); EINTR still closes the fd on Linux, so it is not an error. */
napi_value js_close(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd)) return NULL;
  if (close(fd) < 0 && errno != EINTR) return throw_errno(env, errno, "close");
  return undefined(env);
}

/* close_range(2) with CLOSE_RANGE_CLOEXEC; on older kernels, fcntl(2) F_SETFD over /proc/self/fd. */
napi_value js_cloexecFrom(napi_env env, napi_callback_info info) {
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
  return throw_error_value(env, e);
}

/*
 * open(2) + fcntl(2) F_SETLK: the pid file, write-locked for as long as the returned fd stays
 * open, holding "<pid>\n". The file is opened once only: closing any fd on it would drop the
 * lock. A process must not call this twice for one path (POSIX locks do not conflict with the
 * process's own).
 */
napi_value js_lockPidFile(napi_env env, napi_callback_info info) {
  args_t a;
  size_t plen;
  if (!get_args(env, info, &a)) return NULL;
  char *path = arg_string(env, a.argv[0], "path", &plen);
  if (path == NULL) return NULL;
  napi_value result = NULL;
  /*
   * O_NOFOLLOW: a symlink at the path fails with ELOOP rather than making us truncate whatever it
   * points to. O_NONBLOCK: a FIFO there cannot block the open (the flag means nothing to the
   * regular file we keep). O_NOCTTY: a terminal there does not become ours.
   */
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0644);
  int open_err = fd < 0 ? errno : 0;
  struct stat st;
  if (fd >= 0 && fstat(fd, &st) < 0) open_err = errno;
  else if (fd >= 0 && !S_ISREG(st.st_mode)) open_err = EINVAL;
  if (open_err) {
    if (fd >= 0) close(fd);
    napi_value e = errno_error(env, open_err, "open", open_err == EINVAL ? "(not a regular file)" : NULL);
    if (e == NULL || !set_str(env, e, "path", path, NAPI_AUTO_LENGTH))
      napi_failed(env);
    else
      throw_error_value(env, e);
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
