
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_TURN_H_INCLUDED_
#define _TD_TURN_H_INCLUDED_


/*
 * STUN/TURN message handling (RFC 8489, RFC 8656): Binding, Allocate,
 * Refresh, CreatePermission, ChannelBind, Send indications and
 * ChannelData from clients; Data indications and ChannelData towards
 * them.  Called by the thread that owns the client.
 */


#include <stddef.h>
#include <stdint.h>

#include <trtc_stun.h>
#include "td_server.h"


/* a STUN message from a client (UDP: one datagram; TCP: one frame) */
void td_turn_stun(td_thread_t *thr, td_client_t *cl, const uint8_t *buf,
    size_t len);

/* a Send indication from a client (td_data.c) */
void td_turn_send_indication(td_thread_t *thr, td_client_t *cl,
    const trtc_stun_msg_t *msg);

/* a ChannelData message from a client */
void td_turn_channel_data(td_thread_t *thr, const td_client_t *cl,
    const uint8_t *buf, size_t len);

/*
 * A datagram from a peer on a relay socket, at data with TD_HEADROOM
 * bytes writable in front and TD_TAILROOM after.  Builds the ChannelData
 * or Data indication in place; returns where the message starts and its
 * length in *out_len, or NULL when it is to be dropped (no permission).
 */
uint8_t *td_turn_peer_data(td_thread_t *thr, td_alloc_t *a,
    const struct sockaddr *peer, uint8_t *data, size_t len,
    size_t *out_len);


/*
 * The peer filter on the canonical form of peer (::ffff:127.0.0.1 is
 * loopback): 1 when allowed, else 0 after logging why at level.
 */
int td_turn_peer_allowed(td_thread_t *thr, const td_client_t *cl,
    const char *user, size_t user_len, const struct sockaddr *peer,
    const char *what, int level);

/* 0 (counted, logged) when a's relay cannot reach peer: loopback */
int td_turn_peer_reachable(td_thread_t *thr, const td_alloc_t *a,
    const struct sockaddr *peer, const char *what, int level);
/* 1 for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104 */
int td_addr_loopback(const struct sockaddr *sa);
/* logs a failed send to a peer (within the refusal budget) */
void td_turn_send_error(td_thread_t *thr, const struct sockaddr *from,
    const struct sockaddr *to, int err);


#endif /* _TD_TURN_H_INCLUDED_ */
