
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_ALLOC_H_INCLUDED_
#define _TD_ALLOC_H_INCLUDED_


/*
 * Allocations (RFC 8656 section 2.2), their permissions and channels.
 *
 * An allocation belongs to the thread that received its Allocate: its
 * relay socket is in that thread's epoll, and every table below is
 * per thread, so nothing on the relay path takes a lock.  Lookups are
 * O(1) through per-thread hash tables keyed by
 *   - the 5-tuple (UDP clients; a TCP connection points at its own),
 *   - (allocation, peer IP) for permissions,
 *   - (allocation, channel number) and (allocation, peer ip:port) for
 *     channels.
 * Lifetimes are timers on a per-thread wheel with one-second slots.
 * Only the quota counters are shared between threads (a mutex, taken on
 * allocate and free only).
 */


#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/socket.h>

#include "td_loop.h"
#include "td_table.h"


typedef struct td_perm_s  td_perm_t;
typedef struct td_chan_s  td_chan_t;

struct td_perm_s {
    td_hnode_t                hnode;         /* thread perms */
    td_timer_t                timer;
    td_alloc_t               *alloc;
    td_perm_t                *next;          /* the allocation's list */
    td_ep_t                   ip;            /* port 0 */
    unsigned                  self:1;        /* one of turnd's IPs */
};

struct td_chan_s {
    td_hnode_t                by_num;        /* thread chans_num */
    td_hnode_t                by_peer;       /* thread chans_peer */
    td_timer_t                timer;
    td_alloc_t               *alloc;
    td_chan_t                *next;          /* the allocation's list */
    td_perm_t                *perm;          /* NULL while none */
    struct sockaddr_storage   peer;
    socklen_t                 peerlen;
    td_ep_t                   peer_ep;
    uint16_t                  number;
    void                     *offload;       /* td_offload.c, mapped */
};


struct td_alloc_s {
    td_ev_t                   ev;            /* the relay socket */
    td_hnode_t                hnode;         /* thread allocs (UDP) */
    td_timer_t                timer;
    td_thread_t              *thr;
    td_link_t                 link;          /* thread alloc_list */
    td_alloc_t               *gnext;         /* freed, not yet released */

    td_client_t               client;
    td_ep_t                   client_ep;
    td_ep_t                   local_ep;

    struct sockaddr_storage   relay;         /* bound */
    struct sockaddr_storage   relay_adv;     /* advertised */
    socklen_t                 relaylen;
    unsigned                  relay_index;   /* td_ports address */
    unsigned                  port;

    char                     *user;          /* NUL-terminated copy */
    size_t                    user_len;
    const char               *quota;         /* in user: quotas count it */
    size_t                    quota_len;

    uint8_t                   tid[12];       /* of the Allocate */
    uint8_t                   token[8];      /* RESERVATION-TOKEN made */
    unsigned                  has_token:1;
    unsigned                  freed:1;
    unsigned                  polled:1;      /* relay socket in epoll */

    time_t                    expires;
    unsigned                  lifetime;

    td_perm_t                *perms;
    td_chan_t                *chans;
    unsigned                  nperms;
    unsigned                  nchans;
};


#define TD_ALLOC_MAX_PERMS     128
#define TD_ALLOC_MAX_CHANS     128
#define TD_ALLOC_DRAIN         64            /* at the first permission */
#define TD_RELAY_RCVBUF        (512 * 1024)  /* the kernel doubles it */


/* process-wide: hash seed, quota counters */
int td_alloc_global_init(unsigned user_quota, unsigned total_quota);
void td_alloc_global_cleanup(void);

/* quotas: 0, or 486 (user) / 508 (total) when full */
int td_alloc_quota_take(const char *user, size_t len);
void td_alloc_quota_release(const char *user, size_t len);
unsigned td_alloc_total(void);

/* per-thread tables */
int td_alloc_thread_init(td_thread_t *thr);
void td_alloc_thread_cleanup(td_thread_t *thr);

/*
 * The allocation of a client: through its TCP connection, or the 5-tuple
 * table for UDP.  NULL when none.
 */
td_alloc_t *td_alloc_find(td_thread_t *thr, const td_client_t *cl);

/*
 * Creates an allocation around an open relay socket (fd, bound to relay
 * with port) and adds it to the thread's tables; a stream client gets
 * it in cl->alloc, and is told through cl->attach (as it is told of the
 * deletion).  The relay socket joins the thread's epoll at the first
 * permission, with the handler the caller sets in a->ev.  The quota is
 * already taken.  Returns NULL on an out-of-memory error (the caller
 * closes fd and releases the quota).
 */
td_alloc_t *td_alloc_create(td_thread_t *thr, td_client_t *cl,
    const char *user, size_t user_len, const uint8_t *tid, int fd,
    unsigned relay_index, unsigned port, unsigned lifetime);

/* lifetime in seconds from now */
void td_alloc_refresh(td_alloc_t *a, unsigned lifetime);

/*
 * Deletes the allocation: its permissions, channels, relay socket, port,
 * quota and table entries at once; the memory is released after the
 * current batch of events (td_alloc_release), since later events of the
 * batch may still point at it.  why is logged.
 */
void td_alloc_free(td_alloc_t *a, const char *why);
void td_alloc_release(td_thread_t *thr);

td_perm_t *td_perm_find(td_alloc_t *a, const td_ep_t *ip);
/* creates or refreshes; NULL when the allocation has too many */
td_perm_t *td_perm_install(td_alloc_t *a, const struct sockaddr *peer);

td_chan_t *td_chan_find_num(td_alloc_t *a, uint16_t number);
td_chan_t *td_chan_find_peer(td_alloc_t *a, const td_ep_t *peer);
/* creates or refreshes (the permission too); NULL when too many */
td_chan_t *td_chan_bind(td_alloc_t *a, uint16_t number,
    const struct sockaddr *peer, socklen_t peerlen);

/* "udp 1.2.3.4:5" for logs */
char *td_client_str(const td_client_t *cl, char *buf, size_t len);


#endif /* _TD_ALLOC_H_INCLUDED_ */
