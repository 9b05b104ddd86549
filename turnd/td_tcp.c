
/*
 * Copyright (C) The ngx_trtc_module authors
 */


/*
 * TURN over TCP (RFC 8656 section 12.5): a connection is the client's
 * 5-tuple.  Its byte stream is cut into frames with
 * trtc_stun_frame_len(): STUN messages and ChannelData padded to 4.
 * Both buffers are fixed and allocated with the connection: a frame
 * larger than the input buffer is skipped, and a message towards the
 * client that does not fit the output buffer is dropped whole (a partly
 * written frame would desynchronize the stream).  Closing the connection
 * deletes its allocation; a connection without one is closed after
 * max-allocate-timeout seconds (TD_TCP_IDLE once its allocation is gone).
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <trtc_stun.h>
#include "td_alloc.h"
#include "td_log.h"
#include "td_out.h"
#include "td_proxy.h"
#include "td_relay.h"
#include "td_tcp.h"
#include "td_tls.h"
#include "td_turn.h"


#define TD_TCP_ACCEPTS      64       /* per readiness, fairness */
#define TD_TCP_READS        8


static void td_tcp_event(td_thread_t *thr, td_ev_t *ev, uint32_t events);
static void td_tcp_read(td_thread_t *thr, td_conn_t *c);
static size_t td_tcp_frames(td_thread_t *thr, td_conn_t *c, uint8_t *buf,
    size_t len);
static int td_tcp_send(td_thread_t *thr, td_conn_t *c, const uint8_t *buf,
    size_t len);
static int td_tcp_append(td_thread_t *thr, td_conn_t *c, const uint8_t *buf,
    size_t len);
static void td_tcp_uncork(td_thread_t *thr, td_conn_t *c);
static void td_tcp_flush(td_thread_t *thr, td_conn_t *c);
static void td_tcp_want_write(td_thread_t *thr, td_conn_t *c, int on);
static int td_tcp_client_send(td_thread_t *thr, td_client_t *cl,
    const uint8_t *buf, size_t len, unsigned flags);
static void td_tcp_client_flush(td_thread_t *thr, td_client_t *cl);
static void td_tcp_attach(td_thread_t *thr, td_client_t *cl, td_alloc_t *a);
static void td_tcp_authenticated(td_conn_t *c);
static void td_tcp_timer(td_timer_t *t, void *data);
static void td_tcp_ready(td_thread_t *thr, td_conn_t *c);
static long td_tcp_frame_len(const uint8_t *buf, size_t len);
static ssize_t td_tcp_recv(td_conn_t *c, uint8_t *buf, size_t len);
static ssize_t td_tcp_send_plain(td_conn_t *c, const uint8_t *buf,
    size_t len);
static void td_tcp_refused(td_thread_t *thr, td_conn_t *c, const char *why);


void
td_tcp_accept(td_thread_t *thr, td_ev_t *ev, uint32_t events)
{
    int                      fd, on, i, rc, listed;
    char                     cbuf[80];
    socklen_t                len;
    td_conn_t               *c;
    td_listener_t           *ls;
    struct epoll_event       ee;
    struct sockaddr_storage  sa;

    (void) events;

    ls = td_container(ev, td_listener_t, ev);

    for (i = 0; i < TD_TCP_ACCEPTS; i++) {
        len = sizeof(sa);

        fd = accept4(ls->ev.fd, (struct sockaddr *) &sa, &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd == -1) {
            switch (errno) {

            case EAGAIN:
                return;

            case EINTR:
            case ECONNABORTED:
            case EPROTO:
                continue;

            case EMFILE:
            case ENFILE:
            case ENOBUFS:
            case ENOMEM:
                /* stop accepting for a second rather than spin */
                td_log(TD_LOG_WARN, "accept() failed: %s, pausing",
                       strerror(errno));

                if (epoll_ctl(thr->epfd, EPOLL_CTL_DEL, ls->ev.fd, NULL)
                    == 0)
                {
                    ls->paused = 1;
                }

                return;

            default:
                td_log(TD_LOG_ERR, "accept() failed: %s", strerror(errno));
                return;
            }
        }

        /*
         * Closed at once over the caps: the backlog keeps moving.  A
         * proxy's clients are counted once its header names them.
         */
        listed = td_proxy_listed(thr->conf, (struct sockaddr *) &sa);
        rc = listed ? 0 : td_limit_tcp_take((struct sockaddr *) &sa);

        if (rc != 0) {
            thr->stats.tcp_refused++;

            if (td_loop_log_refusal(thr, TD_LOG_INFO)) {
                td_log(TD_LOG_INFO, "tcp connection from %s closed: %s",
                       td_log_addr((struct sockaddr *) &sa, cbuf,
                                   sizeof(cbuf)),
                       rc == -1 ? "max-unauth-tcp-per-ip reached"
                                : "max-unauth-tcp reached");
            }

            close(fd);
            continue;
        }

        c = calloc(1, sizeof(td_conn_t) + TD_TCP_IN_SIZE + TD_TCP_OUT_SIZE);
        if (c == NULL) {
            td_log(TD_LOG_ERR, "out of memory for a tcp connection");

            if (!listed) {
                td_limit_tcp_release((struct sockaddr *) &sa);
            }

            close(fd);
            continue;
        }

        c->unauth = !listed;
        c->recv = td_tcp_recv;
        c->send = td_tcp_send_plain;
        c->pre = listed ? td_proxy_read : NULL;

        on = 1;
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));

        c->ev.handler = td_tcp_event;
        c->ev.fd = fd;
        c->thr = thr;
        c->in = (uint8_t *) (c + 1);
        c->out = c->in + TD_TCP_IN_SIZE;

        memcpy(&c->cl.addr, &sa, len);
        c->cl.addrlen = len;
        c->cl.locallen = sizeof(c->cl.local);

        if (getsockname(fd, (struct sockaddr *) &c->cl.local,
                        &c->cl.locallen) == -1)
        {
            memcpy(&c->cl.local, &ls->addr, ls->addrlen);
            c->cl.locallen = ls->addrlen;
        }

        c->cl.tcp = 1;
        c->cl.ls = ls;
        c->cl.conn = c;
        c->cl.send = td_tcp_client_send;
        c->cl.flush = td_tcp_client_flush;
        c->cl.attach = td_tcp_attach;

        ee.events = EPOLLIN;
        ee.data.ptr = c;

        if ((ls->tls && td_tls_conn_init(c) != 0)
            || epoll_ctl(thr->epfd, EPOLL_CTL_ADD, fd, &ee) == -1)
        {
            td_log(TD_LOG_ERR, "cannot set up a connection: %s",
                   strerror(errno));
            td_tls_conn_free(c);

            if (!listed) {
                td_limit_tcp_release((struct sockaddr *) &sa);
            }

            close(fd);
            free(c);
            continue;
        }

        td_link_add(&thr->conn_list, &c->link);
        thr->nconns++;
        thr->stats.tcp_accepted++;

        /* the PROXY header and the TLS handshake have a short time */
        c->idle.handler = td_tcp_timer;
        td_timer_set(&thr->wheel, &c->idle,
                     thr->now + (c->pre != NULL
                                 ? thr->conf->handshake_timeout
                                 : thr->conf->max_allocate_timeout));

        if (td_log_enabled(TD_LOG_DEBUG)) {
            td_log(TD_LOG_DEBUG, "tcp connection from %s accepted",
                   td_client_str(&c->cl, cbuf, sizeof(cbuf)));
        }
    }
}


/* a second after running out of descriptors: listen again */

void
td_tcp_resume(td_thread_t *thr)
{
    size_t              i;
    td_listener_t      *ls;
    struct epoll_event  ee;

    for (i = 0; i < thr->nlisteners; i++) {
        ls = &thr->listeners[i];

        if (!ls->paused) {
            continue;
        }

        ee.events = EPOLLIN;
        ee.data.ptr = ls;

        if (epoll_ctl(thr->epfd, EPOLL_CTL_ADD, ls->ev.fd, &ee) == 0) {
            ls->paused = 0;
        }
    }
}


static void
td_tcp_event(td_thread_t *thr, td_ev_t *ev, uint32_t events)
{
    int          rc;
    td_conn_t   *c;
    const char  *why;

    c = td_container(ev, td_conn_t, ev);

    if (c->pre != NULL) {
        do {
            why = "?";
            rc = c->pre(thr, c, &why);

            if (rc == TD_CONN_AGAIN || rc == TD_CONN_WRITE) {
                /* a handshake may wait for the socket to take output */
                td_tcp_want_write(thr, c, rc == TD_CONN_WRITE);
                return;
            }

            if (rc == TD_CONN_ERROR) {
                td_tcp_refused(thr, c, why);
                return;
            }

        } while (c->pre != NULL);

        td_tcp_want_write(thr, c, 0);

        if (c->closed) {
            return;
        }

        td_tcp_ready(thr, c);
        events |= EPOLLIN;
    }

    if (events & EPOLLOUT) {
        td_tcp_flush(thr, c);

        if (c->closed) {
            return;
        }
    }

    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        td_tcp_read(thr, c);
    }
}


/*
 * Reads go to the thread's receive buffer (64 KiB at a time), behind
 * what is left of the connection's last partial frame; what is left of
 * this read's goes back to c->in (a frame larger than that is skipped,
 * so the rest always fits).  ChannelData to peers is queued meanwhile
 * and sent with one sendmmsg() before the buffer is read into again.
 */

static void
td_tcp_read(td_thread_t *thr, td_conn_t *c)
{
    int       round;
    size_t    room, have, pos;
    ssize_t   n;
    uint8_t  *buf;

    buf = thr->bufs;

    for (round = 0; round < TD_TCP_READS && !c->closed; round++) {
        have = c->in_len;
        memcpy(buf, c->in, have);
        room = TD_DGRAM_MAX - have;

        n = c->recv(c, buf + have, room);

        if (n == 0) {
            td_tcp_close(thr, c, "closed by the client");
            return;
        }

        if (n == -1) {
            if (errno == EAGAIN) {
                return;
            }

            if (errno == EINTR) {
                continue;
            }

            td_tcp_close(thr, c, strerror(errno));
            return;
        }

        have += (size_t) n;

        td_out_start(thr);
        pos = td_tcp_frames(thr, c, buf, have);
        td_out_end(thr);

        if (c->closed) {
            return;
        }

        c->in_len = have - pos;
        memcpy(c->in, buf + pos, c->in_len);

        /* a short read drained the socket */
        if ((size_t) n < room) {
            return;
        }
    }
}


/* returns how much of buf was used; the rest is a partial frame */

static size_t
td_tcp_frames(td_thread_t *thr, td_conn_t *c, uint8_t *buf, size_t len)
{
    long      fl;
    size_t    pos, avail, k;
    uint8_t  *frame;

    pos = 0;

    /*
     * A PROXY header from a source not in proxy-protocol-from: "PROXY "
     * would pass for a large ChannelData frame and be skipped quietly.
     */
    if (!c->started) {
        switch (td_proxy_signature(buf, len)) {

        case 1:
            thr->stats.malformed++;
            thr->stats.proxy_refused++;
            td_tcp_refused(thr, c, "a PROXY protocol header from a source "
                           "not in proxy-protocol-from");
            return 0;

        case -1:
            return 0;

        default:
            c->started = 1;
        }
    }

    while (!c->closed) {
        avail = len - pos;

        if (c->skip > 0) {
            k = (c->skip < avail) ? c->skip : avail;
            pos += k;
            c->skip -= k;

            if (c->skip > 0) {
                break;
            }

            continue;
        }

        fl = td_tcp_frame_len(buf + pos, avail);

        if (fl < 0) {
            thr->stats.malformed++;
            td_tcp_close(thr, c, "not a STUN or ChannelData stream");
            break;
        }

        if (fl == 0) {
            break;
        }

        if ((size_t) fl > TD_TCP_IN_SIZE) {
            thr->stats.dropped++;
            c->skip = (size_t) fl;
            continue;
        }

        if ((size_t) fl > avail) {
            break;
        }

        frame = buf + pos;
        pos += (size_t) fl;

        thr->stats.rx_packets++;
        thr->stats.rx_bytes += (size_t) fl;

        if ((frame[0] & 0xc0) == 0x40) {
            td_relay_channel_data(thr, &c->cl, frame, (size_t) fl);

        } else {
            td_turn_stun(thr, &c->cl, frame, (size_t) fl);
        }
    }

    return pos;
}


/*
 * trtc_stun_frame_len(), except that ChannelData may use every channel
 * number of RFC 5766 (0x4000-0x7fff), as td_turn.c accepts them.
 */

static long
td_tcp_frame_len(const uint8_t *buf, size_t len)
{
    size_t  n;

    if (len >= TRTC_STUN_CHANNEL_HEADER_LEN && (buf[0] & 0xc0) == 0x40) {
        n = ((size_t) buf[2] << 8) | buf[3];
        return (long) (TRTC_STUN_CHANNEL_HEADER_LEN + ((n + 3) & ~3UL));
    }

    return trtc_stun_frame_len(buf, len);
}


static int
td_tcp_send(td_thread_t *thr, td_conn_t *c, const uint8_t *buf, size_t len)
{
    ssize_t  n;

    if (c->closed) {
        return -1;
    }

    if (c->corked) {
        /* a full buffer goes out now, to make room */
        /* (a full kernel buffer sets writing: no more tries then) */
        if (len > TD_TCP_OUT_SIZE - c->out_len && !c->writing) {
            td_tcp_flush(thr, c);

            if (c->closed) {
                return -1;
            }
        }

        return td_tcp_append(thr, c, buf, len);
    }

    /*
     * Queued bytes go first; and with a layer that buffers below (TLS)
     * the message goes through the queue, so that its flush follows.
     */
    if (c->out_len > 0 || c->flush != NULL) {
        if (td_tcp_append(thr, c, buf, len) != 0) {
            return -1;
        }

        if (!c->writing) {
            td_tcp_flush(thr, c);
        }

        return c->closed ? -1 : 0;
    }

    if (len > TD_TCP_OUT_SIZE) {
        thr->stats.tcp_overflow++;
        return -1;
    }

    n = c->send(c, buf, len);

    if (n == -1) {
        if (errno != EAGAIN && errno != EINTR) {
            td_tcp_close(thr, c, strerror(errno));
            return -1;
        }

        n = 0;
    }

    thr->stats.tx_packets++;
    thr->stats.tx_bytes += len;

    if ((size_t) n < len) {
        memcpy(c->out, buf + n, len - (size_t) n);
        c->out_off = 0;
        c->out_len = len - (size_t) n;
        td_tcp_want_write(thr, c, 1);
    }

    return 0;
}


/* queued bytes go first: append whole, or drop whole */

static int
td_tcp_append(td_thread_t *thr, td_conn_t *c, const uint8_t *buf,
    size_t len)
{
    if (len > TD_TCP_OUT_SIZE - c->out_off - c->out_len) {
        memmove(c->out, c->out + c->out_off, c->out_len);
        c->out_off = 0;

        if (len > TD_TCP_OUT_SIZE - c->out_len) {
            thr->stats.tcp_overflow++;
            return -1;
        }
    }

    memcpy(c->out + c->out_off + c->out_len, buf, len);
    c->out_len += len;
    thr->stats.tx_packets++;
    thr->stats.tx_bytes += len;

    return 0;
}


/*
 * The client's send (td_loop.h): TD_SEND_MORE corks the connection, so
 * what a batch sends is appended and goes out in one send() at its
 * flush.  The stream copies what it keeps: TD_SEND_KEEP is no matter.
 */

static int
td_tcp_client_send(td_thread_t *thr, td_client_t *cl, const uint8_t *buf,
    size_t len, unsigned flags)
{
    if (flags & TD_SEND_MORE) {
        cl->conn->corked = 1;
    }

    return td_tcp_send(thr, cl->conn, buf, len);
}


static void
td_tcp_client_flush(td_thread_t *thr, td_client_t *cl)
{
    td_tcp_uncork(thr, cl->conn);
}


/* what a batch appended goes out in one send() */

static void
td_tcp_uncork(td_thread_t *thr, td_conn_t *c)
{
    c->corked = 0;

    if (c->closed || c->out_len == 0 || c->writing) {
        return;
    }

    td_tcp_flush(thr, c);
}


static void
td_tcp_flush(td_thread_t *thr, td_conn_t *c)
{
    ssize_t  n;

    while (c->out_len > 0) {
        n = c->send(c, c->out + c->out_off, c->out_len);

        if (n == -1) {
            if (errno == EAGAIN) {
                /* the rest when the kernel takes it */
                td_tcp_want_write(thr, c, 1);
                return;
            }

            if (errno == EINTR) {
                continue;
            }

            td_tcp_close(thr, c, strerror(errno));
            return;
        }

        c->out_off += (size_t) n;
        c->out_len -= (size_t) n;
    }

    c->out_off = 0;

    /* what the layer below kept goes out in one write */
    while (c->flush != NULL && c->flush(c) == -1) {
        if (errno == EAGAIN) {
            td_tcp_want_write(thr, c, 1);
            return;
        }

        if (errno != EINTR) {
            td_tcp_close(thr, c, strerror(errno));
            return;
        }
    }

    td_tcp_want_write(thr, c, 0);
}


static void
td_tcp_want_write(td_thread_t *thr, td_conn_t *c, int on)
{
    struct epoll_event  ee;

    if ((unsigned) on == c->writing) {
        return;
    }

    ee.events = EPOLLIN | (on ? EPOLLOUT : 0);
    ee.data.ptr = c;

    if (epoll_ctl(thr->epfd, EPOLL_CTL_MOD, c->ev.fd, &ee) == -1) {
        td_tcp_close(thr, c, strerror(errno));
        return;
    }

    c->writing = on ? 1 : 0;
}


void
td_tcp_close(td_thread_t *thr, td_conn_t *c, const char *why)
{
    char  cbuf[80], reason[128];

    if (c->closed) {
        return;
    }

    c->closed = 1;

    if (td_log_enabled(TD_LOG_DEBUG)) {
        td_log(TD_LOG_DEBUG, "tcp connection from %s closed: %s",
               td_client_str(&c->cl, cbuf, sizeof(cbuf)), why);
    }

    if (c->cl.alloc != NULL) {
        snprintf(reason, sizeof(reason), "tcp connection: %s", why);
        td_alloc_free(c->cl.alloc, reason);
    }

    td_timer_del(&c->idle);
    td_tcp_authenticated(c);
    td_tls_conn_free(c);

    close(c->ev.fd);
    c->ev.handler = NULL;
    c->ev.fd = -1;

    td_link_remove(&thr->conn_list, &c->link);

    thr->nconns--;
    thr->stats.tcp_closed++;

    c->gnext = thr->conn_grave;
    thr->conn_grave = c;
}


/* no longer counted as unauthenticated: it allocated, or it is gone */

static void
td_tcp_authenticated(td_conn_t *c)
{
    if (c->unauth) {
        c->unauth = 0;
        td_limit_tcp_release((struct sockaddr *) &c->cl.addr);
    }
}


/*
 * The client's attach (td_loop.h): with an allocation the connection
 * counts as authenticated and has no idle timer; once the allocation is
 * gone, TD_TCP_IDLE seconds to make another.
 */

static void
td_tcp_attach(td_thread_t *thr, td_client_t *cl, td_alloc_t *a)
{
    td_conn_t  *c;

    c = cl->conn;
    c->cl.alloc = a;

    if (a != NULL) {
        td_timer_del(&c->idle);
        td_tcp_authenticated(c);
        return;
    }

    if (!c->closed) {
        td_timer_set(&thr->wheel, &c->idle, thr->now + TD_TCP_IDLE);
    }
}


static void
td_tcp_timer(td_timer_t *t, void *data)
{
    td_conn_t    *c;
    td_thread_t  *thr;

    thr = data;
    c = td_container(t, td_conn_t, idle);

    if (c->pre == NULL) {
        td_tcp_close(thr, c, "idle without an allocation");
        return;
    }

    if (c->pre == td_proxy_read) {
        thr->stats.proxy_bad++;
        td_tcp_refused(thr, c, "no whole PROXY header within "
                       "handshake-timeout");
        return;
    }

    thr->stats.tls_failed++;
    td_tcp_refused(thr, c, "tls handshake not done within "
                   "handshake-timeout");
}


/* past the PROXY header and the TLS handshake: the TURN stream */

static void
td_tcp_ready(td_thread_t *thr, td_conn_t *c)
{
    td_timer_set(&thr->wheel, &c->idle,
                 thr->now + thr->conf->max_allocate_timeout);
}


/* closed before its TURN stream: said at info, within the log budget */

static void
td_tcp_refused(td_thread_t *thr, td_conn_t *c, const char *why)
{
    char  cbuf[80];

    if (td_loop_log_refusal(thr, TD_LOG_INFO)) {
        td_log(TD_LOG_INFO, "%s connection from %s closed: %s",
               c->tls ? "tls" : "tcp",
               td_client_str(&c->cl, cbuf, sizeof(cbuf)), why);
    }

    td_tcp_close(thr, c, why);
}


static ssize_t
td_tcp_recv(td_conn_t *c, uint8_t *buf, size_t len)
{
    return recv(c->ev.fd, buf, len, 0);
}


static ssize_t
td_tcp_send_plain(td_conn_t *c, const uint8_t *buf, size_t len)
{
    return send(c->ev.fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}


void
td_tcp_release(td_thread_t *thr)
{
    td_conn_t  *c;

    while (thr->conn_grave != NULL) {
        c = thr->conn_grave;
        thr->conn_grave = c->gnext;
        free(c);
    }
}
