/*
 * sockfile.c: one job, unix socket files that are safe in a directory other users can write.
 * bindUnix binds with the final mode already in place (no chmod of a path afterwards), and
 * chownSocketFile changes the owner only of the very socket file this fd is bound to, through an
 * fd opened without following symlinks, never by path.
 *
 * The attack both close: a local user who can write the socket's directory renames a symlink to
 * a victim file over the new socket between bind and chmod/chown, and a path-based chmod/chown,
 * run as root, follows it and makes the victim 0660 and someone else's.
 *
 * Functions that take decisions, and why:
 *   - js_bindUnix binds on a short-lived thread that first unshares its fs_struct
 *     (unshare(CLONE_FS)) and then sets the umask to ~mode & 0777: the umask is per fs_struct,
 *     which every other thread of the process (Node's libuv threadpool creating files) shares,
 *     so changing it on the calling thread would, for the length of the bind, give any file
 *     created concurrently the socket's mode. The helper thread's umask is its own and dies with
 *     it: there is no window. Where unshare(CLONE_FS) is refused (container seccomp profiles
 *     may refuse unshare outright), it falls back to setting the process umask around the one bind
 *     call and restoring it at once: a file another thread creates in those microseconds gets
 *     the socket's umask instead of ours. In ninetd that can only be a log file created by a
 *     reopen on SIGUSR1 at that instant; accepted as the price of working there at all. (A
 *     default ACL on the directory overrides the umask, for sockets as for every file; that is
 *     the directory owner's choice.)
 *   - js_chownSocketFile refuses, without changing anything: a symlink (ELOOP, syscall 'open'),
 *     anything but a socket (ENOTSOCK), a file not owned by our euid (EPERM), a file with more
 *     than one link (EMLINK), and a socket that is not the one bound on `fd` or no longer at the
 *     path (ESTALE), the last four with syscall 'verify'. Which socket is bound on `fd` is asked
 *     of the kernel through sock_diag (UNIX_DIAG_VFS: the device and inode of the bound file);
 *     on a kernel without unix sock_diag that one check is skipped, and the others still stand.
 * Only the last path component is guarded: whoever can replace a parent directory owns the
 * path anyway.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "exports.h"
#include "napi.h"
#include "sockaddr.h"

/* What the bind thread needs, and what it reports. */
typedef struct {
  int fd;
  struct sockaddr_storage ss;
  socklen_t len;
  mode_t umask;
  int err;             /* 0 or errno */
  const char *syscall; /* the call that failed */
} bind_job_t;

static void *bind_thread(void *arg) {
  bind_job_t *job = arg;
  /* Where unshare is refused (a container's seccomp filter), the umask is the process's. */
  bool shared = unshare(CLONE_FS) < 0;
  mode_t old = umask(job->umask);
  if (bind(job->fd, (struct sockaddr *)&job->ss, job->len) < 0) {
    job->err = errno;
    job->syscall = "bind";
  }
  if (shared) umask(old);
  return NULL;
}

/* bind(2) of a unix socket to a path, on a thread whose umask is ~mode & 0777, so that the file is born with `mode`. */
napi_value js_bindUnix(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd;
  uint32_t mode;
  size_t len;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd) || !arg_uint(env, a.argv[2], "mode", &mode)) return NULL;
  char *path = arg_string(env, a.argv[1], "path", &len);
  if (path == NULL) return NULL;
  bind_job_t job = {.fd = fd, .umask = ~(mode_t)mode & 0777};
  char why[96];
  int err = len == 0 || path[0] == '@' ? EINVAL : make_sockaddr(AF_UNIX, path, len, 0, &job.ss, &job.len, why, sizeof why);
  if (len == 0 || path[0] == '@') strcpy(why, "(not a path: a socket file needs one)");
  free(path);
  if (err) return throw_errno_detail(env, err, "bind", why);
  pthread_t thread;
  err = pthread_create(&thread, NULL, bind_thread, &job);
  if (err) return throw_errno(env, err, "pthread_create");
  pthread_join(thread, NULL);
  if (job.err) return throw_errno(env, job.err, job.syscall);
  return undefined(env);
}

/*
 * The device and inode of the file a unix socket is bound to, from sock_diag. Returns 0, ENOENT
 * when the socket has no file, or ENOSYS when the kernel cannot say (no unix sock_diag).
 */
static int bound_file(int fd, uint32_t *dev_major, uint32_t *dev_minor, uint32_t *ino) {
  struct stat st;
  if (fstat(fd, &st) < 0) return errno;
  int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (nl < 0) return ENOSYS;
  struct {
    struct nlmsghdr nlh;
    struct unix_diag_req req;
  } msg = {
      .nlh = {.nlmsg_len = sizeof msg, .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST},
      .req = {.sdiag_family = AF_UNIX, .udiag_states = ~0U, .udiag_ino = (uint32_t)st.st_ino, .udiag_show = UDIAG_SHOW_VFS,
              .udiag_cookie = {~0U, ~0U}},
  };
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  int result = ENOSYS;
  if (sendto(nl, &msg, sizeof msg, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) goto out;
  long buf[1024];
  ssize_t n;
  do n = recv(nl, buf, sizeof buf, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) goto out;
  for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
    if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct unix_diag_msg))) break;
    struct unix_diag_msg *m = NLMSG_DATA(h);
    if (m->udiag_ino != (uint32_t)st.st_ino) continue;
    result = ENOENT;
    size_t left = h->nlmsg_len - NLMSG_LENGTH(sizeof *m);
    for (struct rtattr *attr = (struct rtattr *)(m + 1); RTA_OK(attr, left); attr = RTA_NEXT(attr, left)) {
      if (attr->rta_type == UNIX_DIAG_VFS && RTA_PAYLOAD(attr) >= sizeof(struct unix_diag_vfs)) {
        struct unix_diag_vfs *vfs = RTA_DATA(attr);
        /* The kernel's own dev_t encoding: 12 bits of major above 20 bits of minor. */
        *dev_major = vfs->udiag_vfs_dev >> 20;
        *dev_minor = vfs->udiag_vfs_dev & 0xfffff;
        *ino = vfs->udiag_vfs_ino;
        result = 0;
      }
    }
    break;
  }
  /* An NLMSG_ERROR reply (no such socket, no unix_diag module) leaves ENOSYS: cannot say. */
out:
  close(nl);
  return result;
}

/* Throws `err` for `syscall` with `path` on the error. */
static napi_value throw_path(napi_env env, int err, const char *syscall, const char *detail, const char *path) {
  napi_value e = errno_error(env, err, syscall, detail);
  if (e == NULL || !set_str(env, e, "path", path, NAPI_AUTO_LENGTH)) return napi_failed(env);
  return throw_error_value(env, e);
}

/*
 * fchownat(2) AT_EMPTY_PATH on open(path, O_PATH | O_NOFOLLOW): gives the socket file bound on
 * `fd` to uid:gid (-1 leaves one unchanged), after checking it is that very socket (see above).
 */
napi_value js_chownSocketFile(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd;
  int64_t uid, gid;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd) || !arg_id(env, a.argv[2], "uid", &uid) ||
      !arg_id(env, a.argv[3], "gid", &gid))
    return NULL;
  char *path = arg_cstring(env, a.argv[1], "path");
  if (path == NULL) return NULL;
  napi_value result = NULL;
  int pathfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (pathfd < 0) {
    throw_path(env, errno, "open", NULL, path);
    goto out;
  }
  struct stat st;
  if (fstat(pathfd, &st) < 0) {
    throw_path(env, errno, "fstat", NULL, path);
    goto out;
  }
  if (S_ISLNK(st.st_mode)) {
    throw_path(env, ELOOP, "open", "(a symlink: not followed)", path);
    goto out;
  }
  if (!S_ISSOCK(st.st_mode)) {
    throw_path(env, ENOTSOCK, "verify", "(not a socket)", path);
    goto out;
  }
  if (st.st_uid != geteuid()) {
    throw_path(env, EPERM, "verify", "(not owned by us)", path);
    goto out;
  }
  if (st.st_nlink != 1) {
    /* None: renamed over or unlinked since we opened it. More: a hard link we did not make. */
    bool gone = st.st_nlink == 0;
    throw_path(env, gone ? ESTALE : EMLINK, "verify", gone ? "(no longer at this path)" : "(more than one link)", path);
    goto out;
  }
  uint32_t major_, minor_, ino;
  int err = bound_file(fd, &major_, &minor_, &ino);
  if (err == 0 && (major_ != major(st.st_dev) || minor_ != minor(st.st_dev) || ino != (uint32_t)st.st_ino)) err = ESTALE;
  if (err != 0 && err != ENOSYS) {
    throw_path(env, err == ENOENT ? ESTALE : err, "verify", "(not the socket bound on this fd)", path);
    goto out;
  }
  if (fchownat(pathfd, "", (uid_t)uid, (gid_t)gid, AT_EMPTY_PATH) < 0) {
    throw_path(env, errno, "fchownat", NULL, path);
    goto out;
  }
  result = undefined(env);
out:
  if (pathfd >= 0) close(pathfd);
  free(path);
  return result;
}
