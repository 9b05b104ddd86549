
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#ifndef _NGX_HTTP_TRTC_MODULE_H_INCLUDED_
#define _NGX_HTTP_TRTC_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


#define NGX_HTTP_TRTC_VERSION  "0.1.0"


typedef struct {
    ngx_flag_t    enabled;            /* placeholder until directives land */
} ngx_http_trtc_main_conf_t;


typedef struct {
    ngx_uint_t    unused;
} ngx_http_trtc_loc_conf_t;


extern ngx_module_t  ngx_http_trtc_module;


#endif /* _NGX_HTTP_TRTC_MODULE_H_INCLUDED_ */
