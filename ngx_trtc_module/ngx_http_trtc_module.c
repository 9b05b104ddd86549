
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_module.h"


static void *ngx_http_trtc_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_trtc_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_trtc_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);


static ngx_command_t  ngx_http_trtc_commands[] = {

      ngx_null_command
};


static ngx_http_module_t  ngx_http_trtc_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_trtc_create_main_conf,        /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_trtc_create_loc_conf,         /* create location configuration */
    ngx_http_trtc_merge_loc_conf           /* merge location configuration */
};


ngx_module_t  ngx_http_trtc_module = {
    NGX_MODULE_V1,
    &ngx_http_trtc_module_ctx,             /* module context */
    ngx_http_trtc_commands,                /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_trtc_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_trtc_main_conf_t  *tmcf;

    tmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_trtc_main_conf_t));
    if (tmcf == NULL) {
        return NULL;
    }

    return tmcf;
}


static void *
ngx_http_trtc_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_trtc_loc_conf_t  *tlcf;

    tlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_trtc_loc_conf_t));
    if (tlcf == NULL) {
        return NULL;
    }

    return tlcf;
}


static char *
ngx_http_trtc_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    return NGX_CONF_OK;
}
