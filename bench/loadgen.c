/*
 * The load generator of `npm run bench`: N concurrent clients for T seconds against one
 * loopback address, one thread and one epoll set, so that it needs at most one of the two
 * cores and leaves the other to the server under test.
 *
 *   loadgen -p PORT [-a ADDR] [-m tcp|udp] [-c CLIENTS] [-t SECONDS] [-n MAX_REQUESTS]
 *           [-s PAYLOAD_BYTES] [-H] [-e EXPECTED_BYTES] [-E] [-R] [-T TIMEOUT_MS]
 *
 * tcp: each request is connect, send the payload (if any; -H then half-closes), read until
 *      EOF (-E: until EXPECTED_BYTES have come), close. Fewer than EXPECTED_BYTES (default 1)
 *      at EOF is an error. -R closes with a reset (SO_LINGER 0) rather than a FIN, so that
 *      a client that closes first leaves no TIME_WAIT behind: without it, a server faster
 *      than about 14,000 connections a second from 127.0.0.1 runs into the client's ports
 *      (bench/README.md, "TIME_WAIT").
 * udp: each client has one connected socket; a request sends a datagram that starts with a
 *      sequence number and waits for the reply carrying it; a late reply to an older request
 *      is ignored, so a timeout counts once, as an error.
 *
 * A request that takes longer than TIMEOUT_MS (tcp 5000, udp 1000) is an error. At the end of
 * the time (or after MAX_REQUESTS) no new request starts and the ones in flight finish, each
 * still bounded by its timeout. It prints one JSON line:
 *   {"requests":…, "errors":…, "rate":…, "p50_ms":…, "p99_ms":…, …}
 * where requests counts the successful ones and rate is requests per second of elapsed time.
 *
 * It refuses any address outside 127.0.0.0/8 and ::1: this is a loopback benchmark only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum state { IDLE, CONNECTING, SENDING, READING };
enum err { E_CONNECT, E_RESET, E_TIMEOUT, E_SHORT, E_OTHER, E_KINDS };
static const char *err_names[E_KINDS] = { "connect", "reset", "timeout", "short", "other" };

struct client {
    int fd;
    enum state state;
    uint64_t t0;         /* request start, ns */
    uint64_t deadline;   /* request timeout, ns */
    uint64_t next_start; /* not before this (a short pause after an error), ns */
    size_t sent, recvd;
    uint64_t seq; /* udp: the sequence number of the request in flight */
};

/* Settings */
static int udp;
static struct sockaddr_storage addr;
static socklen_t addrlen;
static int nclients = 1;
static double seconds = 4;
static long max_requests; /* 0: no limit */
static size_t payload_len;
static int half_close;
static int reset_close;
static size_t expected = 0;
static int stop_at_expected;
static uint64_t timeout_ns;

/* Results */
static uint64_t ok, errors, err_count[E_KINDS], launched;
static uint64_t *lat;                    /* latencies of successful requests, ns */
static size_t lat_n, lat_cap;
#define LAT_MAX ((size_t)20 * 1000 * 1000) /* past this, requests count but are not sampled */

static uint64_t last_end; /* when the last request ended, either way, ns */
static int ep;
static char *payload;
static char rbuf[65536];

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void record(uint64_t ns)
{
    if (lat_n == lat_cap && lat_cap < LAT_MAX) {
        lat_cap = lat_cap ? lat_cap * 2 : 65536;
        uint64_t *p = realloc(lat, lat_cap * sizeof *lat);
        if (!p) {
            lat_cap = lat_n; /* keep what we have; stop sampling */
            return;
        }
        lat = p;
    }
    if (lat_n < lat_cap)
        lat[lat_n++] = ns;
}

static void finish_tcp(struct client *c)
{
    if (reset_close) {
        struct linger l = { .l_onoff = 1, .l_linger = 0 };
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    close(c->fd); /* also removes it from the epoll set */
    c->fd = -1;
    c->state = IDLE;
}

static void done(struct client *c, uint64_t now)
{
    ok++;
    last_end = now;
    record(now - c->t0);
    if (!udp)
        finish_tcp(c);
    c->state = IDLE;
    c->next_start = now;
}

/* A failed request pauses its client for 10 ms, so a refused port cannot turn the run into a
 * busy loop of errors. */
static void fail(struct client *c, enum err kind, uint64_t now)
{
    errors++;
    err_count[kind]++;
    last_end = now;
    if (!udp)
        finish_tcp(c);
    c->state = IDLE;
    c->next_start = now + 10000000u;
}

static void watch(struct client *c, int op, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = c };
    epoll_ctl(ep, op, c->fd, &ev);
}

static void tcp_send(struct client *c, uint64_t now)
{
    while (c->sent < payload_len) {
        ssize_t w = send(c->fd, payload + c->sent, payload_len - c->sent, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN) {
                c->state = SENDING;
                watch(c, EPOLL_CTL_MOD, EPOLLOUT);
                return;
            }
            fail(c, errno == ECONNRESET || errno == EPIPE ? E_RESET : E_OTHER, now);
            return;
        }
        c->sent += (size_t)w;
    }
    if (half_close)
        shutdown(c->fd, SHUT_WR);
    c->state = READING;
    watch(c, EPOLL_CTL_MOD, EPOLLIN);
}

static void tcp_start(struct client *c, uint64_t now)
{
    c->t0 = now;
    c->deadline = now + timeout_ns;
    c->sent = c->recvd = 0;
    c->fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        c->state = IDLE;
        errors++;
        err_count[E_OTHER]++;
        c->next_start = now + 10000000u;
        return;
    }
    watch(c, EPOLL_CTL_ADD, EPOLLOUT);
    if (connect(c->fd, (struct sockaddr *)&addr, addrlen) == 0) {
        tcp_send(c, now);
    } else if (errno == EINPROGRESS) {
        c->state = CONNECTING;
    } else {
        c->state = CONNECTING; /* so that fail() closes it */
        fail(c, E_CONNECT, now);
    }
}

static void tcp_event(struct client *c, uint32_t events, uint64_t now)
{
    if (c->state == CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            fail(c, E_CONNECT, now);
            return;
        }
        tcp_send(c, now);
        return;
    }
    if (c->state == SENDING) {
        tcp_send(c, now);
        return;
    }
    (void)events;
    for (;;) { /* READING: drain what is there; EPOLLHUP/ERR show up as read() results */
        ssize_t r = read(c->fd, rbuf, sizeof rbuf);
        if (r > 0) {
            c->recvd += (size_t)r;
            if (stop_at_expected && c->recvd >= expected) {
                done(c, now);
                return;
            }
            continue;
        }
        if (r == 0) {
            if (c->recvd < (expected ? expected : 1))
                fail(c, E_SHORT, now);
            else
                done(c, now);
            return;
        }
        if (errno == EAGAIN)
            return;
        if (errno == EINTR)
            continue;
        fail(c, errno == ECONNRESET ? E_RESET : E_OTHER, now);
        return;
    }
}

static void udp_start(struct client *c, uint64_t now)
{
    if (c->fd < 0) {
        c->fd = socket(addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, addrlen) < 0) {
            perror("udp socket");
            exit(1);
        }
        watch(c, EPOLL_CTL_ADD, EPOLLIN);
    }
    c->t0 = now;
    c->deadline = now + timeout_ns;
    c->seq++;
    memcpy(payload, &c->seq, sizeof c->seq);
    c->state = READING;
    if (send(c->fd, payload, payload_len, 0) < 0)
        fail(c, errno == ECONNREFUSED ? E_CONNECT : E_OTHER, now);
}

static void udp_event(struct client *c, uint64_t now)
{
    for (;;) {
        ssize_t r = recv(c->fd, rbuf, sizeof rbuf, 0);
        if (r < 0) {
            if (errno == EAGAIN)
                return;
            if (errno == EINTR)
                continue;
            /* ECONNREFUSED: an ICMP port unreachable for an earlier datagram */
            if (c->state == READING)
                fail(c, errno == ECONNREFUSED ? E_CONNECT : E_OTHER, now);
            return;
        }
        uint64_t seq;
        if (c->state != READING || (size_t)r < sizeof seq)
            continue;
        memcpy(&seq, rbuf, sizeof seq);
        if (seq != c->seq)
            continue; /* the late answer to a request that already timed out */
        if ((size_t)r < (expected ? expected : 1))
            fail(c, E_SHORT, now);
        else
            done(c, now);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile, in ms. */
static double pct(double p)
{
    if (lat_n == 0)
        return 0;
    size_t i = (size_t)(p * (double)lat_n + 0.999999);
    if (i < 1)
        i = 1;
    if (i > lat_n)
        i = lat_n;
    return (double)lat[i - 1] / 1e6;
}

static int is_loopback(void)
{
    if (addr.ss_family == AF_INET) {
        uint32_t a = ntohl(((struct sockaddr_in *)&addr)->sin_addr.s_addr);
        return (a >> 24) == 127;
    }
    return IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&addr)->sin6_addr);
}

static void usage(void)
{
    fprintf(stderr, "usage: loadgen -p PORT [-a ADDR] [-m tcp|udp] [-c CLIENTS] [-t SECONDS]\n"
                    "       [-n MAX_REQUESTS] [-s PAYLOAD_BYTES] [-H] [-e EXPECTED_BYTES] [-E] [-R]\n"
                    "       [-T TIMEOUT_MS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 0, opt;
    long timeout_ms = 0;
    while ((opt = getopt(argc, argv, "a:p:m:c:t:n:s:He:ERT:")) != -1) {
        switch (opt) {
        case 'a': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'm': udp = strcmp(optarg, "udp") == 0; break;
        case 'c': nclients = atoi(optarg); break;
        case 't': seconds = atof(optarg); break;
        case 'n': max_requests = atol(optarg); break;
        case 's': payload_len = (size_t)atol(optarg); break;
        case 'H': half_close = 1; break;
        case 'e': expected = (size_t)atol(optarg); break;
        case 'E': stop_at_expected = 1; break;
        case 'R': reset_close = 1; break;
        case 'T': timeout_ms = atol(optarg); break;
        default: usage();
        }
    }
    if (port <= 0 || port > 65535 || nclients < 1 || nclients > 4096 || seconds <= 0 ||
        seconds > 600)
        usage();
    memset(&addr, 0, sizeof addr);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((unsigned short)port);
        addrlen = sizeof *a4;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((unsigned short)port);
        addrlen = sizeof *a6;
    } else {
        usage();
    }
    if (!is_loopback()) {
        fprintf(stderr, "loadgen: %s is not a loopback address; refusing\n", host);
        return 2;
    }
    if (udp && payload_len < sizeof(uint64_t))
        payload_len = 64; /* room for the sequence number */
    if (!timeout_ms)
        timeout_ms = udp ? 1000 : 5000;
    timeout_ns = (uint64_t)timeout_ms * 1000000u;
    payload = calloc(1, payload_len ? payload_len : 1);
    for (size_t i = sizeof(uint64_t); i < payload_len; i++)
        payload[i] = (char)('a' + i % 26);

    ep = epoll_create1(EPOLL_CLOEXEC);
    struct client *cl = calloc((size_t)nclients, sizeof *cl);
    for (int i = 0; i < nclients; i++)
        cl[i].fd = -1;
    struct epoll_event *evs = calloc((size_t)nclients, sizeof *evs);

    uint64_t start = now_ns();
    uint64_t end = start + (uint64_t)(seconds * 1e9);
    uint64_t hard_end = end + timeout_ns + 1000000000u; /* bound even if a timeout misfires */
    for (;;) {
        uint64_t now = now_ns();
        int stopping = now >= end || (max_requests && launched >= (uint64_t)max_requests);
        int active = 0;
        for (int i = 0; i < nclients; i++) {
            struct client *c = &cl[i];
            if (c->state != IDLE && now >= c->deadline)
                fail(c, E_TIMEOUT, now);
            if (c->state == IDLE && !stopping && now >= c->next_start &&
                (!max_requests || launched < (uint64_t)max_requests)) {
                launched++;
                if (udp)
                    udp_start(c, now);
                else
                    tcp_start(c, now);
            }
            if (c->state != IDLE)
                active++;
        }
        if (stopping && active == 0)
            break;
        if (now >= hard_end)
            break;
        int n = epoll_wait(ep, evs, nclients, 5);
        now = now_ns();
        for (int i = 0; i < n; i++) {
            struct client *c = evs[i].data.ptr;
            if (c->state == IDLE)
                continue;
            if (udp)
                udp_event(c, now);
            else
                tcp_event(c, evs[i].events, now);
        }
    }

    /* The run lasts until its last request ended, so the in-flight tail counts in the rate. */
    double elapsed = (double)((last_end > start ? last_end : now_ns()) - start) / 1e9;
    qsort(lat, lat_n, sizeof *lat, cmp_u64);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    printf("{\"mode\":\"%s\",\"clients\":%d,\"seconds\":%.3f,\"requests\":%llu,\"errors\":%llu,"
           "\"rate\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
           "\"loadgen_cpu_s\":%.3f,\"errors_by\":{",
           udp ? "udp" : "tcp", nclients, elapsed, (unsigned long long)ok,
           (unsigned long long)errors, (double)ok / elapsed, pct(0.5), pct(0.9), pct(0.99),
           pct(1.0), cpu);
    for (int k = 0; k < E_KINDS; k++)
        printf("%s\"%s\":%llu", k ? "," : "", err_names[k], (unsigned long long)err_count[k]);
    printf("}}\n");
    return 0;
}
