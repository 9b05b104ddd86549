
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _NGX_HTTP_TRTC_CLIENT_H_INCLUDED_
#define _NGX_HTTP_TRTC_CLIENT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>


/*
 * A small asynchronous client for work that has no client request: the
 * logger spool's replays and the active health checks.  It connects (TCP,
 * optionally TLS with SNI and certificate verification, as the proxy
 * module does it), sends a prepared request, and reads the status line
 * of the answer (or, given a buffer, the whole answer and its body).
 * The whole exchange has one cancelable timeout, so it never holds up a
 * graceful shutdown.
 */


typedef struct ngx_http_trtc_client_s  ngx_http_trtc_client_t;

typedef void (*ngx_http_trtc_client_handler_pt)(ngx_http_trtc_client_t *cl);

/*
 * An answer that is not HTTP: called with each new byte in rbuf[0, nin);
 * NGX_AGAIN for more, NGX_OK when it is whole and good, NGX_ERROR with
 * cl->error saying why.
 */
typedef ngx_int_t (*ngx_http_trtc_client_parse_pt)(ngx_http_trtc_client_t *cl);


struct ngx_http_trtc_client_s {
    /* set by the caller */
    struct sockaddr                 *sockaddr;
    socklen_t                        socklen;
    ngx_str_t                       *name;        /* peer, for logs */
    ngx_ssl_t                       *ssl;         /* NULL: plain TCP */
    ngx_str_t                        server_name; /* SNI, verification */
    ngx_uint_t                       verify;
    ngx_str_t                        request;     /* empty: connect only */
    ngx_msec_t                       timeout;
    ngx_pool_t                      *pool;
    ngx_log_t                       *log;
    ngx_http_trtc_client_handler_pt  handler;
    void                            *data;
    ngx_uint_t                       log_error;   /* NGX_ERROR_ERR etc. */

    /*
     * With a buffer, the whole answer is read into it until the peer
     * closes (send HTTP/1.0): one too big for it is an error, not cut.
     */
    u_char                          *buf;
    size_t                           buf_size;

    ngx_http_trtc_client_parse_pt    parse;       /* NULL: HTTP */

    /* results, when the handler runs */
    ngx_str_t                        body;        /* in buf, when ok */
    ngx_uint_t                       status;      /* final status, or 0 */
    ngx_uint_t                       ok;          /* the exchange worked */
    const char                      *error;       /* why not */
    ngx_msec_t                       elapsed;

    /* private */
    ngx_peer_connection_t            pc;
    ngx_event_t                      timer;
    ngx_msec_t                       start;
    size_t                           sent;
    u_char                           in[256];
    u_char                          *rbuf;        /* in, or buf */
    size_t                           rsize;
    size_t                           nin;
    ngx_uint_t                       eol;         /* line ends in a row */
    unsigned                         interim:1;   /* skipping a 1xx */
    unsigned                         active:1;
    unsigned                         got_status:1;
};


/* starts the exchange; the handler is always called later, never inside */
void ngx_http_trtc_client_start(ngx_http_trtc_client_t *cl);

/* stops an exchange without calling the handler */
void ngx_http_trtc_client_cancel(ngx_http_trtc_client_t *cl);

/* an nginx -t error naming the directive when the CA file is unreadable */
ngx_int_t ngx_http_trtc_client_check_ca(ngx_conf_t *cf, ngx_str_t *ca);

/* a client TLS context; ca is needed when verify is on */
ngx_ssl_t *ngx_http_trtc_client_ssl(ngx_conf_t *cf, ngx_str_t *ca,
    ngx_uint_t verify);


#endif /* _NGX_HTTP_TRTC_CLIENT_H_INCLUDED_ */
