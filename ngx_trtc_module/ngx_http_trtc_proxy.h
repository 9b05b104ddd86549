
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _NGX_HTTP_TRTC_PROXY_H_INCLUDED_
#define _NGX_HTTP_TRTC_PROXY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_counters.h"


#define NGX_HTTP_TRTC_NONE        0
#define NGX_HTTP_TRTC_SIGNALING   1
#define NGX_HTTP_TRTC_LOGGER      2




typedef struct ngx_http_trtc_spool_s  ngx_http_trtc_spool_t;


typedef struct {
    ngx_uint_t                  kind;
    ngx_str_t                   url;
    ngx_str_t                   host;      /* Host and SNI sent upstream */
    ngx_str_t                   ca;
    ngx_uint_t                  verify;
    ngx_uint_t                  https;
    ngx_array_t               **headers;   /* proxy_set_header's list */
    ngx_str_t                   file;      /* of the directive */
    ngx_uint_t                  line;
    ngx_http_upstream_srv_conf_t  *upstream;
    ngx_http_trtc_spool_t      *spool;
    ngx_http_upstream_init_peer_pt  peer_init;  /* the balancer's own */
} ngx_http_trtc_proxy_loc_t;


/* a logger request's own state */
typedef struct {
    unsigned                    spooled:1;     /* answered by the spool */
    unsigned                    behind:1;      /* queued behind backlog */
} ngx_http_trtc_proxy_ctx_t;


/*
 * Whether the request is the diagnostics page's test: "X-Trtc-Diagnostics"
 * (log uploads) or "?trtc_diagnostics=" (WebSockets, which cannot carry
 * headers of their own).
 */
ngx_uint_t ngx_http_trtc_proxy_is_test(ngx_http_request_t *r);

/* the counters of the request's configuration, or NULL */
ngx_http_trtc_counters_t *ngx_http_trtc_proxy_get_counters(
    ngx_http_request_t *r);

char *ngx_http_trtc_logger_spool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_trtc_spool_init_conf(ngx_conf_t *cf,
    ngx_http_trtc_proxy_loc_t *plcf, ngx_uint_t index);
/*
 * The header filter's part: NGX_DECLINED when the answer is not the
 * spool's business, else what the header filter returns (NGX_DONE while
 * the upload is being written; next() sends the answer later).
 */
ngx_int_t ngx_http_trtc_spool_response(ngx_http_request_t *r,
    ngx_http_trtc_proxy_loc_t *plcf, ngx_http_trtc_counters_t *pc,
    ngx_http_output_header_filter_pt next);

ngx_uint_t ngx_http_trtc_spool_behind(ngx_http_request_t *r,
    ngx_http_trtc_proxy_loc_t *plcf, ngx_http_trtc_counters_t *pc);
ngx_int_t ngx_http_trtc_spool_init_zone(ngx_cycle_t *cycle, ngx_log_t *log,
    ngx_array_t *spools, ngx_http_trtc_counters_t *counters);
void ngx_http_trtc_spool_exit_process(ngx_array_t *spools);
ngx_int_t ngx_http_trtc_spool_init_process(ngx_cycle_t *cycle,
    ngx_array_t *passes);
ngx_str_t *ngx_http_trtc_spool_where(ngx_http_trtc_proxy_loc_t *plcf,
    ngx_uint_t *line);


extern ngx_module_t  ngx_http_trtc_proxy_module;


#endif /* _NGX_HTTP_TRTC_PROXY_H_INCLUDED_ */
