
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_module.h"


static ngx_int_t ngx_http_trtc_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_trtc_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_trtc_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_trtc_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_trtc_init_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_trtc_commands[] = {

    { ngx_string("trtc_credentials"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_trtc_credentials,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_trtc_main_conf_t, cred),
      NULL },

    { ngx_string("trtc_turn_credentials"),
      NGX_HTTP_LOC_CONF|NGX_CONF_ANY,
      ngx_http_trtc_turn_credentials,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("trtc_proxy_config"),
      NGX_HTTP_LOC_CONF|NGX_CONF_ANY,
      ngx_http_trtc_proxy_config,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("trtc_allow_origin"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_trtc_allow_origin,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_trtc_loc_conf_t, allow_origin),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_trtc_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_trtc_postconfiguration,       /* postconfiguration */

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
    ngx_http_trtc_init_process,            /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_trtc_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_trtc_main_conf_t  *tmcf;

    tmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_trtc_module);

    if (ngx_http_trtc_issue_postconfiguration(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (tmcf->issuers.nelts) {
        tmcf->counters = ngx_http_trtc_counters_zone(cf, NULL, NULL);
        if (tmcf->counters == NULL) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static void *
ngx_http_trtc_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_trtc_main_conf_t  *tmcf;

    tmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_trtc_main_conf_t));
    if (tmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     tmcf->cred = NULL;
     *     tmcf->counters = NULL;
     */

    if (ngx_array_init(&tmcf->issuers, cf->pool, 4,
                       sizeof(ngx_http_trtc_issuer_t *))
        != NGX_OK)
    {
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

    /*
     * set by ngx_pcalloc():
     *
     *     tlcf->issuer = NULL;
     */

    tlcf->allow_origin = NGX_CONF_UNSET_PTR;

    return tlcf;
}


static char *
ngx_http_trtc_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_trtc_loc_conf_t *prev = parent;
    ngx_http_trtc_loc_conf_t *conf = child;

    /* the issuer belongs to its location only, as a content handler does */

    ngx_conf_merge_ptr_value(conf->allow_origin, prev->allow_origin, NULL);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_trtc_init_process(ngx_cycle_t *cycle)
{
    ngx_http_trtc_main_conf_t  *tmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    tmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_trtc_module);

    if (tmcf && tmcf->cred) {
        ngx_http_trtc_cred_init_process(tmcf->cred, cycle->log);
    }

    return NGX_OK;
}
