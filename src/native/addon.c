/*
 * addon.c: the addon's one exports table: which C function each JavaScript name calls, the
 * Poller and Pump classes, and the numeric constants of this platform that callers pass back
 * in. It takes no decisions and makes no system calls but through spawn_init, which reserves
 * spawn.c's fd slots (this thread's and the launch thread's) while our fd numbers are still low
 * and notes which signals are ignored. The functions live in one file per concern:
 *
 *   napi.c      the failure convention, argument readers and value setters
 *   sockaddr.c  text and SockAddr objects <-> struct sockaddr
 *   sock.c      socket system calls by fd number
 *   sockfile.c  unix socket files with their mode at birth, chowned by fd
 *   fd.c        fd flags, close, close-on-exec, the pid file lock
 *   mem.c       giving freed malloc memory back to the system
 *   nss.c       user and group lookups
 *   spawn.c     handler spawn, exit status, pidfds
 *   launch.c    accept, spawn from a template and reap, on a thread of its own (the fast path)
 *   splice.c    relayed connections: pipes, splice(2), shutdown(2)
 *   poller.c    readiness without reading (uv_poll)
 *   dgram.c     internal echo and discard datagrams answered on readiness (a Poller's fast path)
 *   pump.c      the bytes of in-process stream services, moved on the fd (uv_poll)
 *
 * src/native/index.ts is its only importer, and carries the types.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <uv.h>

#include "exports.h"
#include "napi.h"
#include "spawn.h"

/*
 * Sorted by name. Each one is used by a caller in src/.
 */
static const struct {
  const char *name;
  int value;
} constants[] = {
    {"AF_INET", AF_INET},
    {"AF_INET6", AF_INET6},
    {"AF_UNIX", AF_UNIX},
    {"IPPROTO_IPV6", IPPROTO_IPV6},
    {"IPPROTO_TCP", IPPROTO_TCP},
    {"IPV6_V6ONLY", IPV6_V6ONLY},
    {"O_NONBLOCK", O_NONBLOCK},
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_STACK", RLIMIT_STACK},
    {"SHUT_WR", SHUT_WR},
    {"SOCK_DGRAM", SOCK_DGRAM},
    {"SOCK_SEQPACKET", SOCK_SEQPACKET},
    {"SOCK_STREAM", SOCK_STREAM},
    {"SOL_SOCKET", SOL_SOCKET},
    {"SO_ERROR", SO_ERROR},
    {"SO_KEEPALIVE", SO_KEEPALIVE},
    {"SO_REUSEADDR", SO_REUSEADDR},
    {"SO_TYPE", SO_TYPE},
    {"TCP_NODELAY", TCP_NODELAY},
    {"UV_READABLE", UV_READABLE},
    {"UV_WRITABLE", UV_WRITABLE},
};

#define FN(name) {#name, NULL, js_##name, NULL, NULL, NULL, napi_enumerable, NULL}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  spawn_init();
  napi_property_descriptor fns[] = {
      FN(accept),          FN(bind),            FN(bindUnix),        FN(chownSocketFile), FN(close),
      FN(cloexecFrom),     FN(connect),         FN(getgrnam),        FN(getgrouplist),    FN(getpeercred),
      FN(getpwnam),        FN(getsockname),     FN(getsockopt),      FN(launchDrain),     FN(launchRecords),
      FN(listen),          FN(lockPidFile),     FN(pidfdOpen),       FN(pipe),            FN(recvfrom),
      FN(recvmmsgRaw),     FN(send),            FN(sendmmsgRaw),     FN(sendto),          FN(sendtoUnix),
      FN(setLinger),       FN(setNonBlocking),  FN(setsockopt),      FN(shutdown),        FN(socket),
      FN(spawnHandler),    FN(splice),          FN(trimMemory),      FN(waitPidfd),
  };
  CHECK(napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns));

  napi_value poller = poller_class(env);
  if (poller == NULL) return NULL;
  CHECK(napi_set_named_property(env, exports, "Poller", poller));
  napi_value launcher = launcher_class(env);
  if (launcher == NULL) return NULL;
  CHECK(napi_set_named_property(env, exports, "Launcher", launcher));
  napi_value pump = pump_class(env);
  if (pump == NULL) return NULL;
  CHECK(napi_set_named_property(env, exports, "Pump", pump));

  napi_value consts;
  CHECK(napi_create_object(env, &consts));
  for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++) {
    if (!set_int(env, consts, constants[i].name, constants[i].value)) return napi_failed(env);
  }
  CHECK(napi_object_freeze(env, consts));
  CHECK(napi_set_named_property(env, exports, "constants", consts));
  return exports;
}
