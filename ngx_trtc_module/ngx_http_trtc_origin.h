
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _NGX_HTTP_TRTC_ORIGIN_H_INCLUDED_
#define _NGX_HTTP_TRTC_ORIGIN_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/*
 * trtc_allow_origin: who may use a trtc location from a browser.  Any
 * location of the module can use it: the directive handler fills an
 * "ngx_array_t *" at cmd->offset of the location conf (initialize it to
 * NGX_CONF_UNSET_PTR and merge it with ngx_conf_merge_ptr_value()).
 */


typedef struct {
    ngx_str_t            origin;       /* an exact origin */
#if (NGX_PCRE)
    ngx_http_regex_t    *regex;        /* or a regex ("~", "~*") */
#endif
} ngx_http_trtc_origin_t;


char *ngx_http_trtc_allow_origin(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/*
 * NGX_OK: a cross-origin request from an allowed origin (*origin is set);
 * NGX_DECLINED: no Origin header, or the request's own origin;
 * NGX_HTTP_FORBIDDEN: any other Origin; NGX_ERROR.
 * allow is the merged array (NULL: no origin is allowed).
 */
ngx_int_t ngx_http_trtc_origin_check(ngx_http_request_t *r,
    ngx_array_t *allow, ngx_str_t *origin);

/*
 * Adds "Vary: Origin" and, when origin is not NULL, the CORS headers
 * Access-Control-Allow-Origin (echoing it) and
 * Access-Control-Allow-Credentials.
 */
ngx_int_t ngx_http_trtc_origin_headers(ngx_http_request_t *r,
    ngx_str_t *origin);

/* an OPTIONS request carrying Access-Control-Request-Method */
ngx_uint_t ngx_http_trtc_origin_is_preflight(ngx_http_request_t *r);

/*
 * Answers a preflight (after ngx_http_trtc_origin_headers() with the
 * allowed origin): 204 with Access-Control-Allow-Methods: methods.
 * Returns what ngx_http_send_header() returns.
 */
ngx_int_t ngx_http_trtc_origin_preflight(ngx_http_request_t *r,
    ngx_str_t *methods);

/* the headers of that answer only, for a caller that sends it itself */
ngx_int_t ngx_http_trtc_origin_preflight_headers(ngx_http_request_t *r,
    ngx_str_t *methods);


#endif /* _NGX_HTTP_TRTC_ORIGIN_H_INCLUDED_ */
