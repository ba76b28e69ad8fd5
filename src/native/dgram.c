/*
 * dgram.c: one job, the datagram fast path: the internal echo and discard services over UDP
 * answered without entering JavaScript. A Poller given one (Poller.serveDatagrams) calls
 * dgram_serve on each readiness event in place of its callback: one recvmmsg(2) of up to BURST
 * datagrams, each sender looked up in the guard table, one sendmmsg(2) of the echoes. Which
 * senders are answered is not decided here: the table (a reason byte per source port, then
 * address prefixes tried in order) is made in src/dispatch/dgram-guard.ts, which also says
 * which services may take this path. The counts go back to JavaScript when it asks.
 *
 * Functions that take decisions, and why:
 *   - dgram_serve reads one batch per readiness event, so that a flood on one socket cannot
 *     keep the event loop from the others (level-triggered epoll reports the rest next turn).
 *   - a receive error other than EAGAIN, ENOMEM and ENOBUFS (ECONNREFUSED left by an ICMP
 *     error) belongs to the socket, not to the next datagram: it reads again, at most BURST
 *     times. ENOMEM and ENOBUFS go back to the caller, for the daemon's out-of-resources pause.
 *   - the receive batch (BURST slots of 64 KiB, virtual memory of which a small datagram makes
 *     one page resident) is one per thread, shared by every service served there, since
 *     dgram_serve runs to its end without calling out; made at the first datagram (many
 *     daemons never see one) and kept for the thread's life.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dgram.h"

/* Datagrams read per readiness event, as the event loop's path reads them (datagram.ts). */
#define BURST 32
/* Bytes of a slot: the largest UDP payload fits. */
#define SLOT 65536

struct dgram {
  int mode;
  const uint8_t *guard;
  uint64_t read, dropped;
};

typedef struct {
  uint8_t bufs[BURST][SLOT];
  struct mmsghdr msgs[BURST];
  struct iovec iov[BURST];
  struct sockaddr_in6 from[BURST]; /* the larger of the two senders */
} batch_t;

static __thread batch_t *batch;

dgram_t *dgram_new(int mode, const uint8_t *guard) {
  dgram_t *d = calloc(1, sizeof *d);
  if (d == NULL) return NULL;
  d->mode = mode;
  d->guard = guard;
  return d;
}

void dgram_free(dgram_t *d) { free(d); }

void dgram_take_counts(dgram_t *d, uint64_t *read, uint64_t *dropped) {
  *read = d->read;
  *dropped = d->dropped;
  d->read = d->dropped = 0;
}

/* Whether the guard table says not to answer `sa`: its port's byte, else the first address rule that matches. */
static bool dropped(const uint8_t *guard, const struct sockaddr *sa) {
  uint8_t a[16];
  uint16_t port;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    memset(a, 0, 10);
    a[10] = a[11] = 0xff;
    memcpy(a + 12, &in->sin_addr, 4);
    port = ntohs(in->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    memcpy(a, &in6->sin6_addr, 16);
    port = ntohs(in6->sin6_port);
  } else {
    return true;
  }
  if (guard[port] != 0) return true;
  for (int r = 0; r < DGRAM_GUARD_RULES; r++) {
    const uint8_t *rule = guard + DGRAM_GUARD_PORTS + r * DGRAM_GUARD_RULE_BYTES;
    unsigned bits = rule[16], whole = bits / 8, rest = bits % 8;
    if (whole > 16 || (whole == 16 && rest)) return true; /* not a table of ours */
    if (memcmp(a, rule, whole) != 0) continue;
    if (rest && ((a[whole] ^ rule[whole]) >> (8 - rest)) != 0) continue;
    return rule[17] != 0;
  }
  return false;
}

int64_t dgram_send_batch(int fd, struct mmsghdr *msgs, unsigned count) {
  unsigned at = 0;
  int64_t sent = 0;
  while (at < count) {
    int n = sendmmsg(fd, msgs + at, count - at, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      at += (unsigned)n;
      sent += n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) break;
    at++; /* this one is lost */
  }
  return sent;
}

int dgram_serve(dgram_t *d, int fd) {
  if (batch == NULL && (batch = malloc(sizeof *batch)) == NULL) return ENOMEM;
  batch_t *b = batch;
  int n = -1;
  for (int tries = 0; tries < BURST && n < 0; tries++) {
    memset(b->msgs, 0, sizeof b->msgs);
    for (int i = 0; i < BURST; i++) {
      b->iov[i].iov_base = b->bufs[i];
      b->iov[i].iov_len = SLOT;
      b->msgs[i].msg_hdr.msg_iov = &b->iov[i];
      b->msgs[i].msg_hdr.msg_iovlen = 1;
      b->msgs[i].msg_hdr.msg_name = &b->from[i];
      b->msgs[i].msg_hdr.msg_namelen = sizeof b->from[i];
    }
    n = recvmmsg(fd, b->msgs, BURST, MSG_DONTWAIT, NULL);
    if (n >= 0) break;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    if (errno == ENOMEM || errno == ENOBUFS) return errno;
  }
  if (n <= 0) return 0;
  d->read += (uint64_t)n;
  /* The answers are moved to the front of the array, each keeping its own slot and sender. */
  unsigned m = 0;
  for (int i = 0; i < n; i++) {
    if (dropped(d->guard, (struct sockaddr *)&b->from[i])) {
      d->dropped++;
      continue;
    }
    if (d->mode != DGRAM_ECHO) continue;
    b->iov[i].iov_len = b->msgs[i].msg_len;
    b->msgs[m].msg_hdr = b->msgs[i].msg_hdr;
    m++;
  }
  dgram_send_batch(fd, b->msgs, m);
  return 0;
}
