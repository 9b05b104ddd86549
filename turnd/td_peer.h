
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_PEER_H_INCLUDED_
#define _TD_PEER_H_INCLUDED_


/*
 * Which peer addresses turnd relays to.  Special-purpose ranges are denied
 * by default (loopback, private, link-local, CGNAT, documentation,
 * multicast, reserved, ULA, 6to4, Teredo, NAT64, ...).  Addresses that
 * embed IPv4 in IPv6 (mapped, compatible, 6to4, NAT64) are canonicalized
 * to IPv4 first and checked as such too, so ::ffff:127.0.0.1 is loopback.
 *
 * Order of decision:
 *   1. 0.0.0.0/8 and :: are always denied (nothing can allow them);
 *   2. an allowed-peer-ip range that contains the address allows it;
 *   2b. turnd's own addresses (td_peer_self_add) are denied: a relay
 *      sending to a listener nests allocations; its relays too, unless
 *      allow_relays (two clients of one turnd, relayed both);
 *   3. a denied-peer-ip range denies it;
 *   4. loopback is allowed when allow-loopback-peers is on;
 *   5. the default list denies it; otherwise it is allowed.
 * With allow-list-only mode (td_peer_filter_t.allow_only), step 5 denies
 * everything not allowed in step 2 or 4.
 */


#include <stddef.h>
#include <sys/socket.h>


#define TD_PEER_ALLOWED        0
#define TD_PEER_DENIED         1     /* by the default list */
#define TD_PEER_DENIED_CONFIG  2     /* by denied-peer-ip or allow-only */
#define TD_PEER_DENIED_ALWAYS  3     /* 0.0.0.0/8, :: */
#define TD_PEER_DENIED_SELF    4     /* turnd's own listener or relay */


typedef struct td_peer_range_s  td_peer_range_t;

typedef struct {
    td_peer_range_t   *allowed;
    size_t             nallowed;
    td_peer_range_t   *denied;
    size_t             ndenied;
    unsigned           allow_loopback:1;
    unsigned           allow_only:1;
    unsigned           allow_relays:1;   /* turnd's relays are peers */
} td_peer_filter_t;


/*
 * Adds a range in coturn's syntax: "ADDR", "ADDR/PREFIX" or
 * "ADDR1-ADDR2" (IPv4 or IPv6, both ends of one family).  Returns 0, or -1
 * with a message in err ("invalid address ...").
 */
int td_peer_filter_add(td_peer_filter_t *f, const char *spec, int allow,
    char *err, size_t err_len);

void td_peer_filter_free(td_peer_filter_t *f);

/*
 * Returns TD_PEER_ALLOWED or one of the TD_PEER_DENIED* reasons.  Pass sa
 * as the client sent it, not canonicalized: both its IPv6 form (2002::/16,
 * 64:ff9b::/96 are denied) and its IPv4 form are checked here.
 */
int td_peer_check(const td_peer_filter_t *f, const struct sockaddr *sa);

/*
 * turnd's own addresses, process-wide, set once before the threads
 * start: the IPs lo..hi (hi NULL: lo alone; ports ignored) with ports
 * port_lo..port_hi; relay: relay sockets, not listeners.  Returns 0, or
 * -1 when the list is full.
 */
int td_peer_self_add(const struct sockaddr *lo, const struct sockaddr *hi,
    unsigned port_lo, unsigned port_hi, int relay);
void td_peer_self_clear(void);
/* 1 when sa's IP, whatever its port, is in the list (any IPv4 form) */
int td_peer_self_ip(const struct sockaddr *sa);

/* a short name of a reason for logs: "allowed", "special-purpose range" */
const char *td_peer_reason(int rc);

/*
 * Writes the canonical form of sa into out: IPv4 when sa is IPv4 or an
 * IPv6 address that embeds IPv4 (::ffff:0:0/96, ::/96 except :: and ::1,
 * 2002::/16, 64:ff9b::/96), else a copy.  The port is kept.
 */
void td_peer_canonicalize(const struct sockaddr *sa,
    struct sockaddr_storage *out);


#endif /* _TD_PEER_H_INCLUDED_ */
