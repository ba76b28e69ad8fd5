/*
 * spawn.h: the handler spawn of spawn.c, shared with launch.c (which spawns from a template
 * prepared once per service): the child's set-up, reading it from JavaScript, the clone, and
 * the error of a child that failed before exec.
 */
#ifndef NINETD_SPAWN_H
#define NINETD_SPAWN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include "napi.h"

/* P_PIDFD of linux/wait.h (Linux 5.4); glibc only names it since 2.36. */
#define WAIT_P_PIDFD 3
/* pidfd_open(2) (Linux 5.3), for C libraries that do not name it. */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

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
  /* A session of its own (setsid), or else a process group of its own in ours (setpgid). */
  bool new_session;
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
  /* Set by spawn_clone for the child: the fd it puts on 0, 1 and 2, and where its own fd table ends (0: a full copy). */
  int child_fd;
  unsigned table_end;
  /* Set by spawn_clone: the kernel reset the handled signals at the clone (CLONE_CLEAR_SIGHAND). */
  bool handlers_cleared;
  /* Written by the child on failure, read by the parent once clone returns. */
  volatile int failed_step;
  volatile int failed_errno;
  volatile int failed_rlimit;
} spawn_t;

/*
 * The kernel's struct rusage, which waitid's fifth argument fills: timevals of two longs, then
 * fourteen longs. glibc's own struct differs where time_t is 64-bit on a 32-bit ABI.
 */
typedef struct {
  long utime_sec, utime_usec;
  long stime_sec, stime_usec;
  long maxrss; /* KiB */
  long rest[13];
} kernel_rusage_t;

/* Spare fd slots reserved with the loading thread's: one per launch thread (launch.c). */
#define SPAWN_SPARES 2
/* Reserves this thread's fd slot, and SPAWN_SPARES spare ones, and notes the ignored signals (spawn.c); called once the addon is loaded, before any socket is made. */
void spawn_init(void);
/* Hands over one of this thread's spare slots and its filler (-1s when none is left), for a thread it starts to adopt. */
void spawn_take_spare(int pair[2]);
/* Makes a pair from spawn_take_spare this thread's fd slot (on a thread that has none). */
void spawn_adopt(const int pair[2]);
/* Says that this thread blocks every signal but SIGCHLD for good, so its clone3 spawns leave its mask alone. */
void spawn_signals_blocked(void);
/* Reads (file, argv, env, opts) into a zeroed `s`; false with a JS exception pending on bad input. */
bool spawn_read(napi_env env, napi_value file, napi_value argv, napi_value envv, napi_value opts, spawn_t *s);
void spawn_free(spawn_t *s);
/* The clone, on this thread's child stack: pid (> 0) once exec'd, 0 when the child failed before exec (reaped), -1 with
 * errno. With `pidfd` it also makes the child's pidfd there; NULL: none, the caller watches the pid itself. */
pid_t spawn_clone(spawn_t *s, int *pidfd);
/* waitid(2) with WEXITED | WNOHANG and the raw call's rusage, retried on EINTR; `si` and `ru` zeroed first (si_pid 0: still running). */
long spawn_waitid(int idtype, int id, siginfo_t *si, kernel_rusage_t *ru);
/* The Error of a child that failed before exec, naming the step (not thrown); NULL on N-API failure. */
napi_value spawn_error(napi_env env, const spawn_t *s);
/* Node's name of a signal ('SIGTERM', 'SIGRTMIN+3'). */
void signal_name(int signo, char *buf, size_t size);

#endif
