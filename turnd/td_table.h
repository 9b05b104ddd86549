
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_TABLE_H_INCLUDED_
#define _TD_TABLE_H_INCLUDED_


/*
 * The per-thread data structures of turnd: intrusive hash tables with a
 * per-process random seed (grown on insert, never on lookup) and a timer
 * wheel of one-second slots.  Neither locks: each belongs to one thread.
 */


#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/socket.h>


/* an address as a hash key: fixed size, no padding left unset */

typedef struct {
    uint8_t                   family;        /* 4 or 6 */
    uint8_t                   pad;
    uint16_t                  port;          /* network order */
    uint8_t                   addr[16];
} td_ep_t;


/* intrusive hash tables */

typedef struct td_hnode_s  td_hnode_t;

struct td_hnode_s {
    td_hnode_t               *next;
    uint32_t                  hash;
};

typedef struct {
    td_hnode_t              **buckets;
    uint32_t                  mask;
    size_t                    count;
} td_htable_t;


/* timers: a wheel of one-second slots, doubly linked for O(1) removal */

#define TD_WHEEL_SLOTS     1024

typedef struct td_timer_s  td_timer_t;

struct td_timer_s {
    td_timer_t               *prev;
    td_timer_t               *next;
    time_t                    expires;       /* monotonic seconds */
    int                       kind;
};

typedef struct {
    td_timer_t                slots[TD_WHEEL_SLOTS];    /* list heads */
    time_t                    last;          /* last second processed */
} td_wheel_t;


/* once per process: the random hash seed */
int td_hash_init(void);

void td_ep_set(td_ep_t *ep, const struct sockaddr *sa, int with_port);
uint32_t td_hash(const void *key, size_t len);

int td_htable_init(td_htable_t *t, size_t size);
void td_htable_free(td_htable_t *t);
void td_htable_insert(td_htable_t *t, td_hnode_t *n, uint32_t hash);
void td_htable_remove(td_htable_t *t, td_hnode_t *n);

void td_wheel_init(td_wheel_t *w, time_t now);
void td_timer_set(td_wheel_t *w, td_timer_t *t, time_t expires);
void td_timer_del(td_timer_t *t);

/*
 * Fires every timer due at now (expires <= now); the handler may delete
 * other timers, also ones due in the same second.
 */
void td_wheel_run(td_wheel_t *w, time_t now,
    void (*handler)(void *data, td_timer_t *t), void *data);


#endif /* _TD_TABLE_H_INCLUDED_ */
