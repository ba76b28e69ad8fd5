/*
 * A "wait" datagram handler, as inetd runs them: the bound UDP socket is fd 0, shared with the
 * super-server. It answers every datagram it reads by sending the same bytes back to the
 * sender, and exits once no datagram has come for IDLE_MS, so the super-server takes the socket
 * back and starts a new handler on the next datagram.
 *
 * The lifetime cap keeps the loop bounded even under endless load: the super-server simply
 * starts a new one.
 */
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IDLE_MS 200
#define MAX_SECONDS 60

int main(void)
{
    char buf[65536];
    time_t start = time(NULL);

    while (time(NULL) - start < MAX_SECONDS) {
        struct pollfd p = { .fd = 0, .events = POLLIN };
        int r = poll(&p, 1, IDLE_MS);
        if (r == 0)
            return 0; /* idle: hand the socket back */
        if (r < 0)
            return 1;
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        /* MSG_DONTWAIT: the socket is shared; another reader may have taken the datagram. */
        ssize_t n = recvfrom(0, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&peer, &plen);
        if (n < 0)
            continue;
        (void)sendto(0, buf, (size_t)n, 0, (struct sockaddr *)&peer, plen);
    }
    return 0;
}
