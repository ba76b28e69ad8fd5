/*
 * poller.c: one job, the Poller class: readiness of an fd through the event loop's own epoll
 * (uv_poll), without ever reading the fd, so that a wait-mode handler finds its datagram or
 * connection still queued. Node's net and dgram always read. A Poller told to serve datagrams
 * (serveDatagrams) instead runs the datagram fast path (dgram.c) on readiness, and calls back
 * only with an error.
 *
 * Functions that take decisions, and why:
 *   - poller_release forgets the fd of a stopped handle before uv_close, so that a late close
 *     (a GC finalizer, or a caller that closed the fd first) cannot EPOLL_CTL_DEL a reused fd
 *     number that another Poller now watches.
 *   - poller_event finishes the stop that libuv left half done on POLLERR (the handle inactive,
 *     the fd still in epoll), and turns an exception thrown by the callback into
 *     uncaughtException, as Node does for its own callbacks.
 *   - poller_stop and poller_ref on a closed Poller do nothing; poller_start throws EBADF.
 */
#include <errno.h>
#include <stdlib.h>
#include <uv.h>

#include "dgram.h"
#include "exports.h"
#include "napi.h"

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
  dgram_t *dgram;           /* serving datagrams in C (serveDatagrams), or NULL */
  napi_ref guard;           /* the guard table dgram reads, held while it does */
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
  dgram_free(p->dgram);
  p->dgram = NULL;
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
  if (p->guard) {
    napi_delete_reference(env, p->guard);
    p->guard = NULL;
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

/*
 * uv_poll callback: hands (err, events) to JS inside a callback scope; a Poller serving
 * datagrams serves them here and calls JS only with an error (a receive error as `recvmmsg`).
 */
static void poller_event(uv_poll_t *h, int status, int events) {
  poller_t *p = h->data;
  if (p->closing) return;
  int served = 0;
  if (p->dgram != NULL && status >= 0 && (served = dgram_serve(p->dgram, h->io_watcher.fd)) == 0) return;
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value self = NULL, cb = NULL, argv[2], result;
  napi_get_reference_value(env, p->wrapper, &self);
  napi_get_reference_value(env, p->cb, &cb);
  if (self == NULL) napi_get_global(env, &self);
  if (status < 0 || served != 0) {
    argv[0] = status < 0 ? errno_error(env, -status, "uv_poll", NULL) : errno_error(env, served, "recvmmsg", NULL);
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

/*
 * (mode, guard): from now on serves the socket's datagrams in C (dgram.c): DGRAM_ECHO answers
 * each one the guard table allows, DGRAM_DISCARD answers none. `guard` (a Buffer of
 * DGRAM_GUARD_BYTES) is read at each datagram, so changes to it apply at once; it is held
 * until the Poller closes. Once only.
 */
static napi_value poller_serve_datagrams(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t mode;
  void *guard;
  size_t len;
  if (!get_args(env, info, &a)) return NULL;
  poller_t *p = unwrap_poller(env, a.self);
  if (p == NULL || !arg_int(env, a.argv[0], "mode", &mode) || !arg_buffer(env, a.argv[1], "guard", &guard, &len)) return NULL;
  if (mode != DGRAM_ECHO && mode != DGRAM_DISCARD) return (out_of_range(env, "The \"mode\" argument is out of range"), NULL);
  if (len != DGRAM_GUARD_BYTES) return (out_of_range(env, "The \"guard\" buffer has the wrong size"), NULL);
  if (p->closing) return throw_errno_detail(env, EBADF, "serveDatagrams", "(poller is closed)");
  if (p->dgram != NULL) return throw_errno_detail(env, EBUSY, "serveDatagrams", "(already serving)");
  CHECK(napi_create_reference(env, a.argv[1], 1, &p->guard));
  p->dgram = dgram_new(mode, guard);
  if (p->dgram == NULL) return throw_errno(env, ENOMEM, "malloc");
  return undefined(env);
}

/* The datagrams read and dropped by the fast path since the last call, as [read, dropped]. */
static napi_value poller_take_counts(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a)) return NULL;
  poller_t *p = unwrap_poller(env, a.self);
  if (p == NULL) return NULL;
  uint64_t read = 0, dropped = 0;
  if (p->dgram != NULL) dgram_take_counts(p->dgram, &read, &dropped);
  napi_value out, r, d;
  CHECK(napi_create_array_with_length(env, 2, &out));
  CHECK(napi_create_double(env, (double)read, &r));
  CHECK(napi_create_double(env, (double)dropped, &d));
  CHECK(napi_set_element(env, out, 0, r));
  CHECK(napi_set_element(env, out, 1, d));
  return out;
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

#define METHOD(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_default_method, NULL}

napi_value poller_class(napi_env env) {
  napi_property_descriptor methods[] = {
      METHOD("close", poller_close),
      METHOD("ref", poller_ref),
      METHOD("serveDatagrams", poller_serve_datagrams),
      METHOD("start", poller_start),
      METHOD("stop", poller_stop),
      METHOD("takeCounts", poller_take_counts),
  };
  napi_value cls;
  CHECK(napi_define_class(env, "Poller", NAPI_AUTO_LENGTH, poller_new, NULL, sizeof methods / sizeof methods[0], methods, &cls));
  return cls;
}
