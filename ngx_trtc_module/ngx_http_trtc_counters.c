
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_counters.h"


/* the zone's data until it is initialized */
typedef struct {
    ngx_http_trtc_counters_ready_pt  ready;
    void                            *data;
} ngx_http_trtc_counters_conf_t;


static ngx_int_t ngx_http_trtc_counters_init(ngx_shm_zone_t *shm_zone,
    void *data);


static ngx_str_t  ngx_http_trtc_counters_name = ngx_string("trtc_counters");

/* the tag: one zone whoever adds it */
static ngx_uint_t  ngx_http_trtc_counters_tag;


ngx_shm_zone_t *
ngx_http_trtc_counters_zone(ngx_conf_t *cf,
    ngx_http_trtc_counters_ready_pt ready, void *data)
{
    ngx_shm_zone_t                 *shm_zone;
    ngx_http_trtc_counters_conf_t  *ctx;

    /* the smallest zone nginx's slab allocator is happy with */

    shm_zone = ngx_shared_memory_add(cf, &ngx_http_trtc_counters_name,
                                     8 * ngx_pagesize,
                                     &ngx_http_trtc_counters_tag);
    if (shm_zone == NULL) {
        return NULL;
    }

    ctx = shm_zone->data;

    if (ctx == NULL) {
        ctx = ngx_pcalloc(cf->pool, sizeof(ngx_http_trtc_counters_conf_t));
        if (ctx == NULL) {
            return NULL;
        }

        shm_zone->init = ngx_http_trtc_counters_init;
        shm_zone->data = ctx;
    }

    if (ready) {
        ctx->ready = ready;
        ctx->data = data;
    }

    return shm_zone;
}


static ngx_int_t
ngx_http_trtc_counters_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t                *shpool;
    ngx_http_trtc_counters_t       *counters;
    ngx_http_trtc_counters_conf_t  *ctx;

    ctx = shm_zone->data;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (data) {
        /* a reload keeps the zone, and the counts go on */
        counters = data;

    } else if (shm_zone->shm.exists) {
        counters = shpool->data;

    } else {
        counters = ngx_slab_calloc(shpool, sizeof(ngx_http_trtc_counters_t));
        if (counters == NULL) {
            return NGX_ERROR;
        }

        shpool->data = counters;
    }

    shm_zone->data = counters;

    if (ctx->ready) {
        return ctx->ready(counters, shm_zone->shm.log, ctx->data);
    }

    return NGX_OK;
}
