
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_RELAY_H_INCLUDED_
#define _TD_RELAY_H_INCLUDED_


/*
 * The relay path: Send indications and ChannelData from clients to
 * peers, datagrams from peers (on relay sockets) to clients as
 * ChannelData or Data indications.  No allocation of memory and no lock
 * here; every lookup is a hash table of the owning thread.
 */


#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <trtc_stun.h>
#include "td_alloc.h"


/* a relay socket is readable: the handler of an allocation's a->ev */
void td_relay_input(td_thread_t *thr, td_ev_t *ev, uint32_t events);

/* a Send indication from a client (RFC 8656 10.2: failures drop it) */
void td_relay_send_indication(td_thread_t *thr, td_client_t *cl,
    const trtc_stun_msg_t *msg);

/* a ChannelData message from a client */
void td_relay_channel_data(td_thread_t *thr, const td_client_t *cl,
    const uint8_t *buf, size_t len);

/*
 * The peer filter on the canonical form of peer (::ffff:127.0.0.1 is
 * loopback): 1 when allowed, else 0 after logging why at level.
 */
int td_relay_peer_allowed(td_thread_t *thr, const td_client_t *cl,
    const char *user, size_t user_len, const struct sockaddr *peer,
    const char *what, int level);

/* 0 (counted, logged) when a's relay cannot reach peer: loopback */
int td_relay_peer_reachable(td_thread_t *thr, const td_alloc_t *a,
    const struct sockaddr *peer, const char *what, int level);
/* 1 for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104 */
int td_addr_loopback(const struct sockaddr *sa);


#endif /* _TD_RELAY_H_INCLUDED_ */
