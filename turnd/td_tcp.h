
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_TCP_H_INCLUDED_
#define _TD_TCP_H_INCLUDED_


/*
 * TURN over TCP, and over TLS (td_tls.c) and behind the PROXY protocol
 * (td_proxy.c) through the connection's recv, send and pre steps
 * (td_conn.h).  Its clients are answered through their send (td_loop.h),
 * which this file sets: the layers below never name it.
 */


#include <stdint.h>

#include "td_conn.h"


/* a TCP listening socket is readable: the handler of its ev */
void td_tcp_accept(td_thread_t *thr, td_ev_t *ev, uint32_t events);
void td_tcp_close(td_thread_t *thr, td_conn_t *c, const char *why);
/* after a batch of events: frees the connections closed in it */
void td_tcp_release(td_thread_t *thr);
/* a second after running out of descriptors: listens again */
void td_tcp_resume(td_thread_t *thr);


#endif /* _TD_TCP_H_INCLUDED_ */
