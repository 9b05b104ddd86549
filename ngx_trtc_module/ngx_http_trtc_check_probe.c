
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <trtc_stun.h>

#include "ngx_http_trtc_check_probe.h"


/*
 * One probe of one peer.  tcp: a connection; tls: a handshake (with SNI
 * and, unless verify=off, certificate verification); http, https: a GET
 * of uri= answered with an expected status; wss: a real WebSocket
 * handshake over TLS answered 101; stun: a Binding request over UDP
 * answered by a Binding success response with the same transaction id
 * (silence until the timeout is a failure, not a pass); stun-tcp and
 * stun-tls: the same Binding inside a TCP connection or a TLS one (as
 * tls: SNI and verification), framed as TURN over TCP is (RFC 8656
 * section 12.5: messages back to back, no length prefix).
 */


static ngx_int_t ngx_http_trtc_check_request(ngx_http_trtc_check_target_t *t);
static void ngx_http_trtc_check_client_done(ngx_http_trtc_client_t *cl);
static void ngx_http_trtc_check_stun_request(ngx_http_trtc_check_target_t *t);
static ngx_int_t ngx_http_trtc_check_stun_answer(ngx_http_trtc_client_t *cl);
static ngx_uint_t ngx_http_trtc_check_stun_ok(ngx_http_trtc_check_target_t *t,
    u_char *buf, size_t len);
static ngx_uint_t ngx_http_trtc_check_expected(ngx_http_trtc_check_conf_t *ccf,
    ngx_uint_t status);
static void ngx_http_trtc_check_stun(ngx_http_trtc_check_target_t *t);
static void ngx_http_trtc_check_stun_read(ngx_event_t *rev);
static void ngx_http_trtc_check_stun_timeout(ngx_event_t *ev);
static void ngx_http_trtc_check_stun_finish(ngx_http_trtc_check_target_t *t,
    ngx_uint_t ok, const char *error);


void
ngx_http_trtc_check_probe(ngx_http_trtc_check_target_t *t)
{
    ngx_http_trtc_client_t      *cl;
    ngx_http_trtc_check_conf_t  *ccf;

    ccf = t->conf;

    if (t->request.data == NULL
        && ngx_http_trtc_check_request(t) != NGX_OK)
    {
        t->done(t, 0, 0, "out of memory");
        return;
    }

    if (ccf->type == NGX_HTTP_TRTC_CHECK_STUN) {
        ngx_http_trtc_check_stun(t);
        return;
    }

    cl = &t->client;
    cl->parse = NULL;

    if (ccf->type == NGX_HTTP_TRTC_CHECK_STUN_TCP
        || ccf->type == NGX_HTTP_TRTC_CHECK_STUN_TLS)
    {
        /* a new transaction id each time: an old answer is no answer */
        ngx_http_trtc_check_stun_request(t);
        cl->parse = ngx_http_trtc_check_stun_answer;
    }

    cl->sockaddr = t->addr.sockaddr;
    cl->socklen = t->addr.socklen;
    cl->name = &t->name;
    cl->ssl = ccf->ssl;
    cl->server_name = t->host;
    cl->verify = ccf->verify;
    cl->request = t->request;
    cl->timeout = ccf->timeout;
    cl->log = ngx_cycle->log;
    cl->handler = ngx_http_trtc_check_client_done;
    cl->data = t;

    /* a failing peer is reported once, when its state changes */
    cl->log_error = NGX_ERROR_INFO;

    ngx_http_trtc_client_start(cl);
}


/* made once per process, in its cycle's pool */

static ngx_int_t
ngx_http_trtc_check_request(ngx_http_trtc_check_target_t *t)
{
    u_char                      *p;
    size_t                       len;
    ngx_str_t                    key, raw;
    ngx_http_trtc_check_conf_t  *ccf;
    u_char                       nonce[16];

    ccf = t->conf;

    if (ccf->type == NGX_HTTP_TRTC_CHECK_TCP
        || ccf->type == NGX_HTTP_TRTC_CHECK_TLS)
    {
        ngx_str_set(&t->request, "");
        return NGX_OK;
    }

    if (ccf->type == NGX_HTTP_TRTC_CHECK_STUN
        || ccf->type == NGX_HTTP_TRTC_CHECK_STUN_TCP
        || ccf->type == NGX_HTTP_TRTC_CHECK_STUN_TLS)
    {
        t->request.data = ngx_pnalloc(ngx_cycle->pool, TRTC_STUN_HEADER_LEN);
        t->request.len = TRTC_STUN_HEADER_LEN;

        return t->request.data ? NGX_OK : NGX_ERROR;
    }

    len = sizeof("GET  HTTP/1.1\r\nHost: \r\n"
                 "User-Agent: ngx_trtc_check\r\nConnection: close\r\n\r\n")
          + ccf->uri.len + t->host.len
          + sizeof("Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Key: \r\n") + 24;

    t->request.data = ngx_pnalloc(ngx_cycle->pool, len);
    if (t->request.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(t->request.data, "GET %V HTTP/1.1\r\nHost: %V\r\n"
                    "User-Agent: ngx_trtc_check\r\n", &ccf->uri, &t->host);

    if (ccf->type == NGX_HTTP_TRTC_CHECK_WSS) {
        /* a real handshake: the key is 16 random bytes, base64 */

        for (len = 0; len < sizeof(nonce); len++) {
            nonce[len] = (u_char) ngx_random();
        }

        raw.data = nonce;
        raw.len = sizeof(nonce);
        key.data = ngx_pnalloc(ngx_cycle->pool, ngx_base64_encoded_length(16));
        if (key.data == NULL) {
            return NGX_ERROR;
        }

        ngx_encode_base64(&key, &raw);

        p = ngx_sprintf(p, "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Version: 13\r\n"
                        "Sec-WebSocket-Key: %V\r\n\r\n", &key);

    } else {
        p = ngx_cpymem(p, "Connection: close\r\n\r\n",
                       sizeof("Connection: close\r\n\r\n") - 1);
    }

    t->request.len = p - t->request.data;

    return NGX_OK;
}


static void
ngx_http_trtc_check_client_done(ngx_http_trtc_client_t *cl)
{
    ngx_http_trtc_check_conf_t    *ccf;
    ngx_http_trtc_check_target_t  *t;

    t = cl->data;
    ccf = t->conf;

    if (!cl->ok) {
        t->done(t, 0, 0, cl->error);
        return;
    }

    if (ccf->type == NGX_HTTP_TRTC_CHECK_TCP
        || ccf->type == NGX_HTTP_TRTC_CHECK_TLS
        || cl->parse)
    {
        t->done(t, 1, 0, NULL);
        return;
    }

    if (!ngx_http_trtc_check_expected(ccf, cl->status)) {
        t->done(t, 0, cl->status, "unexpected status");
        return;
    }

    t->done(t, 1, cl->status, NULL);
}


static ngx_uint_t
ngx_http_trtc_check_expected(ngx_http_trtc_check_conf_t *ccf,
    ngx_uint_t status)
{
    ngx_uint_t  i;

    for (i = 0; i < ccf->nexpect; i++) {
        if (ccf->expect[i] == status
            || (ccf->expect[i] < 10 && ccf->expect[i] == status / 100))
        {
            return 1;
        }
    }

    return 0;
}


static void
ngx_http_trtc_check_stun(ngx_http_trtc_check_target_t *t)
{
    ngx_int_t               rc;
    ngx_connection_t       *c;
    ngx_peer_connection_t   pc;

    ngx_memzero(&pc, sizeof(ngx_peer_connection_t));

    pc.sockaddr = t->addr.sockaddr;
    pc.socklen = t->addr.socklen;
    pc.name = &t->name;
    pc.get = ngx_event_get_peer;
    pc.log = ngx_cycle->log;
    pc.log_error = NGX_ERROR_INFO;
    pc.type = SOCK_DGRAM;

    rc = ngx_event_connect_peer(&pc);

    if (rc != NGX_OK && rc != NGX_AGAIN) {
        t->done(t, 0, 0, "connect() failed");
        return;
    }

    c = pc.connection;
    c->data = t;
    c->read->handler = ngx_http_trtc_check_stun_read;
    c->write->handler = ngx_http_trtc_check_stun_read;
    t->udp = c;

    ngx_http_trtc_check_stun_request(t);

    t->udp_timer.handler = ngx_http_trtc_check_stun_timeout;
    t->udp_timer.data = t;
    t->udp_timer.log = ngx_cycle->log;
    t->udp_timer.cancelable = 1;
    ngx_add_timer(&t->udp_timer, t->conf->timeout);

    if (c->send(c, t->request.data, t->request.len)
        != (ssize_t) t->request.len)
    {
        ngx_http_trtc_check_stun_finish(t, 0, "send() failed");
        return;
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_trtc_check_stun_finish(t, 0, "recv() failed");
    }
}


static void
ngx_http_trtc_check_stun_read(ngx_event_t *rev)
{
    ssize_t                        n;
    ngx_connection_t              *c;
    ngx_http_trtc_check_target_t  *t;
    u_char                         buf[1500];

    c = rev->data;
    t = c->data;

    if (!rev->ready || rev->write) {
        return;
    }

    for ( ;; ) {
        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_http_trtc_check_stun_finish(t, 0, "recv() failed");
            }

            return;
        }

        if (n == NGX_ERROR) {
            /* e.g. ICMP port unreachable */
            ngx_http_trtc_check_stun_finish(t, 0, "recv() failed");
            return;
        }

        if (n == 0) {
            /* an empty datagram: not an answer */
            continue;
        }

        /* anything else on the socket is ignored until the timeout */

        if (ngx_http_trtc_check_stun_ok(t, buf, n)) {
            ngx_http_trtc_check_stun_finish(t, 1, NULL);
            return;
        }
    }
}


static void
ngx_http_trtc_check_stun_timeout(ngx_event_t *ev)
{
    ngx_http_trtc_check_stun_finish(ev->data, 0, "timed out");
}


static void
ngx_http_trtc_check_stun_finish(ngx_http_trtc_check_target_t *t,
    ngx_uint_t ok, const char *error)
{
    if (t->udp_timer.timer_set) {
        ngx_del_timer(&t->udp_timer);
    }

    if (t->udp) {
        ngx_close_connection(t->udp);
        t->udp = NULL;
    }

    t->done(t, ok, 0, error);
}


/* a Binding request with a new transaction id, into t->request */

static void
ngx_http_trtc_check_stun_request(ngx_http_trtc_check_target_t *t)
{
    ngx_uint_t           i;
    trtc_stun_builder_t  b;

    for (i = 0; i < sizeof(t->tid); i++) {
        t->tid[i] = (u_char) ngx_random();
    }

    trtc_stun_build_init(&b, t->request.data, TRTC_STUN_HEADER_LEN,
                         trtc_stun_type(TRTC_STUN_BINDING, TRTC_STUN_REQUEST),
                         t->tid);
}


/* the client's parser for stun-tcp and stun-tls: one whole message */

static ngx_int_t
ngx_http_trtc_check_stun_answer(ngx_http_trtc_client_t *cl)
{
    long                           len;
    ngx_http_trtc_check_target_t  *t;

    t = cl->data;

    /* the first byte tells: an HTTP answer or a TLS alert is no STUN */

    if ((cl->rbuf[0] & 0xc0) != 0) {
        cl->error = "not a STUN message";
        return NGX_ERROR;
    }

    len = trtc_stun_frame_len(cl->rbuf, cl->nin);

    if (len == 0 || (len > 0 && (size_t) len > cl->nin)) {
        return NGX_AGAIN;
    }

    if (len < 0 || !ngx_http_trtc_check_stun_ok(t, cl->rbuf, len)) {
        cl->error = "not a Binding success response";
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a Binding success response to this probe, exactly len bytes */

static ngx_uint_t
ngx_http_trtc_check_stun_ok(ngx_http_trtc_check_target_t *t, u_char *buf,
    size_t len)
{
    trtc_stun_msg_t  msg;

    return trtc_stun_parse(&msg, buf, len) == TRTC_STUN_OK
           && msg.len == len
           && msg.method == TRTC_STUN_BINDING
           && msg.cls == TRTC_STUN_SUCCESS
           && ngx_memcmp(msg.tid, t->tid, sizeof(t->tid)) == 0;
}
