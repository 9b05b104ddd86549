
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "td_log.h"
#include "td_out.h"


static size_t td_out_ctrl(const td_client_t *cl, uint8_t *buf);


void
td_out_start(td_thread_t *thr)
{
    thr->oq_on = 1;
}


void
td_out_end(td_thread_t *thr)
{
    td_out_flush(thr);
    thr->oq_on = 0;
}


int
td_out_queue(td_thread_t *thr, int fd, const struct sockaddr *to,
    socklen_t tolen, const uint8_t *ctrl, size_t ctrllen, const uint8_t *buf,
    size_t len, int copy, int peer)
{
    unsigned        i;
    struct msghdr  *mh;

    if (!thr->oq_on || (copy && len > TD_OUT_SIZE)
        || ctrllen > TD_CTRL_SIZE)
    {
        return -1;
    }

    /*
     * Only a run of datagrams from one socket waits for the end of the
     * batch: sent together they leave sooner than one by one, while a
     * datagram held back behind other sockets' work would only wait.
     */
    if (thr->noq == TD_BATCH
        || (thr->noq > 0 && thr->oq_fd[thr->noq - 1] != fd))
    {
        td_out_flush(thr);
    }

    i = thr->noq++;

    if (copy) {
        memcpy(thr->oq_out[i], buf, len);
        buf = thr->oq_out[i];
    }

    memcpy(&thr->oq_names[i], to, tolen);
    thr->oq_iov[i].iov_base = (void *) buf;
    thr->oq_iov[i].iov_len = len;
    thr->oq_fd[i] = fd;
    thr->oq_peer[i] = (uint8_t) peer;

    mh = &thr->oq_msgs[i].msg_hdr;
    mh->msg_name = &thr->oq_names[i];
    mh->msg_namelen = tolen;
    mh->msg_iov = &thr->oq_iov[i];
    mh->msg_iovlen = 1;
    mh->msg_control = NULL;
    mh->msg_controllen = ctrllen;
    mh->msg_flags = 0;

    if (ctrllen > 0) {
        memcpy(thr->oq_ctrl[i], ctrl, ctrllen);
        mh->msg_control = thr->oq_ctrl[i];
    }

    return 0;
}


/* the queue holds one socket's datagrams: one sendmmsg() */

void
td_out_flush(td_thread_t *thr)
{
    int        rc;
    unsigned   i, k, n;
    uint64_t  *packets, *bytes;

    n = thr->noq;
    thr->noq = 0;

    for (k = 0; k < n; k += (unsigned) rc) {
        rc = sendmmsg(thr->oq_fd[k], &thr->oq_msgs[k], n - k, 0);

        if (rc <= 0) {
            /* the first one failed: drop it, send the rest */
            thr->stats.send_errors++;

            if (thr->oq_peer[k]) {
                td_out_peer_error(thr, NULL,
                                  (struct sockaddr *) &thr->oq_names[k],
                                  errno);

            } else if (td_log_enabled(TD_LOG_DEBUG)) {
                td_log(TD_LOG_DEBUG, "sendmmsg() failed: %s",
                       strerror(errno));
            }

            rc = 1;
            continue;
        }

        for (i = k; i < k + (unsigned) rc; i++) {
            if (thr->oq_peer[i]) {
                packets = &thr->stats.peer_tx_packets;
                bytes = &thr->stats.peer_tx_bytes;

            } else {
                packets = &thr->stats.tx_packets;
                bytes = &thr->stats.tx_bytes;
            }

            (*packets)++;
            *bytes += thr->oq_iov[i].iov_len;
        }
    }
}


/* the control message that makes a reply leave from cl->local */

static size_t
td_out_ctrl(const td_client_t *cl, uint8_t *buf)
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
td_out_udp_send(td_thread_t *thr, td_client_t *cl, const uint8_t *buf,
    size_t len, unsigned flags)
{
    size_t         clen;
    ssize_t        n;
    uint8_t        ctrl[TD_CTRL_SIZE];
    struct iovec   iov;
    struct msghdr  mh;

    clen = td_out_ctrl(cl, ctrl);

    if (td_out_queue(thr, cl->ls->ev.fd, (const struct sockaddr *) &cl->addr,
                     cl->addrlen, ctrl, clen, buf, len,
                     !(flags & TD_SEND_KEEP), 0)
        == 0)
    {
        return 0;
    }

    /* not queued: what is queued goes first */
    if (thr->noq > 0) {
        td_out_flush(thr);
    }

    iov.iov_base = (void *) buf;
    iov.iov_len = len;

    memset(&mh, 0, sizeof(mh));
    mh.msg_name = (void *) &cl->addr;
    mh.msg_namelen = cl->addrlen;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_controllen = clen;
    mh.msg_control = clen ? ctrl : NULL;

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


void
td_out_udp_flush(td_thread_t *thr, td_client_t *cl)
{
    (void) cl;

    td_out_flush(thr);
}


void
td_out_peer_error(td_thread_t *thr, const struct sockaddr *from,
    const struct sockaddr *to, int err)
{
    char  fbuf[64], tbuf[64];

    if (td_loop_log_refusal(thr, TD_LOG_WARN)) {
        td_log(TD_LOG_WARN, "send from relay %s to peer %s failed: %s",
               from ? td_log_addr(from, fbuf, sizeof(fbuf)) : "socket",
               td_log_addr(to, tbuf, sizeof(tbuf)), strerror(err));
    }
}
