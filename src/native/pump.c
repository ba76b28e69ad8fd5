/*
 * pump.c: one job, the Pump class: the bytes of in-process stream services (echo, discard, and
 * "generate", which sends a pattern over and over: chargen) moved on the connection's fd, with no
 * JavaScript per byte or per readiness event. The connections are in an epoll set of the pump's
 * own, which the event loop watches as one fd (uv_poll): adding a connection costs one
 * epoll_ctl, where a uv_poll handle per connection costs four and a close callback. JavaScript hands over an accepted fd and is called once when the connection has ended.
 * What the services are and which pattern chargen sends are defined in TypeScript
 * (src/builtins/); the pump only moves bytes.
 *
 * Functions that take decisions, and why:
 *   - conn_event moves at most `budget` bytes per readiness turn, so that one fast client cannot
 *     keep the loop from every other fd (level-triggered epoll reports it again next turn).
 *   - echo stops reading while bytes it read are still unsent (it then waits for writability
 *     only), so that a client that sends without reading makes us hold at most one chunk.
 *   - sweep ends connections where no byte moved for `idleMs` (reason "idle"): one timer for the
 *     whole pump over a list kept in order of last activity.
 *   - a read of 0 bytes (the client's FIN) ends echo once what it read is sent, and ends discard
 *     and generate at once; a reset or any other error ends the connection (reason: the errno
 *     name). An ended connection's fd is closed here, never by the caller.
 *   - close() (and environment teardown) ends every connection without calling back.
 *   - pump_ready handles at most MAX_EVENTS ready connections per turn of the event loop; the
 *     rest are reported again next turn (the pump's epoll fd stays readable).
 *   - an ended connection is freed only after the batch it ended in, since a callback may end
 *     others whose events are still in that batch.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "exports.h"
#include "napi.h"

/* What a connection does with its bytes; the numbers are the `mode` argument of serve(). */
enum { MODE_ECHO = 0, MODE_DISCARD = 1, MODE_GENERATE = 2 };

/* Bytes read or sent by one system call. */
#define CHUNK 16384
/* Ready connections handled per turn of the event loop. */
#define MAX_EVENTS 128

typedef struct pump pump_t;
typedef struct conn conn_t;

struct conn {
  pump_t *pump;
  conn_t *prev, *next; /* the pump's list, least recently active first */
  uint64_t last;       /* uv_now() when a byte last moved */
  uint64_t bytes_in, bytes_out;
  uint32_t id;
  int fd;
  int mode;
  uint32_t events; /* what the epoll set watches now (EPOLLIN, EPOLLOUT) */
  bool dead;       /* ended: freed after the current batch */
  conn_t *next_dead;
  char *pending; /* echo: read, not yet sent (at most one CHUNK) */
  size_t plen, poff;
  size_t offset; /* generate: where in the pattern the next byte is */
};

struct pump {
  napi_env env;
  napi_ref wrapper; /* strong while connections are open */
  napi_ref cb;
  napi_async_context async;
  uv_timer_t timer;
  uv_poll_t poll; /* the event loop's watch on epfd */
  int epfd;
  conn_t *dead;   /* ended connections not yet freed */
  int batching;   /* > 0 while pump_ready runs its batch */
  uint64_t idle_ms; /* 0: no idle limit */
  size_t budget;
  char *pattern; /* the pattern repeated, so that any offset has `budget` bytes after it */
  size_t pattern_len;
  char scratch[CHUNK];
  conn_t list; /* sentinel of the activity list */
  uint32_t count, next_id;
  int handles; /* uv handles not yet closed: the timer and the epoll watch */
  bool closing, finalized, strong;
  napi_async_cleanup_hook_handle hook;
};

/* One uv handle finished closing: the last one lets teardown go on, and frees a finalized pump. */
static void handle_closed(pump_t *p) {
  if (--p->handles > 0) return;
  if (p->hook) {
    napi_remove_async_cleanup_hook(p->hook);
    p->hook = NULL;
  }
  if (!p->finalized) return;
  free(p->pattern);
  free(p);
}

static void timer_closed(uv_handle_t *h) {
  handle_closed(h->data);
}

static void poll_closed(uv_handle_t *h) {
  pump_t *p = h->data;
  /* Out of the event loop's epoll set now: our own set can go. */
  if (p->epfd >= 0) close(p->epfd);
  p->epfd = -1;
  handle_closed(p);
}

/* Frees the connections that ended, once no batch can still name them. */
static void free_dead(pump_t *p) {
  while (p->dead) {
    conn_t *c = p->dead;
    p->dead = c->next_dead;
    free(c->pending);
    free(c);
  }
}

static void unlink_conn(conn_t *c) {
  c->prev->next = c->next;
  c->next->prev = c->prev;
  c->prev = c->next = c;
}

static void append_conn(pump_t *p, conn_t *c) {
  c->prev = p->list.prev;
  c->next = &p->list;
  p->list.prev->next = c;
  p->list.prev = c;
}

/* Stops watching, closes the fd, and frees the struct (after the current batch, if any). */
static void conn_drop(conn_t *c) {
  pump_t *p = c->pump;
  unlink_conn(c);
  p->count--;
  /* Out of the set before the close: the fd number may be reused at once. */
  epoll_ctl(p->epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->dead = true;
  c->next_dead = p->dead;
  p->dead = c;
  if (p->batching == 0) free_dead(p);
  if (p->count == 0 && !p->closing) uv_poll_stop(&p->poll);
  if (p->count == 0 && p->strong) {
    p->strong = false;
    napi_reference_unref(p->env, p->wrapper, NULL);
  }
}

/* Ends a connection and tells JavaScript: cb(id, reason, bytesIn, bytesOut). */
static void conn_end(conn_t *c, const char *reason) {
  pump_t *p = c->pump;
  napi_env env = p->env;
  uint32_t id = c->id;
  double in = (double)c->bytes_in, out = (double)c->bytes_out;
  conn_drop(c);
  if (p->closing || p->cb == NULL) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value self = NULL, cb = NULL, argv[4], result;
  napi_get_reference_value(env, p->wrapper, &self);
  napi_get_reference_value(env, p->cb, &cb);
  if (self == NULL) napi_get_global(env, &self);
  if (cb != NULL && napi_create_uint32(env, id, &argv[0]) == napi_ok &&
      napi_create_string_utf8(env, reason, NAPI_AUTO_LENGTH, &argv[1]) == napi_ok &&
      napi_create_double(env, in, &argv[2]) == napi_ok && napi_create_double(env, out, &argv[3]) == napi_ok)
    napi_make_callback(env, p->async, self, cb, 4, argv, &result);
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value exc;
    if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
  }
  napi_close_handle_scope(env, scope);
}

static void conn_fail(conn_t *c, int err) {
  char name[64];
  uv_err_name_r(-err, name, sizeof name);
  conn_end(c, name);
}

/* A byte moved: the connection goes to the end of the activity list. */
static void touch(conn_t *c) {
  pump_t *p = c->pump;
  c->last = uv_now(p->timer.loop);
  if (p->list.prev == c) return;
  unlink_conn(c);
  append_conn(p, c);
}

static void sweep(uv_timer_t *t);

/* Arms the idle timer for the least recently active connection, unless it is armed already. */
static void arm(pump_t *p) {
  if (p->idle_ms == 0 || p->closing || p->list.next == &p->list || uv_is_active((uv_handle_t *)&p->timer)) return;
  uint64_t now = uv_now(p->timer.loop), due = p->list.next->last + p->idle_ms;
  uv_timer_start(&p->timer, sweep, due > now ? due - now : 0, 0);
}

static void sweep(uv_timer_t *t) {
  pump_t *p = t->data;
  uint64_t now = uv_now(t->loop);
  /* Bounded: each turn ends one connection, and the callback cannot make one idle. */
  while (!p->closing && p->list.next != &p->list && p->list.next->last + p->idle_ms <= now) conn_end(p->list.next, "idle");
  arm(p);
}

/* Changes what the epoll set waits for on the connection. */
static bool watch(conn_t *c, uint32_t events) {
  if (c->events == events) return true;
  struct epoll_event ev = {.events = events, .data.ptr = c};
  epoll_ctl(c->pump->epfd, EPOLL_CTL_MOD, c->fd, &ev);
  c->events = events;
  return true;
}

/* Sends what echo still holds; true when all of it went. */
static bool flush(conn_t *c, int *err) {
  while (c->poff < c->plen) {
    ssize_t n = send(c->fd, c->pending + c->poff, c->plen - c->poff, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) *err = errno;
      return false;
    }
    c->poff += (size_t)n;
    c->bytes_out += (uint64_t)n;
  }
  c->plen = c->poff = 0;
  return true;
}

/* Reads (and for echo sends back) up to the budget; false when the connection ended. */
static bool pump_in(conn_t *c) {
  pump_t *p = c->pump;
  size_t moved = 0;
  while (moved < p->budget) {
    ssize_t n = recv(c->fd, p->scratch, CHUNK, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      conn_fail(c, errno);
      return false;
    }
    if (n == 0) {
      conn_end(c, "eof");
      return false;
    }
    touch(c);
    c->bytes_in += (uint64_t)n;
    moved += (size_t)n;
    if (c->mode != MODE_ECHO) continue;
    ssize_t s;
    do s = send(c->fd, p->scratch, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (s < 0 && errno == EINTR);
    if (s < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      conn_fail(c, errno);
      return false;
    }
    size_t sent = s < 0 ? 0 : (size_t)s;
    c->bytes_out += sent;
    if (sent < (size_t)n) {
      /* The client does not read: keep the rest, stop reading, wait until it can be sent. */
      if (c->pending == NULL && (c->pending = malloc(CHUNK)) == NULL) {
        conn_fail(c, ENOMEM);
        return false;
      }
      memcpy(c->pending, p->scratch + sent, (size_t)n - sent);
      c->plen = (size_t)n - sent;
      c->poff = 0;
      return watch(c, EPOLLOUT);
    }
  }
  return true;
}

static void conn_event(conn_t *c, uint32_t events) {
  pump_t *p = c->pump;
  if (events & EPOLLERR) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err == 0) err = EPIPE;
    conn_fail(c, err);
    return;
  }
  /* A hang-up: the read or send that follows says how it ended. */
  if (events & EPOLLHUP) events |= c->events;
  if (c->mode == MODE_ECHO && c->plen > 0) {
    if (!(events & EPOLLOUT)) return;
    int err = 0;
    bool done = flush(c, &err);
    if (err) {
      conn_fail(c, err);
      return;
    }
    if (!done) return;
    touch(c);
    watch(c, EPOLLIN);
    return;
  }
  if ((events & EPOLLIN) && !pump_in(c)) return;
  if (c->mode == MODE_GENERATE && (events & EPOLLOUT)) {
    ssize_t n;
    do n = send(c->fd, p->pattern + c->offset, p->budget, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) conn_fail(c, errno);
      return;
    }
    if (n > 0) touch(c);
    c->bytes_out += (uint64_t)n;
    c->offset = (c->offset + (size_t)n) % p->pattern_len;
  }
}

/* The pump's epoll set is readable: handle one batch of ready connections. */
static void pump_ready(uv_poll_t *h, int status, int events) {
  (void)events;
  pump_t *p = h->data;
  if (status < 0 || p->closing) return;
  struct epoll_event evs[MAX_EVENTS];
  int n = epoll_wait(p->epfd, evs, MAX_EVENTS, 0);
  p->batching++;
  for (int i = 0; i < n && !p->closing; i++) {
    conn_t *c = evs[i].data.ptr;
    if (!c->dead) conn_event(c, evs[i].events);
  }
  p->batching--;
  if (p->batching == 0) free_dead(p);
}

/* Ends every connection without calling back, and stops the timer; safe to call again. */
static void pump_release(pump_t *p) {
  if (p->closing) return;
  p->closing = true;
  napi_env env = p->env;
  while (p->list.next != &p->list) conn_drop(p->list.next);
  if (p->strong) {
    p->strong = false;
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
  uv_close((uv_handle_t *)&p->timer, timer_closed);
  uv_close((uv_handle_t *)&p->poll, poll_closed);
  if (p->batching == 0) free_dead(p);
}

static void pump_close(pump_t *p) {
  if (p->closing) return;
  pump_release(p);
}

/* Environment teardown with the pump open; the last handle_closed lets it finish. */
static void pump_teardown(napi_async_cleanup_hook_handle hook, void *arg) {
  pump_t *p = arg;
  p->hook = hook;
  pump_close(p);
}

static void pump_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  pump_t *p = data;
  pump_close(p);
  if (p->wrapper) {
    napi_delete_reference(env, p->wrapper);
    p->wrapper = NULL;
  }
  p->finalized = true;
  if (p->handles == 0) {
    free_dead(p);
    free(p->pattern);
    free(p);
  }
}

static pump_t *unwrap_pump(napi_env env, napi_value self) {
  pump_t *p = NULL;
  if (napi_unwrap(env, self, (void **)&p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_THIS", "Value of \"this\" must be of type Pump");
    return NULL;
  }
  return p;
}

/* new Pump(cb, idleMs, budget, pattern): cb(id, reason, bytesIn, bytesOut) when a connection ends. */
static napi_value pump_new(napi_env env, napi_callback_info info) {
  args_t a;
  napi_value target;
  uint32_t idle, budget;
  void *pattern;
  size_t plen;
  CHECK(napi_get_new_target(env, info, &target));
  if (target == NULL) {
    napi_throw_type_error(env, "ERR_CONSTRUCT_CALL_REQUIRED", "Class constructor Pump cannot be invoked without 'new'");
    return NULL;
  }
  if (!get_args(env, info, &a)) return NULL;
  if (!is_type(env, a.argv[0], napi_function)) {
    bad_arg(env, "cb", "function");
    return NULL;
  }
  if (!arg_uint(env, a.argv[1], "idleMs", &idle) || !arg_uint(env, a.argv[2], "budget", &budget) ||
      !arg_buffer(env, a.argv[3], "pattern", &pattern, &plen))
    return NULL;
  if (budget < 1 || budget > 1 << 20 || plen < 1 || plen > 1 << 20) {
    out_of_range(env, "budget and pattern must hold 1 to 1048576 bytes");
    return NULL;
  }
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  pump_t *p = calloc(1, sizeof *p);
  /* The pattern from any offset below its length, `budget` bytes long. */
  size_t reps = (budget + plen - 1) / plen + 1;
  char *rep = p ? malloc(reps * plen) : NULL;
  if (rep == NULL) {
    free(p);
    return throw_errno(env, ENOMEM, "malloc");
  }
  for (size_t i = 0; i < reps; i++) memcpy(rep + i * plen, pattern, plen);
  p->pattern = rep;
  p->pattern_len = plen;
  p->budget = budget;
  p->idle_ms = idle;
  p->env = env;
  p->list.next = p->list.prev = &p->list;
  p->next_id = 1;
  p->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (p->epfd < 0 || uv_poll_init(loop, &p->poll, p->epfd) < 0) {
    int err = p->epfd < 0 ? errno : EINVAL;
    if (p->epfd >= 0) close(p->epfd);
    free(rep);
    free(p);
    return throw_errno(env, err, "epoll_create1");
  }
  p->poll.data = p;
  uv_timer_init(loop, &p->timer);
  uv_unref((uv_handle_t *)&p->timer);
  p->timer.data = p;
  p->handles = 2;
  napi_value name;
  if (napi_create_reference(env, a.argv[0], 1, &p->cb) != napi_ok ||
      napi_create_string_utf8(env, "ninetd.Pump", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, a.self, name, &p->async) != napi_ok ||
      napi_wrap(env, a.self, p, pump_finalize, NULL, &p->wrapper) != napi_ok) {
    p->finalized = true;
    napi_value failed = napi_failed(env);
    pump_close(p);
    return failed;
  }
  if (napi_add_async_cleanup_hook(env, pump_teardown, p, &p->hook) != napi_ok) p->hook = NULL;
  return a.self;
}

/*
 * serve(fd, mode): takes the connected fd (set non-blocking, closed when the connection ends);
 * returns its id. When it throws, the fd is still the caller's.
 */
static napi_value pump_serve(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t fd, mode;
  if (!get_args(env, info, &a)) return NULL;
  pump_t *p = unwrap_pump(env, a.self);
  if (p == NULL || !arg_int(env, a.argv[0], "fd", &fd) || !arg_int(env, a.argv[1], "mode", &mode)) return NULL;
  if (mode < MODE_ECHO || mode > MODE_GENERATE) {
    out_of_range(env, "mode must be 0 (echo), 1 (discard) or 2 (generate)");
    return NULL;
  }
  if (p->closing) return throw_errno_detail(env, EBADF, "epoll_ctl", "(pump is closed)");
  conn_t *c = calloc(1, sizeof *c);
  if (c == NULL) return throw_errno(env, ENOMEM, "malloc");
  uv_loop_t *loop = p->timer.loop;
  int on = 1;
  if (ioctl(fd, FIONBIO, &on) < 0) {
    int err = errno;
    free(c);
    return throw_errno(env, err, "ioctl");
  }
  c->pump = p;
  c->fd = fd;
  c->mode = mode;
  c->id = p->next_id++;
  if (p->next_id == 0) p->next_id = 1;
  c->events = mode == MODE_GENERATE ? EPOLLIN | EPOLLOUT : EPOLLIN;
  struct epoll_event ev = {.events = c->events, .data.ptr = c};
  if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    int err = errno;
    free(c);
    return throw_errno(env, err, "epoll_ctl");
  }
  /* The pump's own set is watched only while it holds connections. */
  if (p->count == 0) uv_poll_start(&p->poll, UV_READABLE, pump_ready);
  p->count++;
  c->last = uv_now(loop);
  append_conn(p, c);
  if (!p->strong) {
    p->strong = true;
    CHECK(napi_reference_ref(env, p->wrapper, NULL));
  }
  arm(p);
  return int_value(env, c->id);
}

/* close(): ends every connection (closing its fd) without calling back; idempotent. */
static napi_value pump_close_js(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a)) return NULL;
  pump_t *p = unwrap_pump(env, a.self);
  if (p == NULL) return NULL;
  pump_close(p);
  return undefined(env);
}

/*
 * info(id): { bytesIn, bytesOut, waiting } of an open connection, or null. `waiting` is 'write'
 * when bytes wait for the client to read (echo holds some, or generate's socket has no room),
 * else 'read'.
 */
static napi_value pump_info(napi_env env, napi_callback_info info) {
  args_t a;
  uint32_t id;
  if (!get_args(env, info, &a)) return NULL;
  pump_t *p = unwrap_pump(env, a.self);
  if (p == NULL || !arg_uint(env, a.argv[0], "id", &id)) return NULL;
  for (conn_t *c = p->list.next; c != &p->list; c = c->next) {
    if (c->id != id) continue;
    napi_value o, v;
    struct pollfd pf = {.fd = c->fd, .events = POLLOUT};
    bool full = c->mode == MODE_GENERATE && poll(&pf, 1, 0) == 0;
    const char *w = c->plen > 0 || full ? "write" : "read";
    CHECK(napi_create_object(env, &o));
    CHECK(napi_create_double(env, (double)c->bytes_in, &v));
    CHECK(napi_set_named_property(env, o, "bytesIn", v));
    CHECK(napi_create_double(env, (double)c->bytes_out, &v));
    CHECK(napi_set_named_property(env, o, "bytesOut", v));
    if (!set_str(env, o, "waiting", w, strlen(w))) return napi_failed(env);
    return o;
  }
  return null_value(env);
}

/* size: connections open now. */
static napi_value pump_size(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a)) return NULL;
  pump_t *p = unwrap_pump(env, a.self);
  if (p == NULL) return NULL;
  return int_value(env, p->closing ? 0 : p->count);
}

#define METHOD(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_default_method, NULL}

napi_value pump_class(napi_env env) {
  napi_property_descriptor methods[] = {
      METHOD("close", pump_close_js),
      METHOD("info", pump_info),
      METHOD("serve", pump_serve),
      {"size", NULL, NULL, pump_size, NULL, NULL, napi_default, NULL},
  };
  napi_value cls;
  CHECK(napi_define_class(env, "Pump", NAPI_AUTO_LENGTH, pump_new, NULL, sizeof methods / sizeof methods[0], methods, &cls));
  return cls;
}
