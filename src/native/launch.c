/*
 * launch.c: one job, the Launcher class and its thread: the accept-and-spawn loop of a nowait
 * stream service that needs no decision per connection, run without the event loop. Two
 * threads per environment (the launch threads) take turns to wait in their own epoll set on
 * the listening sockets of the launchers that are watching, accept, and start each handler
 * from a template read once
 * (spawn.h), with the connection's addresses put into the environment slots the template
 * names. It learns of the handlers' exits from one io_uring waitid operation per child where
 * the kernel has IORING_OP_WAITID (Linux 6.7), for up to RING_CHILDREN children, else through
 * their pidfds, in the same epoll set; the child is reaped by waitid for its rusage either way.
 * A ring operation costs less than a pidfd, an epoll_ctl and a close. What happened (started,
 * ended, handed back, paused, failed) is handed to JavaScript in batches on the event loop
 * (uv_async), where every count and every record is kept: TypeScript decides which services
 * come here and what each number is. Threads of its own rather than the event loop: the loop
 * took two turns per connection, each with Node's check phase, and stood still for the length
 * of every spawn (docs/benchmarks.md, "The launch thread"); two rather than one: one left a
 * core idle for a tenth of the time at 32 clients (docs/benchmarks.md, "Idle cores").
 *
 * Threads: the launch threads and JavaScript share the launchers and the records under one
 * lock, which a thread holds while it serves a wake (a burst of at most BURST spawns) and
 * drops while it waits and while it clones: a clone holds its thread until the child has
 * exec'd, and meanwhile the other thread takes the wait and accepts the next connection, so
 * that at most two spawns are in flight. What a spawn in flight will take (a place under
 * `instances`, one of the budget, one on the ring) is taken before the lock is dropped, and
 * the child reads a copy of the template made for its thread. JavaScript's calls (start, stop,
 * close, running, drain) take the lock, so after stop() returns no connection is accepted (one
 * accepted before may still be starting). The epoll set names a listener by its index
 * in the table of launchers, never by pointer: a launcher JavaScript closes and frees while
 * the thread holds an event for it leaves an empty index, or one a later launcher took, and a
 * readiness event that finds nothing queued costs one TCP_INFO (or one EAGAIN).
 *
 * Functions that take decisions, and why:
 *   - launch_burst serves at most `instances` handlers at once and at most `budget` more (the
 *     two numbers start() was given); at either bound, and on any failure, it stops watching
 *     (paused) and has the batch handed over at once, so that TypeScript decides what follows.
 *   - launch_burst hands a connection it accepted but will not serve (budget spent, the user
 *     gone, a failed spawn) back to TypeScript with its fd, which serves it as every other
 *     connection is served; nothing accepted is dropped here.
 *   - launch_burst checks that the template's user still exists before each spawn (the
 *     supervisor resolved it at load time; a user deleted since must not get a process), with
 *     nss.c's user_exists, which reads the password database only when it may have changed.
 *   - launch_burst watches a child on the ring while fewer than RING_CHILDREN are there and
 *     the ring has room for its operation, else by a pidfd: a started child is always watched.
 *     The kernel takes a burst's operations at its end; those it could not take (out of
 *     memory) are offered again after FLUSH_MS until it does.
 *   - The thread has records handed over FLUSH_MS after the first of a batch, not per
 *     connection: the batch is what makes the fast path cheap; drain() empties it at once for
 *     a caller that needs exact counts (the status snapshot), once the spawns in flight have
 *     come back from their clones, so that a connection accepted before it is counted.
 *   - launch_burst hands the epoll wait to the other thread before a clone only while more
 *     connections are known to be queued: at 1 client it would wake that thread for nothing.
 *   - A closed Launcher still reports the handlers it started, until the last has ended.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <linux/io_uring.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "exports.h"
#include "napi.h"
#include "nss.h"
#include "sockaddr.h"
#include "spawn.h"

/* Connections served per readiness event before yielding to the event loop (as nowait.ts). */
#define BURST 32
/*
 * Launch threads per environment, each with an fd slot of its own (spawn.h). A clone with
 * CLONE_VFORK holds its thread until the child has exec'd; a second thread accepts and starts
 * the next handler meanwhile, so that both cores stay busy (docs/benchmarks.md, "Idle cores").
 */
#define LAUNCH_THREADS SPAWN_SPARES
/*
 * How long records wait to be handed over, at most. Each hand-over wakes the event loop, which
 * costs the supervisor more than the records in it: at 1 client, 20 ms cost 3.0-6.1 µs of the
 * main thread per connection, 100 ms 1.4-2.0 µs (docs/benchmarks.md, "The batch's interval").
 */
#define FLUSH_MS 100
/* Events taken per wait of the launch thread, and exits read per readiness of the ring. */
#define EVENTS_PER_WAKE 64
#define EXITS_PER_WAKE 64
/*
 * Children watched on the ring at once; the others get pidfds. Every child's exit wakes each
 * waitid operation in turn (they wait on one queue, the process's), so a ring of thousands
 * would cost each exit more than the ring saves. Its completions always fit: RING_CQ entries.
 */
#define RING_CHILDREN 128
#define RING_CQ RING_CHILDREN
/* Submission entries: a burst's children are submitted at its end. */
#define RING_SQ 64
/* IORING_OP_WAITID (Linux 6.7), which the kernel headers this is built with may not name. */
#define RING_OP_WAITID 50

/* Environment slots: which connection value a template variable takes. */
enum { SLOT_FIXED, SLOT_LOCAL_IP, SLOT_LOCAL_PORT, SLOT_REMOTE_IP, SLOT_REMOTE_PORT, SLOT_COUNT };
/* "NAME=" plus the longest value a slot takes (an IPv6 address). */
#define SLOT_VALUE_BYTES INET6_ADDRSTRLEN

typedef enum { REC_START, REC_END, REC_HANDBACK, REC_PAUSED, REC_ERROR } rec_kind_t;

typedef struct {
  rec_kind_t kind;
  int32_t id;
  pid_t pid;
  int fd;     /* handback: the connection; start: a pidfd the reaper could not watch, else -1 */
  int64_t at; /* ms since the epoch */
  struct sockaddr_storage peer;
  socklen_t peerlen;
  int code, signo;
  int64_t utime_us, stime_us, maxrss_kb;
  int err;
  const char *what; /* paused: why; error: the system call */
} record_t;

struct launcher;

typedef struct child {
  int pidfd; /* -1 on the ring */
  pid_t pid;
  struct launcher *owner;
  siginfo_t si; /* the ring's waitid writes here */
} child_t;

/* An io_uring of one waitid operation per child; fd -1 when the kernel has none (the epoll set is used). */
typedef struct {
  int fd;
  unsigned *sq_head, *sq_tail, *sq_array, *cq_head, *cq_tail;
  unsigned sq_mask, cq_mask, sq_entries;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
  unsigned unsubmitted; /* entries written that the kernel has not taken yet */
  size_t children;      /* operations written whose completion is not read yet: one per child */
  unsigned reserved;    /* places promised to children being cloned, whose operations are not written yet */
} ring_t;

/* What an event of the launch thread's epoll set is about: the low two bits of its data, the rest a number. */
enum { EV_PIDFD, EV_LISTENER, EV_RING, EV_WAKE };
#define EV(kind, n) (((uint64_t)(n) << 2) | (uint64_t)(kind))

/* Per environment (napi instance data): the launch threads, their epoll set, the pending records, the callback. */
typedef struct {
  napi_env env;
  /* Everything below that the thread touches is under `lock` (see "Threads" above). */
  pthread_mutex_t lock;
  pthread_t threads[LAUNCH_THREADS];
  size_t nthreads; /* started */
  size_t adopted;  /* spawn_slot pairs taken by the threads */
  /*
   * One thread waits in the epoll set at a time: with two, every level-triggered event would
   * wake both. The others wait for `turn`, which a thread gives when it drops the lock to clone
   * while connections are still queued, so that the next one is accepted meanwhile.
   */
  bool polling;
  pthread_cond_t turn;
  /* Spawns in flight (the lock dropped for their clone); `cloned` is broadcast when none is left. */
  size_t cloning;
  pthread_cond_t cloned;
  bool stopping; /* the environment is being torn down: the thread ends, no batch reaches JavaScript */
  int epfd;   /* listeners watching, pidfds, the ring, wakefd */
  int wakefd; /* eventfd: stop */
  int spawn_slot[LAUNCH_THREADS][2]; /* the threads' fd slots and fillers (spawn.h), reserved when the addon was loaded */
  ring_t ring;
  uv_async_t async; /* records waiting: the thread asks the loop to hand them over */
  size_t watching;  /* launchers watching: while there is one, `async` keeps the loop alive */
  bool signalled;   /* asked, and not handed over since */
  napi_ref cb;
  napi_async_context async_ctx;
  record_t *recs;
  size_t nrecs, cap;
  int64_t first_at; /* monotonic ms of the batch's first record */
  bool urgent;
  size_t children;
  /* The children by pidfd number: what the epoll set reports (see on_pidfd). */
  child_t **byfd;
  size_t nbyfd;
  /* The launchers by index, as the epoll set names them; free indexes are NULL. */
  struct launcher **table;
  size_t ntable;
  size_t table_free; /* no index below it is free */
  struct launcher *launchers; /* open ones, for teardown */
  napi_async_cleanup_hook_handle hook;
} reaper_t;

typedef struct launcher {
  reaper_t *r;
  size_t index; /* in r->table */
  int32_t id;
  int fd;
  spawn_t tpl;
  uint8_t *slots; /* per envp entry */
  char **slotbuf; /* per envp entry: "NAME=" then room for the value (slot entries only) */
  size_t *namelen;
  size_t nenv;
  char *user;
  user_stamp_t user_stamp; /* what the last check that `user` exists learnt */
  /* The local address and port as text when the socket is bound to one address (else per connection). */
  char local_ip[INET6_ADDRSTRLEN], local_port[8];
  bool local_fixed;
  int32_t instances; /* 0: unlimited */
  int64_t budget;    /* -1: unlimited */
  int32_t running; /* handlers watched here, and spawns in flight */
  int32_t cloning; /* spawns in flight: a launch thread clones with the lock dropped */
  bool watching, paused_full, closed, finalized;
  struct launcher *next;
} launcher_t;

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes `v` in decimal at `out` with a NUL; returns the digits written. (snprintf and glibc's
 * IPv4 inet_ntop go through vfprintf, a measurable part of each fast-path spawn.) */
static size_t decimal(char *out, unsigned v) {
  char tmp[10];
  size_t n = 0;
  do tmp[n++] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
  out[n] = '\0';
  return n;
}

/* Dotted quad of the 4 bytes at `a`, with a NUL (16 bytes at most). */
static void ipv4_text(const unsigned char *a, char *ip) {
  for (int i = 0; i < 4; i++) {
    ip += decimal(ip, a[i]);
    if (i < 3) *ip++ = '.';
  }
}

/* Writes `sa`'s address (IPv4-mapped IPv6 as IPv4) and port as text; ip has INET6_ADDRSTRLEN bytes, port 8. */
static void addr_text(const struct sockaddr_storage *sa, char ip[INET6_ADDRSTRLEN], char port[8]) {
  ip[0] = port[0] = '\0';
  if (sa->ss_family == AF_INET) {
    const struct sockaddr_in *s4 = (const void *)sa;
    ipv4_text((const unsigned char *)&s4->sin_addr, ip);
    decimal(port, ntohs(s4->sin_port));
  } else if (sa->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const void *)sa;
    if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
      ipv4_text(&s6->sin6_addr.s6_addr[12], ip);
    else
      inet_ntop(AF_INET6, &s6->sin6_addr, ip, INET6_ADDRSTRLEN);
    decimal(port, ntohs(s6->sin6_port));
  }
}

/* ---- records ---- */

/* A record to hand over (under the lock); NULL when out of memory. */
static record_t *push(reaper_t *r, rec_kind_t kind, int32_t id) {
  if (r->nrecs == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 64;
    record_t *n = realloc(r->recs, cap * sizeof *n);
    if (n == NULL) return NULL;
    r->recs = n;
    r->cap = cap;
  }
  record_t *rec = &r->recs[r->nrecs++];
  memset(rec, 0, sizeof *rec);
  rec->kind = kind;
  rec->id = id;
  rec->fd = -1;
  rec->at = now_ms();
  if (r->nrecs == 1) r->first_at = mono_ms();
  return rec;
}

/* Asks the event loop to take the records (under the lock, on the launch thread). */
static void signal_loop(reaper_t *r) {
  if (r->signalled) return;
  r->signalled = true;
  uv_async_send(&r->async);
}

/* Numbers per record in the batch's Float64Array: kind, id, pid, fd, at, code, utime, stime, maxrss. */
#define FIELDS 9

/* The record's one non-numeric part: peer text (start), SockAddr (handback), signal name (end), why (paused), Error (error). */
static bool record_extra(napi_env env, const record_t *rec, napi_value *out) {
  *out = NULL;
  switch (rec->kind) {
  case REC_START: {
    char ip[INET6_ADDRSTRLEN], port[8], text[INET6_ADDRSTRLEN + 10];
    addr_text(&rec->peer, ip, port);
    /* ip:port, [ip]:port for IPv6 */
    bool v6 = strchr(ip, ':') != NULL;
    size_t n = 0, il = strlen(ip), pl = strlen(port);
    if (v6) text[n++] = '[';
    memcpy(text + n, ip, il);
    n += il;
    if (v6) text[n++] = ']';
    text[n++] = ':';
    memcpy(text + n, port, pl);
    n += pl;
    return napi_create_string_utf8(env, text, n, out) == napi_ok;
  }
  case REC_HANDBACK:
    return (*out = sockaddr_value(env, &rec->peer, rec->peerlen, rec->peer.ss_family)) != NULL;
  case REC_END:
    if (rec->signo != 0) {
      char name[32];
      signal_name(rec->signo, name, sizeof name);
      return napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, out) == napi_ok;
    }
    return true;
  case REC_PAUSED:
    return napi_create_string_utf8(env, rec->what, NAPI_AUTO_LENGTH, out) == napi_ok;
  case REC_ERROR:
    return (*out = errno_error(env, rec->err, rec->what, NULL)) != NULL;
  }
  return true;
}

/* Takes the pending records out from under the lock (the caller holds it): *n of them, to convert and free. */
static record_t *take_pending(reaper_t *r, size_t *n) {
  record_t *recs = r->recs;
  *n = r->nrecs;
  r->recs = NULL;
  r->nrecs = r->cap = 0;
  r->urgent = false;
  r->signalled = false;
  return recs;
}

/*
 * `n` records as [Float64Array of FIELDS numbers each, Array of their other parts]; NULL on an
 * N-API failure. Numbers rather than objects: a batch costs one buffer, not a property write
 * per field.
 */
static napi_value records_value(napi_env env, const record_t *recs, size_t n) {
  napi_value ab, nums, extra, out;
  double *d = NULL;
  if (napi_create_arraybuffer(env, n * FIELDS * sizeof(double), (void **)&d, &ab) != napi_ok ||
      napi_create_typedarray(env, napi_float64_array, n * FIELDS, ab, 0, &nums) != napi_ok || napi_create_array_with_length(env, n, &extra) != napi_ok ||
      napi_create_array_with_length(env, 2, &out) != napi_ok)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    const record_t *rec = &recs[i];
    double *f = d + i * FIELDS;
    f[0] = rec->kind;
    f[1] = rec->id;
    f[2] = rec->pid;
    f[3] = rec->fd;
    f[4] = (double)rec->at;
    f[5] = rec->code;
    f[6] = (double)rec->utime_us;
    f[7] = (double)rec->stime_us;
    f[8] = (double)rec->maxrss_kb;
    napi_value x;
    if (!record_extra(env, rec, &x)) return NULL;
    if (x != NULL && napi_set_element(env, extra, (uint32_t)i, x) != napi_ok) return NULL;
  }
  if (napi_set_element(env, out, 0, nums) != napi_ok || napi_set_element(env, out, 1, extra) != napi_ok) return NULL;
  return out;
}

static void keep_alive(reaper_t *r);

/* On the event loop, when the launch thread asked: hands the pending records to the callback, in a callback scope. */
static void on_async(uv_async_t *h) {
  reaper_t *r = h->data;
  size_t n;
  pthread_mutex_lock(&r->lock);
  record_t *recs = take_pending(r, &n);
  pthread_mutex_unlock(&r->lock);
  if (n > 0 && r->cb != NULL && !r->stopping) {
    napi_env env = r->env;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) == napi_ok) {
      napi_value cb, self, arr = records_value(env, recs, n), result;
      if (arr != NULL && napi_get_reference_value(env, r->cb, &cb) == napi_ok && cb != NULL && napi_get_global(env, &self) == napi_ok)
        napi_make_callback(env, r->async_ctx, self, cb, 1, &arr, &result);
      bool pending = false;
      if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
        napi_value exc;
        if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
      }
      napi_close_handle_scope(env, scope);
    }
  }
  free(recs);
  keep_alive(r);
}

/* ---- the ring ---- */

/* Whether the kernel behind ring `fd` has the waitid operation. */
static bool ring_has_waitid(int fd) {
  size_t len = sizeof(struct io_uring_probe) + 256 * sizeof(struct io_uring_probe_op);
  struct io_uring_probe *p = calloc(1, len);
  bool ok = p != NULL && syscall(__NR_io_uring_register, fd, IORING_REGISTER_PROBE, p, 256) == 0 && p->last_op >= RING_OP_WAITID &&
            (p->ops[RING_OP_WAITID].flags & IO_URING_OP_SUPPORTED);
  free(p);
  return ok;
}

/* Sets `q` up; q->fd stays -1 where the kernel has no io_uring or no waitid operation, or refuses one (io_uring_disabled, seccomp). */
static void ring_open(ring_t *q) {
  memset(q, 0, sizeof *q);
  q->fd = -1;
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  p.flags = IORING_SETUP_CQSIZE;
  p.cq_entries = RING_CQ;
  int fd = (int)syscall(__NR_io_uring_setup, RING_SQ, &p); /* O_CLOEXEC */
  if (fd < 0) return;
  size_t sqlen = p.sq_off.array + p.sq_entries * sizeof(unsigned), cqlen = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  size_t len = sqlen > cqlen ? sqlen : cqlen;
  char *m = MAP_FAILED;
  void *e = MAP_FAILED;
  /* One mapping for both rings (5.4, so any kernel with the waitid operation). */
  if (!(p.features & IORING_FEAT_SINGLE_MMAP) || !ring_has_waitid(fd) ||
      (m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, IORING_OFF_SQ_RING)) == MAP_FAILED ||
      (e = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED, fd, IORING_OFF_SQES)) == MAP_FAILED) {
    if (m != MAP_FAILED) munmap(m, len);
    close(fd);
    return;
  }
  q->sq_head = (unsigned *)(m + p.sq_off.head);
  q->sq_tail = (unsigned *)(m + p.sq_off.tail);
  q->sq_array = (unsigned *)(m + p.sq_off.array);
  q->sq_mask = *(unsigned *)(m + p.sq_off.ring_mask);
  q->sq_entries = p.sq_entries;
  q->cq_head = (unsigned *)(m + p.cq_off.head);
  q->cq_tail = (unsigned *)(m + p.cq_off.tail);
  q->cq_mask = *(unsigned *)(m + p.cq_off.ring_mask);
  q->cqes = (struct io_uring_cqe *)(m + p.cq_off.cqes);
  q->sqes = e;
  q->fd = fd;
}

/* Whether one more operation can be written now. */
static bool ring_room(const ring_t *q) { return *q->sq_tail - __atomic_load_n(q->sq_head, __ATOMIC_ACQUIRE) + q->reserved < q->sq_entries; }

/* Writes the waitid operation for `c` (ring_room first). */
static void ring_queue(ring_t *q, child_t *c) {
  unsigned tail = *q->sq_tail, i = tail & q->sq_mask;
  struct io_uring_sqe *e = &q->sqes[i];
  memset(e, 0, sizeof *e);
  e->opcode = RING_OP_WAITID;
  e->fd = c->pid;
  e->len = P_PID;
  e->file_index = WEXITED | WNOWAIT; /* it stays a zombie for waitid, which gives its rusage */
  e->addr2 = (uintptr_t)&c->si;
  e->user_data = (uintptr_t)c;
  q->sq_array[i] = i;
  __atomic_store_n(q->sq_tail, tail + 1, __ATOMIC_RELEASE);
  q->unsubmitted++;
  q->children++;
}

/* Hands the written operations to the kernel; what it does not take now stays for the next call. */
static void ring_submit(ring_t *q) {
  if (q->unsubmitted == 0) return;
  long n;
  do n = syscall(__NR_io_uring_enter, q->fd, q->unsubmitted, 0, 0, NULL, 0);
  while (n < 0 && errno == EINTR);
  if (n > 0) q->unsubmitted -= (unsigned)n;
}

/* ---- launchers (under the lock) ---- */

/* Frees what launcher_new made (a launcher not in the table, or taken out of it). */
static void launcher_free(launcher_t *l) {
  spawn_free(&l->tpl); /* the slot buffers too: they are the template's envp entries */
  free(l->slots);
  free(l->slotbuf);
  free(l->namelen);
  free(l->user);
  free(l);
}

/* A closed, finalized launcher with no handler left running leaves the table and is freed. */
static void launcher_free_if_done(launcher_t *l) {
  if (!l->closed || !l->finalized || l->running > 0) return;
  reaper_t *r = l->r;
  r->table[l->index] = NULL;
  if (l->index < r->table_free) r->table_free = l->index;
  launcher_free(l);
}

static void launcher_unwatch(launcher_t *l) {
  if (!l->watching) return;
  l->watching = false;
  l->r->watching--;
  /* Fails only when the socket is closed already, which took it out of the set. */
  epoll_ctl(l->r->epfd, EPOLL_CTL_DEL, l->fd, NULL);
}

/* Watches the listening socket; an errno when the epoll set refuses it, else 0. */
static int launcher_watch(launcher_t *l) {
  if (l->watching) return 0;
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV(EV_LISTENER, l->index)};
  if (epoll_ctl(l->r->epfd, EPOLL_CTL_ADD, l->fd, &ev) < 0) return errno;
  l->watching = true;
  l->r->watching++;
  return 0;
}

/*
 * On the event loop: a launcher that watches keeps the process alive, as a watched socket of
 * the loop's own does; the loop's handle stands for all of them. Called after every change
 * JavaScript makes, and after each batch (the thread pauses launchers too, and says so at once).
 */
static void keep_alive(reaper_t *r) {
  pthread_mutex_lock(&r->lock);
  bool any = r->watching > 0 && !r->stopping;
  pthread_mutex_unlock(&r->lock);
  if (any)
    uv_ref((uv_handle_t *)&r->async);
  else
    uv_unref((uv_handle_t *)&r->async);
}

static void launcher_close(launcher_t *l) {
  if (l->closed) return;
  l->closed = true;
  launcher_unwatch(l);
  reaper_t *r = l->r;
  for (launcher_t **p = &r->launchers; *p; p = &(*p)->next)
    if (*p == l) {
      *p = l->next;
      break;
    }
}

static void pause_for(launcher_t *l, const char *why) {
  launcher_unwatch(l);
  if (strcmp(why, "full") == 0) l->paused_full = true;
  record_t *rec = push(l->r, REC_PAUSED, l->id);
  if (rec) rec->what = why;
  l->r->urgent = true;
}

static void hand_back(launcher_t *l, int conn, const struct sockaddr_storage *ss, socklen_t len, const char *why) {
  record_t *rec = push(l->r, REC_HANDBACK, l->id);
  if (rec == NULL) {
    close(conn);
    return;
  }
  rec->fd = conn;
  rec->peer = *ss;
  rec->peerlen = len;
  pause_for(l, why);
}

/* Fills the slot variables of `envp`, a thread's copy of the template's environment, for one connection. */
static void fill_slots(launcher_t *l, char **envp, int conn, const struct sockaddr_storage *remote) {
  char lip[INET6_ADDRSTRLEN], lport[8], rip[INET6_ADDRSTRLEN], rport[8];
  if (l->local_fixed) {
    memcpy(lip, l->local_ip, sizeof lip);
    memcpy(lport, l->local_port, sizeof lport);
  } else {
    struct sockaddr_storage local;
    socklen_t len = sizeof local;
    memset(&local, 0, sizeof local);
    if (getsockname(conn, (struct sockaddr *)&local, &len) < 0) local.ss_family = AF_UNSPEC;
    addr_text(&local, lip, lport);
  }
  addr_text(remote, rip, rport);
  for (size_t i = 0; i < l->nenv; i++) {
    const char *v = NULL;
    switch (l->slots[i]) {
    case SLOT_LOCAL_IP: v = lip; break;
    case SLOT_LOCAL_PORT: v = lport; break;
    case SLOT_REMOTE_IP: v = rip; break;
    case SLOT_REMOTE_PORT: v = rport; break;
    default: continue;
    }
    memcpy(envp[i] + l->namelen[i], v, strlen(v) + 1); /* at most SLOT_VALUE_BYTES */
  }
}

/*
 * A launch thread's copy of a template's environment: its entries, and room for the values of
 * its slots. Per thread, since two may clone from one template at once; each child reads its
 * copy until it has exec'd, which is when the clone returns.
 */
static __thread char **thread_envp, *thread_vals;
static __thread size_t thread_nenv, thread_nvals;

/* `s`: the launcher's template for this connection on this thread (its fd, its environment); false when out of memory. */
static bool thread_template(launcher_t *l, int conn, const struct sockaddr_storage *remote, spawn_t *s) {
  size_t nvals = 0;
  for (size_t i = 0; i < l->nenv; i++)
    if (l->slots[i] != SLOT_FIXED) nvals += l->namelen[i] + SLOT_VALUE_BYTES;
  if (l->nenv + 1 > thread_nenv) {
    char **e = realloc(thread_envp, (l->nenv + 1) * sizeof *e);
    if (e == NULL) return false;
    thread_envp = e;
    thread_nenv = l->nenv + 1;
  }
  if (nvals > thread_nvals) {
    char *v = realloc(thread_vals, nvals);
    if (v == NULL) return false;
    thread_vals = v;
    thread_nvals = nvals;
  }
  char *v = thread_vals;
  for (size_t i = 0; i < l->nenv; i++) {
    if (l->slots[i] == SLOT_FIXED) {
      thread_envp[i] = l->tpl.envp[i];
      continue;
    }
    memcpy(v, l->slotbuf[i], l->namelen[i]); /* "NAME=" */
    thread_envp[i] = v;
    v += l->namelen[i] + SLOT_VALUE_BYTES;
  }
  thread_envp[l->nenv] = NULL;
  fill_slots(l, thread_envp, conn, remote);
  *s = l->tpl;
  s->envp = thread_envp;
  s->fd = conn;
  return true;
}

/* Frees this thread's copy (at its end). */
static void thread_template_free(void) {
  free(thread_envp);
  free(thread_vals);
  thread_envp = NULL;
  thread_vals = NULL;
  thread_nenv = thread_nvals = 0;
}

/* A socket bound to one address: every connection's local address is that one, known once. */
static void learn_local(launcher_t *l) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&ss, 0, sizeof ss);
  if (getsockname(l->fd, (struct sockaddr *)&ss, &len) < 0) return;
  if (ss.ss_family == AF_INET) {
    if (((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY)) return;
  } else if (ss.ss_family == AF_INET6) {
    const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
    /* The any address, and an IPv4-mapped one (a dual-stack socket may be reached either way). */
    if (IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_V4MAPPED(a)) return;
  } else {
    return;
  }
  addr_text(&ss, l->local_ip, l->local_port);
  l->local_fixed = true;
}

/* Watches `c` by `pidfd`: in the table by fd number and in the epoll set; false (nothing done) when out of memory or refused. */
static bool watch_pidfd(reaper_t *r, child_t *c, int pidfd) {
  if ((size_t)pidfd >= r->nbyfd) {
    size_t n = r->nbyfd ? r->nbyfd : 64;
    while (n <= (size_t)pidfd) n *= 2;
    child_t **t = realloc(r->byfd, n * sizeof *t);
    if (t == NULL) return false;
    memset(t + r->nbyfd, 0, (n - r->nbyfd) * sizeof *t);
    r->byfd = t;
    r->nbyfd = n;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV(EV_PIDFD, pidfd)};
  if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, pidfd, &ev) < 0) return false;
  c->pidfd = pidfd;
  r->byfd[pidfd] = c;
  return true;
}

/*
 * How many connections wait in the accept queue of the listening TCP socket `fd` (TCP_INFO
 * reports a listener's queue length as tcpi_unacked, which the backlog bounds); -1 when it
 * cannot say.
 * Asking costs about a seventh of an accept4 that finds the queue empty, which is how a burst
 * would otherwise learn that it is done.
 */
static int queued(int fd) {
  struct tcp_info ti;
  socklen_t len = sizeof ti;
  memset(&ti, 0, sizeof ti);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 || len < offsetof(struct tcp_info, tcpi_sacked) || ti.tcpi_state != TCP_LISTEN) return -1;
  return (int)ti.tcpi_unacked;
}

/*
 * A spawn in flight: what it holds while its thread clones with the lock dropped, taken here
 * before, so that the other thread and JavaScript count it: a place under `instances` (which
 * also keeps the launcher from being freed), one of the budget (start() takes the spawns in
 * flight off a new one), and on the ring a place for its operation.
 */
static void flight_take(launcher_t *l, bool ring) {
  l->running++;
  l->cloning++;
  l->r->cloning++;
  if (l->budget > 0) l->budget--;
  if (ring) l->r->ring.reserved++;
}

/*
 * The clone is back (under the lock again): gives back what flight_take took, but for the
 * place under `instances` of a child watched here and the budget of a child started. A start
 * that a budget set meanwhile counted is given back to it too.
 */
static void flight_end(launcher_t *l, bool ring, bool started, bool watched) {
  reaper_t *r = l->r;
  l->cloning--;
  if (--r->cloning == 0) pthread_cond_broadcast(&r->cloned);
  if (ring) r->ring.reserved--;
  if (!watched) l->running--;
  if (!started && l->budget >= 0) l->budget++;
}

/* Accepts and starts handlers until those queued are served, BURST is reached, or a bound pauses it. */
static void launch_burst(launcher_t *l) {
  reaper_t *r = l->r;
  /*
   * The accepts the queue is known to answer, asked once: connections that arrive meanwhile
   * make the (level-triggered) epoll set report the socket again. -1: unknown, accept until
   * EAGAIN.
   */
  int pending = queued(l->fd);
  for (int i = 0; i < BURST && l->watching; i++) {
    if (l->instances > 0 && l->running >= l->instances) {
      pause_for(l, "full");
      break;
    }
    if (pending == 0) break;
    if (pending > 0) pending--;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    /* Blocking: the handler expects a blocking socket (O_NONBLOCK would be shared with it). */
    int conn = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == ECONNABORTED || errno == EINTR || errno == EPROTO) continue;
      record_t *rec = push(r, REC_ERROR, l->id);
      if (rec) {
        rec->err = errno;
        rec->what = "accept";
      }
      pause_for(l, "error");
      break;
    }
    if (l->budget == 0) {
      hand_back(l, conn, &ss, len, "budget");
      break;
    }
    if (l->user != NULL && !user_exists(l->user, &l->user_stamp)) {
      hand_back(l, conn, &ss, len, "user");
      break;
    }
    /* The ring when it has room (made sure of before the spawn: a started child is always watched), else a pidfd. */
    child_t *c = NULL;
    if (r->ring.fd >= 0 && r->ring.children + r->ring.reserved < RING_CHILDREN && ring_room(&r->ring)) c = malloc(sizeof *c);
    bool ring = c != NULL;
    spawn_t s;
    if (!thread_template(l, conn, &ss, &s)) {
      free(c);
      hand_back(l, conn, &ss, len, "spawn");
      break;
    }
    flight_take(l, ring);
    int pidfd = -1;
    /* More are queued: another thread takes the wait, and accepts the next during this clone. */
    if (pending != 0 && !r->polling) pthread_cond_signal(&r->turn);
    pthread_mutex_unlock(&r->lock);
    pid_t pid = spawn_clone(&s, ring ? NULL : &pidfd);
    pthread_mutex_lock(&r->lock);
    if (pid <= 0) {
      flight_end(l, ring, false, false);
      free(c);
      /* TypeScript spawns it again, and reports the failure as every failed spawn is reported. */
      hand_back(l, conn, &ss, len, "spawn");
      break;
    }
    close(conn);
    record_t *rec = push(r, REC_START, l->id);
    if (!ring && ((c = malloc(sizeof *c)) == NULL || !watch_pidfd(r, c, pidfd))) {
      /* Not watched here: the pidfd goes with the record, for TypeScript to watch. */
      free(c);
      c = NULL;
      if (rec) rec->fd = pidfd;
      else close(pidfd);
    }
    flight_end(l, ring, true, c != NULL);
    if (c != NULL) {
      c->pidfd = pidfd;
      c->pid = pid;
      c->owner = l;
      if (ring) ring_queue(&r->ring, c);
      r->children++;
    }
    if (rec) {
      rec->pid = pid;
      rec->peer = ss;
      rec->peerlen = len;
    }
  }
  if (r->ring.fd >= 0) ring_submit(&r->ring);
  /* Closed and finalized while the lock was dropped, and no handler left: freed now. */
  launcher_free_if_done(l);
}

/* ---- the reaper ---- */

/*
 * Reaps `c` if it has ended, with its rusage, and records how it ended; false while it runs.
 * `idtype` and `id` name it to waitid: its pidfd, or its pid on the ring.
 */
static bool reap(reaper_t *r, child_t *c, int idtype, int id) {
  siginfo_t si;
  kernel_rusage_t ru;
  long rc = spawn_waitid(idtype, id, &si, &ru);
  if (rc == 0 && si.si_pid == 0) return false;
  launcher_t *l = c->owner;
  record_t *rec = push(r, REC_END, l->id);
  if (rec) {
    rec->pid = c->pid;
    if (rc < 0) {
      rec->code = -1; /* reaped elsewhere: nothing known */
    } else if (si.si_code == CLD_EXITED) {
      rec->code = si.si_status;
    } else {
      rec->signo = si.si_status;
    }
    rec->utime_us = (int64_t)ru.utime_sec * 1000000 + ru.utime_usec;
    rec->stime_us = (int64_t)ru.stime_sec * 1000000 + ru.stime_usec;
    rec->maxrss_kb = ru.maxrss;
  }
  r->children--;
  l->running--;
  if (l->paused_full) {
    l->paused_full = false;
    r->urgent = true;
  }
  return true;
}

/* The pidfd `fd` is readable. */
static void on_pidfd(reaper_t *r, int fd) {
  /*
   * By fd number, not by pointer: a handler spawned a moment ago may still hold a copy of a
   * pidfd we closed (until its exec closes it), so the set can report a closed one again,
   * under a number that is free or now another child's. waitid on the live one says it runs.
   */
  child_t *c = fd >= 0 && (size_t)fd < r->nbyfd ? r->byfd[fd] : NULL;
  if (c == NULL || !reap(r, c, WAIT_P_PIDFD, c->pidfd)) return;
  r->byfd[fd] = NULL;
  close(c->pidfd); /* leaves the epoll set once no handler holds a copy */
  launcher_t *l = c->owner;
  free(c);
  launcher_free_if_done(l);
}

/* Whether the ring has completions to read. */
static bool ring_completed(const ring_t *q) { return *q->cq_head != __atomic_load_n(q->cq_tail, __ATOMIC_ACQUIRE); }

/* The ring has completions: each says that a child has ended (or that its operation ended early). */
static void on_ring(reaper_t *r) {
  ring_t *q = &r->ring;
  unsigned head = *q->cq_head, tail = __atomic_load_n(q->cq_tail, __ATOMIC_ACQUIRE);
  /* Each completion read gives its child's place back (the loop's step; a break reads none). */
  for (int i = 0; head != tail && i < EXITS_PER_WAKE; head++, i++, q->children--) {
    child_t *c = (child_t *)(uintptr_t)q->cqes[head & q->cq_mask].user_data;
    if (!reap(r, c, P_PID, c->pid)) {
      /* Still running: its operation failed or was cancelled. A pidfd watches it from now on, else the ring again. */
      int pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
      if (pidfd >= 0 && watch_pidfd(r, c, pidfd)) continue;
      if (pidfd >= 0) close(pidfd);
      if (!ring_room(q)) break; /* its completion is read again on the next wake */
      ring_queue(q, c);
      continue;
    }
    launcher_t *l = c->owner;
    free(c);
    launcher_free_if_done(l);
  }
  __atomic_store_n(q->cq_head, head, __ATOMIC_RELEASE);
  ring_submit(q);
}

/* ---- the launch thread ---- */

/* How long the thread may wait (ms, -1: for ever): until the batch is due, or until operations the ring could not take are offered again. */
static int wait_ms(reaper_t *r) {
  int64_t ms = -1;
  if (r->nrecs > 0 && !r->signalled) {
    ms = r->first_at + FLUSH_MS - mono_ms();
    if (ms < 0) ms = 0;
  }
  if (r->ring.fd >= 0 && r->ring.unsubmitted > 0 && (ms < 0 || ms > FLUSH_MS)) ms = FLUSH_MS;
  return (int)ms;
}

static void *launch_thread(void *arg) {
  reaper_t *r = arg;
  spawn_signals_blocked(); /* start_threads' mask */
  struct epoll_event evs[EVENTS_PER_WAKE];
  pthread_mutex_lock(&r->lock);
  spawn_adopt(r->spawn_slot[r->adopted++]);
  while (!r->stopping) {
    if (r->polling) {
      pthread_cond_wait(&r->turn, &r->lock);
      continue;
    }
    r->polling = true;
    int timeout = wait_ms(r);
    pthread_mutex_unlock(&r->lock);
    /*
     * A child's exit interrupts the wait (EINTR) to run the ring's completion work here, which
     * posts its completion on the way back: read the ring now rather than wait again for it to
     * be reported readable. Before the listeners, so that places an exit frees are free for them.
     */
    int n = epoll_wait(r->epfd, evs, EVENTS_PER_WAKE, timeout);
    pthread_mutex_lock(&r->lock);
    r->polling = false;
    if (r->ring.fd >= 0 && !r->stopping && ring_completed(&r->ring)) on_ring(r);
    for (int i = 0; i < n && !r->stopping; i++) {
      uint64_t d = evs[i].data.u64;
      size_t x = (size_t)(d >> 2);
      switch (d & 3) {
      case EV_LISTENER:
        /* An index freed since the wait, or taken by a later launcher, finds nothing to accept. */
        if (x < r->ntable && r->table[x] != NULL && r->table[x]->watching) launch_burst(r->table[x]);
        break;
      case EV_PIDFD: on_pidfd(r, (int)x); break;
      case EV_RING: break; /* read above, before the events */
      default: {
        uint64_t v;
        if (read(r->wakefd, &v, sizeof v) < 0) {
          /* Nothing to read: another wake took it. */
        }
      }
      }
    }
    /* Operations the kernel could not take (it was out of memory) are offered again. */
    if (r->ring.fd >= 0 && r->ring.unsubmitted > 0) ring_submit(&r->ring);
    if (r->nrecs > 0 && (r->urgent || mono_ms() >= r->first_at + FLUSH_MS)) signal_loop(r);
  }
  pthread_mutex_unlock(&r->lock);
  thread_template_free();
  return NULL;
}

/*
 * Starts the launch threads with every signal blocked but SIGCHLD (the others are the event
 * loop's); an errno when not even one started, or 0. A thread is the parent of its handlers,
 * and the kernel discards their SIGCHLD at once only where the parent does not block it and no
 * handler is installed; blocked here, each would be queued and wake another of Node's threads
 * to be discarded there. One thread that started serves alone (its spawns do not overlap).
 */
static int start_threads(reaper_t *r) {
  sigset_t all, old;
  sigfillset(&all);
  sigdelset(&all, SIGCHLD);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = 0;
  for (size_t i = 0; i < LAUNCH_THREADS && rc == 0; i++)
    if ((rc = pthread_create(&r->threads[i], NULL, launch_thread, r)) == 0) r->nthreads++;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return r->nthreads > 0 ? 0 : rc;
}

static void reaper_async_closed(uv_handle_t *h) {
  reaper_t *r = h->data;
  if (r->hook) napi_remove_async_cleanup_hook(r->hook);
  r->hook = NULL;
}

/* Environment teardown: stop the thread, close every launcher and the loop's handle; pidfds go with the process. */
static void reaper_teardown(napi_async_cleanup_hook_handle hook, void *arg) {
  reaper_t *r = arg;
  r->hook = hook;
  pthread_mutex_lock(&r->lock);
  r->stopping = true;
  pthread_cond_broadcast(&r->turn);
  pthread_mutex_unlock(&r->lock);
  if (r->nthreads > 0) {
    /* Left unread (the threads stop before reading it), so it wakes every thread. */
    uint64_t one = 1;
    if (write(r->wakefd, &one, sizeof one) < 0) {
      /* An eventfd write fails only at its maximum count, which leaves it readable. */
    }
    for (size_t i = 0; i < r->nthreads; i++) pthread_join(r->threads[i], NULL);
    r->nthreads = 0;
  }
  pthread_mutex_lock(&r->lock);
  while (r->launchers) launcher_close(r->launchers);
  pthread_mutex_unlock(&r->lock);
  uv_close((uv_handle_t *)&r->async, reaper_async_closed);
}

/* The reaper of this environment, made on first use (on a ring if `ring` and the kernel has one); NULL with an exception pending. */
static reaper_t *make_reaper(napi_env env, bool ring) {
  reaper_t *r = NULL;
  if (napi_get_instance_data(env, (void **)&r) == napi_ok && r != NULL) {
    if (r->nthreads == 0 && !r->stopping) return (throw_errno(env, EAGAIN, "pthread_create"), NULL);
    return r;
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return (napi_failed(env), NULL);
  r = calloc(1, sizeof *r);
  if (r == NULL) return (throw_errno(env, ENOMEM, "malloc"), NULL);
  r->env = env;
  r->epfd = r->wakefd = r->ring.fd = -1;
  pthread_mutex_init(&r->lock, NULL);
  pthread_cond_init(&r->turn, NULL);
  pthread_cond_init(&r->cloned, NULL);
  for (size_t i = 0; i < LAUNCH_THREADS; i++) spawn_take_spare(r->spawn_slot[i]);
  struct epoll_event wake = {.events = EPOLLIN, .data.u64 = EV(EV_WAKE, 0)}, ring_ev = {.events = EPOLLIN, .data.u64 = EV(EV_RING, 0)};
  const char *what = NULL;
  if ((r->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) what = "epoll_create1";
  else if ((r->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) what = "eventfd";
  else if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->wakefd, &wake) < 0) what = "epoll_ctl";
  if (what == NULL && ring) {
    ring_open(&r->ring);
    if (r->ring.fd >= 0 && epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->ring.fd, &ring_ev) < 0) what = "epoll_ctl";
  }
  int rc = 0;
  if (what == NULL && (rc = uv_async_init(loop, &r->async, on_async)) < 0) {
    errno = -rc;
    what = "uv_async_init";
  }
  if (what != NULL) {
    /* Nothing started yet: the fds go, and the ring's mappings with the process. */
    throw_errno(env, errno, what);
    int fds[] = {r->epfd, r->wakefd, r->ring.fd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
      if (fds[i] >= 0) close(fds[i]);
    for (size_t i = 0; i < LAUNCH_THREADS; i++)
      for (int j = 0; j < 2; j++)
        if (r->spawn_slot[i][j] >= 0) close(r->spawn_slot[i][j]);
    free(r);
    return NULL;
  }
  r->async.data = r;
  /* It does not keep the process alive: the services' own sockets do. */
  uv_unref((uv_handle_t *)&r->async);
  if ((rc = start_threads(r)) != 0) {
    /* No thread: the launchers of this environment cannot serve, and say so when made. */
    throw_errno(env, rc, "pthread_create");
  }
  if (napi_add_async_cleanup_hook(env, reaper_teardown, r, &r->hook) != napi_ok) r->hook = NULL;
  /* Lives as long as the environment: its teardown hook closes it, and it is never freed. */
  napi_set_instance_data(env, r, NULL, NULL);
  return rc == 0 ? r : NULL;
}

static reaper_t *get_reaper(napi_env env) { return make_reaper(env, true); }

/* ---- JavaScript ---- */

/*
 * launchRecords(cb, ring): cb(records) receives every batch of this environment's launchers.
 * `ring` (default true) false makes the reaper watch pidfds even where io_uring could be used, if this call
 * makes it. Returns how exits are watched: 'io_uring' or 'pidfd'.
 */
napi_value js_launchRecords(napi_env env, napi_callback_info info) {
  args_t a;
  bool ring = true;
  if (!get_args(env, info, &a)) return NULL;
  if (!is_type(env, a.argv[0], napi_function)) return (bad_arg(env, "cb", "function"), NULL);
  if (!is_type(env, a.argv[1], napi_undefined)) {
    if (!is_type(env, a.argv[1], napi_boolean)) return (bad_arg(env, "ring", "boolean"), NULL);
    CHECK(napi_get_value_bool(env, a.argv[1], &ring));
  }
  reaper_t *r = make_reaper(env, ring);
  if (r == NULL) return NULL;
  if (r->cb) napi_delete_reference(env, r->cb);
  if (r->async_ctx) napi_async_destroy(env, r->async_ctx);
  r->cb = NULL;
  r->async_ctx = NULL;
  napi_value name;
  CHECK(napi_create_reference(env, a.argv[0], 1, &r->cb));
  CHECK(napi_create_string_utf8(env, "ninetd.Launcher", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &r->async_ctx));
  napi_value kind;
  CHECK(napi_create_string_utf8(env, r->ring.fd >= 0 ? "io_uring" : "pidfd", NAPI_AUTO_LENGTH, &kind));
  return kind;
}

/* launchDrain(): the records not yet handed over, now (the callback does not see them). */
napi_value js_launchDrain(napi_env env, napi_callback_info info) {
  (void)info;
  reaper_t *r = get_reaper(env);
  if (r == NULL) return NULL;
  size_t n;
  pthread_mutex_lock(&r->lock);
  /* A connection accepted before this call is in the records: its spawn in flight ends first (a clone's length). */
  while (r->cloning > 0) pthread_cond_wait(&r->cloned, &r->lock);
  record_t *recs = take_pending(r, &n);
  pthread_mutex_unlock(&r->lock);
  napi_value arr = records_value(env, recs, n);
  free(recs);
  return arr ? arr : napi_failed(env);
}

static launcher_t *unwrap_launcher(napi_env env, napi_value self) {
  launcher_t *l = NULL;
  if (napi_unwrap(env, self, (void **)&l) != napi_ok || l == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_THIS", "Value of \"this\" must be of type Launcher");
    return NULL;
  }
  return l;
}

static void launcher_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  launcher_t *l = data;
  reaper_t *r = l->r;
  pthread_mutex_lock(&r->lock);
  l->finalized = true;
  launcher_close(l);
  launcher_free_if_done(l);
  pthread_mutex_unlock(&r->lock);
  keep_alive(r);
}

/* Gives `l` an index in the table of launchers (under the lock); false when out of memory. */
static bool table_add(reaper_t *r, launcher_t *l) {
  size_t i = r->table_free;
  while (i < r->ntable && r->table[i] != NULL) i++;
  if (i == r->ntable) {
    size_t n = r->ntable ? r->ntable * 2 : 16;
    launcher_t **t = realloc(r->table, n * sizeof *t);
    if (t == NULL) return false;
    memset(t + r->ntable, 0, (n - r->ntable) * sizeof *t);
    r->table = t;
    r->ntable = n;
  }
  r->table[i] = l;
  l->index = i;
  r->table_free = i + 1;
  return true;
}

/* Splits the template's environment into fixed strings and slot buffers ("NAME=" + room). */
static bool read_slots(napi_env env, napi_value v, launcher_t *l) {
  size_t n = 0;
  while (l->tpl.envp[n]) n++;
  bool is_array = false;
  uint32_t len = 0;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array || napi_get_array_length(env, v, &len) != napi_ok || len != n)
    return bad_arg(env, "slots", "number[] as long as env");
  l->nenv = n;
  l->slots = calloc(n ? n : 1, 1);
  l->slotbuf = calloc(n ? n : 1, sizeof *l->slotbuf);
  l->namelen = calloc(n ? n : 1, sizeof *l->namelen);
  if (!l->slots || !l->slotbuf || !l->namelen) return (throw_errno(env, ENOMEM, "malloc"), false);
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    uint32_t slot;
    if (napi_get_element(env, v, i, &item) != napi_ok) return (napi_failed(env), false);
    if (!arg_uint(env, item, "slots[i]", &slot)) return false;
    if (slot >= SLOT_COUNT) return out_of_range(env, "A slot must be 0 to 4");
    l->slots[i] = (uint8_t)slot;
    if (slot == SLOT_FIXED) continue;
    /* The entry is "NAME=": the value is written after it for each connection. */
    size_t nl = strlen(l->tpl.envp[i]);
    if ((l->slotbuf[i] = malloc(nl + SLOT_VALUE_BYTES)) == NULL) return (throw_errno(env, ENOMEM, "malloc"), false);
    memcpy(l->slotbuf[i], l->tpl.envp[i], nl + 1);
    l->namelen[i] = nl;
    free(l->tpl.envp[i]);
    l->tpl.envp[i] = l->slotbuf[i];
  }
  return true;
}

static bool prop(napi_env env, napi_value obj, const char *key, napi_value *out) {
  if (napi_get_named_property(env, obj, key, out) != napi_ok) return (napi_failed(env), false);
  return true;
}

/*
 * new Launcher(fd, tpl): a launcher for the listening socket `fd` (set O_NONBLOCK), starting
 * tpl.file with tpl.argv, tpl.env (entries "NAME=" where tpl.slots[i] is not 0 get the
 * connection's value: 1 local address, 2 local port, 3 remote address, 4 remote port),
 * tpl.opts as spawnHandler's (its fd ignored), after checking that tpl.user (unless null)
 * exists. tpl.id names its records. Not watching until start().
 */
static napi_value launcher_new(napi_env env, napi_callback_info info) {
  args_t a;
  napi_value target, v, file, argv, envv, opts, slots;
  int32_t fd, id;
  CHECK(napi_get_new_target(env, info, &target));
  if (target == NULL) {
    napi_throw_type_error(env, "ERR_CONSTRUCT_CALL_REQUIRED", "Class constructor Launcher cannot be invoked without 'new'");
    return NULL;
  }
  if (!get_args(env, info, &a) || !arg_int(env, a.argv[0], "fd", &fd)) return NULL;
  napi_value tpl = a.argv[1];
  if (!is_type(env, tpl, napi_object)) return (bad_arg(env, "tpl", "object"), NULL);
  reaper_t *r = get_reaper(env);
  if (r == NULL) return NULL;
  launcher_t *l = calloc(1, sizeof *l);
  if (l == NULL) return throw_errno(env, ENOMEM, "malloc");
  l->r = r;
  l->fd = fd;
  l->budget = -1;
  if (!prop(env, tpl, "id", &v) || !arg_int(env, v, "id", &id) || !prop(env, tpl, "file", &file) || !prop(env, tpl, "argv", &argv) ||
      !prop(env, tpl, "env", &envv) || !prop(env, tpl, "opts", &opts) || !prop(env, tpl, "slots", &slots) ||
      !spawn_read(env, file, argv, envv, opts, &l->tpl) || !read_slots(env, slots, l) || !prop(env, tpl, "user", &v))
    goto fail;
  l->id = id;
  if (!is_type(env, v, napi_null) && (l->user = arg_cstring(env, v, "user")) == NULL) goto fail;
  learn_local(l);
  pthread_mutex_lock(&r->lock);
  bool listed = table_add(r, l);
  if (listed) {
    l->next = r->launchers;
    r->launchers = l;
  }
  pthread_mutex_unlock(&r->lock);
  if (!listed) {
    throw_errno(env, ENOMEM, "malloc");
    goto fail;
  }
  if (napi_wrap(env, a.self, l, launcher_finalize, NULL, NULL) != napi_ok) {
    napi_value failed = napi_failed(env);
    pthread_mutex_lock(&r->lock);
    l->finalized = true;
    launcher_close(l);
    launcher_free_if_done(l);
    pthread_mutex_unlock(&r->lock);
    return failed;
  }
  return a.self;
fail:
  launcher_free(l);
  return NULL;
}

/* start(instances, budget): watch the socket, serving at most `instances` at once (0: no limit) and `budget` more (-1: no limit). */
static napi_value launcher_start(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t instances;
  double budget;
  if (!get_args(env, info, &a)) return NULL;
  launcher_t *l = unwrap_launcher(env, a.self);
  if (l == NULL || !arg_int(env, a.argv[0], "instances", &instances)) return NULL;
  if (!is_type(env, a.argv[1], napi_number)) return (bad_arg(env, "budget", "number"), NULL);
  CHECK(napi_get_value_double(env, a.argv[1], &budget));
  reaper_t *r = l->r;
  pthread_mutex_lock(&r->lock);
  bool closed = l->closed;
  int err = 0;
  if (!closed) {
    l->instances = instances < 0 ? 0 : instances;
    /* Spawns in flight on a launch thread are in no record yet, so not in `budget`: they take from it. */
    l->budget = budget < 0 ? -1 : (int64_t)budget > l->cloning ? (int64_t)budget - l->cloning : 0;
    l->paused_full = false;
    err = launcher_watch(l);
  }
  pthread_mutex_unlock(&r->lock);
  if (closed) return throw_errno_detail(env, EBADF, "epoll_ctl", "(launcher is closed)");
  if (err != 0) return throw_errno(env, err, "epoll_ctl");
  keep_alive(r);
  return undefined(env);
}

/* stop(): stop watching the socket; handlers started run on and are still reported. */
static napi_value launcher_stop(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a)) return NULL;
  launcher_t *l = unwrap_launcher(env, a.self);
  if (l == NULL) return NULL;
  pthread_mutex_lock(&l->r->lock);
  launcher_unwatch(l);
  pthread_mutex_unlock(&l->r->lock);
  keep_alive(l->r);
  return undefined(env);
}

/* close(): for good; the socket stays open, and the handlers started are still reported. Idempotent. */
static napi_value launcher_close_js(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a)) return NULL;
  launcher_t *l = unwrap_launcher(env, a.self);
  if (l == NULL) return NULL;
  pthread_mutex_lock(&l->r->lock);
  launcher_close(l);
  pthread_mutex_unlock(&l->r->lock);
  keep_alive(l->r);
  return undefined(env);
}

/* running: handlers started by this launcher that have not ended, with those being started. */
static napi_value launcher_running(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a)) return NULL;
  launcher_t *l = unwrap_launcher(env, a.self);
  if (l == NULL) return NULL;
  pthread_mutex_lock(&l->r->lock);
  int32_t running = l->running;
  pthread_mutex_unlock(&l->r->lock);
  return int_value(env, running);
}

#define METHOD(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_default_method, NULL}

napi_value launcher_class(napi_env env) {
  napi_property_descriptor methods[] = {
      METHOD("close", launcher_close_js),
      METHOD("start", launcher_start),
      METHOD("stop", launcher_stop),
      {"running", NULL, NULL, launcher_running, NULL, NULL, napi_default, NULL},
  };
  napi_value cls;
  CHECK(napi_define_class(env, "Launcher", NAPI_AUTO_LENGTH, launcher_new, NULL, sizeof methods / sizeof methods[0], methods, &cls));
  return cls;
}
