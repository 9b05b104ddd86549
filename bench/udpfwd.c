
/*
 * Copyright (C) The ngx_trtc_module authors
 */


/*
 * udpfwd: the floor of the relay benchmark.  The least work a user-space
 * UDP relay shaped like TURN can do: one listener socket for the clients,
 * one relay socket per client (made on its first datagram, the way an
 * allocation is), every datagram received once and sent once, epoll and
 * recvmmsg/sendmmsg, no parsing, no permission, no timers.  Datagrams from
 * a client go to the one peer from its relay socket, unconnected (a TURN
 * relay socket serves many peers, so it cannot connect either); what one
 * recvmmsg() got from a relay socket goes back to its client from the
 * listener in one sendmmsg().  -B batches that across all the relay
 * sockets of an epoll round instead: measured here, it saves no CPU and
 * costs about 12 us of median round trip, so it is off.
 *
 * The listener's buffers are 2 MB (-b), what coturn and turnd ask for;
 * relay sockets get 512 KiB, as turnd's do.
 *
 * Over TCP (a listener on the same address) the floor does what a TURN
 * server must at the least: the stream is cut into ChannelData frames
 * (4-byte header, padded to 4) whose payloads go to the peer in one
 * sendmmsg() per read, and what one recvmmsg() got from the connection's
 * relay socket goes back framed in one send().
 *
 *   udpfwd -l IP:PORT -p IP:PORT [-b BYTES] [-B] [-t SECONDS] [-f PIDFILE]
 */


#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>


#define UF_BATCH      64
#define UF_BUF        2048
#define UF_EVENTS     256
#define UF_HASH       131072     /* power of 2, > UF_MAX_CLIENTS * 2 */
#define UF_MAX_CLIENTS 60000
#define UF_TCP_IN     65536
#define UF_TCP_OUT    65536
#define UF_RELAY_RCVBUF (512 * 1024)

/* what an epoll event points at */
#define UF_UDP_RELAY  1
#define UF_TCP_LISTEN 2
#define UF_TCP_CONN   3
#define UF_TCP_RELAY  4


typedef struct {
    int                  kind;
    struct sockaddr_in   addr;        /* the client, as it is seen */
    int                  fd;          /* its relay socket; 0: free slot */
} uf_client_t;


typedef struct uf_conn_s  uf_conn_t;

typedef struct {
    int                  kind;
    uf_conn_t           *conn;
} uf_ref_t;

struct uf_conn_s {
    uf_ref_t             ev;          /* the connection */
    uf_ref_t             rev;         /* its relay socket */
    int                  fd;
    int                  rfd;
    int                  writing;
    uf_conn_t           *next;        /* closed, not yet freed */
    size_t               in_len;
    size_t               out_off;
    size_t               out_len;
    uint8_t              in[UF_TCP_IN];
    uint8_t              out[UF_TCP_OUT];
};


static int uf_parse_addr(const char *s, struct sockaddr_in *sin);
static uf_client_t *uf_client(const struct sockaddr_in *sin);
static void uf_listener_read(void);
static void uf_relay_read(uf_client_t *c);
static void uf_flush_out(void);
static void uf_tcp_accept(void);
static void uf_tcp_read(uf_conn_t *c);
static void uf_tcp_to_peer(uf_conn_t *c, int m);
static void uf_tcp_relay_read(uf_conn_t *c);
static void uf_tcp_write(uf_conn_t *c);
static void uf_tcp_close(uf_conn_t *c);
static void uf_relay_buffer(int fd);
static void uf_on_alarm(int signo);


static int                  uf_epfd;
static int                  uf_lfd;
static int                  uf_tfd;
static uf_ref_t             uf_tcp_listener = { UF_TCP_LISTEN, NULL };
static struct sockaddr_in   uf_listen;
static struct sockaddr_in   uf_peer;
static uf_client_t         *uf_clients;
static unsigned             uf_nclients;

/* receive batch */
static struct mmsghdr       uf_in[UF_BATCH];
static struct iovec         uf_in_iov[UF_BATCH];
static struct sockaddr_in   uf_in_addr[UF_BATCH];
static uint8_t              uf_in_buf[UF_BATCH][UF_BUF];

/* batch towards the clients, sent from the listener */
static struct mmsghdr       uf_out[UF_BATCH];
static struct iovec         uf_out_iov[UF_BATCH];
static uint8_t              uf_out_buf[UF_BATCH][UF_BUF];
static unsigned             uf_nout;

static uint64_t             uf_errors;
static uf_conn_t           *uf_dead;         /* closed this round */
static int                  uf_flush_each = 1;


int
main(int argc, char **argv)
{
    int                  i, n, ch, timeout, size;
    FILE                *f;
    const char          *pidfile;
    uf_conn_t           *conn;
    uf_client_t         *c;
    struct epoll_event   ev, events[UF_EVENTS];

    timeout = 0;
    size = 2 * 1024 * 1024;
    pidfile = NULL;
    uf_listen.sin_family = 0;
    uf_peer.sin_family = 0;

    while ((ch = getopt(argc, argv, "l:p:b:t:f:B")) != -1) {
        switch (ch) {
        case 'l':
            if (uf_parse_addr(optarg, &uf_listen) != 0) {
                return 2;
            }
            break;
        case 'p':
            if (uf_parse_addr(optarg, &uf_peer) != 0) {
                return 2;
            }
            break;
        case 'b':
            size = atoi(optarg);
            break;
        case 'B':
            uf_flush_each = 0;
            break;
        case 't':
            timeout = atoi(optarg);
            break;
        case 'f':
            pidfile = optarg;
            break;
        default:
            fprintf(stderr, "usage: udpfwd -l IP:PORT -p IP:PORT "
                    "[-b BYTES] [-B] [-t SECONDS] [-f PIDFILE]\n");
            return 2;
        }
    }

    if (uf_listen.sin_family == 0 || uf_peer.sin_family == 0) {
        fprintf(stderr, "udpfwd: -l and -p are required\n");
        return 2;
    }

    /* a hard bound on the run, whatever happens to the benchmark */
    if (timeout > 0) {
        signal(SIGALRM, uf_on_alarm);
        alarm((unsigned) timeout);
    }

    uf_clients = calloc(UF_HASH, sizeof(uf_client_t));
    if (uf_clients == NULL) {
        return 1;
    }

    uf_epfd = epoll_create1(EPOLL_CLOEXEC);
    uf_lfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (uf_lfd != -1 && size > 0) {
        (void) setsockopt(uf_lfd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        (void) setsockopt(uf_lfd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    }

    if (uf_epfd == -1 || uf_lfd == -1
        || bind(uf_lfd, (struct sockaddr *) &uf_listen, sizeof(uf_listen))
           == -1)
    {
        perror("udpfwd: listener");
        return 1;
    }

    ev.events = EPOLLIN;
    ev.data.ptr = NULL;
    if (epoll_ctl(uf_epfd, EPOLL_CTL_ADD, uf_lfd, &ev) == -1) {
        perror("udpfwd: epoll_ctl");
        return 1;
    }

    size = 1;
    uf_tfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ev.data.ptr = &uf_tcp_listener;

    if (uf_tfd == -1
        || setsockopt(uf_tfd, SOL_SOCKET, SO_REUSEADDR, &size, sizeof(size))
           == -1
        || bind(uf_tfd, (struct sockaddr *) &uf_listen, sizeof(uf_listen))
           == -1
        || listen(uf_tfd, 512) == -1
        || epoll_ctl(uf_epfd, EPOLL_CTL_ADD, uf_tfd, &ev) == -1)
    {
        perror("udpfwd: tcp listener");
        return 1;
    }

    for (i = 0; i < UF_BATCH; i++) {
        uf_in_iov[i].iov_base = uf_in_buf[i];
        uf_out_iov[i].iov_base = uf_out_buf[i];
        uf_out[i].msg_hdr.msg_iov = &uf_out_iov[i];
        uf_out[i].msg_hdr.msg_iovlen = 1;
    }

    if (pidfile != NULL) {
        f = fopen(pidfile, "w");
        if (f == NULL) {
            perror("udpfwd: pidfile");
            return 1;
        }
        fprintf(f, "%d\n", (int) getpid());
        fclose(f);
    }

    for ( ;; ) {
        n = epoll_wait(uf_epfd, events, UF_EVENTS, -1);
        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            perror("udpfwd: epoll_wait");
            return 1;
        }

        for (i = 0; i < n; i++) {
            c = events[i].data.ptr;
            if (c == NULL) {
                uf_listener_read();
                continue;
            }

            switch (c->kind) {

            case UF_UDP_RELAY:
                uf_relay_read(c);

                if (uf_flush_each) {
                    uf_flush_out();
                }

                break;

            case UF_TCP_LISTEN:
                uf_tcp_accept();
                break;

            case UF_TCP_CONN:
                conn = ((uf_ref_t *) (void *) c)->conn;

                if (events[i].events & EPOLLOUT) {
                    uf_tcp_write(conn);
                }

                if (conn->fd != -1
                    && (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                {
                    uf_tcp_read(conn);
                }

                break;

            case UF_TCP_RELAY:
                conn = ((uf_ref_t *) (void *) c)->conn;

                if (conn->fd != -1) {
                    uf_tcp_relay_read(conn);
                }

                break;
            }

            /* a closed connection is freed once the round is over */
        }

        while (uf_dead != NULL) {
            conn = uf_dead;
            uf_dead = conn->next;
            free(conn);
        }

        /* with -B: one sendmmsg() for all the relay sockets gave us */
        uf_flush_out();
    }

    return 0;
}


static int
uf_parse_addr(const char *s, struct sockaddr_in *sin)
{
    char        ip[64];
    const char *colon;

    colon = strrchr(s, ':');
    if (colon == NULL || (size_t) (colon - s) >= sizeof(ip)) {
        fprintf(stderr, "udpfwd: bad address \"%s\"\n", s);
        return -1;
    }

    memcpy(ip, s, colon - s);
    ip[colon - s] = '\0';

    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t) atoi(colon + 1));

    if (inet_pton(AF_INET, ip, &sin->sin_addr) != 1) {
        fprintf(stderr, "udpfwd: bad address \"%s\"\n", s);
        return -1;
    }

    return 0;
}


/* the client's slot, made (with its relay socket) on first sight */

static uf_client_t *
uf_client(const struct sockaddr_in *sin)
{
    int                  fd;
    uint32_t             h;
    uf_client_t         *c;
    struct sockaddr_in   relay;
    struct epoll_event   ev;

    h = (sin->sin_addr.s_addr * 2654435761u) ^ (sin->sin_port * 40503u);
    h &= UF_HASH - 1;

    for ( ;; ) {
        c = &uf_clients[h];
        if (c->fd == 0) {
            break;
        }

        if (c->addr.sin_port == sin->sin_port
            && c->addr.sin_addr.s_addr == sin->sin_addr.s_addr)
        {
            return c;
        }

        h = (h + 1) & (UF_HASH - 1);
    }

    if (uf_nclients >= UF_MAX_CLIENTS) {
        return NULL;
    }

    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        return NULL;
    }

    relay = uf_listen;
    relay.sin_port = 0;

    if (bind(fd, (struct sockaddr *) &relay, sizeof(relay)) == -1) {
        close(fd);
        return NULL;
    }

    uf_relay_buffer(fd);

    c->kind = UF_UDP_RELAY;
    c->addr = *sin;
    c->fd = fd;

    ev.events = EPOLLIN;
    ev.data.ptr = c;
    if (epoll_ctl(uf_epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
        close(fd);
        c->fd = 0;
        return NULL;
    }

    uf_nclients++;

    return c;
}


static void
uf_listener_read(void)
{
    int             i, j, n, k, sent;
    uf_client_t    *c;
    struct msghdr  *h;

    for (i = 0; i < UF_BATCH; i++) {
        uf_in_iov[i].iov_len = UF_BUF;
        h = &uf_in[i].msg_hdr;
        h->msg_name = &uf_in_addr[i];
        h->msg_namelen = sizeof(struct sockaddr_in);
        h->msg_iov = &uf_in_iov[i];
        h->msg_iovlen = 1;
        h->msg_control = NULL;
        h->msg_controllen = 0;
        h->msg_flags = 0;
    }

    n = recvmmsg(uf_lfd, uf_in, UF_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) {
        return;
    }

    /* each run of datagrams from one client leaves in one sendmmsg() */
    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n; j++) {
            if (uf_in_addr[j].sin_port != uf_in_addr[i].sin_port
                || uf_in_addr[j].sin_addr.s_addr
                   != uf_in_addr[i].sin_addr.s_addr)
            {
                break;
            }
        }

        for (k = i; k < j; k++) {
            h = &uf_in[k].msg_hdr;
            uf_in_iov[k].iov_len = uf_in[k].msg_len;
            h->msg_name = &uf_peer;
            h->msg_namelen = sizeof(uf_peer);
        }

        c = uf_client(&uf_in_addr[i]);

        if (c == NULL) {
            uf_errors++;
            continue;
        }

        for (k = i; k < j; k += sent) {
            sent = sendmmsg(c->fd, &uf_in[k], j - k, 0);
            if (sent <= 0) {
                uf_errors++;
                break;
            }
        }
    }
}


static void
uf_relay_read(uf_client_t *c)
{
    int             i, n, room;
    struct msghdr  *h;

    room = UF_BATCH - (int) uf_nout;
    if (room == 0) {
        uf_flush_out();
        room = UF_BATCH;
    }

    for (i = 0; i < room; i++) {
        uf_out_iov[uf_nout + i].iov_len = UF_BUF;
        h = &uf_out[uf_nout + i].msg_hdr;
        h->msg_name = NULL;
        h->msg_namelen = 0;
        h->msg_control = NULL;
        h->msg_controllen = 0;
        h->msg_flags = 0;
    }

    /* straight into the outgoing batch: no copy */
    n = recvmmsg(c->fd, &uf_out[uf_nout], room, MSG_DONTWAIT, NULL);
    if (n <= 0) {
        return;
    }

    for (i = 0; i < n; i++) {
        h = &uf_out[uf_nout + i].msg_hdr;
        uf_out_iov[uf_nout + i].iov_len = uf_out[uf_nout + i].msg_len;
        h->msg_name = &c->addr;
        h->msg_namelen = sizeof(c->addr);
    }

    uf_nout += n;
}


static void
uf_flush_out(void)
{
    int       n;
    unsigned  done;

    for (done = 0; done < uf_nout; done += n) {
        n = sendmmsg(uf_lfd, &uf_out[done], uf_nout - done, 0);
        if (n <= 0) {
            uf_errors++;
            break;
        }
    }

    uf_nout = 0;
}


/* a TCP client: the connection and its relay socket, as for UDP */

static void
uf_tcp_accept(void)
{
    int                  fd, rfd, one;
    uf_conn_t           *c;
    struct sockaddr_in   relay;
    struct epoll_event   ev;

    for ( ;; ) {
        fd = accept4(uf_tfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            return;
        }

        one = 1;
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

        relay = uf_listen;
        relay.sin_port = 0;
        rfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        c = calloc(1, sizeof(uf_conn_t));

        if (rfd == -1 || c == NULL
            || bind(rfd, (struct sockaddr *) &relay, sizeof(relay)) == -1)
        {
            uf_errors++;
            close(fd);

            if (rfd != -1) {
                close(rfd);
            }

            free(c);
            continue;
        }

        uf_relay_buffer(rfd);

        c->ev.kind = UF_TCP_CONN;
        c->ev.conn = c;
        c->rev.kind = UF_TCP_RELAY;
        c->rev.conn = c;
        c->fd = fd;
        c->rfd = rfd;

        ev.events = EPOLLIN;
        ev.data.ptr = &c->ev;
        (void) epoll_ctl(uf_epfd, EPOLL_CTL_ADD, fd, &ev);
        ev.data.ptr = &c->rev;
        (void) epoll_ctl(uf_epfd, EPOLL_CTL_ADD, rfd, &ev);
    }
}


/* ChannelData frames from the stream, their payloads to the peer */

static void
uf_tcp_read(uf_conn_t *c)
{
    int             k;
    size_t          pos, len, flen;
    ssize_t         n;
    uint8_t        *p;
    struct msghdr  *h;

    n = recv(c->fd, c->in + c->in_len, UF_TCP_IN - c->in_len, 0);

    if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
        uf_tcp_close(c);
        return;
    }

    if (n == -1) {
        return;
    }

    c->in_len += (size_t) n;
    pos = 0;
    k = 0;

    while (c->in_len - pos >= 4) {
        p = c->in + pos;
        len = (size_t) (p[2] << 8 | p[3]);
        flen = 4 + ((len + 3) & ~(size_t) 3);

        if (flen > c->in_len - pos) {
            break;
        }

        uf_in_iov[k].iov_base = p + 4;
        uf_in_iov[k].iov_len = len;
        h = &uf_in[k].msg_hdr;
        h->msg_name = &uf_peer;
        h->msg_namelen = sizeof(uf_peer);
        h->msg_iov = &uf_in_iov[k];
        h->msg_iovlen = 1;
        h->msg_control = NULL;
        h->msg_controllen = 0;
        h->msg_flags = 0;
        pos += flen;

        if (++k == UF_BATCH) {
            uf_tcp_to_peer(c, k);
            k = 0;
        }
    }

    uf_tcp_to_peer(c, k);

    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;

    /* the UDP listener's batch points at its own buffers again */
    for (k = 0; k < UF_BATCH; k++) {
        uf_in_iov[k].iov_base = uf_in_buf[k];
    }
}


static void
uf_tcp_to_peer(uf_conn_t *c, int m)
{
    int  k, sent;

    for (k = 0; k < m; k += sent) {
        sent = sendmmsg(c->rfd, &uf_in[k], m - k, 0);
        if (sent <= 0) {
            uf_errors++;
            break;
        }
    }
}


/* one recvmmsg() from the relay socket, framed, in one send() */

static void
uf_tcp_relay_read(uf_conn_t *c)
{
    int             i, n;
    size_t          len, flen;
    uint8_t        *p;
    struct msghdr  *h;

    for (i = 0; i < UF_BATCH; i++) {
        uf_in_iov[i].iov_len = UF_BUF;
        h = &uf_in[i].msg_hdr;
        h->msg_name = NULL;
        h->msg_namelen = 0;
        h->msg_iov = &uf_in_iov[i];
        h->msg_iovlen = 1;
        h->msg_control = NULL;
        h->msg_controllen = 0;
        h->msg_flags = 0;
    }

    n = recvmmsg(c->rfd, uf_in, UF_BATCH, MSG_DONTWAIT, NULL);

    if (n > 0 && c->out_off > 0) {
        memmove(c->out, c->out + c->out_off, c->out_len);
        c->out_off = 0;
    }

    for (i = 0; i < n; i++) {
        len = uf_in[i].msg_len;
        flen = 4 + ((len + 3) & ~(size_t) 3);

        /* a full buffer drops what does not fit, as turnd does */
        if (flen > UF_TCP_OUT - c->out_off - c->out_len) {
            uf_errors++;
            continue;
        }

        p = c->out + c->out_off + c->out_len;
        p[0] = 0x40;
        p[1] = 0x00;
        p[2] = (uint8_t) (len >> 8);
        p[3] = (uint8_t) len;
        memcpy(p + 4, uf_in_buf[i], len);
        memset(p + 4 + len, 0, flen - 4 - len);
        c->out_len += flen;
    }

    if (!c->writing) {
        uf_tcp_write(c);
    }
}


static void
uf_tcp_write(uf_conn_t *c)
{
    ssize_t             n;
    struct epoll_event  ev;

    while (c->out_len > 0) {
        n = send(c->fd, c->out + c->out_off, c->out_len,
                 MSG_DONTWAIT | MSG_NOSIGNAL);

        if (n == -1 && errno == EAGAIN) {
            break;
        }

        if (n <= 0) {
            uf_tcp_close(c);
            return;
        }

        c->out_off += (size_t) n;
        c->out_len -= (size_t) n;
    }

    if (c->out_len == 0) {
        c->out_off = 0;
    }

    if ((c->out_len > 0) != c->writing) {
        c->writing = (c->out_len > 0);
        ev.events = EPOLLIN | (c->writing ? EPOLLOUT : 0);
        ev.data.ptr = &c->ev;
        (void) epoll_ctl(uf_epfd, EPOLL_CTL_MOD, c->fd, &ev);
    }
}


static void
uf_tcp_close(uf_conn_t *c)
{
    close(c->fd);
    close(c->rfd);
    c->fd = -1;
    c->rfd = -1;

    /* later events of this round may point at it */
    c->next = uf_dead;
    uf_dead = c;
}

/* the receive buffer turnd gives a relay socket: room for a burst */

static void
uf_relay_buffer(int fd)
{
    int  size;

    size = UF_RELAY_RCVBUF;

    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size))
        == -1)
    {
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    }
}


static void
uf_on_alarm(int signo)
{
    (void) signo;
    _exit(3);
}
