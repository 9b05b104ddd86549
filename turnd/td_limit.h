
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_LIMIT_H_INCLUDED_
#define _TD_LIMIT_H_INCLUDED_


/*
 * What a source gets before it has authenticated, in fixed tables that
 * never allocate (a flood of sources must not grow turnd):
 *
 *   - TCP connections without an allocation yet: at most
 *     max-unauth-tcp-per-ip per source address (IPv4, or an IPv6 /64)
 *     and max-unauth-tcp in all, the latter always below the descriptor
 *     limit with a reserve, so Allocates and accepts do not starve.
 *     Process-wide counters (a source's connections spread over the
 *     threads), indexed by a keyed hash: sources that collide share.
 *
 *   - responses to unauthenticated UDP requests (401, 438, errors,
 *     Binding): unauth-rate a second per source prefix (IPv4 /24, IPv6
 *     /56), one token bucket per hashed prefix in each thread, so a
 *     spoofed flood reflects at most that to any one network (times the
 *     number of threads at worst).
 */


#include <stdint.h>
#include <sys/socket.h>

#include "td_conf.h"


#define TD_RATE_SLOTS   4096


typedef struct {
    uint32_t   stamp;         /* ms, when tokens was last filled */
    uint32_t   tokens;        /* thousandths of a response */
} td_rate_slot_t;

typedef struct {
    td_rate_slot_t   slots[TD_RATE_SLOTS];
} td_rate_t;


/* once, after RLIMIT_NOFILE is final: the caps; logs them */
int td_limit_init(const td_conf_t *conf);

/*
 * A TCP connection from sa that has not authenticated: 0 when it may be
 * kept (counted), else -1 (over the per-source cap) or -2 (over the
 * total); release it once it allocates or closes.
 */
int td_limit_tcp_take(const struct sockaddr *sa);
void td_limit_tcp_release(const struct sockaddr *sa);

/* 1 when one more unauthenticated response to sa fits, at now_ms */
int td_rate_take(td_rate_t *r, unsigned rate, const struct sockaddr *sa,
    uint64_t now_ms);


#endif /* _TD_LIMIT_H_INCLUDED_ */
