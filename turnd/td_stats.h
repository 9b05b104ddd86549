
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_STATS_H_INCLUDED_
#define _TD_STATS_H_INCLUDED_


/*
 * Counters, one set per thread: only the owning thread writes them, so
 * the relay path needs no atomics.  td_server_stats() sums the threads
 * (a reader may see a value a few packets old).
 */


#include <stdint.h>


/* why a request failed authentication: turnd_auth_failures_total */
enum {
    TD_STATS_AUTH_NO_CREDENTIALS = 0,   /* the routine first 401 */
    TD_STATS_AUTH_WRONG_PASSWORD,
    TD_STATS_AUTH_UNKNOWN_USER,
    TD_STATS_AUTH_EXPIRED,
    TD_STATS_AUTH_STALE_NONCE,
    TD_STATS_AUTH_WRONG_REALM,
    TD_STATS_AUTH_BAD_REQUEST,
    TD_STATS_AUTH_OTHER,
    TD_STATS_AUTH_N
};


typedef struct {
    uint64_t   rx_packets;          /* datagrams and frames from clients */
    uint64_t   rx_bytes;
    uint64_t   tx_packets;          /* to clients */
    uint64_t   tx_bytes;
    uint64_t   peer_rx_packets;     /* datagrams from peers */
    uint64_t   peer_rx_bytes;
    uint64_t   peer_tx_packets;     /* datagrams to peers */
    uint64_t   peer_tx_bytes;

    uint64_t   requests;            /* STUN requests handled */
    uint64_t   bindings;
    uint64_t   challenges;          /* 401 and 438 */
    uint64_t   refusals;            /* other error responses */
    uint64_t   malformed;           /* dropped: not STUN/ChannelData */
    uint64_t   dropped;             /* dropped: no allocation, channel,
                                       permission, or buffer space */
    uint64_t   peer_denied;         /* 403 and dropped Send indications */
    uint64_t   send_errors;         /* sendmsg/sendmmsg failures */
    uint64_t   truncated;           /* datagrams larger than a buffer */

    uint64_t   allocations;         /* created */
    uint64_t   allocations_freed;
    uint64_t   tcp_accepted;
    uint64_t   tcp_closed;
    uint64_t   tcp_overflow;        /* frames dropped: output buffer full */

    uint64_t   allocations_tcp;     /* of allocations, over TCP */
    uint64_t   allocations_tcp_freed;
    uint64_t   auth_failures[TD_STATS_AUTH_N];
    uint64_t   unauth_limited;      /* unauthenticated responses not sent */
    uint64_t   tcp_refused;         /* over the unauthenticated tcp caps */

    uint64_t   tls_handshakes;      /* completed */
    uint64_t   tls_failed;          /* failed or timed out */
    uint64_t   proxy_bad;           /* listed source, no valid header */
    uint64_t   proxy_refused;       /* a header from an unlisted source */

    /* of the above, relayed by kernel-offload's program (td_offload.h) */
    uint64_t   offload_to_peer_packets;
    uint64_t   offload_to_peer_bytes;
    uint64_t   offload_from_peer_packets;
    uint64_t   offload_from_peer_bytes;
} td_stats_t;


/* TD_STATS_AUTH_* of a td_auth_check() result and its reason */
unsigned td_stats_auth_reason(int rc, const char *reason);
extern const char  *td_stats_auth_names[TD_STATS_AUTH_N];


#endif /* _TD_STATS_H_INCLUDED_ */
