
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <errno.h>
#include <ifaddrs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "td_log.h"
#include "td_ports.h"


#define TD_PORTS_MAX              64
#define TD_PORTS_MAX_RESERVED     1024
#define TD_RELAY_MAX_TRIES        128


typedef struct {
    uint64_t          *bits;          /* in use, bit (port - min) */
    unsigned           cursor;
    size_t             used;
} td_ports_pool_t;


typedef struct {
    uint8_t            token[TD_PORTS_TOKEN_LEN];
    int                fd;
    unsigned           index;
    unsigned           port;
    time_t             expires;
} td_ports_reserved_t;


static int td_ports_add(const struct sockaddr *sa, socklen_t len);
static int td_ports_from_interfaces(void);
static void td_ports_map(const td_conf_t *conf);
static int td_ports_bind(unsigned index, unsigned port, int dont_frag);
static int td_ports_busy(td_ports_pool_t *pool, unsigned port);
static void td_ports_mark(td_ports_pool_t *pool, unsigned port, int used);
static void td_ports_sweep_locked(time_t now);
static time_t td_ports_now(void);
static int td_ports_is_wildcard(const struct sockaddr *sa);
static int td_ports_same_ip(const struct sockaddr *a,
    const struct sockaddr *b);
static char *td_ports_ip_str(const struct sockaddr *sa, char *buf,
    size_t len);


static pthread_mutex_t       td_ports_mutex = PTHREAD_MUTEX_INITIALIZER;
static td_ports_addr_t       td_raddrs[TD_PORTS_MAX];
static td_ports_pool_t       td_ports_pools[TD_PORTS_MAX];
static size_t                td_nraddrs;
static unsigned              td_ports_min;
static unsigned              td_ports_max;
static td_ports_reserved_t   td_reserved[TD_PORTS_MAX_RESERVED];
static size_t                td_nreserved;


int
td_ports_init(const td_conf_t *conf)
{
    int                wild;
    size_t             i, words, loop;
    unsigned           r;
    const td_addr_t   *a;
    char               buf[64], abuf[64];

    td_nraddrs = 0;
    td_ports_min = conf->min_port;
    td_ports_max = conf->max_port;
    loop = 0;

    if (conf->nrelay_ip > 0) {
        for (i = 0; i < conf->nrelay_ip; i++) {
            a = &conf->relay_ip[i];
            if (td_ports_add((const struct sockaddr *) &a->sa, a->salen)
                != 0)
            {
                return -1;
            }
        }

    } else {
        wild = (conf->nlistening_ip == 0);

        for (i = 0; i < conf->nlistening_ip; i++) {
            a = &conf->listening_ip[i];

            if (td_ports_is_wildcard((const struct sockaddr *) &a->sa)) {
                wild = 1;
                continue;
            }

            if (td_ports_add((const struct sockaddr *) &a->sa, a->salen)
                != 0)
            {
                return -1;
            }
        }

        /* listening on a wildcard: every address the machine has */
        if (wild) {
            if (td_ports_from_interfaces() != 0) {
                return -1;
            }
        }
    }

    if (td_nraddrs == 0) {
        td_log(TD_LOG_ERR, "no relay address");
        return -1;
    }

    td_ports_map(conf);

    words = ((size_t) (td_ports_max - td_ports_min) + 1 + 63) / 64;

    if (getrandom(&r, sizeof(r), 0) != (ssize_t) sizeof(r)) {
        r = (unsigned) time(NULL);
    }

    for (i = 0; i < td_nraddrs; i++) {
        td_ports_pools[i].bits = calloc(words, sizeof(uint64_t));
        if (td_ports_pools[i].bits == NULL) {
            td_log(TD_LOG_ERR, "out of memory");
            return -1;
        }

        /* a random start: a restart does not reuse the same ports */
        td_ports_pools[i].cursor = r % (td_ports_max - td_ports_min + 1);
        td_ports_pools[i].used = 0;

        td_log(TD_LOG_NOTICE, "relay address %s advertised as %s, "
               "udp ports %u-%u",
               td_ports_ip_str((struct sockaddr *) &td_raddrs[i].addr, buf,
                               sizeof(buf)),
               td_ports_ip_str((struct sockaddr *) &td_raddrs[i].adv, abuf,
                               sizeof(abuf)),
               td_ports_min, td_ports_max);

        if (td_ports_is_wildcard((struct sockaddr *) &td_raddrs[i].adv)) {
            td_log(TD_LOG_WARN, "relay address %s is a wildcard and no "
                   "external-ip maps it: clients get an unusable "
                   "relayed address", buf);
        }

        loop += td_raddrs[i].loopback;
    }

    /* behind a proxy on the same host turnd listens on loopback only */
    if (loop == td_nraddrs && !conf->peers.allow_loopback) {
        td_log(TD_LOG_WARN, "the only relay address%s loopback and "
               "loopback peers are not allowed: no peer can be reached; "
               "set relay-ip (and external-ip) to the host's address",
               td_nraddrs > 1 ? "es are" : " is");
    }

    return 0;
}


void
td_ports_cleanup(void)
{
    size_t  i;

    pthread_mutex_lock(&td_ports_mutex);

    for (i = 0; i < td_nreserved; i++) {
        close(td_reserved[i].fd);
    }

    td_nreserved = 0;

    for (i = 0; i < td_nraddrs; i++) {
        free(td_ports_pools[i].bits);
        td_ports_pools[i].bits = NULL;
    }

    td_nraddrs = 0;

    pthread_mutex_unlock(&td_ports_mutex);
}


size_t
td_ports_count(void)
{
    return td_nraddrs;
}


void
td_ports_usage(size_t *used, size_t *total)
{
    size_t  i;

    pthread_mutex_lock(&td_ports_mutex);

    *used = 0;
    *total = td_nraddrs * (size_t) (td_ports_max - td_ports_min + 1);

    for (i = 0; i < td_nraddrs; i++) {
        *used += td_ports_pools[i].used;
    }

    pthread_mutex_unlock(&td_ports_mutex);
}


const td_ports_addr_t *
td_ports_get(unsigned index)
{
    return &td_raddrs[index];
}


static int
td_ports_add(const struct sockaddr *sa, socklen_t len)
{
    size_t               i;
    td_ports_addr_t     *r;
    struct sockaddr_in  *sin;

    for (i = 0; i < td_nraddrs; i++) {
        if (td_ports_same_ip((struct sockaddr *) &td_raddrs[i].addr, sa)) {
            return 0;
        }
    }

    if (td_nraddrs == TD_PORTS_MAX) {
        td_log(TD_LOG_WARN, "more than %d relay addresses, the rest are "
               "not used", TD_PORTS_MAX);
        return 0;
    }

    r = &td_raddrs[td_nraddrs];
    memset(r, 0, sizeof(td_ports_addr_t));
    memcpy(&r->addr, sa, len);
    r->addrlen = len;

    if (sa->sa_family == AF_INET) {
        sin = (struct sockaddr_in *) &r->addr;
        sin->sin_port = 0;
        r->loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;

    } else if (sa->sa_family == AF_INET6) {
        ((struct sockaddr_in6 *) &r->addr)->sin6_port = 0;
        r->loopback = IN6_IS_ADDR_LOOPBACK(
                          &((struct sockaddr_in6 *) sa)->sin6_addr);

    } else {
        return 0;
    }

    r->adv = r->addr;
    td_nraddrs++;

    return 0;
}


static int
td_ports_from_interfaces(void)
{
    struct ifaddrs             *ifa, *i;
    const struct sockaddr_in6  *sin6;

    if (getifaddrs(&ifa) == -1) {
        td_log(TD_LOG_ERR, "getifaddrs() failed: %s", strerror(errno));
        return -1;
    }

    for (i = ifa; i != NULL; i = i->ifa_next) {
        if (i->ifa_addr == NULL) {
            continue;
        }

        if (i->ifa_addr->sa_family == AF_INET) {
            td_ports_add(i->ifa_addr, sizeof(struct sockaddr_in));

        } else if (i->ifa_addr->sa_family == AF_INET6) {
            sin6 = (const struct sockaddr_in6 *) i->ifa_addr;

            /* link-local needs a scope a peer elsewhere cannot use */
            if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr)) {
                continue;
            }

            td_ports_add(i->ifa_addr, sizeof(struct sockaddr_in6));
        }
    }

    freeifaddrs(ifa);

    return 0;
}


/*
 * external-ip PUBLIC/PRIVATE: the relay address PRIVATE is advertised as
 * PUBLIC; a bare PUBLIC replaces every relay address of its family that
 * no PUBLIC/PRIVATE pair names.
 */

static void
td_ports_map(const td_conf_t *conf)
{
    int                   found;
    char                  buf[64];
    size_t                i, j;
    const td_external_t  *e;

    for (i = 0; i < conf->nexternal_ip; i++) {
        e = &conf->external_ip[i];

        if (!e->has_priv) {
            continue;
        }

        found = 0;

        for (j = 0; j < td_nraddrs; j++) {
            if (td_ports_same_ip((struct sockaddr *) &td_raddrs[j].addr,
                                 (const struct sockaddr *) &e->priv.sa))
            {
                memcpy(&td_raddrs[j].adv, &e->pub.sa, e->pub.salen);
                td_raddrs[j].mapped = 1;
                found = 1;
            }
        }

        if (!found) {
            td_log(TD_LOG_WARN, "external-ip: %s is not a relay address, "
                   "its mapping is not used",
                   td_ports_ip_str((const struct sockaddr *) &e->priv.sa,
                                   buf, sizeof(buf)));
        }
    }

    for (i = 0; i < conf->nexternal_ip; i++) {
        e = &conf->external_ip[i];

        if (e->has_priv) {
            continue;
        }

        for (j = 0; j < td_nraddrs; j++) {
            if (td_raddrs[j].mapped
                || td_raddrs[j].addr.ss_family != e->pub.sa.ss_family)
            {
                continue;
            }

            memcpy(&td_raddrs[j].adv, &e->pub.sa, e->pub.salen);
            td_raddrs[j].mapped = 1;
        }
    }

    for (j = 0; j < td_nraddrs; j++) {
        if (td_raddrs[j].adv.ss_family == AF_INET) {
            ((struct sockaddr_in *) &td_raddrs[j].adv)->sin_port = 0;

        } else {
            ((struct sockaddr_in6 *) &td_raddrs[j].adv)->sin6_port = 0;
        }
    }
}


int
td_ports_pick(int family, const struct sockaddr *local)
{
    int       first, loop;
    size_t    i;
    unsigned  local_loopback;

    first = -1;
    loop = -1;
    local_loopback = 0;

    if (local->sa_family == AF_INET) {
        local_loopback = (ntohl(((const struct sockaddr_in *) local)
                                ->sin_addr.s_addr) >> 24) == 127;

    } else if (local->sa_family == AF_INET6) {
        local_loopback = IN6_IS_ADDR_LOOPBACK(
                             &((const struct sockaddr_in6 *) local)
                             ->sin6_addr);
    }

    for (i = 0; i < td_nraddrs; i++) {
        if (td_raddrs[i].addr.ss_family != family) {
            continue;
        }

        if (td_ports_same_ip((struct sockaddr *) &td_raddrs[i].addr, local))
        {
            return (int) i;
        }

        if (first == -1 && !td_raddrs[i].loopback) {
            first = (int) i;
        }

        if (loop == -1 && td_raddrs[i].loopback) {
            loop = (int) i;
        }
    }

    if (local_loopback && loop != -1) {
        return loop;
    }

    return (first != -1) ? first : loop;
}


int
td_ports_open(unsigned index, int even, int reserve, int dont_frag,
    td_port_t *out)
{
    int               fd, fd2;
    size_t            scanned, span;
    unsigned          port, tries;
    td_ports_pool_t  *pool;

    if (index >= td_nraddrs) {
        return -1;
    }

    pool = &td_ports_pools[index];
    span = (size_t) (td_ports_max - td_ports_min) + 1;
    tries = 0;

    pthread_mutex_lock(&td_ports_mutex);

    td_ports_sweep_locked(td_ports_now());

    if (reserve && td_nreserved == TD_PORTS_MAX_RESERVED) {
        pthread_mutex_unlock(&td_ports_mutex);
        return -1;
    }

    /*
     * Round robin from the cursor, so a freed port is reused as late as
     * possible (a late datagram of its last owner meets nobody).
     */
    for (scanned = 0; scanned < span && tries < TD_RELAY_MAX_TRIES;
         scanned++)
    {
        port = td_ports_min + pool->cursor;
        pool->cursor = (unsigned) ((pool->cursor + 1) % span);

        if ((even && (port & 1)) || td_ports_busy(pool, port)) {
            continue;
        }

        if (reserve
            && (port + 1 > td_ports_max || td_ports_busy(pool, port + 1)))
        {
            continue;
        }

        tries++;

        fd = td_ports_bind(index, port, dont_frag);
        if (fd == -2) {
            pthread_mutex_unlock(&td_ports_mutex);
            return -2;
        }

        if (fd == -1) {
            continue;
        }

        fd2 = -1;

        if (reserve) {
            fd2 = td_ports_bind(index, port + 1, 0);
            if (fd2 < 0) {
                close(fd);

                if (fd2 == -2) {
                    pthread_mutex_unlock(&td_ports_mutex);
                    return -2;
                }

                continue;
            }

            td_ports_mark(pool, port + 1, 1);

            if (getrandom(out->token, TD_PORTS_TOKEN_LEN, 0)
                != TD_PORTS_TOKEN_LEN)
            {
                td_ports_mark(pool, port + 1, 0);
                close(fd2);
                close(fd);
                break;
            }

            memcpy(td_reserved[td_nreserved].token, out->token,
                   TD_PORTS_TOKEN_LEN);
            td_reserved[td_nreserved].fd = fd2;
            td_reserved[td_nreserved].index = index;
            td_reserved[td_nreserved].port = port + 1;
            td_reserved[td_nreserved].expires = td_ports_now()
                                                + TD_PORTS_RESERVE_TIME;
            td_nreserved++;
        }

        td_ports_mark(pool, port, 1);

        pthread_mutex_unlock(&td_ports_mutex);

        out->fd = fd;
        out->index = index;
        out->port = port;
        out->has_token = reserve ? 1 : 0;

        return 0;
    }

    pthread_mutex_unlock(&td_ports_mutex);

    return -1;
}


int
td_ports_take(const uint8_t *token, td_port_t *out)
{
    size_t  i;

    pthread_mutex_lock(&td_ports_mutex);

    td_ports_sweep_locked(td_ports_now());

    for (i = 0; i < td_nreserved; i++) {
        if (memcmp(td_reserved[i].token, token, TD_PORTS_TOKEN_LEN) != 0) {
            continue;
        }

        out->fd = td_reserved[i].fd;
        out->index = td_reserved[i].index;
        out->port = td_reserved[i].port;
        out->has_token = 0;

        td_reserved[i] = td_reserved[--td_nreserved];

        pthread_mutex_unlock(&td_ports_mutex);

        return 0;
    }

    pthread_mutex_unlock(&td_ports_mutex);

    return -1;
}


void
td_ports_close(unsigned index, unsigned port, int fd)
{
    if (fd != -1) {
        close(fd);
    }

    pthread_mutex_lock(&td_ports_mutex);

    if (index < td_nraddrs) {
        td_ports_mark(&td_ports_pools[index], port, 0);
    }

    pthread_mutex_unlock(&td_ports_mutex);
}


void
td_ports_sweep(void)
{
    pthread_mutex_lock(&td_ports_mutex);
    td_ports_sweep_locked(td_ports_now());
    pthread_mutex_unlock(&td_ports_mutex);
}


static void
td_ports_sweep_locked(time_t now)
{
    size_t  i;

    for (i = 0; i < td_nreserved; /* void */ ) {
        if (td_reserved[i].expires > now) {
            i++;
            continue;
        }

        close(td_reserved[i].fd);
        td_ports_mark(&td_ports_pools[td_reserved[i].index],
                      td_reserved[i].port, 0);
        td_reserved[i] = td_reserved[--td_nreserved];
    }
}


void
td_ports_advertised(unsigned index, unsigned port,
    struct sockaddr_storage *out, socklen_t *outlen)
{
    *out = td_raddrs[index].adv;

    if (out->ss_family == AF_INET) {
        ((struct sockaddr_in *) out)->sin_port = htons((uint16_t) port);

        if (outlen != NULL) {
            *outlen = sizeof(struct sockaddr_in);
        }

    } else {
        ((struct sockaddr_in6 *) out)->sin6_port = htons((uint16_t) port);

        if (outlen != NULL) {
            *outlen = sizeof(struct sockaddr_in6);
        }
    }
}


static int
td_ports_bind(unsigned index, unsigned port, int dont_frag)
{
    int                       fd, on, val;
    td_ports_addr_t          *r;
    struct sockaddr_storage   sa;

    r = &td_raddrs[index];
    sa = r->addr;

    fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS
            || errno == ENOMEM)
        {
            /* no other port would do better: the caller stops */
            return -2;
        }

        td_log(TD_LOG_ERR, "socket() failed: %s", strerror(errno));
        return -1;
    }

    on = 1;

    if (sa.ss_family == AF_INET) {
        ((struct sockaddr_in *) &sa)->sin_port = htons((uint16_t) port);

        if (dont_frag) {
            val = IP_PMTUDISC_DO;
            (void) setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &val,
                              sizeof(val));
        }

    } else {
        ((struct sockaddr_in6 *) &sa)->sin6_port = htons((uint16_t) port);
        (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));

        if (dont_frag) {
            (void) setsockopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &on,
                              sizeof(on));
        }
    }

    if (bind(fd, (struct sockaddr *) &sa, r->addrlen) == -1) {
        if (errno != EADDRINUSE) {
            td_log(TD_LOG_WARN, "bind() of a relay socket to port %u "
                   "failed: %s", port, strerror(errno));
        }

        close(fd);
        return -1;
    }

    return fd;
}


static int
td_ports_busy(td_ports_pool_t *pool, unsigned port)
{
    unsigned  i;

    i = port - td_ports_min;

    return (pool->bits[i / 64] >> (i % 64)) & 1;
}


static void
td_ports_mark(td_ports_pool_t *pool, unsigned port, int used)
{
    unsigned  i;

    if (port < td_ports_min || port > td_ports_max) {
        return;
    }

    i = port - td_ports_min;

    if (used) {
        pool->bits[i / 64] |= (uint64_t) 1 << (i % 64);
        pool->used++;

    } else {
        pool->bits[i / 64] &= ~((uint64_t) 1 << (i % 64));
        pool->used--;
    }
}


static time_t
td_ports_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec;
}


static int
td_ports_is_wildcard(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        return ((const struct sockaddr_in *) sa)->sin_addr.s_addr
               == htonl(INADDR_ANY);
    }

    if (sa->sa_family == AF_INET6) {
        return IN6_IS_ADDR_UNSPECIFIED(
                   &((const struct sockaddr_in6 *) sa)->sin6_addr);
    }

    return 0;
}


static int
td_ports_same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family) {
        return 0;
    }

    if (a->sa_family == AF_INET) {
        return ((const struct sockaddr_in *) a)->sin_addr.s_addr
               == ((const struct sockaddr_in *) b)->sin_addr.s_addr;
    }

    if (a->sa_family == AF_INET6) {
        return memcmp(&((const struct sockaddr_in6 *) a)->sin6_addr,
                      &((const struct sockaddr_in6 *) b)->sin6_addr, 16) == 0;
    }

    return 0;
}


static char *
td_ports_ip_str(const struct sockaddr *sa, char *buf, size_t len)
{
    const void  *a;

    a = (sa->sa_family == AF_INET)
        ? (const void *) &((const struct sockaddr_in *) sa)->sin_addr
        : (const void *) &((const struct sockaddr_in6 *) sa)->sin6_addr;

    if (inet_ntop(sa->sa_family, a, buf, (socklen_t) len) == NULL) {
        snprintf(buf, len, "?");
    }

    return buf;
}
