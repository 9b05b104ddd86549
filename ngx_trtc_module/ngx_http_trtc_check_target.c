
/*
 * Copyright (C) The ngx_trtc_module authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_trtc_check_target.h"


ngx_http_trtc_check_target_t *
ngx_http_trtc_check_target_find(ngx_http_trtc_check_conf_t *ccf,
    ngx_str_t *name, ngx_uint_t backup)
{
    ngx_uint_t                     i;
    ngx_http_trtc_check_target_t  *t;

    t = ccf->targets.elts;

    for (i = 0; i < ccf->targets.nelts; i++) {
        if ((backup == NGX_HTTP_TRTC_CHECK_ANY || t[i].backup == backup)
            && t[i].name.len == name->len
            && ngx_strncmp(t[i].name.data, name->data, name->len) == 0)
        {
            return &t[i];
        }
    }

    return NULL;
}


ngx_http_trtc_check_peer_t *
ngx_http_trtc_check_record(ngx_http_trtc_check_target_t *t)
{
    ngx_http_trtc_check_peer_t  *rec;

    if (t->index >= t->conf->sh->npeers) {
        return NULL;
    }

    rec = &t->conf->sh->peers[t->index];

    if (!rec->used || ngx_strcmp(rec->key, t->key) != 0) {
        return NULL;
    }

    return rec;
}
