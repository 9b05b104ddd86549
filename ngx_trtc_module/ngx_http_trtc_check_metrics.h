
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _NGX_HTTP_TRTC_CHECK_METRICS_H_INCLUDED_
#define _NGX_HTTP_TRTC_CHECK_METRICS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_check.h"


/* scrapes of turnd's metrics (trtc_check metrics=) */
char *ngx_http_trtc_check_metrics_conf(ngx_conf_t *cf,
    ngx_http_trtc_check_conf_t *ccf, ngx_str_t *value);
ngx_int_t ngx_http_trtc_check_metrics_target(ngx_conf_t *cf,
    ngx_http_trtc_check_conf_t *ccf, ngx_http_trtc_check_target_t *t,
    ngx_http_upstream_rr_peer_t *peer);
void ngx_http_trtc_check_scrape(ngx_http_trtc_check_target_t *t);
ngx_int_t ngx_http_trtc_check_metrics_parse(u_char *p, u_char *last,
    uint64_t *v);


#endif /* _NGX_HTTP_TRTC_CHECK_METRICS_H_INCLUDED_ */
