/*
 * sockaddr.h: text and JavaScript SockAddr objects to struct sockaddr and back (sockaddr.c).
 */
#ifndef NINETD_SOCKADDR_H
#define NINETD_SOCKADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "napi.h"

/* The socket's address family, from getsockopt(SO_DOMAIN); -1 with errno set on failure. */
int socket_domain(int fd);

/*
 * Text to sockaddr for `domain`. Inet: '' or '*' is the any address; IPv6 may carry %scope
 * (interface name or number). Unix: a path, '@name' for the abstract namespace, '' for none
 * (autobind on bind). Returns 0 or a positive errno, with `why` naming the bad part.
 */
int make_sockaddr(int domain, const char *host, size_t hostlen, int32_t port, struct sockaddr_storage *ss, socklen_t *sslen,
                  char *why, size_t whylen);

/* Fills `obj` with the SockAddr view of a kernel address; `domain` stands in for an empty one. False (not thrown) on an N-API failure. */
bool fill_sockaddr(napi_env env, napi_value obj, const struct sockaddr_storage *ss, socklen_t len, int domain);

/* A new SockAddr object for a kernel address, or NULL with an exception pending. */
napi_value sockaddr_value(napi_env env, const struct sockaddr_storage *ss, socklen_t len, int domain);

/* Reads a SockAddr object ({family, address, port, scopeId?} or {family: 'unix', path}); errors name `syscall`. */
bool read_sockaddr(napi_env env, napi_value obj, const char *syscall, struct sockaddr_storage *ss, socklen_t *sslen);

#endif
