
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _NGX_HTTP_TRTC_MODULE_H_INCLUDED_
#define _NGX_HTTP_TRTC_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_counters.h"
#include "ngx_http_trtc_cred.h"
#include "ngx_http_trtc_issue.h"
#include "ngx_http_trtc_json.h"
#include "ngx_http_trtc_origin.h"


#define NGX_HTTP_TRTC_VERSION  "0.1.0"


typedef struct {
    ngx_http_trtc_cred_file_t   *cred;          /* trtc_credentials */
    ngx_array_t                  issuers;       /* ngx_http_trtc_issuer_t * */
    ngx_shm_zone_t              *counters;      /* ngx_http_trtc_counters_t */
} ngx_http_trtc_main_conf_t;


typedef struct {
    ngx_http_trtc_issuer_t      *issuer;        /* trtc_turn_credentials,
                                                   trtc_proxy_config */
    ngx_array_t                 *allow_origin;  /* ngx_http_trtc_origin_t */
} ngx_http_trtc_loc_conf_t;


extern ngx_module_t  ngx_http_trtc_module;


#endif /* _NGX_HTTP_TRTC_MODULE_H_INCLUDED_ */
