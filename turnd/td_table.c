
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/random.h>

#include "td_log.h"
#include "td_table.h"


static void td_htable_grow(td_htable_t *t);


static uint32_t  td_hash_seed;


int
td_hash_init(void)
{
    /* a random seed: keys from the network cannot aim at one bucket */
    if (getrandom(&td_hash_seed, sizeof(td_hash_seed), 0)
        != (ssize_t) sizeof(td_hash_seed))
    {
        td_log(TD_LOG_ERR, "getrandom() failed: %s", strerror(errno));
        return -1;
    }

    return 0;
}


void
td_ep_set(td_ep_t *ep, const struct sockaddr *sa, int with_port)
{
    const struct sockaddr_in   *sin;
    const struct sockaddr_in6  *sin6;

    memset(ep, 0, sizeof(td_ep_t));

    if (sa->sa_family == AF_INET) {
        sin = (const struct sockaddr_in *) sa;
        ep->family = 4;
        ep->port = with_port ? sin->sin_port : 0;
        memcpy(ep->addr, &sin->sin_addr, 4);

    } else if (sa->sa_family == AF_INET6) {
        sin6 = (const struct sockaddr_in6 *) sa;
        ep->family = 6;
        ep->port = with_port ? sin6->sin6_port : 0;
        memcpy(ep->addr, &sin6->sin6_addr, 16);
    }
}


/* MurmurHash3's 32-bit mixing, seeded per process */

uint32_t
td_hash(const void *key, size_t len)
{
    size_t          i;
    uint32_t        h, k;
    const uint8_t  *p;

    p = key;
    h = td_hash_seed ^ (uint32_t) len;

    for (i = 0; i + 4 <= len; i += 4) {
        memcpy(&k, p + i, 4);
        k *= 0xcc9e2d51;
        k = (k << 15) | (k >> 17);
        k *= 0x1b873593;
        h ^= k;
        h = (h << 13) | (h >> 19);
        h = h * 5 + 0xe6546b64;
    }

    k = 0;

    for ( /* void */ ; i < len; i++) {
        k = (k << 8) | p[i];
    }

    k *= 0xcc9e2d51;
    k = (k << 15) | (k >> 17);
    k *= 0x1b873593;
    h ^= k;

    h ^= h >> 16;
    h *= 0x85ebca6b;
    h ^= h >> 13;
    h *= 0xc2b2ae35;
    h ^= h >> 16;

    return h;
}


int
td_htable_init(td_htable_t *t, size_t size)
{
    t->buckets = calloc(size, sizeof(td_hnode_t *));
    if (t->buckets == NULL) {
        return -1;
    }

    t->mask = (uint32_t) size - 1;
    t->count = 0;

    return 0;
}


void
td_htable_free(td_htable_t *t)
{
    free(t->buckets);
    t->buckets = NULL;
    t->count = 0;
}


void
td_htable_insert(td_htable_t *t, td_hnode_t *n, uint32_t hash)
{
    td_hnode_t  **b;

    if (t->count > t->mask) {
        td_htable_grow(t);
    }

    n->hash = hash;
    b = &t->buckets[hash & t->mask];
    n->next = *b;
    *b = n;
    t->count++;
}


void
td_htable_remove(td_htable_t *t, td_hnode_t *n)
{
    td_hnode_t  **np;

    for (np = &t->buckets[n->hash & t->mask]; *np != NULL;
         np = &(*np)->next)
    {
        if (*np == n) {
            *np = n->next;
            n->next = NULL;
            t->count--;
            return;
        }
    }
}


/* doubles the table; when memory is short it stays as it is (slower) */

static void
td_htable_grow(td_htable_t *t)
{
    size_t        i, size;
    td_hnode_t   *n, *next, **nb;

    size = ((size_t) t->mask + 1) * 2;

    if (size > 0x40000000) {
        return;
    }

    nb = calloc(size, sizeof(td_hnode_t *));
    if (nb == NULL) {
        return;
    }

    for (i = 0; i <= t->mask; i++) {
        for (n = t->buckets[i]; n != NULL; n = next) {
            next = n->next;
            n->next = nb[n->hash & (size - 1)];
            nb[n->hash & (size - 1)] = n;
        }
    }

    free(t->buckets);
    t->buckets = nb;
    t->mask = (uint32_t) size - 1;
}


void
td_link_add(td_link_t **head, td_link_t *n)
{
    n->prev = NULL;
    n->next = *head;

    if (n->next != NULL) {
        n->next->prev = n;
    }

    *head = n;
}


void
td_link_remove(td_link_t **head, td_link_t *n)
{
    if (n->prev != NULL) {
        n->prev->next = n->next;

    } else {
        *head = n->next;
    }

    if (n->next != NULL) {
        n->next->prev = n->prev;
    }

    n->prev = NULL;
    n->next = NULL;
}


void
td_wheel_init(td_wheel_t *w, time_t now)
{
    size_t  i;

    for (i = 0; i < TD_WHEEL_SLOTS; i++) {
        w->slots[i].next = &w->slots[i];
        w->slots[i].prev = &w->slots[i];
        w->slots[i].handler = NULL;
    }

    w->last = now;
}


void
td_timer_set(td_wheel_t *w, td_timer_t *t, time_t expires)
{
    time_t       slot;
    td_timer_t  *head;

    td_timer_del(t);

    t->expires = expires;

    /* a time already passed fires at the next tick */
    slot = (expires > w->last) ? expires : w->last + 1;
    head = &w->slots[slot % TD_WHEEL_SLOTS];

    t->next = head->next;
    t->prev = head;
    head->next->prev = t;
    head->next = t;
}


void
td_timer_del(td_timer_t *t)
{
    if (t->next == NULL) {
        return;
    }

    t->prev->next = t->next;
    t->next->prev = t->prev;
    t->next = NULL;
    t->prev = NULL;
}


void
td_wheel_run(td_wheel_t *w, time_t now, void *data)
{
    time_t       s, n, i;
    td_timer_t   due, *t, *next, *head;

    if (now <= w->last) {
        return;
    }

    n = now - w->last;
    if (n > TD_WHEEL_SLOTS) {
        n = TD_WHEEL_SLOTS;
    }

    for (i = 1; i <= n; i++) {
        s = w->last + i;
        head = &w->slots[s % TD_WHEEL_SLOTS];

        /*
         * Due timers move to a list of their own first: a handler may
         * delete other timers (an allocation its permissions), which
         * unlinks them from wherever they are.
         */
        due.next = &due;
        due.prev = &due;

        for (t = head->next; t != head; t = next) {
            next = t->next;

            if (t->expires > now) {
                continue;
            }

            t->prev->next = t->next;
            t->next->prev = t->prev;

            t->next = due.next;
            t->prev = &due;
            due.next->prev = t;
            due.next = t;
        }

        while (due.next != &due) {
            t = due.next;
            td_timer_del(t);
            t->handler(t, data);
        }
    }

    w->last = now;
}
