/*
 * A C server that answers without forking: the ceiling of what the load generator can push
 * through loopback on this machine. When a super-server's figure is far below this one, the
 * generator was not what held it back.
 *
 *   nofork daytime PORT [ADDR]    write the date as one line, close (like internal daytime)
 *   nofork echo PORT [ADDR]       echo stream until EOF, then close (like internal echo)
 *   nofork udp-echo PORT [ADDR]   send every datagram back to its sender
 *
 * One thread, one epoll set. ADDR is 127.0.0.1 (default) or ::1: loopback only. PORT 0 takes
 * an ephemeral port. It prints
 * {"port":N} on stdout once it is ready, and runs until it is killed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static int bind_socket(int type, int port, int v6)
{
    int fd = socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = a.sin_port };
    a6.sin6_addr = in6addr_loopback;
    struct sockaddr *sa = v6 ? (struct sockaddr *)&a6 : (struct sockaddr *)&a;
    socklen_t len = v6 ? sizeof a6 : sizeof a;
    if (bind(fd, sa, len) < 0)
        die("bind");
    getsockname(fd, sa, &len);
    if (type == SOCK_STREAM && listen(fd, 1024) < 0)
        die("listen");
    printf("{\"port\":%d}\n", ntohs(v6 ? a6.sin6_port : a.sin_port));
    fflush(stdout);
    return fd;
}

/* Write everything, waiting briefly on a full buffer; payloads here are at most a few KiB on
 * loopback, so this almost never waits. */
static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EAGAIN) {
                struct pollfd pf = { .fd = fd, .events = POLLOUT };
                if (poll(&pf, 1, 1000) <= 0)
                    return -1;
                continue;
            }
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void udp_echo(int fd)
{
    char buf[65536];
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        poll(&p, 1, -1);
        for (int i = 0; i < 64; i++) { /* drain a batch per wakeup */
            struct sockaddr_storage peer;
            socklen_t plen = sizeof peer;
            ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &plen);
            if (n < 0)
                break;
            sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, plen);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: nofork daytime|echo|udp-echo PORT [127.0.0.1|::1]\n");
        return 2;
    }
    const char *mode = argv[1];
    int port = atoi(argv[2]);
    int v6 = 0;
    if (argc == 4) {
        v6 = strcmp(argv[3], "::1") == 0;
        if (!v6 && strcmp(argv[3], "127.0.0.1") != 0) {
            fprintf(stderr, "nofork: loopback only (127.0.0.1 or ::1)\n");
            return 2;
        }
    }
    if (strcmp(mode, "udp-echo") == 0)
        udp_echo(bind_socket(SOCK_DGRAM, port, v6));
    int echo = strcmp(mode, "echo") == 0;
    if (!echo && strcmp(mode, "daytime") != 0) {
        fprintf(stderr, "nofork: unknown mode %s\n", mode);
        return 2;
    }

    int lfd = bind_socket(SOCK_STREAM, port, v6);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd };
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    struct epoll_event evs[256];
    char buf[65536];

    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                for (;;) {
                    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                    if (c < 0)
                        break;
                    if (!echo) {
                        char line[64];
                        time_t now = time(NULL);
                        size_t len = strftime(line, sizeof line, "%a %b %e %H:%M:%S %Y\r\n",
                                              localtime(&now));
                        write_all(c, line, len);
                        close(c);
                        continue;
                    }
                    struct epoll_event cev = { .events = EPOLLIN, .data.fd = c };
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            /* echo: send back what is there; EOF or an error ends the connection */
            ssize_t r = read(fd, buf, sizeof buf);
            if (r < 0 && errno == EAGAIN)
                continue;
            if (r <= 0 || write_all(fd, buf, (size_t)r) < 0)
                close(fd); /* close also removes it from the epoll set */
        }
    }
}
