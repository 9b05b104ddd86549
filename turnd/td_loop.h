
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_LOOP_H_INCLUDED_
#define _TD_LOOP_H_INCLUDED_


/*
 * A relay thread's loop and what it hands work to.  Every thread runs
 * one epoll loop (td_server.c) over its own sockets; allocations, TCP
 * connections and their timers belong to one thread for life, so
 * nothing on the relay path is shared.  What the loop wakes carries its
 * handler, as nginx's ev->handler: an epoll event (td_ev_t), a timer
 * (td_timer_t, td_table.h), and a client, answered through its send
 * (as nginx's c->send): UDP in td_out.c, TCP and TLS in td_tcp.c.  The
 * layers below never name the ones above: they call these pointers.
 */


#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>
#include <sys/socket.h>

#include "td_conf.h"
#include "td_limit.h"
#include "td_stats.h"
#include "td_table.h"


#define TD_BATCH           32      /* recvmmsg/sendmmsg batch */
#define TD_HEADROOM        64      /* in front: a Data indication header */
#define TD_TAILROOM        64      /* after: padding and FINGERPRINT */
#define TD_DGRAM_MAX       65536
#define TD_BUF_SIZE        (TD_HEADROOM + TD_DGRAM_MAX + TD_TAILROOM)
#define TD_CTRL_SIZE       64      /* a pktinfo control message */
#define TD_OUT_SIZE        2048    /* responses we build */

#define TD_LOG_BUDGET      100     /* refusal lines per second, thread */
#define TD_READ_ROUNDS     4       /* batches per readiness, fairness */


typedef struct td_thread_s   td_thread_t;
typedef struct td_conn_s     td_conn_t;
typedef struct td_alloc_s    td_alloc_t;
typedef struct td_client_s   td_client_t;
typedef struct td_ev_s       td_ev_t;


/*
 * What an epoll event points at: the first member of each owner, so
 * the handler finds it (a listener, a relay, a connection).  A closed
 * one has no handler: later events of the batch pass it by.
 */

typedef void (*td_ev_handler_pt)(td_thread_t *thr, td_ev_t *ev,
    uint32_t events);

struct td_ev_s {
    td_ev_handler_pt          handler;
    int                       fd;
};


typedef struct {
    td_ev_t                   ev;
    td_thread_t              *thr;
    struct sockaddr_storage   addr;          /* as bound, with the port */
    socklen_t                 addrlen;
    unsigned                  wildcard:1;
    unsigned                  paused:1;      /* TCP: out of descriptors */
    unsigned                  tls:1;         /* tls-listening-port */
} td_listener_t;


/*
 * Who sent a request and how to answer: one per UDP 5-tuple or TCP
 * connection.  send: 0, or -1 when the message was dropped; flags
 * TD_SEND_KEEP: buf lives until the batch is flushed (td_out.c), no
 * copy needed; TD_SEND_MORE: more follow, the stream may hold them
 * until flush.  flush: what the batch held goes out.  attach: the
 * allocation of a stream client was made (a) or deleted (NULL).
 */

#define TD_SEND_KEEP        0x01
#define TD_SEND_MORE        0x02

typedef int (*td_client_send_pt)(td_thread_t *thr, td_client_t *cl,
    const uint8_t *buf, size_t len, unsigned flags);
typedef void (*td_client_flush_pt)(td_thread_t *thr, td_client_t *cl);
typedef void (*td_client_attach_pt)(td_thread_t *thr, td_client_t *cl,
    td_alloc_t *a);

struct td_client_s {
    struct sockaddr_storage   addr;          /* the client */
    struct sockaddr_storage   local;         /* our address it sent to */
    socklen_t                 addrlen;
    socklen_t                 locallen;
    int                       ifindex;       /* IPv6 pktinfo */
    int                       tcp;
    td_listener_t            *ls;            /* the listening socket */
    td_conn_t                *conn;          /* TCP: the connection */
    td_alloc_t               *alloc;         /* TCP: its allocation */
    td_client_send_pt         send;
    td_client_flush_pt        flush;
    td_client_attach_pt       attach;        /* TCP */
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

    td_link_t                *alloc_list;
    td_alloc_t               *alloc_grave;
    td_link_t                *conn_list;
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
     * What one batch sends (td_out.c): from a listening socket or a TCP
     * read (replies, datagrams to peers), from a relay socket (datagrams
     * to its UDP client).  A run of datagrams from one socket is queued
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


/* reads the clocks into now, wall and now_ms */
void td_loop_time(td_thread_t *thr);

/*
 * 1 when a refusal may be logged at level: enabled, and within the
 * thread's TD_LOG_BUDGET lines a second (the rest are counted and
 * summed up in one line).
 */
int td_loop_log_refusal(td_thread_t *thr, int level);

/* a random 64-bit value from the thread's fast generator (not secret) */
uint64_t td_loop_rand(td_thread_t *thr);

/*
 * Points the thread's recvmmsg() batch at its buffers, TD_HEADROOM in;
 * ctrl: with room for a pktinfo control message.
 */
void td_loop_batch(td_thread_t *thr, int ctrl);


#endif /* _TD_LOOP_H_INCLUDED_ */
