
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <trtc_stun.h>
#include "td_auth.h"
#include "td_log.h"
#include "td_alloc.h"
#include "td_offload.h"
#include "td_ports.h"
#include "td_relay.h"
#include "td_turn.h"


/*
 * Channel numbers: RFC 8656 section 12 allows 0x4000-0x4fff, RFC 5766
 * allowed 0x4000-0x7fff, and clients of that time still pick from the
 * whole range (coturn's turnutils_uclient 4.6.1 does, at random), so the
 * older range is accepted: every such number is ChannelData on the wire.
 */
#define TD_CHANNEL_MIN  0x4000
#define TD_CHANNEL_MAX  0x7fff


/* a request being answered */

typedef struct {
    td_thread_t               *thr;
    td_client_t               *cl;
    const trtc_stun_msg_t     *msg;
    const td_auth_result_t    *auth;      /* NULL: not authenticated */
    trtc_stun_builder_t        b;
} td_req_t;


static void td_turn_request(td_req_t *r);
static void td_turn_binding(td_req_t *r);
static void td_turn_allocate(td_req_t *r);
static void td_turn_allocate_ok(td_req_t *r, td_alloc_t *a);
static void td_turn_refresh(td_req_t *r);
static void td_turn_create_permission(td_req_t *r);
static void td_turn_channel_bind(td_req_t *r);
static td_alloc_t *td_turn_allocation(td_req_t *r);
static int td_turn_lifetime(td_req_t *r, unsigned *lifetime, int *zero);
static int td_turn_family(const trtc_stun_attr_t *attr, int *family);
static void td_turn_start(td_req_t *r, uint16_t cls);
static void td_turn_finish(td_req_t *r);
static void td_turn_error(td_req_t *r, unsigned code, const char *why);
static void td_turn_challenge(td_req_t *r, unsigned code, const char *why);
static const char *td_turn_method(uint16_t method);
static int td_turn_unauth_ok(td_req_t *r);


void
td_turn_stun(td_thread_t *thr, td_client_t *cl, const uint8_t *buf,
    size_t len)
{
    int               rc;
    char              cbuf[80];
    td_req_t          r;
    trtc_stun_msg_t   msg;

    rc = trtc_stun_parse(&msg, buf, len);

    /* a datagram is one message: trailing bytes make it malformed too */
    if (rc != TRTC_STUN_OK || msg.len != len
        || (msg.fingerprint >= 0
            && trtc_stun_check_fingerprint(&msg) != TRTC_STUN_OK))
    {
        thr->stats.malformed++;

        if (td_log_enabled(TD_LOG_DEBUG)) {
            td_log(TD_LOG_DEBUG, "malformed STUN message (%zu bytes) from "
                   "%s dropped", len,
                   td_client_str(cl, cbuf, sizeof(cbuf)));
        }

        return;
    }

    switch (msg.cls) {

    case TRTC_STUN_REQUEST:
        break;

    case TRTC_STUN_INDICATION:
        if (msg.method == TRTC_STUN_SEND) {
            td_relay_send_indication(thr, cl, &msg);

        } else {
            thr->stats.dropped++;
        }

        return;

    default:
        /* we send no requests, so a response is unexpected */
        thr->stats.malformed++;
        return;
    }

    thr->stats.requests++;

    r.thr = thr;
    r.cl = cl;
    r.msg = &msg;
    r.auth = NULL;

    td_turn_request(&r);
}


static void
td_turn_request(td_req_t *r)
{
    int                      rc;
    td_auth_result_t         res;
    const trtc_stun_msg_t   *msg;

    msg = r->msg;

    switch (msg->method) {

    case TRTC_STUN_BINDING:
        td_turn_binding(r);
        return;

    case TRTC_STUN_ALLOCATE:
    case TRTC_STUN_REFRESH:
    case TRTC_STUN_CREATE_PERMISSION:
    case TRTC_STUN_CHANNEL_BIND:
        break;

    default:
        td_turn_error(r, 400, "unknown method");
        return;
    }

    memset(&res, 0, sizeof(res));

    rc = td_auth_check(msg, (const struct sockaddr *) &r->cl->addr,
                       r->thr->wall, &res);

    if (rc != TD_AUTH_OK) {
        r->thr->stats.auth_failures[td_stats_auth_reason(rc, res.reason)]++;
    }

    switch (rc) {

    case TD_AUTH_OK:
        break;

    case TD_AUTH_STALE:
        td_turn_challenge(r, 438, res.reason);
        return;

    case TD_AUTH_CHALLENGE:
        td_turn_challenge(r, 401, res.reason);
        return;

    default:
        td_turn_error(r, 400, res.reason ? res.reason : "bad credentials");
        return;
    }

    if (res.user == NULL) {
        res.user = "";          /* no-auth: one anonymous user */
        res.user_len = 0;
        res.quota = res.user;
        res.quota_len = 0;
    }

    r->auth = &res;

    /* RFC 8489 6.3.1: after authentication, unknown attributes */
    if (msg->nunknown > 0) {
        td_turn_start(r, TRTC_STUN_ERROR);
        trtc_stun_add_error(&r->b, 420, trtc_stun_reason(420));
        trtc_stun_add_unknown(&r->b, msg->unknown, msg->nunknown);
        r->thr->stats.refusals++;
        td_turn_finish(r);
        return;
    }

    switch (msg->method) {

    case TRTC_STUN_ALLOCATE:
        td_turn_allocate(r);
        break;

    case TRTC_STUN_REFRESH:
        td_turn_refresh(r);
        break;

    case TRTC_STUN_CREATE_PERMISSION:
        td_turn_create_permission(r);
        break;

    default: /* TRTC_STUN_CHANNEL_BIND */
        td_turn_channel_bind(r);
        break;
    }
}


static void
td_turn_binding(td_req_t *r)
{
    r->thr->stats.bindings++;

    if (!td_turn_unauth_ok(r)) {
        return;
    }

    if (r->msg->nunknown > 0) {
        td_turn_start(r, TRTC_STUN_ERROR);
        trtc_stun_add_error(&r->b, 420, trtc_stun_reason(420));
        trtc_stun_add_unknown(&r->b, r->msg->unknown, r->msg->nunknown);
        td_turn_finish(r);
        return;
    }

    td_turn_start(r, TRTC_STUN_SUCCESS);
    trtc_stun_add_addr(&r->b, TRTC_STUN_ATTR_XOR_MAPPED_ADDRESS,
                       (const struct sockaddr *) &r->cl->addr, r->msg->tid);
    td_turn_finish(r);
}


static void
td_turn_allocate(td_req_t *r)
{
    int                       rc, family, idx, zero, even, reserve, df;
    char                      cbuf[80], rbuf[64], abuf[64];
    uint8_t                   proto, v;
    unsigned                  lifetime;
    td_alloc_t               *a;
    td_thread_t              *thr;
    td_client_t              *cl;
    td_port_t                 rp;
    const trtc_stun_msg_t    *msg;
    const td_auth_result_t   *auth;
    const trtc_stun_attr_t   *attr, *token, *fam;

    thr = r->thr;
    cl = r->cl;
    msg = r->msg;
    auth = r->auth;

    a = td_alloc_find(thr, cl);

    if (a != NULL) {
        /* a retransmission (its response was lost) gets it again */
        if (memcmp(a->tid, msg->tid, TRTC_STUN_TID_LEN) == 0
            && a->user_len == auth->user_len
            && memcmp(a->user, auth->user, auth->user_len) == 0)
        {
            td_turn_allocate_ok(r, a);
            return;
        }

        td_turn_error(r, 437, "the 5-tuple already has an allocation");
        return;
    }

    attr = trtc_stun_find(msg, TRTC_STUN_ATTR_REQUESTED_TRANSPORT);
    if (attr == NULL) {
        td_turn_error(r, 400, "no REQUESTED-TRANSPORT");
        return;
    }

    if (trtc_stun_attr_u8(attr, &proto) != TRTC_STUN_OK) {
        td_turn_error(r, 400, "bad REQUESTED-TRANSPORT");
        return;
    }

    if (proto != TRTC_STUN_TRANSPORT_UDP) {
        td_turn_error(r, 442, "only UDP relays");
        return;
    }

    df = trtc_stun_find(msg, TRTC_STUN_ATTR_DONT_FRAGMENT) != NULL;

    even = 0;
    reserve = 0;

    attr = trtc_stun_find(msg, TRTC_STUN_ATTR_EVEN_PORT);
    if (attr != NULL) {
        if (trtc_stun_attr_u8(attr, &v) != TRTC_STUN_OK) {
            td_turn_error(r, 400, "bad EVEN-PORT");
            return;
        }

        even = 1;
        reserve = (v & 0x80) != 0;
    }

    token = trtc_stun_find(msg, TRTC_STUN_ATTR_RESERVATION_TOKEN);
    if (token != NULL && token->len != TD_PORTS_TOKEN_LEN) {
        td_turn_error(r, 400, "bad RESERVATION-TOKEN");
        return;
    }

    family = AF_INET;

    fam = trtc_stun_find(msg, TRTC_STUN_ATTR_REQUESTED_ADDRESS_FAMILY);
    if (fam != NULL) {
        rc = td_turn_family(fam, &family);

        if (rc != 0) {
            td_turn_error(r, rc, "bad REQUESTED-ADDRESS-FAMILY");
            return;
        }
    }

    if (token != NULL && (even || fam != NULL)) {
        td_turn_error(r, 400, "RESERVATION-TOKEN with EVEN-PORT or "
                      "REQUESTED-ADDRESS-FAMILY");
        return;
    }

    if (td_turn_lifetime(r, &lifetime, &zero) != 0) {
        td_turn_error(r, 400, "bad LIFETIME");
        return;
    }

    rc = td_alloc_quota_take(auth->quota, auth->quota_len);
    if (rc != 0) {
        td_turn_error(r, (unsigned) rc, rc == 486 ? "user-quota reached"
                                                  : "total-quota reached");
        return;
    }

    memset(&rp, 0, sizeof(rp));

    if (token != NULL) {
        if (td_ports_take(token->value, &rp) != 0) {
            td_alloc_quota_release(auth->quota, auth->quota_len);
            td_turn_error(r, 508, "unknown RESERVATION-TOKEN");
            return;
        }

    } else {
        idx = td_ports_pick(family, (const struct sockaddr *) &cl->local);
        if (idx < 0) {
            td_alloc_quota_release(auth->quota, auth->quota_len);
            td_turn_error(r, 440, "no relay address of that family");
            return;
        }

        rc = td_ports_open((unsigned) idx, even, reserve, df, &rp);

        if (rc != 0) {
            td_alloc_quota_release(auth->quota, auth->quota_len);
            td_turn_error(r, 508, rc == -2 ? "out of file descriptors"
                                           : "no relay port free");
            return;
        }
    }

    a = td_alloc_create(thr, cl, auth->user, auth->user_len, msg->tid,
                        rp.fd, rp.index, rp.port, lifetime);
    if (a == NULL) {
        td_ports_close(rp.index, rp.port, rp.fd);
        td_alloc_quota_release(auth->quota, auth->quota_len);
        td_turn_error(r, 508, "out of memory");
        return;
    }

    /* peer datagrams take the relay path once a permission opens it */
    a->ev.handler = td_relay_input;
    a->quota = a->user + (auth->quota - auth->user);
    a->quota_len = auth->quota_len;

    if (rp.has_token) {
        memcpy(a->token, rp.token, TD_PORTS_TOKEN_LEN);
        a->has_token = 1;
    }

    if (td_log_enabled(TD_LOG_NOTICE)) {
        td_log(TD_LOG_NOTICE, "allocation created: user \"%s\" client %s "
               "relay %s advertised as %s lifetime %u", a->user,
               td_client_str(cl, cbuf, sizeof(cbuf)),
               td_log_addr((struct sockaddr *) &a->relay, rbuf, sizeof(rbuf)),
               td_log_addr((struct sockaddr *) &a->relay_adv, abuf,
                           sizeof(abuf)),
               lifetime);
    }

    td_turn_allocate_ok(r, a);
}


static void
td_turn_allocate_ok(td_req_t *r, td_alloc_t *a)
{
    time_t  left;

    left = a->expires - r->thr->now;
    if (left < 0) {
        left = 0;
    }

    td_turn_start(r, TRTC_STUN_SUCCESS);
    trtc_stun_add_addr(&r->b, TRTC_STUN_ATTR_XOR_RELAYED_ADDRESS,
                       (const struct sockaddr *) &a->relay_adv, r->msg->tid);
    trtc_stun_add_addr(&r->b, TRTC_STUN_ATTR_XOR_MAPPED_ADDRESS,
                       (const struct sockaddr *) &r->cl->addr, r->msg->tid);
    trtc_stun_add_u32(&r->b, TRTC_STUN_ATTR_LIFETIME, (uint32_t) left);

    if (a->has_token) {
        trtc_stun_add_attr(&r->b, TRTC_STUN_ATTR_RESERVATION_TOKEN, a->token,
                           TD_PORTS_TOKEN_LEN);
    }

    td_turn_finish(r);
}


static void
td_turn_refresh(td_req_t *r)
{
    int                      rc, family, zero;
    unsigned                 lifetime;
    td_alloc_t              *a;
    const trtc_stun_attr_t  *attr;

    a = td_turn_allocation(r);
    if (a == NULL) {
        return;
    }

    attr = trtc_stun_find(r->msg, TRTC_STUN_ATTR_REQUESTED_ADDRESS_FAMILY);
    if (attr != NULL) {
        rc = td_turn_family(attr, &family);

        if (rc != 0) {
            td_turn_error(r, rc, "bad REQUESTED-ADDRESS-FAMILY");
            return;
        }

        if (family != a->relay.ss_family) {
            td_turn_error(r, 443, "address family of another allocation");
            return;
        }
    }

    if (td_turn_lifetime(r, &lifetime, &zero) != 0) {
        td_turn_error(r, 400, "bad LIFETIME");
        return;
    }

    if (zero) {
        td_alloc_free(a, "refresh with lifetime 0");
        lifetime = 0;

    } else {
        td_alloc_refresh(a, lifetime);
    }

    td_turn_start(r, TRTC_STUN_SUCCESS);
    trtc_stun_add_u32(&r->b, TRTC_STUN_ATTR_LIFETIME, lifetime);
    td_turn_finish(r);
}


static void
td_turn_create_permission(td_req_t *r)
{
    unsigned                  i, n;
    socklen_t                 len;
    td_alloc_t               *a;
    struct sockaddr_storage   peers[TRTC_STUN_MAX_ATTRS];
    const trtc_stun_msg_t    *msg;

    a = td_turn_allocation(r);
    if (a == NULL) {
        return;
    }

    msg = r->msg;
    n = 0;

    for (i = 0; i < msg->nattrs; i++) {
        if (msg->attrs[i].type != TRTC_STUN_ATTR_XOR_PEER_ADDRESS) {
            continue;
        }

        if (trtc_stun_attr_addr(&msg->attrs[i], msg->tid, &peers[n], &len)
            != TRTC_STUN_OK)
        {
            td_turn_error(r, 400, "bad XOR-PEER-ADDRESS");
            return;
        }

        if (peers[n].ss_family != a->relay.ss_family) {
            td_turn_error(r, 443, "peer of another address family");
            return;
        }

        if (!td_relay_peer_allowed(r->thr, r->cl, a->user, a->user_len,
                                   (struct sockaddr *) &peers[n],
                                   "CreatePermission", TD_LOG_NOTICE))
        {
            td_turn_error(r, 403, "peer address denied");
            return;
        }

        if (!td_relay_peer_reachable(r->thr, a, (struct sockaddr *) &peers[n],
                                     "CreatePermission", TD_LOG_NOTICE))
        {
            td_turn_error(r, 403, "relay address cannot reach the peer");
            return;
        }

        n++;
    }

    if (n == 0) {
        td_turn_error(r, 400, "no XOR-PEER-ADDRESS");
        return;
    }

    /* all or nothing: every address was checked before any is installed */
    for (i = 0; i < n; i++) {
        if (td_perm_install(a, (struct sockaddr *) &peers[i]) == NULL) {
            td_turn_error(r, 508, "too many permissions");
            return;
        }
    }

    td_turn_start(r, TRTC_STUN_SUCCESS);
    td_turn_finish(r);
}


static void
td_turn_channel_bind(td_req_t *r)
{
    uint16_t                  number;
    td_ep_t                   ep;
    socklen_t                 len;
    td_chan_t                *c;
    td_alloc_t               *a;
    struct sockaddr_storage   peer;
    const trtc_stun_attr_t   *num, *addr;

    a = td_turn_allocation(r);
    if (a == NULL) {
        return;
    }

    num = trtc_stun_find(r->msg, TRTC_STUN_ATTR_CHANNEL_NUMBER);
    addr = trtc_stun_find(r->msg, TRTC_STUN_ATTR_XOR_PEER_ADDRESS);

    if (num == NULL || addr == NULL) {
        td_turn_error(r, 400, "no CHANNEL-NUMBER or XOR-PEER-ADDRESS");
        return;
    }

    if (num->len != 4) {
        td_turn_error(r, 400, "bad CHANNEL-NUMBER");
        return;
    }

    number = (uint16_t) ((num->value[0] << 8) | num->value[1]);

    if (number < TD_CHANNEL_MIN || number > TD_CHANNEL_MAX) {
        td_turn_error(r, 400, "channel number not in 0x4000-0x7fff");
        return;
    }

    if (trtc_stun_attr_addr(addr, r->msg->tid, &peer, &len) != TRTC_STUN_OK)
    {
        td_turn_error(r, 400, "bad XOR-PEER-ADDRESS");
        return;
    }

    if (peer.ss_family != a->relay.ss_family) {
        td_turn_error(r, 443, "peer of another address family");
        return;
    }

    if (!td_relay_peer_allowed(r->thr, r->cl, a->user, a->user_len,
                               (struct sockaddr *) &peer, "ChannelBind",
                               TD_LOG_NOTICE))
    {
        td_turn_error(r, 403, "peer address denied");
        return;
    }

    if (!td_relay_peer_reachable(r->thr, a, (struct sockaddr *) &peer,
                                 "ChannelBind", TD_LOG_NOTICE))
    {
        td_turn_error(r, 403, "relay address cannot reach the peer");
        return;
    }

    td_ep_set(&ep, (struct sockaddr *) &peer, 1);

    c = td_chan_find_num(a, number);
    if (c != NULL && memcmp(&c->peer_ep, &ep, sizeof(td_ep_t)) != 0) {
        td_turn_error(r, 400, "channel bound to another peer");
        return;
    }

    c = td_chan_find_peer(a, &ep);
    if (c != NULL && c->number != number) {
        td_turn_error(r, 400, "peer bound to another channel");
        return;
    }

    c = td_chan_bind(a, number, (struct sockaddr *) &peer, len);
    if (c == NULL) {
        td_turn_error(r, 508, "too many channels or permissions");
        return;
    }

    td_offload_channel_add(c);

    td_turn_start(r, TRTC_STUN_SUCCESS);
    td_turn_finish(r);
}


/* the allocation of a request's 5-tuple and user, else an error sent */

static td_alloc_t *
td_turn_allocation(td_req_t *r)
{
    td_alloc_t  *a;

    a = td_alloc_find(r->thr, r->cl);

    if (a == NULL) {
        td_turn_error(r, 437, "no allocation for this 5-tuple");
        return NULL;
    }

    if (a->user_len != r->auth->user_len
        || memcmp(a->user, r->auth->user, a->user_len) != 0)
    {
        td_turn_error(r, 441, "not the user of the allocation");
        return NULL;
    }

    return a;
}


/*
 * RFC 8656 7.2, 7.3: the desired lifetime is the requested one capped at
 * max-allocate-lifetime, but never below the default; zero (Refresh:
 * delete) is reported in *zero.
 */

static int
td_turn_lifetime(td_req_t *r, unsigned *lifetime, int *zero)
{
    uint32_t                 v;
    const td_conf_t         *conf;
    const trtc_stun_attr_t  *attr;

    conf = r->thr->conf;
    *zero = 0;
    *lifetime = conf->default_lifetime;

    attr = trtc_stun_find(r->msg, TRTC_STUN_ATTR_LIFETIME);
    if (attr == NULL) {
        goto cap;
    }

    if (trtc_stun_attr_u32(attr, &v) != TRTC_STUN_OK) {
        return -1;
    }

    if (v == 0) {
        *zero = 1;
    }

    if (v > conf->max_allocate_lifetime) {
        v = conf->max_allocate_lifetime;
    }

    if (v > conf->default_lifetime) {
        *lifetime = v;
    }

cap:

    if (*lifetime > conf->max_allocate_lifetime) {
        *lifetime = conf->max_allocate_lifetime;
    }

    return 0;
}


/* 0 and the family, or an error code: 400 malformed, 440 unknown family */

static int
td_turn_family(const trtc_stun_attr_t *attr, int *family)
{
    uint8_t  v;

    if (trtc_stun_attr_u8(attr, &v) != TRTC_STUN_OK) {
        return 400;
    }

    switch (v) {

    case TRTC_STUN_FAMILY_IPV4:
        *family = AF_INET;
        return 0;

    case TRTC_STUN_FAMILY_IPV6:
        *family = AF_INET6;
        return 0;

    default:
        return 440;
    }
}


static void
td_turn_start(td_req_t *r, uint16_t cls)
{
    trtc_stun_build_init(&r->b, r->thr->out, sizeof(r->thr->out),
                         trtc_stun_type(r->msg->method, cls), r->msg->tid);
}


/* SOFTWARE, integrity when authenticated, FINGERPRINT; then sends */

static void
td_turn_finish(td_req_t *r)
{
    const char              *sw;
    const td_auth_result_t  *auth;

    sw = r->thr->conf->software;
    if (sw != NULL && sw[0] != '\0') {
        trtc_stun_add_attr(&r->b, TRTC_STUN_ATTR_SOFTWARE, sw, strlen(sw));
    }

    auth = r->auth;

    if (auth != NULL && auth->key_len > 0) {
        if (auth->sha256) {
            trtc_stun_add_integrity_sha256(&r->b, auth->key, auth->key_len);

        } else {
            trtc_stun_add_integrity(&r->b, auth->key, auth->key_len);
        }
    }

    trtc_stun_add_fingerprint(&r->b);

    if (r->b.error != TRTC_STUN_OK) {
        td_log(TD_LOG_ERR, "cannot build a %s response (%d)",
               td_turn_method(r->msg->method), r->b.error);
        return;
    }

    (void) r->cl->send(r->thr, r->cl, r->b.buf, r->b.len, 0);
}


static void
td_turn_error(td_req_t *r, unsigned code, const char *why)
{
    int   level;
    char  cbuf[80];

    r->thr->stats.refusals++;

    if (r->auth == NULL && !td_turn_unauth_ok(r)) {
        return;
    }

    /* refusals of authenticated requests are events; others are noise */
    level = (r->auth != NULL) ? TD_LOG_NOTICE : TD_LOG_INFO;

    if (td_loop_log_refusal(r->thr, level)) {
        td_log(level, "%s from %s%s%.*s%s refused: %u %s (%s)",
               td_turn_method(r->msg->method),
               td_client_str(r->cl, cbuf, sizeof(cbuf)),
               r->auth ? " user \"" : "",
               r->auth ? (int) r->auth->user_len : 0,
               r->auth ? r->auth->user : "",
               r->auth ? "\"" : "",
               code, trtc_stun_reason(code), why);
    }

    td_turn_start(r, TRTC_STUN_ERROR);
    trtc_stun_add_error(&r->b, code, trtc_stun_reason(code));
    td_turn_finish(r);
}


static void
td_turn_challenge(td_req_t *r, unsigned code, const char *why)
{
    int          level;
    char         cbuf[80], nonce[TD_NONCE_MAX_LEN];
    size_t       n;
    const char  *realm;

    r->thr->stats.challenges++;

    if (!td_turn_unauth_ok(r)) {
        return;
    }

    /*
     * The first 401 of every client is routine; a request that carried
     * integrity and still failed is a refusal worth seeing.
     */
    level = (code == 401
             && (r->msg->integrity >= 0 || r->msg->integrity_sha256 >= 0))
            ? TD_LOG_NOTICE : TD_LOG_INFO;

    if (td_loop_log_refusal(r->thr, level)) {
        td_log(level, "%s from %s: %u %s (%s)",
               td_turn_method(r->msg->method),
               td_client_str(r->cl, cbuf, sizeof(cbuf)), code,
               trtc_stun_reason(code), why ? why : "no credentials");
    }

    realm = td_auth_realm();
    n = td_auth_nonce((const struct sockaddr *) &r->cl->addr, r->thr->wall,
                      nonce, sizeof(nonce));

    td_turn_start(r, TRTC_STUN_ERROR);
    trtc_stun_add_error(&r->b, code, trtc_stun_reason(code));
    trtc_stun_add_attr(&r->b, TRTC_STUN_ATTR_REALM, realm, strlen(realm));
    trtc_stun_add_attr(&r->b, TRTC_STUN_ATTR_NONCE, nonce, n);
    trtc_stun_add_attr(&r->b, TRTC_STUN_ATTR_PASSWORD_ALGORITHMS,
                       td_auth_password_algorithms,
                       TD_AUTH_PASSWORD_ALGORITHMS_LEN);

    r->auth = NULL;
    td_turn_finish(r);
}


static const char *
td_turn_method(uint16_t method)
{
    switch (method) {

    case TRTC_STUN_BINDING:
        return "Binding";

    case TRTC_STUN_ALLOCATE:
        return "Allocate";

    case TRTC_STUN_REFRESH:
        return "Refresh";

    case TRTC_STUN_SEND:
        return "Send";

    case TRTC_STUN_DATA:
        return "Data";

    case TRTC_STUN_CREATE_PERMISSION:
        return "CreatePermission";

    case TRTC_STUN_CHANNEL_BIND:
        return "ChannelBind";

    default:
        return "request";
    }
}


/*
 * Bounded reflection: an unauthenticated UDP request may come from a
 * spoofed source, so what it gets back is limited per source network
 * (td_limit.h).  Over TCP the handshake proved the source.
 */

static int
td_turn_unauth_ok(td_req_t *r)
{
    if (r->cl->tcp
        || td_rate_take(&r->thr->unauth_rate, r->thr->conf->unauth_rate,
                        (const struct sockaddr *) &r->cl->addr,
                        r->thr->now_ms))
    {
        return 1;
    }

    r->thr->stats.unauth_limited++;

    return 0;
}
