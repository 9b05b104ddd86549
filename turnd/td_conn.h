
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_CONN_H_INCLUDED_
#define _TD_CONN_H_INCLUDED_


/*
 * A client's TCP connection (td_tcp.c), and what its bytes go through,
 * set at accept (as nginx's c->recv and c->send): plain recv()/send(),
 * or TLS (td_tls.c).  Both return what recv()/send() return, errno
 * EAGAIN included.  flush (as nginx's c->send_chain ends a batch; NULL
 * when nothing below keeps bytes): what send() kept below (TLS records)
 * goes out in one write, 0 when all did, -1 with errno (EAGAIN: wait for
 * EPOLLOUT, the bytes stay, in order).  pre: a step before the TURN
 * stream (the PROXY header, td_proxy.c; then the TLS handshake):
 * TD_CONN_OK when done (it sets the next step), TD_CONN_AGAIN to wait for
 * input, TD_CONN_WRITE to wait until the socket takes output, or
 * TD_CONN_ERROR with the reason in *why.  Types only: td_tcp.c runs the
 * connection, and the steps below it never call up into it.
 */


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "td_loop.h"


#define TD_TCP_IN_SIZE     4096    /* larger frames are skipped */
#define TD_TCP_OUT_SIZE    16384   /* pending output; more is dropped */
#define TD_TCP_IDLE        30      /* seconds without an allocation */

#define TD_CONN_OK          0
#define TD_CONN_AGAIN       1
#define TD_CONN_WRITE       2
#define TD_CONN_ERROR      -1

typedef ssize_t (*td_conn_recv_pt)(td_conn_t *c, uint8_t *buf, size_t len);
typedef ssize_t (*td_conn_send_pt)(td_conn_t *c, const uint8_t *buf,
    size_t len);
typedef int (*td_conn_flush_pt)(td_conn_t *c);
typedef int (*td_conn_pre_pt)(td_thread_t *thr, td_conn_t *c,
    const char **why);


struct td_conn_s {
    td_ev_t                   ev;
    td_thread_t              *thr;
    td_client_t               cl;            /* cl.alloc: its allocation */
    td_conn_recv_pt           recv;
    td_conn_send_pt           send;
    td_conn_flush_pt          flush;         /* after a batch of sends */
    td_conn_pre_pt            pre;           /* NULL: the TURN stream */
    td_conn_pre_pt            pre_next;      /* after the PROXY header */
    void                     *tls;           /* SSL * */
    td_timer_t                idle;
    td_link_t                 link;          /* thread conn_list */
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


#endif /* _TD_CONN_H_INCLUDED_ */
