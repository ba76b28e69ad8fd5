/*
 * spawn.c: one job, starting a handler and learning how it ended. spawnHandler runs
 * clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD) (clone3 where it can reset the handled signals,
 * see "signal dispositions") and, in the child, raw system calls up to execve;
 * waitPidfd reaps through the pidfd; pidfdOpen makes a pidfd for a pid; spawn_init reserves the
 * fd slot that keeps a clone's cost apart from how many fds we hold (see "the fd slot"). Node's
 * child_process cannot set supplementary groups, hand over an fd as 0, 1 and 2 without a copy in
 * the parent's event loop, report exits through a pollable fd, or say what a child cost
 * (waitPidfd's CPU times and peak RSS come from the raw waitid's struct rusage argument).
 *
 * Functions that take decisions, and why:
 *   - spawn_child stops at the first failing step and exits with that step's status (table
 *     below), recording the step and errno for js_spawnHandler, which throws them; the order of
 *     the steps (signals, fds, groups, gid, uid, umask, nice, limits, cwd, blocking, execve) is
 *     itself the security policy the handler contract states, and lives here because it must
 *     run between clone and execve.
 *   - spawn_child clears O_NONBLOCK on fd 0: handlers expect a blocking socket.
 *   - spawn_clone gives the child the socket through the fd slot, and the child a table of its
 *     own with only the fds at or below it, when the slot was reserved and the socket's number
 *     is above it; otherwise (no slot, a failed dup3) the child copies our whole table, as a
 *     plain fork does. A slot it cannot refill after a clone, or that the kernel cannot use
 *     (close_range refused in the child), is given up for good, never reused; in the second
 *     case the spawn is made again without it.
 *   - js_spawnHandler reaps a child that failed before exec (retrying waitid on EINTR), so no
 *     zombie is left; one that exec'd is reaped by js_waitPidfd.
 *   - js_waitPidfd retries waitid on EINTR, and returns null, not an error, while the child
 *     runs (EAGAIN from a non-blocking pidfd, or no child reported).
 * The choice between this spawn and child_process (kernels without pidfds) is the caller's.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exports.h"
#include "napi.h"
#include "spawn.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
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
 *   113     close_range     close_range(slot + 1, ~0, CLOSE_RANGE_UNSHARE): the child's own
 *                           fd table (see "the fd slot"); spawn_clone then gives up the slot
 *                           and spawns again without it
 *   101     setsid          setsid, when the handler gets a session of its own
 *   114     setpgid         setpgid(0, 0), when it gets a process group of its own in ours
 *   102     rt_sigaction    rt_sigaction(sig, SIG_DFL) for signals 1..64 but SIGKILL, SIGSTOP;
 *                           after a clone3 with CLONE_CLEAR_SIGHAND only for those ignored
 *                           (see "signal dispositions")
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
  STEP_UNSHARE,
  STEP_SETPGID,
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
    [STEP_UNSHARE] = {"close_range", 113},
    [STEP_SETPGID] = {"setpgid", 114},
};

/* Child: record the failed step and its errno where the parent will look, and exit. */
static void child_fail(spawn_t *s, spawn_step_t step) {
  s->failed_errno = errno;
  s->failed_step = step;
  syscall(SYS_exit_group, spawn_steps[step].status);
  __builtin_unreachable();
}

/*
 * Signal dispositions. The child must reach execve with every signal at its default, and no
 * handler of ours may run in it before then (it shares our memory). Where the kernel can
 * (x86-64, Linux 5.5), clone3's CLONE_CLEAR_SIGHAND resets every handled signal in the new
 * process at no cost; execve keeps what is ignored, so the child then resets only the signals
 * that are ignored here. Node resets every disposition at start-up but SIGPIPE's and SIGXFSZ's,
 * which it ignores; JavaScript can handle a signal but not ignore one, and the addon ignores
 * none: the signals ignored when the addon is loaded are all there will be. Elsewhere the
 * child resets all 62, one system call each.
 */
#if defined(__x86_64__)
#define HAVE_CLONE3 1
#endif

/* The signals ignored when the addon was loaded, which a child after CLONE_CLEAR_SIGHAND resets itself. */
static int ignored[_NSIG];
static size_t n_ignored;
static pthread_once_t ignored_once = PTHREAD_ONCE_INIT;

static void find_ignored(void) {
  for (int sig = 1; sig < _NSIG; sig++) {
    /* The kernel's struct sigaction starts with the handler on x86-64, the one user of this list. */
    void *ka[8] = {NULL};
    if (sig == SIGKILL || sig == SIGSTOP || syscall(SYS_rt_sigaction, sig, NULL, ka, KERNEL_SIGSET_BYTES) < 0) continue;
    if (ka[0] == (void *)SIG_IGN) ignored[n_ignored++] = sig;
  }
}

/*
 * The child, between clone and execve. It shares the parent's memory and the calling thread's
 * TLS, so it uses raw system calls only: glibc's setuid, setgid and setgroups signal every thread
 * of the process (they are process-wide in POSIX), which in a vfork child would reach the
 * parent's threads. No handler of the parent can run here: after clone3 the kernel has reset
 * them all, and the child starts with the signals blocked (inherited from the parent's mask: see
 * clone_raw) until the dispositions are reset.
 */
static int spawn_child(void *arg) {
  spawn_t *s = arg;
  /*
   * Sharing our fd table (CLONE_FILES), the child first makes its own, with only the fds below
   * table_end: the kernel copies nothing above it. Until then it touches no fd.
   */
  if (s->table_end > 0 && syscall(SYS_close_range, s->table_end, ~0U, CLOSE_RANGE_UNSHARE) < 0) child_fail(s, STEP_UNSHARE);
  if (s->new_session) {
    if (syscall(SYS_setsid) < 0) child_fail(s, STEP_SETSID);
  } else if (syscall(SYS_setpgid, 0, 0) < 0) {
    child_fail(s, STEP_SETPGID);
  }

  /* A zeroed kernel struct sigaction is SIG_DFL, no flags and an empty mask on every layout. */
  static const unsigned char dfl[64];
  if (s->handlers_cleared) {
    for (size_t i = 0; i < n_ignored; i++)
      if (syscall(SYS_rt_sigaction, ignored[i], dfl, NULL, KERNEL_SIGSET_BYTES) < 0) child_fail(s, STEP_SIGACTION);
  } else {
    for (int sig = 1; sig < _NSIG; sig++) {
      if (sig == SIGKILL || sig == SIGSTOP) continue;
      if (syscall(SYS_rt_sigaction, sig, dfl, NULL, KERNEL_SIGSET_BYTES) < 0) child_fail(s, STEP_SIGACTION);
    }
  }
  static const unsigned char empty[KERNEL_SIGSET_BYTES];
  if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, empty, NULL, KERNEL_SIGSET_BYTES) < 0) child_fail(s, STEP_SIGMASK);

  /* dup3 rather than dup2 (which some architectures lack); both leave the copy without CLOEXEC. */
  int fd = s->child_fd;
  for (int target = 0; target <= 2; target++) {
    long r = fd == target ? syscall(SYS_fcntl, target, F_SETFD, 0) : syscall(SYS_dup3, fd, target, 0);
    if (r < 0) child_fail(s, STEP_DUP);
  }
  if (fd > 2 && syscall(SYS_close, fd) < 0) child_fail(s, STEP_CLOSE);

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

/* A malloc'd, NULL-terminated copy of an array of strings. */
static char **arg_strings(napi_env env, napi_value v, const char *name) {
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array) return (bad_arg(env, name, "string[]"), NULL);
  if (napi_get_array_length(env, v, &n) != napi_ok) return (napi_failed(env), NULL);
  char **out = calloc((size_t)n + 1, sizeof *out);
  if (out == NULL) return (throw_errno(env, ENOMEM, "malloc"), NULL);
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
  if (napi_get_named_property(env, opts, key, out) != napi_ok) return (napi_failed(env), false);
  return true;
}

/* A uid or gid option: -1 (unchanged) or an id of 0..2^32-1. */
static bool opt_id(napi_env env, napi_value opts, const char *key, int64_t *out) {
  napi_value v;
  return opt(env, opts, key, &v) && arg_id(env, v, key, out);
}

/* An rlimit value: Infinity or -1 mean RLIM_INFINITY. */
static bool rlimit_value(napi_env env, napi_value v, uint64_t *out) {
  double d;
  if (!is_type(env, v, napi_number)) return bad_arg(env, "rlimits[i][1..2]", "number");
  if (napi_get_value_double(env, v, &d) != napi_ok) return (napi_failed(env), false);
  if (d == -1 || d >= 18446744073709551615.0) {
    *out = UINT64_MAX;
    return true;
  }
  if (d < 0 || d != d || d != (double)(uint64_t)d) {
    return out_of_range(env, "An rlimit must be -1, Infinity or a non-negative integer");
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
  if (napi_get_array_length(env, v, &n) != napi_ok) return (napi_failed(env), false);
  s->set_groups = true;
  s->ngroups = n;
  s->groups = calloc(n ? n : 1, sizeof *s->groups);
  if (s->groups == NULL) return (throw_errno(env, ENOMEM, "malloc"), false);
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    uint32_t gid;
    if (napi_get_element(env, v, i, &item) != napi_ok) return (napi_failed(env), false);
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
  if (napi_get_array_length(env, v, &n) != napi_ok) return (napi_failed(env), false);
  s->rlimits = calloc(n ? n : 1, sizeof *s->rlimits);
  if (s->rlimits == NULL) return (throw_errno(env, ENOMEM, "malloc"), false);
  for (uint32_t i = 0; i < n; i++) {
    napi_value item, part[3];
    bool tuple = false;
    uint32_t len = 0;
    if (napi_get_element(env, v, i, &item) != napi_ok) return (napi_failed(env), false);
    if (napi_is_array(env, item, &tuple) != napi_ok || !tuple || napi_get_array_length(env, item, &len) != napi_ok || len != 3)
      return bad_arg(env, "rlimits[i]", "[number, number, number]");
    for (uint32_t k = 0; k < 3; k++)
      if (napi_get_element(env, item, k, &part[k]) != napi_ok) return (napi_failed(env), false);
    int32_t resource;
    if (!arg_int(env, part[0], "rlimits[i][0]", &resource) || !rlimit_value(env, part[1], &s->rlimits[i].limit.cur) ||
        !rlimit_value(env, part[2], &s->rlimits[i].limit.max))
      return false;
    s->rlimits[i].resource = resource;
  }
  s->nrlimits = n;
  return true;
}

/* Reads (file, argv, env, opts) into `s` (spawn.h). */
bool spawn_read(napi_env env, napi_value file, napi_value argv, napi_value envv, napi_value opts, spawn_t *s) {
  napi_value v;
  if ((s->file = arg_cstring(env, file, "file")) == NULL) return false;
  if ((s->argv = arg_strings(env, argv, "argv")) == NULL) return false;
  if ((s->envp = arg_strings(env, envv, "env")) == NULL) return false;
  if (!is_type(env, opts, napi_object)) return bad_arg(env, "opts", "object");
  int32_t fd, nice;
  uint32_t mask;
  if (!opt(env, opts, "fd", &v) || !arg_int(env, v, "fd", &fd)) return false;
  if (fd < 0) return (throw_errno_detail(env, EBADF, "dup2", "(negative fd)"), false);
  s->fd = fd;
  if (!opt_id(env, opts, "uid", &s->uid) || !opt_id(env, opts, "gid", &s->gid) || !opt_groups(env, opts, s)) return false;
  if (!opt(env, opts, "umask", &v) || !arg_uint(env, v, "umask", &mask)) return false;
  s->umask = mask & 0777;
  if (!opt(env, opts, "nice", &v) || !arg_int(env, v, "nice", &nice)) return false;
  s->nice = nice;
  if (!opt_rlimits(env, opts, s)) return false;
  if (!opt(env, opts, "cwd", &v) || (s->cwd = arg_cstring(env, v, "cwd")) == NULL) return false;
  if (!opt(env, opts, "session", &v) || !arg_bool(env, v, "session", true, &s->new_session)) return false;
  return true;
}

void spawn_free(spawn_t *s) {
  free(s->file);
  free_strings(s->argv);
  free_strings(s->envp);
  free(s->cwd);
  free(s->groups);
  free(s->rlimits);
}

/* The error of a child that failed before execve, naming the step, with the path where one applies. */
napi_value spawn_error(napi_env env, const spawn_t *s) {
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
 * The child stack of this thread's spawns, made on first use and kept: a clone returns only
 * once its child has exec'd or failed, so spawns on one thread never share it at once. NULL
 * when out of memory.
 */
static char *child_stack_top(void) {
  static __thread char *top;
  if (top == NULL) {
    char *stack = malloc(CHILD_STACK_BYTES);
    if (stack != NULL) top = (char *)((uintptr_t)(stack + CHILD_STACK_BYTES) & ~(uintptr_t)15);
  }
  return top;
}

/*
 * The fd slot. A clone copies the parent's whole fd table, one reference per open fd, and the
 * exec then closes every copy again: with a socket per service, 5000 services cost each spawn
 * 5000 of both. So the child shares our table (CLONE_FILES) instead, and its first step makes
 * one of its own holding only the fds up to the slot, a low number reserved when the addon is
 * loaded, before the services' sockets exist. For each clone the socket is put into the slot
 * (dup3), and afterwards the slot is refilled with /dev/null from `filler`, so that it holds no
 * connection open between spawns. Per thread: clones on two threads never share a slot.
 */
static __thread int slot = -1, filler = -1;
/* More slots and fillers, reserved with this thread's for the threads it starts (spawn_take_spare). */
static __thread int spares[SPAWN_SPARES][2]; /* -1s until spawn_init */

/* A slot and its filler: two fds of /dev/null, as low as they come; false when none. */
static bool reserve(int *s, int *f) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  int other = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (other < 0) {
    close(fd);
    return false;
  }
  *s = fd;
  *f = other;
  return true;
}

void spawn_init(void) {
  pthread_once(&ignored_once, find_ignored);
  if (slot >= 0) return;
  for (int i = 0; i < SPAWN_SPARES; i++) spares[i][0] = spares[i][1] = -1;
  if (!reserve(&slot, &filler)) return;
  for (int i = 0; i < SPAWN_SPARES && reserve(&spares[i][0], &spares[i][1]); i++) {
  }
}

void spawn_take_spare(int pair[2]) {
  pair[0] = pair[1] = -1;
  for (int i = 0; i < SPAWN_SPARES; i++)
    if (spares[i][0] >= 0) {
      pair[0] = spares[i][0];
      pair[1] = spares[i][1];
      spares[i][0] = spares[i][1] = -1;
      return;
    }
}

void spawn_adopt(const int pair[2]) {
  if (slot >= 0 || pair[0] < 0) return;
  slot = pair[0];
  filler = pair[1];
}

/* Chooses the child's fd and table for `s` (spawn.h): a socket above the slot goes into it. */
static void use_slot(spawn_t *s) {
  s->child_fd = s->fd;
  s->table_end = 0;
  if (slot < 0 || s->fd == slot || s->fd == filler) return;
  if (s->fd > slot) {
    if (dup3(s->fd, slot, O_CLOEXEC) < 0) return;
    s->child_fd = slot;
  }
  s->table_end = (unsigned)slot + 1;
}

/* For good: spawns on this thread copy the whole table from now on. */
static void give_up_slot(void) {
  close(slot);
  close(filler);
  slot = filler = -1;
}

/* After a clone: the slot holds /dev/null again; a slot that cannot be refilled is given up. */
static void refill_slot(void) {
  if (dup3(filler, slot, O_CLOEXEC) != slot) give_up_slot();
}

#ifdef HAVE_CLONE3
#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif
/* clone3's struct clone_args as far as Linux 5.5 knows it. */
typedef struct {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
} clone3_args_t;

/* Set once clone3 was refused (ENOSYS, EINVAL or EPERM: a kernel before 5.5, a seccomp filter): clone from then on. */
static bool clone3_refused;

/*
 * clone3 with `a`, the child running fn(arg) and exiting with what it returns. The child
 * comes back from the system call on its own stack, so it must not use this function's frame:
 * fn and arg travel in registers the system call keeps.
 */
static pid_t clone3_run(clone3_args_t *a, int (*fn)(void *), void *arg) {
  register long rax __asm__("rax") = SYS_clone3;
  register clone3_args_t *rdi __asm__("rdi") = a;
  register size_t rsi __asm__("rsi") = sizeof *a;
  register int (*r12)(void *) __asm__("r12") = fn;
  register void *r13 __asm__("r13") = arg;
  __asm__ volatile("syscall\n\t"
                   "testq %%rax, %%rax\n\t"
                   "jnz 1f\n\t"
                   "xorl %%ebp, %%ebp\n\t"
                   "movq %%r13, %%rdi\n\t"
                   "callq *%%r12\n\t"
                   "movl %%eax, %%edi\n\t"
                   "movl %[exit], %%eax\n\t"
                   "syscall\n\t"
                   "hlt\n"
                   "1:"
                   : "+r"(rax)
                   : "r"(rdi), "r"(rsi), "r"(r12), "r"(r13), [exit] "i"(SYS_exit_group)
                   : "rcx", "r11", "memory");
  if (rax < 0) {
    errno = (int)-rax;
    return -1;
  }
  return (pid_t)rax;
}
#endif

/*
 * Set on a thread that keeps every signal but SIGCHLD (and glibc's two internal ones, which
 * target threads of this process only) blocked for good: a launch thread.
 */
static __thread bool blocks_signals;

void spawn_signals_blocked(void) { blocks_signals = true; }

/*
 * Blocks every signal in this thread (glibc's internal ones too, as its posix_spawn does) so
 * that the child starts with all of them blocked and none of our handlers can run in it before
 * it resets them. All but SIGCHLD: the child has no children, so nothing sends it one in its few
 * system calls before exec (and its handler, libuv's when Node has children of its own, only
 * wakes the loop). Blocked here, the SIGCHLD of every handler that ended while this thread sat
 * in the clone (most of the time under load) would be queued rather than discarded as an
 * unhandled SIGCHLD is, and would wake one of Node's idle threads to be discarded there.
 */
static void block_signals(unsigned char old[KERNEL_SIGSET_BYTES]) {
  unsigned char all[KERNEL_SIGSET_BYTES];
  memset(all, 0xff, sizeof all);
  all[(SIGCHLD - 1) / 8] &= (unsigned char)~(1u << ((SIGCHLD - 1) % 8));
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, all, old, KERNEL_SIGSET_BYTES);
}

/* Puts back the mask block_signals saved, leaving errno as the clone set it. */
static void restore_signals(const unsigned char old[KERNEL_SIGSET_BYTES]) {
  int saved = errno;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, old, NULL, KERNEL_SIGSET_BYTES);
  errno = saved;
}

/*
 * The clone itself, on the child stack `top`: clone3 resetting the handled signals where it
 * can, else clone, with the signals blocked around either (block_signals). A clone3 child has
 * no handler of ours, and on a thread that blocks the signals for good (a launch thread) it
 * starts with them blocked anyway: that thread's mask stays as it is, two system calls fewer
 * per spawn.
 */
static pid_t clone_raw(spawn_t *s, char *top, int flags, int *pidfd) {
  unsigned char old[KERNEL_SIGSET_BYTES];
  pid_t pid;
#ifdef HAVE_CLONE3
  if (!__atomic_load_n(&clone3_refused, __ATOMIC_RELAXED)) {
    s->handlers_cleared = true;
    /* The stack's top 16-byte aligned, as clone's is; its lowest bytes unused. */
    size_t size = CHILD_STACK_BYTES - 16;
    clone3_args_t a = {
        .flags = (uint64_t)(unsigned)flags | CLONE_CLEAR_SIGHAND,
        .pidfd = (uintptr_t)pidfd,
        .exit_signal = SIGCHLD,
        .stack = (uintptr_t)(top - size),
        .stack_size = size,
    };
    if (!blocks_signals) block_signals(old);
    pid = clone3_run(&a, spawn_child, s);
    if (!blocks_signals) restore_signals(old);
    /* Out of processes or memory says nothing about clone3 itself: that failure is the spawn's. */
    if (pid >= 0 || (errno != ENOSYS && errno != EINVAL && errno != EPERM)) return pid;
    __atomic_store_n(&clone3_refused, true, __ATOMIC_RELAXED);
  }
#endif
  s->handlers_cleared = false;
  block_signals(old);
  pid = clone(spawn_child, top, flags | SIGCHLD, s, pidfd);
  restore_signals(old);
  return pid;
}

/* One clone of spawn_clone, on the child stack `top`. */
static pid_t clone_child(spawn_t *s, char *top, int *pidfd) {
  s->failed_step = STEP_NONE;
  use_slot(s);
  int flags = CLONE_VM | CLONE_VFORK | (pidfd ? CLONE_PIDFD : 0) | (s->table_end > 0 ? CLONE_FILES : 0);
  if (pidfd) *pidfd = -1;
  pid_t pid = clone_raw(s, top, flags, pidfd);
  int clone_errno = errno;
  if (s->child_fd != s->fd) refill_slot();
  if (pid < 0) {
    errno = clone_errno;
    return -1;
  }
  if (s->failed_step != STEP_NONE) {
    /* The child has exited (or is about to): reap it, so no zombie is left behind. */
    siginfo_t si;
    while (syscall(SYS_waitid, pidfd ? WAIT_P_PIDFD : P_PID, pidfd ? *pidfd : pid, &si, WEXITED, NULL) < 0 && errno == EINTR) {
    }
    if (pidfd) {
      close(*pidfd);
      *pidfd = -1;
    }
    return 0;
  }
  return pid;
}

/*
 * Runs the clone for `s` on this thread's child stack: the pid, with *pidfd set, once the child
 * has exec'd; 0 when the child failed before exec (already reaped; the step and errno are in
 * `s`); -1 with errno set when clone itself failed (ENOMEM when there is no stack).
 */
pid_t spawn_clone(spawn_t *s, int *pidfd) {
  char *top = child_stack_top();
  if (top == NULL) {
    errno = ENOMEM;
    return -1;
  }
  pid_t pid = clone_child(s, top, pidfd);
  /* A kernel before 5.9, or a seccomp filter, refused the child a table of its own: no slot. */
  if (pid == 0 && s->failed_step == STEP_UNSHARE) {
    give_up_slot();
    pid = clone_child(s, top, pidfd);
  }
  return pid;
}

/*
 * clone(2) with CLONE_VM | CLONE_VFORK | CLONE_PIDFD, then execve(2) in the child: starts a
 * handler with `opts.fd` on 0, 1 and 2 and returns { pid, pidfd } (pidfd close-on-exec). The
 * calling thread is suspended only until the child has exec'd or failed; a failure before exec
 * is thrown here, with `syscall` naming the step, and that child is already reaped.
 */
napi_value js_spawnHandler(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a)) return NULL;
  spawn_t s;
  memset(&s, 0, sizeof s);
  napi_value result = NULL;
  if (!spawn_read(env, a.argv[0], a.argv[1], a.argv[2], a.argv[3], &s)) goto out;
  int pidfd;
  pid_t pid = spawn_clone(&s, &pidfd);
  if (pid < 0) {
    throw_errno(env, errno, "clone");
    goto out;
  }
  if (pid == 0) {
    throw_error_value(env, spawn_error(env, &s));
    goto out;
  }
  if (napi_create_object(env, &result) != napi_ok || !set_int(env, result, "pid", pid) || !set_int(env, result, "pidfd", pidfd)) {
    /* Not reachable in practice; the child runs on, and its pidfd stays ours to report. */
    result = napi_failed(env);
  }
out:
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

void signal_name(int signo, char *buf, size_t size) {
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

/* waitid(2) by raw system call, for its struct rusage argument (glibc's waitid() has none). */
long spawn_waitid(int idtype, int id, siginfo_t *si, kernel_rusage_t *ru) {
  memset(si, 0, sizeof *si);
  memset(ru, 0, sizeof *ru);
  long r;
  do r = syscall(SYS_waitid, idtype, id, si, WEXITED | WNOHANG, ru);
  while (r < 0 && errno == EINTR);
  return r;
}

/*
 * waitid(2) P_PIDFD with WEXITED | WNOHANG, with its struct rusage: { code, signal, utimeUs,
 * stimeUs, maxRssKb } once the child ended (and is reaped), null while it runs. maxrss is never
 * below our own RSS when the child was spawned: exec records the high-water mark of the memory
 * the child left, which was ours.
 */
napi_value js_waitPidfd(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t pidfd;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "pidfd", &pidfd)) return NULL;
  siginfo_t si;
  kernel_rusage_t ru;
  long r = spawn_waitid(WAIT_P_PIDFD, pidfd, &si, &ru);
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
  if (!set_int(env, obj, "utimeUs", (int64_t)ru.utime_sec * 1000000 + ru.utime_usec) ||
      !set_int(env, obj, "stimeUs", (int64_t)ru.stime_sec * 1000000 + ru.stime_usec) || !set_int(env, obj, "maxRssKb", ru.maxrss))
    return napi_failed(env);
  return obj;
}

/* pidfd_open(2): a close-on-exec fd for process `pid`; ENOSYS on kernels before 5.3. */
napi_value js_pidfdOpen(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t pid;
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "pid", &pid)) return NULL;
  long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return throw_errno(env, errno, "pidfd_open");
  return int_value(env, fd);
}
