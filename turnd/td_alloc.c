
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "td_log.h"
#include "td_offload.h"
#include "td_peer.h"
#include "td_out.h"
#include "td_ports.h"
#include "td_alloc.h"

#define TD_QUOTA_BUCKETS  256


typedef struct td_quota_s  td_quota_t;

struct td_quota_s {
    td_quota_t   *next;
    unsigned      count;
    size_t        len;
    char          name[];
};


/* hash keys: zeroed first, so padding never differs */

typedef struct {
    td_ep_t       client;
    td_ep_t       local;
} td_key5_t;

typedef struct {
    uintptr_t     alloc;
    td_ep_t       ep;
} td_keyep_t;

typedef struct {
    uintptr_t     alloc;
    uint32_t      number;
} td_keynum_t;


static uint32_t td_key5_hash(const td_ep_t *client, const td_ep_t *local);
static uint32_t td_keyep_hash(const td_alloc_t *a, const td_ep_t *ep);
static uint32_t td_keynum_hash(const td_alloc_t *a, uint16_t number);
static int td_alloc_listen(td_alloc_t *a);
static void td_perm_free(td_perm_t *p);
static void td_chan_free(td_chan_t *c);
static void td_alloc_expire(td_timer_t *t, void *data);
static void td_perm_expire(td_timer_t *t, void *data);
static void td_chan_expire(td_timer_t *t, void *data);
static td_quota_t **td_quota_slot(const char *user, size_t len);


static pthread_mutex_t     td_quota_mutex = PTHREAD_MUTEX_INITIALIZER;
static td_quota_t         *td_quota_users[TD_QUOTA_BUCKETS];
static unsigned            td_quota_user_max;
static unsigned            td_quota_total_max;
static unsigned            td_quota_total;


int
td_alloc_global_init(unsigned user_quota, unsigned total_quota)
{
    if (td_hash_init() != 0) {
        return -1;
    }

    td_quota_user_max = user_quota;
    td_quota_total_max = total_quota;
    td_quota_total = 0;

    return 0;
}


void
td_alloc_global_cleanup(void)
{
    size_t       i;
    td_quota_t  *q, *next;

    pthread_mutex_lock(&td_quota_mutex);

    for (i = 0; i < TD_QUOTA_BUCKETS; i++) {
        for (q = td_quota_users[i]; q != NULL; q = next) {
            next = q->next;
            free(q);
        }

        td_quota_users[i] = NULL;
    }

    td_quota_total = 0;

    pthread_mutex_unlock(&td_quota_mutex);
}


static td_quota_t **
td_quota_slot(const char *user, size_t len)
{
    uint32_t     h;
    td_quota_t  **qp;

    h = td_hash(user, len);

    for (qp = &td_quota_users[h % TD_QUOTA_BUCKETS]; *qp != NULL;
         qp = &(*qp)->next)
    {
        if ((*qp)->len == len && memcmp((*qp)->name, user, len) == 0) {
            break;
        }
    }

    return qp;
}


int
td_alloc_quota_take(const char *user, size_t len)
{
    int          rc;
    td_quota_t  *q, **qp;

    rc = 0;

    pthread_mutex_lock(&td_quota_mutex);

    if (td_quota_total_max && td_quota_total >= td_quota_total_max) {
        rc = 508;
        goto done;
    }

    qp = td_quota_slot(user, len);
    q = *qp;

    if (q == NULL) {
        q = malloc(sizeof(td_quota_t) + len + 1);
        if (q == NULL) {
            rc = 508;
            goto done;
        }

        q->next = NULL;
        q->count = 0;
        q->len = len;
        memcpy(q->name, user, len);
        q->name[len] = '\0';
        *qp = q;
    }

    if (td_quota_user_max && q->count >= td_quota_user_max) {
        rc = 486;
        goto done;
    }

    q->count++;
    __atomic_store_n(&td_quota_total, td_quota_total + 1, __ATOMIC_RELAXED);

done:

    pthread_mutex_unlock(&td_quota_mutex);

    return rc;
}


void
td_alloc_quota_release(const char *user, size_t len)
{
    td_quota_t  *q, **qp;

    pthread_mutex_lock(&td_quota_mutex);

    qp = td_quota_slot(user, len);
    q = *qp;

    if (q != NULL) {
        if (--q->count == 0) {
            *qp = q->next;
            free(q);
        }

        __atomic_store_n(&td_quota_total, td_quota_total - 1,
                         __ATOMIC_RELAXED);
    }

    pthread_mutex_unlock(&td_quota_mutex);
}


unsigned
td_alloc_total(void)
{
    return __atomic_load_n(&td_quota_total, __ATOMIC_RELAXED);
}


int
td_alloc_thread_init(td_thread_t *thr)
{
    if (td_htable_init(&thr->allocs, 256) != 0
        || td_htable_init(&thr->perms, 256) != 0
        || td_htable_init(&thr->chans_num, 256) != 0
        || td_htable_init(&thr->chans_peer, 256) != 0)
    {
        td_alloc_thread_cleanup(thr);
        return -1;
    }

    td_wheel_init(&thr->wheel, thr->now);

    return 0;
}


void
td_alloc_thread_cleanup(td_thread_t *thr)
{
    while (thr->alloc_list != NULL) {
        td_alloc_free(td_container(thr->alloc_list, td_alloc_t, link),
                      "shutdown");
    }

    td_alloc_release(thr);

    td_htable_free(&thr->allocs);
    td_htable_free(&thr->perms);
    td_htable_free(&thr->chans_num);
    td_htable_free(&thr->chans_peer);
}


static uint32_t
td_key5_hash(const td_ep_t *client, const td_ep_t *local)
{
    td_key5_t  k;

    memset(&k, 0, sizeof(k));
    k.client = *client;
    k.local = *local;

    return td_hash(&k, sizeof(k));
}


static uint32_t
td_keyep_hash(const td_alloc_t *a, const td_ep_t *ep)
{
    td_keyep_t  k;

    memset(&k, 0, sizeof(k));
    k.alloc = (uintptr_t) a;
    k.ep = *ep;

    return td_hash(&k, sizeof(k));
}


static uint32_t
td_keynum_hash(const td_alloc_t *a, uint16_t number)
{
    td_keynum_t  k;

    memset(&k, 0, sizeof(k));
    k.alloc = (uintptr_t) a;
    k.number = number;

    return td_hash(&k, sizeof(k));
}


td_alloc_t *
td_alloc_find(td_thread_t *thr, const td_client_t *cl)
{
    td_ep_t      client, local;
    uint32_t     h;
    td_alloc_t  *a;
    td_hnode_t  *n;

    if (cl->tcp) {
        return cl->alloc;
    }

    td_ep_set(&client, (const struct sockaddr *) &cl->addr, 1);
    td_ep_set(&local, (const struct sockaddr *) &cl->local, 1);

    h = td_key5_hash(&client, &local);

    for (n = thr->allocs.buckets[h & thr->allocs.mask]; n; n = n->next) {
        if (n->hash != h) {
            continue;
        }

        a = td_container(n, td_alloc_t, hnode);

        if (memcmp(&a->client_ep, &client, sizeof(td_ep_t)) == 0
            && memcmp(&a->local_ep, &local, sizeof(td_ep_t)) == 0)
        {
            return a;
        }
    }

    return NULL;
}


td_alloc_t *
td_alloc_create(td_thread_t *thr, td_client_t *cl, const char *user,
    size_t user_len, const uint8_t *tid, int fd, unsigned relay_index,
    unsigned port, unsigned lifetime)
{
    int                     size;
    td_alloc_t             *a;
    struct sockaddr_in     *sin;
    struct sockaddr_in6    *sin6;
    const td_ports_addr_t  *r;

    a = calloc(1, sizeof(td_alloc_t) + user_len + 1);
    if (a == NULL) {
        return NULL;
    }

    a->ev.fd = fd;
    a->thr = thr;
    a->timer.handler = td_alloc_expire;

    /*
     * Until its first permission nothing may come through the relay
     * socket, so it is not polled (td_alloc_listen()), and the kernel
     * keeps no more than a few datagrams of whoever sends to it meanwhile.
     */
    size = 0;
    (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));

    a->client = *cl;
    td_ep_set(&a->client_ep, (const struct sockaddr *) &cl->addr, 1);
    td_ep_set(&a->local_ep, (const struct sockaddr *) &cl->local, 1);

    r = td_ports_get(relay_index);
    a->relay = r->addr;
    a->relaylen = r->addrlen;

    if (a->relay.ss_family == AF_INET) {
        sin = (struct sockaddr_in *) &a->relay;
        sin->sin_port = htons((uint16_t) port);

    } else {
        sin6 = (struct sockaddr_in6 *) &a->relay;
        sin6->sin6_port = htons((uint16_t) port);
    }

    td_ports_advertised(relay_index, port, &a->relay_adv, NULL);
    a->relay_index = relay_index;
    a->port = port;

    a->user = (char *) (a + 1);
    memcpy(a->user, user, user_len);
    a->user[user_len] = '\0';
    a->user_len = user_len;
    a->quota = a->user;
    a->quota_len = user_len;

    memcpy(a->tid, tid, sizeof(a->tid));

    if (cl->tcp) {
        cl->alloc = a;
        cl->attach(thr, cl, a);

    } else {
        td_htable_insert(&thr->allocs, &a->hnode,
                         td_key5_hash(&a->client_ep, &a->local_ep));
    }

    td_link_add(&thr->alloc_list, &a->link);
    thr->nallocs++;
    thr->stats.allocations++;
    thr->stats.allocations_tcp += cl->tcp ? 1 : 0;

    td_alloc_refresh(a, lifetime);

    return a;
}


void
td_alloc_refresh(td_alloc_t *a, unsigned lifetime)
{
    a->lifetime = lifetime;
    a->expires = a->thr->now + lifetime;

    /* now is whole seconds: one more, so it never expires early */
    td_timer_set(&a->thr->wheel, &a->timer, a->expires + 1);
}


void
td_alloc_free(td_alloc_t *a, const char *why)
{
    char          cbuf[80], rbuf[64];
    td_thread_t  *thr;

    if (a->freed) {
        return;
    }

    thr = a->thr;
    a->freed = 1;

    if (td_log_enabled(TD_LOG_NOTICE)) {
        td_log(TD_LOG_NOTICE, "allocation deleted: user \"%s\" client %s "
               "relay %s (%s)", a->user,
               td_client_str(&a->client, cbuf, sizeof(cbuf)),
               td_log_addr((struct sockaddr *) &a->relay, rbuf, sizeof(rbuf)),
               why);
    }

    while (a->chans != NULL) {
        td_chan_free(a->chans);
    }

    while (a->perms != NULL) {
        td_perm_free(a->perms);
    }

    td_timer_del(&a->timer);

    if (a->client.tcp) {
        a->client.attach(thr, &a->client, NULL);

    } else {
        td_htable_remove(&thr->allocs, &a->hnode);
    }

    /* queued datagrams from it go first: its number may be reused */
    if (thr->noq > 0) {
        td_out_flush(thr);
    }

    /* close() also takes the socket out of the epoll set */
    td_ports_close(a->relay_index, a->port, a->ev.fd);
    a->ev.handler = NULL;
    a->ev.fd = -1;

    td_alloc_quota_release(a->quota, a->quota_len);

    td_link_remove(&thr->alloc_list, &a->link);

    thr->nallocs--;
    thr->stats.allocations_freed++;
    thr->stats.allocations_tcp_freed += a->client.tcp ? 1 : 0;

    a->gnext = thr->alloc_grave;
    thr->alloc_grave = a;
}


void
td_alloc_release(td_thread_t *thr)
{
    td_alloc_t  *a;

    while (thr->alloc_grave != NULL) {
        a = thr->alloc_grave;
        thr->alloc_grave = a->gnext;
        free(a);
    }
}


td_perm_t *
td_perm_find(td_alloc_t *a, const td_ep_t *ip)
{
    uint32_t     h;
    td_perm_t   *p;
    td_hnode_t  *n;
    td_htable_t *t;

    t = &a->thr->perms;
    h = td_keyep_hash(a, ip);

    for (n = t->buckets[h & t->mask]; n != NULL; n = n->next) {
        if (n->hash != h) {
            continue;
        }

        p = td_container(n, td_perm_t, hnode);

        if (p->alloc == a && memcmp(&p->ip, ip, sizeof(td_ep_t)) == 0) {
            return p;
        }
    }

    return NULL;
}


td_perm_t *
td_perm_install(td_alloc_t *a, const struct sockaddr *peer)
{
    td_ep_t       ip;
    td_chan_t    *c;
    td_perm_t    *p;
    td_thread_t  *thr;

    thr = a->thr;

    td_ep_set(&ip, peer, 0);

    p = td_perm_find(a, &ip);

    if (p == NULL) {
        if (a->nperms >= TD_ALLOC_MAX_PERMS) {
            return NULL;
        }

        if (!a->polled && td_alloc_listen(a) != 0) {
            return NULL;
        }

        p = calloc(1, sizeof(td_perm_t));
        if (p == NULL) {
            return NULL;
        }

        p->alloc = a;
        p->ip = ip;
        p->self = td_peer_self_ip(peer);
        p->timer.handler = td_perm_expire;

        td_htable_insert(&thr->perms, &p->hnode, td_keyep_hash(a, &ip));

        p->next = a->perms;
        a->perms = p;
        a->nperms++;

        /* channels whose permission had expired work again */
        for (c = a->chans; c != NULL; c = c->next) {
            if (c->perm == NULL
                && c->peer_ep.family == ip.family
                && memcmp(c->peer_ep.addr, ip.addr, 16) == 0)
            {
                c->perm = p;
            }
        }
    }

    td_timer_set(&thr->wheel, &p->timer,
                 thr->now + thr->conf->permission_lifetime + 1);

    return p;
}


/*
 * The first permission opens the relay socket: what came before any
 * permission dropped, the socket in the thread's epoll, and room for a
 * burst (a video keyframe, a stall of the thread; the kernel's default
 * holds about 200 datagrams).  Allocations never used (most ICE
 * candidates) cost none of it.  Beyond net.core.rmem_max only with
 * CAP_NET_ADMIN.
 */

static int
td_alloc_listen(td_alloc_t *a)
{
    int                  size, i;
    uint8_t              junk[1];
    struct epoll_event   ee;

    /*
     * The minimal buffer holds a few datagrams; a flood meanwhile is cut
     * off by the bound (what comes after is as if it came after the
     * permission: it passes the permission check or not).
     */
    for (i = 0; i < TD_ALLOC_DRAIN; i++) {
        if (recv(a->ev.fd, junk, sizeof(junk), MSG_DONTWAIT | MSG_TRUNC)
            < 0)
        {
            break;
        }

        a->thr->stats.dropped++;
    }

    ee.events = EPOLLIN;
    ee.data.ptr = a;

    if (epoll_ctl(a->thr->epfd, EPOLL_CTL_ADD, a->ev.fd, &ee) == -1) {
        td_log(TD_LOG_ERR, "epoll_ctl() failed: %s", strerror(errno));
        return -1;
    }

    /* only a polled socket gets the large buffer */
    size = TD_RELAY_RCVBUF;

    if (setsockopt(a->ev.fd, SOL_SOCKET, SO_RCVBUFFORCE, &size,
                   sizeof(size))
        == -1)
    {
        (void) setsockopt(a->ev.fd, SOL_SOCKET, SO_RCVBUF, &size,
                          sizeof(size));
    }

    a->polled = 1;

    return 0;
}


static void
td_perm_free(td_perm_t *p)
{
    td_chan_t   *c;
    td_perm_t  **pp;
    td_alloc_t  *a;

    a = p->alloc;

    for (pp = &a->perms; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }

    for (c = a->chans; c != NULL; c = c->next) {
        if (c->perm == p) {
            c->perm = NULL;
            td_offload_channel_del(c);
        }
    }

    a->nperms--;
    td_htable_remove(&a->thr->perms, &p->hnode);
    td_timer_del(&p->timer);
    free(p);
}


td_chan_t *
td_chan_find_num(td_alloc_t *a, uint16_t number)
{
    uint32_t      h;
    td_chan_t    *c;
    td_hnode_t   *n;
    td_htable_t  *t;

    t = &a->thr->chans_num;
    h = td_keynum_hash(a, number);

    for (n = t->buckets[h & t->mask]; n != NULL; n = n->next) {
        if (n->hash != h) {
            continue;
        }

        c = td_container(n, td_chan_t, by_num);

        if (c->alloc == a && c->number == number) {
            return c;
        }
    }

    return NULL;
}


td_chan_t *
td_chan_find_peer(td_alloc_t *a, const td_ep_t *peer)
{
    uint32_t      h;
    td_chan_t    *c;
    td_hnode_t   *n;
    td_htable_t  *t;

    t = &a->thr->chans_peer;
    h = td_keyep_hash(a, peer);

    for (n = t->buckets[h & t->mask]; n != NULL; n = n->next) {
        if (n->hash != h) {
            continue;
        }

        c = td_container(n, td_chan_t, by_peer);

        if (c->alloc == a && memcmp(&c->peer_ep, peer, sizeof(td_ep_t)) == 0)
        {
            return c;
        }
    }

    return NULL;
}


td_chan_t *
td_chan_bind(td_alloc_t *a, uint16_t number, const struct sockaddr *peer,
    socklen_t peerlen)
{
    int           created;
    td_chan_t    *c;
    td_perm_t    *p;
    td_thread_t  *thr;

    thr = a->thr;
    created = 0;

    c = td_chan_find_num(a, number);

    if (c == NULL) {
        if (a->nchans >= TD_ALLOC_MAX_CHANS) {
            return NULL;
        }

        c = calloc(1, sizeof(td_chan_t));
        if (c == NULL) {
            return NULL;
        }

        c->alloc = a;
        c->number = number;
        memcpy(&c->peer, peer, peerlen);
        c->peerlen = peerlen;
        td_ep_set(&c->peer_ep, peer, 1);
        c->timer.handler = td_chan_expire;

        td_htable_insert(&thr->chans_num, &c->by_num,
                         td_keynum_hash(a, number));
        td_htable_insert(&thr->chans_peer, &c->by_peer,
                         td_keyep_hash(a, &c->peer_ep));

        c->next = a->chans;
        a->chans = c;
        a->nchans++;
        created = 1;
    }

    p = td_perm_install(a, peer);

    if (p == NULL) {
        if (created) {
            td_chan_free(c);
        }

        return NULL;
    }

    c->perm = p;

    td_timer_set(&thr->wheel, &c->timer,
                 thr->now + thr->conf->channel_lifetime + 1);

    return c;
}


static void
td_chan_free(td_chan_t *c)
{
    td_chan_t   **cp;
    td_alloc_t   *a;

    a = c->alloc;

    for (cp = &a->chans; *cp != NULL; cp = &(*cp)->next) {
        if (*cp == c) {
            *cp = c->next;
            break;
        }
    }

    td_offload_channel_del(c);

    a->nchans--;
    td_htable_remove(&a->thr->chans_num, &c->by_num);
    td_htable_remove(&a->thr->chans_peer, &c->by_peer);
    td_timer_del(&c->timer);
    free(c);
}


static void
td_alloc_expire(td_timer_t *t, void *data)
{
    (void) data;

    td_alloc_free(td_container(t, td_alloc_t, timer), "expired");
}


static void
td_perm_expire(td_timer_t *t, void *data)
{
    (void) data;

    td_perm_free(td_container(t, td_perm_t, timer));
}


static void
td_chan_expire(td_timer_t *t, void *data)
{
    (void) data;

    td_chan_free(td_container(t, td_chan_t, timer));
}


char *
td_client_str(const td_client_t *cl, char *buf, size_t len)
{
    char  abuf[64];

    snprintf(buf, len, "%s %s", cl->tcp ? "tcp" : "udp",
             td_log_addr((const struct sockaddr *) &cl->addr, abuf,
                         sizeof(abuf)));

    return buf;
}
