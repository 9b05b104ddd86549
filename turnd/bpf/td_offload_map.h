
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_OFFLOAD_MAP_H_INCLUDED_
#define _TD_OFFLOAD_MAP_H_INCLUDED_


/*
 * The one map shared by the TC program (td_offload.bpf.c) and turnd
 * (td_offload.c).  A channel is two entries, one a direction:
 *
 *   client's ChannelData:  (client, turnd's address, channel) -> peer side
 *   peer's datagram:       (peer, relay address, channel 0)   -> client side
 *
 * Each entry's value holds the key of the other direction: a packet
 * matching a key leaves from out.dst:dport to out.src:sport, so both
 * directions are one lookup.  IPv4 addresses are the first 4 bytes of
 * the 16, the rest zero (as td_ep_t).
 */


#include <linux/types.h>


#define TD_OFFLOAD_MAX_MAPPINGS  65536      /* entries, two a channel */


struct td_offload_key {
    __u8    src[16];         /* the sender: client or peer */
    __u8    dst[16];         /* turnd's listening or relay address */
    __u16   sport;           /* network order */
    __u16   dport;
    __u16   channel;         /* network order; 0: a peer's datagram */
    __u8    family;          /* 4 or 6 */
    __u8    pad;
};


struct td_offload_value {
    struct td_offload_key   out;        /* the other direction's key */

    /*
     * Where this direction's packets arrive, and where the other
     * direction's arrive (so where this one's leave): learned by the
     * program from the packets themselves, 0 until then.
     */
    __u32   in_ifindex;
    __u32   out_ifindex;

    /* forwarded by the program: datagrams and payload bytes */
    __u64   packets;
    __u64   bytes;
};


#endif /* _TD_OFFLOAD_MAP_H_INCLUDED_ */
