
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "td_log.h"
#include "td_relay.h"
#include "td_turn.h"
#include "td_server.h"


#define TD_MAX_THREADS      256
#define TD_EPOLL_EVENTS     128
#define TD_READ_ROUNDS      4        /* batches per readiness, fairness */
#define TD_SOCK_BUF         (2 * 1024 * 1024)


static int td_thread_init(td_thread_t *thr, unsigned id,
    const td_conf_t *conf);
static void td_thread_free(td_thread_t *thr);
static void *td_thread_main(void *arg);
static void td_thread_time(td_thread_t *thr);
static int td_listen_addrs(const td_conf_t *conf, td_addr_t *addrs,
    size_t *n);
static int td_listener_open(td_thread_t *thr, const td_addr_t *a,
    unsigned port, int type, int quiet);
static void td_udp_input(td_thread_t *thr, td_listener_t *ls);
static void td_udp_local(td_listener_t *ls, struct msghdr *mh,
    td_client_t *cl);
static size_t td_udp_ctrl(const td_client_t *cl, uint8_t *buf);
static void td_batch_setup(td_thread_t *thr, int ctrl);


static const td_conf_t   *td_conf;
static td_thread_t      **td_threads;
static unsigned           td_nthreads;


int
td_server_init(const td_conf_t *conf)
{
    int        wild;
    char       buf[64];
    long       ncpu;
    size_t     i, naddrs, t, before;
    unsigned   n;
    td_addr_t  addrs[TD_CONF_MAX_ADDRS];

    td_conf = conf;

    n = conf->threads;

    if (n == 0) {
        ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        n = (ncpu > 0) ? (unsigned) ncpu : 1;
    }

    if (n > TD_MAX_THREADS) {
        n = TD_MAX_THREADS;
    }

    if (td_alloc_global_init(conf->user_quota, conf->total_quota) != 0
        || td_relay_init(conf) != 0)
    {
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
            free(td_threads[td_nthreads]);
            goto failed;
        }
    }

    /* one socket per thread, protocol and address: SO_REUSEPORT groups */

    for (i = 0; i < naddrs; i++) {
        wild = (addrs[i].sa.ss_family == AF_INET6);

        td_log_addr((struct sockaddr *) &addrs[i].sa, buf, sizeof(buf));

        if (!conf->no_udp) {
            before = td_threads[0]->nlisteners;

            for (t = 0; t < td_nthreads; t++) {
                if (td_listener_open(td_threads[t], &addrs[i],
                                     conf->listening_port, SOCK_DGRAM,
                                     wild && conf->nlistening_ip == 0)
                    != 0)
                {
                    break;
                }
            }

            if (t == td_nthreads) {
                td_log(TD_LOG_NOTICE, "listening on udp %s (%u threads)",
                       td_log_addr((struct sockaddr *)
                                   &td_threads[0]->listeners[before].addr,
                                   buf, sizeof(buf)), td_nthreads);

            } else if (t == 0 && wild && conf->nlistening_ip == 0) {
                continue;   /* no IPv6 on this machine */

            } else {
                goto failed;
            }
        }

        if (!conf->no_tcp) {
            before = td_threads[0]->nlisteners;

            for (t = 0; t < td_nthreads; t++) {
                if (td_listener_open(td_threads[t], &addrs[i],
                                     conf->listening_port, SOCK_STREAM,
                                     wild && conf->nlistening_ip == 0)
                    != 0)
                {
                    break;
                }
            }

            if (t == td_nthreads) {
                td_log(TD_LOG_NOTICE, "listening on tcp %s (%u threads)",
                       td_log_addr((struct sockaddr *)
                                   &td_threads[0]->listeners[before].addr,
                                   buf, sizeof(buf)), td_nthreads);

            } else if (t == 0 && wild && conf->nlistening_ip == 0) {
                continue;

            } else {
                goto failed;
            }
        }
    }

    if (td_threads[0]->nlisteners == 0) {
        td_log(TD_LOG_ERR, "nothing to listen on");
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

    td_relay_cleanup();

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
            td_nthreads = i;
            return -1;
        }
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

    for (i = 0; i < td_nthreads; i++) {
        pthread_join(td_threads[i]->tid, NULL);
    }
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
           "%llu tcp frames dropped on full buffers",
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
           (unsigned long long) s.tcp_overflow);

    for (i = 0; i < td_nthreads; i++) {
        td_thread_free(td_threads[i]);
    }

    free(td_threads);
    td_threads = NULL;
    td_nthreads = 0;

    td_relay_cleanup();
    td_alloc_global_cleanup();
}


void
td_server_stats(td_stats_t *sum)
{
    size_t     i, k, n;
    unsigned   t;
    uint64_t  *d;
    uint64_t  *s;

    memset(sum, 0, sizeof(td_stats_t));

    n = sizeof(td_stats_t) / sizeof(uint64_t);
    d = (uint64_t *) sum;

    for (t = 0; t < td_nthreads; t++) {
        s = (uint64_t *) &td_threads[t]->stats;

        for (i = 0; i < n; i++) {
            k = i;
            d[k] += __atomic_load_n(&s[i], __ATOMIC_RELAXED);
        }
    }
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


static int
td_thread_init(td_thread_t *thr, unsigned id, const td_conf_t *conf)
{
    uint64_t            seed;
    struct epoll_event  ee;

    thr->id = id;
    thr->conf = conf;
    thr->epfd = -1;
    thr->notify.fd = -1;

    td_thread_time(thr);

    if (getrandom(&seed, sizeof(seed), 0) != (ssize_t) sizeof(seed)) {
        seed = (uint64_t) time(NULL) ^ ((uint64_t) id << 32);
    }

    thr->rand = seed | 1;

    thr->bufs = malloc((size_t) TD_BATCH * TD_BUF_SIZE);
    thr->listeners = calloc(2 * TD_CONF_MAX_ADDRS, sizeof(td_listener_t));

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

    thr->notify.kind = TD_EV_NOTIFY;
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
    ls->ev.kind = (type == SOCK_DGRAM) ? TD_EV_UDP_LISTEN : TD_EV_TCP_LISTEN;
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
    int                  i, n, timeout;
    time_t               last;
    td_ev_t             *ev;
    uint64_t             v;
    td_thread_t         *thr;
    struct timespec      ts;
    struct epoll_event   events[TD_EPOLL_EVENTS];

    thr = arg;
    td_thread_time(thr);
    thr->wheel.last = thr->now;
    last = thr->now;

    while (!__atomic_load_n(&thr->stop, __ATOMIC_ACQUIRE)) {

        /* wake at the next second: the timer wheel's resolution */
        clock_gettime(CLOCK_MONOTONIC, &ts);
        timeout = 1000 - (int) (ts.tv_nsec / 1000000);

        n = epoll_wait(thr->epfd, events, TD_EPOLL_EVENTS, timeout);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            td_log(TD_LOG_ERR, "epoll_wait() failed: %s", strerror(errno));
            break;
        }

        td_thread_time(thr);

        for (i = 0; i < n; i++) {
            ev = events[i].data.ptr;

            switch (ev->kind) {

            case TD_EV_UDP_LISTEN:
                td_udp_input(thr, (td_listener_t *) ev);
                break;

            case TD_EV_RELAY:
                td_server_relay_input(thr, (td_alloc_t *) ev);
                break;

            case TD_EV_TCP_CONN:
                td_tcp_event(thr, (td_conn_t *) ev, events[i].events);
                break;

            case TD_EV_TCP_LISTEN:
                td_tcp_accept(thr, (td_listener_t *) ev);
                break;

            case TD_EV_NOTIFY:
                if (read(ev->fd, &v, sizeof(v)) == -1) {
                    /* EAGAIN: another thread's wakeup was read */
                }

                break;

            default: /* TD_EV_CLOSED earlier in this batch */
                break;
            }
        }

        if (thr->now != last) {
            last = thr->now;
            td_wheel_run(&thr->wheel, thr->now, td_alloc_timer, thr);
            td_tcp_resume(thr);

            if (thr->id == 0) {
                td_relay_sweep();
            }
        }

        /* nothing of this batch points at them any more */
        td_alloc_release(thr);
        td_tcp_release(thr);
    }

    /* the owner closes its connections and allocations */
    while (thr->conn_list != NULL) {
        td_tcp_close(thr, thr->conn_list, "shutdown");
    }

    while (thr->alloc_list != NULL) {
        td_alloc_free(thr->alloc_list, "shutdown");
    }

    td_alloc_release(thr);
    td_tcp_release(thr);

    return NULL;
}


static void
td_thread_time(td_thread_t *thr)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    thr->now = ts.tv_sec;
    thr->wall = time(NULL);
}


uint64_t
td_server_rand(td_thread_t *thr)
{
    uint64_t  x;

    /* xorshift64*: transaction ids of Data indications, not secrets */
    x = thr->rand;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    thr->rand = x;

    return x * 0x2545f4914f6cdd1dULL;
}


static void
td_batch_setup(td_thread_t *thr, int ctrl)
{
    size_t          i;
    struct msghdr  *mh;

    for (i = 0; i < TD_BATCH; i++) {
        thr->iov[i].iov_base = thr->bufs + i * TD_BUF_SIZE + TD_HEADROOM;
        thr->iov[i].iov_len = TD_DGRAM_MAX;

        mh = &thr->msgs[i].msg_hdr;
        mh->msg_name = &thr->names[i];
        mh->msg_namelen = sizeof(struct sockaddr_storage);
        mh->msg_iov = &thr->iov[i];
        mh->msg_iovlen = 1;
        mh->msg_control = ctrl ? thr->ctrl[i] : NULL;
        mh->msg_controllen = ctrl ? TD_CTRL_SIZE : 0;
        mh->msg_flags = 0;
        thr->msgs[i].msg_len = 0;
    }
}


static void
td_udp_input(td_thread_t *thr, td_listener_t *ls)
{
    int             n, i, round;
    size_t          len;
    uint8_t        *buf;
    td_client_t     cl;
    struct msghdr  *mh;

    for (round = 0; round < TD_READ_ROUNDS; round++) {

        td_batch_setup(thr, ls->wildcard);

        n = recvmmsg(ls->ev.fd, thr->msgs, TD_BATCH, MSG_DONTWAIT, NULL);

        if (n <= 0) {
            if (n == -1 && errno != EAGAIN && errno != EINTR
                && td_log_enabled(TD_LOG_DEBUG))
            {
                td_log(TD_LOG_DEBUG, "recvmmsg() failed: %s",
                       strerror(errno));
            }

            return;
        }

        for (i = 0; i < n; i++) {
            mh = &thr->msgs[i].msg_hdr;
            len = thr->msgs[i].msg_len;
            buf = thr->iov[i].iov_base;

            if (mh->msg_flags & MSG_TRUNC) {
                thr->stats.truncated++;
                continue;
            }

            thr->stats.rx_packets++;
            thr->stats.rx_bytes += len;

            if (len == 0) {
                thr->stats.malformed++;
                continue;
            }

            memcpy(&cl.addr, &thr->names[i], mh->msg_namelen);
            cl.addrlen = mh->msg_namelen;
            cl.tcp = 0;
            cl.ls = ls;
            cl.conn = NULL;
            cl.ifindex = 0;

            td_udp_local(ls, mh, &cl);

            switch (buf[0] & 0xc0) {

            case 0x40:
                td_turn_channel_data(thr, &cl, buf, len);
                break;

            case 0x00:
                td_turn_stun(thr, &cl, buf, len);
                break;

            default:
                thr->stats.malformed++;
                break;
            }
        }

        if (n < TD_BATCH) {
            return;
        }
    }
}


/* the address a datagram came to: the socket's, or its pktinfo */

static void
td_udp_local(td_listener_t *ls, struct msghdr *mh, td_client_t *cl)
{
    struct cmsghdr       *cm;
    struct in_pktinfo     pi;
    struct in6_pktinfo    pi6;
    struct sockaddr_in   *sin;
    struct sockaddr_in6  *sin6;

    memcpy(&cl->local, &ls->addr, ls->addrlen);
    cl->locallen = ls->addrlen;

    if (!ls->wildcard) {
        return;
    }

    for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {

        if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO
            && cm->cmsg_len >= CMSG_LEN(sizeof(pi)))
        {
            memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
            sin = (struct sockaddr_in *) &cl->local;
            sin->sin_addr = pi.ipi_addr;
            return;
        }

        if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO
            && cm->cmsg_len >= CMSG_LEN(sizeof(pi6)))
        {
            memcpy(&pi6, CMSG_DATA(cm), sizeof(pi6));
            sin6 = (struct sockaddr_in6 *) &cl->local;
            sin6->sin6_addr = pi6.ipi6_addr;
            cl->ifindex = (int) pi6.ipi6_ifindex;
            return;
        }
    }
}


/* the control message that makes a reply leave from cl->local */

static size_t
td_udp_ctrl(const td_client_t *cl, uint8_t *buf)
{
    struct cmsghdr       *cm;
    struct msghdr         mh;
    struct in_pktinfo     pi;
    struct in6_pktinfo    pi6;

    if (!cl->ls->wildcard) {
        return 0;
    }

    memset(buf, 0, TD_CTRL_SIZE);
    memset(&mh, 0, sizeof(mh));
    mh.msg_control = buf;
    mh.msg_controllen = TD_CTRL_SIZE;
    cm = CMSG_FIRSTHDR(&mh);

    if (cl->local.ss_family == AF_INET) {
        memset(&pi, 0, sizeof(pi));
        pi.ipi_spec_dst = ((const struct sockaddr_in *) &cl->local)->sin_addr;
        cm->cmsg_level = IPPROTO_IP;
        cm->cmsg_type = IP_PKTINFO;
        cm->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(cm), &pi, sizeof(pi));

        return CMSG_SPACE(sizeof(pi));
    }

    memset(&pi6, 0, sizeof(pi6));
    pi6.ipi6_addr = ((const struct sockaddr_in6 *) &cl->local)->sin6_addr;
    pi6.ipi6_ifindex = (unsigned) cl->ifindex;
    cm->cmsg_level = IPPROTO_IPV6;
    cm->cmsg_type = IPV6_PKTINFO;
    cm->cmsg_len = CMSG_LEN(sizeof(pi6));
    memcpy(CMSG_DATA(cm), &pi6, sizeof(pi6));

    return CMSG_SPACE(sizeof(pi6));
}


int
td_server_send(td_thread_t *thr, const td_client_t *cl, const uint8_t *buf,
    size_t len)
{
    ssize_t        n;
    uint8_t        ctrl[TD_CTRL_SIZE];
    struct iovec   iov;
    struct msghdr  mh;

    if (cl->tcp) {
        return td_tcp_send(thr, cl->conn, buf, len);
    }

    iov.iov_base = (void *) buf;
    iov.iov_len = len;

    memset(&mh, 0, sizeof(mh));
    mh.msg_name = (void *) &cl->addr;
    mh.msg_namelen = cl->addrlen;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_controllen = td_udp_ctrl(cl, ctrl);
    mh.msg_control = mh.msg_controllen ? ctrl : NULL;

    n = sendmsg(cl->ls->ev.fd, &mh, 0);

    if (n == -1) {
        thr->stats.send_errors++;

        if (td_log_enabled(TD_LOG_DEBUG)) {
            td_log(TD_LOG_DEBUG, "sendmsg() to a client failed: %s",
                   strerror(errno));
        }

        return -1;
    }

    thr->stats.tx_packets++;
    thr->stats.tx_bytes += len;

    return 0;
}


/*
 * Datagrams from peers: each becomes ChannelData or a Data indication in
 * place (the buffers have room in front), and all of one batch go to the
 * allocation's client in one sendmmsg() (UDP) or its stream (TCP).
 */

void
td_server_relay_input(td_thread_t *thr, td_alloc_t *a)
{
    int             n, i, m, k, round;
    size_t          len, olen, clen;
    uint8_t        *p;
    struct msghdr  *mh;

    for (round = 0; round < TD_READ_ROUNDS; round++) {

        td_batch_setup(thr, 0);

        n = recvmmsg(a->ev.fd, thr->msgs, TD_BATCH, MSG_DONTWAIT, NULL);

        if (n <= 0) {
            return;
        }

        m = 0;

        for (i = 0; i < n; i++) {
            mh = &thr->msgs[i].msg_hdr;
            len = thr->msgs[i].msg_len;

            if (mh->msg_flags & MSG_TRUNC) {
                thr->stats.truncated++;
                continue;
            }

            thr->stats.peer_rx_packets++;
            thr->stats.peer_rx_bytes += len;

            p = td_turn_peer_data(thr, a, (struct sockaddr *) &thr->names[i],
                                  thr->iov[i].iov_base, len, &olen);
            if (p == NULL) {
                continue;
            }

            if (a->client.tcp) {
                td_tcp_send(thr, a->client.conn, p, olen);

                if (a->freed) {
                    return;     /* the connection failed and took it */
                }

                continue;
            }

            thr->oiov[m].iov_base = p;
            thr->oiov[m].iov_len = olen;
            m++;
        }

        if (m > 0) {
            clen = td_udp_ctrl(&a->client, thr->octrl);

            for (i = 0; i < m; i++) {
                mh = &thr->omsgs[i].msg_hdr;
                mh->msg_name = &a->client.addr;
                mh->msg_namelen = a->client.addrlen;
                mh->msg_iov = &thr->oiov[i];
                mh->msg_iovlen = 1;
                mh->msg_control = clen ? thr->octrl : NULL;
                mh->msg_controllen = clen;
                mh->msg_flags = 0;
            }

            for (k = 0; k < m; /* void */ ) {
                i = sendmmsg(a->client.ls->ev.fd, &thr->omsgs[k],
                             (unsigned) (m - k), 0);

                if (i <= 0) {
                    /* the first one failed: drop it, try the rest */
                    thr->stats.send_errors++;
                    k++;
                    continue;
                }

                for ( /* void */ ; i > 0; i--, k++) {
                    thr->stats.tx_packets++;
                    thr->stats.tx_bytes += thr->oiov[k].iov_len;
                }
            }
        }

        if (n < TD_BATCH) {
            return;
        }
    }
}
