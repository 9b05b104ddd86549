
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _NGX_HTTP_TRTC_TURN_H_INCLUDED_
#define _NGX_HTTP_TRTC_TURN_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/*
 * The TURN servers that trtc_turn_credentials and trtc_proxy_config hand
 * out: the turn= parameters, and for a request the URLs of every usable
 * server, grouped per server and in the order a browser should try them:
 * UDP, then TCP, then TLS.
 */


/* transports, in the order they are tried */
#define NGX_HTTP_TRTC_TURN_UDP      0
#define NGX_HTTP_TRTC_TURN_TCP      1
#define NGX_HTTP_TRTC_TURN_TLS      2
#define NGX_HTTP_TRTC_TURN_UDP_TCP  3     /* turn=UPSTREAM: both */


/* one turn= parameter */
typedef struct {
    ngx_str_t                        value;      /* as written */
    ngx_str_t                        addr;       /* URL: host[:port] */
    ngx_str_t                        host;       /* URL: host, no [] */
    ngx_str_t                        name;       /* upstream{} name */
    ngx_uint_t                       transport;
    ngx_http_upstream_srv_conf_t    *upstream;   /* or an upstream{} */
} ngx_http_trtc_turn_t;


/* a URL to hand out */
typedef struct {
    ngx_str_t                        url;        /* turn:...?transport= */
    ngx_str_t                        addr;       /* host:port, no scheme */
    ngx_uint_t                       transport;
} ngx_http_trtc_turn_url_t;


/* one TURN server of an answer */
typedef struct {
    ngx_str_t                        key;        /* its host or address */
    ngx_array_t                      urls;       /* ngx_http_trtc_turn_url_t,
                                                    in the order to try */
} ngx_http_trtc_turn_server_t;


/*
 * turn=VALUE of "directive" into turns (ngx_http_trtc_turn_t): a turn: or
 * turns: URL (any port), a turn:NAME?transport= or turns:NAME naming an
 * upstream{}, or a bare upstream name; errors name file and line.
 */
char *ngx_http_trtc_turn_parse(ngx_conf_t *cf, ngx_array_t *turns,
    ngx_str_t *value);

/* after the http block: names become upstream{} blocks, or fail */
ngx_int_t ngx_http_trtc_turn_resolve(ngx_conf_t *cf, ngx_array_t *turns,
    ngx_str_t *directive, u_char *file, ngx_uint_t line);

/* the usable servers now, ngx_http_trtc_turn_server_t, in r->pool */
ngx_int_t ngx_http_trtc_turn_servers(ngx_http_request_t *r,
    ngx_array_t *turns, ngx_array_t *servers);

/*
 * Whether a peer of a TURN upstream is handed out: not "down" in the
 * configuration and not down by its trtc_check.
 */
ngx_uint_t ngx_http_trtc_turn_peer_usable(ngx_http_upstream_srv_conf_t *us,
    ngx_http_upstream_rr_peer_t *peer);


#endif /* _NGX_HTTP_TRTC_TURN_H_INCLUDED_ */
