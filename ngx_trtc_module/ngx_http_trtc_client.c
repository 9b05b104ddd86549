
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>

#include "ngx_http_trtc_client.h"


static void ngx_http_trtc_client_timer(ngx_event_t *ev);
static void ngx_http_trtc_client_write(ngx_event_t *wev);
static void ngx_http_trtc_client_read(ngx_event_t *rev);
static ngx_int_t ngx_http_trtc_client_status(ngx_http_trtc_client_t *cl);
static const char *ngx_http_trtc_client_body(ngx_http_trtc_client_t *cl);
static ngx_int_t ngx_http_trtc_client_header(u_char *p, u_char *last,
    const char *name, size_t len, ngx_str_t *value);
static ngx_int_t ngx_http_trtc_client_test_connect(ngx_connection_t *c);
static void ngx_http_trtc_client_ssl_init(ngx_http_trtc_client_t *cl,
    ngx_connection_t *c);
static void ngx_http_trtc_client_ssl_handshake(ngx_connection_t *c);
static void ngx_http_trtc_client_close(ngx_http_trtc_client_t *cl);
static void ngx_http_trtc_client_finish(ngx_http_trtc_client_t *cl,
    ngx_uint_t ok, const char *error);


void
ngx_http_trtc_client_start(ngx_http_trtc_client_t *cl)
{
    ngx_int_t          rc;
    ngx_connection_t  *c;

    cl->status = 0;
    cl->ok = 0;
    cl->error = NULL;
    cl->sent = 0;
    cl->nin = 0;
    cl->rbuf = cl->buf ? cl->buf : cl->in;
    cl->rsize = cl->buf ? cl->buf_size : sizeof(cl->in);
    cl->body.data = NULL;
    cl->body.len = 0;
    cl->got_status = 0;
    cl->interim = 0;
    cl->eol = 0;
    cl->active = 1;
    cl->start = ngx_current_msec;

    cl->timer.handler = ngx_http_trtc_client_timer;
    cl->timer.data = cl;
    cl->timer.log = cl->log;
    cl->timer.cancelable = 1;

    ngx_memzero(&cl->pc, sizeof(ngx_peer_connection_t));

    cl->pc.sockaddr = cl->sockaddr;
    cl->pc.socklen = cl->socklen;
    cl->pc.name = cl->name;
    cl->pc.get = ngx_event_get_peer;
    cl->pc.log = cl->log;
    cl->pc.log_error = cl->log_error;

    rc = ngx_event_connect_peer(&cl->pc);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_http_trtc_client_finish(cl, 0, "connect() failed");
        return;
    }

    c = cl->pc.connection;

    /* a pool per exchange: TLS state lives in it and goes with it */

    c->pool = ngx_create_pool(1024, cl->log);
    if (c->pool == NULL) {
        ngx_http_trtc_client_finish(cl, 0, "out of memory");
        return;
    }

    c->data = cl;
    c->read->handler = ngx_http_trtc_client_read;
    c->write->handler = ngx_http_trtc_client_write;

    ngx_add_timer(&cl->timer, cl->timeout);

    if (rc == NGX_OK) {
        ngx_http_trtc_client_write(c->write);
    }
}


void
ngx_http_trtc_client_cancel(ngx_http_trtc_client_t *cl)
{
    if (cl->timer.timer_set) {
        ngx_del_timer(&cl->timer);
    }

    if (cl->timer.posted) {
        ngx_delete_posted_event(&cl->timer);
    }

    ngx_http_trtc_client_close(cl);

    cl->active = 0;
}


static void
ngx_http_trtc_client_timer(ngx_event_t *ev)
{
    ngx_http_trtc_client_t  *cl;

    cl = ev->data;

    if (cl->active) {
        ngx_http_trtc_client_finish(cl, 0, "timed out");
        return;
    }

    /* the exchange is over: report it */

    cl->handler(cl);
}


static void
ngx_http_trtc_client_write(ngx_event_t *wev)
{
    ssize_t                  n;
    ngx_connection_t        *c;
    ngx_http_trtc_client_t  *cl;

    c = wev->data;
    cl = c->data;

    if (!cl->active) {
        return;
    }

    if (cl->sent == 0 && !c->ssl) {

        if (ngx_http_trtc_client_test_connect(c) != NGX_OK) {
            ngx_http_trtc_client_finish(cl, 0, "connect() failed");
            return;
        }

        if (cl->ssl) {
            ngx_http_trtc_client_ssl_init(cl, c);
            return;
        }
    }

    if (cl->request.len == 0) {
        /* a tcp or tls check: connecting was the test */
        ngx_http_trtc_client_finish(cl, 1, NULL);
        return;
    }

    while (cl->sent < cl->request.len) {
        n = c->send(c, cl->request.data + cl->sent,
                    cl->request.len - cl->sent);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_http_trtc_client_finish(cl, 0, "send() failed");
            }

            return;
        }

        if (n == NGX_ERROR) {
            ngx_http_trtc_client_finish(cl, 0, "send() failed");
            return;
        }

        cl->sent += n;
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_trtc_client_finish(cl, 0, "recv() failed");
        return;
    }

    if (c->read->ready) {
        ngx_http_trtc_client_read(c->read);
    }
}


static void
ngx_http_trtc_client_read(ngx_event_t *rev)
{
    ssize_t                  n;
    ngx_int_t                rc;
    const char              *error;
    ngx_connection_t        *c;
    ngx_http_trtc_client_t  *cl;

    c = rev->data;
    cl = c->data;

    if (!cl->active || cl->sent < cl->request.len || cl->request.len == 0) {
        return;
    }

    for ( ;; ) {
        if (cl->nin == cl->rsize) {
            ngx_http_trtc_client_finish(cl, 0, "answer too large");
            return;
        }

        n = c->recv(c, cl->rbuf + cl->nin, cl->rsize - cl->nin);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_http_trtc_client_finish(cl, 0, "recv() failed");
            }

            return;
        }

        if (n == NGX_ERROR) {
            ngx_http_trtc_client_finish(cl, 0, "recv() failed");
            return;
        }

        if (n == 0) {
            if (cl->parse) {
                ngx_http_trtc_client_finish(cl, 0,
                                            "connection closed before an "
                                            "answer");
                return;
            }

            if (cl->got_status) {
                error = ngx_http_trtc_client_body(cl);
                ngx_http_trtc_client_finish(cl, error == NULL, error);
                return;
            }

            ngx_http_trtc_client_finish(cl, 0,
                                        "connection closed before a status");
            return;
        }

        cl->nin += n;

        if (cl->parse) {
            rc = cl->parse(cl);

            if (rc == NGX_AGAIN) {
                continue;
            }

            ngx_http_trtc_client_finish(cl, rc == NGX_OK,
                                        rc == NGX_OK ? NULL : cl->error);
            return;
        }

        if (cl->got_status) {
            continue;
        }

        switch (ngx_http_trtc_client_status(cl)) {

        case NGX_AGAIN:
            continue;

        case NGX_OK:
            if (cl->buf) {
                /* the rest of the answer, until the peer closes */
                cl->got_status = 1;
                continue;
            }

            ngx_http_trtc_client_finish(cl, 1, NULL);
            return;

        default:
            ngx_http_trtc_client_finish(cl, 0, "invalid status line");
            return;
        }
    }
}


/*
 * "HTTP/1.x NNN" of the final answer is all it needs.  An interim 1xx
 * (100 Continue, 103 Early Hints) is no answer: its header block is
 * skipped up to the empty line, and the status line after it counts.
 * 101 is final (the connection would switch protocols).
 */

static ngx_int_t
ngx_http_trtc_client_status(ngx_http_trtc_client_t *cl)
{
    u_char  *p, *last;

    for ( ;; ) {

        if (cl->interim) {
            p = cl->rbuf;
            last = cl->rbuf + cl->nin;

            while (p < last && cl->eol < 2) {
                if (*p == LF) {
                    cl->eol++;

                } else if (*p != CR) {
                    cl->eol = 0;
                }

                p++;
            }

            cl->nin = last - p;
            ngx_memmove(cl->rbuf, p, cl->nin);

            if (cl->eol < 2) {
                return NGX_AGAIN;
            }

            cl->interim = 0;
        }

        if (cl->nin < sizeof("HTTP/1.1 200") - 1) {
            return NGX_AGAIN;
        }

        p = cl->rbuf;

        if (ngx_strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' '
            || p[9] < '1' || p[9] > '5'
            || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9')
        {
            return NGX_ERROR;
        }

        cl->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + p[11] - '0';

        if (cl->status >= 200 || cl->status == 101) {
            return NGX_OK;
        }

        /* the status line's own LF is the first of the two */

        cl->interim = 1;
        cl->eol = 0;
        cl->status = 0;
    }
}


/*
 * The answer, from its final status line, read up to the close: the body
 * follows the empty line.  A Content-Length that disagrees is a cut
 * answer; a chunked one is refused (the request says HTTP/1.0).
 */

static const char *
ngx_http_trtc_client_body(ngx_http_trtc_client_t *cl)
{
    u_char     *p, *last, *body;
    off_t       n;
    ngx_str_t   v;

    p = cl->rbuf;
    last = cl->rbuf + cl->nin;
    body = NULL;

    for ( /* void */ ; p + 1 < last; p++) {
        if (p[0] == LF && p[1] == LF) {
            body = p + 2;
            break;
        }

        if (p[0] == LF && p[1] == CR && p + 2 < last && p[2] == LF) {
            body = p + 3;
            break;
        }
    }

    if (body == NULL) {
        return "header not terminated";
    }

    if (ngx_http_trtc_client_header(cl->rbuf, body, "transfer-encoding",
                                    sizeof("transfer-encoding") - 1, &v)
        == NGX_OK)
    {
        return "chunked answer";
    }

    if (ngx_http_trtc_client_header(cl->rbuf, body, "content-length",
                                    sizeof("content-length") - 1, &v)
        == NGX_OK)
    {
        n = ngx_atoof(v.data, v.len);

        if (n == NGX_ERROR || n != (off_t) (last - body)) {
            return "body length differs from Content-Length";
        }
    }

    cl->body.data = body;
    cl->body.len = last - body;

    return NULL;
}


/* a header's value, spaces trimmed, within [p, last) */

static ngx_int_t
ngx_http_trtc_client_header(u_char *p, u_char *last, const char *name,
    size_t len, ngx_str_t *value)
{
    u_char  *eol;

    while (p < last) {
        eol = ngx_strlchr(p, last, LF);
        if (eol == NULL) {
            eol = last;
        }

        /* the status line is the first line; it has no ':' at len */

        if ((size_t) (eol - p) > len && p[len] == ':'
            && ngx_strncasecmp(p, (u_char *) name, len) == 0)
        {
            p += len + 1;

            while (p < eol && (*p == ' ' || *p == '\t')) {
                p++;
            }

            while (eol > p && (eol[-1] == CR || eol[-1] == ' '
                               || eol[-1] == '\t'))
            {
                eol--;
            }

            value->data = p;
            value->len = eol - p;

            return NGX_OK;
        }

        p = eol + 1;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_trtc_client_test_connect(ngx_connection_t *c)
{
    int        err;
    socklen_t  len;

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        (void) ngx_connection_error(c, err, "connect() failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_trtc_client_ssl_init(ngx_http_trtc_client_t *cl, ngx_connection_t *c)
{
    ngx_int_t   rc;
    ngx_str_t  *name;
#if (NGX_HAVE_INET6)
    u_char      addr[16];
#endif

    if (ngx_ssl_create_connection(cl->ssl, c, NGX_SSL_BUFFER|NGX_SSL_CLIENT)
        != NGX_OK)
    {
        ngx_http_trtc_client_finish(cl, 0, "SSL connection failed");
        return;
    }

    name = &cl->server_name;

    /* like the proxy module: no SNI for an address (RFC 6066) */

    if (name->len && name->data[0] != '['
        && cl->sockaddr->sa_family != AF_UNIX
        && ngx_inet_addr(name->data, name->len) == INADDR_NONE
#if (NGX_HAVE_INET6)
        && ngx_inet6_addr(name->data, name->len, addr) != NGX_OK
#endif
        && SSL_set_tlsext_host_name(c->ssl->connection,
                                    (char *) name->data) == 0)
    {
        ngx_http_trtc_client_finish(cl, 0, "SNI failed");
        return;
    }

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = ngx_http_trtc_client_ssl_handshake;
        return;
    }

    ngx_http_trtc_client_ssl_handshake(c);
}


static void
ngx_http_trtc_client_ssl_handshake(ngx_connection_t *c)
{
    long                     rc;
    ngx_http_trtc_client_t  *cl;

    cl = c->data;

    if (!cl->active) {
        return;
    }

    if (!c->ssl->handshaked) {
        ngx_http_trtc_client_finish(cl, 0, "SSL handshake failed");
        return;
    }

    if (cl->verify) {
        rc = SSL_get_verify_result(c->ssl->connection);

        if (rc != X509_V_OK) {
            /* the caller logs the failure: a static string says why */
            ngx_log_error(NGX_LOG_INFO, cl->log, 0,
                          "trtc: %V: certificate verify error: (%l:%s)",
                          cl->name, rc, X509_verify_cert_error_string(rc));
            ngx_http_trtc_client_finish(cl, 0,
                                        X509_verify_cert_error_string(rc));
            return;
        }

        if (ngx_ssl_check_host(c, &cl->server_name) != NGX_OK) {
            ngx_http_trtc_client_finish(cl, 0,
                                        "certificate does not match the name");
            return;
        }
    }

    c->read->handler = ngx_http_trtc_client_read;
    c->write->handler = ngx_http_trtc_client_write;

    ngx_http_trtc_client_write(c->write);
}


static void
ngx_http_trtc_client_close(ngx_http_trtc_client_t *cl)
{
    ngx_pool_t        *pool;
    ngx_connection_t  *c;

    c = cl->pc.connection;

    if (c == NULL) {
        return;
    }

    cl->pc.connection = NULL;

    if (c->ssl) {
        /* a quiet shutdown: the SSL object is always freed at once */
        c->ssl->no_wait_shutdown = 1;
        c->ssl->no_send_shutdown = 1;
        (void) ngx_ssl_shutdown(c);
    }

    pool = c->pool;

    ngx_close_connection(c);

    if (pool) {
        ngx_destroy_pool(pool);
    }
}


static void
ngx_http_trtc_client_finish(ngx_http_trtc_client_t *cl, ngx_uint_t ok,
    const char *error)
{
    ngx_http_trtc_client_close(cl);

    cl->active = 0;
    cl->ok = ok;
    cl->error = error;
    cl->elapsed = ngx_current_msec - cl->start;

    if (cl->timer.timer_set) {
        ngx_del_timer(&cl->timer);
    }

    /* report from the event loop, never from inside the caller */

    ngx_post_event(&cl->timer, &ngx_posted_events);
}


ngx_int_t
ngx_http_trtc_client_check_ca(ngx_conf_t *cf, ngx_str_t *ca)
{
    ngx_str_t        path;
    ngx_file_info_t  fi;

    path = *ca;

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_file_info(path.data, &fi) == NGX_FILE_ERROR
        || access((char *) path.data, R_OK) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "cannot read the CA file \"%V\"", &path);
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_ssl_t *
ngx_http_trtc_client_ssl(ngx_conf_t *cf, ngx_str_t *ca, ngx_uint_t verify)
{
    ngx_ssl_t           *ssl;
    ngx_pool_cleanup_t  *cln;

    ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (ssl == NULL) {
        return NULL;
    }

    ssl->log = cf->log;

    if (ngx_ssl_create(ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(ssl);
        return NULL;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = ssl;

    if (verify
        && ngx_ssl_trusted_certificate(cf, ssl, ca, 4) != NGX_OK)
    {
        /* OpenSSL said why; this says where */
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "cannot load the CA file \"%V\"", ca);
        return NULL;
    }

    return ssl;
}
