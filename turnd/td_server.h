
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_SERVER_H_INCLUDED_
#define _TD_SERVER_H_INCLUDED_


/*
 * Threads and sockets.  relay-threads threads (default: the number of
 * CPUs) each run one epoll loop.  Every thread has its own SO_REUSEPORT
 * UDP socket and TCP listening socket on each listening address, so the
 * kernel spreads clients over threads by their 5-tuple and a client
 * always reaches the same thread.  Allocations, TCP connections and
 * their timers belong to one thread for life: nothing on the relay path
 * is shared.  Wildcard listening addresses get IP_PKTINFO /
 * IPV6_RECVPKTINFO, so a reply leaves from the address the request came
 * to and the relay defaults to that address.
 */


#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>
#include <sys/socket.h>

#include "td_conf.h"
#include "td_alloc.h"
#include "td_limit.h"
#include "td_stats.h"


#define TD_BATCH           32      /* recvmmsg/sendmmsg batch */
#define TD_HEADROOM        64      /* in front: a Data indication header */
#define TD_TAILROOM        64      /* after: padding and FINGERPRINT */
#define TD_DGRAM_MAX       65536
#define TD_BUF_SIZE        (TD_HEADROOM + TD_DGRAM_MAX + TD_TAILROOM)
#define TD_CTRL_SIZE       64      /* a pktinfo control message */
#define TD_OUT_SIZE        2048    /* responses we build */

#define TD_LOG_BUDGET      100     /* refusal lines per second, thread */
#define TD_TRIM_FREED      1024    /* allocations freed before a trim */

#define TD_TCP_IN_SIZE     4096    /* larger frames are skipped */
#define TD_TCP_OUT_SIZE    16384   /* pending output; more is dropped */
#define TD_TCP_IDLE        30      /* seconds without an allocation */


struct td_listener_s {
    td_ev_t                   ev;
    td_thread_t              *thr;
    struct sockaddr_storage   addr;          /* as bound, with the port */
    socklen_t                 addrlen;
    unsigned                  wildcard:1;
    unsigned                  paused:1;      /* TCP: out of descriptors */
    unsigned                  tls:1;         /* tls-listening-port */
};


/*
 * What a connection's bytes go through, set at accept (as nginx's
 * c->recv and c->send): plain recv()/send(), or TLS (td_tls.c).  Both
 * return what recv()/send() return, errno EAGAIN included.  pre: a step
 * before the TURN stream (the PROXY header, then the TLS handshake):
 * TD_CONN_OK when done (it sets the next step), TD_CONN_AGAIN, or
 * TD_CONN_ERROR with the reason in *why.
 */

#define TD_CONN_OK          0
#define TD_CONN_AGAIN       1
#define TD_CONN_ERROR      -1

typedef ssize_t (*td_conn_recv_pt)(td_conn_t *c, uint8_t *buf, size_t len);
typedef ssize_t (*td_conn_send_pt)(td_conn_t *c, const uint8_t *buf,
    size_t len);
typedef int (*td_conn_pre_pt)(td_thread_t *thr, td_conn_t *c,
    const char **why);


struct td_conn_s {
    td_ev_t                   ev;
    td_thread_t              *thr;
    td_client_t               cl;
    td_conn_recv_pt           recv;
    td_conn_send_pt           send;
    td_conn_pre_pt            pre;           /* NULL: the TURN stream */
    td_conn_pre_pt            pre_next;      /* after the PROXY header */
    void                     *tls;           /* SSL * */
    td_alloc_t               *alloc;
    td_timer_t                idle;
    td_conn_t                *prev;          /* thread list */
    td_conn_t                *next;
    td_conn_t                *gnext;         /* closed, not yet released */
    uint8_t                  *in;            /* TD_TCP_IN_SIZE */
    uint8_t                  *out;           /* TD_TCP_OUT_SIZE */
    size_t                    in_len;
    size_t                    skip;          /* of an oversized frame */
    size_t                    out_off;
    size_t                    out_len;
    unsigned                  writing:1;     /* EPOLLOUT is on */
    unsigned                  corked:1;      /* a batch: append only */
    unsigned                  closed:1;
    unsigned                  unauth:1;      /* counted in td_limit */
    unsigned                  proxied:1;     /* cl.addr from a header */
    unsigned                  started:1;     /* a frame was read */
};


struct td_thread_s {
    unsigned                  id;
    pthread_t                 tid;
    int                       epfd;
    td_ev_t                   notify;        /* eventfd: stop */
    volatile int              stop;

    const td_conf_t          *conf;

    td_listener_t            *listeners;
    size_t                    nlisteners;

    time_t                    now;           /* monotonic seconds */
    time_t                    wall;          /* time(NULL), for nonces */
    time_t                    ticked;        /* now at the last tick */
    time_t                    skew;          /* added to both: tests */
    uint64_t                  now_ms;        /* monotonic, milliseconds */

    td_wheel_t                wheel;
    td_htable_t               allocs;        /* 5-tuple -> UDP alloc */
    td_htable_t               perms;
    td_htable_t               chans_num;
    td_htable_t               chans_peer;

    td_alloc_t               *alloc_list;
    td_alloc_t               *alloc_grave;
    td_conn_t                *conn_list;
    td_conn_t                *conn_grave;
    size_t                    nallocs;
    size_t                    nconns;

    td_stats_t                stats;
    uint64_t                  trimmed_at;    /* allocations_freed then */
    uint64_t                  rand;          /* xorshift state */

    /* a flood of refused requests must not become a flood of log lines */
    unsigned                  log_budget;
    unsigned                  log_suppressed;

    /* batch I/O: buffers with head and tail room, reused for every read */
    uint8_t                  *bufs;          /* TD_BATCH * TD_BUF_SIZE */
    struct mmsghdr            msgs[TD_BATCH];
    struct iovec              iov[TD_BATCH];
    struct sockaddr_storage   names[TD_BATCH];
    uint8_t                   ctrl[TD_BATCH][TD_CTRL_SIZE];

    uint8_t                   out[TD_OUT_SIZE];

    td_rate_t                 unauth_rate;   /* unauthenticated replies */

    /*
     * What one batch sends: from a listening socket or a TCP read
     * (replies, datagrams to peers), from a relay socket (datagrams to
     * its UDP client).  A run of datagrams from one socket is queued
     * and sent with one sendmmsg().  Replies are copied; relayed
     * datagrams point into the receive buffers, which live until the
     * next read.
     */
    unsigned                  oq_on;
    unsigned                  noq;
    int                       oq_fd[TD_BATCH];
    uint8_t                   oq_peer[TD_BATCH];
    struct mmsghdr            oq_msgs[TD_BATCH];
    struct iovec              oq_iov[TD_BATCH];
    struct sockaddr_storage   oq_names[TD_BATCH];
    uint8_t                   oq_ctrl[TD_BATCH][TD_CTRL_SIZE];
    uint8_t                   oq_out[TD_BATCH][TD_OUT_SIZE];
};


/* creates sockets for every thread and logs the listening addresses */
int td_server_init(const td_conf_t *conf);
int td_server_start(void);
/* asks every thread to stop and joins them */
void td_server_stop(void);
/* then: logs the counters, frees everything */
void td_server_cleanup(void);
void td_server_stats(td_stats_t *sum);

/*
 * One turn of a thread's loop: waits up to timeout ms (-1: until the
 * next second) and handles what came.  Returns the number of events, or
 * -1 on an epoll error.  The thread's own loop, and t/fuzz's harness.
 */
int td_server_poll(td_thread_t *thr, int timeout);
/* closes every connection and allocation of the thread */
void td_server_drop_all(td_thread_t *thr);
/* thread n of td_server_init(), NULL past the last */
td_thread_t *td_server_thread(unsigned n);
size_t td_server_allocations(void);
/* threads running, and the CPU seconds thread i used (metrics) */
unsigned td_server_threads(void);
int td_server_thread_cpu(unsigned i, double *secs);

/*
 * Sends one message to a client: UDP through the listening socket it
 * came to (from the address it came to), TCP through its connection.
 * Returns 0, or -1 when it was dropped.
 */
int td_server_send(td_thread_t *thr, const td_client_t *cl,
    const uint8_t *buf, size_t len);

/*
 * 1 when a refusal may be logged at level: enabled, and within the
 * thread's TD_LOG_BUDGET lines a second (the rest are counted and
 * summed up in one line).
 */
int td_server_log_refusal(td_thread_t *thr, int level);

/* a random 64-bit value from the thread's fast generator (not secret) */
uint64_t td_server_rand(td_thread_t *thr);

/*
 * Queues a datagram from socket fd (with a pktinfo control message when
 * ctrllen) while a batch is handled (thr->oq_on): copied into the queue
 * when copy is set, else buf must live until td_udp_flush().  peer:
 * counted as sent to a peer.
 * Returns 0, or -1 when it cannot be queued (the caller sends it).
 */
int td_udp_queue(td_thread_t *thr, int fd, const struct sockaddr *to,
    socklen_t tolen, const uint8_t *ctrl, size_t ctrllen, const uint8_t *buf,
    size_t len, int copy, int peer);
/* sends what is queued; before a socket of the batch is closed, too */
void td_udp_flush(td_thread_t *thr);

/* UDP (td_udp.c): a listening or a relay socket is readable */
void td_udp_input(td_thread_t *thr, td_listener_t *ls);
void td_server_relay_input(td_thread_t *thr, td_alloc_t *a);


/* TCP (td_tcp.c) */
void td_tcp_accept(td_thread_t *thr, td_listener_t *ls);
void td_tcp_event(td_thread_t *thr, td_conn_t *c, uint32_t events);
int td_tcp_send(td_thread_t *thr, td_conn_t *c, const uint8_t *buf,
    size_t len);
void td_tcp_close(td_thread_t *thr, td_conn_t *c, const char *why);
/* while corked, td_tcp_send() appends; uncork sends it all at once */
void td_tcp_cork(td_conn_t *c);
void td_tcp_uncork(td_thread_t *thr, td_conn_t *c);
void td_tcp_alloc_gone(td_thread_t *thr, td_conn_t *c);
void td_tcp_authenticated(td_conn_t *c);
void td_tcp_timer(td_thread_t *thr, td_timer_t *t);
void td_tcp_release(td_thread_t *thr);
void td_tcp_resume(td_thread_t *thr);
void td_tcp_want_write(td_thread_t *thr, td_conn_t *c, int on);
/* the connection reached the TURN stream: the allocation timer starts */
void td_tcp_ready(td_thread_t *thr, td_conn_t *c);


#endif /* _TD_SERVER_H_INCLUDED_ */
