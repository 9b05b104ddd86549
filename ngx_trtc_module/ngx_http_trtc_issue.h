
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _NGX_HTTP_TRTC_ISSUE_H_INCLUDED_
#define _NGX_HTTP_TRTC_ISSUE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_turn.h"


/*
 * trtc_turn_credentials and trtc_proxy_config: locations that hand out
 * time-limited TURN credentials (the TURN REST API convention) as JSON.
 */


#define NGX_HTTP_TRTC_REST               1     /* trtc_turn_credentials */
#define NGX_HTTP_TRTC_PROXY              2     /* trtc_proxy_config */

#define NGX_HTTP_TRTC_TURN_AUTO          0     /* object if one, else array */
#define NGX_HTTP_TRTC_TURN_OBJECT        1     /* the first one only */
#define NGX_HTTP_TRTC_TURN_ARRAY         2

#define NGX_HTTP_TRTC_DEFAULT_TTL        86400
#define NGX_HTTP_TRTC_DEFAULT_NAME       "trtc"
#define NGX_HTTP_TRTC_NAME_MAX           256


typedef struct {
    ngx_uint_t                       type;
    time_t                           ttl;
    ngx_http_complex_value_t        *name;       /* NULL: "trtc" */
    ngx_http_complex_value_t        *websocket;  /* NULL: this server */
    ngx_http_complex_value_t        *logger;     /* NULL: this server */
    ngx_array_t                      turn;       /* ngx_http_trtc_turn_t */
    ngx_uint_t                       relay;      /* iceTransportPolicy */
    ngx_uint_t                       turn_server;

    ngx_str_t                        location;   /* for trtc_diagnostics */
    ngx_str_t                        directive;  /* for messages */
    u_char                          *file;
    ngx_uint_t                       line;
} ngx_http_trtc_issuer_t;


char *ngx_http_trtc_turn_credentials(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_trtc_proxy_config(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/*
 * After the http block is parsed: every issuing location has the
 * credentials and the upstreams it names, or nginx -t fails naming it.
 */
ngx_int_t ngx_http_trtc_issue_postconfiguration(ngx_conf_t *cf);

/*
 * The proxy object's websocketProxy and loggerProxy for this request:
 * websocket= and logger=, or this server's /ws/ and /logger/.
 */
ngx_int_t ngx_http_trtc_issue_proxy_urls(ngx_http_request_t *r,
    ngx_http_trtc_issuer_t *issuer, ngx_str_t *websocket, ngx_str_t *logger);


#endif /* _NGX_HTTP_TRTC_ISSUE_H_INCLUDED_ */
