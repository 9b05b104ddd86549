
/*
 * Copyright (C) The ngx_trtc_module authors
 */


/*
 * UDP: datagrams from clients on the listening sockets and from peers on
 * relay sockets, read in batches with recvmmsg() into per-thread buffers
 * that have room in front for a ChannelData or Data indication header,
 * so a peer's datagram is framed in place and never copied.
 */


#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "td_log.h"
#include "td_turn.h"
#include "td_server.h"


#define TD_READ_ROUNDS      4        /* batches per readiness, fairness */


static void td_udp_local(td_listener_t *ls, struct msghdr *mh,
    td_client_t *cl);
static size_t td_udp_ctrl(const td_client_t *cl, uint8_t *buf);
static void td_batch_setup(td_thread_t *thr, int ctrl);
static void td_relay_read(td_thread_t *thr, td_alloc_t *a);


void
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

        thr->oq_on = 1;

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

        /* before the next read reuses the buffers the queue points at */
        td_udp_flush(thr);
        thr->oq_on = 0;

        if (n < TD_BATCH) {
            return;
        }
    }
}


int
td_udp_queue(td_thread_t *thr, int fd, const struct sockaddr *to,
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
        td_udp_flush(thr);
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
td_udp_flush(td_thread_t *thr)
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
                td_turn_send_error(thr, NULL,
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
    size_t         clen;
    ssize_t        n;
    uint8_t        ctrl[TD_CTRL_SIZE];
    struct iovec   iov;
    struct msghdr  mh;

    if (cl->tcp) {
        return td_tcp_send(thr, cl->conn, buf, len);
    }

    clen = td_udp_ctrl(cl, ctrl);

    if (td_udp_queue(thr, cl->ls->ev.fd, (const struct sockaddr *) &cl->addr,
                     cl->addrlen, ctrl, clen, buf, len, 1, 0)
        == 0)
    {
        return 0;
    }

    /* not queued: what is queued goes first */
    if (thr->noq > 0) {
        td_udp_flush(thr);
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


/*
 * Datagrams from peers: each becomes ChannelData or a Data indication in
 * place (the buffers have room in front), and all of one batch go to the
 * allocation's client in one sendmmsg() (UDP) or its stream (TCP).
 */

void
td_server_relay_input(td_thread_t *thr, td_alloc_t *a)
{
    td_conn_t  *c;

    if (!a->client.tcp) {
        td_relay_read(thr, a);
        return;
    }

    /* a closed connection stays in memory until the end of the batch */
    c = a->client.conn;

    td_tcp_cork(c);
    td_relay_read(thr, a);
    td_tcp_uncork(thr, c);
}


static void
td_relay_read(td_thread_t *thr, td_alloc_t *a)
{
    int             n, i, round, udp;
    size_t          len, olen, clen;
    uint8_t        *p, ctrl[TD_CTRL_SIZE];
    struct msghdr  *mh;

    udp = !a->client.tcp;
    clen = udp ? td_udp_ctrl(&a->client, ctrl) : 0;

    for (round = 0; round < TD_READ_ROUNDS; round++) {

        td_batch_setup(thr, 0);

        n = recvmmsg(a->ev.fd, thr->msgs, TD_BATCH, MSG_DONTWAIT, NULL);

        if (n <= 0) {
            return;
        }

        /* one client, one socket: the batch leaves in one sendmmsg() */
        thr->oq_on = udp;

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

            if (udp) {
                (void) td_udp_queue(thr, a->client.ls->ev.fd,
                                    (struct sockaddr *) &a->client.addr,
                                    a->client.addrlen, ctrl, clen, p, olen,
                                    0, 0);
                continue;
            }

            td_tcp_send(thr, a->client.conn, p, olen);

            if (a->freed) {
                return;     /* the connection failed and took it */
            }
        }

        td_udp_flush(thr);
        thr->oq_on = 0;

        if (n < TD_BATCH) {
            return;
        }
    }
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
