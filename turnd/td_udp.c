
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "td_log.h"
#include "td_out.h"
#include "td_relay.h"
#include "td_turn.h"
#include "td_udp.h"


static void td_udp_local(td_listener_t *ls, struct msghdr *mh,
    td_client_t *cl);


void
td_udp_input(td_thread_t *thr, td_ev_t *ev, uint32_t events)
{
    int              n, i, round;
    size_t           len;
    uint8_t         *buf;
    td_client_t      cl;
    td_listener_t   *ls;
    struct msghdr   *mh;

    (void) events;

    ls = td_container(ev, td_listener_t, ev);

    for (round = 0; round < TD_READ_ROUNDS; round++) {

        td_loop_batch(thr, ls->wildcard);

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

        td_out_start(thr);

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
            cl.alloc = NULL;
            cl.ifindex = 0;
            cl.send = td_out_udp_send;
            cl.flush = td_out_udp_flush;
            cl.attach = NULL;

            td_udp_local(ls, mh, &cl);

            switch (buf[0] & 0xc0) {

            case 0x40:
                td_relay_channel_data(thr, &cl, buf, len);
                break;

            case 0x00:
                td_turn_stun(thr, &cl, buf, len);
                break;

            default:
                thr->stats.malformed++;
                break;
            }
        }

        /* before the next read reuses the buffers the queue points at */
        td_out_end(thr);

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
