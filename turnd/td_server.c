
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ifaddrs.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <trtc_crypto.h>
#include "td_alloc.h"
#include "td_conn.h"
#include "td_log.h"
#include "td_offload.h"
#include "td_peer.h"
#include "td_ports.h"
#include "td_server.h"
#include "td_tcp.h"
#include "td_tls.h"
#include "td_udp.h"


#define TD_MAX_THREADS      256
#define TD_EPOLL_EVENTS     128
#define TD_SOCK_BUF         (2 * 1024 * 1024)
#define TD_TRIM_FREED       1024    /* allocations freed before a trim */


static int td_thread_init(td_thread_t *thr, unsigned id,
    const td_conf_t *conf);
static void td_thread_free(td_thread_t *thr);
static void *td_thread_main(void *arg);
static void td_thread_trim(td_thread_t *thr);
static void td_thread_notified(td_thread_t *thr, td_ev_t *ev,
    uint32_t events);
static int td_listen_addrs(const td_conf_t *conf, td_addr_t *addrs,
    size_t *n);
static int td_server_listen(const td_addr_t *a, int type, int optional,
    unsigned port, int tls);
static int td_listener_probe(const struct sockaddr *sa, socklen_t len,
    int type, int quiet);
static int td_listener_open(td_thread_t *thr, const td_addr_t *a,
    unsigned port, int type, int quiet);
static int td_server_self(const td_conf_t *conf, const td_addr_t *addrs,
    size_t naddrs);


static td_thread_t      **td_threads;
static unsigned           td_nthreads;
static unsigned           td_nstarted;
static time_t             td_trimmed;      /* when malloc_trim() last ran */


int
td_server_init(const td_conf_t *conf)
{
    int        optional;
    long       ncpu;
    size_t     i, naddrs, t;
    unsigned   n;
    td_addr_t  addrs[TD_CONF_MAX_ADDRS];

    n = conf->threads;

    if (n == 0) {
        ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        n = (ncpu > 0) ? (unsigned) ncpu : 1;
    }

    if (n > TD_MAX_THREADS) {
        n = TD_MAX_THREADS;
    }

    if (td_alloc_global_init(conf->user_quota, conf->total_quota) != 0
        || td_limit_init(conf) != 0
        || td_ports_init(conf) != 0)
    {
        return -1;
    }

    if (td_tls_init(conf) != 0) {
        td_ports_cleanup();
        return -1;
    }

    if (td_listen_addrs(conf, addrs, &naddrs) != 0) {
        return -1;
    }

    td_threads = calloc(n, sizeof(td_thread_t *));
    if (td_threads == NULL) {
        td_log(TD_LOG_ERR, "out of memory");
        return -1;
    }

    for (td_nthreads = 0; td_nthreads < n; td_nthreads++) {
        td_threads[td_nthreads] = calloc(1, sizeof(td_thread_t));

        if (td_threads[td_nthreads] == NULL
            || td_thread_init(td_threads[td_nthreads], td_nthreads, conf)
               != 0)
        {
            td_log(TD_LOG_ERR, "cannot set up thread %u", td_nthreads);
            td_thread_free(td_threads[td_nthreads]);
            goto failed;
        }
    }

    /* one socket per thread, protocol and address: SO_REUSEPORT groups */

    for (i = 0; i < naddrs; i++) {
        /* the default [::] is skipped quietly on a machine without IPv6 */
        optional = (conf->nlistening_ip == 0
                    && addrs[i].sa.ss_family == AF_INET6);

        if ((!conf->no_udp
             && td_server_listen(&addrs[i], SOCK_DGRAM, optional,
                                 conf->listening_port, 0) < 0)
            || (!conf->no_tcp
                && td_server_listen(&addrs[i], SOCK_STREAM, optional,
                                    conf->listening_port, 0) < 0)
            || (td_tls_enabled()
                && td_server_listen(&addrs[i], SOCK_STREAM, optional,
                                    conf->tls_listening_port, 1) < 0))
        {
            goto failed;
        }
    }

    if (td_threads[0]->nlisteners == 0) {
        td_log(TD_LOG_ERR, "nothing to listen on");
        goto failed;
    }

    if (td_server_self(conf, addrs, naddrs) != 0) {
        goto failed;
    }

    return 0;

failed:

    for (t = 0; t < td_nthreads; t++) {
        td_thread_free(td_threads[t]);
    }

    free(td_threads);
    td_threads = NULL;
    td_nthreads = 0;

    td_ports_cleanup();
    td_tls_cleanup();

    return -1;
}


int
td_server_start(void)
{
    int       rc;
    unsigned  i;

    for (i = 0; i < td_nthreads; i++) {
        rc = pthread_create(&td_threads[i]->tid, NULL, td_thread_main,
                            td_threads[i]);
        if (rc != 0) {
            td_log(TD_LOG_ERR, "pthread_create() failed: %s", strerror(rc));
            return -1;
        }

        td_nstarted = i + 1;
    }

    return 0;
}


void
td_server_stop(void)
{
    unsigned  i;
    uint64_t  one;

    one = 1;

    for (i = 0; i < td_nthreads; i++) {
        __atomic_store_n(&td_threads[i]->stop, 1, __ATOMIC_RELEASE);

        if (write(td_threads[i]->notify.fd, &one, sizeof(one)) == -1) {
            td_log(TD_LOG_ERR, "eventfd write failed: %s", strerror(errno));
        }
    }

    for (i = 0; i < td_nstarted; i++) {
        pthread_join(td_threads[i]->tid, NULL);
    }

    td_nstarted = 0;
}


/* after td_server_stop(): logs the counters and frees everything */

void
td_server_cleanup(void)
{
    unsigned    i;
    td_stats_t  s;

    if (td_threads == NULL) {
        return;
    }

    td_server_stats(&s);

    td_log(TD_LOG_NOTICE, "stats: %llu allocations, %llu requests "
           "(%llu Binding, %llu challenged, %llu refused), "
           "%llu/%llu packets from/to clients, %llu/%llu to/from peers, "
           "%llu malformed, %llu dropped, %llu peers denied, "
           "%llu send errors, %llu truncated, %llu tcp connections, "
           "%llu tcp frames dropped on full buffers, %llu unauthenticated "
           "responses over unauth-rate, %llu tcp connections over the "
           "unauthenticated caps",
           (unsigned long long) s.allocations,
           (unsigned long long) s.requests,
           (unsigned long long) s.bindings,
           (unsigned long long) s.challenges,
           (unsigned long long) s.refusals,
           (unsigned long long) s.rx_packets,
           (unsigned long long) s.tx_packets,
           (unsigned long long) s.peer_tx_packets,
           (unsigned long long) s.peer_rx_packets,
           (unsigned long long) s.malformed,
           (unsigned long long) s.dropped,
           (unsigned long long) s.peer_denied,
           (unsigned long long) s.send_errors,
           (unsigned long long) s.truncated,
           (unsigned long long) s.tcp_accepted,
           (unsigned long long) s.tcp_overflow,
           (unsigned long long) s.unauth_limited,
           (unsigned long long) s.tcp_refused);

    if (s.tls_handshakes + s.tls_failed + s.proxy_bad + s.proxy_refused) {
        td_log(TD_LOG_NOTICE, "stats: %llu tls handshakes, %llu failed or "
               "timed out; %llu connections without a valid PROXY header, "
               "%llu PROXY headers from unlisted sources",
               (unsigned long long) s.tls_handshakes,
               (unsigned long long) s.tls_failed,
               (unsigned long long) s.proxy_bad,
               (unsigned long long) s.proxy_refused);
    }

    for (i = 0; i < td_nthreads; i++) {
        td_thread_free(td_threads[i]);
    }

    free(td_threads);
    td_threads = NULL;
    td_nthreads = 0;

    td_ports_cleanup();
    td_alloc_global_cleanup();
    td_tls_cleanup();
}


void
td_server_stats(td_stats_t *sum)
{
    size_t     i, n;
    unsigned   t;
    uint64_t  *d, *s;

    memset(sum, 0, sizeof(td_stats_t));

    /* td_stats_t is all uint64_t counters */
    n = sizeof(td_stats_t) / sizeof(uint64_t);
    d = (uint64_t *) sum;

    for (t = 0; t < td_nthreads; t++) {
        s = (uint64_t *) &td_threads[t]->stats;

        for (i = 0; i < n; i++) {
            d[i] += __atomic_load_n(&s[i], __ATOMIC_RELAXED);
        }
    }
}


unsigned
td_server_threads(void)
{
    return td_nstarted;
}


/* the CPU time thread i ran: what it did not spend in epoll_wait() */

int
td_server_thread_cpu(unsigned i, double *secs)
{
    clockid_t        cid;
    struct timespec  ts;

    if (i >= td_nstarted
        || pthread_getcpuclockid(td_threads[i]->tid, &cid) != 0
        || clock_gettime(cid, &ts) != 0)
    {
        return -1;
    }

    *secs = (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;

    return 0;
}


size_t
td_server_allocations(void)
{
    return td_alloc_total();
}


static int
td_listen_addrs(const td_conf_t *conf, td_addr_t *addrs, size_t *n)
{
    size_t                i;
    struct sockaddr_in   *sin;
    struct sockaddr_in6  *sin6;

    if (conf->nlistening_ip > 0) {
        for (i = 0; i < conf->nlistening_ip; i++) {
            addrs[i] = conf->listening_ip[i];
        }

        *n = conf->nlistening_ip;
        return 0;
    }

    memset(addrs, 0, 2 * sizeof(td_addr_t));

    sin = (struct sockaddr_in *) &addrs[0].sa;
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_ANY);
    addrs[0].salen = sizeof(struct sockaddr_in);

    sin6 = (struct sockaddr_in6 *) &addrs[1].sa;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr = in6addr_any;
    addrs[1].salen = sizeof(struct sockaddr_in6);

    *n = 2;

    return 0;
}



/*
 * turnd's own addresses become denied peers (td_peer.h): every listening
 * address with its port (a wildcard: every address of the machine, the
 * whole loopback range), every relay address and what it is advertised
 * as, with the relay port range.
 */

static int
td_server_self(const td_conf_t *conf, const td_addr_t *addrs, size_t naddrs)
{
    int                     rc;
    size_t                  i;
    unsigned                lp;
    struct ifaddrs         *ifa, *ifp;
    struct sockaddr_in      lo4, hi4;
    struct sockaddr_in6     lo6;
    const td_ports_addr_t  *r;

    lp = conf->listening_port;
    rc = 0;
    ifa = NULL;

    td_peer_self_clear();

    memset(&lo4, 0, sizeof(lo4));
    memset(&hi4, 0, sizeof(hi4));
    memset(&lo6, 0, sizeof(lo6));
    lo4.sin_family = AF_INET;
    lo4.sin_addr.s_addr = htonl(0x7f000000);
    hi4.sin_family = AF_INET;
    hi4.sin_addr.s_addr = htonl(0x7fffffff);
    lo6.sin6_family = AF_INET6;
    lo6.sin6_addr = in6addr_loopback;

    for (i = 0; i < naddrs; i++) {
        if (addrs[i].sa.ss_family == AF_INET
            && ((struct sockaddr_in *) &addrs[i].sa)->sin_addr.s_addr
               == htonl(INADDR_ANY))
        {
            rc |= td_peer_self_add((struct sockaddr *) &lo4,
                                   (struct sockaddr *) &hi4, lp, lp, 0);

            if (td_tls_enabled()) {
                rc |= td_peer_self_add((struct sockaddr *) &lo4,
                                       (struct sockaddr *) &hi4,
                                       conf->tls_listening_port,
                                       conf->tls_listening_port, 0);
            }

        } else if (addrs[i].sa.ss_family == AF_INET6
                   && IN6_IS_ADDR_UNSPECIFIED(
                       &((struct sockaddr_in6 *) &addrs[i].sa)->sin6_addr))
        {
            rc |= td_peer_self_add((struct sockaddr *) &lo6, NULL, lp, lp, 0);

            if (td_tls_enabled()) {
                rc |= td_peer_self_add((struct sockaddr *) &lo6, NULL,
                                       conf->tls_listening_port,
                                       conf->tls_listening_port, 0);
            }

        } else {
            rc |= td_peer_self_add((struct sockaddr *) &addrs[i].sa, NULL,
                                   lp, lp, 0);

            if (td_tls_enabled()) {
                rc |= td_peer_self_add((struct sockaddr *) &addrs[i].sa,
                                       NULL, conf->tls_listening_port,
                                       conf->tls_listening_port, 0);
            }

            continue;
        }

        if (ifa == NULL && getifaddrs(&ifa) == -1) {
            td_log(TD_LOG_ERR, "getifaddrs() failed: %s", strerror(errno));
            return -1;
        }

        for (ifp = ifa; ifp != NULL; ifp = ifp->ifa_next) {
            if (ifp->ifa_addr != NULL
                && ifp->ifa_addr->sa_family == addrs[i].sa.ss_family)
            {
                rc |= td_peer_self_add(ifp->ifa_addr, NULL, lp, lp, 0);

                if (td_tls_enabled()) {
                    rc |= td_peer_self_add(ifp->ifa_addr, NULL,
                                           conf->tls_listening_port,
                                           conf->tls_listening_port, 0);
                }
            }
        }
    }

    if (ifa != NULL) {
        freeifaddrs(ifa);
    }

    for (i = 0; i < td_ports_count(); i++) {
        r = td_ports_get((unsigned) i);

        rc |= td_peer_self_add((struct sockaddr *) &r->addr, NULL,
                               conf->min_port, conf->max_port, 1);

        if (r->mapped) {
            /* a NAT in front forwards the public address to us */
            rc |= td_peer_self_add((struct sockaddr *) &r->adv, NULL,
                                   conf->min_port, conf->max_port, 1);
            rc |= td_peer_self_add((struct sockaddr *) &r->adv, NULL,
                                   lp, lp, 0);
        }
    }

    if (rc != 0) {
        td_log(TD_LOG_ERR, "too many addresses of our own to deny as "
               "peers");
        return -1;
    }

    return 0;
}

/*
 * The sockets of one address and protocol, one per thread.  0, 1 when an
 * optional address cannot be used, -1 on error (logged).
 */

static int
td_server_listen(const td_addr_t *a, int type, int optional, unsigned port,
    int tls)
{
    int                       rc;
    char                      buf[64];
    size_t                    t, before;
    td_addr_t                 probe;
    const char               *proto;
    struct sockaddr_storage  *sa;

    proto = (type == SOCK_DGRAM) ? "udp" : tls ? "tls" : "tcp";

    probe = *a;

    if (probe.sa.ss_family == AF_INET) {
        ((struct sockaddr_in *) &probe.sa)->sin_port = htons((uint16_t) port);

    } else {
        ((struct sockaddr_in6 *) &probe.sa)->sin6_port =
                                                    htons((uint16_t) port);
    }

    rc = td_listener_probe((struct sockaddr *) &probe.sa, probe.salen, type,
                           optional);
    if (rc != 0) {
        return (rc > 0 && optional) ? 1 : -1;
    }

    before = td_threads[0]->nlisteners;

    for (t = 0; t < td_nthreads; t++) {
        if (td_listener_open(td_threads[t], a, port, type, 0) != 0) {
            return -1;
        }

        td_threads[t]->listeners[td_threads[t]->nlisteners - 1].tls =
                                                                  tls ? 1 : 0;
    }

    sa = &td_threads[0]->listeners[before].addr;

    td_log(TD_LOG_NOTICE, "listening on %s %s (%u threads)", proto,
           td_log_addr((struct sockaddr *) sa, buf, sizeof(buf)),
           td_nthreads);

    return 0;
}


/*
 * SO_REUSEPORT lets another process of the same user join our group and
 * take a share of the clients (a second turnd on the same port would
 * split allocations between two processes).  A plain bind first finds
 * anyone on the port: then we refuse to start.  Returns 0, 1 when the
 * family is not supported, -1 when the port is taken (logged).
 */

static int
td_listener_probe(const struct sockaddr *sa, socklen_t len, int type,
    int quiet)
{
    int   fd, on;
    char  buf[64];

    td_log_addr(sa, buf, sizeof(buf));

    fd = socket(sa->sa_family, type | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        td_log(quiet ? TD_LOG_NOTICE : TD_LOG_ERR, "socket() for %s %s "
               "failed: %s", type == SOCK_DGRAM ? "udp" : "tcp", buf,
               strerror(errno));
        return 1;
    }

    on = 1;

    if (sa->sa_family == AF_INET6) {
        (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    }

    /* TCP: connections in TIME_WAIT do not count, a listener does */
    if (type == SOCK_STREAM) {
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    }

    if (bind(fd, sa, len) == -1) {
        if (errno == EADDRNOTAVAIL && quiet) {
            close(fd);
            return 1;
        }

        td_log(TD_LOG_ERR, "cannot listen on %s %s: %s%s",
               type == SOCK_DGRAM ? "udp" : "tcp", buf, strerror(errno),
               errno == EADDRINUSE ? " (another server has the port)" : "");
        close(fd);
        return -1;
    }

    close(fd);

    return 0;
}


static int
td_thread_init(td_thread_t *thr, unsigned id, const td_conf_t *conf)
{
    uint64_t            seed;
    struct epoll_event  ee;

    thr->id = id;
    thr->conf = conf;
    thr->epfd = -1;
    thr->notify.fd = -1;

    td_loop_time(thr);

    if (getrandom(&seed, sizeof(seed), 0) != (ssize_t) sizeof(seed)) {
        seed = (uint64_t) time(NULL) ^ ((uint64_t) id << 32);
    }

    thr->rand = seed | 1;
    thr->log_budget = TD_LOG_BUDGET;

    thr->bufs = malloc((size_t) TD_BATCH * TD_BUF_SIZE);
    thr->listeners = calloc(3 * TD_CONF_MAX_ADDRS, sizeof(td_listener_t));

    if (thr->bufs == NULL || thr->listeners == NULL) {
        return -1;
    }

    if (td_alloc_thread_init(thr) != 0) {
        return -1;
    }

    thr->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (thr->epfd == -1) {
        td_log(TD_LOG_ERR, "epoll_create1() failed: %s", strerror(errno));
        return -1;
    }

    thr->notify.handler = td_thread_notified;
    thr->notify.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (thr->notify.fd == -1) {
        td_log(TD_LOG_ERR, "eventfd() failed: %s", strerror(errno));
        return -1;
    }

    ee.events = EPOLLIN;
    ee.data.ptr = &thr->notify;

    if (epoll_ctl(thr->epfd, EPOLL_CTL_ADD, thr->notify.fd, &ee) == -1) {
        td_log(TD_LOG_ERR, "epoll_ctl() failed: %s", strerror(errno));
        return -1;
    }

    return 0;
}


static void
td_thread_free(td_thread_t *thr)
{
    size_t  i;

    if (thr == NULL) {
        return;
    }

    /* the thread itself closed its connections and allocations */
    td_alloc_thread_cleanup(thr);

    for (i = 0; i < thr->nlisteners; i++) {
        if (thr->listeners[i].ev.fd != -1) {
            close(thr->listeners[i].ev.fd);
        }
    }

    if (thr->notify.fd != -1) {
        close(thr->notify.fd);
    }

    if (thr->epfd != -1) {
        close(thr->epfd);
    }

    free(thr->listeners);
    free(thr->bufs);
    free(thr);
}


static int
td_listener_open(td_thread_t *thr, const td_addr_t *a, unsigned port,
    int type, int quiet)
{
    int                  fd, on, size;
    char                 buf[64];
    td_listener_t       *ls;
    struct epoll_event   ee;
    struct sockaddr_in  *sin;

    ls = &thr->listeners[thr->nlisteners];
    memset(ls, 0, sizeof(td_listener_t));

    ls->thr = thr;
    ls->addr = a->sa;
    ls->addrlen = a->salen;
    ls->ev.handler = (type == SOCK_DGRAM) ? td_udp_input : td_tcp_accept;
    ls->ev.fd = -1;

    if (ls->addr.ss_family == AF_INET) {
        sin = (struct sockaddr_in *) &ls->addr;
        sin->sin_port = htons((uint16_t) port);
        ls->wildcard = (sin->sin_addr.s_addr == htonl(INADDR_ANY));

    } else {
        ((struct sockaddr_in6 *) &ls->addr)->sin6_port =
                                                    htons((uint16_t) port);
        ls->wildcard = IN6_IS_ADDR_UNSPECIFIED(
                           &((struct sockaddr_in6 *) &ls->addr)->sin6_addr);
    }

    td_log_addr((struct sockaddr *) &ls->addr, buf, sizeof(buf));

    fd = socket(ls->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        td_log(quiet ? TD_LOG_NOTICE : TD_LOG_ERR, "socket() for %s "
               "failed: %s", buf, strerror(errno));
        return -1;
    }

    on = 1;

    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1
        || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1)
    {
        td_log(TD_LOG_ERR, "setsockopt(SO_REUSEPORT) failed: %s",
               strerror(errno));
        goto failed;
    }

    if (ls->addr.ss_family == AF_INET6) {
        /* IPv4 clients have sockets of their own */
        (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    }

    if (type == SOCK_DGRAM) {
        if (ls->wildcard) {
            if (ls->addr.ss_family == AF_INET) {
                (void) setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on,
                                  sizeof(on));

            } else {
                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on,
                                  sizeof(on));
            }
        }

        /* best effort: the kernel caps it at net.core.rmem_max */
        size = TD_SOCK_BUF;
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    }

    if (bind(fd, (struct sockaddr *) &ls->addr, ls->addrlen) == -1) {
        td_log(quiet ? TD_LOG_NOTICE : TD_LOG_ERR, "bind() to %s %s "
               "failed: %s", type == SOCK_DGRAM ? "udp" : "tcp", buf,
               strerror(errno));
        goto failed;
    }

    if (type == SOCK_STREAM && listen(fd, 511) == -1) {
        td_log(TD_LOG_ERR, "listen() on %s failed: %s", buf, strerror(errno));
        goto failed;
    }

    ee.events = EPOLLIN;
    ee.data.ptr = ls;

    if (epoll_ctl(thr->epfd, EPOLL_CTL_ADD, fd, &ee) == -1) {
        td_log(TD_LOG_ERR, "epoll_ctl() failed: %s", strerror(errno));
        goto failed;
    }

    ls->ev.fd = fd;
    thr->nlisteners++;

    return 0;

failed:

    close(fd);

    return -1;
}


static void *
td_thread_main(void *arg)
{
    td_thread_t  *thr;

    thr = arg;
    td_loop_time(thr);
    thr->wheel.last = thr->now;
    thr->ticked = thr->now;

    while (!__atomic_load_n(&thr->stop, __ATOMIC_ACQUIRE)) {
        if (td_server_poll(thr, -1) == -1) {
            break;
        }
    }

    /* the owner closes its connections and allocations */
    td_server_drop_all(thr);
    trtc_crypto_thread_cleanup();

    return NULL;
}


int
td_server_poll(td_thread_t *thr, int timeout)
{
    int                  i, n;
    td_ev_t             *ev;
    struct timespec      ts;
    struct epoll_event   events[TD_EPOLL_EVENTS];

    if (timeout < 0) {
        /* wake at the next second: the timer wheel's resolution */
        clock_gettime(CLOCK_MONOTONIC, &ts);
        timeout = 1000 - (int) (ts.tv_nsec / 1000000);
    }

    n = epoll_wait(thr->epfd, events, TD_EPOLL_EVENTS, timeout);

    if (n == -1) {
        if (errno == EINTR) {
            return 0;
        }

        td_log(TD_LOG_ERR, "epoll_wait() failed: %s", strerror(errno));
        return -1;
    }

    td_loop_time(thr);

    for (i = 0; i < n; i++) {
        ev = events[i].data.ptr;

        /* none: closed earlier in this batch */
        if (ev->handler != NULL) {
            ev->handler(thr, ev, events[i].events);
        }
    }

    if (thr->now != thr->ticked) {
        thr->ticked = thr->now;

        if (thr->log_suppressed) {
            td_log(TD_LOG_NOTICE, "%u more refusals not logged",
                   thr->log_suppressed);
            thr->log_suppressed = 0;
        }

        thr->log_budget = TD_LOG_BUDGET;

        td_wheel_run(&thr->wheel, thr->now, thr);
        td_offload_poll(thr);
        td_tcp_resume(thr);
        td_thread_trim(thr);

        if (thr->id == 0) {
            td_ports_sweep();
        }
    }

    /* nothing of this batch points at them any more */
    td_alloc_release(thr);
    td_tcp_release(thr);

    return n;
}


void
td_server_drop_all(td_thread_t *thr)
{
    while (thr->conn_list != NULL) {
        td_tcp_close(thr, td_container(thr->conn_list, td_conn_t, link),
                     "shutdown");
    }

    while (thr->alloc_list != NULL) {
        td_alloc_free(td_container(thr->alloc_list, td_alloc_t, link),
                      "shutdown");
    }

    td_alloc_release(thr);
    td_tcp_release(thr);
}


td_thread_t *
td_server_thread(unsigned n)
{
    return (n < td_nthreads) ? td_threads[n] : NULL;
}


/*
 * Gives freed memory back to the system once many allocations went (the
 * end of a storm, or of the busy hours): free() alone keeps it in the
 * thread's arena, and the process would stay at its peak size for good.
 * At most once a second, from the thread's own tick.
 */

static void
td_thread_trim(td_thread_t *thr)
{
    time_t    last;
    uint64_t  freed;

    freed = thr->stats.allocations_freed - thr->trimmed_at;

    if (freed < TD_TRIM_FREED && (freed == 0 || thr->nallocs != 0)) {
        return;
    }

    /* malloc_trim() goes through every thread's arena: one a second */
    last = __atomic_load_n(&td_trimmed, __ATOMIC_RELAXED);

    if (last != thr->now
        && __atomic_compare_exchange_n(&td_trimmed, &last, thr->now, 0,
                                       __ATOMIC_RELAXED, __ATOMIC_RELAXED))
    {
        thr->trimmed_at = thr->stats.allocations_freed;
        malloc_trim(0);
    }
}


static void
td_thread_notified(td_thread_t *thr, td_ev_t *ev, uint32_t events)
{
    uint64_t  v;

    (void) thr;
    (void) events;

    if (read(ev->fd, &v, sizeof(v)) == -1) {
        /* EAGAIN: another thread's wakeup was read */
    }
}
