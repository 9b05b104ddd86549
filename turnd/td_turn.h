
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_TURN_H_INCLUDED_
#define _TD_TURN_H_INCLUDED_


/*
 * STUN/TURN message handling (RFC 8489, RFC 8656): Binding, Allocate,
 * Refresh, CreatePermission and ChannelBind requests, answered through
 * the client's send; Send indications go on to the relay path
 * (td_relay.c).  Called by the thread that owns the client.
 */


#include <stddef.h>
#include <stdint.h>

#include "td_loop.h"


/* a STUN message from a client (UDP: one datagram; TCP: one frame) */
void td_turn_stun(td_thread_t *thr, td_client_t *cl, const uint8_t *buf,
    size_t len);


#endif /* _TD_TURN_H_INCLUDED_ */
