
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <string.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "td_limit.h"
#include "td_log.h"
#include "td_table.h"


#define TD_LIMIT_SLOTS      16384
#define TD_LIMIT_RESERVE    64      /* listeners, epoll, logs, pidfile */
#define TD_RATE_MAX         1000000


static uint32_t td_limit_key(const struct sockaddr *sa, unsigned bits4,
    unsigned bits6);


static uint32_t   td_limit_ips[TD_LIMIT_SLOTS];
static uint32_t   td_limit_total;
static unsigned   td_limit_per_ip;
static unsigned   td_limit_max;


int
td_limit_init(const td_conf_t *conf)
{
    unsigned       avail;
    struct rlimit  rl;

    memset(td_limit_ips, 0, sizeof(td_limit_ips));
    td_limit_total = 0;
    td_limit_per_ip = conf->max_unauth_tcp_per_ip;

    /*
     * Half of what is left after the reserve by default: the other half
     * is for relay sockets and authenticated connections.
     */
    avail = 1024;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        avail = (rl.rlim_cur > 1u << 30) ? 1u << 30 : (unsigned) rl.rlim_cur;
    }

    avail = (avail > 2 * TD_LIMIT_RESERVE) ? avail - avail / 8
                                              - TD_LIMIT_RESERVE
                                           : avail / 2;

    td_limit_max = avail / 2;

    if (conf->max_unauth_tcp != 0) {
        td_limit_max = (conf->max_unauth_tcp < avail) ? conf->max_unauth_tcp
                                                      : avail;
    }

    if (td_limit_max == 0) {
        td_limit_max = 1;
    }

    if (conf->max_unauth_tcp > td_limit_max) {
        td_log(TD_LOG_WARN, "max-unauth-tcp %u lowered to %u: the "
               "descriptor limit (RLIMIT_NOFILE) is %llu",
               conf->max_unauth_tcp, td_limit_max,
               (unsigned long long) rl.rlim_cur);
    }

    td_log(TD_LOG_NOTICE, "before authentication: %u tcp connections in "
           "all, %u per address (%u s each), %u responses a second per "
           "udp source network", td_limit_max, td_limit_per_ip,
           conf->max_allocate_timeout, conf->unauth_rate);

    return 0;
}


int
td_limit_tcp_take(const struct sockaddr *sa)
{
    uint32_t  *slot, n;

    slot = &td_limit_ips[td_limit_key(sa, 32, 64) % TD_LIMIT_SLOTS];

    n = __atomic_add_fetch(slot, 1, __ATOMIC_RELAXED);

    if (td_limit_per_ip != 0 && n > td_limit_per_ip) {
        __atomic_sub_fetch(slot, 1, __ATOMIC_RELAXED);
        return -1;
    }

    n = __atomic_add_fetch(&td_limit_total, 1, __ATOMIC_RELAXED);

    if (n > td_limit_max) {
        __atomic_sub_fetch(&td_limit_total, 1, __ATOMIC_RELAXED);
        __atomic_sub_fetch(slot, 1, __ATOMIC_RELAXED);
        return -2;
    }

    return 0;
}


void
td_limit_tcp_release(const struct sockaddr *sa)
{
    __atomic_sub_fetch(&td_limit_ips[td_limit_key(sa, 32, 64)
                                     % TD_LIMIT_SLOTS],
                       1, __ATOMIC_RELAXED);
    __atomic_sub_fetch(&td_limit_total, 1, __ATOMIC_RELAXED);
}


int
td_rate_take(td_rate_t *r, unsigned rate, const struct sockaddr *sa,
    uint64_t now_ms)
{
    uint32_t         now, elapsed, cap;
    uint64_t         tokens;
    td_rate_slot_t  *s;

    if (rate == 0) {
        return 1;
    }

    if (rate > TD_RATE_MAX) {
        rate = TD_RATE_MAX;
    }

    s = &r->slots[td_limit_key(sa, 24, 56) % TD_RATE_SLOTS];

    /* a burst of one second's worth; 0 is "never used": full */
    now = (uint32_t) now_ms | 1;
    cap = rate * 1000;

    if (s->stamp == 0) {
        tokens = cap;

    } else {
        elapsed = now - s->stamp;
        tokens = s->tokens + (uint64_t) elapsed * rate;

        if (tokens > cap) {
            tokens = cap;
        }
    }

    s->stamp = now;

    if (tokens < 1000) {
        s->tokens = (uint32_t) tokens;
        return 0;
    }

    s->tokens = (uint32_t) (tokens - 1000);

    return 1;
}


/* a keyed hash of the address's first bits (IPv4 bits4, IPv6 bits6) */

static uint32_t
td_limit_key(const struct sockaddr *sa, unsigned bits4, unsigned bits6)
{
    uint8_t         key[17];
    unsigned        n, bits;
    const uint8_t  *a;

    memset(key, 0, sizeof(key));

    if (sa->sa_family == AF_INET) {
        a = (const uint8_t *) &((const struct sockaddr_in *) sa)->sin_addr;
        bits = bits4;
        key[0] = 4;

    } else {
        a = ((const struct sockaddr_in6 *) sa)->sin6_addr.s6_addr;
        bits = bits6;
        key[0] = 6;
    }

    n = bits / 8;
    memcpy(key + 1, a, n);

    if (bits % 8) {
        key[1 + n] = a[n] & (uint8_t) (0xff << (8 - bits % 8));
    }

    return td_hash(key, sizeof(key));
}
