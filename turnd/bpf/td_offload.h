
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _TD_OFFLOAD_H_INCLUDED_
#define _TD_OFFLOAD_H_INCLUDED_


/*
 * kernel-offload=on: UDP ChannelData relayed by a TC program
 * (td_offload.bpf.c) once a channel is bound and its permission
 * installed, for a UDP client of a relay of the same family.  turnd stays
 * the authority: a mapping enters the kernel only after ChannelBind
 * passed the peer filter, and leaves when the channel, its permission
 * or the allocation goes (the same timers as user space).  Nothing is
 * pinned: the program, its links and map go with the process.
 *
 * Each call below is one hook in turnd's core; all are no-ops while the
 * offload is off or unavailable.
 */


#include "td_conf.h"
#include "td_alloc.h"


/*
 * Before privileges are dropped: loads the program and attaches it to
 * every interface that is up (loopback excepted).  When it cannot, one
 * line says why and turnd relays in user space.
 */
void td_offload_init(const td_conf_t *conf);
void td_offload_cleanup(void);

/* ChannelBind succeeded: map it (a refresh of a mapped channel: none) */
void td_offload_channel_add(td_chan_t *c);

/*
 * The channel, its permission or its allocation goes: unmap it, after
 * its last counts are folded into the thread's counters.
 */
void td_offload_channel_del(td_chan_t *c);

/* once a second per thread: the program's counts into the counters */
void td_offload_poll(td_thread_t *thr);


#endif /* _TD_OFFLOAD_H_INCLUDED_ */
