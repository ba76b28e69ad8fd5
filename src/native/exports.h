/*
 * exports.h: the functions each room hands to addon.c's exports table, by room. Each one is a
 * napi_callback following napi.h's failure convention; its comment is at its definition.
 */
#ifndef NINETD_EXPORTS_H
#define NINETD_EXPORTS_H

#include <node_api.h>

#define NINETD_FN(name) napi_value js_##name(napi_env env, napi_callback_info info)

/* sock.c */
NINETD_FN(accept);
NINETD_FN(bind);
NINETD_FN(connect);
NINETD_FN(getpeercred);
NINETD_FN(getsockname);
NINETD_FN(getsockopt);
NINETD_FN(listen);
NINETD_FN(recvfrom);
NINETD_FN(recvmmsgRaw);
NINETD_FN(send);
NINETD_FN(sendto);
NINETD_FN(sendmmsgRaw);
NINETD_FN(sendtoUnix);
NINETD_FN(setLinger);
NINETD_FN(setsockopt);
NINETD_FN(socket);

/* splice.c */
NINETD_FN(pipe);
NINETD_FN(shutdown);
NINETD_FN(splice);

/* sockfile.c */
NINETD_FN(bindUnix);
NINETD_FN(chownSocketFile);

/* fd.c */
NINETD_FN(cloexecFrom);
NINETD_FN(close);
NINETD_FN(lockPidFile);
NINETD_FN(setNonBlocking);

/* nss.c */
NINETD_FN(getgrnam);
NINETD_FN(getgrouplist);
NINETD_FN(getpwnam);

/* spawn.c */
NINETD_FN(pidfdOpen);
NINETD_FN(spawnHandler);
NINETD_FN(waitPidfd);

/* launch.c */
NINETD_FN(launchDrain);
NINETD_FN(launchRecords);

/* mem.c */
NINETD_FN(trimMemory);

/* poller.c: the Poller class (constructor and its methods). */
napi_value poller_class(napi_env env);

/* launch.c: the Launcher class (constructor and its methods). */
napi_value launcher_class(napi_env env);

/* pump.c: the Pump class (constructor and its methods). */
napi_value pump_class(napi_env env);

#undef NINETD_FN

#endif
