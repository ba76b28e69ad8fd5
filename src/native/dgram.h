/*
 * dgram.h: the datagram fast path (dgram.c), which a Poller runs in place of its callback, and
 * the batch send that it shares with sock.c's sendmmsgRaw.
 */
#ifndef NINETD_DGRAM_H
#define NINETD_DGRAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* What is done with a datagram that may be answered; the `mode` of Poller.serveDatagrams. */
enum { DGRAM_ECHO = 0, DGRAM_DISCARD = 1 };

/*
 * The guard table's layout (src/dispatch/dgram-guard.ts): a reason byte per source port, then
 * the address rules, each 16 address bytes, a prefix length in bits and a reason (0: answer).
 */
#define DGRAM_GUARD_PORTS 65536
#define DGRAM_GUARD_RULES 8
#define DGRAM_GUARD_RULE_BYTES 18
#define DGRAM_GUARD_BYTES (DGRAM_GUARD_PORTS + DGRAM_GUARD_RULES * DGRAM_GUARD_RULE_BYTES)

typedef struct dgram dgram_t;

/* A fast path for `mode` that reads `guard` (DGRAM_GUARD_BYTES, owned by the caller, read at each datagram); NULL when out of memory. */
dgram_t *dgram_new(int mode, const uint8_t *guard);
void dgram_free(dgram_t *d);

/* Serves one batch queued on `fd`: 0, or the errno of a receive that JavaScript must hear of (ENOMEM, ENOBUFS). */
int dgram_serve(dgram_t *d, int fd);

/* The datagrams read and dropped since the last call. */
void dgram_take_counts(dgram_t *d, uint64_t *read, uint64_t *dropped);

/*
 * sendmmsg(2) of msgs[0..count), MSG_DONTWAIT | MSG_NOSIGNAL: the number sent. A message the
 * kernel refuses is lost alone and the rest go on, except after EAGAIN/ENOBUFS, when the rest
 * would only fail too.
 */
int64_t dgram_send_batch(int fd, struct mmsghdr *msgs, unsigned count);

#endif
