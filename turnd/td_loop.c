
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <string.h>
#include <time.h>

#include "td_log.h"
#include "td_loop.h"


void
td_loop_time(td_thread_t *thr)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    thr->now = ts.tv_sec + thr->skew;
    thr->wall = time(NULL) + thr->skew;
    thr->now_ms = (uint64_t) thr->now * 1000
                  + (uint64_t) ts.tv_nsec / 1000000;
}


int
td_loop_log_refusal(td_thread_t *thr, int level)
{
    if (!td_log_enabled(level)) {
        return 0;
    }

    if (thr->log_budget == 0) {
        thr->log_suppressed++;
        return 0;
    }

    thr->log_budget--;

    return 1;
}


uint64_t
td_loop_rand(td_thread_t *thr)
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


void
td_loop_batch(td_thread_t *thr, int ctrl)
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
