/*
 * The C accept+fork+exec limit: the least a super-server can do per connection, written the
 * plain way, to put ninetd's figures in proportion.
 *
 *   forkserver PORT PATH ARGV0 [ARG...]     stream, nowait: accept, fork, socket on 0/1/2,
 *                                           exec PATH
 *   forkserver -v PORT PATH ARGV0 [ARG...]  the same with vfork(2): the child borrows our
 *                                           memory until exec, so no page tables are copied;
 *                                           the least any super-server's spawn can cost
 *   forkserver -s PORT PATH ARGV0 [ARG...]  -v, and the child calls setsid(2) before exec, as
 *                                           openbsd-inetd and xinetd do for every handler
 *                                           (ninetd only when it has a terminal)
 *   forkserver -u PORT PATH ARGV0 [ARG...]  dgram, wait: on a readable socket, fork, hand the
 *                                           bound socket to PATH on 0/1/2, wait for it to
 *                                           exit, repeat
 *
 * PATH, then argv[0] and the arguments, as in an inetd.conf line.
 *
 * It listens on 127.0.0.1 only; PORT 0 takes an ephemeral port. It prints {"port":N} on
 * stdout once it is ready, and runs until it is killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* Reaping from the signal handler keeps the accept loop free of bookkeeping, as a classic
 * inetd does. waitpid is async-signal-safe; errno is saved for the interrupted code. */
static void reap(int sig)
{
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    errno = saved;
}

static int bind_socket(int type, int port)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
        die("bind");
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    if (type == SOCK_STREAM && listen(fd, 1024) < 0)
        die("listen");
    printf("{\"port\":%d}\n", ntohs(a.sin_port));
    fflush(stdout);
    return fd;
}

static int new_session;

/* In the child: a session of its own with -s, the socket becomes 0, 1 and 2 (dup2 clears
 * close-on-exec), then exec. */
static void run_handler(int fd, const char *path, char **argv)
{
    if (new_session && setsid() < 0)
        _exit(125);
    for (int i = 0; i < 3; i++)
        if (dup2(fd, i) < 0)
            _exit(126);
    if (fd > 2)
        close(fd);
    execv(path, argv);
    _exit(127);
}

int main(int argc, char **argv)
{
    int dgram = 0, use_vfork = 0;
    if (argc > 1 && strcmp(argv[1], "-u") == 0) {
        dgram = 1;
        argv++;
        argc--;
    } else if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "-s") == 0)) {
        use_vfork = 1;
        new_session = argv[1][1] == 's';
        argv++;
        argc--;
    }
    if (argc < 4) {
        fprintf(stderr, "usage: forkserver [-u|-v|-s] PORT PATH ARGV0 [ARG...]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    const char *path = argv[2];
    char **prog = argv + 3;

    if (dgram) {
        int fd = bind_socket(SOCK_DGRAM, port);
        for (;;) {
            struct pollfd p = { .fd = fd, .events = POLLIN };
            if (poll(&p, 1, -1) < 0) {
                if (errno == EINTR)
                    continue;
                die("poll");
            }
            pid_t pid = fork();
            if (pid < 0) {
                sleep(1); /* out of processes: back off rather than spin */
                continue;
            }
            if (pid == 0)
                run_handler(fd, path, prog);
            /* wait: one handler at a time owns the socket. */
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        }
    }

    struct sigaction sa = { .sa_handler = reap, .sa_flags = SA_RESTART | SA_NOCLDSTOP };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);

    int lfd = bind_socket(SOCK_STREAM, port);
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                usleep(100000); /* never spin on a resource shortage */
            continue;
        }
        if (use_vfork) {
            /* The child runs in our memory until execv: it only dup2s, closes and execs (exec
             * resets the caught SIGCHLD to its default), and _exits on failure. */
            pid_t pid = vfork();
            if (pid == 0)
                run_handler(fd, path, prog);
            if (pid < 0)
                usleep(100000);
            close(fd);
            continue;
        }
        pid_t pid = fork();
        if (pid == 0) {
            /* The child must not inherit the parent's reaper. */
            signal(SIGCHLD, SIG_DFL);
            run_handler(fd, path, prog);
        }
        if (pid < 0)
            usleep(100000);
        close(fd);
    }
}
