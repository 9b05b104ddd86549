
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


/* the structure that member m at p is in */

#define td_container(p, type, m)                                             \
    ((type *) (void *) ((char *) (p) - offsetof(type, m)))


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


/* a list a member is unlinked from in O(1): the thread's allocations */

typedef struct td_link_s  td_link_t;

struct td_link_s {
    td_link_t                *prev;
    td_link_t                *next;
};


/*
 * Timers: a wheel of one-second slots, doubly linked for O(1) removal.
 * A timer carries its handler (as nginx's ev->handler); data is what
 * td_wheel_run() was given (the thread).
 */

#define TD_WHEEL_SLOTS     1024

typedef struct td_timer_s  td_timer_t;

typedef void (*td_timer_handler_pt)(td_timer_t *t, void *data);

struct td_timer_s {
    td_timer_t               *prev;
    td_timer_t               *next;
    time_t                    expires;       /* monotonic seconds */
    td_timer_handler_pt       handler;
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

/* the list starts at *head (NULL: empty) */
void td_link_add(td_link_t **head, td_link_t *n);
void td_link_remove(td_link_t **head, td_link_t *n);

void td_wheel_init(td_wheel_t *w, time_t now);
void td_timer_set(td_wheel_t *w, td_timer_t *t, time_t expires);
void td_timer_del(td_timer_t *t);

/*
 * Fires every timer due at now (expires <= now) through its handler,
 * which may delete other timers, also ones due in the same second.
 */
void td_wheel_run(td_wheel_t *w, time_t now, void *data);


#endif /* _TD_TABLE_H_INCLUDED_ */
