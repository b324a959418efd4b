// tcp-relay LISTEN_PORT UPSTREAM_PORT: forwards every connection made to 127.0.0.1:LISTEN_PORT to
// 127.0.0.1:UPSTREAM_PORT, bytes as they come, both ways, with TCP_NODELAY on both sides; one thread, one epoll
// loop, no work but the copy. Put in front of Mosquitto it gives a message the process crossings of a gateway in
// front of a silo (client → relay → broker → relay → client) at the least cost a crossing can have, which is what
// docs/benchmarks.md ("What a crossing costs") measures against silo + gateway. scripts/bench-vs-mosquitto.sh
// builds it with gcc for its mosquitto+relay broker.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFFER 65536

// One direction of a relayed connection: bytes read from `from`, not yet written to `to`.
struct half {
    int from, to;
    struct half *other;
    struct pair *pair;
    size_t start, end;
    char data[BUFFER];
};

// Both directions of one connection. A closed pair is freed after the epoll batch that closed it, since later events
// of the same batch may still name it.
struct pair {
    struct half a, b;
    int closed;
    struct pair *next_closed;
};

static struct pair *closed_pairs;

static int epoll_fd;
static int upstream_port;

static void fail(const char *what) {
    perror(what);
    exit(1);
}

static void no_delay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void watch(int op, int fd, unsigned events, void *ptr) {
    struct epoll_event ev = {.events = events, .data.ptr = ptr};
    if (epoll_ctl(epoll_fd, op, fd, &ev) < 0) fail("epoll_ctl");
}

// Each socket is registered once, with the half that reads from it; that half also knows whether the other half
// waits to write to it.
static void rearm(struct half *h) {
    unsigned events = 0;
    if (h->end == h->start) events |= EPOLLIN;           // nothing pending from h->from: read more
    if (h->other->end != h->other->start) events |= EPOLLOUT;  // the other way waits to write to h->from
    watch(EPOLL_CTL_MOD, h->from, events, h);
}

static void close_pair(struct half *h) {
    struct pair *p = h->pair;
    if (p->closed) return;
    p->closed = 1;
    close(p->a.from);
    close(p->b.from);
    p->next_closed = closed_pairs;
    closed_pairs = p;
}

// Writes what h holds to h->to; returns -1 when the connection is gone.
static int flush(struct half *h) {
    while (h->start < h->end) {
        ssize_t n = send(h->to, h->data + h->start, h->end - h->start, MSG_NOSIGNAL);
        if (n < 0) return errno == EAGAIN ? 0 : -1;
        h->start += (size_t)n;
    }
    h->start = h->end = 0;
    return 0;
}

static void accept_one(int listener) {
    int down = accept4(listener, NULL, NULL, SOCK_NONBLOCK);
    if (down < 0) return;
    int up = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(upstream_port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (up < 0 || connect(up, (struct sockaddr *)&to, sizeof to) < 0) {
        perror("connect upstream");
        close(down);
        if (up >= 0) close(up);
        return;
    }
    if (fcntl(up, F_SETFL, O_NONBLOCK) < 0) fail("fcntl");
    no_delay(down);
    no_delay(up);
    struct pair *p = calloc(1, sizeof *p);
    if (!p) fail("calloc");
    struct half *a = &p->a, *b = &p->b;
    a->from = down; a->to = up; a->other = b; a->pair = p;
    b->from = up; b->to = down; b->other = a; b->pair = p;
    watch(EPOLL_CTL_ADD, down, EPOLLIN, a);
    watch(EPOLL_CTL_ADD, up, EPOLLIN, b);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: tcp-relay LISTEN_PORT UPSTREAM_PORT\n");
        return 2;
    }
    upstream_port = atoi(argv[2]);
    signal(SIGPIPE, SIG_IGN);
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in at = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&at, sizeof at) < 0 || listen(listener, 1024) < 0) fail("listen");
    epoll_fd = epoll_create1(0);
    if (epoll_fd < 0) fail("epoll_create1");
    watch(EPOLL_CTL_ADD, listener, EPOLLIN, NULL);
    struct epoll_event events[64];
    for (;;) {
        int n = epoll_wait(epoll_fd, events, 64, -1);
        if (n < 0 && errno != EINTR) fail("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct half *h = events[i].data.ptr;
            if (!h) {
                accept_one(listener);
                continue;
            }
            if (h->pair->closed) continue;
            // Writable: the other way's pending bytes go to h->from.
            if ((events[i].events & EPOLLOUT) && flush(h->other) < 0) {
                close_pair(h);
                continue;
            }
            if ((events[i].events & (EPOLLHUP | EPOLLERR)) && h->end != h->start) {
                close_pair(h);  // gone with bytes still to write: nothing more can be relayed
                continue;
            }
            if ((events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && h->end == h->start) {
                ssize_t got = recv(h->from, h->data, BUFFER, 0);
                if (got == 0 || (got < 0 && errno != EAGAIN)) {
                    close_pair(h);
                    continue;
                }
                if (got > 0) {
                    h->start = 0;
                    h->end = (size_t)got;
                    if (flush(h) < 0) {
                        close_pair(h);
                        continue;
                    }
                }
            }
            rearm(h);
            rearm(h->other);
        }
        while (closed_pairs) {
            struct pair *p = closed_pairs;
            closed_pairs = p->next_closed;
            free(p);
        }
    }
}
