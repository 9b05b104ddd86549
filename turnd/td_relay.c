
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <trtc_stun.h>
#include "td_log.h"
#include "td_out.h"
#include "td_peer.h"
#include "td_relay.h"


static void td_relay_read(td_thread_t *thr, td_alloc_t *a);
static uint8_t *td_relay_peer_data(td_thread_t *thr, td_alloc_t *a,
    const struct sockaddr *peer, uint8_t *data, size_t len,
    size_t *out_len);
static int td_relay_peer_send(td_thread_t *thr, td_alloc_t *a,
    const uint8_t *data, size_t len, const struct sockaddr *peer,
    socklen_t peerlen);


/* RFC 8656 10.2: every failure drops the indication silently */

void
td_relay_send_indication(td_thread_t *thr, td_client_t *cl,
    const trtc_stun_msg_t *msg)
{
    td_ep_t                   ip;
    socklen_t                 len;
    td_alloc_t               *a;
    struct sockaddr_storage   peer;
    const trtc_stun_attr_t   *addr, *data;

    a = td_alloc_find(thr, cl);
    addr = trtc_stun_find(msg, TRTC_STUN_ATTR_XOR_PEER_ADDRESS);
    data = trtc_stun_find(msg, TRTC_STUN_ATTR_DATA);

    if (a == NULL || addr == NULL || data == NULL || msg->nunknown > 0
        || trtc_stun_attr_addr(addr, msg->tid, &peer, &len) != TRTC_STUN_OK
        || peer.ss_family != a->relay.ss_family)
    {
        thr->stats.dropped++;
        return;
    }

    if (!td_relay_peer_allowed(thr, cl, a->user, a->user_len,
                               (struct sockaddr *) &peer, "Send",
                               TD_LOG_INFO)
        || !td_relay_peer_reachable(thr, a, (struct sockaddr *) &peer,
                                    "Send", TD_LOG_INFO))
    {
        return;
    }

    td_ep_set(&ip, (struct sockaddr *) &peer, 0);

    if (td_perm_find(a, &ip) == NULL) {
        thr->stats.dropped++;
        return;
    }

    (void) td_relay_peer_send(thr, a, data->value, data->len,
                              (struct sockaddr *) &peer, len);
}


void
td_relay_channel_data(td_thread_t *thr, const td_client_t *cl,
    const uint8_t *buf, size_t len)
{
    size_t       dlen;
    uint16_t     number;
    td_chan_t   *c;
    td_alloc_t  *a;

    if (len < TRTC_STUN_CHANNEL_HEADER_LEN) {
        thr->stats.malformed++;
        return;
    }

    number = (uint16_t) ((buf[0] << 8) | buf[1]);
    dlen = (size_t) ((buf[2] << 8) | buf[3]);

    /* over UDP the datagram may carry padding after the data */
    if (dlen > len - TRTC_STUN_CHANNEL_HEADER_LEN) {
        thr->stats.malformed++;
        return;
    }

    a = td_alloc_find(thr, cl);
    if (a == NULL) {
        thr->stats.dropped++;
        return;
    }

    c = td_chan_find_num(a, number);
    if (c == NULL || c->perm == NULL) {
        thr->stats.dropped++;
        return;
    }

    (void) td_relay_peer_send(thr, a, buf + TRTC_STUN_CHANNEL_HEADER_LEN,
                              dlen, (struct sockaddr *) &c->peer,
                              c->peerlen);
}


static uint8_t *
td_relay_peer_data(td_thread_t *thr, td_alloc_t *a,
    const struct sockaddr *peer, uint8_t *data, size_t len,
    size_t *out_len)
{
    size_t               pad, hlen;
    uint8_t             *p, tid[TRTC_STUN_TID_LEN];
    uint64_t             r1, r2;
    td_ep_t              ep, ip;
    td_chan_t           *c;
    td_perm_t           *perm;
    trtc_stun_builder_t  b;

    td_ep_set(&ep, peer, 1);
    ip = ep;
    ip.port = 0;

    perm = td_perm_find(a, &ip);

    if (perm == NULL) {
        thr->stats.dropped++;
        return NULL;
    }

    /* from another relay or listener of ours: never into the loop */
    if (perm->self
        && td_peer_check(&thr->conf->peers, peer) == TD_PEER_DENIED_SELF)
    {
        thr->stats.peer_denied++;
        return NULL;
    }

    pad = (4 - (len & 3)) & 3;

    c = td_chan_find_peer(a, &ep);

    if (c != NULL) {
        p = data - TRTC_STUN_CHANNEL_HEADER_LEN;
        p[0] = (uint8_t) (c->number >> 8);
        p[1] = (uint8_t) c->number;
        p[2] = (uint8_t) (len >> 8);
        p[3] = (uint8_t) len;

        *out_len = TRTC_STUN_CHANNEL_HEADER_LEN + len;

        /* RFC 8656 12.5: padded to 4 bytes over streams only */
        if (a->client.tcp && pad) {
            memset(data + len, 0, pad);
            *out_len += pad;
        }

        return p;
    }

    /* a Data indication; its DATA value is the datagram, already here */

    if (len > 65535 - 64) {
        thr->stats.dropped++;
        return NULL;
    }

    hlen = TRTC_STUN_HEADER_LEN + 4 + (peer->sa_family == AF_INET ? 8 : 20)
           + 4;
    p = data - hlen;

    r1 = td_loop_rand(thr);
    r2 = td_loop_rand(thr);
    memcpy(tid, &r1, 8);
    memcpy(tid + 8, &r2, 4);

    trtc_stun_build_init(&b, p, hlen + len + pad + 8,
                         trtc_stun_type(TRTC_STUN_DATA,
                                        TRTC_STUN_INDICATION), tid);
    trtc_stun_add_addr(&b, TRTC_STUN_ATTR_XOR_PEER_ADDRESS, peer, tid);

    if (b.error != TRTC_STUN_OK || b.len + 4 != hlen) {
        thr->stats.dropped++;
        return NULL;
    }

    p[b.len] = (uint8_t) (TRTC_STUN_ATTR_DATA >> 8);
    p[b.len + 1] = (uint8_t) TRTC_STUN_ATTR_DATA;
    p[b.len + 2] = (uint8_t) (len >> 8);
    p[b.len + 3] = (uint8_t) len;
    memset(data + len, 0, pad);

    b.len = hlen + len + pad;
    p[2] = (uint8_t) ((b.len - TRTC_STUN_HEADER_LEN) >> 8);
    p[3] = (uint8_t) (b.len - TRTC_STUN_HEADER_LEN);

    if (thr->conf->fingerprint) {
        trtc_stun_add_fingerprint(&b);
    }

    if (b.error != TRTC_STUN_OK) {
        thr->stats.dropped++;
        return NULL;
    }

    *out_len = b.len;

    return p;
}


/*
 * The peer filter on the address as the client sent it: td_peer_check()
 * checks the IPv6 form and any IPv4 it embeds, while a canonicalized
 * 6to4 or NAT64 address would lose its own (denied) IPv6 range.
 */

int
td_relay_peer_allowed(td_thread_t *thr, const td_client_t *cl,
    const char *user, size_t user_len, const struct sockaddr *peer,
    const char *what, int level)
{
    int   rc;
    char  pbuf[64], cbuf[80];

    rc = td_peer_check(&thr->conf->peers, peer);
    if (rc == TD_PEER_ALLOWED) {
        return 1;
    }

    thr->stats.peer_denied++;

    if (td_loop_log_refusal(thr, level)) {
        td_log(level, "%s to peer %s denied (%s): user \"%.*s\" client %s",
               what, td_log_addr(peer, pbuf, sizeof(pbuf)),
               td_peer_reason(rc), (int) user_len, user,
               td_client_str(cl, cbuf, sizeof(cbuf)));
    }

    return 0;
}


/*
 * A loopback relay reaches loopback peers only: Linux would send from
 * 127.0.0.1 or ::1 towards a real address (an IPv6 ::1 source even goes
 * out) and every datagram would fail or leak.  Refused, counted and
 * said, rather than silent send errors.
 */

int
td_relay_peer_reachable(td_thread_t *thr, const td_alloc_t *a,
    const struct sockaddr *peer, const char *what, int level)
{
    char  pbuf[64], rbuf[64];

    if (!td_addr_loopback((const struct sockaddr *) &a->relay)
        || td_addr_loopback(peer))
    {
        return 1;
    }

    thr->stats.peer_denied++;

    if (td_loop_log_refusal(thr, level)) {
        td_log(level, "%s to peer %s refused: relay %s is loopback and "
               "cannot reach it (set relay-ip): user \"%.*s\"", what,
               td_log_addr(peer, pbuf, sizeof(pbuf)),
               td_log_addr((const struct sockaddr *) &a->relay, rbuf,
                           sizeof(rbuf)),
               (int) a->user_len, a->user);
    }

    return 0;
}


int
td_addr_loopback(const struct sockaddr *sa)
{
    const struct sockaddr_in6  *sin6;

    if (sa->sa_family == AF_INET) {
        return (ntohl(((const struct sockaddr_in *) sa)->sin_addr.s_addr)
                >> 24) == 127;
    }

    sin6 = (const struct sockaddr_in6 *) sa;

    return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)
           || (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)
               && sin6->sin6_addr.s6_addr[12] == 127);
}


static int
td_relay_peer_send(td_thread_t *thr, td_alloc_t *a, const uint8_t *data,
    size_t len, const struct sockaddr *peer, socklen_t peerlen)
{
    ssize_t  n;

    /* from a listening socket's batch: sent with the rest of it */
    if (td_out_queue(thr, a->ev.fd, peer, peerlen, NULL, 0, data, len, 0, 1)
        == 0)
    {
        return 0;
    }

    n = sendto(a->ev.fd, data, len, 0, peer, peerlen);

    if (n == -1) {
        thr->stats.send_errors++;
        td_out_peer_error(thr, (struct sockaddr *) &a->relay, peer, errno);

        return -1;
    }

    thr->stats.peer_tx_packets++;
    thr->stats.peer_tx_bytes += len;

    return 0;
}


/*
 * Datagrams from peers: each becomes ChannelData or a Data indication in
 * place (the buffers have room in front), and all of one batch go to the
 * allocation's client together: in one sendmmsg() (UDP) or one write to
 * its stream (TCP).
 */

void
td_relay_input(td_thread_t *thr, td_ev_t *ev, uint32_t events)
{
    td_alloc_t  *a;

    (void) events;

    a = td_container(ev, td_alloc_t, ev);

    td_relay_read(thr, a);
}


static void
td_relay_read(td_thread_t *thr, td_alloc_t *a)
{
    int             n, i, round;
    size_t          len, olen;
    uint8_t        *p;
    td_client_t    *cl;
    struct msghdr  *mh;

    /* a closed connection stays in memory until the end of the batch */
    cl = &a->client;

    for (round = 0; round < TD_READ_ROUNDS; round++) {

        td_loop_batch(thr, 0);

        n = recvmmsg(a->ev.fd, thr->msgs, TD_BATCH, MSG_DONTWAIT, NULL);

        if (n <= 0) {
            return;
        }

        td_out_start(thr);

        for (i = 0; i < n; i++) {
            mh = &thr->msgs[i].msg_hdr;
            len = thr->msgs[i].msg_len;

            if (mh->msg_flags & MSG_TRUNC) {
                thr->stats.truncated++;
                continue;
            }

            thr->stats.peer_rx_packets++;
            thr->stats.peer_rx_bytes += len;

            p = td_relay_peer_data(thr, a,
                                   (struct sockaddr *) &thr->names[i],
                                   thr->iov[i].iov_base, len, &olen);
            if (p == NULL) {
                continue;
            }

            (void) cl->send(thr, cl, p, olen, TD_SEND_KEEP | TD_SEND_MORE);

            if (a->freed) {
                break;      /* the connection failed and took it */
            }
        }

        cl->flush(thr, cl);
        td_out_end(thr);

        if (n < TD_BATCH || a->freed) {
            return;
        }
    }
}
