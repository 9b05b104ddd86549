
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_OUT_H_INCLUDED_
#define _TD_OUT_H_INCLUDED_


/*
 * Client output over UDP and the thread's batch queue.  While a batch
 * of input is handled (td_out_start() .. td_out_end()), datagrams from
 * one socket, to clients or to peers, wait in the queue and leave
 * together in one sendmmsg().  td_out_udp_send() is the send of a UDP
 * client (td_loop.h); a TCP client's is td_tcp.c's.
 */


#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "td_loop.h"


/* a batch begins: datagrams may wait in the queue */
void td_out_start(td_thread_t *thr);
/* it ends: what is queued is sent */
void td_out_end(td_thread_t *thr);

/*
 * Queues a datagram from socket fd (with a pktinfo control message when
 * ctrllen) while a batch is handled: copied into the queue when copy is
 * set, else buf must live until td_out_flush().  peer: counted as sent
 * to a peer.  Returns 0, or -1 when it cannot be queued (the caller
 * sends it).
 */
int td_out_queue(td_thread_t *thr, int fd, const struct sockaddr *to,
    socklen_t tolen, const uint8_t *ctrl, size_t ctrllen, const uint8_t *buf,
    size_t len, int copy, int peer);
/* sends what is queued; before a socket of the batch is closed, too */
void td_out_flush(td_thread_t *thr);

/*
 * A UDP client's send and flush: through the listening socket it came
 * to, from the address it came to.
 */
int td_out_udp_send(td_thread_t *thr, td_client_t *cl, const uint8_t *buf,
    size_t len, unsigned flags);
void td_out_udp_flush(td_thread_t *thr, td_client_t *cl);

/* a failed send to a peer: counted by the caller, said within the budget */
void td_out_peer_error(td_thread_t *thr, const struct sockaddr *from,
    const struct sockaddr *to, int err);


#endif /* _TD_OUT_H_INCLUDED_ */
