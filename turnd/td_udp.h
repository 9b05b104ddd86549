
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_UDP_H_INCLUDED_
#define _TD_UDP_H_INCLUDED_


/*
 * TURN over UDP: datagrams from clients on the listening sockets, read
 * in batches with recvmmsg() into the thread's buffers, and answered
 * through td_out.c.
 */


#include <stdint.h>

#include "td_loop.h"


/* a UDP listening socket is readable: the handler of its ev */
void td_udp_input(td_thread_t *thr, td_ev_t *ev, uint32_t events);


#endif /* _TD_UDP_H_INCLUDED_ */
