
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_SERVER_H_INCLUDED_
#define _TD_SERVER_H_INCLUDED_


/*
 * Threads and sockets.  relay-threads threads (default: the number of
 * CPUs) each run one epoll loop (td_loop.h).  Every thread has its own
 * SO_REUSEPORT UDP socket and TCP listening socket on each listening
 * address, so the kernel spreads clients over threads by their 5-tuple
 * and a client always reaches the same thread.  Wildcard listening
 * addresses get IP_PKTINFO / IPV6_RECVPKTINFO, so a reply leaves from
 * the address the request came to and the relay defaults to that
 * address.  The top of turnd's layers: it sets up the listeners with
 * their handlers (td_udp.c, td_tcp.c) and turns the loop.
 */


#include <stddef.h>

#include "td_conf.h"
#include "td_loop.h"
#include "td_stats.h"


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


#endif /* _TD_SERVER_H_INCLUDED_ */
